/* test_detect.c: change detection: a baseline publishes nothing, a new
 * identity gives `new`, a different hash gives `changed` (with prev_hash
 * and diff), the same hash nothing, a noise-only edit of a page (removed by
 * `ignore`) nothing, a real edit `changed`; an item gone from the middle of
 * a list `removed`, one fallen off its end nothing, a page emptied at once
 * nothing, items the keyword filter dropped counted in the list; keyword
 * filter and tags; events are in the outbox with stable
 * ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "log.h"
#include "page_parse.h"

static state_t *st;

static int setup (void **s)
{
    vl_err_t e;
    st = state_open (":memory:", &e);
    return st ? 0 : -1;
}

static int teardown (void **s)
{
    state_destroy (&st);
    return 0;
}

static source_t mk_source (const char *id)
{
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = (char *) id;
    src.topic = (char *) "test.topic";
    src.url = (char *) "http://127.0.0.1/feed.xml";
    return src;
}

static void add (item_list_t *l, const char *guid, const char *title, const char *content)
{
    parsed_item_t *it = item_list_add (l);
    assert_non_null (it);
    it->identity = strdup (guid);
    it->title = strdup (title);
    char link[128];
    snprintf (link, sizeof link, "http://127.0.0.1/%s", guid);
    it->link = strdup (link);
    it->content = strdup (content);
    it->summary = strdup (content);
    item_finish (it);
}

/* Decodes and removes every outbox row; returns how many (events in EVS). */
static size_t drain (event_t *evs, size_t max)
{
    state_outbox_row_t rows[64];
    size_t n;
    assert_int_equal (state_outbox_load (st, 0, 64, rows, &n), VL_OK);
    assert_true (n <= max);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal (event_decode (rows[i].event, rows[i].len, &evs[i]), VL_OK);
        assert_string_equal (rows[i].topic, evs[i].topic);
        assert_int_equal (state_outbox_delete (st, rows[i].rowid), VL_OK);
    }
    state_outbox_rows_clear (rows, n);
    return n;
}

static void clear_events (event_t *evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        event_clear (&evs[i]);
}

/* One poll of SRC as the watcher records it: the source row read, the
 * items compared, the row (with the document's keys) written back. */
static void run (const source_t *src, const keywords_t *kw, item_list_t *l, bool baseline,
                 detect_stats_t *stats)
{
    memset (stats, 0, sizeof *stats);
    assert_int_equal (state_begin (st), VL_OK);
    state_source_t ss;
    vl_err_t e = state_source_get (st, src->id, &ss);
    assert_true (e == VL_OK || e == VL_ENOTFOUND);
    assert_int_equal (detect_items (st, src, kw, l, &ss, baseline, 1700000000000, NULL, NULL,
                                    stats), VL_OK);
    assert_int_equal (state_source_put (st, src->id, &ss), VL_OK);
    state_source_clear (&ss);
    assert_int_equal (state_commit (st), VL_OK);
}

static void baseline_then_new_then_changed (void **s)
{
    source_t src = mk_source ("feed-a");
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    add (&l, "g1", "First", "one");
    add (&l, "g2", "Second", "two");
    run (&src, NULL, &l, true, &stats);
    assert_int_equal (stats.recorded, 2);
    assert_int_equal (drain (evs, 8), 0);          /* baseline: nothing published */
    /* Same document again: nothing. */
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.unchanged, 2);
    assert_int_equal (drain (evs, 8), 0);
    /* One more item: one `new`. */
    add (&l, "g3", "Third", "three");
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.new_items, 1);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "new");
    assert_string_equal (evs[0].source, "feed-a");
    assert_string_equal (evs[0].topic, "test.topic");
    assert_string_equal (evs[0].title, "Third");
    assert_string_equal (evs[0].url, "http://127.0.0.1/g3");
    assert_string_equal (evs[0].hash, l.items[2].hash);
    assert_int_equal (evs[0].detected, 1700000000000);
    char id[EVENT_ID_HEX + 1];
    event_make_id ("feed-a", "g3", "new", l.items[2].hash, id);
    assert_string_equal (evs[0].id, id);           /* stable id */
    clear_events (evs, 1);
    /* Edit of g2's content: one `changed` with prev_hash and diff. */
    char old_hash[33];
    memcpy (old_hash, l.items[1].hash, 33);
    item_list_free (&l);
    add (&l, "g1", "First", "one");
    add (&l, "g2", "Second", "two\nand a new line");
    add (&l, "g3", "Third", "three");
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.changed, 1);
    assert_int_equal (stats.unchanged, 2);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "changed");
    assert_string_equal (evs[0].prev_hash, old_hash);
    assert_string_equal (evs[0].hash, l.items[1].hash);
    assert_non_null (strstr (evs[0].diff, "+ and a new line"));
    clear_events (evs, 1);
    /* A duplicate identity inside one document is not a change. */
    add (&l, "g1", "First again", "different");
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.duplicates, 1);
    assert_int_equal (drain (evs, 8), 0);
    item_list_free (&l);
}

