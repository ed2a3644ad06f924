/* test_event: msgpack event codec round trip and hostile-input catalogue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "event.h"

static void
sample (event_t *e)
{
    memset (e, 0, sizeof *e);
    e->v = 1;
    event_set (&e->type, "new");
    event_set (&e->source, "un-ctitf");
    event_set (&e->topic, "un.ctitf");
    event_set (&e->url, "https://www.un.org/fr/terrorism/ctitf/");
    event_set (&e->title, "Lutte contre l\xE2\x80\x99utilisation d\xE2\x80\x99Internet \xC3\xA0 des fins terroristes");
    event_set (&e->summary, "R\xC3\xA9sum\xC3\xA9\xC2\xA0: \xC2\xAB mandat \xC2\xBB");
    event_set (&e->hash, "00112233445566778899aabbccddeeff");
    e->published = 1400000000;
    e->has_published = true;
    e->detected = 1764000000123;
    event_add_tag (e, "terrorisme");
    event_add_tag (e, "internet");
    char id[EVENT_ID_HEX + 1];
    event_make_id (e->source, e->url, e->type, e->hash, id);
    event_set (&e->id, id);
}

static void
encode_sample (buf_t *b)
{
    event_t e;
    sample (&e);
    buf_init (b, 1 << 24);
    assert_int_equal (event_encode (&e, b), VL_OK);
    event_clear (&e);
}

static void
event_round_trip_keeps_every_field (void **state)
{
    (void) state;
    event_t in, out;
    sample (&in);
    buf_t b;
    buf_init (&b, 1 << 24);
    assert_int_equal (event_encode (&in, &b), VL_OK);
    assert_int_equal (event_decode (b.data, b.len, &out), VL_OK);
    assert_string_equal (out.id, in.id);
    assert_string_equal (out.type, "new");
    assert_string_equal (out.topic, "un.ctitf");
    assert_string_equal (out.title, in.title);
    assert_string_equal (out.summary, in.summary);
    assert_true (out.has_published);
    assert_int_equal (out.published, 1400000000);
    assert_int_equal (out.detected, 1764000000123);
    assert_int_equal (out.ntags, 2);
    assert_string_equal (out.tags[1], "internet");
    assert_null (out.diff);
    event_clear (&in);
    event_clear (&out);
    buf_free (&b);
}

static void
event_id_is_stable_and_distinct (void **state)
{
    (void) state;
    char a[33], b[33], c[33];
    event_make_id ("s", "item", "new", "h1", a);
    event_make_id ("s", "item", "new", "h1", b);
    event_make_id ("s", "item", "changed", "h1", c);
    assert_string_equal (a, b);
    assert_string_not_equal (a, c);
    assert_int_equal (strlen (a), 32);
    /* field boundaries matter: ("ab","c") != ("a","bc") */
    event_make_id ("ab", "c", "new", "h", a);
    event_make_id ("a", "bc", "new", "h", b);
    assert_string_not_equal (a, b);
}

static void
event_encode_refuses_invalid (void **state)
{
    (void) state;
    event_t e;
    buf_t b;
    buf_init (&b, 1 << 24);
    sample (&e);
    event_set (&e.topic, "Bad Topic");
    assert_int_equal (event_encode (&e, &b), VL_EINVAL);
    event_set (&e.topic, "ok.topic");
    event_set (&e.title, "bad \xC3\x28 utf8");
    assert_int_equal (event_encode (&e, &b), VL_EUTF8);
    event_set (&e.title, "fine");
    free (e.id);
    e.id = NULL;
    assert_int_equal (event_encode (&e, &b), VL_EINVAL);
    event_clear (&e);
    buf_free (&b);
}

/* A summary of 1.1 MB: over EVENT_MAX_BYTES whether the buffer is capped
 * at the limit (the write fails half way: `veille pub`) or not; the
 * buffer is left as it was, never holding a cut event. */
