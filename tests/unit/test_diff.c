/* test_diff: bounded line diff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "buf.h"
#include "diff.h"
#include "util.h"

static void
check (const char *a, const char *b, const char *want)
{
    char *d = diff_lines (a, b, 0);
    assert_non_null (d);
    assert_string_equal (d, want);
    free (d);
}

static void
basic_changes (void **state)
{
    check ("a\nb\nc", "a\nb\nc", "");
    check ("a\nb\nc", "a\nB\nc", "- b\n+ B");
    check ("a\nc", "a\nb\nc", "+ b");
    check ("a\nb\nc", "a\nc", "- b");
    check (NULL, "x\ny", "+ x\n+ y");
    check ("x", NULL, "- x");
    check (NULL, NULL, "");
    check ("1\n2\n3\n4\n5", "0\n1\n3\n4\n6\n5", "+ 0\n- 2\n+ 6");
}

static void
utf8_lines_and_typography (void **state)
{
    check ("« Avant »\nfin", "« Après\u00a0»\nfin", "- « Avant »\n+ « Après\u00a0»");
}

static void
output_capped_on_utf8_boundary (void **state)
{
    buf_t a, b;
    buf_init (&a, 1 << 24);
    buf_init (&b, 1 << 24);
    for (int i = 0; i < 500; i++) {
        buf_printf (&a, "ligne numéro %d été\n", i);
        buf_printf (&b, "ligne modifiée %d été\n", i);
    }
    char *d = diff_lines (a.data, b.data, 0);
    assert_non_null (d);
    assert_true (strlen (d) <= DIFF_MAX_BYTES);
    assert_true (util_utf8_valid (d, strlen (d)));
    assert_non_null (strstr (d, "\u2026"));
    free (d);
    for (size_t max = 8; max < 64; max++) {
        d = diff_lines ("é", "ééééééééééééééééééééééééééééééééé", max);
        assert_true (strlen (d) <= max);
        assert_true (util_utf8_valid (d, strlen (d)));
        free (d);
    }
    buf_free (&a);
    buf_free (&b);
}

static void
large_inputs_fall_back_to_set_difference (void **state)
{
    /* 3000 differing lines between different first and last lines: more
     * than DIFF_MAX_LCS_LINES after trimming, so the multiset difference */
    buf_t a, b;
    buf_init (&a, 1 << 24);
    buf_init (&b, 1 << 24);
    buf_puts (&a, "start-a\n");
    buf_puts (&b, "start-b\n");
    for (int i = 0; i < 3000; i++) {
        buf_printf (&a, "l%d\n", i);
        buf_printf (&b, "l%d\n", i == 1500 ? -1 : i);
    }
    buf_puts (&a, "end-a");
    buf_puts (&b, "end-b");
    char *d = diff_lines (a.data, b.data, 0);
    assert_non_null (d);
    assert_string_equal (d, "- start-a\n- l1500\n- end-a\n+ start-b\n+ l-1\n+ end-b");
    free (d);
    buf_free (&a);
    buf_free (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (basic_changes),
        cmocka_unit_test (utf8_lines_and_typography),
        cmocka_unit_test (output_capped_on_utf8_boundary),
        cmocka_unit_test (large_inputs_fall_back_to_set_difference),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