/* Builds a list of items "r<i>" for each i in IDS (negative ends it). */
static void list_of (item_list_t *l, const int *ids)
{
    item_list_free (l);
    for (; *ids >= 0; ids++) {
        char g[16], t[32];
        snprintf (g, sizeof g, "r%d", *ids);
        snprintf (t, sizeof t, "Release %d", *ids);
        add (l, g, t, t);
    }
}

static void removed_from_the_middle_not_from_the_end (void **s)
{
    source_t src = mk_source ("list-r");
    src.removed = true;
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    list_of (&l, (int[]) { 5, 4, 3, 2, 1, -1 });
    run (&src, NULL, &l, true, &stats);            /* baseline */
    /* A new release on top pushes r1 off the end: `new` only. */
    list_of (&l, (int[]) { 6, 5, 4, 3, 2, -1 });
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.new_items, 1);
    assert_int_equal (stats.removed, 0);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "new");
    clear_events (evs, 1);
    /* r4 withdrawn while r3 and r2 (listed after it) remain: `removed`. */
    list_of (&l, (int[]) { 6, 5, 3, 2, -1 });
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.removed, 1);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "removed");
    assert_string_equal (evs[0].title, "Release 4");
    assert_string_equal (evs[0].url, "http://127.0.0.1/r4");
    assert_string_equal (evs[0].topic, "test.topic");
    char id[EVENT_ID_HEX + 1];
    event_make_id ("list-r", "r4", "removed", evs[0].hash, id);
    assert_string_equal (evs[0].id, id);
    clear_events (evs, 1);
    /* Nothing more to say about it; and positions followed the document:
     * r2 falling off the end now is not a removal. */
    list_of (&l, (int[]) { 6, 5, 3, -1 });
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.removed, 0);
    assert_int_equal (drain (evs, 8), 0);
    /* r4 back: `new` again (it was forgotten). */
    list_of (&l, (int[]) { 6, 5, 4, 3, -1 });
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.new_items, 1);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "new");
    clear_events (evs, 1);
    item_list_free (&l);
}

static void removed_is_off_when_configured_or_flooded (void **s)
{
    source_t src = mk_source ("list-f");
    src.removed = true;
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    list_of (&l, (int[]) { 8, 7, 6, 5, 4, 3, 2, 1, -1 });
    run (&src, NULL, &l, true, &stats);
    /* Six of eight gone at once (a broken page or a new layout): warned,
     * no event, nothing forgotten. */
    list_of (&l, (int[]) { 8, 1, -1 });
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.removed, 0);
    assert_int_equal (drain (evs, 8), 0);
    int64_t n = 0;
    assert_int_equal (state_item_count (st, "list-f", &n), VL_OK);
    assert_int_equal (n, 8);
    /* removed = false: a withdrawn item is silent. */
    source_t quiet = mk_source ("list-q");
    list_of (&l, (int[]) { 3, 2, 1, -1 });
    run (&quiet, NULL, &l, true, &stats);
    list_of (&l, (int[]) { 3, 1, -1 });
    run (&quiet, NULL, &l, false, &stats);
    assert_int_equal (stats.removed, 0);
    assert_int_equal (drain (evs, 8), 0);
    /* An empty document never removes anything. */
    list_of (&l, (int[]) { -1 });
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (drain (evs, 8), 0);
    item_list_free (&l);
}

/* Titles: "Release N" for r1..r5, "Terror alert N" for t1..t3 (the only
 * ones the keyword filter keeps). */
static void mixed_list (item_list_t *l, const char *const *ids)
{
    item_list_free (l);
    for (; *ids; ids++) {
        char t[32];
        snprintf (t, sizeof t, "%s %s", (*ids)[0] == 't' ? "Terror alert" : "Release", *ids + 1);
        add (l, *ids, t, t);
    }
}

/* Items the keyword filter drops are never stored, but they still show
 * where the previous document's list went on: a kept item followed only by
 * dropped ones is withdrawn from the middle when those remain, and falls
 * off the end when they went with it. */
