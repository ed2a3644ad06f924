/* test_text_norm: HTML to plain text, white space, NFC, controls, caps,
 * and French typography (NBSP, « », ’) surviving. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "text_norm.h"
#include "util.h"

static void
check_html (const char *in, bool multi, const char *want)
{
    char *out = text_norm_html (in, strlen (in), multi, 0);
    assert_non_null (out);
    assert_string_equal (out, want);
    assert_true (util_utf8_valid (out, strlen (out)));
    free (out);
}

static void
check_plain (const char *in, size_t len, bool multi, size_t max, const char *want)
{
    char *out = text_norm_plain (in, len, multi, max);
    assert_non_null (out);
    assert_string_equal (out, want);
    free (out);
}

static void
html_entities_tags_blocks (void **state)
{
    check_html ("<p>Caf&eacute; &amp; cr&#232;me</p><p>fin&hellip;</p>", true,
                "Café & crème\nfin…");
    check_html ("<p>Caf&eacute; &amp; cr&#232;me</p><p>fin</p>", false,
                "Café & crème fin");
    check_html ("a<br>b<br/>c<b>d</b> <i>e</i>", true, "a\nb\ncd e");
    check_html ("<ul><li>un</li><li>deux</li></ul>", true, "un\ndeux");
    check_html ("x &lt;b&gt; y", false, "x <b> y");
}

static void
script_style_dropped (void **state)
{
    check_html ("<script>var x = '<p>no</p>';</script>oui<style>p{color:red}</style>"
                "<noscript>non</noscript> <!-- commentaire --> ici", false, "oui ici");
}

static void
french_typography_survives (void **state)
{
    /* NBSP inside text kept; « » ’ kept; &nbsp; decodes to U+00A0 */
    check_html ("<p>«&nbsp;Vite&nbsp;» l’État : 10&#8239;%</p>", false,
                "«\u00a0Vite\u00a0» l’État : 10\u202f%");
    check_plain ("« une possibilité d'accès »", strlen ("« une possibilité d'accès »"),
                 false, 0, "« une possibilité d'accès »");
}

static void
whitespace_folding_and_trimming (void **state)
{
    const char in[] = "  a \t  b  \r\n\r\n\n   c\u00a0\u00a0\n\u00a0\n\n  d  ";
    check_plain (in, strlen (in), true, 0, "a b\nc\nd");
    check_plain (in, strlen (in), false, 0, "a b c d");
    check_plain ("", 0, true, 0, "");
    check_plain (NULL, 0, true, 0, "");
}

static void
nfc_composition (void **state)
{
    /* e + combining acute -> é (U+00E9) */
    const char in[] = "Cafe\xCC\x81";
    check_plain (in, strlen (in), false, 0, "Caf\xC3\xA9");
}

static void
controls_and_bad_bytes_removed (void **state)
{
    const char in[] = "a\x01" "b\x1b[31mc\x7f" "d\xC2\x85" "e\xEF\xBB\xBF" "f\xC2\xAD" "g\xFF";
    char *out = text_norm_plain (in, sizeof in - 1, false, 0);
    assert_non_null (out);
    /* ESC removed (its printable tail stays harmless text); NEL -> break */
    assert_string_equal (out, "ab[31mcd e" "fg\xEF\xBF\xBD");
    free (out);
    const char bidi[] = "a\u202Eevil\u202C b\u2067c\u2069";
    check_plain (bidi, strlen (bidi), false, 0, "aevil bc");
    const char nul[] = "x\0y";
    check_plain (nul, 3, false, 0, "xy");
}

static void
cap_on_utf8_boundary (void **state)
{
    /* "ééé" is 6 bytes; a cap of 5 must cut to "éé" (4 bytes) */
    check_plain ("ééé", strlen ("ééé"), false, 5, "éé");
    check_plain ("abc", 3, false, 3, "abc");
    check_plain ("abcd", 4, false, 2, "ab");
    char *out = text_norm_html ("<p>élan</p><p>vital</p>", 24, true, 3);
    assert_non_null (out);
    assert_string_equal (out, "él");
    free (out);
}

static void
collect_from_node (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    assert_int_equal (text_norm_collect (NULL, &b), VL_OK);
    assert_int_equal (b.len, 0);
    buf_t small;
    buf_init (&small, 4);
    xmlDocPtr doc = xmlReadMemory ("<a>hello <b>world</b></a>", 25, NULL, "UTF-8", 0);
    assert_non_null (doc);
    assert_int_equal (text_norm_collect (xmlDocGetRootElement (doc), &small), VL_ETOOBIG);
    assert_int_equal (text_norm_collect ((xmlNodePtr) doc, &b), VL_OK);
    assert_string_equal (b.data, "hello world");
    xmlFreeDoc (doc);
    buf_free (&b);
    buf_free (&small);
}

static void
plain_text_without_markup_is_not_parsed (void **state)
{
    check_html ("a < b et c > d", false, "a < b et c > d");
    check_html ("AT&T", false, "AT&T");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (html_entities_tags_blocks),
        cmocka_unit_test (script_style_dropped),
        cmocka_unit_test (french_typography_survives),
        cmocka_unit_test (whitespace_folding_and_trimming),
        cmocka_unit_test (nfc_composition),
        cmocka_unit_test (controls_and_bad_bytes_removed),
        cmocka_unit_test (cap_on_utf8_boundary),
        cmocka_unit_test (collect_from_node),
        cmocka_unit_test (plain_text_without_markup_is_not_parsed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
