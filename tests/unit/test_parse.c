/* test_parse: parse_document dispatch and charset handling end to end;
 * item lists, fingerprints, identity fallback, links; item_to_json. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "item_json.h"
#include "parse.h"
#include "util.h"

static char *
read_fixture (const char *rel, size_t *len)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", FIXTURES_DIR, rel);
    char *body = NULL;
    assert_int_equal (util_read_file (path, 1 << 24, &body, len), VL_OK);
    return body;
}

static source_t
src_of (source_type_t type)
{
    source_t s;
    memset (&s, 0, sizeof s);
    s.id = "t";
    s.url = "https://doc.example/dir/doc";
    s.type = type;
    return s;
}

static vl_err_t
parse_fixture (const source_t *src, const char *ct, const char *rel, item_list_t *l)
{
    size_t len;
    char *body = read_fixture (rel, &len);
    parse_ctx_t ctx = { .base_url = NULL, .content_type = ct };
    vl_err_t rc = parse_document (src, &ctx, body, len, l);
    free (body);
    for (size_t i = 0; i < l->n; i++) {
        assert_true (util_utf8_valid (l->items[i].title, strlen (l->items[i].title)));
        assert_true (util_utf8_valid (l->items[i].content, strlen (l->items[i].content)));
    }
    return rc;
}

static void
auto_detects_feed_json_html (void **state)
{
    source_t src = src_of (SOURCE_AUTO);
    item_list_t l = { 0 };
    assert_int_equal (parse_fixture (&src, NULL, "feeds/press-atom.xml", &l), VL_OK);
    assert_int_equal (l.n, 2);
    item_list_free (&l);
    assert_int_equal (parse_fixture (&src, NULL, "feeds/un-ga-rdf.xml", &l), VL_OK);
    assert_int_equal (l.n, 2);
    item_list_free (&l);
    src.json_items = "data.items";
    assert_int_equal (parse_fixture (&src, "application/json", "json/api-sample.json", &l), VL_OK);
    assert_int_equal (l.n, 4);
    item_list_free (&l);
    assert_int_equal (parse_fixture (&src, "text/html", "pages/un-ctitf.html", &l), VL_OK);
    assert_int_equal (l.n, 1);
    item_list_free (&l);
}

static void
forced_type_mismatch_is_a_parse_error (void **state)
{
    source_t src = src_of (SOURCE_FEED);
    item_list_t l = { 0 };
    assert_int_equal (parse_fixture (&src, NULL, "pages/un-ctitf.html", &l), VL_EPARSE);
    src.type = SOURCE_JSON;
    assert_int_equal (parse_fixture (&src, NULL, "pages/un-ctitf.html", &l), VL_EPARSE);
    assert_int_equal (l.n, 0);
    assert_int_equal (parse_document (NULL, NULL, "x", 1, &l), VL_EINVAL);
    assert_int_equal (parse_document (&src, NULL, NULL, 0, &l), VL_EINVAL);
}

static void
latin1_page_via_meta_and_header (void **state)
{
    source_t src = src_of (SOURCE_HTML);
    src.select = ".post";
    item_list_t l = { 0 };
    /* meta http-equiv says iso-8859-1 */
    assert_int_equal (parse_fixture (&src, "text/html", "pages/press-latin1.html", &l), VL_OK);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].title,
        "Cyber-sécurité : le gouvernement favorise un plan d’actions face au terrorisme");
    assert_non_null (strstr (l.items[0].content, "l’Intérieur"));
    assert_non_null (strstr (l.items[0].content, "Cybersécurité"));
    char hash[33];
    memcpy (hash, l.items[0].hash, 33);
    item_list_free (&l);
    /* the header agrees; and a forced charset gives the same */
    assert_int_equal (parse_fixture (&src, "text/html; charset=windows-1252",
                                     "pages/press-latin1.html", &l), VL_OK);
    assert_string_equal (l.items[0].hash, hash);
    item_list_free (&l);
    src.charset = "windows-1252";
    assert_int_equal (parse_fixture (&src, "text/html; charset=utf-8",
                                     "pages/press-latin1.html", &l), VL_OK);
    assert_string_equal (l.items[0].hash, hash);
    item_list_free (&l);
}

