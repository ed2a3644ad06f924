/* test_replay.c: replay request parser (catalogue of bad requests), the
 * msgpack reader under it, and answers served over inproc sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "journal.h"
#include "log.h"
#include "mpread.h"
#include "replay.h"
#include "util.h"
#include "test_tmpdir.h"

/* ---- building requests ---- */

static void
s_str (msgpack_packer *pk, const char *s)
{
    msgpack_pack_str (pk, strlen (s));
    msgpack_pack_str_body (pk, s, strlen (s));
}

static vl_err_t
s_parse_sbuf (msgpack_sbuffer *sb, replay_req_t *req, const char **why)
{
    /* REQ's prefixes point into SB: the caller keeps it until done */
    vl_err_t rc = replay_parse (sb->data, sb->size, req, why);
    return rc;
}

static void
replay_parse_accepts_defaults_and_full_requests (void **state)
{
    (void) state;
    replay_req_t req;
    const char *why;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 0);
    assert_int_equal (s_parse_sbuf (&sb, &req, &why), VL_OK);
    assert_int_equal (req.op, REPLAY_OP_REPLAY);
    assert_int_equal (req.after, 0);
    assert_true (req.upto == UINT64_MAX);
    assert_int_equal (req.limit, WIRE_REPLAY_DEFAULT_LIMIT);
    assert_int_equal (req.nprefixes, 0);

    msgpack_sbuffer_clear (&sb);
    msgpack_pack_map (&pk, 5);
    s_str (&pk, "op"); s_str (&pk, "count");
    s_str (&pk, "after"); msgpack_pack_uint64 (&pk, UINT64_C (1) << 40);
    s_str (&pk, "upto"); msgpack_pack_uint8 (&pk, 7);
    s_str (&pk, "limit"); msgpack_pack_uint32 (&pk, 999999);
    s_str (&pk, "prefixes"); msgpack_pack_array (&pk, 3);
    s_str (&pk, "un."); s_str (&pk, "_sys.source."); s_str (&pk, "");
    assert_int_equal (s_parse_sbuf (&sb, &req, &why), VL_OK);
    assert_int_equal (req.op, REPLAY_OP_COUNT);
    assert_true (req.after == UINT64_C (1) << 40);
    assert_int_equal (req.upto, 7);
    assert_int_equal (req.limit, WIRE_REPLAY_MAX_LIMIT);   /* clamped */
    assert_int_equal (req.nprefixes, 3);
    assert_int_equal (req.prefixes[1].len, 12);
    assert_memory_equal (req.prefixes[1].s, "_sys.source.", 12);
    assert_int_equal (req.prefixes[2].len, 0);
    /* limit 0 is clamped up to 1 (an answer always makes progress) */
    assert_int_equal (replay_parse ("\x81\xa5limit\x00", 8, &req, &why), VL_OK);
    assert_int_equal (req.limit, 1);
    msgpack_sbuffer_destroy (&sb);
}

/* One bad request of the catalogue: the raw bytes and what must be said. */
typedef struct {
    const char *name;
    const char *bytes;
    size_t      len;
    const char *why_contains;
} bad_t;

#define RAW(s) s, sizeof (s) - 1

