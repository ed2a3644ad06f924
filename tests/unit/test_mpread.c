/* test_mpread: the strict msgpack reader that reads hostile bytes first
 * (events, replay requests, heartbeats). Every type and length form, every
 * length or count past the end, the depth limit of mpread_skip and the
 * error paths of each public function. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "mpread.h"

/* A reader over the bytes of a literal array (sizeof, not strlen: the
 * bytes may hold NULs). */
#define READER(r, ...)                                                   \
    static const unsigned char r##_bytes[] = { __VA_ARGS__ };            \
    mpread_t r;                                                          \
    mpread_init (&r, r##_bytes, sizeof r##_bytes)

/* ---- init / done ------------------------------------------------------ */

static void
init_and_done (void **state)
{
    mpread_t r;
    mpread_init (&r, "", 0);
    assert_true (mpread_done (&r));
    READER (one, 0x01);
    assert_false (mpread_done (&one));
    uint64_t v;
    assert_true (mpread_uint (&one, &v));
    assert_true (mpread_done (&one));
}

static void
empty_input_fails_everywhere (void **state)
{
    mpread_t r;
    uint32_t n;
    const char *s;
    size_t len;
    uint64_t u;
    int64_t i;
    bool b;
    mpread_init (&r, "", 0);
    assert_false (mpread_map (&r, &n));
    assert_false (mpread_array (&r, &n));
    assert_false (mpread_str (&r, &s, &len));
    assert_false (mpread_uint (&r, &u));
    assert_false (mpread_int (&r, &i));
    assert_false (mpread_nil (&r));
    assert_false (mpread_bool (&r, &b));
    assert_false (mpread_skip (&r, 8));
}

/* ---- strings ------------------------------------------------------------ */

static void
str_fixstr (void **state)
{
    const char *s;
    size_t len;
    READER (r, 0xa3, 'a', 'b', 'c', 0xa0);
    assert_true (mpread_str (&r, &s, &len));
    assert_int_equal (len, 3);
    assert_memory_equal (s, "abc", 3);
    assert_true (mpread_str (&r, &s, &len));   /* empty fixstr */
    assert_int_equal (len, 0);
    assert_true (mpread_done (&r));
    READER (max, 0xbf, [1 ... 31] = 'x');
    assert_true (mpread_str (&max, &s, &len));
    assert_int_equal (len, 31);
    assert_true (mpread_done (&max));
}

static void
str_8_16_32 (void **state)
{
    const char *s;
    size_t len;
    READER (r8, 0xd9, 2, 'h', 'i');
    assert_true (mpread_str (&r8, &s, &len));
    assert_int_equal (len, 2);
    assert_memory_equal (s, "hi", 2);
    assert_true (mpread_done (&r8));
    READER (r16, 0xda, 0x01, 0x00, [3 ... 258] = 'y');
    assert_true (mpread_str (&r16, &s, &len));
    assert_int_equal (len, 256);
    assert_true (mpread_done (&r16));
    READER (r32, 0xdb, 0, 0, 0, 3, 'a', 0, 'b');   /* a NUL is the caller's business */
    assert_true (mpread_str (&r32, &s, &len));
    assert_int_equal (len, 3);
    assert_memory_equal (s, "a\0b", 3);
    assert_true (mpread_done (&r32));
}

static void
str_lengths_past_the_end (void **state)
{
    const char *s;
    size_t len;
    READER (fix, 0xa5, 'a', 'b');
    assert_false (mpread_str (&fix, &s, &len));
    READER (s8, 0xd9, 3, 'a', 'b');
    assert_false (mpread_str (&s8, &s, &len));
    READER (s8h, 0xd9);                              /* no length byte */
    assert_false (mpread_str (&s8h, &s, &len));
    READER (s16h, 0xda, 0x00);                       /* half a length */
    assert_false (mpread_str (&s16h, &s, &len));
    READER (s32, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a');
    assert_false (mpread_str (&s32, &s, &len));
    READER (s32h, 0xdb, 0, 0, 1);
    assert_false (mpread_str (&s32h, &s, &len));
}

static void
str_refuses_other_types (void **state)
{
    static const unsigned char tags[] = {
        0x00, 0x7f, 0xe0, 0xc0, 0xc2, 0xc3, 0x80, 0x90,
        0xc4, 0xc5, 0xc6,                 /* bin is not str */
        0xc7, 0xd4, 0xd8,                 /* ext */
        0xca, 0xcb, 0xcc, 0xd0, 0xdc, 0xde, 0xc1,
    };
    for (size_t i = 0; i < sizeof tags; i++) {
        unsigned char b[8] = { tags[i], 0, 0, 0, 0, 0, 0, 0 };
        mpread_t r;
        const char *s;
        size_t len;
        mpread_init (&r, b, sizeof b);
        assert_false (mpread_str (&r, &s, &len));
    }
}

/* ---- containers ------------------------------------------------------- */

static void
map_forms (void **state)
{
    uint32_t n;
    READER (fix0, 0x80);
    assert_true (mpread_map (&fix0, &n));
    assert_int_equal (n, 0);
    assert_true (mpread_done (&fix0));
    READER (fix, 0x81, 0xa1, 'k', 0x01);
    assert_true (mpread_map (&fix, &n));
    assert_int_equal (n, 1);
    READER (fix15, 0x8f, [1 ... 30] = 0x00);
    assert_true (mpread_map (&fix15, &n));
    assert_int_equal (n, 15);
    READER (m16, 0xde, 0x00, 0x02, 1, 2, 3, 4);
    assert_true (mpread_map (&m16, &n));
    assert_int_equal (n, 2);
    READER (m32, 0xdf, 0, 0, 0, 1, 0xc0, 0xc0);
    assert_true (mpread_map (&m32, &n));
    assert_int_equal (n, 1);
}

static void
map_counts_past_the_end (void **state)
{
    uint32_t n;
    READER (fix, 0x82, 1, 2, 3);           /* 2 pairs need 4 bytes at least */
    assert_false (mpread_map (&fix, &n));
    READER (m16, 0xde, 0xff, 0xff, 1, 2);
    assert_false (mpread_map (&m16, &n));
    READER (m32, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00);
    assert_false (mpread_map (&m32, &n));
    READER (m16h, 0xde, 0x00);
    assert_false (mpread_map (&m16h, &n));
    READER (m32h, 0xdf, 0, 0, 0);
    assert_false (mpread_map (&m32h, &n));
    READER (arr, 0x90);                    /* an array is not a map */
    assert_false (mpread_map (&arr, &n));
    READER (str, 0xa0);
    assert_false (mpread_map (&str, &n));
}

static void
array_forms (void **state)
{
    uint32_t n;
    READER (fix0, 0x90);
    assert_true (mpread_array (&fix0, &n));
    assert_int_equal (n, 0);
    READER (fix15, 0x9f, [1 ... 15] = 0x01);
    assert_true (mpread_array (&fix15, &n));
    assert_int_equal (n, 15);
    READER (a16, 0xdc, 0x00, 0x03, 1, 2, 3);
    assert_true (mpread_array (&a16, &n));
    assert_int_equal (n, 3);
    READER (a32, 0xdd, 0, 0, 0, 2, 1, 2);
    assert_true (mpread_array (&a32, &n));
    assert_int_equal (n, 2);
}

static void
array_counts_past_the_end (void **state)
{
    uint32_t n;
    READER (fix, 0x93, 1, 2);
    assert_false (mpread_array (&fix, &n));
    READER (a16, 0xdc, 0x01, 0x00, 1);
    assert_false (mpread_array (&a16, &n));
    /* "an array of 4 billion" in 5 bytes: refused before anything is
     * sized from the count */
    READER (a32, 0xdd, 0xff, 0xff, 0xff, 0xff);
    assert_false (mpread_array (&a32, &n));
    READER (a16h, 0xdc);
    assert_false (mpread_array (&a16h, &n));
    READER (map, 0x80);
    assert_false (mpread_array (&map, &n));
}

/* ---- integers ------------------------------------------------------- */

static void
uint_every_width (void **state)
{
    uint64_t v;
    READER (r, 0x00, 0x7f, 0xcc, 0xff, 0xcd, 0x12, 0x34, 0xce, 0xde, 0xad, 0xbe, 0xef,
            0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xd0, 0x7f, 0xd1, 0x7f, 0xff, 0xd2, 0x00, 0x00, 0x00, 0x05,
            0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    const uint64_t want[] = { 0, 127, 0xff, 0x1234, 0xdeadbeef, UINT64_MAX,
                              127, 0x7fff, 5, INT64_MAX };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true (mpread_uint (&r, &v));
        assert_true (v == want[i]);
    }
    assert_true (mpread_done (&r));
}

static void
uint_refuses_negative_and_others (void **state)
{
    static const unsigned char bad[][9] = {
        { 0xff },                         /* -1, negative fixint */
        { 0xe0 },                         /* -32 */
        { 0xd0, 0x80 },                   /* int8 -128 */
        { 0xd1, 0xff, 0xff },             /* int16 -1 */
        { 0xd2, 0x80, 0, 0, 0 },          /* int32 min */
        { 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0xc0 }, { 0xc2 }, { 0xa0 }, { 0x90 }, { 0x80 },
        { 0xca, 0, 0, 0, 0 },             /* float32 */
        { 0xcb, 0, 0, 0, 0, 0, 0, 0, 0 }, /* float64 */
        { 0xd4, 1, 0 },                   /* fixext 1 */
        { 0xc1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpread_t r;
        uint64_t v;
        mpread_init (&r, bad[i], sizeof bad[i]);
        assert_false (mpread_uint (&r, &v));
    }
}

static void
int_every_width_incl_negative (void **state)
{
    int64_t v;
    READER (r, 0x05, 0xff, 0xe0, 0xd0, 0x80, 0xd1, 0x80, 0x00, 0xd2, 0xff, 0xff, 0xff, 0xfe,
            0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xcc, 0xc8, 0xcd, 0xff, 0xff,
            0xce, 0xff, 0xff, 0xff, 0xff, 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xd0, 0x7f);
    const int64_t want[] = { 5, -1, -32, -128, -32768, -2, INT64_MIN, 200, 65535,
                             4294967295, INT64_MAX, 127 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true (mpread_int (&r, &v));
        assert_true (v == want[i]);
    }
    assert_true (mpread_done (&r));
}

static void
int_refuses_overflow_truncation_and_others (void **state)
{
    static const unsigned char bad[][9] = {
        { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 },   /* uint64 above INT64_MAX */
        { 0xc0 }, { 0xc3 }, { 0xa1 }, { 0x91 }, { 0x81 },
        { 0xca, 0, 0, 0, 0 }, { 0xcb, 0, 0, 0, 0, 0, 0, 0, 0 },
        { 0xd5, 1, 0, 0 },                      /* fixext 2 */
        { 0xc7, 0, 1 },                         /* ext8 */
        { 0xc1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpread_t r;
        int64_t v;
        mpread_init (&r, bad[i], sizeof bad[i]);
        assert_false (mpread_int (&r, &v));
    }
    /* a width tag with too few bytes after it, signed and unsigned */
    static const unsigned char cut[][8] = {
        { 0xcc }, { 0xcd, 0 }, { 0xce, 0, 0, 0 }, { 0xcf, 0, 0, 0, 0, 0, 0, 0 },
        { 0xd0 }, { 0xd1, 0 }, { 0xd2, 0, 0, 0 }, { 0xd3, 0, 0, 0, 0, 0, 0, 0 },
    };
    static const size_t cutlen[] = { 1, 2, 4, 8, 1, 2, 4, 8 };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        mpread_t r;
        int64_t v;
        uint64_t u;
        mpread_init (&r, cut[i], cutlen[i]);
        assert_false (mpread_int (&r, &v));
        mpread_init (&r, cut[i], cutlen[i]);
        assert_false (mpread_uint (&r, &u));
    }
}

/* ---- nil, bool -------------------------------------------------------- */

static void
nil_and_bool (void **state)
{
    bool b = false;
    READER (r, 0xc0, 0xc3, 0xc2);
    assert_true (mpread_nil (&r));
    assert_false (mpread_nil (&r));          /* true is not nil: nothing read */
    assert_true (mpread_bool (&r, &b));
    assert_true (b);
    assert_false (mpread_nil (&r));
    assert_true (mpread_bool (&r, &b));
    assert_false (b);
    assert_true (mpread_done (&r));

    READER (other, 0x00);
    assert_false (mpread_nil (&other));
    assert_false (mpread_bool (&other, &b));
    assert_false (mpread_done (&other));    /* neither consumed the int */
    uint64_t v;
    assert_true (mpread_uint (&other, &v));
    assert_true (mpread_done (&other));
}

/* ---- skip ------------------------------------------------------------- */

/* Asserts that mpread_skip takes exactly LEN bytes of DATA. */
static void
skips_all (const unsigned char *data, size_t len)
{
    mpread_t r;
    mpread_init (&r, data, len);
    assert_true (mpread_skip (&r, 0));
    assert_true (mpread_done (&r));
    /* and every cut of it is refused */
    for (size_t cut = 0; cut < len; cut++) {
        mpread_init (&r, data, cut);
        assert_false (mpread_skip (&r, 0));
    }
}

#define SKIPS_ALL(...)                                                    \
    do {                                                                  \
        static const unsigned char b_[] = { __VA_ARGS__ };                \
        skips_all (b_, sizeof b_);                                        \
    } while (0)

static void
skip_every_scalar (void **state)
{
    SKIPS_ALL (0x00);
    SKIPS_ALL (0x7f);
    SKIPS_ALL (0xe0);
    SKIPS_ALL (0xff);
    SKIPS_ALL (0xc0);
    SKIPS_ALL (0xc2);
    SKIPS_ALL (0xc3);
    SKIPS_ALL (0xcc, 1);
    SKIPS_ALL (0xcd, 1, 2);
    SKIPS_ALL (0xce, 1, 2, 3, 4);
    SKIPS_ALL (0xcf, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS_ALL (0xd0, 1);
    SKIPS_ALL (0xd1, 1, 2);
    SKIPS_ALL (0xd2, 1, 2, 3, 4);
    SKIPS_ALL (0xd3, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS_ALL (0xca, 0x3f, 0x80, 0, 0);                     /* float32 1.0 */
    SKIPS_ALL (0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);         /* float64 1.0 */
    SKIPS_ALL (0xa2, 'o', 'k');
    SKIPS_ALL (0xd9, 1, 'x');
    SKIPS_ALL (0xda, 0, 1, 'x');
    SKIPS_ALL (0xdb, 0, 0, 0, 1, 'x');
    SKIPS_ALL (0xc4, 2, 0xff, 0x00);                        /* bin8 */
    SKIPS_ALL (0xc5, 0, 1, 0xff);                           /* bin16 */
    SKIPS_ALL (0xc6, 0, 0, 0, 1, 0xff);                     /* bin32 */
    /* ext is skipped whole here (the event rules refuse it, see
     * test_event_validate): fixext 1/2/4/8/16, ext 8/16/32 */
    SKIPS_ALL (0xd4, 7, 1);
    SKIPS_ALL (0xd5, 7, 1, 2);
    SKIPS_ALL (0xd6, 7, 1, 2, 3, 4);
    SKIPS_ALL (0xd7, 7, 1, 2, 3, 4, 5, 6, 7, 8);
    SKIPS_ALL (0xd8, 7, [2 ... 17] = 1);
    SKIPS_ALL (0xc7, 1, 7, 1);
    SKIPS_ALL (0xc8, 0, 1, 7, 1);
    SKIPS_ALL (0xc9, 0, 0, 0, 1, 7, 1);
}

static void
skip_refuses_never_used_tag_and_long_lengths (void **state)
{
    mpread_t r;
    READER (c1, 0xc1);
    assert_false (mpread_skip (&c1, 8));
    READER (bin32, 0xc6, 0xff, 0xff, 0xff, 0xff, 0);
    assert_false (mpread_skip (&bin32, 8));
    READER (ext32, 0xc9, 0xff, 0xff, 0xff, 0xff, 1, 0);
    assert_false (mpread_skip (&ext32, 8));
    READER (str32, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a');
    assert_false (mpread_skip (&str32, 8));
    READER (arr32, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01);
    assert_false (mpread_skip (&arr32, 8));
    READER (map32, 0xdf, 0x00, 0x01, 0x00, 0x00, 0x01, 0x01);
    assert_false (mpread_skip (&map32, 8));
    mpread_init (&r, "\x01", 1);
    assert_false (mpread_skip (&r, -1));   /* negative depth */
}

static void
skip_containers (void **state)
{
    SKIPS_ALL (0x90);
    SKIPS_ALL (0x80);
    SKIPS_ALL (0xdc, 0, 0);
    SKIPS_ALL (0xdd, 0, 0, 0, 0);
    SKIPS_ALL (0xde, 0, 0);
    SKIPS_ALL (0xdf, 0, 0, 0, 0);
    /* containers with content need depth 1 (skips_all uses 0: refused) */
    static const unsigned char m[] = { 0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0xc0, 0xc3 };
    mpread_t r;
    mpread_init (&r, m, sizeof m);
    assert_false (mpread_skip (&r, 1));    /* the array inside needs depth 2 */
    mpread_init (&r, m, sizeof m);
    assert_true (mpread_skip (&r, 2));
    assert_true (mpread_done (&r));
    for (size_t cut = 0; cut < sizeof m; cut++) {
        mpread_init (&r, m, cut);
        assert_false (mpread_skip (&r, 2));
    }
    /* trailing bytes are left for the caller to see */
    static const unsigned char two[] = { 0x91, 0x01, 0x02 };
    mpread_init (&r, two, sizeof two);
    assert_true (mpread_skip (&r, 1));
    assert_false (mpread_done (&r));
}

static void
skip_depth_limit (void **state)
{
    /* D nested arrays around one int need depth D; D - 1 is refused */
    unsigned char b[40];
    for (int d = 0; d <= 32; d++) {
        memset (b, 0x91, (size_t) d);
        b[d] = 0x2a;
        mpread_t r;
        mpread_init (&r, b, (size_t) d + 1);
        assert_true (mpread_skip (&r, d));
        assert_true (mpread_done (&r));
        if (d > 0) {
            mpread_init (&r, b, (size_t) d + 1);
            assert_false (mpread_skip (&r, d - 1));
        }
    }
    /* the same for maps: {"": {"": 1}} */
    static const unsigned char m[] = { 0x81, 0xa0, 0x81, 0xa0, 0x01 };
    mpread_t r;
    mpread_init (&r, m, sizeof m);
    assert_false (mpread_skip (&r, 1));
    mpread_init (&r, m, sizeof m);
    assert_true (mpread_skip (&r, 2));
    /* an empty container needs no depth below it */
    mpread_init (&r, (const unsigned char[]) { 0x91, 0x90 }, 2);
    assert_true (mpread_skip (&r, 1));
}

/* ---- mpread_event_id ------------------------------------------------- */

static void
event_id_found (void **state)
{
    const char *id;
    size_t len;
    static const unsigned char first[] = { 0x81, 0xa2, 'i', 'd', 0xa3, 'a', 'b', 'c' };
    assert_true (mpread_event_id (first, sizeof first, &id, &len));
    assert_int_equal (len, 3);
    assert_memory_equal (id, "abc", 3);
    /* after other keys, nested values skipped */
    static const unsigned char later[] = {
        0x83, 0xa1, 'v', 0x01, 0xa1, 'x', 0x92, 0x81, 0xa0, 0xc0, 0xc4, 1, 0,
        0xa2, 'i', 'd', 0xd9, 2, 'z', 'z',
    };
    assert_true (mpread_event_id (later, sizeof later, &id, &len));
    assert_int_equal (len, 2);
    assert_memory_equal (id, "zz", 2);
}

static void
event_id_errors (void **state)
{
    const char *id;
    size_t len;
    assert_false (mpread_event_id ("", 0, &id, &len));
    static const unsigned char notmap[] = { 0x91, 0xa2, 'i', 'd' };
    assert_false (mpread_event_id (notmap, sizeof notmap, &id, &len));
    static const unsigned char noid[] = { 0x81, 0xa1, 'v', 0x01 };
    assert_false (mpread_event_id (noid, sizeof noid, &id, &len));
    static const unsigned char notstr[] = { 0x81, 0xa2, 'i', 'd', 0x01 };
    assert_false (mpread_event_id (notstr, sizeof notstr, &id, &len));
    static const unsigned char keynotstr[] = { 0x82, 0x01, 0x01, 0xa2, 'i', 'd', 0xa0 };
    assert_false (mpread_event_id (keynotstr, sizeof keynotstr, &id, &len));
    static const unsigned char cutval[] = { 0x82, 0xa1, 'x', 0xd9, 9, 'a', 0xa2, 'i', 'd' };
    assert_false (mpread_event_id (cutval, sizeof cutval, &id, &len));
    static const unsigned char cutid[] = { 0x81, 0xa2, 'i', 'd', 0xa5, 'a' };
    assert_false (mpread_event_id (cutid, sizeof cutid, &id, &len));
    static const unsigned char idd[] = { 0x81, 0xa3, 'i', 'd', 'd', 0xa0 };   /* not "id" */
    assert_false (mpread_event_id (idd, sizeof idd, &id, &len));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (init_and_done),
        cmocka_unit_test (empty_input_fails_everywhere),
        cmocka_unit_test (str_fixstr),
        cmocka_unit_test (str_8_16_32),
        cmocka_unit_test (str_lengths_past_the_end),
        cmocka_unit_test (str_refuses_other_types),
        cmocka_unit_test (map_forms),
        cmocka_unit_test (map_counts_past_the_end),
        cmocka_unit_test (array_forms),
        cmocka_unit_test (array_counts_past_the_end),
        cmocka_unit_test (uint_every_width),
        cmocka_unit_test (uint_refuses_negative_and_others),
        cmocka_unit_test (int_every_width_incl_negative),
        cmocka_unit_test (int_refuses_overflow_truncation_and_others),
        cmocka_unit_test (nil_and_bool),
        cmocka_unit_test (skip_every_scalar),
        cmocka_unit_test (skip_refuses_never_used_tag_and_long_lengths),
        cmocka_unit_test (skip_containers),
        cmocka_unit_test (skip_depth_limit),
        cmocka_unit_test (event_id_found),
        cmocka_unit_test (event_id_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
