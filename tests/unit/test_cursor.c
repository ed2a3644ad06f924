/* test_cursor.c: the subscriber's SQLite delivery state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cursor.h"
#include "test_tmpdir.h"

static char g_dir[64];
static char g_path[128];

static int
setup (void **state)
{
    if (test_tmpdir_create (g_dir, sizeof g_dir, "test_cursor.") != 0)
        return -1;
    snprintf (g_path, sizeof g_path, "%s/state.db", g_dir);
    return 0;
}

static int
teardown (void **state)
{
    return test_tmpdir_remove (g_dir);
}

static void
cursor_survives_reopen_and_never_goes_back (void **state)
{
    vl_err_t err;
    cursor_t *c = cursor_open (g_path, 100, &err);
    assert_non_null (c);
    uint64_t seq = 99;
    assert_int_equal (cursor_get (c, "a", &seq), VL_OK);
    assert_int_equal (seq, 0);
    assert_int_equal (cursor_set (c, "a", 10), VL_OK);
    assert_int_equal (cursor_set (c, "a", 5), VL_OK);
    assert_int_equal (cursor_set (c, "b", 3), VL_OK);
    cursor_close (&c);
    assert_null (c);
    c = cursor_open (g_path, 100, &err);
    cursor_get (c, "a", &seq);
    assert_int_equal (seq, 10);
    cursor_get (c, "b", &seq);
    assert_int_equal (seq, 3);
    cursor_close (&c);
}

static void
dedup_window_is_bounded_per_sink (void **state)
{
    cursor_t *c = cursor_open (g_path, 16, NULL);
    char id[40];
    for (int i = 0; i < 100; i++) {
        snprintf (id, sizeof id, "id%03d", i);
        assert_int_equal (cursor_record (c, "a", id, (uint64_t) i), VL_OK);
    }
    assert_int_equal (cursor_record (c, "b", "id000", 1), VL_OK);
    bool seen;
    cursor_seen (c, "a", "id099", &seen);
    assert_true (seen);
    cursor_seen (c, "a", "id090", &seen);
    assert_true (seen);
    cursor_seen (c, "a", "id000", &seen);
    assert_false (seen);                       /* pruned: outside the window */
    cursor_seen (c, "b", "id000", &seen);
    assert_true (seen);                        /* other sink untouched */
    cursor_seen (c, "b", "id099", &seen);
    assert_false (seen);
    cursor_close (&c);
}

/* A replay after a crash restarts at the cursor: every id above it must
 * stay known, even past the window, or it would be delivered twice. */
static void
dedup_window_keeps_ids_above_the_cursor (void **state)
{
    cursor_t *c = cursor_open (g_path, 16, NULL);
    assert_int_equal (cursor_set (c, "a", 50), VL_OK);
    char id[40];
    for (int i = 1; i <= 100; i++) {
        snprintf (id, sizeof id, "id%03d", i);
        assert_int_equal (cursor_record (c, "a", id, (uint64_t) i), VL_OK);
    }
    bool seen;
    cursor_seen (c, "a", "id030", &seen);
    assert_false (seen);                       /* at or below the cursor: pruned */
    cursor_seen (c, "a", "id051", &seen);
    assert_true (seen);                        /* above it: kept beyond the window */
    cursor_seen (c, "a", "id100", &seen);
    assert_true (seen);
    assert_int_equal (cursor_window_cap (16), 100000);
    assert_int_equal (cursor_window_cap (10000), 160000);
    cursor_close (&c);
}

static bool
collect_pending (const char *id, uint64_t seq, void *arg)
{
    char *acc = arg;
    char one[64];
    snprintf (one, sizeof one, "%s:%llu;", id, (unsigned long long) seq);
    strcat (acc, one);
    return true;
}

static void
pending_rows_are_cleared_by_record (void **state)
{
    cursor_t *c = cursor_open (g_path, 16, NULL);
    assert_int_equal (cursor_begin (c), VL_OK);
    cursor_pending_add (c, "a", "x", 1);
    cursor_pending_add (c, "a", "y", 2);
    cursor_pending_add (c, "b", "z", 3);
    assert_int_equal (cursor_commit (c), VL_OK);
    cursor_record (c, "a", "x", 1);
    char acc[256] = "";
    assert_int_equal (cursor_pending_foreach (c, "a", collect_pending, acc), VL_OK);
    assert_string_equal (acc, "y:2;");
    cursor_pending_clear (c, "a");
    acc[0] = '\0';
    cursor_pending_foreach (c, "a", collect_pending, acc);
    assert_string_equal (acc, "");
    cursor_pending_foreach (c, "b", collect_pending, acc);
    assert_string_equal (acc, "z:3;");
    cursor_close (&c);
}

static void
rollback_discards_changes (void **state)
{
    cursor_t *c = cursor_open (g_path, 16, NULL);
    cursor_begin (c);
    cursor_set (c, "r", 50);
    cursor_rollback (c);
    uint64_t seq;
    cursor_get (c, "r", &seq);
    assert_int_equal (seq, 0);
    cursor_close (&c);
}

static bool
collect_dead (const cursor_dead_t *d, void *arg)
{
    int64_t *first = arg;
    if (*first == 0)
        *first = d->n;
    assert_int_equal (d->len, 3);
    assert_memory_equal (d->data, "\x81\xa1v", 3);
    return true;
}

