/* test_entity_fix: entity references of sloppy XML made well-formed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "entity_fix.h"

/* entity_fix over DOC whose prolog ends where "<root" starts; returns the
 * rewritten text, or NULL when nothing was rewritten. Caller frees. */
static char *
fix (const char *doc)
{
    const char *root = strstr (doc, "<root");
    assert_non_null (root);
    size_t out_len = 0;
    char *out = entity_fix (doc, strlen (doc), (size_t) (root - doc), &out_len);
    if (out)
        assert_int_equal (out_len, strlen (out));
    return out;
}

static void
assert_fixed (const char *doc, const char *want)
{
    char *got = fix (doc);
    assert_non_null (got);
    assert_string_equal (got, want);
    free (got);
}

static void
well_formed_text_is_not_copied (void **state)
{
    assert_null (fix ("<root>Tom &amp; Jerry &lt;&gt;&quot;&apos; &#233;&#xE9;</root>"));
    assert_null (fix ("<root/>"));
    /* the prolog is never rewritten */
    assert_null (fix ("<?xml version=\"1.0\"?><!-- a & b --><root>x</root>"));
}

static void
html_names_bare_ampersands_and_unknown_names (void **state)
{
    assert_fixed ("<root>Caf&eacute; &nbsp;</root>", "<root>Caf&#233; &#160;</root>");
    assert_fixed ("<root>Tom & Jerry</root>", "<root>Tom &amp; Jerry</root>");
    assert_fixed ("<root>&unknownentity;</root>", "<root>&amp;unknownentity;</root>");
    assert_fixed ("<root><a href=\"/?a=1&b=2\"/></root>",
                  "<root><a href=\"/?a=1&amp;b=2\"/></root>");
    assert_fixed ("<root>AT&T;</root>", "<root>AT&amp;T;</root>");
    /* cut short, or a name too long to be one */
    assert_fixed ("<root>&eacute", "<root>&amp;eacute");
    assert_fixed ("<root>&abcdefghijklmnopqrstuvwxyzabcdefghij;</root>",
                  "<root>&amp;abcdefghijklmnopqrstuvwxyzabcdefghij;</root>");
}

static void
invalid_character_references (void **state)
{
    assert_fixed ("<root>&#0;</root>", "<root>&amp;#0;</root>");
    assert_fixed ("<root>&#xD800;</root>", "<root>&amp;#xD800;</root>");
    assert_fixed ("<root>&#x110000;</root>", "<root>&amp;#x110000;</root>");
    assert_fixed ("<root>&#123456789;</root>", "<root>&amp;#123456789;</root>");
    assert_fixed ("<root>&#;&#x;</root>", "<root>&amp;#;&amp;#x;</root>");
    assert_fixed ("<root>&#65</root>", "<root>&amp;#65</root>");
    assert_null (fix ("<root>&#9;&#x10FFFF;&#65;</root>"));
}

static void
cdata_comments_and_pis_are_left_alone (void **state)
{
    assert_null (fix ("<root><![CDATA[a & b &eacute;]]><!-- c & d --><?pi e & f?></root>"));
    assert_fixed ("<root><![CDATA[a & b]]> c & d</root>",
                  "<root><![CDATA[a & b]]> c &amp; d</root>");
    /* an unterminated CDATA section runs to the end */
    assert_null (fix ("<root><![CDATA[a & b"));
}

static void
entities_declared_in_the_prolog_are_kept (void **state)
{
    const char *doc = "<?xml version=\"1.0\"?>\n"
                      "<!DOCTYPE root [<!ENTITY  house \"veille\"><!ENTITY eacute \"e\">]>\n"
                      "<root>&house; &eacute; &other;</root>";
    char *got = fix (doc);
    assert_non_null (got);
    assert_non_null (strstr (got, "<root>&house; &eacute; &amp;other;</root>"));
    assert_non_null (strstr (got, "<!ENTITY  house \"veille\">"));
    free (got);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (well_formed_text_is_not_copied),
        cmocka_unit_test (html_names_bare_ampersands_and_unknown_names),
        cmocka_unit_test (invalid_character_references),
        cmocka_unit_test (cdata_comments_and_pis_are_left_alone),
        cmocka_unit_test (entities_declared_in_the_prolog_are_kept),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