static void
replay_parse_rejects_the_catalogue_of_bad_requests (void **state)
{
    (void) state;
    static const bad_t bad[] = {
        { "empty", RAW (""), "map" },
        { "array", RAW ("\x90"), "map" },
        { "int", RAW ("\x01"), "map" },
        { "truncated map", RAW ("\x81\xa2op"), "op must be" },
        { "map count beyond bytes", RAW ("\xdf\xff\xff\xff\xff"), "map" },
        { "trailing bytes", RAW ("\x80\x00"), "trailing" },
        { "key not a string", RAW ("\x81\x01\x02"), "keys must be strings" },
        { "unknown key", RAW ("\x81\xa3" "lim" "\x01"), "unknown key" },
        { "duplicate key", RAW ("\x82\xa5" "after" "\x01\xa5" "after" "\x02"), "duplicate" },
        { "op wrong value", RAW ("\x81\xa2op\xa4tail"), "op must be" },
        { "op not a string", RAW ("\x81\xa2op\x01"), "op must be a string" },
        { "after negative", RAW ("\x81\xa5" "after" "\xff"), "after must be" },
        { "after negative int8", RAW ("\x81\xa5" "after" "\xd0\x80"), "after must be" },
        { "after float", RAW ("\x81\xa5" "after" "\xcb\x00\x00\x00\x00\x00\x00\x00\x00"), "after must be" },
        { "after truncated uint64", RAW ("\x81\xa5" "after" "\xcf\x00\x00"), "after must be" },
        { "upto string", RAW ("\x81\xa4upto\xa1" "1"), "upto must be" },
        { "limit nil", RAW ("\x81\xa5limit\xc0"), "limit must be" },
        { "prefixes not array", RAW ("\x81\xa8prefixes\xa2un"), "prefixes must be" },
        { "prefix not string", RAW ("\x81\xa8prefixes\x91\x01"), "prefixes must be" },
        { "prefix bin", RAW ("\x81\xa8prefixes\x91\xc4\x02un"), "prefixes must be" },
        { "prefix upper case", RAW ("\x81\xa8prefixes\x91\xa2UN"), "bad prefix" },
        { "prefix with space", RAW ("\x81\xa8prefixes\x91\xa2u "), "bad prefix" },
        { "array count beyond bytes", RAW ("\x81\xa8prefixes\xdd\x00\x01\x00\x00"), "prefixes must be" },
        { "string length beyond bytes", RAW ("\x81\xa8prefixes\x91\xdb\xff\xff\xff\xff"), "prefixes must be" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        replay_req_t req;
        const char *why = NULL;
        vl_err_t rc = replay_parse (bad[i].bytes, bad[i].len, &req, &why);
        if (rc == VL_OK || !why || !strstr (why, bad[i].why_contains))
            fail_msg ("%s: rc %d, why '%s'", bad[i].name, rc, why ? why : "(null)");
    }
}

static void
replay_parse_caps_prefixes_and_sizes (void **state)
{
    (void) state;
    replay_req_t req;
    const char *why;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    /* 65 prefixes */
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "prefixes");
    msgpack_pack_array (&pk, 65);
    for (int i = 0; i < 65; i++)
        s_str (&pk, "a.");
    assert_int_equal (s_parse_sbuf (&sb, &req, &why), VL_EPARSE);
    assert_non_null (strstr (why, "too many prefixes"));
    /* 64 is fine */
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "prefixes");
    msgpack_pack_array (&pk, 64);
    for (int i = 0; i < 64; i++)
        s_str (&pk, "a.");
    assert_int_equal (s_parse_sbuf (&sb, &req, &why), VL_OK);
    assert_int_equal (req.nprefixes, 64);
    /* a 256-byte prefix is too long */
    char longp[257];
    memset (longp, 'a', 256);
    longp[256] = '\0';
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "prefixes");
    msgpack_pack_array (&pk, 1);
    s_str (&pk, longp);
    assert_int_equal (s_parse_sbuf (&sb, &req, &why), VL_EPARSE);
    /* a request over WIRE_REPLAY_MAX_REQUEST */
    char *big = calloc (1, WIRE_REPLAY_MAX_REQUEST + 1);
    big[0] = (char) 0x80;
    assert_int_equal (replay_parse (big, WIRE_REPLAY_MAX_REQUEST + 1, &req, &why), VL_ETOOBIG);
    assert_non_null (strstr (why, "too large"));
    free (big);
    msgpack_sbuffer_destroy (&sb);
}