static void
header_wrongly_says_utf8 (void **state)
{
    source_t src = src_of (SOURCE_AUTO);
    item_list_t l = { 0 }, ref = { 0 };
    assert_int_equal (parse_fixture (&src, NULL, "feeds/press-rss2.xml", &ref), VL_OK);
    assert_int_equal (parse_fixture (&src, "application/rss+xml; charset=utf-8",
                                     "feeds/press-rss2-cp1252.xml", &l), VL_OK);
    assert_int_equal (l.n, ref.n);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal (l.items[i].hash, ref.items[i].hash);
    item_list_free (&l);
    item_list_free (&ref);
}

static void
bad_selector_is_einval (void **state)
{
    source_t src = src_of (SOURCE_HTML);
    src.select = "a:hover";
    item_list_t l = { 0 };
    assert_int_equal (parse_fixture (&src, NULL, "pages/un-ctitf.html", &l), VL_EINVAL);
    assert_int_equal (l.n, 0);
}

static void
item_list_cap_pop_and_free (void **state)
{
    item_list_t l = { 0 };
    for (int i = 0; i < ITEM_MAX_ITEMS; i++) {
        parsed_item_t *it = item_list_add (&l);
        assert_non_null (it);
        it->title = strdup ("t");
    }
    assert_null (item_list_add (&l));
    item_list_pop (&l);
    assert_int_equal (l.n, ITEM_MAX_ITEMS - 1);
    item_list_free (&l);
    assert_int_equal (l.n, 0);
    assert_null (l.items);
    item_list_pop (&l);
    item_list_free (&l);
}

static void
item_finish_hash_and_identity_fallback (void **state)
{
    parsed_item_t a = { 0 }, b = { 0 }, c = { 0 };
    a.title = strdup ("Titre");
    a.content = strdup ("ligne 1\nligne 2");
    a.link = strdup ("https://x.example/a");
    item_finish (&a);
    assert_int_equal (strlen (a.hash), 32);
    assert_string_equal (a.identity, "https://x.example/a");
    /* same title+content, same hash; the hash covers title '\n' content */
    b.title = strdup ("Titre");
    b.content = strdup ("ligne 1\nligne 2");
    b.identity = strdup ("guid-1");
    item_finish (&b);
    assert_string_equal (a.hash, b.hash);
    assert_string_equal (b.identity, "guid-1");
    char want[33];
    util_hash_hex ("Titre\nligne 1\nligne 2", 21, want);
    assert_string_equal (a.hash, want);
    /* no identity, no link: hash of title '\n' link */
    c.title = strdup ("Titre");
    c.identity = strdup ("");
    item_finish (&c);
    util_hash_hex ("Titre\n", 6, want);
    assert_string_equal (c.identity, want);
    item_clear (&a);
    item_clear (&b);
    item_clear (&c);
    assert_null (a.title);
}

static void
idset_detects_duplicates_and_grows (void **state)
{
    item_idset_t set = { 0 };
    char ids[300][16];
    for (int i = 0; i < 300; i++) {
        snprintf (ids[i], sizeof ids[i], "id-%d", i);
        assert_true (item_idset_add (&set, ids[i]));
    }
    for (int i = 0; i < 300; i++) {
        char copy[16];
        strcpy (copy, ids[i]);
        assert_false (item_idset_add (&set, copy));
    }
    assert_true (item_idset_add (&set, NULL));
    assert_int_equal (set.n, 300);
    assert_true (item_idset_has (&set, "id-299"));
    assert_false (item_idset_has (&set, "id-300"));
    item_idset_free (&set);
    assert_null (set.ids);
    assert_null (set.set.slots);
}

