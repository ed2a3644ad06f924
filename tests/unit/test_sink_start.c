/* test_sink_start.c: where a sink with no cursor starts (sink_start.h), and
 * cursor_find telling a sink never placed from one placed at 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cursor.h"
#include "sink_start.h"
#include "test_tmpdir.h"

#define NOW   1800000000000LL   /* ms */
#define GRACE 600000LL

static uint64_t
place (sink_start_mode_t mode, uint64_t head, uint64_t first, bool has_oldest, int64_t detected)
{
    client_sub_journal_t j = { .head = head, .first = first, .has_oldest = has_oldest,
                               .oldest_detected_ms = detected };
    const char *why = NULL;
    uint64_t c = sink_start_cursor (mode, GRACE, &j, NOW, &why);
    assert_non_null (why);
    return c;
}

static void
modes_are_parsed (void **state)
{
    (void) state;
    assert_int_equal (sink_start_mode ("all"), SINK_START_ALL);
    assert_int_equal (sink_start_mode ("head"), SINK_START_HEAD);
    assert_int_equal (sink_start_mode ("auto"), SINK_START_AUTO);
    assert_int_equal (sink_start_mode (NULL), SINK_START_AUTO);
}

static void
all_and_head_ignore_the_journal_age (void **state)
{
    (void) state;
    assert_int_equal (place (SINK_START_ALL, 500, 1, true, NOW), 0);
    assert_int_equal (place (SINK_START_ALL, 500, 1, true, NOW - 10 * GRACE), 0);
    assert_int_equal (place (SINK_START_HEAD, 500, 1, true, NOW), 500);
    assert_int_equal (place (SINK_START_HEAD, 0, 0, false, 0), 0);
}

static void
auto_takes_a_young_journal_whole (void **state)
{
    (void) state;
    assert_int_equal (place (SINK_START_AUTO, 0, 0, false, 0), 0);          /* empty */
    assert_int_equal (place (SINK_START_AUTO, 40, 1, true, NOW - 1000), 0);
    assert_int_equal (place (SINK_START_AUTO, 40, 1, true, NOW - GRACE), 0); /* the edge */
    assert_int_equal (place (SINK_START_AUTO, 40, 31, true, NOW), 30);      /* just before first */
    assert_int_equal (place (SINK_START_AUTO, 40, 1, true, NOW + 5000), 0); /* clock skew */
}

static void
auto_starts_at_the_head_of_an_old_journal (void **state)
{
    (void) state;
    assert_int_equal (place (SINK_START_AUTO, 40, 1, true, NOW - GRACE - 1), 40);
    assert_int_equal (place (SINK_START_AUTO, 40, 1, true, 0), 40);     /* no `detected` */
    assert_int_equal (place (SINK_START_AUTO, 40, 1, false, 0), 40);    /* not in the answer */
}

static void
find_tells_never_placed_from_placed_at_zero (void **state)
{
    (void) state;
    char dir[64], path[128];
    assert_int_equal (test_tmpdir_create (dir, sizeof dir, "test_sink_start."), 0);
    snprintf (path, sizeof path, "%s/state.db", dir);
    vl_err_t err;
    cursor_t *c = cursor_open (path, 0, &err);
    assert_non_null (c);
    uint64_t seq = 7;
    bool found = true;
    assert_int_equal (cursor_find (c, "s", &seq, &found), VL_OK);
    assert_false (found);
    assert_int_equal (seq, 0);
    assert_int_equal (cursor_set (c, "s", 0), VL_OK);
    assert_int_equal (cursor_find (c, "s", &seq, &found), VL_OK);
    assert_true (found);
    assert_int_equal (seq, 0);
    cursor_close (&c);
    assert_int_equal (test_tmpdir_remove (dir), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (modes_are_parsed),
        cmocka_unit_test (all_and_head_ignore_the_journal_age),
        cmocka_unit_test (auto_takes_a_young_journal_whole),
        cmocka_unit_test (auto_starts_at_the_head_of_an_old_journal),
        cmocka_unit_test (find_tells_never_placed_from_placed_at_zero),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
