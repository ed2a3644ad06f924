/* test_charset: charset detection priority and conversion to valid UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "charset.h"
#include "util.h"

static char *
conv (const char *body, size_t len, const char *ct, const char *forced)
{
    char *out = NULL;
    size_t olen = 0;
    assert_int_equal (charset_to_utf8 (body, len, ct, forced, 0, &out, &olen), VL_OK);
    assert_non_null (out);
    assert_int_equal (strlen (out), olen);
    assert_true (util_utf8_valid (out, olen));
    return out;
}

static void
detect_priority_bom_header_decl_meta (void **state)
{
    char name[CHARSET_NAME_MAX];
    size_t bom;
    const char xml[] = "<?xml version='1.0' encoding=\"ISO-8859-15\"?><rss/>";
    charset_detect (xml, strlen (xml), NULL, NULL, name, &bom);
    assert_string_equal (name, "iso-8859-15");
    assert_int_equal (bom, 0);
    /* header beats the declaration */
    charset_detect (xml, strlen (xml), "text/xml; Charset=\"Windows-1252\"", NULL, name, &bom);
    assert_string_equal (name, "windows-1252");
    /* BOM beats the header */
    const char bomxml[] = "\xEF\xBB\xBF<?xml version='1.0' encoding='latin1'?><rss/>";
    charset_detect (bomxml, strlen (bomxml), "text/xml; charset=koi8-r", NULL, name, &bom);
    assert_string_equal (name, "utf-8");
    assert_int_equal (bom, 3);
    /* forced beats everything */
    charset_detect (bomxml, strlen (bomxml), NULL, "ISO-8859-1", name, &bom);
    assert_string_equal (name, "iso-8859-1");
    const char meta1[] = "<html><head><meta charset=windows-1252></head>";
    charset_detect (meta1, strlen (meta1), "text/html", NULL, name, &bom);
    assert_string_equal (name, "windows-1252");
    const char meta2[] = "<html><head><META HTTP-EQUIV='Content-Type' "
                         "content='text/html; charset=ISO-8859-1'></head>";
    charset_detect (meta2, strlen (meta2), NULL, NULL, name, &bom);
    assert_string_equal (name, "iso-8859-1");
    const char xmlmeta[] = "<?xml version='1.0'?><rss><description><![CDATA[<meta charset="
                           "'windows-1252'>]]></description></rss>";
    charset_detect (xmlmeta, strlen (xmlmeta), NULL, NULL, name, &bom);
    assert_string_equal (name, "utf-8");
    charset_detect ("plain", 5, NULL, NULL, name, &bom);
    assert_string_equal (name, "utf-8");
    const char le[] = "\xFF\xFE<\0r\0";
    charset_detect (le, 6, NULL, NULL, name, &bom);
    assert_string_equal (name, "utf-16le");
    assert_int_equal (bom, 2);
}

static void
content_type_parameter (void **state)
{
    char name[CHARSET_NAME_MAX];
    assert_true (charset_from_content_type ("text/html;charset=UTF-8", name));
    assert_string_equal (name, "utf-8");
    assert_false (charset_from_content_type ("text/html", name));
    assert_false (charset_from_content_type (NULL, name));
    assert_false (charset_from_content_type ("text/html; charset=", name));
}

static void
windows1252_and_latin1_decode (void **state)
{
    /* « é » ’ – € œ in windows-1252 */
    const char in[] = "\xAB\xA0\xE9\xA0\xBB \x92 \x96 \x80 \x9C";
    char *out = conv (in, strlen (in), "text/html; charset=windows-1252", NULL);
    assert_string_equal (out, "«\u00a0é\u00a0» ’ – € œ");
    free (out);
    /* latin-1 label decodes as windows-1252 (WHATWG) */
    out = conv (in, strlen (in), "text/html; charset=ISO-8859-1", NULL);
    assert_string_equal (out, "«\u00a0é\u00a0» ’ – € œ");
    free (out);
}

static void
wrong_declared_utf8_falls_back_to_1252 (void **state)
{
    const char in[] = "<p>Caf\xE9 \xAB cr\xE8me \xBB</p>";
    char *out = conv (in, strlen (in), "text/html; charset=utf-8", NULL);
    assert_string_equal (out, "<p>Café « crème »</p>");
    free (out);
}

static void
mostly_utf8_gets_replacement_chars (void **state)
{
    const char in[] = "Cybersécurité, État, réseau \xFF fin";
    char *out = conv (in, strlen (in), NULL, NULL);
    assert_string_equal (out, "Cybersécurité, État, réseau \xEF\xBF\xBD fin");
    free (out);
}

static void
invalid_sequences_never_pass (void **state)
{
    static const char *const bad[] = {
        "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "a\0b",
        "\xF8\x88\x80\x80\x80",
    };
    static const size_t lens[] = { 2, 3, 4, 2, 3, 5 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n;
        char *r = charset_utf8_repair (bad[i], lens[i], &n);
        assert_non_null (r);
        assert_true (util_utf8_valid (r, n));
        assert_null (memchr (r, '\0', n));
        free (r);
    }
    size_t n;
    char *r = charset_utf8_repair ("a\0b", 3, &n);
    assert_string_equal (r, "ab");
    free (r);
}

static void
utf16_with_bom (void **state)
{
    const char in[] = "\xFF\xFE" "C\0a\0f\0\xE9\0";
    char *out = conv (in, 10, NULL, NULL);
    assert_string_equal (out, "Café");
    free (out);
    /* odd trailing byte: replaced, not passed on */
    const char odd[] = "\xFE\xFF" "\0C\0";
    out = conv (odd, 5, NULL, NULL);
    assert_string_equal (out, "C\xEF\xBF\xBD");
    free (out);
}

static void
unknown_charset_decodes_as_1252 (void **state)
{
    char *out = conv ("caf\xE9", 4, "text/plain; charset=x-no-such-charset", NULL);
    assert_string_equal (out, "café");
    free (out);
}

static void
undefined_1252_bytes_become_fffd (void **state)
{
    char *out = conv ("a\x81z", 3, "text/plain; charset=windows-1252", NULL);
    assert_true (strcmp (out, "a\xEF\xBF\xBDz") == 0 || strcmp (out, "a\xC2\x81z") == 0);
    free (out);
}

static void
output_cap_is_enforced (void **state)
{
    char *out = NULL;
    size_t n;
    assert_int_equal (charset_to_utf8 ("\xE9\xE9\xE9\xE9", 4, "text/plain; charset=latin1",
                                       NULL, 5, &out, &n), VL_ETOOBIG);
    assert_null (out);
    assert_int_equal (charset_to_utf8 ("abcdef", 6, NULL, NULL, 5, &out, &n), VL_ETOOBIG);
    assert_null (out);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (detect_priority_bom_header_decl_meta),
        cmocka_unit_test (content_type_parameter),
        cmocka_unit_test (windows1252_and_latin1_decode),
        cmocka_unit_test (wrong_declared_utf8_falls_back_to_1252),
        cmocka_unit_test (mostly_utf8_gets_replacement_chars),
        cmocka_unit_test (invalid_sequences_never_pass),
        cmocka_unit_test (utf16_with_bom),
        cmocka_unit_test (unknown_charset_decodes_as_1252),
        cmocka_unit_test (undefined_1252_bytes_become_fffd),
        cmocka_unit_test (output_cap_is_enforced),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