static void
resolve_link_schemes_and_bases (void **state)
{
    char *u = item_resolve_link (" ../b?x=1#f ", "https://h.example/d/e/f");
    assert_string_equal (u, "https://h.example/d/b?x=1#f");
    free (u);
    u = item_resolve_link ("//cdn.example/x", "https://h.example/");
    assert_string_equal (u, "https://cdn.example/x");
    free (u);
    u = item_resolve_link ("HTTP://UP.example/", NULL);
    assert_non_null (u);
    free (u);
    /* spaces and non-ASCII in a path: percent-encoded, as a browser does */
    u = item_resolve_link ("/docs/Rapport annuel 2016.pdf", "https://h.example/a/b.html");
    assert_string_equal (u, "https://h.example/docs/Rapport%20annuel%202016.pdf");
    free (u);
    u = item_resolve_link ("note de synth\xc3\xa8se.pdf?v=1&x=%41", "https://h.example/a/b.html");
    assert_string_equal (u, "https://h.example/a/note%20de%20synth%C3%A8se.pdf?v=1&x=%41");
    free (u);
    u = item_resolve_link ("https://h.example/a b", NULL);
    assert_string_equal (u, "https://h.example/a%20b");
    free (u);
    assert_null (item_resolve_link ("javascript:alert(1)", "https://h.example/"));
    assert_null (item_resolve_link ("javascript:alert(1) x", "https://h.example/"));
    assert_null (item_resolve_link ("data:text/html,x", NULL));
    assert_null (item_resolve_link ("relative/only", NULL));
    assert_null (item_resolve_link ("", "https://h.example/"));
    assert_null (item_resolve_link ("   ", "https://h.example/"));
    assert_null (item_resolve_link (NULL, "https://h.example/"));
    assert_null (item_resolve_link ("https://h.example/a\nb", NULL));
}

static void
item_json_is_escaped_utf8 (void **state)
{
    parsed_item_t it = { 0 };
    it.identity = "id\"1";
    it.title = "« Titre »\twith \\ and \x01";
    it.link = "https://x.example/";
    it.summary = "s";
    it.content = "c\nd";
    it.published = 1453802400;
    it.has_published = true;
    strcpy (it.hash, "0123456789abcdef0123456789abcdef");
    char *j = item_to_json (&it, false);
    assert_non_null (j);
    assert_null (strchr (j, '\n'));
    assert_null (strstr (j, "content"));
    json_error_t e;
    json_t *o = json_loads (j, 0, &e);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "id")), "id\"1");
    assert_string_equal (json_string_value (json_object_get (o, "title")), it.title);
    assert_int_equal (json_integer_value (json_object_get (o, "published")), 1453802400);
    assert_string_equal (json_string_value (json_object_get (o, "hash")), it.hash);
    assert_non_null (strstr (j, "« Titre »"));
    json_decref (o);
    free (j);
    it.has_published = false;
    it.link = NULL;
    j = item_to_json (&it, true);
    o = json_loads (j, 0, &e);
    assert_null (json_object_get (o, "published"));
    assert_string_equal (json_string_value (json_object_get (o, "link")), "");
    assert_string_equal (json_string_value (json_object_get (o, "content")), "c\nd");
    json_decref (o);
    free (j);
}

static const char *const ALL_FIXTURES[] = {
    "feeds/press-rss2.xml", "feeds/press-rss2-cp1252.xml", "feeds/press-atom.xml",
    "feeds/un-ga-rdf.xml", "pages/rfi-original.html", "pages/un-ctitf.html",
    "pages/press-latin1.html", "json/api-sample.json", "broken/truncated.xml",
    "broken/wrong-charset.xml", "broken/entities-cdata.xml", "broken/no-dates.xml",
    "broken/xml-base-relative.xml", "broken/duplicate-guids.xml",
    "broken/billion-laughs.xml", "broken/xxe.xml", "broken/bad.json",
};

/* Parses BODY as auto and checks the invariants of every item. */
static void
parse_checked (const char *body, size_t len)
{
    static char *ign[] = { "re:^a", "script" };
    source_t src = src_of (SOURCE_AUTO);
    src.json_items = "data.items";
    src.ignore = ign;
    src.nignore = 2;
    item_list_t l = { 0 };
    parse_ctx_t ctx = { .base_url = "https://doc.example/x/y", .content_type = NULL };
    vl_err_t rc = parse_document (&src, &ctx, body, len, &l);
    assert_true (rc == VL_OK || rc == VL_EPARSE);
    for (size_t i = 0; i < l.n; i++) {
        const parsed_item_t *it = &l.items[i];
        assert_non_null (it->identity);
        assert_true (util_utf8_valid (it->title, strlen (it->title)));
        assert_true (util_utf8_valid (it->summary, strlen (it->summary)));
        assert_true (util_utf8_valid (it->content, strlen (it->content)));
        assert_true (strlen (it->title) <= ITEM_MAX_TITLE);
        assert_true (strlen (it->summary) <= ITEM_MAX_SUMMARY);
        assert_true (!it->link || strncmp (it->link, "javascript:", 11) != 0);
        assert_int_equal (strlen (it->hash), 32);
    }
    item_list_free (&l);
}