static void removed_sees_items_the_filter_dropped (void **s)
{
    source_t src = mk_source ("list-kw");
    src.removed = true;
    char *inc[] = { (char *) "terror" };
    vl_err_t e;
    keywords_t *kw = keywords_new (inc, 1, NULL, 0, &e);
    assert_non_null (kw);
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    mixed_list (&l, (const char *[]) { "t2", "r3", "t1", "r2", "r1", NULL });
    run (&src, kw, &l, true, &stats);                   /* baseline: t2, t1 stored */
    /* t1 withdrawn; only dropped items (r2, r1) were after it, and they
     * remain: `removed` (it counted as the end of the list before). */
    mixed_list (&l, (const char *[]) { "t2", "r3", "r2", "r1", NULL });
    run (&src, kw, &l, false, &stats);
    assert_int_equal (stats.removed, 1);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "removed");
    assert_string_equal (evs[0].title, "Terror alert 1");
    clear_events (evs, 1);
    /* A new alert on top pushes t2 and everything after it off the end
     * (the page shows one item now): nothing. */
    mixed_list (&l, (const char *[]) { "t3", NULL });
    run (&src, kw, &l, false, &stats);
    assert_int_equal (stats.new_items, 1);
    assert_int_equal (stats.removed, 0);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "new");
    clear_events (evs, 1);
    item_list_free (&l);
    keywords_destroy (&kw);
}

/* Without the previous document's keys (a database from before they were
 * kept, or a caller that keeps none), the stored items' positions decide,
 * as before. */
static void removed_without_kept_keys_uses_stored_positions (void **s)
{
    source_t src = mk_source ("list-nokeys");
    src.removed = true;
    item_list_t l = { 0 };
    detect_stats_t stats = { 0 };
    event_t evs[8];
    list_of (&l, (int[]) { 3, 2, 1, -1 });
    assert_int_equal (state_begin (st), VL_OK);
    assert_int_equal (detect_items (st, &src, NULL, &l, NULL, true, 1, NULL, NULL, &stats),
                      VL_OK);
    list_of (&l, (int[]) { 3, 1, -1 });                 /* r2 withdrawn */
    assert_int_equal (detect_items (st, &src, NULL, &l, NULL, false, 2, NULL, NULL, &stats),
                      VL_OK);
    assert_int_equal (state_commit (st), VL_OK);
    assert_int_equal (stats.removed, 1);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "removed");
    assert_string_equal (evs[0].title, "Release 2");
    clear_events (evs, 1);
    item_list_free (&l);
}

static void publish_existing_on_first_run (void **s)
{
    source_t src = mk_source ("feed-b");
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    add (&l, "x1", "X1", "a");
    add (&l, "x2", "X2", "b");
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.new_items, 2);
    assert_int_equal (drain (evs, 8), 2);
    assert_string_equal (evs[0].type, "new");
    assert_string_equal (evs[1].type, "new");
    clear_events (evs, 2);
    item_list_free (&l);
}

/* A `new` event encoded ahead (the parsing thread) is queued byte for
 * byte as detect_items would have encoded it. */
static void pre_encoded_new_event_is_the_same (void **s)
{
    source_t src = mk_source ("feed-p");
    item_list_t l = { 0 };
    detect_stats_t stats;
    add (&l, "p1", "P1", "one");
    buf_t want;
    buf_init (&want, 1 << 24);
    assert_int_equal (detect_encode_new (&src, &l.items[0], 1700000000000, &want), VL_OK);
    run (&src, NULL, &l, false, &stats);   /* encoded here */
    state_outbox_row_t rows[4];
    size_t n;
    assert_int_equal (state_outbox_load (st, 0, 4, rows, &n), VL_OK);
    assert_int_equal (n, 1);
    assert_int_equal (rows[0].len, want.len);
    assert_memory_equal (rows[0].event, want.data, want.len);
    assert_int_equal (state_outbox_delete (st, rows[0].rowid), VL_OK);
    state_outbox_rows_clear (rows, n);
    /* another source, the same item with its event already encoded:
     * those bytes are queued */
    source_t src2 = mk_source ("feed-q");
    buf_t pre;
    buf_init (&pre, 1 << 24);
    assert_int_equal (detect_encode_new (&src2, &l.items[0], 1600000000000, &pre), VL_OK);
    l.items[0].new_event_len = pre.len;
    l.items[0].new_event = buf_steal (&pre);
    run (&src2, NULL, &l, false, &stats);
    assert_int_equal (stats.new_items, 1);
    event_t ev;
    assert_int_equal (state_outbox_load (st, 0, 4, rows, &n), VL_OK);
    assert_int_equal (n, 1);
    assert_int_equal (event_decode (rows[0].event, rows[0].len, &ev), VL_OK);
    assert_string_equal (ev.source, "feed-q");
    assert_int_equal (ev.detected, 1600000000000);   /* the pre-encoded bytes */
    event_clear (&ev);
    assert_int_equal (state_outbox_delete (st, rows[0].rowid), VL_OK);
    state_outbox_rows_clear (rows, n);
    buf_free (&want);
    item_list_free (&l);
}

