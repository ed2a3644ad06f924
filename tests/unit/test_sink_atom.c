/* test_sink_atom: the Atom feed sink, read back by libxml2 and by the
 * watcher's own feed parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include "event.h"
#include "item.h"
#include "log.h"
#include "parse.h"
#include "sink_atom.h"
#include "source.h"
#include "util.h"
#include "test_tmpdir.h"

typedef struct {
    char dir[64];
    char path[128];
} fx_t;

static int
setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (test_tmpdir_create (fx->dir, sizeof fx->dir, "test_sink_atom.") != 0)
        return -1;
    snprintf (fx->path, sizeof fx->path, "%s/feed.xml", fx->dir);
    *state = fx;
    return 0;
}

static int
teardown (void **state)
{
    fx_t *fx = *state;
    int rc = test_tmpdir_remove (fx->dir);
    free (fx);
    return rc;
}

static void
make_event (event_t *ev, int n, const char *title, const char *url)
{
    char id[EVENT_ID_HEX + 1], ident[32];
    memset (ev, 0, sizeof *ev);
    snprintf (ident, sizeof ident, "item-%d", n);
    event_make_id ("src", ident, "new", "", id);
    ev->v = 1;
    event_set (&ev->id, id);
    event_set (&ev->type, "new");
    event_set (&ev->source, "un-press");
    event_set (&ev->topic, "un.press");
    event_set (&ev->url, url);
    event_set (&ev->title, title);
    event_set (&ev->summary, "Line one\nline two & more");
    event_add_tag (ev, "cyber");
    ev->detected = 1764030000000LL + n * 1000;
    ev->published = 1764030000 + n;
    ev->has_published = true;
}

static sink_result_t
deliver (sink_t *s, int n, const char *title, const char *url)
{
    event_t ev;
    make_event (&ev, n, title, url);
    sink_result_t res;
    sink_deliver (s, &ev, (uint64_t) n, &res);
    event_clear (&ev);
    return res;
}

static sink_t *
open_sink (const fx_t *fx, int count)
{
    sink_atom_opts_t o = { .name = "feed", .path = fx->path, .count = count,
                           .title = "UN & press", .self_url = "https://alerts.example/feed.xml" };
    vl_err_t err;
    sink_t *s = sink_atom_new (&o, &err);
    assert_non_null (s);
    assert_int_equal (err, VL_OK);
    return s;
}

static void
flush (sink_t *s)
{
    sink_result_t res;
    assert_true (s->ops->flush_due (s) >= 0);
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_DELIVERED);
    assert_int_equal (s->ops->flush_due (s), -1);
}

/* Parses the feed with the watcher's parser. */
static void
watcher_parse (const char *path, item_list_t *l)
{
    char *body = NULL;
    size_t len = 0;
    assert_int_equal (util_read_file (path, 1 << 24, &body, &len), VL_OK);
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = "atom";
    src.url = "https://alerts.example/feed.xml";
    src.type = SOURCE_FEED;
    parse_ctx_t ctx = { .base_url = NULL, .content_type = "application/atom+xml" };
    assert_int_equal (parse_document (&src, &ctx, body, len, l), VL_OK);
    free (body);
}

/* Counts <entry> elements with libxml2 (strict: no recovery). */
static int
xml_entries (const char *path, char *first_title, size_t cap)
{
    xmlDocPtr doc = xmlReadFile (path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR
                                              | XML_PARSE_NOWARNING);
    assert_non_null (doc);
    xmlNodePtr root = xmlDocGetRootElement (doc);
    assert_string_equal ((const char *) root->name, "feed");
    assert_non_null (root->ns);
    assert_string_equal ((const char *) root->ns->href, "http://www.w3.org/2005/Atom");
    int n = 0;
    bool has_id = false, has_updated = false;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        has_id |= strcmp ((const char *) c->name, "id") == 0;
        has_updated |= strcmp ((const char *) c->name, "updated") == 0;
        if (strcmp ((const char *) c->name, "entry") != 0)
            continue;
        if (n++ == 0 && first_title)
            for (xmlNodePtr e = c->children; e; e = e->next)
                if (e->type == XML_ELEMENT_NODE && strcmp ((const char *) e->name, "title") == 0) {
                    xmlChar *t = xmlNodeGetContent (e);
                    snprintf (first_title, cap, "%s", (const char *) t);
                    xmlFree (t);
                }
    }
    assert_true (has_id && has_updated);
    xmlFreeDoc (doc);
    return n;
}

static void
feed_is_written_once_per_batch_newest_first (void **state)
{
    fx_t *fx = *state;
    sink_t *s = open_sink (fx, 10);
    assert_int_equal (s->ops->flush_due (s), -1);
    for (int i = 1; i <= 3; i++) {
        char title[64];
        snprintf (title, sizeof title, "Communiqué %d", i);
        assert_int_equal (deliver (s, i, title, "https://un.example/a?x=1&y=2").status, SINK_HELD);
    }
    assert_int_not_equal (access (fx->path, F_OK), 0);   /* nothing written yet */
    flush (s);
    char title[256];
    assert_int_equal (xml_entries (fx->path, title, sizeof title), 3);
    assert_string_equal (title, "Communiqué 3");
    item_list_t l = { 0 };
    watcher_parse (fx->path, &l);
    assert_int_equal (l.n, 3);
    assert_string_equal (l.items[0].title, "Communiqué 3");
    assert_string_equal (l.items[2].title, "Communiqué 1");
    assert_string_equal (l.items[0].link, "https://un.example/a?x=1&y=2");
    assert_non_null (strstr (l.items[0].identity, "urn:veille:event:"));
    assert_true (l.items[0].has_published);
    assert_int_equal (l.items[0].published, 1764030003);
    item_list_free (&l);
    sink_destroy (&s);
}

