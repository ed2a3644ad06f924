/* test_feed_parse: RSS 2.0, RDF, Atom fixtures; broken feeds. Date strings:
 * test_feed_date; entity repair: test_entity_fix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include "buf.h"
#include "charset.h"
#include "feed_parse.h"
#include "util.h"

/* Reads a fixture, converts it to UTF-8 as parse_document would. */
static char *
fixture (const char *rel, size_t *len)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", FIXTURES_DIR, rel);
    char *raw = NULL, *utf8 = NULL;
    size_t rlen = 0;
    assert_int_equal (util_read_file (path, 1 << 24, &raw, &rlen), VL_OK);
    assert_int_equal (charset_to_utf8 (raw, rlen, NULL, NULL, 0, &utf8, len), VL_OK);
    free (raw);
    return utf8;
}

static void
parse_fixture (const char *rel, const char *base, item_list_t *out)
{
    size_t len;
    char *body = fixture (rel, &len);
    assert_int_equal (feed_parse (body, len, base, out), VL_OK);
    free (body);
    for (size_t i = 0; i < out->n; i++) {
        const parsed_item_t *it = &out->items[i];
        assert_non_null (it->identity);
        assert_non_null (it->title);
        assert_true (util_utf8_valid (it->title, strlen (it->title)));
        assert_true (util_utf8_valid (it->content, strlen (it->content)));
        assert_true (util_utf8_valid (it->summary, strlen (it->summary)));
        assert_true (strlen (it->summary) <= ITEM_MAX_SUMMARY);
        assert_int_equal (strlen (it->hash), 32);
    }
}

static void
rss2_items_fields_and_typography (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("feeds/press-rss2.xml", "https://press.example.org/feed", &l);
    assert_int_equal (l.n, 2);
    parsed_item_t *a = &l.items[0], *b = &l.items[1];
    assert_string_equal (a->identity, "strategies-2016-0001");
    assert_string_equal (a->title, "La France et le Royaume-Uni veulent un accès aux communications chiffrées");
    assert_string_equal (a->link, "https://www.strategies.example/actualites/chiffrement-acces");
    assert_true (a->has_published);
    assert_int_equal (a->published, 1453296600);   /* 2016-01-20 13:30 UTC */
    /* content:encoded (CDATA HTML) is the hashed text, one line per paragraph */
    assert_non_null (strstr (a->content, "réclament « une possibilité d'accès »"));
    assert_non_null (strchr (a->content, '\n'));
    assert_null (strchr (a->summary, '\n'));
    assert_null (strchr (a->content, '<'));
    assert_string_equal (b->identity, "https://www.silicon.example/?p=108000");
    assert_string_equal (b->title, "Cyber-sécurité : le gouvernement favorise un plan d’actions face au terrorisme");
    /* NBSP from the seed survives */
    assert_non_null (strstr (b->content, "\u00a0"));
    assert_int_equal (b->published, 1421831100);
    item_list_free (&l);
}

static void
windows1252_copy_gives_same_items (void **state)
{
    item_list_t u = { 0 }, w = { 0 };
    parse_fixture ("feeds/press-rss2.xml", NULL, &u);
    parse_fixture ("feeds/press-rss2-cp1252.xml", NULL, &w);
    assert_int_equal (u.n, w.n);
    for (size_t i = 0; i < u.n; i++) {
        assert_string_equal (u.items[i].title, w.items[i].title);
        assert_string_equal (u.items[i].content, w.items[i].content);
        assert_string_equal (u.items[i].hash, w.items[i].hash);
    }
    item_list_free (&u);
    item_list_free (&w);
}

static void
wrong_declared_charset_gives_same_items (void **state)
{
    item_list_t u = { 0 }, w = { 0 };
    parse_fixture ("feeds/press-rss2.xml", NULL, &u);
    parse_fixture ("broken/wrong-charset.xml", NULL, &w);
    assert_int_equal (u.n, w.n);
    for (size_t i = 0; i < u.n; i++)
        assert_string_equal (u.items[i].hash, w.items[i].hash);
    item_list_free (&u);
    item_list_free (&w);
}

static void
atom_links_kinds_and_dates (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("feeds/press-atom.xml", "https://feeds.example/silicon.atom", &l);
    assert_int_equal (l.n, 2);
    parsed_item_t *a = &l.items[0], *b = &l.items[1];
    assert_string_equal (a->identity, "tag:silicon.example,2015:108000");
    /* type="html" title: <b> stripped */
    assert_string_equal (a->title, "Cyber-sécurité : le gouvernement favorise un plan d’actions face au terrorisme");
    /* rel=alternate chosen over enclosure, resolved against xml:base */
    assert_string_equal (a->link, "https://www.silicon.example/cyber-securite-plan-actions-terrorisme");
    assert_int_equal (a->published, 1421827500);   /* published wins over updated */
    assert_non_null (strstr (a->content, "Forum International de la Cybersécurité"));
    assert_string_equal (b->link, "https://www.silicon.example/actualites/chiffrement-acces");
    assert_int_equal (b->published, 1453296600);   /* updated when no published */
    item_list_free (&l);
}