static void
mpread_event_id_finds_the_id_past_nested_values (void **state)
{
    (void) state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    s_str (&pk, "v"); msgpack_pack_uint8 (&pk, 1);
    s_str (&pk, "tags"); msgpack_pack_array (&pk, 2); s_str (&pk, "a"); s_str (&pk, "b");
    s_str (&pk, "x"); msgpack_pack_map (&pk, 1); s_str (&pk, "k"); msgpack_pack_double (&pk, 1.5);
    s_str (&pk, "bin"); msgpack_pack_bin (&pk, 3); msgpack_pack_bin_body (&pk, "abc", 3);
    s_str (&pk, "id"); s_str (&pk, "0123456789abcdef0123456789abcdef");
    const char *id;
    size_t len;
    assert_true (mpread_event_id (sb.data, sb.size, &id, &len));
    assert_int_equal (len, 32);
    assert_memory_equal (id, "0123456789abcdef0123456789abcdef", 32);
    /* cut anywhere: never found, never read past the end */
    for (size_t cut = 0; cut < sb.size; cut++)
        assert_false (mpread_event_id (sb.data, cut, &id, &len));
    msgpack_sbuffer_destroy (&sb);
    assert_false (mpread_event_id ("\x81\xa2id\x01", 5, &id, &len));
}

/* mpread_bool reads true and false, and nothing else (nothing consumed). */
static void
mpread_bool_reads_booleans_only (void **state)
{
    (void) state;
    mpread_t r;
    bool v = false;
    mpread_init (&r, "\xc3\xc2\x01", 3);
    assert_true (mpread_bool (&r, &v));
    assert_true (v);
    assert_true (mpread_bool (&r, &v));
    assert_false (v);
    assert_false (mpread_bool (&r, &v));     /* an int: left for the caller */
    uint64_t n;
    assert_true (mpread_uint (&r, &n) && n == 1 && mpread_done (&r));
    assert_false (mpread_bool (&r, &v));     /* nothing left */
}

/* ---- serving over inproc ---- */

typedef struct {
    char       dir[64];
    journal_t *j;
    void      *ctx, *router, *dealer;
    replay_t  *replay;
} srv_t;

static int
srv_setup (void **state)
{
    srv_t *s = calloc (1, sizeof *s);
    assert_int_equal (test_tmpdir_create (s->dir, sizeof s->dir, "vl-replay-"), 0);
    vl_err_t err;
    s->j = journal_open (s->dir, NULL, &err);
    assert_non_null (s->j);
    /* 300 events: topics un.a (seq % 3 == 1), un.b, gov.c */
    static const char *topics[] = { "un.a", "un.b", "gov.c" };
    for (int i = 0; i < 300; i++) {
        char ev[32];
        uint64_t seq;
        int n = snprintf (ev, sizeof ev, "event-%d", i + 1);
        assert_int_equal (journal_append (s->j, topics[i % 3], strlen (topics[i % 3]),
                                          ev, (size_t) n, &seq), VL_OK);
    }
    assert_int_equal (journal_commit (s->j), VL_OK);
    s->ctx = zmq_ctx_new ();
    s->router = zmq_socket (s->ctx, ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt (s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    assert_int_equal (zmq_bind (s->router, "inproc://replay"), 0);
    s->dealer = zmq_socket (s->ctx, ZMQ_DEALER);
    assert_int_equal (zmq_connect (s->dealer, "inproc://replay"), 0);
    rbudget_opts_t bo = { .client_bytes = 16 << 20, .total_bytes = 64 << 20,
                          .client_answers = 4 };
    s->replay = replay_new (s->j, &bo);
    *state = s;
    return 0;
}

static int
srv_teardown (void **state)
{
    srv_t *s = *state;
    int zero = 0;
    zmq_setsockopt (s->dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (s->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close (s->dealer);
    zmq_close (s->router);
    zmq_ctx_term (s->ctx);
    replay_destroy (&s->replay);   /* after the context: queued answers released */
    journal_destroy (&s->j);
    test_tmpdir_remove (s->dir);
    free (s);
    return 0;
}

/* Sends REQ (msgpack), serves it, and reads the answer: the seqs of the
 * E messages into SEQS, the END/ERR body unpacked into *OBJ (zone Z). */
static const char *s_read_answer (void *dealer, uint64_t *seqs, size_t *n,
                                  msgpack_zone *z, msgpack_object *obj);

/* Sends REQ on DEALER and has the replay serve it (the answer is not read). */
static void
s_ask (srv_t *s, void *dealer, const msgpack_sbuffer *req)
{
    assert_true (zmq_send (dealer, req->data, req->size, 0) >= 0);
    zmq_pollitem_t it = { s->router, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&it, 1, 2000), 1);
    assert_int_equal (replay_serve_one (s->replay, s->router), VL_OK);
}

static const char *
s_roundtrip (srv_t *s, const msgpack_sbuffer *req, uint64_t *seqs, size_t *n,
             msgpack_zone *z, msgpack_object *obj)
{
    s_ask (s, s->dealer, req);
    return s_read_answer (s->dealer, seqs, n, z, obj);
}

/* Reads one answer from DEALER: the seqs of the E messages into SEQS, the
 * END/ERR body unpacked into *OBJ (zone Z); returns "END" or "ERR". */
static const char *
s_read_answer (void *dealer, uint64_t *seqs, size_t *n, msgpack_zone *z, msgpack_object *obj)
{
    static char kind[8];
    *n = 0;
    for (;;) {
        static char frames[4][256];   /* the unpacked END refers to it */
        int sizes[4], nf = 0, more = 1;
        while (more) {
            int r = zmq_recv (dealer, nf < 4 ? frames[nf] : frames[3], 256, 0);
            assert_true (r >= 0);
            if (nf < 4)
                sizes[nf] = r < 256 ? r : 256;
            nf++;
            size_t sz = sizeof more;
            zmq_getsockopt (dealer, ZMQ_RCVMORE, &more, &sz);
        }
        snprintf (kind, sizeof kind, "%.*s", sizes[0], frames[0]);
        if (strcmp (kind, "E") == 0) {
            assert_int_equal (nf, 4);
            seqs[(*n)++] = util_get_be64 ((unsigned char *) frames[2]);
            continue;
        }
        assert_int_equal (nf, 2);
        assert_int_equal (msgpack_unpack (frames[1], (size_t) sizes[1], NULL, z, obj),
                          MSGPACK_UNPACK_SUCCESS);
        return kind;
    }
}

static uint64_t
s_get (const msgpack_object *m, const char *key)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.via.str.size == strlen (key)
            && memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0) {
            if (kv->val.type == MSGPACK_OBJECT_BOOLEAN)
                return kv->val.via.boolean;
            return kv->val.via.u64;
        }
    }
    fail_msg ("no key %s", key);
    return 0;
}