static void
event_encode_too_big_is_an_error_not_a_cut_event (void **state)
{
    (void) state;
    event_t e;
    sample (&e);
    char *big = malloc (1100 * 1000 + 1);
    assert_non_null (big);
    memset (big, 'a', 1100 * 1000);
    big[1100 * 1000] = '\0';
    event_set (&e.summary, big);
    free (big);
    size_t caps[] = { EVENT_MAX_BYTES, 1u << 24 };   /* the cap, then room for all */
    for (size_t i = 0; i < 2; i++) {
        buf_t b;
        buf_init (&b, caps[i]);
        buf_puts (&b, "xy");
        assert_int_equal (event_encode (&e, &b), VL_ETOOBIG);
        assert_int_equal (b.len, 2);
        assert_string_equal (b.data, "xy");
        buf_free (&b);
    }
    event_set (&e.summary, "short again");
    buf_t b;
    buf_init (&b, EVENT_MAX_BYTES);
    assert_int_equal (event_encode (&e, &b), VL_OK);
    event_t out;
    assert_int_equal (event_decode (b.data, b.len, &out), VL_OK);
    event_clear (&out);
    buf_free (&b);
    event_clear (&e);
}

static void
event_decode_rejects_truncated_and_trailing (void **state)
{
    (void) state;
    buf_t b;
    encode_sample (&b);
    event_t out;
    for (size_t cut = 0; cut < b.len; cut++) {
        assert_int_not_equal (event_decode (b.data, cut, &out), VL_OK);
        event_clear (&out);
    }
    buf_putc (&b, '\xc0');   /* one trailing nil */
    assert_int_equal (event_decode (b.data, b.len, &out), VL_EPARSE);
    event_clear (&out);
    buf_free (&b);
}

/* Packs a map built by FILL into B. */
typedef void (*fill_fn) (msgpack_packer *pk);

static void
pack_kv_str (msgpack_packer *pk, const char *k, const char *v, size_t vlen)
{
    msgpack_pack_str_with_body (pk, k, strlen (k));
    msgpack_pack_str_with_body (pk, v, vlen);
}

static void
pack_required (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "v", 1);
    msgpack_pack_uint8 (pk, 1);
    pack_kv_str (pk, "id", "0123456789abcdef0123456789abcdef", 32);
    pack_kv_str (pk, "type", "new", 3);
    pack_kv_str (pk, "source", "s", 1);
    pack_kv_str (pk, "topic", "t.x", 3);
}

static vl_err_t
decode_map (size_t extra, fill_fn fill)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5 + extra);
    pack_required (&pk);
    if (fill)
        fill (&pk);
    event_t e;
    vl_err_t rc = event_decode (sb.data, sb.size, &e);
    event_clear (&e);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

static void fill_bad_utf8 (msgpack_packer *pk) { pack_kv_str (pk, "title", "\xff\xfe", 2); }
static void fill_nul (msgpack_packer *pk) { pack_kv_str (pk, "title", "a\0b", 3); }
static void fill_int_title (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "title", 5);
    msgpack_pack_int (pk, 5);
}
static void fill_unknown (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "future_key", 10);
    msgpack_pack_array (pk, 2);
    msgpack_pack_map (pk, 0);
    msgpack_pack_double (pk, 1.5);
}
static void fill_dup_title (msgpack_packer *pk)
{
    pack_kv_str (pk, "title", "a", 1);
    pack_kv_str (pk, "title", "b", 1);
}
static void fill_deep (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "future", 6);
    for (int i = 0; i < EVENT_MAX_DEPTH + 2; i++)
        msgpack_pack_array (pk, 1);
    msgpack_pack_nil (pk);
}
static void fill_many_tags (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "tags", 4);
    msgpack_pack_array (pk, EVENT_MAX_TAGS + 1);
    for (int i = 0; i <= EVENT_MAX_TAGS; i++)
        msgpack_pack_str_with_body (pk, "t", 1);
}
static void fill_nonstr_key (msgpack_packer *pk)
{
    msgpack_pack_int (pk, 7);
    msgpack_pack_int (pk, 7);
}

static void
event_decode_catalogue_of_bad_maps (void **state)
{
    (void) state;
    assert_int_equal (decode_map (0, NULL), VL_OK);
    assert_int_equal (decode_map (1, fill_unknown), VL_OK);   /* forward compatible */
    assert_int_equal (decode_map (1, fill_bad_utf8), VL_EUTF8);
    assert_int_equal (decode_map (1, fill_nul), VL_EUTF8);
    assert_int_equal (decode_map (1, fill_int_title), VL_EPARSE);
    assert_int_equal (decode_map (2, fill_dup_title), VL_EPARSE);
    assert_int_equal (decode_map (1, fill_deep), VL_EPARSE);
    assert_int_equal (decode_map (1, fill_many_tags), VL_ETOOBIG);
    assert_int_equal (decode_map (1, fill_nonstr_key), VL_EPARSE);
}

