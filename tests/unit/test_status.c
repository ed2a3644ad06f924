/* test_status.c: core/status.c, the read-only views behind `veille status`:
 * a watcher state file as veille-watch writes it, one written by an older
 * veille-watch (the status columns missing: said, and added by state_open),
 * an absent file, the list of source ids (for the console), the subscriber's cursors and dead letters, and the
 * Prometheus text parser used for the broker's metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cursor.h"
#include "state.h"
#include "status.h"

static char dir[64], path[128];

static int
setup (void **s)
{
    (void) s;
    snprintf (dir, sizeof dir, "/tmp/veille-test-status-XXXXXX");
    if (!mkdtemp (dir))
        return -1;
    snprintf (path, sizeof path, "%s/s.db", dir);
    return 0;
}

static int
teardown (void **s)
{
    (void) s;
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system (cmd) == 0 ? 0 : -1;
}

static void
status_metric_reads_unlabelled_values (void **s)
{
    (void) s;
    static const char text[] =
        "# HELP veille_broker_replay_connections Live replay connections.\n"
        "# TYPE veille_broker_replay_connections gauge\n"
        "veille_broker_replay_connections_refused_total 7\n"
        "veille_broker_replay_connections 3\n"
        "veille_broker_journal_bytes 1.5e+06\n";
    double v = 0;
    assert_true (status_metric (text, strlen (text), "veille_broker_replay_connections", &v));
    assert_true (v == 3);
    assert_true (status_metric (text, strlen (text), "veille_broker_journal_bytes", &v));
    assert_true (v == 1.5e6);
    assert_false (status_metric (text, strlen (text), "veille_broker_head_seq", &v));
}

static void
sources_absent_file_is_said (void **s)
{
    (void) s;
    status_source_t src[1] = { { .id = "a" } };
    char why[256] = "";
    assert_int_equal (status_read_sources (path, src, 1, why, sizeof why), STATUS_FILE_ABSENT);
    assert_non_null (strstr (why, "absent"));
    assert_int_equal (access (path, F_OK), -1);   /* not created by the reader */
}

static void
sources_as_the_watcher_wrote_them (void **s)
{
    (void) s;
    vl_err_t err;
    state_t *st = state_open (path, &err);
    assert_non_null (st);
    state_source_t in = { .failures = 2, .error_sent = false, .next_due = 5000, .poll_at = 4000,
                          .http_status = 503, .change_at = 1000, .error_at = 4000,
                          .last_error = strdup ("HTTP 503") };
    assert_int_equal (state_source_put (st, "bad", &in), VL_OK);
    state_source_clear (&in);
    status_source_t src[2] = { { .id = "bad" }, { .id = "new" } };
    char why[256] = "";
    assert_int_equal (status_read_sources (path, src, 2, why, sizeof why), STATUS_FILE_OK);
    assert_true (src[0].known);
    assert_int_equal (src[0].failures, 2);
    assert_int_equal (src[0].http_status, 503);
    assert_int_equal (src[0].poll_at, 4000);
    assert_int_equal (src[0].change_at, 1000);
    assert_int_equal (src[0].next_due, 5000);
    assert_string_equal (src[0].last_error, "HTTP 503");
    assert_false (src[1].known);
    status_sources_clear (src, 2);
    state_destroy (&st);
}

static void
sources_of_an_older_watcher_are_said_then_migrated (void **s)
{
    (void) s;
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db,
        "CREATE TABLE sources (id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,"
        " failures INTEGER NOT NULL DEFAULT 0, error_sent INTEGER NOT NULL DEFAULT 0,"
        " baseline_done INTEGER NOT NULL DEFAULT 0, next_due INTEGER NOT NULL DEFAULT 0,"
        " conf_hash TEXT, doc_keys BLOB);"
        "INSERT INTO sources (id, failures, next_due) VALUES ('a', 4, 77);", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close (db);
    status_source_t src[1] = { { .id = "a" } };
    char why[256] = "";
    assert_int_equal (status_read_sources (path, src, 1, why, sizeof why), STATUS_FILE_OLD);
    assert_non_null (strstr (why, "older veille-watch"));
    assert_true (src[0].known);
    assert_int_equal (src[0].failures, 4);
    assert_int_equal (src[0].next_due, 77);
    status_sources_clear (src, 1);
    /* veille-watch adds the columns when it opens the file */
    vl_err_t err;
    state_t *st = state_open (path, &err);
    assert_non_null (st);
    state_destroy (&st);
    assert_int_equal (status_read_sources (path, src, 1, why, sizeof why), STATUS_FILE_OK);
    assert_int_equal (src[0].failures, 4);
    assert_int_equal (src[0].poll_at, 0);
    status_sources_clear (src, 1);
}

