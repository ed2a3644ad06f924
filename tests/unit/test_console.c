/* test_console: the web console's archive (dedup by event id, cursor,
 * accent-insensitive search, filters, the FTS5 query built from user text)
 * and its HTML (diff side by side, hostile text escaped, the sources page
 * with the status columns). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "archive.h"
#include "buf.h"
#include "event.h"
#include "health.h"
#include "pages.h"
#include "state.h"

typedef struct {
    char       dir[64];
    char       path[128];
    archive_t *ar;
} fx_t;

static int
setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    strcpy (fx->dir, "/tmp/test_console.XXXXXX");
    if (!mkdtemp (fx->dir))
        return -1;
    snprintf (fx->path, sizeof fx->path, "%s/console.db", fx->dir);
    vl_err_t err;
    fx->ar = archive_open (fx->path, true, &err);
    *state = fx;
    return fx->ar ? 0 : -1;
}

static int
teardown (void **state)
{
    fx_t *fx = *state;
    archive_close (&fx->ar);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", fx->dir);
    if (system (cmd) != 0)
        return -1;
    free (fx);
    return 0;
}

/* Stores an event; returns whether it was new. */
static bool
add (archive_t *ar, const char *id, const char *type, const char *topic, const char *title,
     const char *diff, uint64_t seq)
{
    event_t ev = { .v = 1, .detected = 1700000000000 + (int64_t) seq };
    assert_int_equal (event_set (&ev.id, id), VL_OK);
    assert_int_equal (event_set (&ev.type, type), VL_OK);
    assert_int_equal (event_set (&ev.source, "src"), VL_OK);
    assert_int_equal (event_set (&ev.topic, topic), VL_OK);
    assert_int_equal (event_set (&ev.title, title), VL_OK);
    assert_int_equal (event_set (&ev.diff, diff), VL_OK);
    assert_int_equal (event_add_tag (&ev, "t1"), VL_OK);
    bool added;
    assert_int_equal (archive_add (ar, &ev, seq, &added), VL_OK);
    event_clear (&ev);
    return added;
}

typedef struct {
    char titles[8][128];
    int  n;
} rows_t;

static void
collect (void *arg, const archive_row_t *r)
{
    rows_t *rows = arg;
    if (rows->n < 8)
        snprintf (rows->titles[rows->n++], 128, "%s", r->title);
}

static int
find (archive_t *ar, archive_query_t q, rows_t *rows)
{
    memset (rows, 0, sizeof *rows);
    int n = -1;
    assert_int_equal (archive_find (ar, &q, collect, rows, &n), VL_OK);
    return n;
}

static void
an_event_id_is_stored_once_and_the_cursor_persists (void **state)
{
    fx_t *fx = *state;
    assert_true (add (fx->ar, "a1", "new", "un.ga", "One", NULL, 1));
    assert_false (add (fx->ar, "a1", "new", "un.ga", "One again", NULL, 9));
    assert_true (add (fx->ar, "a2", "new", "un.ga", "Two", NULL, 2));
    assert_true (archive_last_id (fx->ar) >= 2);     /* ids increase, gaps allowed */
    assert_int_equal (archive_set_cursor (fx->ar, 42, 7), VL_OK);
    archive_close (&fx->ar);
    vl_err_t err;
    fx->ar = archive_open (fx->path, true, &err);
    uint64_t cursor, epoch;
    assert_int_equal (archive_cursor (fx->ar, &cursor, &epoch), VL_OK);
    assert_int_equal (cursor, 42);
    assert_int_equal (epoch, 7);
    rows_t rows;
    assert_int_equal (find (fx->ar, (archive_query_t) { 0 }, &rows), 2);
    assert_string_equal (rows.titles[0], "Two");          /* newest first */
    assert_string_equal (rows.titles[1], "One");
}

static void
search_ignores_accents_and_case_and_filters_combine (void **state)
{
    fx_t *fx = *state;
    add (fx->ar, "b1", "new", "un.ctitf", "Stratégie de cybersécurité", NULL, 1);
    add (fx->ar, "b2", "changed", "press.rfi", "États généraux", "- a\n+ b", 2);
    add (fx->ar, "b3", "new", "unesco.x", "Cyber ÉTÉ", NULL, 3);
    rows_t rows;
    assert_int_equal (find (fx->ar, (archive_query_t) { .text = "CYBERSECURITE" }, &rows), 1);
    assert_string_equal (rows.titles[0], "Stratégie de cybersécurité");
    assert_int_equal (find (fx->ar, (archive_query_t) { .text = "etats" }, &rows), 1);
    assert_int_equal (find (fx->ar, (archive_query_t) { .text = "cyber" }, &rows), 2);
    assert_int_equal (find (fx->ar, (archive_query_t) { .text = "cyber ete" }, &rows), 1);
    assert_int_equal (find (fx->ar, (archive_query_t) { .text = "cyber", .topic = "un." }, &rows), 1);
    assert_int_equal (find (fx->ar, (archive_query_t) { .topic = "un" }, &rows), 2);
    assert_int_equal (find (fx->ar, (archive_query_t) { .type = "changed" }, &rows), 1);
    assert_int_equal (find (fx->ar, (archive_query_t) { .after_id = 1, .oldest_first = true },
                            &rows), 2);
    assert_string_equal (rows.titles[0], "États généraux");
    assert_int_equal (find (fx->ar, (archive_query_t) { .before_id = 2 }, &rows), 1);
    assert_int_equal (find (fx->ar, (archive_query_t) { .since_ms = 1700000000003 }, &rows), 1);
    assert_int_equal (find (fx->ar, (archive_query_t) { .text = "\"", .type = "new" }, &rows), 2);
}

