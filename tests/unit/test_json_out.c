/* test_json_out: the project's one JSON writer (json_out.h): flags, the
 * escapes of unsafe code points, caps, and the same value after a round
 * trip through a JSON parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json_out.h"
#include "util.h"

/* json_out_write: "/" escaped only with
 * JSON_OUT_SLASH, unsafe code points (DEL, C1, bidi, U+2028, a
 * noncharacter past the BMP) as \uXXXX only with JSON_OUT_SAFE, other
 * UTF-8 raw; a text past the buffer's max leaves it unchanged. */
static void
json_out_flags_escape_what_they_name (void **state)
{
    (void) state;
    json_t *o = json_pack ("{s:s, s:i}", "s",
                           "a/b \x7f \xc2\x85 \xe2\x80\xae \xe2\x80\xa8 \xf0\x9f\xbf\xbf é \"\n", "n", 7);
    assert_non_null (o);
    buf_t b;
    buf_init (&b, 4096);
    assert_int_equal (json_out_write (&b, o, 0), VL_OK);
    assert_string_equal (b.data, "{\"s\":\"a/b \x7f \xc2\x85 \xe2\x80\xae \xe2\x80\xa8 "
                                 "\xf0\x9f\xbf\xbf é \\\"\\n\",\"n\":7}");
    buf_reset (&b);
    assert_int_equal (json_out_write (&b, o, JSON_OUT_SLASH), VL_OK);
    assert_non_null (strstr (b.data, "\"a\\/b "));
    buf_reset (&b);
    assert_int_equal (json_out_write (&b, o, JSON_OUT_SAFE), VL_OK);
    assert_string_equal (b.data, "{\"s\":\"a/b \\u007F \\u0085 \\u202E \\u2028 "
                                 "\\uD83F\\uDFFF é \\\"\\n\",\"n\":7}");
    json_t *back = json_loads (b.data, 0, NULL);     /* the same value */
    assert_non_null (back);
    assert_true (json_equal (back, o));
    json_decref (back);
    /* caps: a buffer too small for the escaped text stays as it was */
    size_t full = b.len;
    buf_t small;
    buf_init (&small, full + 3);
    assert_int_equal (buf_puts (&small, "abc"), VL_OK);
    assert_int_equal (json_out_write (&small, o, JSON_OUT_SAFE), VL_OK);
    buf_reset (&small);
    assert_int_equal (buf_puts (&small, "abcd"), VL_OK);
    assert_int_equal (json_out_write (&small, o, JSON_OUT_SAFE), VL_ETOOBIG);
    assert_int_equal (small.len, 4);
    assert_string_equal (small.data, "abcd");
    buf_free (&small);
    buf_init (&small, 8);
    assert_int_equal (buf_puts (&small, "abcd"), VL_OK);
    assert_int_equal (json_out_write (&small, o, 0), VL_ETOOBIG);
    assert_string_equal (small.data, "abcd");
    buf_free (&small);
    buf_free (&b);
    json_decref (o);
}

/* Every unsafe code point (util_cp_unsafe) from U+007F to U+10FFFF comes
 * out as an escape with JSON_OUT_SAFE, every other one raw; the text always
 * parses back to the same string. */
static void
json_out_safe_escapes_exactly_the_unsafe_code_points (void **state)
{
    (void) state;
    buf_t b;
    buf_init (&b, 64);
    size_t escaped = 0;
    for (uint32_t cp = 0x7F; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;                           /* not encodable in UTF-8 */
        char u[5] = "";
        size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (cp < 0x80) {
            u[0] = (char) cp;
            n = 1;
        } else if (n == 2) {
            u[0] = (char) (0xC0 | (cp >> 6));
            u[1] = (char) (0x80 | (cp & 0x3F));
        } else if (n == 3) {
            u[0] = (char) (0xE0 | (cp >> 12));
            u[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char) (0x80 | (cp & 0x3F));
        } else {
            u[0] = (char) (0xF0 | (cp >> 18));
            u[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
            u[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
            u[3] = (char) (0x80 | (cp & 0x3F));
        }
        json_t *s = json_stringn (u, n);
        assert_non_null (s);
        buf_reset (&b);
        vl_err_t rc = json_out_write (&b, s, JSON_OUT_SAFE);
        if (rc != VL_OK)
            fail_msg ("U+%04X: %s", (unsigned) cp, vl_strerror (rc));
        bool esc = strstr (b.data, "\\u") != NULL;
        if (esc != util_cp_unsafe (cp))
            fail_msg ("U+%04X: %s", (unsigned) cp, b.data);
        escaped += esc;
        if (esc || cp % 4093 == 0) {            /* round trip (sampled when raw) */
            json_t *back = json_loads (b.data, JSON_DECODE_ANY, NULL);
            if (!back || !json_equal (back, s))
                fail_msg ("U+%04X does not round-trip: %s", (unsigned) cp, b.data);
            json_decref (back);
        }
        json_decref (s);
    }
    assert_true (escaped > 100);
    buf_free (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (json_out_flags_escape_what_they_name),
        cmocka_unit_test (json_out_safe_escapes_exactly_the_unsafe_code_points),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
