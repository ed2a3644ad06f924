/* test_page_parse: selectors, whole-page and items modes, ignore rules;
 * the RFI page keeps its hash across noise-only edits and changes it on a
 * real edit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "diff.h"
#include "page_parse.h"
#include "util.h"

static const char RFI_URL[] = "https://www.rfi.example/fr/france/20160126-cazeneuve";

/* The documented ignore set for the RFI article page (see
 * tests/fixtures/README.md): the region is the <article>; the cookie/Flash
 * notice is a node; the rest are lines of the normalised text. */
static char *rfi_ignore[] = {
    ".cookie",
    "re:^Publié le .* Modifié le ",
    "re:^(Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi|Dimanche) [0-9]{1,2}(er)? [^ ]+$",
    "re:^Aujourd'hui$",
    "re:^Commentaires( \\([0-9]+\\))?$",
    "re:délai de connexion imparti",
};

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
rfi_source (bool with_ignore)
{
    source_t s;
    memset (&s, 0, sizeof s);
    s.id = "press.rfi";
    s.url = (char *) RFI_URL;
    s.type = SOURCE_HTML;
    s.select = "article";
    if (with_ignore) {
        s.ignore = rfi_ignore;
        s.nignore = sizeof rfi_ignore / sizeof rfi_ignore[0];
    }
    return s;
}

/* Parses fixture REL with SRC; expects one item; returns it in *OUT
 * (caller frees the list). */
static void
parse_one (const source_t *src, const char *rel, item_list_t *l)
{
    size_t len;
    char *body = read_fixture (rel, &len);
    assert_int_equal (page_parse (src, body, len, RFI_URL, l), VL_OK);
    free (body);
    assert_int_equal (l->n, 1);
}

static void
rfi_noise_keeps_hash_edit_changes_it (void **state)
{
    source_t src = rfi_source (true);
    item_list_t o = { 0 }, n1 = { 0 }, n2 = { 0 }, e = { 0 };
    parse_one (&src, "pages/rfi-original.html", &o);
    parse_one (&src, "pages/rfi-noise1.html", &n1);
    parse_one (&src, "pages/rfi-noise2.html", &n2);
    parse_one (&src, "pages/rfi-edited.html", &e);
    assert_string_equal (o.items[0].hash, n1.items[0].hash);
    assert_string_equal (o.items[0].hash, n2.items[0].hash);
    assert_string_not_equal (o.items[0].hash, e.items[0].hash);
    /* identity is the page URL; title from <title> */
    assert_string_equal (o.items[0].identity, RFI_URL);
    assert_string_equal (o.items[0].link, RFI_URL);
    assert_string_equal (o.items[0].title,
        "Cazeneuve compte sur la cybersécurité pour lutter contre le terrorisme - France - RFI");
    /* the article text is there, the noise is not */
    const char *c = o.items[0].content;
    assert_non_null (strstr (c, "« Si nous agissons sans relâche"));
    assert_non_null (strstr (c, "plus de 1 000 demandes"));
    assert_null (strstr (c, "Aujourd'hui"));
    assert_null (strstr (c, "Flash"));
    assert_null (strstr (c, "délai de connexion"));
    assert_null (strstr (c, "Septembre"));
    assert_null (strstr (c, "xtToken"));
    /* the diff names exactly the edited line */
    char *d = diff_lines (o.items[0].content, e.items[0].content, 0);
    assert_non_null (d);
    assert_true (strncmp (d, "- Depuis un peu plus", 20) == 0);
    const char *plus = strstr (d, "\n+ Depuis un peu plus");
    assert_non_null (plus);
    assert_non_null (strstr (d, "plus de 1 000 demandes"));
    assert_non_null (strstr (plus, "plus de 1 200 demandes"));
    size_t lines = 1;
    for (const char *p = d; *p; p++)
        lines += *p == '\n';
    assert_int_equal (lines, 2);
    free (d);
    item_list_free (&o);
    item_list_free (&n1);
    item_list_free (&n2);
    item_list_free (&e);
}