static void
event_decode_rejects_huge_length_prefixes (void **state)
{
    (void) state;
    event_t e;
    /* map32 claiming 2^32-1 pairs, array32 and str32 claiming 4 GB */
    const unsigned char map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    const unsigned char arr32[] = { 0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff };
    const unsigned char str32[] = { 0x81, 0xa1, 'x', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a' };
    const unsigned char ext32[] = { 0x81, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 1 };
    const unsigned char never[] = { 0x81, 0xa1, 'x', 0xc1 };
    const unsigned char *cases[] = { map32, arr32, str32, ext32, never };
    size_t lens[] = { sizeof map32, sizeof arr32, sizeof str32, sizeof ext32, sizeof never };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal (event_decode (cases[i], lens[i], &e), VL_EPARSE);
        event_clear (&e);
    }
    const unsigned char arr[] = { 0x93, 1, 2, 3 };   /* not a map */
    assert_int_equal (event_decode (arr, sizeof arr, &e), VL_EPARSE);
    event_clear (&e);
    assert_int_equal (event_decode (arr, EVENT_MAX_BYTES + 1, &e), VL_ETOOBIG);
    assert_int_equal (event_decode (NULL, 0, &e), VL_EPARSE);
}

static void
event_decode_requires_keys_and_valid_values (void **state)
{
    (void) state;
    event_t e;
    sample (&e);
    buf_t b;
    buf_init (&b, 1 << 24);
    assert_int_equal (event_encode (&e, &b), VL_OK);
    /* Corrupt the topic in the encoded bytes: "un.ctitf" -> "UN.ctitf". */
    char *p = memmem (b.data, b.len, "un.ctitf", 8);
    assert_non_null (p);
    p[0] = 'U';
    event_t out;
    assert_int_equal (event_decode (b.data, b.len, &out), VL_EPARSE);
    event_clear (&out);
    event_clear (&e);
    buf_free (&b);
}

static void
event_topic_rules (void **state)
{
    (void) state;
    assert_true (event_topic_valid ("un.ctitf", 8));
    assert_true (event_topic_valid ("_sys.source.rfi", 15));
    assert_false (event_topic_valid ("", 0));
    assert_false (event_topic_valid ("UN", 2));
    assert_false (event_topic_valid ("a b", 3));
    assert_false (event_topic_valid ("a\nb", 3));
    char big[300];
    memset (big, 'a', sizeof big);
    assert_false (event_topic_valid (big, sizeof big));
    assert_true (event_topic_valid (big, EVENT_MAX_TOPIC));
}

/* A buffer too small for the encoding: VL_ETOOBIG and nothing appended,
 * never a shorter encoding with the field that did not fit left out. */
static void
event_encode_into_a_small_buffer_fails_whole (void **state)
{
    (void) state;
    event_t e;
    sample (&e);
    char big[300];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    event_set (&e.summary, big);
    buf_t b;
    buf_init (&b, 200);
    assert_int_equal (buf_puts (&b, "kept"), VL_OK);
    assert_int_equal (event_encode (&e, &b), VL_ETOOBIG);
    assert_int_equal (b.len, 4);
    assert_string_equal (b.data, "kept");
    buf_free (&b);
    buf_init (&b, 1 << 24);
    assert_int_equal (event_encode (&e, &b), VL_OK);   /* room: encoded */
    size_t need = b.len;
    buf_free (&b);
    buf_init (&b, need);                               /* exactly enough */
    assert_int_equal (event_encode (&e, &b), VL_OK);
    event_t out;
    assert_int_equal (event_decode (b.data, b.len, &out), VL_OK);
    assert_string_equal (out.summary, big);
    event_clear (&out);
    buf_free (&b);
    event_clear (&e);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (event_round_trip_keeps_every_field),
        cmocka_unit_test (event_id_is_stable_and_distinct),
        cmocka_unit_test (event_encode_refuses_invalid),
        cmocka_unit_test (event_encode_too_big_is_an_error_not_a_cut_event),
        cmocka_unit_test (event_decode_rejects_truncated_and_trailing),
        cmocka_unit_test (event_decode_catalogue_of_bad_maps),
        cmocka_unit_test (event_decode_rejects_huge_length_prefixes),
        cmocka_unit_test (event_decode_requires_keys_and_valid_values),
        cmocka_unit_test (event_topic_rules),
        cmocka_unit_test (event_encode_into_a_small_buffer_fails_whole),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