static void
user_text_is_never_fts_syntax (void **state)
{
    (void) state;
    char q[1024];
    assert_true (archive_fts_query ("cyber", q, sizeof q));
    assert_string_equal (q, "\"cyber\"*");
    assert_true (archive_fts_query ("a\"b OR NEAR(c", q, sizeof q));
    assert_string_equal (q, "\"a\"\"b\"* \"OR\"* \"NEAR(c\"*");
    assert_false (archive_fts_query ("\" * ( ) -", q, sizeof q));
    assert_false (archive_fts_query ("", q, sizeof q));
    assert_false (archive_fts_query (NULL, q, sizeof q));
    /* at most ARCHIVE_TERMS_MAX words */
    assert_true (archive_fts_query ("a b c d e f g h i j k l m n o p q r s", q, sizeof q));
    int words = 1;
    for (const char *p = q; *p; p++)
        words += *p == ' ';
    assert_int_equal (words, ARCHIVE_TERMS_MAX);
    /* a small buffer stops at a whole term */
    assert_true (archive_fts_query ("abc defgh", q, 12));
    assert_string_equal (q, "\"abc\"*");
}

static void
diff_runs_face_each_other_and_nothing_is_dropped (void **state)
{
    (void) state;
    buf_t out;
    buf_init (&out, 1 << 20);
    assert_int_equal (pages_diff (&out, "- old1\n- old2\n+ new1\nsame\n+ only new\n-gone"),
                      VL_OK);
    assert_non_null (strstr (out.data, "<tr><td class=\"del\">old1</td><td class=\"add\">new1</td></tr>"));
    assert_non_null (strstr (out.data, "<tr><td class=\"del\">old2</td><td class=\"none\"></td></tr>"));
    assert_non_null (strstr (out.data, "<tr><td class=\"ctx\">same</td><td class=\"ctx\">same</td></tr>"));
    assert_non_null (strstr (out.data, "<tr><td class=\"none\"></td><td class=\"add\">only new</td></tr>"));
    assert_non_null (strstr (out.data, "<tr><td class=\"del\">gone</td><td class=\"none\"></td></tr>"));
    buf_free (&out);

    /* a run longer than one block: every line is there */
    buf_t big;
    buf_init (&big, 1 << 20);
    for (int i = 0; i < 5000; i++)
        assert_int_equal (buf_printf (&big, "+ line %d\n", i), VL_OK);
    buf_init (&out, 4 << 20);
    assert_int_equal (pages_diff (&out, big.data), VL_OK);
    int rows = 0;
    for (const char *p = out.data; (p = strstr (p, "class=\"add\"")) != NULL; p++)
        rows++;
    assert_int_equal (rows, 5000);
    assert_non_null (strstr (out.data, ">line 4999<"));
    buf_free (&out);
    buf_free (&big);
}

static void
hostile_text_is_escaped_in_the_list_and_the_alert_page (void **state)
{
    fx_t *fx = *state;
    const char *evil = "<script>x()</script><img src=x onerror=y()>\"'&";
    add (fx->ar, "<c1\">", "new", "un.ga", evil, "- <b>old</b>\n+ <i>new</i>", 1);
    buf_t out;
    buf_init (&out, 1 << 22);
    pages_filter_t f = { .q = "\"><script>q()</script>" };
    assert_int_equal (pages_list (&out, fx->ar, &(pages_filter_t) { 0 }), VL_OK);
    assert_int_equal (pages_list (&out, fx->ar, &f), VL_OK);
    vl_err_t rc;
    assert_true (pages_alert (&out, fx->ar, "<c1\">", &rc));
    assert_int_equal (rc, VL_OK);
    assert_null (strstr (out.data, "<script>x"));
    assert_null (strstr (out.data, "<script>q"));
    assert_null (strstr (out.data, "<img"));
    assert_null (strstr (out.data, "<b>old"));
    assert_null (strstr (out.data, "<c1"));
    assert_non_null (strstr (out.data, "href=\"/alert/%3Cc1%22%3E\""));
    assert_non_null (strstr (out.data, "&lt;script&gt;x()&lt;/script&gt;"));
    assert_false (pages_alert (&out, fx->ar, "nope", &rc));
    buf_free (&out);
}