static void
dead_letters_list_and_remove (void **state)
{
    cursor_t *c = cursor_open (g_path, 16, NULL);
    assert_int_equal (cursor_dead_add (c, "a", 5, "un.x", "id5", "\x81\xa1v", 3, "HTTP 400", 1), VL_OK);
    assert_int_equal (cursor_dead_add (c, "b", 6, "un.x", "id6", "\x81\xa1v", 3, "SMTP 550", 8), VL_OK);
    int64_t first = 0;
    size_t n = 0;
    assert_int_equal (cursor_dead_foreach (c, NULL, collect_dead, &first, &n), VL_OK);
    assert_int_equal (n, 2);
    first = 0;
    cursor_dead_foreach (c, "b", collect_dead, &first, &n);
    assert_int_equal (n, 1);
    assert_int_equal (cursor_dead_remove (c, first), VL_OK);
    cursor_dead_foreach (c, "b", collect_dead, &first, &n);
    assert_int_equal (n, 0);
    cursor_close (&c);
}

/* The journal epoch persists (all 64 bits, also above INT64_MAX) and is
 * reset together with the cursors in one transaction. */
static void
epoch_persists_with_the_cursors (void **state)
{
    cursor_t *c = cursor_open (g_path, 16, NULL);
    uint64_t epoch = 1;
    assert_int_equal (cursor_get_epoch (c, &epoch), VL_OK);
    assert_int_equal (epoch, 0);
    assert_int_equal (cursor_set_epoch (c, 0xfedcba9876543210ull), VL_OK);
    assert_int_equal (cursor_set (c, "a", 7), VL_OK);
    cursor_close (&c);
    c = cursor_open (g_path, 16, NULL);
    assert_int_equal (cursor_get_epoch (c, &epoch), VL_OK);
    assert_true (epoch == 0xfedcba9876543210ull);
    assert_int_equal (cursor_begin (c), VL_OK);
    assert_int_equal (cursor_reset_all (c), VL_OK);
    assert_int_equal (cursor_set_epoch (c, 42), VL_OK);
    cursor_rollback (c);
    uint64_t seq;
    cursor_get (c, "a", &seq);
    cursor_get_epoch (c, &epoch);
    assert_int_equal (seq, 7);
    assert_true (epoch == 0xfedcba9876543210ull);
    assert_int_equal (cursor_begin (c), VL_OK);
    assert_int_equal (cursor_reset_all (c), VL_OK);
    assert_int_equal (cursor_set_epoch (c, 42), VL_OK);
    assert_int_equal (cursor_commit (c), VL_OK);
    cursor_get (c, "a", &seq);
    cursor_get_epoch (c, &epoch);
    assert_int_equal (seq, 0);
    assert_int_equal (epoch, 42);
    cursor_close (&c);
}

static void
open_fails_on_unwritable_path (void **state)
{
    vl_err_t err = VL_OK;
    cursor_t *c = cursor_open ("/nonexistent-dir/x/state.db", 16, &err);
    assert_null (c);
    assert_int_not_equal (err, VL_OK);
}

static void
purge_forgets_one_sink_and_only_it (void **state)
{
    cursor_t *c = cursor_open (g_path, 100, NULL);
    assert_non_null (c);
    for (int k = 0; k < 2; k++) {
        const char *sink = k ? "keep" : "gone";
        assert_int_equal (cursor_set (c, sink, 7), VL_OK);
        assert_int_equal (cursor_record (c, sink, "id-1", 8), VL_OK);
        assert_int_equal (cursor_pending_add (c, sink, "id-2", 9), VL_OK);
        assert_int_equal (cursor_dead_add (c, sink, 6, "un.x", "id-0", "x", 1, "boom", 3), VL_OK);
        assert_int_equal (cursor_carry_add (c, sink, 10, "id-3", "y", 1), VL_OK);
    }
    size_t rows = 0;
    assert_int_equal (cursor_purge (c, "gone", &rows), VL_OK);
    assert_int_equal (rows, 5);
    uint64_t seq;
    bool found = true, seen = true;
    assert_int_equal (cursor_find (c, "gone", &seq, &found), VL_OK);
    assert_false (found);
    assert_int_equal (cursor_seen (c, "gone", "id-1", &seen), VL_OK);
    assert_false (seen);
    assert_int_equal (cursor_find (c, "keep", &seq, &found), VL_OK);
    assert_true (found);
    assert_int_equal (seq, 7);
    assert_int_equal (cursor_seen (c, "keep", "id-1", &seen), VL_OK);
    assert_true (seen);
    assert_int_equal (cursor_purge (c, "gone", &rows), VL_OK);
    assert_int_equal (rows, 0);
    cursor_close (&c);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (cursor_survives_reopen_and_never_goes_back, setup, teardown),
        cmocka_unit_test_setup_teardown (dedup_window_is_bounded_per_sink, setup, teardown),
        cmocka_unit_test_setup_teardown (dedup_window_keeps_ids_above_the_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown (pending_rows_are_cleared_by_record, setup, teardown),
        cmocka_unit_test_setup_teardown (rollback_discards_changes, setup, teardown),
        cmocka_unit_test_setup_teardown (dead_letters_list_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown (epoch_persists_with_the_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown (purge_forgets_one_sink_and_only_it, setup, teardown),
        cmocka_unit_test (open_fails_on_unwritable_path),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