static void
rfi_without_ignore_set_sees_the_noise (void **state)
{
    source_t src = rfi_source (false);
    item_list_t o = { 0 }, n1 = { 0 }, n2 = { 0 };
    parse_one (&src, "pages/rfi-original.html", &o);
    parse_one (&src, "pages/rfi-noise1.html", &n1);
    parse_one (&src, "pages/rfi-noise2.html", &n2);
    assert_string_not_equal (o.items[0].hash, n1.items[0].hash);
    assert_string_not_equal (o.items[0].hash, n2.items[0].hash);
    item_list_free (&o);
    item_list_free (&n1);
    item_list_free (&n2);
}

static void
rfi_whole_body_with_selector_ignores (void **state)
{
    /* no select (whole <body>): header, footer and asides removed as nodes */
    static char *ign[] = {
        "header", "footer", ".cookie", "aside.programme", "section.comments",
        "re:^Publié le ",
    };
    source_t src = rfi_source (false);
    src.select = NULL;
    src.ignore = ign;
    src.nignore = sizeof ign / sizeof ign[0];
    item_list_t o = { 0 }, n2 = { 0 }, e = { 0 };
    parse_one (&src, "pages/rfi-original.html", &o);
    parse_one (&src, "pages/rfi-noise2.html", &n2);
    parse_one (&src, "pages/rfi-edited.html", &e);
    assert_string_equal (o.items[0].hash, n2.items[0].hash);
    assert_string_not_equal (o.items[0].hash, e.items[0].hash);
    item_list_free (&o);
    item_list_free (&n2);
    item_list_free (&e);
}

static source_t
ctitf_source (void)
{
    source_t s;
    memset (&s, 0, sizeof s);
    s.id = "un.ctitf";
    s.url = "https://www.un.example/fr/terrorism/ctitf/wg_internet.shtml";
    s.type = SOURCE_HTML;
    s.select = "#documents";
    s.items = "li";
    s.item_link = "a";
    return s;
}

static void
ctitf_documents_as_items (void **state)
{
    source_t src = ctitf_source ();
    item_list_t l = { 0 }, l2 = { 0 };
    size_t len;
    char *body = read_fixture ("pages/un-ctitf.html", &len);
    assert_int_equal (page_parse (&src, body, len, src.url, &l), VL_OK);
    free (body);
    assert_int_equal (l.n, 3);
    assert_string_equal (l.items[0].title, "Rapport du Groupe de travail (février 2009)");
    /* <base href> and root-relative links */
    assert_string_equal (l.items[0].link,
                         "https://www.un.example/fr/terrorism/ctitf/pdfs/wg_internet_2009.pdf");
    assert_string_equal (l.items[2].link,
                         "https://www.un.example/fr/terrorism/ctitf/documents/riyad-2011.pdf");
    assert_string_equal (l.items[2].identity, l.items[2].link);
    /* a new document: one more item, the others unchanged */
    body = read_fixture ("pages/un-ctitf-newdoc.html", &len);
    assert_int_equal (page_parse (&src, body, len, src.url, &l2), VL_OK);
    free (body);
    assert_int_equal (l2.n, 4);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal (l.items[i].identity, l2.items[i].identity);
        assert_string_equal (l.items[i].hash, l2.items[i].hash);
    }
    assert_string_equal (l2.items[3].title, "Recueil des rapports (2012)");
    item_list_free (&l);
    item_list_free (&l2);
}

static void
ctitf_whole_page_keeps_typography (void **state)
{
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = "un.ctitf";
    src.url = "https://www.un.example/x";
    src.select = "//div[@id='content']";
    item_list_t l = { 0 };
    size_t len;
    char *body = read_fixture ("pages/un-ctitf.html", &len);
    assert_int_equal (page_parse (&src, body, len, NULL, &l), VL_OK);
    free (body);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].identity, "https://www.un.example/x");
    assert_non_null (strstr (l.items[0].content, "« S’employer avec l’Organisation"));
    assert_non_null (strstr (l.items[0].content, "Documents :"));
    assert_null (strstr (l.items[0].content, "visits"));
    item_list_free (&l);
}