static void
replay_serves_pages_under_prefixes_then_end (void **state)
{
    srv_t *s = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone z;
    msgpack_object o;
    uint64_t seqs[400];
    size_t n;
    msgpack_zone_init (&z, 1024);
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    s_str (&pk, "after"); msgpack_pack_uint8 (&pk, 10);
    s_str (&pk, "limit"); msgpack_pack_uint8 (&pk, 50);
    s_str (&pk, "prefixes"); msgpack_pack_array (&pk, 1); s_str (&pk, "un.a");
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 50);
    assert_int_equal (seqs[0], 13);
    for (size_t i = 1; i < n; i++)
        assert_int_equal (seqs[i], seqs[i - 1] + 3);
    assert_int_equal (s_get (&o, "count"), 50);
    assert_int_equal (s_get (&o, "next"), seqs[49]);
    assert_int_equal (s_get (&o, "more"), 1);
    assert_int_equal (s_get (&o, "head"), 300);
    assert_int_equal (s_get (&o, "first"), 1);
    msgpack_sbuffer_clear (&sb);
    /* count over the same range agrees */
    msgpack_pack_map (&pk, 3);
    s_str (&pk, "op"); s_str (&pk, "count");
    s_str (&pk, "after"); msgpack_pack_uint8 (&pk, 10);
    s_str (&pk, "prefixes"); msgpack_pack_array (&pk, 2); s_str (&pk, "un.a"); s_str (&pk, "gov");
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 0);
    assert_int_equal (s_get (&o, "count"), 2 * 290 / 3);
    assert_int_equal (s_get (&o, "next"), 300);
    assert_int_equal (s_get (&o, "more"), 0);
    msgpack_sbuffer_clear (&sb);
    /* a bad request gets ERR */
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "bogus"); msgpack_pack_uint8 (&pk, 1);
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "ERR");
    assert_int_equal (o.type, MSGPACK_OBJECT_MAP);
    assert_int_equal (o.via.map.size, 1);
    msgpack_sbuffer_destroy (&sb);
    msgpack_zone_destroy (&z);
}