static void
rdf_items_about_and_dc_date (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("feeds/un-ga-rdf.xml", NULL, &l);
    assert_int_equal (l.n, 2);
    assert_string_equal (l.items[0].identity, "https://www.un.example/fr/ga/68/res/243");
    assert_string_equal (l.items[0].title,
        "68/243. Progrès de l'informatique et des télécommunications et sécurité internationale");
    assert_true (l.items[0].has_published);
    assert_int_equal (l.items[0].published, 1388102400);
    assert_false (l.items[1].has_published);
    item_list_free (&l);
}

static void
entities_cdata_and_hostile_links (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("broken/entities-cdata.xml", NULL, &l);
    assert_int_equal (l.n, 3);
    assert_string_equal (l.items[0].title, "Cyber-sécurité : le plan & ses «\u00a0six mesures\u00a0»");
    assert_string_equal (l.items[0].link, "https://ent.example/a?x=1&y=2");
    assert_string_equal (l.items[0].summary,
        "Café & croissants\u00a0: l’été chaud Rédaction veille &unknownentity;");
    /* a bare '&' and bad character references do not make libxml2 drop
     * the entities that follow; '&' inside CDATA is left alone */
    assert_true (strncmp (l.items[1].title, "Tom & Jerry ", 12) == 0);
    assert_non_null (strstr (l.items[1].title, "fin & suite é"));
    assert_string_equal (l.items[1].summary, "AT&T é gras");
    assert_null (l.items[2].link);                 /* javascript: refused */
    assert_string_equal (l.items[2].summary, "Texte\u00a0visible");   /* script/style dropped */
    item_list_free (&l);
}

static void
billion_laughs_and_xxe_are_harmless (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("broken/billion-laughs.xml", NULL, &l);
    assert_int_equal (l.n, 1);
    assert_true (strlen (l.items[0].title) < 1000);
    item_list_free (&l);
    parse_fixture ("broken/xxe.xml", NULL, &l);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].title, "xy");
    assert_null (strstr (l.items[0].title, "root:"));
    item_list_free (&l);
}

static void
truncated_feed_keeps_complete_items (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("broken/truncated.xml", NULL, &l);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].identity, "strategies-2016-0001");
    item_list_free (&l);
}

static void
broken_dates_give_no_date (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("broken/no-dates.xml", NULL, &l);
    assert_int_equal (l.n, 9);
    for (size_t i = 0; i < 7; i++)
        assert_false (l.items[i].has_published);
    assert_true (l.items[7].has_published);
    assert_int_equal (l.items[7].published, 1453798800);
    assert_true (l.items[8].has_published);
    assert_int_equal (l.items[8].published, 1453798800);
    /* non-URL guids are not links */
    assert_null (l.items[0].link);
    item_list_free (&l);
}

static void
relative_links_and_xml_base (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("broken/xml-base-relative.xml", "https://ignored.example/feed", &l);
    assert_int_equal (l.n, 4);
    assert_string_equal (l.items[0].link, "https://base.example/news/item1.html");
    assert_string_equal (l.items[1].link, "https://base.example/archives/2016/item2.html");
    assert_string_equal (l.items[2].link, "https://other.example/x");
    assert_string_equal (l.items[3].link, "https://base.example/top.html");
    item_list_free (&l);
    parse_fixture ("broken/rss-relative-nobase.xml", "https://doc.example/dir/feed.xml", &l);
    assert_int_equal (l.n, 2);
    assert_string_equal (l.items[0].link, "https://doc.example/fr/article-1");
    assert_string_equal (l.items[0].identity, "https://doc.example/fr/article-1");
    /* no guid, no link: identity is a hash of title+link */
    assert_int_equal (strlen (l.items[1].identity), 32);
    item_list_free (&l);
}