static void
only_the_last_n_entries_are_kept (void **state)
{
    fx_t *fx = *state;
    sink_t *s = open_sink (fx, 2);
    for (int i = 1; i <= 3; i++)
        deliver (s, i, "t", "https://un.example/");
    flush (s);
    assert_int_equal (xml_entries (fx->path, NULL, 0), 2);
    deliver (s, 4, "four", "https://un.example/4");
    flush (s);
    char title[64];
    assert_int_equal (xml_entries (fx->path, title, sizeof title), 2);
    assert_string_equal (title, "four");
    sink_destroy (&s);
}

static void
hostile_text_keeps_the_feed_well_formed (void **state)
{
    fx_t *fx = *state;
    sink_t *s = open_sink (fx, 5);
    deliver (s, 1, "<script>alert(1)</script> & \x1b[31mred\x01 \xff \xef\xbf\xbf\xef\xbf\xbe",
             "https://x.example/\"><b>");
    flush (s);
    char title[256];
    assert_int_equal (xml_entries (fx->path, title, sizeof title), 1);
    assert_non_null (strstr (title, "<script>alert(1)</script> & "));
    assert_null (strchr (title, '\x1b'));
    item_list_t l = { 0 };
    watcher_parse (fx->path, &l);
    assert_int_equal (l.n, 1);
    assert_non_null (strstr (l.items[0].title, "<script>alert(1)</script>"));
    item_list_free (&l);
    sink_destroy (&s);
}

static void
links_are_web_urls_only (void **state)
{
    fx_t *fx = *state;
    sink_t *s = open_sink (fx, 5);
    deliver (s, 1, "one", "javascript:alert(1)");
    deliver (s, 2, "two", "data:text/html,<script>alert(1)</script>");
    deliver (s, 3, "three", "https://un.example/3");
    flush (s);
    assert_int_equal (xml_entries (fx->path, NULL, 0), 3);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal (util_read_file (fx->path, 1 << 20, &data, &len), VL_OK);
    assert_null (strstr (data, "javascript:"));
    assert_null (strstr (data, "data:"));
    assert_non_null (strstr (data, "<link rel=\"alternate\" href=\"https://un.example/3\"/>"));
    free (data);
    sink_destroy (&s);
}

static void
restart_keeps_entries_and_skips_known_ids (void **state)
{
    fx_t *fx = *state;
    sink_t *s = open_sink (fx, 5);
    deliver (s, 1, "one", "https://un.example/1");
    deliver (s, 2, "two", "https://un.example/2");
    flush (s);
    sink_destroy (&s);
    s = open_sink (fx, 5);
    assert_int_equal (deliver (s, 2, "two", "https://un.example/2").status, SINK_DELIVERED);
    assert_int_equal (s->ops->flush_due (s), -1);
    assert_int_equal (deliver (s, 3, "three", "https://un.example/3").status, SINK_HELD);
    assert_int_equal (deliver (s, 3, "three", "https://un.example/3").status, SINK_DELIVERED);
    flush (s);
    char title[64];
    assert_int_equal (xml_entries (fx->path, title, sizeof title), 3);
    assert_string_equal (title, "three");
    sink_destroy (&s);
}

static void
discard_drops_held_entries (void **state)
{
    fx_t *fx = *state;
    sink_t *s = open_sink (fx, 5);
    deliver (s, 1, "one", "https://un.example/1");
    flush (s);
    deliver (s, 2, "two", "https://un.example/2");
    s->ops->discard (s);
    assert_int_equal (s->ops->flush_due (s), -1);
    deliver (s, 3, "three", "https://un.example/3");
    flush (s);
    item_list_t l = { 0 };
    watcher_parse (fx->path, &l);
    assert_int_equal (l.n, 2);
    assert_string_equal (l.items[0].title, "three");
    assert_string_equal (l.items[1].title, "one");
    item_list_free (&l);
    sink_destroy (&s);
}

static void
unwritable_file_is_retried_and_bad_options_refused (void **state)
{
    (void) state;
    vl_err_t err = VL_OK;
    sink_atom_opts_t bad = { .name = "x", .path = "/tmp/x.xml", .count = 0 };
    assert_null (sink_atom_new (&bad, &err));
    assert_int_equal (err, VL_EINVAL);
    bad.count = 3;
    bad.path = NULL;
    assert_null (sink_atom_new (&bad, &err));
    sink_atom_opts_t o = { .name = "x", .path = "/nonexistent-dir/feed.xml", .count = 3 };
    sink_t *s = sink_atom_new (&o, &err);
    assert_non_null (s);
    deliver (s, 1, "one", "https://un.example/1");
    sink_result_t res;
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_RETRY);
    assert_true (s->ops->flush_due (s) >= 0);   /* still held */
    sink_destroy (&s);
}

int
main (void)
{
    log_setup ("test_sink_atom", LOG_LVL_OFF, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (feed_is_written_once_per_batch_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown (only_the_last_n_entries_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown (hostile_text_keeps_the_feed_well_formed, setup, teardown),
        cmocka_unit_test_setup_teardown (links_are_web_urls_only, setup, teardown),
        cmocka_unit_test_setup_teardown (restart_keeps_entries_and_skips_known_ids, setup, teardown),
        cmocka_unit_test_setup_teardown (discard_drops_held_entries, setup, teardown),
        cmocka_unit_test_setup_teardown (unwritable_file_is_retried_and_bad_options_refused, NULL, NULL),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    xmlCleanupParser ();
    return rc;
}