static ssize_t
s_eio_pread (int fd, void *buf, size_t n, off_t off)
{
    (void) fd; (void) buf; (void) n; (void) off;
    errno = EIO;
    return -1;
}

static void
s_pack_after (msgpack_sbuffer *sb, uint64_t after)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear (sb);
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "after"); msgpack_pack_uint64 (&pk, after);
}

static bool
s_str_has (const msgpack_object *m, const char *key, const char *needle)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.via.str.size == strlen (key)
            && memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0) {
            char text[256];
            snprintf (text, sizeof text, "%.*s", (int) kv->val.via.str.size, kv->val.via.str.ptr);
            return strstr (text, needle) != NULL;
        }
    }
    return false;
}

static void
replay_answers_err_on_a_read_error_never_end (void **state)
{
    srv_t *s = *state;
    msgpack_sbuffer sb;
    msgpack_zone z;
    msgpack_object o;
    uint64_t seqs[400];
    size_t n;
    msgpack_zone_init (&z, 1024);
    msgpack_sbuffer_init (&sb);
    s_pack_after (&sb, 10);
    journal_set_pread (s->j, s_eio_pread);
    /* not END next = upto: the client would move past records it never got */
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "ERR");
    assert_int_equal (n, 0);
    assert_true (s_str_has (&o, "error", "read error after seq 10"));
    replay_stats_t st;
    replay_stats (s->replay, &st);
    assert_int_equal (st.read_errors, 1);
    /* the disk recovers: the retry gets everything */
    journal_set_pread (s->j, NULL);
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 290);
    assert_int_equal (seqs[0], 11);
    assert_int_equal (s_get (&o, "next"), 300);
    msgpack_sbuffer_destroy (&sb);
    msgpack_zone_destroy (&z);
}

/* Replaces the replay with one of budget CLIENT / TOTAL events of up to
 * 9 bytes ("event-NNN") and ANSWERS answers in flight. */
static void
s_rebudget (srv_t *s, size_t client, size_t total, size_t answers)
{
    replay_destroy (&s->replay);
    size_t ev = 9 + RBUDGET_FRAME_OVERHEAD;
    rbudget_opts_t bo = { .client_bytes = client * ev, .total_bytes = total * ev + ev / 2,
                          .client_answers = answers };
    s->replay = replay_new (s->j, &bo);
    assert_non_null (s->replay);
}

static void
replay_budget_pages_a_client_and_drops_past_its_requests (void **state)
{
    srv_t *s = *state;
    msgpack_sbuffer sb;
    msgpack_zone z;
    msgpack_object o;
    uint64_t seqs[400];
    size_t n;
    msgpack_zone_init (&z, 4096);
    msgpack_sbuffer_init (&sb);
    s_rebudget (s, 10, 1000, 2);
    /* an answer stops at the client's budget: a page of 10, more = true */
    s_pack_after (&sb, 0);
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 10);
    assert_int_equal (s_get (&o, "next"), 10);
    assert_int_equal (s_get (&o, "more"), 1);
    /* read, so the next page comes */
    s_pack_after (&sb, 10);
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 10);
    assert_int_equal (seqs[0], 11);
    /* three requests without reading: a page, an empty page (the first is
     * still held), the third dropped (2 answers in flight) */
    s_ask (s, s->dealer, &sb);
    s_ask (s, s->dealer, &sb);
    s_ask (s, s->dealer, &sb);
    replay_stats_t st;
    replay_stats (s->replay, &st);
    assert_int_equal (st.dropped, 1);
    assert_true (st.queued_bytes <= 10 * (9 + RBUDGET_FRAME_OVERHEAD) + 2 * (64 + RBUDGET_FRAME_OVERHEAD));
    assert_string_equal (s_read_answer (s->dealer, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 10);
    assert_string_equal (s_read_answer (s->dealer, seqs, &n, &z, &o), "END");
    assert_int_equal (n, 0);
    assert_int_equal (s_get (&o, "next"), 10);
    assert_int_equal (s_get (&o, "more"), 1);
    zmq_pollitem_t it = { s->dealer, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&it, 1, 100), 0);
    replay_stats (s->replay, &st);
    assert_int_equal (st.queued_bytes, 0);   /* all taken: all released */
    msgpack_sbuffer_destroy (&sb);
    msgpack_zone_destroy (&z);
}