static void
rss_namespaced_lookalikes_do_not_win (void **state)
{
    const char doc[] =
        "<rss xmlns:media='http://search.yahoo.com/mrss/' "
        "xmlns:atom='http://www.w3.org/2005/Atom'><channel>"
        "<item><media:title>Légende photo</media:title><title>Vrai titre</title>"
        "<atom:link rel='self' href='https://x.example/self'/>"
        "<link>https://x.example/vrai</link><guid>n1</guid></item>"
        "<item><atom:link href='/seul'/><guid>n2</guid></item>"
        "</channel></rss>";
    item_list_t l = { 0 };
    assert_int_equal (feed_parse (doc, strlen (doc), "https://x.example/feed", &l), VL_OK);
    assert_int_equal (l.n, 2);
    assert_string_equal (l.items[0].title, "Vrai titre");
    assert_string_equal (l.items[0].link, "https://x.example/vrai");
    assert_string_equal (l.items[1].link, "https://x.example/seul");
    item_list_free (&l);
}

static void
duplicate_guids_keep_first (void **state)
{
    item_list_t l = { 0 };
    parse_fixture ("broken/duplicate-guids.xml", NULL, &l);
    assert_int_equal (l.n, 2);
    assert_string_equal (l.items[0].title, "Premier");
    assert_string_equal (l.items[1].title, "Autre");
    item_list_free (&l);
}

static void
items_are_capped (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    buf_puts (&b, "<rss><channel>");
    for (int i = 0; i < ITEM_MAX_ITEMS + 50; i++)
        buf_printf (&b, "<item><guid>g%d</guid><title>t</title></item>", i);
    buf_puts (&b, "</channel></rss>");
    item_list_t l = { 0 };
    assert_int_equal (feed_parse (b.data, b.len, NULL, &l), VL_OK);
    assert_int_equal (l.n, ITEM_MAX_ITEMS);
    item_list_free (&l);
    /* duplicates count towards the entries examined: the distinct entries
     * after ITEM_MAX_ENTRIES duplicates are not looked at */
    buf_reset (&b);
    buf_puts (&b, "<rss><channel>");
    for (int i = 0; i < ITEM_MAX_ENTRIES + 10; i++)
        buf_printf (&b, "<item><guid>%s%d</guid></item>", i < ITEM_MAX_ENTRIES ? "same" : "g",
                    i < ITEM_MAX_ENTRIES ? 0 : i);
    buf_puts (&b, "</channel></rss>");
    assert_int_equal (feed_parse (b.data, b.len, NULL, &l), VL_OK);
    assert_int_equal (l.n, 1);
    item_list_free (&l);
    buf_free (&b);
}

static bool
detect (const char *s)
{
    return feed_parse_detect (s, strlen (s));
}

static void
detection_and_errors (void **state)
{
    assert_true (detect ("<?xml version='1.0'?>\n<!-- c -->\n<rss>"));
    assert_true (detect ("\xEF\xBB\xBF<rdf:RDF xmlns:rdf='x'>"));
    assert_true (detect ("<!DOCTYPE feed [<!ENTITY a 'b'>]><feed>"));
    assert_false (detect ("<html><body>rss</body></html>"));
    assert_false (detect (""));
    assert_false (feed_parse_detect (NULL, 0));
    item_list_t l = { 0 };
    size_t len;
    char *body = fixture ("broken/not-a-feed.xml", &len);
    assert_int_equal (feed_parse (body, len, NULL, &l), VL_EPARSE);
    free (body);
    assert_int_equal (feed_parse ("<html/>", 7, NULL, &l), VL_EPARSE);
    assert_int_equal (feed_parse (NULL, 0, NULL, &l), VL_EPARSE);
    assert_int_equal (feed_parse ("<rss>", FEED_MAX_BYTES + 1, NULL, &l), VL_ETOOBIG);
    assert_int_equal (l.n, 0);
    /* an empty but valid feed is not an error */
    assert_int_equal (feed_parse ("<rss><channel/></rss>", 21, NULL, &l), VL_OK);
    assert_int_equal (l.n, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (rss2_items_fields_and_typography),
        cmocka_unit_test (windows1252_copy_gives_same_items),
        cmocka_unit_test (wrong_declared_charset_gives_same_items),
        cmocka_unit_test (atom_links_kinds_and_dates),
        cmocka_unit_test (rdf_items_about_and_dc_date),
        cmocka_unit_test (entities_cdata_and_hostile_links),
        cmocka_unit_test (billion_laughs_and_xxe_are_harmless),
        cmocka_unit_test (truncated_feed_keeps_complete_items),
        cmocka_unit_test (broken_dates_give_no_date),
        cmocka_unit_test (relative_links_and_xml_base),
        cmocka_unit_test (rss_namespaced_lookalikes_do_not_win),
        cmocka_unit_test (duplicate_guids_keep_first),
        cmocka_unit_test (items_are_capped),
        cmocka_unit_test (detection_and_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