/* Traces what each ignore rule removed, as "rule=text;" pairs. */
static void
trace_cat (void *arg, const char *rule, const char *removed)
{
    char *acc = arg;
    size_t n = strlen (acc);
    snprintf (acc + n, 512 - n, "%s=%s;", rule, removed);
}

static void
failures_say_what_is_wrong_and_ignores_are_traced (void **state)
{
    static const char page[] = "<html><body><p class=\"stamp\">12:01</p>"
                               "<p>Kept</p><p>Updated 3 min ago</p></body></html>";
    char why[300], traced[512] = "";
    item_list_t l = { 0 };
    source_t src = src_of (SOURCE_HTML);
    src.select = "main";
    parse_ctx_t ctx = { .why = why, .whylen = sizeof why };
    assert_int_equal (parse_document (&src, &ctx, page, strlen (page), &l), VL_EPARSE);
    assert_string_equal (why, "selector matched nothing (select = \"main\")");
    src = src_of (SOURCE_FEED);
    assert_int_not_equal (parse_document (&src, &ctx, page, strlen (page), &l), VL_OK);
    assert_string_equal (why, "got an HTML page where a feed was expected (type = \"html\"?)");
    static char *ign[] = { "p.stamp", "re:^Updated" };
    src = src_of (SOURCE_HTML);
    src.ignore = ign;
    src.nignore = 2;
    ctx = (parse_ctx_t) { .why = why, .whylen = sizeof why, .trace = trace_cat,
                          .trace_arg = traced };
    assert_int_equal (parse_document (&src, &ctx, page, strlen (page), &l), VL_OK);
    assert_string_equal (why, "");
    assert_string_equal (traced, "p.stamp=12:01;re:^Updated=Updated 3 min ago;");
    assert_string_equal (l.items[0].content, "Kept");
    item_list_free (&l);
}

static void
every_prefix_of_every_fixture_is_safe (void **state)
{
    for (size_t f = 0; f < sizeof ALL_FIXTURES / sizeof ALL_FIXTURES[0]; f++) {
        size_t len;
        char *body = read_fixture (ALL_FIXTURES[f], &len);
        size_t step = len / 60 + 1;
        for (size_t cut = 0; cut <= len; cut += step)
            parse_checked (body, cut);
        free (body);
    }
}

static void
random_byte_mutations_are_safe (void **state)
{
    uint32_t seed = 20260125u;
    for (size_t f = 0; f < sizeof ALL_FIXTURES / sizeof ALL_FIXTURES[0]; f++) {
        size_t len;
        char *body = read_fixture (ALL_FIXTURES[f], &len);
        for (int round = 0; round < 25 && len > 0; round++) {
            char *m = malloc (len);
            assert_non_null (m);
            memcpy (m, body, len);
            for (int k = 0; k < 8; k++) {
                seed = seed * 1664525u + 1013904223u;
                size_t pos = (seed >> 8) % len;
                seed = seed * 1664525u + 1013904223u;
                static const char evil[] = "<>&;\"\0\xff\xc3]]!-[";
                m[pos] = (seed & 1) ? evil[(seed >> 8) % (sizeof evil - 1)]
                                    : (char) (seed >> 16);
            }
            parse_checked (m, len);
            free (m);
        }
        free (body);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (auto_detects_feed_json_html),
        cmocka_unit_test (forced_type_mismatch_is_a_parse_error),
        cmocka_unit_test (latin1_page_via_meta_and_header),
        cmocka_unit_test (header_wrongly_says_utf8),
        cmocka_unit_test (bad_selector_is_einval),
        cmocka_unit_test (item_list_cap_pop_and_free),
        cmocka_unit_test (item_finish_hash_and_identity_fallback),
        cmocka_unit_test (idset_detects_duplicates_and_grows),
        cmocka_unit_test (resolve_link_schemes_and_bases),
        cmocka_unit_test (item_json_is_escaped_utf8),
        cmocka_unit_test (failures_say_what_is_wrong_and_ignores_are_traced),
        cmocka_unit_test (every_prefix_of_every_fixture_is_safe),
        cmocka_unit_test (random_byte_mutations_are_safe),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