static void keywords_filter_and_tag (void **s)
{
    source_t src = mk_source ("feed-c");
    char *inc[] = { (char *) "cybersecurite", (char *) "chiffrement" };
    char *exc[] = { (char *) "publicite" };
    vl_err_t e;
    keywords_t *kw = keywords_new (inc, 2, exc, 1, &e);
    assert_non_null (kw);
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    add (&l, "k1", "Plan national de Cybersécurité", "texte");
    add (&l, "k2", "Météo", "il pleut");
    add (&l, "k3", "Cybersécurité et publicité", "texte");
    run (&src, kw, &l, false, &stats);
    assert_int_equal (stats.filtered, 2);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].title, "Plan national de Cybersécurité");
    assert_int_equal (evs[0].ntags, 1);
    assert_string_equal (evs[0].tags[0], "cybersecurite");
    clear_events (evs, 1);
    keywords_destroy (&kw);
    item_list_free (&l);
}

static const char PAGE_V1[] =
    "<html><body><div id='main'><h1>Communiqués</h1>"
    "<p>Le ministère publie son rapport annuel.</p>"
    "<p class='date'>Mis à jour le 12/03/2024 à 10:32</p>"
    "<p>Visiteurs : 1234</p></div></body></html>";
static const char PAGE_NOISE[] =
    "<html><body><div id='main'><h1>Communiqués</h1>"
    "<p>Le ministère publie son rapport annuel.</p>"
    "<p class='date'>Mis à jour le 13/03/2024 à 08:01</p>"
    "<p>Visiteurs : 98765</p></div></body></html>";
static const char PAGE_EDIT[] =
    "<html><body><div id='main'><h1>Communiqués</h1>"
    "<p>Le ministère publie son rapport annuel et un erratum.</p>"
    "<p class='date'>Mis à jour le 14/03/2024 à 09:00</p>"
    "<p>Visiteurs : 99999</p></div></body></html>";

static void parse_page (const source_t *src, const char *html, item_list_t *l)
{
    assert_int_equal (page_parse (src, html, strlen (html), src->url, l), VL_OK);
    assert_true (l->n >= 1);
}

static void noise_only_edit_is_not_a_change (void **s)
{
    source_t src = mk_source ("page-d");
    src.type = SOURCE_HTML;
    src.url = (char *) "http://127.0.0.1/page.html";
    src.select = (char *) "#main";
    char *ignore[] = { (char *) ".date", (char *) "re:^Visiteurs" };
    src.ignore = ignore;
    src.nignore = 2;
    item_list_t l = { 0 };
    detect_stats_t stats;
    event_t evs[8];
    parse_page (&src, PAGE_V1, &l);
    run (&src, NULL, &l, true, &stats);
    item_list_free (&l);
    parse_page (&src, PAGE_NOISE, &l);
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.changed, 0);
    assert_int_equal (drain (evs, 8), 0);
    item_list_free (&l);
    parse_page (&src, PAGE_EDIT, &l);
    run (&src, NULL, &l, false, &stats);
    assert_int_equal (stats.changed, 1);
    assert_int_equal (drain (evs, 8), 1);
    assert_string_equal (evs[0].type, "changed");
    assert_non_null (strstr (evs[0].diff, "erratum"));
    clear_events (evs, 1);
    item_list_free (&l);
}

static void source_events_on_sys_topic (void **s)
{
    source_t src = mk_source ("feed-e");
    event_t ev, ev2;
    assert_int_equal (detect_source_event (&src, "error", "HTTP 500", 1000, &ev), VL_OK);
    assert_string_equal (ev.topic, "_sys.source.feed-e");
    assert_string_equal (ev.type, "error");
    assert_string_equal (ev.title, "source feed-e: HTTP 500");
    assert_int_equal (detect_source_event (&src, "error", "HTTP 500", 2000, &ev2), VL_OK);
    assert_string_not_equal (ev.id, ev2.id);   /* one id per episode */
    assert_int_equal (state_begin (st), VL_OK);
    assert_int_equal (detect_queue (st, &ev, 1000), VL_OK);
    assert_int_equal (state_commit (st), VL_OK);
    event_t evs[4];
    assert_int_equal (drain (evs, 4), 1);
    assert_string_equal (evs[0].id, ev.id);
    clear_events (evs, 1);
    event_clear (&ev);
    event_clear (&ev2);
}

int main (void)
{
    log_setup ("test_detect", LOG_LVL_WARN, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (baseline_then_new_then_changed),
        cmocka_unit_test (publish_existing_on_first_run),
        cmocka_unit_test (pre_encoded_new_event_is_the_same),
        cmocka_unit_test (removed_from_the_middle_not_from_the_end),
        cmocka_unit_test (removed_is_off_when_configured_or_flooded),
        cmocka_unit_test (removed_sees_items_the_filter_dropped),
        cmocka_unit_test (removed_without_kept_keys_uses_stored_positions),
        cmocka_unit_test (keywords_filter_and_tag),
        cmocka_unit_test (noise_only_edit_is_not_a_change),
        cmocka_unit_test (source_events_on_sys_topic),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