static void
source_ids_are_listed_capped_and_read_only (void **s)
{
    (void) s;
    char **ids = (char **) 1;
    size_t n = 9;
    char why[256] = "";
    assert_int_equal (status_list_sources (path, &ids, &n, 10, why, sizeof why),
                      STATUS_FILE_ABSENT);
    assert_null (ids);
    assert_int_equal (n, 0);
    assert_non_null (strstr (why, "absent"));
    assert_int_equal (access (path, F_OK), -1);   /* not created by the reader */
    /* an older watcher's file: the ids are there all the same */
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db,
        "CREATE TABLE sources (id TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,"
        " error_sent INTEGER NOT NULL DEFAULT 0, next_due INTEGER NOT NULL DEFAULT 0);",
        NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal (status_list_sources (path, &ids, &n, 10, why, sizeof why),
                      STATUS_FILE_OK);
    assert_null (ids);                            /* no source yet */
    assert_int_equal (n, 0);
    assert_int_equal (sqlite3_exec (db,
        "INSERT INTO sources (id, failures) VALUES ('c', 0), ('a', 3), ('b', 0);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    assert_int_equal (status_list_sources (path, &ids, &n, 10, why, sizeof why),
                      STATUS_FILE_OK);
    assert_int_equal (n, 3);
    assert_string_equal (ids[0], "a");
    assert_string_equal (ids[2], "c");
    for (size_t i = 0; i < n; i++)
        free (ids[i]);
    free (ids);
    assert_int_equal (status_list_sources (path, &ids, &n, 2, why, sizeof why),
                      STATUS_FILE_OK);
    assert_int_equal (n, 2);                      /* capped */
    assert_string_equal (ids[1], "b");
    for (size_t i = 0; i < n; i++)
        free (ids[i]);
    free (ids);
    /* not a state file */
    assert_int_equal (truncate (path, 0), 0);
    assert_int_equal (status_list_sources (path, &ids, &n, 10, why, sizeof why),
                      STATUS_FILE_ERROR);
    assert_non_null (strstr (why, "no such table"));
    assert_null (ids);
}

static void
sinks_cursor_and_dead_letters (void **s)
{
    (void) s;
    vl_err_t err;
    cursor_t *c = cursor_open (path, 100, &err);
    assert_non_null (c);
    assert_int_equal (cursor_set (c, "desk", 42), VL_OK);
    cursor_close (&c);
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db,
        "INSERT INTO dead_letter (sink, seq, topic, id, event, error, attempts, at)"
        " VALUES ('desk', 7, 't', 'x', x'00', 'e', 1, 0), ('desk', 8, 't', 'y', x'00', 'e', 1, 0);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    status_sink_t k[2] = { { .name = "desk" }, { .name = "fresh" } };
    char why[256] = "";
    assert_int_equal (status_read_sinks (path, k, 2, why, sizeof why), STATUS_FILE_OK);
    assert_true (k[0].known);
    assert_int_equal (k[0].cursor, 42);
    assert_int_equal (k[0].dead, 2);
    assert_false (k[1].known);
    assert_int_equal (k[1].dead, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (status_metric_reads_unlabelled_values),
        cmocka_unit_test_setup_teardown (sources_absent_file_is_said, setup, teardown),
        cmocka_unit_test_setup_teardown (sources_as_the_watcher_wrote_them, setup, teardown),
        cmocka_unit_test_setup_teardown (sources_of_an_older_watcher_are_said_then_migrated,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (source_ids_are_listed_capped_and_read_only,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (sinks_cursor_and_dead_letters, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