static void
replay_full_total_budget_answers_busy (void **state)
{
    srv_t *s = *state;
    msgpack_sbuffer sb;
    msgpack_zone z;
    msgpack_object o;
    uint64_t seqs[400];
    size_t n;
    msgpack_zone_init (&z, 4096);
    msgpack_sbuffer_init (&sb);
    s_rebudget (s, 10, 10, 4);
    void *other = zmq_socket (s->ctx, ZMQ_DEALER);
    assert_int_equal (zmq_connect (other, "inproc://replay"), 0);
    s_pack_after (&sb, 0);
    s_ask (s, other, &sb);   /* fills the total; never read */
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "ERR");
    assert_true (s_str_has (&o, "error", "busy"));
    replay_stats_t st;
    replay_stats (s->replay, &st);
    assert_int_equal (st.busy, 1);
    assert_int_equal (st.clients, 2);
    int zero = 0;
    zmq_setsockopt (other, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close (other);
    msgpack_sbuffer_destroy (&sb);
    msgpack_zone_destroy (&z);
}

/* Refuses the first request it sees, lets the next ones through. */
static bool
s_gate_once (void *arg, const zmq_msg_t *msg)
{
    int *calls = arg;
    assert_non_null (msg);
    return (*calls)++ > 0;
}

/* A request the gate refuses gets no answer and is not counted; the next
 * one is answered. */
static void
replay_gate_drops_refused_requests_unanswered (void **state)
{
    srv_t *s = *state;
    int calls = 0;
    replay_set_gate (s->replay, s_gate_once, &calls);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "op"); s_str (&pk, "count");
    assert_true (zmq_send (s->dealer, sb.data, sb.size, 0) >= 0);
    zmq_pollitem_t it = { s->router, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&it, 1, 2000), 1);
    assert_int_equal (replay_serve_one (s->replay, s->router), VL_OK);
    assert_int_equal (calls, 1);
    assert_int_equal (replay_requests (s->replay), 0);
    zmq_pollitem_t back = { s->dealer, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&back, 1, 200), 0);
    msgpack_zone z;
    msgpack_object o;
    uint64_t seqs[4];
    size_t n;
    msgpack_zone_init (&z, 1024);
    assert_string_equal (s_roundtrip (s, &sb, seqs, &n, &z, &o), "END");
    assert_int_equal (s_get (&o, "count"), 300);
    assert_int_equal (replay_requests (s->replay), 1);
    msgpack_zone_destroy (&z);
    msgpack_sbuffer_destroy (&sb);
}

int
main (void)
{
    log_setup ("test_replay", LOG_LVL_WARN, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (replay_parse_accepts_defaults_and_full_requests),
        cmocka_unit_test (replay_parse_rejects_the_catalogue_of_bad_requests),
        cmocka_unit_test (replay_parse_caps_prefixes_and_sizes),
        cmocka_unit_test (mpread_event_id_finds_the_id_past_nested_values),
        cmocka_unit_test (mpread_bool_reads_booleans_only),
        cmocka_unit_test_setup_teardown (replay_serves_pages_under_prefixes_then_end,
                                         srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown (replay_answers_err_on_a_read_error_never_end,
                                         srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown (replay_budget_pages_a_client_and_drops_past_its_requests,
                                         srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown (replay_full_total_budget_answers_busy,
                                         srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown (replay_gate_drops_refused_requests_unanswered,
                                         srv_setup, srv_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