static void
items_mode_default_title_and_link (void **state)
{
    const char html[] =
        "<html><body><ul class='news'>"
        "<li><h3>Un</h3><p>texte un</p><a href='/a/1'>lire</a></li>"
        "<li><a href='b/2'>Deux</a></li>"
        "<li><p>Trois sans lien</p></li>"
        "<li><a href='/a/1'>doublon</a></li>"
        "<li></li>"
        "</ul></body></html>";
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = "t";
    src.url = "https://t.example/dir/page";
    src.items = "ul.news > li";
    item_list_t l = { 0 };
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_OK);
    assert_int_equal (l.n, 3);
    assert_string_equal (l.items[0].title, "Un");
    assert_string_equal (l.items[0].link, "https://t.example/a/1");
    assert_string_equal (l.items[0].content, "Un\ntexte un\nlire");
    assert_string_equal (l.items[1].title, "Deux");
    assert_string_equal (l.items[1].link, "https://t.example/dir/b/2");
    assert_string_equal (l.items[2].title, "Trois sans lien");
    assert_null (l.items[2].link);
    assert_int_equal (strlen (l.items[2].identity), 32);
    item_list_free (&l);
    /* custom sub-selectors, XPath string results */
    src.item_title = "string(.//p)";
    src.item_link = "./a/@href";
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_OK);
    assert_string_equal (l.items[0].title, "texte un");
    assert_string_equal (l.items[0].link, "https://t.example/a/1");
    item_list_free (&l);
}

static void
nested_ignore_nodes_are_freed_safely (void **state)
{
    const char html[] = "<html><body><div class='x'><div class='x'><p>a</p></div></div>"
                        "<p>kept</p></body></html>";
    static char *ign[] = { ".x", "div p", "//comment()" };
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = "t";
    src.url = "https://t.example/";
    src.ignore = ign;
    src.nignore = 3;
    item_list_t l = { 0 };
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_OK);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].content, "kept");
    item_list_free (&l);
}

static void
errors_select_nothing_bad_selector_bad_regex (void **state)
{
    const char html[] = "<html><body><p>x</p></body></html>";
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = "t";
    src.url = "https://t.example/";
    item_list_t l = { 0 };
    src.select = "#missing";
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_EPARSE);
    src.select = "p:first-child";
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_EINVAL);
    src.select = "//p[";
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_EINVAL);
    src.select = "count(//p)";
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_EINVAL);
    src.select = NULL;
    static char *bad_re[] = { "re:(unclosed" };
    src.ignore = bad_re;
    src.nignore = 1;
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_EINVAL);
    src.ignore = NULL;
    src.nignore = 0;
    assert_int_equal (page_parse (&src, NULL, 0, NULL, &l), VL_EPARSE);
    assert_int_equal (page_parse (&src, html, PAGE_MAX_BYTES + 1, NULL, &l), VL_ETOOBIG);
    src.items = "count(//p)";
    assert_int_equal (page_parse (&src, html, strlen (html), NULL, &l), VL_EINVAL);
    assert_int_equal (l.n, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (rfi_noise_keeps_hash_edit_changes_it),
        cmocka_unit_test (rfi_without_ignore_set_sees_the_noise),
        cmocka_unit_test (rfi_whole_body_with_selector_ignores),
        cmocka_unit_test (ctitf_documents_as_items),
        cmocka_unit_test (ctitf_whole_page_keeps_typography),
        cmocka_unit_test (items_mode_default_title_and_link),
        cmocka_unit_test (nested_ignore_nodes_are_freed_safely),
        cmocka_unit_test (errors_select_nothing_bad_selector_bad_regex),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
