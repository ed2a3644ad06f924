/* test_event_validate: event_validate (in place, no allocation) must give
 * exactly the verdict of event_decode (same accept/reject, same error code)
 * on the fuzz corpus, on hand-made edge cases and on many deterministic
 * mutations of both; on success the view must match the decoded event.
 * The strict rules for unknown and repeated keys are also checked against
 * their expected verdicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>
#include <msgpack.h>
#include "event.h"

#define CORPUS FIXTURES_DIR "/../fuzz/corpus/fuzz_event"
#define MUTATIONS 3000

static unsigned long checked;

static bool
view_is (const char *p, size_t len, const char *s)
{
    return s && strlen (s) == len && memcmp (p, s, len) == 0;
}

/* Asserts that both functions agree on DATA. */
static void
agree (const void *data, size_t len)
{
    event_t e;
    event_view_t v;
    vl_err_t rd = event_decode (data, len, &e);
    vl_err_t rv = event_validate (data, len, &v);
    if (rd != rv) {
        fprintf (stderr, "disagree on %zu bytes: decode %d validate %d:", len, rd, rv);
        for (size_t i = 0; i < len && i < 96; i++)
            fprintf (stderr, " %02x", ((const unsigned char *) data)[i]);
        fprintf (stderr, "\n");
    }
    assert_int_equal (rd, rv);
    if (rd == VL_OK) {
        assert_true (view_is (v.id, v.id_len, e.id));
        assert_true (view_is (v.type, v.type_len, e.type));
        assert_true (view_is (v.source, v.source_len, e.source));
        assert_true (view_is (v.topic, v.topic_len, e.topic));
        assert_int_equal (v.v, e.v);
        assert_int_equal (v.ntags, e.ntags);
    }
    else
        assert_null (v.id);
    event_clear (&e);
    checked++;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
next (void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One random mutation of SRC (LEN bytes) into DST (capacity LEN + 16);
 * returns the new length. */
static size_t
mutate (const unsigned char *src, size_t len, unsigned char *dst)
{
    static const unsigned char tags[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                          0xc0, 0xc1, 0xc2, 0xc4, 0xc7, 0xca, 0xcc, 0xcf,
                                          0xd0, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc,
                                          0xdd, 0xde, 0xdf, 0xe0, 0xff, 0xf0, 0xed, 0xc3 };
    memcpy (dst, src, len);
    if (len == 0)
        return 0;
    size_t at = next () % len;
    switch (next () % 6) {
    case 0: dst[at] ^= (unsigned char) (1u << (next () % 8)); return len;
    case 1: dst[at] = tags[next () % sizeof tags]; return len;
    case 2: dst[at] = (unsigned char) next (); return len;
    case 3: return at;                                   /* truncate */
    case 4:                                              /* delete one byte */
        memmove (dst + at, dst + at + 1, len - at - 1);
        return len - 1;
    default:                                             /* insert one byte */
        memmove (dst + at + 1, dst + at, len - at);
        dst[at] = tags[next () % sizeof tags];
        return len + 1;
    }
}

static void
agree_with_mutations (const unsigned char *data, size_t len, int rounds)
{
    agree (data, len);
    unsigned char *a = malloc (len + 16), *b = malloc (len + 16);
    assert_non_null (a);
    assert_non_null (b);
    for (int i = 0; i < rounds; i++) {
        size_t n = mutate (data, len, a);
        agree (a, n);
        size_t m = mutate (a, n, b);   /* and a second one on top */
        agree (b, m);
    }
    free (a);
    free (b);
}

static void
corpus_and_mutations_agree (void **state)
{
    (void) state;
    DIR *d = opendir (CORPUS);
    assert_non_null (d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir (d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf (path, sizeof path, "%s/%s", CORPUS, de->d_name);
        FILE *f = fopen (path, "rb");
        assert_non_null (f);
        unsigned char *data = malloc (EVENT_MAX_BYTES + 2);
        assert_non_null (data);
        size_t len = fread (data, 1, EVENT_MAX_BYTES + 1, f);
        fclose (f);
        agree_with_mutations (data, len, len > 4096 ? 50 : MUTATIONS);
        free (data);
        files++;
    }
    closedir (d);
    assert_true (files >= 5);
}

/* ---- hand-made edge cases ------------------------------------------ */

typedef void (*fill_fn) (msgpack_packer *pk);

static void
kv (msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body (pk, k, strlen (k));
    msgpack_pack_str_with_body (pk, v, strlen (v));
}

static void
key (msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body (pk, k, strlen (k));
}

static void
required (msgpack_packer *pk)
{
    key (pk, "v");
    msgpack_pack_uint8 (pk, 1);
    kv (pk, "id", "0123456789abcdef0123456789abcdef");
    kv (pk, "type", "new");
    kv (pk, "source", "s");
    kv (pk, "topic", "t.x");
}

static void f_none (msgpack_packer *pk) { (void) pk; }
static void f_nil_then_dup (msgpack_packer *pk)   /* nil, then a value: accepted */
{
    key (pk, "title"); msgpack_pack_nil (pk);
    kv (pk, "title", "a");
    key (pk, "title"); msgpack_pack_nil (pk);
}
static void f_dup_title (msgpack_packer *pk) { kv (pk, "title", "a"); kv (pk, "title", "b"); }
static void f_dup_id (msgpack_packer *pk) { kv (pk, "id", "0123456789abcdef0123456789abcdef"); }
static void f_empty_tags_twice (msgpack_packer *pk)
{
    key (pk, "tags"); msgpack_pack_array (pk, 0);
    key (pk, "tags"); msgpack_pack_array (pk, 1); msgpack_pack_str_with_body (pk, "x", 1);
}
static void f_tags_twice (msgpack_packer *pk)
{
    key (pk, "tags"); msgpack_pack_array (pk, 1); msgpack_pack_str_with_body (pk, "x", 1);
    key (pk, "tags"); msgpack_pack_array (pk, 0);
}
static void f_tag_nil (msgpack_packer *pk)
{
    key (pk, "tags"); msgpack_pack_array (pk, 1); msgpack_pack_nil (pk);
}
static void f_tag_bad_utf8 (msgpack_packer *pk)
{
    key (pk, "tags"); msgpack_pack_array (pk, 1); msgpack_pack_str_with_body (pk, "\xc3", 1);
}
static void f_many_tags (msgpack_packer *pk)
{
    key (pk, "tags");
    msgpack_pack_array (pk, EVENT_MAX_TAGS + 1);
    for (int i = 0; i <= EVENT_MAX_TAGS; i++)
        msgpack_pack_str_with_body (pk, "t", 1);
}
static void f_dup_v (msgpack_packer *pk) { key (pk, "v"); msgpack_pack_int8 (pk, 1); }
static void f_ints (msgpack_packer *pk)
{
    key (pk, "published"); msgpack_pack_int64 (pk, -5);
    key (pk, "detected"); msgpack_pack_int32 (pk, 7);
    key (pk, "detected"); msgpack_pack_uint64 (pk, 9);   /* repeat allowed */
}
static void f_neg_detected (msgpack_packer *pk) { key (pk, "detected"); msgpack_pack_int8 (pk, -1); }
static void f_big_published (msgpack_packer *pk)
{
    key (pk, "published"); msgpack_pack_uint64 (pk, (uint64_t) INT64_MAX + 1);
}
static void f_dup_published (msgpack_packer *pk)
{
    key (pk, "published"); msgpack_pack_int8 (pk, 1);
    key (pk, "published"); msgpack_pack_int8 (pk, 1);
}
static void f_float_detected (msgpack_packer *pk) { key (pk, "detected"); msgpack_pack_double (pk, 1); }
static void f_bin_title (msgpack_packer *pk)
{
    key (pk, "title"); msgpack_pack_bin_with_body (pk, "a", 1);
}
static void f_bin_key (msgpack_packer *pk)
{
    msgpack_pack_bin_with_body (pk, "title", 5); msgpack_pack_str_with_body (pk, "a", 1);
}
static void f_nul (msgpack_packer *pk) { key (pk, "url"); msgpack_pack_str_with_body (pk, "a\0b", 3); }
/* A rule error (bad UTF-8) first, then a structural error (too deep):
 * event_decode checks the structure first, so EPARSE must win. */
static void f_rule_then_structure (msgpack_packer *pk)
{
    key (pk, "title"); msgpack_pack_str_with_body (pk, "\xff", 1);
    key (pk, "future");
    for (int i = 0; i < EVENT_MAX_DEPTH + 1; i++)
        msgpack_pack_array (pk, 1);
    msgpack_pack_nil (pk);
}
static void f_deep_ok (msgpack_packer *pk)
{
    key (pk, "future");
    for (int i = 0; i < EVENT_MAX_DEPTH - 1; i++)
        msgpack_pack_array (pk, 1);
    msgpack_pack_map (pk, 0);
}
static void f_unknown (msgpack_packer *pk)
{
    key (pk, "zz");
    msgpack_pack_array (pk, 3);
    msgpack_pack_ext_with_body (pk, "abc", 3, 5);
    msgpack_pack_float (pk, 1.5f);
    msgpack_pack_map (pk, 1); msgpack_pack_nil (pk); msgpack_pack_true (pk);
    msgpack_pack_nil (pk); msgpack_pack_nil (pk);   /* nil key: not a string */
}
static void f_long_text (msgpack_packer *pk)
{
    char s[600];
    memset (s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    memcpy (s + 300, "\xe2\x80\x99", 3);
    kv (pk, "summary", s);
    s[450] = (char) 0x80;
    kv (pk, "diff", s);
}

/* ---- unknown keys and repeated keys (issue #15, item 4) ------------ */

static void f_unknown_bad_utf8 (msgpack_packer *pk)   /* str a3 c3 28 41 */
{
    key (pk, "x"); msgpack_pack_str_with_body (pk, "\xc3\x28\x41", 3);
}
static void f_unknown_nul (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_str_with_body (pk, "a\0b", 3);
}
static void f_unknown_bad_key (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "k\xff", 2); msgpack_pack_nil (pk);
}
static void f_unknown_deep_bad_utf8 (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_array (pk, 2); msgpack_pack_nil (pk);
    msgpack_pack_map (pk, 1); key (pk, "k"); msgpack_pack_array (pk, 1);
    msgpack_pack_str_with_body (pk, "\xed\xa0\x80", 3);   /* surrogate */
}
static void f_unknown_map_bad_key (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "\xc3", 1); msgpack_pack_nil (pk);
}
static void f_unknown_int_key (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_map (pk, 1); msgpack_pack_int (pk, 1); msgpack_pack_nil (pk);
}
static void f_unknown_bin_key (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_map (pk, 1);
    msgpack_pack_bin_with_body (pk, "k", 1); msgpack_pack_nil (pk);
}
static void f_unknown_dup_key (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_map (pk, 3);
    kv (pk, "a", "1"); kv (pk, "b", "2"); kv (pk, "a", "3");
}
static void f_top_dup_unknown (msgpack_packer *pk) { kv (pk, "x", "1"); kv (pk, "x", "1"); }
static void f_dup_detected (msgpack_packer *pk)
{
    key (pk, "detected"); msgpack_pack_int32 (pk, 7);
    key (pk, "detected"); msgpack_pack_int32 (pk, 7);
}
static void f_nil_then_title (msgpack_packer *pk)
{
    key (pk, "title"); msgpack_pack_nil (pk);
    kv (pk, "title", "a");
}
static void f_unknown_ext (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_ext_with_body (pk, "\0\0\0", 3, -1);   /* bad timestamp */
}
static void f_unknown_fixext (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_array (pk, 1); msgpack_pack_ext_with_body (pk, "abcd", 4, 1);
}
static void pack_map_of (msgpack_packer *pk, int n)
{
    msgpack_pack_map (pk, (uint32_t) n);
    for (int i = 0; i < n; i++) {
        char k[16];
        snprintf (k, sizeof k, "k%d", i);
        key (pk, k);
        msgpack_pack_int (pk, i);
    }
}
static void f_unknown_map_max (msgpack_packer *pk) { key (pk, "x"); pack_map_of (pk, EVENT_MAX_KEYS); }
static void f_unknown_map_over (msgpack_packer *pk)
{
    key (pk, "x"); pack_map_of (pk, EVENT_MAX_KEYS + 1);
}
static void f_top_keys_max (msgpack_packer *pk)   /* 5 required + 59 */
{
    for (int i = 0; i < EVENT_MAX_KEYS - 5; i++) {
        char k[16];
        snprintf (k, sizeof k, "u%d", i);
        key (pk, k);
        msgpack_pack_true (pk);
    }
}
static void f_top_keys_over (msgpack_packer *pk)
{
    f_top_keys_max (pk);
    key (pk, "one_more"); msgpack_pack_nil (pk);
}
static void f_unknown_fine (msgpack_packer *pk)
{
    key (pk, "x"); msgpack_pack_map (pk, 4);
    key (pk, "bin"); msgpack_pack_bin_with_body (pk, "\xff\0", 2);
    key (pk, "f"); msgpack_pack_double (pk, 2.5);
    key (pk, "s"); msgpack_pack_str_with_body (pk, "\xc3\xa9t\xc3\xa9", 5);
    key (pk, "m"); msgpack_pack_map (pk, 1); kv (pk, "a", "b");
    key (pk, "\xe2\x82\xac"); msgpack_pack_array (pk, 0);
}

static const struct {
    fill_fn  fill;
    size_t   extra;
    vl_err_t want;
} strict_cases[] = {
    { f_unknown_bad_utf8, 1, VL_EUTF8 }, { f_unknown_nul, 1, VL_EUTF8 },
    { f_unknown_bad_key, 1, VL_EUTF8 }, { f_unknown_deep_bad_utf8, 1, VL_EUTF8 },
    { f_unknown_map_bad_key, 1, VL_EUTF8 }, { f_unknown_int_key, 1, VL_EPARSE },
    { f_unknown_bin_key, 1, VL_EPARSE }, { f_unknown_dup_key, 1, VL_EPARSE },
    { f_top_dup_unknown, 2, VL_EPARSE }, { f_dup_detected, 2, VL_EPARSE },
    { f_nil_then_title, 2, VL_EPARSE }, { f_unknown_ext, 1, VL_EPARSE },
    { f_unknown_fixext, 1, VL_EPARSE }, { f_unknown_map_max, 1, VL_OK },
    { f_unknown_map_over, 1, VL_ETOOBIG }, { f_top_keys_max, EVENT_MAX_KEYS - 5, VL_OK },
    { f_top_keys_over, EVENT_MAX_KEYS - 4, VL_ETOOBIG }, { f_unknown_fine, 2, VL_OK },
};

/* Both functions give the expected verdict on each case (and agree on
 * its mutations). */
static void
unknown_and_repeated_keys_are_checked_strictly (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof strict_cases / sizeof strict_cases[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, (uint32_t) (5 + strict_cases[i].extra));
        required (&pk);
        strict_cases[i].fill (&pk);
        event_t e;
        event_view_t v;
        vl_err_t rd = event_decode (sb.data, sb.size, &e);
        event_clear (&e);
        if (rd != strict_cases[i].want)
            fprintf (stderr, "strict case %zu: got %d want %d\n", i, rd, strict_cases[i].want);
        assert_int_equal (rd, strict_cases[i].want);
        assert_int_equal (event_validate (sb.data, sb.size, &v), strict_cases[i].want);
        agree_with_mutations ((const unsigned char *) sb.data, sb.size, 300);
        msgpack_sbuffer_destroy (&sb);
    }
}

static const struct {
    fill_fn fill;
    size_t  extra;
} cases[] = {
    { f_none, 0 }, { f_nil_then_dup, 3 }, { f_dup_title, 2 }, { f_dup_id, 1 },
    { f_empty_tags_twice, 2 }, { f_tags_twice, 2 }, { f_tag_nil, 1 }, { f_tag_bad_utf8, 1 },
    { f_many_tags, 1 }, { f_dup_v, 1 }, { f_ints, 3 }, { f_neg_detected, 1 },
    { f_big_published, 1 }, { f_dup_published, 2 }, { f_float_detected, 1 },
    { f_bin_title, 1 }, { f_bin_key, 1 }, { f_nul, 1 }, { f_rule_then_structure, 2 },
    { f_deep_ok, 1 }, { f_unknown, 2 }, { f_long_text, 2 },
};

static void
edge_cases_and_their_mutations_agree (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* exact count, one pair short (trailing bytes), one too many (cut) */
        for (int delta = -1; delta <= 1; delta++) {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init (&sb);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_map (&pk, (uint32_t) (5 + (int) cases[i].extra + delta));
            required (&pk);
            cases[i].fill (&pk);
            agree_with_mutations ((const unsigned char *) sb.data, sb.size,
                                  delta == 0 ? MUTATIONS : 100);
            msgpack_sbuffer_destroy (&sb);
        }
    }
    agree (NULL, 0);
    agree ("", 0);
    agree ("\x80", 1);
    agree ("\x90", 1);
    fprintf (stderr, "event_validate: %lu inputs compared\n", checked);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (corpus_and_mutations_agree),
        cmocka_unit_test (edge_cases_and_their_mutations_agree),
        cmocka_unit_test (unknown_and_repeated_keys_are_checked_strictly),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