static void
a_full_page_links_to_the_older_alerts_without_going_live (void **state)
{
    fx_t *fx = *state;
    char id[16];
    for (int i = 1; i <= 60; i++) {
        snprintf (id, sizeof id, "p%d", i);
        add (fx->ar, id, "new", "un.ga", id, NULL, (uint64_t) i);
    }
    buf_t out;
    buf_init (&out, 1 << 22);
    assert_int_equal (pages_list (&out, fx->ar, &(pages_filter_t) { .topic = "un." }), VL_OK);
    assert_non_null (strstr (out.data, "data-stream=\"/events?after=60&amp;topic=un.\""));
    assert_non_null (strstr (out.data, "id=\"older\" href=\"/?before=11&amp;topic=un.\""));
    assert_non_null (strstr (out.data, ">p60<"));
    assert_null (strstr (out.data, ">p10<"));
    buf_reset (&out);
    assert_int_equal (pages_list (&out, fx->ar, &(pages_filter_t) { .before = 11 }), VL_OK);
    assert_non_null (strstr (out.data, ">p10<"));
    assert_non_null (strstr (out.data, ">p1<"));
    assert_null (strstr (out.data, "data-stream"));       /* an older page stays still */
    assert_null (strstr (out.data, "id=\"older\""));
    buf_free (&out);
}

/* The sources page shows what `veille status` reads (health_read over
 * core/status.c): failing sources first, with their HTTP status, failures
 * in a row and last error, escaped (it comes from the web). */
static void
the_sources_page_shows_the_status_columns_failing_first (void **state)
{
    fx_t *fx = *state;
    char wpath[160];
    snprintf (wpath, sizeof wpath, "%s/watch.db", fx->dir);
    vl_err_t err;
    state_t *st = state_open (wpath, &err);
    assert_non_null (st);
    state_source_t ok = { .poll_at = 1700000000000, .http_status = 200,
                          .change_at = 1690000000000, .next_due = 1700000600000 };
    assert_int_equal (state_source_put (st, "a-ok", &ok), VL_OK);
    state_source_t bad = { .failures = 3, .poll_at = 1700000100000, .http_status = 503,
                           .change_at = 1690000000000, .error_at = 1700000100000,
                           .next_due = 1700000900000,
                           .last_error = strdup ("HTTP 503 <script>x()</script>") };
    assert_int_equal (state_source_put (st, "z-bad", &bad), VL_OK);
    state_source_clear (&bad);
    state_destroy (&st);

    health_t h;
    assert_int_equal (health_read (wpath, &h), VL_OK);
    assert_null (h.error);
    assert_int_equal (h.n, 2);
    buf_t out;
    buf_init (&out, 1 << 22);
    assert_int_equal (pages_sources (&out, fx->ar, &h), VL_OK);
    health_free (&h);
    assert_non_null (strstr (out.data, "<th>Last poll</th><th>HTTP</th><th>Last change</th>"
                                       "<th>Failures in a row</th><th>Last error</th>"));
    const char *b = strstr (out.data, "<tr class=\"failing\"><td>z-bad</td>");
    const char *a = strstr (out.data, "<tr class=\"ok\"><td>a-ok</td>");
    assert_non_null (b);
    assert_non_null (a);
    assert_true (b < a);                                  /* failing first */
    assert_non_null (strstr (b, "<td><time>2023-11-14T22:15:00Z</time></td>"
                                "<td class=\"http\">503</td>"));
    assert_non_null (strstr (b, "<td class=\"failures\">3</td><td class=\"last-error\">"
                                "<time>2023-11-14T22:15:00Z</time> "
                                "HTTP 503 &lt;script&gt;x()&lt;/script&gt;</td>"));
    assert_non_null (strstr (a, "<td class=\"http\">200</td>"));
    assert_non_null (strstr (a, "<td class=\"failures\">0</td><td class=\"last-error\"></td>"));
    assert_null (strstr (out.data, "<script>x"));
    buf_free (&out);

    /* an absent file is said, not a failure */
    assert_int_equal (health_read ("/nonexistent/watch.db", &h), VL_OK);
    assert_non_null (h.error);
    assert_non_null (strstr (h.error, "absent"));
    health_free (&h);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (an_event_id_is_stored_once_and_the_cursor_persists,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (search_ignores_accents_and_case_and_filters_combine,
                                         setup, teardown),
        cmocka_unit_test (user_text_is_never_fts_syntax),
        cmocka_unit_test (diff_runs_face_each_other_and_nothing_is_dropped),
        cmocka_unit_test_setup_teardown (hostile_text_is_escaped_in_the_list_and_the_alert_page,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (a_full_page_links_to_the_older_alerts_without_going_live,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (the_sources_page_shows_the_status_columns_failing_first,
                                         setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
