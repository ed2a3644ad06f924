/* test_state_round.c: several sources' polls in one transaction (the
 * watcher's round): a savepoint per source undoes one source alone, a
 * crash before the round's commit leaves none of them, and the cheap
 * reads and writes of the hot path (hash-only peek, due-time update). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "test_tmpdir.h"

static char dir[64], path[128];

static int setup (void **s)
{
    if (test_tmpdir_create (dir, sizeof dir, "veille-test-round-") != 0)
        return -1;
    snprintf (path, sizeof path, "%s/w.db", dir);
    return 0;
}

static int teardown (void **s)
{
    return test_tmpdir_remove (dir);
}

static state_t *open_db (void)
{
    vl_err_t e;
    state_t *st = state_open (path, &e);
    assert_non_null (st);
    return st;
}

static void fill_item (parsed_item_t *it, const char *identity, const char *content)
{
    memset (it, 0, sizeof *it);
    it->identity = (char *) identity;
    it->title = (char *) "T";
    it->link = (char *) "http://x/1";
    it->content = (char *) content;
    snprintf (it->hash, sizeof it->hash, "%032zx", strlen (content));
}

/* One source's poll under a savepoint: item, outbox row, source row. */
static void poll_source (state_t *st, const char *src, const char *identity)
{
    parsed_item_t it;
    fill_item (&it, identity, "content");
    state_source_t ss = { .next_due = 42 };
    assert_int_equal (state_savepoint (st), VL_OK);
    assert_int_equal (state_item_put (st, src, &it, 0, 7), VL_OK);
    assert_int_equal (state_outbox_add (st, "t.round", "ev", 2, 7, NULL), VL_OK);
    assert_int_equal (state_source_put (st, src, &ss), VL_OK);
}

static int64_t outbox_rows (state_t *st)
{
    int64_t n = -1;
    assert_int_equal (state_outbox_count (st, &n), VL_OK);
    return n;
}

static void savepoint_undoes_one_source_only (void **s)
{
    state_t *st = open_db ();
    assert_int_equal (state_begin (st), VL_OK);
    poll_source (st, "a", "a1");
    assert_int_equal (state_release (st), VL_OK);
    poll_source (st, "b", "b1");
    assert_int_equal (state_rollback_savepoint (st), VL_OK);   /* b failed */
    poll_source (st, "c", "c1");
    assert_int_equal (state_release (st), VL_OK);
    assert_int_equal (state_commit (st), VL_OK);
    state_destroy (&st);

    st = open_db ();
    state_item_t got;
    assert_int_equal (state_item_get (st, "a", "a1", &got), VL_OK);
    state_item_clear (&got);
    assert_int_equal (state_item_get (st, "b", "b1", &got), VL_ENOTFOUND);
    assert_int_equal (state_item_get (st, "c", "c1", &got), VL_OK);
    state_item_clear (&got);
    state_source_t ss;
    assert_int_equal (state_source_get (st, "b", &ss), VL_ENOTFOUND);
    state_source_clear (&ss);
    assert_int_equal (outbox_rows (st), 2);
    state_destroy (&st);
}

static void crash_before_round_commit_leaves_nothing (void **s)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        state_t *st = open_db ();
        if (state_begin (st) != VL_OK)
            _exit (3);
        for (int i = 0; i < 3; i++) {
            char src[8];
            snprintf (src, sizeof src, "s%d", i);
            poll_source (st, src, "x");
            if (state_release (st) != VL_OK)
                _exit (3);
        }
        _exit (0);   /* killed before the round's commit */
    }
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    state_t *st = open_db ();
    state_item_t got;
    assert_int_equal (state_item_get (st, "s0", "x", &got), VL_ENOTFOUND);
    assert_int_equal (state_item_get (st, "s2", "x", &got), VL_ENOTFOUND);
    assert_int_equal (outbox_rows (st), 0);
    state_destroy (&st);
}

static void peek_reads_hash_and_last_seen (void **s)
{
    state_t *st = open_db ();
    parsed_item_t it;
    fill_item (&it, "p1", "twelve chars");
    assert_int_equal (state_item_put (st, "p", &it, 0, 1000), VL_OK);
    assert_int_equal (state_item_seen (st, "p", "p1", 4, 5000), VL_OK);
    char hash[33] = "";
    int64_t seen = 0, pos = -1;
    assert_int_equal (state_item_peek (st, "p", "p1", hash, &seen, &pos), VL_OK);
    assert_string_equal (hash, it.hash);
    assert_int_equal (seen, 5000);
    assert_int_equal (pos, 4);
    assert_int_equal (state_item_peek (st, "p", "nope", hash, &seen, &pos), VL_ENOTFOUND);
    assert_int_equal (state_item_peek (st, "q", "p1", hash, &seen, &pos), VL_ENOTFOUND);
    state_destroy (&st);
}

static void set_due_changes_only_the_due_time (void **s)
{
    state_t *st = open_db ();
    state_source_t in = { .etag = (char *) "\"e\"", .failures = 0, .baseline_done = true,
                          .next_due = 100, .conf_hash = "0123456789abcdef0123456789abcdef" };
    assert_int_equal (state_source_put (st, "d", &in), VL_OK);
    assert_int_equal (state_source_set_due (st, "d", 987654321), VL_OK);
    assert_int_equal (state_source_set_due (st, "unknown", 5), VL_OK);   /* no row: no-op */
    state_source_t out;
    assert_int_equal (state_source_get (st, "d", &out), VL_OK);
    assert_int_equal (out.next_due, 987654321);
    assert_string_equal (out.etag, "\"e\"");
    assert_true (out.baseline_done);
    assert_string_equal (out.conf_hash, in.conf_hash);
    state_source_clear (&out);
    assert_int_equal (state_source_get (st, "unknown", &out), VL_ENOTFOUND);
    state_source_clear (&out);
    state_destroy (&st);
}

int main (void)
{
    log_setup ("test_state_round", LOG_LVL_OFF, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (savepoint_undoes_one_source_only, setup, teardown),
        cmocka_unit_test_setup_teardown (crash_before_round_commit_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown (peek_reads_hash_and_last_seen, setup, teardown),
        cmocka_unit_test_setup_teardown (set_due_changes_only_the_due_time, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
