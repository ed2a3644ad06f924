/* test_state.c: the watcher database: sources, items, the outbox, and the
 * transaction that ties an item change to its outbox row (a crash in
 * between leaves nothing half done). */
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

#include <sqlite3.h>

#include "log.h"
#include "state.h"
#include "test_tmpdir.h"

static char dir[64], path[128];

static int setup (void **s)
{
    if (test_tmpdir_create (dir, sizeof dir, "veille-test-state-") != 0)
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

static void source_state_roundtrip (void **s)
{
    state_t *st = open_db ();
    state_source_t in = { .etag = (char *) "\"abc\"", .last_modified = NULL, .failures = 2,
                          .error_sent = true, .baseline_done = true, .next_due = 1234567890123,
                          .conf_hash = "0123456789abcdef0123456789abcdef" };
    state_source_t out;
    assert_int_equal (state_source_get (st, "s1", &out), VL_ENOTFOUND);
    assert_null (out.etag);
    assert_false (out.baseline_done);
    assert_int_equal (state_source_put (st, "s1", &in), VL_OK);
    assert_int_equal (state_source_get (st, "s1", &out), VL_OK);
    assert_string_equal (out.etag, "\"abc\"");
    assert_null (out.last_modified);
    assert_int_equal (out.failures, 2);
    assert_true (out.error_sent);
    assert_true (out.baseline_done);
    assert_int_equal (out.next_due, 1234567890123);
    assert_string_equal (out.conf_hash, "0123456789abcdef0123456789abcdef");
    assert_null (out.doc_keys);                          /* none kept */
    state_source_clear (&out);
    /* the document's keys: kept in order, all 64 bits; an empty list is
     * not "none" */
    uint64_t keys[] = { 1, UINT64_MAX, UINT64_C (0x0123456789abcdef) };
    in.doc_keys = keys;
    in.ndoc_keys = 3;
    assert_int_equal (state_source_put (st, "s1", &in), VL_OK);
    assert_int_equal (state_source_get (st, "s1", &out), VL_OK);
    assert_int_equal (out.ndoc_keys, 3);
    assert_memory_equal (out.doc_keys, keys, sizeof keys);
    state_source_clear (&out);
    in.ndoc_keys = 0;
    assert_int_equal (state_source_put (st, "s1", &in), VL_OK);
    assert_int_equal (state_source_get (st, "s1", &out), VL_OK);
    assert_non_null (out.doc_keys);
    assert_int_equal (out.ndoc_keys, 0);
    state_source_clear (&out);
    state_destroy (&st);
    assert_null (st);
}

static void items_insert_update_seen (void **s)
{
    state_t *st = open_db ();
    parsed_item_t it;
    fill_item (&it, "id-1", "hello");
    assert_int_equal (state_item_put (st, "s2", &it, 0, 1000), VL_OK);
    state_item_t got;
    assert_int_equal (state_item_get (st, "s2", "id-1", &got), VL_OK);
    assert_string_equal (got.hash, it.hash);
    assert_string_equal (got.content, "hello");
    assert_int_equal (got.first_seen, 1000);
    state_item_clear (&got);
    fill_item (&it, "id-1", "hello, world");
    assert_int_equal (state_item_put (st, "s2", &it, 0, 2000), VL_OK);
    assert_int_equal (state_item_seen (st, "s2", "id-1", 0, 3000), VL_OK);
    assert_int_equal (state_item_get (st, "s2", "id-1", &got), VL_OK);
    assert_string_equal (got.content, "hello, world");
    assert_int_equal (got.first_seen, 1000);
    assert_int_equal (got.last_seen, 3000);
    state_item_clear (&got);
    assert_int_equal (state_item_get (st, "other", "id-1", &got), VL_ENOTFOUND);
    int64_t n;
    assert_int_equal (state_item_count (st, "s2", &n), VL_OK);
    assert_int_equal (n, 1);
    /* Pruning removes only items of that source last seen before the cut. */
    fill_item (&it, "id-2", "other");
    assert_int_equal (state_item_put (st, "s2", &it, 0, 500), VL_OK);
    assert_int_equal (state_item_put (st, "s3", &it, 0, 500), VL_OK);
    assert_int_equal (state_items_prune (st, "s2", 1000, &n), VL_OK);
    assert_int_equal (n, 1);
    assert_int_equal (state_item_get (st, "s2", "id-2", &got), VL_ENOTFOUND);
    assert_int_equal (state_item_get (st, "s2", "id-1", &got), VL_OK);
    state_item_clear (&got);
    assert_int_equal (state_item_get (st, "s3", "id-2", &got), VL_OK);
    state_item_clear (&got);
    state_destroy (&st);
}

static void outbox_order_delete_dead (void **s)
{
    state_t *st = open_db ();
    int64_t r1, r2, r3, n;
    assert_int_equal (state_outbox_add (st, "a.b", "\x81\xa1v\x01", 4, 1, &r1), VL_OK);
    assert_int_equal (state_outbox_add (st, "a.c", "xyz", 3, 2, &r2), VL_OK);
    assert_int_equal (state_outbox_add (st, "a.d", "q", 1, 3, &r3), VL_OK);
    assert_true (r1 < r2 && r2 < r3);
    state_outbox_row_t rows[8];
    size_t got;
    assert_int_equal (state_outbox_load (st, 0, 8, rows, &got), VL_OK);
    assert_int_equal (got, 3);
    assert_int_equal (rows[0].rowid, r1);
    assert_string_equal (rows[0].topic, "a.b");
    assert_int_equal (rows[0].len, 4);
    assert_memory_equal (rows[0].event, "\x81\xa1v\x01", 4);
    state_outbox_rows_clear (rows, got);
    assert_int_equal (state_outbox_load (st, r1, 1, rows, &got), VL_OK);
    assert_int_equal (got, 1);
    assert_int_equal (rows[0].rowid, r2);
    state_outbox_rows_clear (rows, got);
    assert_int_equal (state_outbox_delete (st, r1), VL_OK);
    assert_int_equal (state_outbox_delete (st, r1), VL_OK);   /* idempotent */
    assert_int_equal (state_outbox_dead (st, r2, "rejected: bad", 9), VL_OK);
    assert_int_equal (state_outbox_count (st, &n), VL_OK);
    assert_int_equal (n, 1);
    /* Row ids never go back, even after deleting the last one. */
    assert_int_equal (state_outbox_delete (st, r3), VL_OK);
    int64_t r4;
    assert_int_equal (state_outbox_add (st, "a.e", "z", 1, 4, &r4), VL_OK);
    assert_true (r4 > r3);
    state_destroy (&st);
}

/* Acked runs of consecutive rows go in one statement. */
static void outbox_delete_range (void **s)
{
    state_t *st = open_db ();
    int64_t r[5], n, before;   /* the file is shared: rows of earlier tests */
    assert_int_equal (state_outbox_count (st, &before), VL_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal (state_outbox_add (st, "a.b", "e", 1, i, &r[i]), VL_OK);
    assert_int_equal (state_outbox_delete_range (st, r[1], r[3]), VL_OK);
    assert_int_equal (state_outbox_delete_range (st, r[1], r[3]), VL_OK);   /* idempotent */
    assert_int_equal (state_outbox_count (st, &n), VL_OK);
    assert_int_equal (n, before + 2);
    state_outbox_row_t rows[8];
    size_t got;
    assert_int_equal (state_outbox_load (st, r[0] - 1, 8, rows, &got), VL_OK);
    assert_int_equal (got, 2);
    assert_int_equal (rows[0].rowid, r[0]);
    assert_int_equal (rows[1].rowid, r[4]);
    state_outbox_rows_clear (rows, got);
    assert_int_equal (state_outbox_delete_range (st, r[4], r[4]), VL_OK);   /* one row */
    assert_int_equal (state_outbox_count (st, &n), VL_OK);
    assert_int_equal (n, before + 1);
    state_destroy (&st);
}

/* A child process writes an item change and crashes (_exit) before or
 * after its outbox row, without committing: after reopening, neither the
 * item nor the row exists. Then the same work committed: both exist. */
static void crash_between_item_and_outbox_leaves_nothing (void **s)
{
    snprintf (path, sizeof path, "%s/crash.db", dir);
    for (int variant = 0; variant < 2; variant++) {
        pid_t pid = fork ();
        assert_true (pid >= 0);
        if (pid == 0) {
            vl_err_t e;
            state_t *st = state_open (path, &e);
            if (!st || state_begin (st) != VL_OK)
                _exit (3);
            parsed_item_t it;
            fill_item (&it, "crash-item", "body");
            if (state_item_put (st, "crash", &it, 0, 5) != VL_OK)
                _exit (4);
            if (variant == 1 && state_outbox_add (st, "t.crash", "ev", 2, 5, NULL) != VL_OK)
                _exit (5);
            _exit (0);   /* crash: no commit, no close */
        }
        int status;
        assert_int_equal (waitpid (pid, &status, 0), pid);
        assert_true (WIFEXITED (status));
        assert_int_equal (WEXITSTATUS (status), 0);
        state_t *st = open_db ();
        state_item_t got;
        assert_int_equal (state_item_get (st, "crash", "crash-item", &got), VL_ENOTFOUND);
        int64_t n = -1;
        assert_int_equal (state_outbox_count (st, &n), VL_OK);
        assert_int_equal (n, 0);
        state_destroy (&st);
    }
    state_t *st = open_db ();
    parsed_item_t it;
    fill_item (&it, "crash-item", "body");
    assert_int_equal (state_begin (st), VL_OK);
    assert_int_equal (state_item_put (st, "crash", &it, 0, 5), VL_OK);
    assert_int_equal (state_outbox_add (st, "t.crash", "ev", 2, 5, NULL), VL_OK);
    assert_int_equal (state_commit (st), VL_OK);
    state_destroy (&st);
    st = open_db ();
    state_item_t got;
    assert_int_equal (state_item_get (st, "crash", "crash-item", &got), VL_OK);
    state_item_clear (&got);
    int64_t n;
    assert_int_equal (state_outbox_count (st, &n), VL_OK);
    assert_int_equal (n, 1);
    /* Rollback in-process discards both too. */
    fill_item (&it, "rolled", "x");
    assert_int_equal (state_begin (st), VL_OK);
    assert_int_equal (state_item_put (st, "crash", &it, 0, 6), VL_OK);
    assert_int_equal (state_outbox_add (st, "t.crash", "ev2", 3, 6, NULL), VL_OK);
    state_rollback (st);
    assert_int_equal (state_item_get (st, "crash", "rolled", &got), VL_ENOTFOUND);
    assert_int_equal (state_outbox_count (st, &n), VL_OK);
    assert_int_equal (n, 1);
    state_destroy (&st);
}

/* Rows added inside a transaction are inserted in batches: a savepoint
 * rolled back drops its own rows only, rows keep the order they were
 * added in across batches, and a commit keeps every row. */
static void outbox_batched_rows_follow_savepoints (void **s)
{
    snprintf (path, sizeof path, "%s/batch.db", dir);
    state_t *st = open_db ();
    assert_int_equal (state_begin (st), VL_OK);
    char ev[32];
    for (int i = 0; i < 3; i++) {   /* kept: before the savepoint */
        snprintf (ev, sizeof ev, "k%d", i);
        assert_int_equal (state_outbox_add (st, "t.keep", ev, strlen (ev), i, NULL), VL_OK);
    }
    assert_int_equal (state_savepoint (st), VL_OK);
    for (int i = 0; i < 40; i++)    /* more than one batch, undone */
        assert_int_equal (state_outbox_add (st, "t.undo", "u", 1, i, NULL), VL_OK);
    assert_int_equal (state_rollback_savepoint (st), VL_OK);
    assert_int_equal (state_savepoint (st), VL_OK);
    for (int i = 3; i < 75; i++) {  /* kept: released */
        snprintf (ev, sizeof ev, "k%d", i);
        assert_int_equal (state_outbox_add (st, "t.keep", ev, strlen (ev), i, NULL), VL_OK);
    }
    assert_int_equal (state_release (st), VL_OK);
    assert_int_equal (state_savepoint (st), VL_OK);
    assert_int_equal (state_outbox_add (st, "t.undo", "v", 1, 99, NULL), VL_OK);
    assert_int_equal (state_rollback_savepoint (st), VL_OK);
    assert_int_equal (state_commit (st), VL_OK);
    state_destroy (&st);
    st = open_db ();
    state_outbox_row_t rows[80];
    size_t got;
    assert_int_equal (state_outbox_load (st, 0, 80, rows, &got), VL_OK);
    assert_int_equal (got, 75);
    for (size_t i = 0; i < got; i++) {
        snprintf (ev, sizeof ev, "k%zu", i);
        assert_string_equal (rows[i].topic, "t.keep");
        assert_int_equal (rows[i].len, strlen (ev));
        assert_memory_equal (rows[i].event, ev, rows[i].len);
        assert_true (i == 0 || rows[i].rowid > rows[i - 1].rowid);
    }
    state_outbox_rows_clear (rows, got);
    state_destroy (&st);
}

/* A database made before items.pos and sources.doc_keys existed gets the
 * columns at open; its items have pos -1 (unknown) until seen again, its
 * sources no document keys until their next poll. */
static void old_database_gets_new_columns (void **s)
{
    char old[160];
    snprintf (old, sizeof old, "%s/old.db", dir);
    sqlite3 *db;
    assert_int_equal (sqlite3_open (old, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db,
        "CREATE TABLE items (source TEXT NOT NULL, identity TEXT NOT NULL,"
        " hash TEXT NOT NULL, content TEXT, title TEXT, link TEXT,"
        " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
        " PRIMARY KEY (source, identity));"
        "INSERT INTO items VALUES ('s', 'old', 'h', 'c', 'Old', 'http://x/old', 1, 1);"
        "CREATE TABLE sources (id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,"
        " failures INTEGER NOT NULL DEFAULT 0, error_sent INTEGER NOT NULL DEFAULT 0,"
        " baseline_done INTEGER NOT NULL DEFAULT 0, next_due INTEGER NOT NULL DEFAULT 0,"
        " conf_hash TEXT);"
        "INSERT INTO sources (id, etag, baseline_done) VALUES ('s', 'e1', 1);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    vl_err_t e;
    state_t *st = state_open (old, &e);
    assert_non_null (st);
    char hash[33];
    int64_t seen, pos = 0;
    assert_int_equal (state_item_peek (st, "s", "old", hash, &seen, &pos), VL_OK);
    assert_int_equal (pos, -1);
    parsed_item_t it = { .identity = (char *) "new", .title = (char *) "New",
                         .content = (char *) "n" };
    assert_int_equal (state_item_put (st, "s", &it, 0, 5), VL_OK);
    assert_int_equal (state_item_seen (st, "s", "old", 1, 5), VL_OK);
    state_item_ref_t *rows;
    size_t n;
    assert_int_equal (state_items_list (st, "s", &rows, &n), VL_OK);
    assert_int_equal (n, 2);
    assert_string_equal (rows[0].identity, "new");       /* by pos */
    assert_int_equal (rows[0].pos, 0);
    assert_string_equal (rows[1].identity, "old");
    assert_string_equal (rows[1].title, "Old");
    assert_string_equal (rows[1].link, "http://x/old");
    assert_string_equal (rows[1].hash, "h");
    assert_int_equal (rows[1].pos, 1);
    state_item_refs_free (rows, n);
    assert_int_equal (state_item_forget (st, "s", "old"), VL_OK);
    assert_int_equal (state_item_forget (st, "s", "never"), VL_OK);
    assert_int_equal (state_items_list (st, "s", &rows, &n), VL_OK);
    assert_int_equal (n, 1);
    state_item_refs_free (rows, n);
    assert_int_equal (state_items_list (st, "nobody", &rows, &n), VL_OK);
    assert_int_equal (n, 0);
    state_item_refs_free (rows, n);
    state_source_t src;
    assert_int_equal (state_source_get (st, "s", &src), VL_OK);
    assert_string_equal (src.etag, "e1");
    assert_null (src.doc_keys);
    uint64_t keys[] = { 7, 9 };
    src.doc_keys = keys;
    src.ndoc_keys = 2;
    assert_int_equal (state_source_put (st, "s", &src), VL_OK);
    src.doc_keys = NULL;
    state_source_clear (&src);
    assert_int_equal (state_source_get (st, "s", &src), VL_OK);
    assert_int_equal (src.ndoc_keys, 2);
    assert_true (src.doc_keys[0] == 7 && src.doc_keys[1] == 9);
    state_source_clear (&src);
    state_destroy (&st);
    st = state_open (old, &e);                           /* reopening: no second ALTER */
    assert_non_null (st);
    state_destroy (&st);
}

static void open_bad_path_fails (void **s)
{
    vl_err_t e = VL_OK;
    state_t *st = state_open ("/nonexistent-dir/x/y.db", &e);
    assert_null (st);
    assert_int_not_equal (e, VL_OK);
}

int main (void)
{
    log_setup ("test_state", LOG_LVL_OFF, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (source_state_roundtrip),
        cmocka_unit_test (items_insert_update_seen),
        cmocka_unit_test (outbox_order_delete_dead),
        cmocka_unit_test (outbox_delete_range),
        cmocka_unit_test (crash_between_item_and_outbox_leaves_nothing),
        cmocka_unit_test (outbox_batched_rows_follow_savepoints),
        cmocka_unit_test (old_database_gets_new_columns),
        cmocka_unit_test (open_bad_path_fails),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
