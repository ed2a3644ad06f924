/* test_client_sub.c: the cursor algorithm of client_sub against a scripted
 * fake broker (XPUB + replay ROUTER driven from the test thread): cursor
 * from the first heartbeat, count that proves nothing was missed, a missed
 * event recovered by replay and returned once, event-id dedup, request
 * timeout retried on a fresh socket, a cut replay answer continued after
 * its last seq, head going backwards (journal wiped), retention warning,
 * malformed END; and client_sub_probe (the journal's head, epoch and
 * oldest event, as veille-sub asks before placing a new sink) against a
 * fake replay ROUTER answering from a thread: ERR and malformed END asked
 * again after a pause, silence asked again on a fresh DEALER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "client_sub.h"
#include "event.h"
#include "log.h"
#include "util.h"
#include "wire.h"

typedef struct {
    void         *ctx, *xpub, *router;
    char          sub_ep[128], rep_ep[128];
    zmq_msg_t     rid;          /* routing id of the last request */
    char          last_rid[64];
    size_t        last_rid_len;
    client_sub_t *sub;
} fx_t;

static void
s_bind (void *sock, char *ep, size_t cap)
{
    int zero = 0;
    zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal (zmq_bind (sock, "tcp://127.0.0.1:*"), 0);
    zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, ep, &cap);
}

/* Waits until the SUB's heartbeat subscription (its last one) arrived. */
static void
s_wait_subscribed (fx_t *fx)
{
    int tmo = 5000;
    zmq_setsockopt (fx->xpub, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    for (;;) {
        char buf[64];
        int n = zmq_recv (fx->xpub, buf, sizeof buf, 0);
        assert_true (n > 0);
        if (n == 1 + (int) strlen (WIRE_TOPIC_HEARTBEAT) && buf[0] == 1
            && memcmp (buf + 1, WIRE_TOPIC_HEARTBEAT, (size_t) n - 1) == 0)
            return;
    }
}

static fx_t *
s_start_epoch (uint64_t from_seq, uint64_t epoch)
{
    fx_t *fx = calloc (1, sizeof *fx);
    fx->ctx = zmq_ctx_new ();
    fx->xpub = zmq_socket (fx->ctx, ZMQ_XPUB);
    fx->router = zmq_socket (fx->ctx, ZMQ_ROUTER);
    s_bind (fx->xpub, fx->sub_ep, sizeof fx->sub_ep);
    s_bind (fx->router, fx->rep_ep, sizeof fx->rep_ep);
    zmq_msg_init (&fx->rid);
    const char *prefixes[] = { "un." };
    client_sub_opts_t o = { .sub_endpoint = fx->sub_ep, .replay_endpoint = fx->rep_ep,
                            .prefixes = prefixes, .nprefixes = 1, .from_seq = from_seq,
                            .request_timeout_ms = 300, .epoch = epoch };
    vl_err_t err;
    fx->sub = client_sub_new (fx->ctx, &o, &err);
    assert_non_null (fx->sub);
    s_wait_subscribed (fx);
    return fx;
}

static fx_t *
s_start (uint64_t from_seq)
{
    return s_start_epoch (from_seq, 0);
}

static void
s_stop (fx_t *fx)
{
    client_sub_destroy (&fx->sub);
    assert_null (fx->sub);
    zmq_msg_close (&fx->rid);
    zmq_close (fx->xpub);
    zmq_close (fx->router);
    zmq_ctx_term (fx->ctx);
    free (fx);
}

/* Encoded event number N (id derived from ID_OF) under TOPIC. */
static void
s_event (buf_t *out, const char *topic, unsigned id_of)
{
    char id[EVENT_ID_HEX + 1];
    snprintf (id, sizeof id, "%032x", id_of);
    event_t ev = { .v = 1 };
    event_set (&ev.id, id);
    event_set (&ev.type, "new");
    event_set (&ev.source, "test");
    event_set (&ev.topic, topic);
    event_set (&ev.title, "t");
    buf_reset (out);
    assert_int_equal (event_encode (&ev, out), VL_OK);
    event_clear (&ev);
}

static void
s_live (fx_t *fx, const char *topic, uint64_t seq, unsigned id_of)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    s_event (&b, topic, id_of);
    unsigned char s[8];
    util_put_be64 (s, seq);
    zmq_send (fx->xpub, topic, strlen (topic), ZMQ_SNDMORE);
    zmq_send (fx->xpub, s, 8, ZMQ_SNDMORE);
    zmq_send (fx->xpub, b.data, b.len, 0);
    buf_free (&b);
}

static void
s_heartbeat (fx_t *fx, uint64_t head)
{
    unsigned char s[8], body[] = { 0x81, 0xa4, 'h', 'e', 'a', 'd', 0x00 };
    util_put_be64 (s, head);
    zmq_send (fx->xpub, WIRE_TOPIC_HEARTBEAT, strlen (WIRE_TOPIC_HEARTBEAT), ZMQ_SNDMORE);
    zmq_send (fx->xpub, s, 8, ZMQ_SNDMORE);
    zmq_send (fx->xpub, body, sizeof body, 0);
}

/* Reads the next replay request (within 3 s) and checks op/after/upto. */
static void
s_expect_request (fx_t *fx, const char *op, uint64_t after, int64_t upto, int64_t limit_max)
{
    zmq_pollitem_t it = { fx->router, 0, ZMQ_POLLIN, 0 };
    int64_t end = util_mono_ms () + 3000;
    while (zmq_poll (&it, 1, 50) == 0) {
        client_msg_t m;
        vl_err_t rc = client_sub_recv (fx->sub, &m, 10);   /* lets the client run */
        assert_true (rc == VL_ETIMEOUT || (rc == VL_OK && m.kind == CLIENT_MSG_CURSOR));
        assert_true (util_mono_ms () < end);
    }
    zmq_msg_close (&fx->rid);
    zmq_msg_init (&fx->rid);
    assert_true (zmq_msg_recv (&fx->rid, fx->router, 0) > 0);
    fx->last_rid_len = zmq_msg_size (&fx->rid) < sizeof fx->last_rid
                     ? zmq_msg_size (&fx->rid) : sizeof fx->last_rid;
    memcpy (fx->last_rid, zmq_msg_data (&fx->rid), fx->last_rid_len);
    char req[4096];
    int n = zmq_recv (fx->router, req, sizeof req, 0);
    assert_true (n > 0);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    assert_int_equal (msgpack_unpack_next (&up, req, (size_t) n, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (up.data.type, MSGPACK_OBJECT_MAP);
    bool seen_op = false, seen_after = false, seen_upto = false;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        msgpack_object k = up.data.via.map.ptr[i].key, v = up.data.via.map.ptr[i].val;
        if (k.via.str.size == 2 && !memcmp (k.via.str.ptr, "op", 2)) {
            assert_int_equal (v.via.str.size, strlen (op));
            assert_memory_equal (v.via.str.ptr, op, strlen (op));
            seen_op = true;
        }
        else if (k.via.str.size == 5 && !memcmp (k.via.str.ptr, "after", 5)) {
            assert_int_equal (v.via.u64, after);
            seen_after = true;
        }
        else if (k.via.str.size == 4 && !memcmp (k.via.str.ptr, "upto", 4)) {
            assert_true (upto >= 0);
            assert_int_equal (v.via.u64, (uint64_t) upto);
            seen_upto = true;
        }
        else if (k.via.str.size == 5 && !memcmp (k.via.str.ptr, "limit", 5))
            assert_true (limit_max == 0 || (v.via.u64 >= 1 && (int64_t) v.via.u64 <= limit_max));
        else if (k.via.str.size == 8 && !memcmp (k.via.str.ptr, "prefixes", 8)) {
            assert_int_equal (v.type, MSGPACK_OBJECT_ARRAY);
            assert_int_equal (v.via.array.size, 1);
        }
    }
    assert_true (seen_op && seen_after);
    assert_true (seen_upto == (upto >= 0));
    msgpack_unpacked_destroy (&up);
}

static void
s_reply_rid (fx_t *fx)
{
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    zmq_msg_copy (&copy, &fx->rid);
    zmq_msg_send (&copy, fx->router, ZMQ_SNDMORE);
}

static void
s_reply_event (fx_t *fx, const char *topic, uint64_t seq, unsigned id_of)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    s_event (&b, topic, id_of);
    unsigned char s[8];
    util_put_be64 (s, seq);
    s_reply_rid (fx);
    zmq_send (fx->router, "E", 1, ZMQ_SNDMORE);
    zmq_send (fx->router, topic, strlen (topic), ZMQ_SNDMORE);
    zmq_send (fx->router, s, 8, ZMQ_SNDMORE);
    zmq_send (fx->router, b.data, b.len, 0);
    buf_free (&b);
}

/* An END; EPOCH 0 = without the key (a broker that sends none). */
static void
s_reply_end_epoch (fx_t *fx, uint64_t head, uint64_t next, bool more, uint64_t count,
                   uint64_t first, uint64_t epoch)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, epoch ? 6 : 5);
    if (epoch) {
        msgpack_pack_str (&pk, 5);
        msgpack_pack_str_body (&pk, "epoch", 5);
        msgpack_pack_uint64 (&pk, epoch);
    }
    const char *keys[] = { "head", "next", "count", "first" };
    uint64_t vals[] = { head, next, count, first };
    for (int i = 0; i < 4; i++) {
        msgpack_pack_str (&pk, strlen (keys[i]));
        msgpack_pack_str_body (&pk, keys[i], strlen (keys[i]));
        msgpack_pack_uint64 (&pk, vals[i]);
    }
    msgpack_pack_str (&pk, 4);
    msgpack_pack_str_body (&pk, "more", 4);
    more ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    s_reply_rid (fx);
    zmq_send (fx->router, "END", 3, ZMQ_SNDMORE);
    zmq_send (fx->router, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy (&sb);
}

static void
s_reply_end (fx_t *fx, uint64_t head, uint64_t next, bool more, uint64_t count, uint64_t first)
{
    s_reply_end_epoch (fx, head, next, more, count, first, 0);
}

static void
s_expect_event (fx_t *fx, uint64_t seq, bool replayed)
{
    client_msg_t m;
    assert_int_equal (client_sub_recv (fx->sub, &m, 3000), VL_OK);
    assert_int_equal (m.kind, CLIENT_MSG_EVENT);
    assert_int_equal (m.seq, seq);
    assert_int_equal (m.replayed, replayed);
    event_t ev;
    assert_int_equal (event_decode (m.data, m.len, &ev), VL_OK);
    assert_int_equal (strlen (ev.topic), m.topic_len);
    assert_memory_equal (ev.topic, m.topic, m.topic_len);
    event_clear (&ev);
}

static void
s_expect_cursor (fx_t *fx, uint64_t seq)
{
    client_msg_t m;
    assert_int_equal (client_sub_recv (fx->sub, &m, 3000), VL_OK);
    assert_int_equal (m.kind, CLIENT_MSG_CURSOR);
    assert_int_equal (m.seq, seq);
    assert_int_equal (client_sub_cursor (fx->sub), seq);
}

static void
s_expect_nothing (fx_t *fx, int ms)
{
    client_msg_t m;
    assert_int_equal (client_sub_recv (fx->sub, &m, ms), VL_ETIMEOUT);
}

static void
live_count_and_gap_recovery (void **state)
{
    fx_t *fx = s_start (CLIENT_SUB_LIVE_ONLY);
    assert_false (client_sub_ready (fx->sub));
    assert_int_equal (client_sub_cursor (fx->sub), CLIENT_SUB_LIVE_ONLY);
    s_heartbeat (fx, 5);
    s_expect_cursor (fx, 5);                       /* live only: C = first head */
    assert_true (client_sub_ready (fx->sub));

    s_live (fx, "un.a", 6, 6);
    s_live (fx, "press.x", 7, 7);                  /* not subscribed */
    s_live (fx, "un.b", 8, 8);
    s_expect_event (fx, 6, false);
    s_expect_event (fx, 8, false);
    s_heartbeat (fx, 8);
    s_expect_request (fx, "count", 5, 8, 0);
    s_reply_end (fx, 8, 8, false, 2, 1);           /* 2 matching = 2 returned */
    s_expect_cursor (fx, 8);

    s_live (fx, "un.c", 9, 9);                     /* 10 is "dropped" */
    s_heartbeat (fx, 10);
    s_expect_event (fx, 9, false);
    s_expect_request (fx, "count", 8, 10, 0);
    s_reply_end (fx, 10, 10, false, 2, 1);         /* 2 matching, 1 returned */
    s_expect_request (fx, "replay", 8, -1, 10000);
    s_reply_event (fx, "un.c", 9, 9);              /* already returned: skipped */
    s_reply_event (fx, "un.d", 10, 10);
    s_reply_end (fx, 10, 10, false, 2, 1);
    s_expect_event (fx, 10, true);
    s_expect_cursor (fx, 10);

    s_live (fx, "un.e", 11, 6);                    /* same id as seq 6 */
    s_live (fx, "un.e", 10, 10);                   /* seq <= C */
    s_expect_nothing (fx, 200);
    client_sub_stats_t st;
    client_sub_get_stats (fx->sub, &st);
    assert_int_equal (st.dup_id, 1);
    assert_true (st.dup_seq >= 2);                 /* 9 in the replay, 10 live */
    assert_int_equal (st.live, 3);
    assert_int_equal (st.replayed, 1);
    assert_int_equal (st.gaps, 1);
    assert_int_equal (client_sub_head (fx->sub), 10);
    s_stop (fx);
}

static void
timeouts_cut_answers_and_resets (void **state)
{
    fx_t *fx = s_start (3);
    s_expect_cursor (fx, 3);                       /* from_seq: known at once */
    s_expect_request (fx, "replay", 3, -1, 10000);
    char first_rid[64];
    size_t first_len = fx->last_rid_len;
    memcpy (first_rid, fx->last_rid, first_len);
    /* no answer: retried on a fresh DEALER (another routing id) */
    s_expect_request (fx, "replay", 3, -1, 10000);
    assert_false (fx->last_rid_len == first_len && !memcmp (fx->last_rid, first_rid, first_len));
    /* a cut answer: E 4, E 5, then nothing -> continue after 5, smaller chunks */
    s_reply_event (fx, "un.a", 4, 4);
    s_reply_event (fx, "un.a", 5, 5);
    s_expect_event (fx, 4, true);
    s_expect_event (fx, 5, true);
    s_expect_request (fx, "replay", 5, -1, 500);
    s_reply_event (fx, "un.a", 5, 5);              /* overlap is harmless */
    s_reply_event (fx, "un.a", 6, 6);
    s_reply_end (fx, 6, 6, false, 2, 1);
    s_expect_event (fx, 6, true);
    s_expect_cursor (fx, 6);

    /* head backwards: journal wiped -> resync from 0 */
    s_heartbeat (fx, 2);
    s_expect_request (fx, "replay", 0, -1, 10000);
    s_reply_event (fx, "un.new", 1, 100);
    s_reply_event (fx, "un.new", 2, 4);            /* id seen before: dropped */
    s_reply_end (fx, 2, 2, false, 2, 1);
    s_expect_event (fx, 1, true);
    s_expect_cursor (fx, 2);

    /* retention: events 3..9 are gone */
    s_heartbeat (fx, 20);
    s_expect_request (fx, "count", 2, 20, 0);
    s_reply_end (fx, 20, 20, false, 0, 10);
    s_expect_cursor (fx, 20);

    /* malformed END: ignored, then a replay from the cursor */
    s_heartbeat (fx, 21);
    s_expect_request (fx, "count", 20, 21, 0);
    s_reply_rid (fx);
    zmq_send (fx->router, "END", 3, ZMQ_SNDMORE);
    zmq_send (fx->router, "\xdf\xff\xff\xff\xff", 5, 0);   /* map32 of 4 billion pairs */
    s_expect_request (fx, "replay", 20, -1, 10000);
    s_reply_end (fx, 21, 21, false, 0, 10);
    s_expect_cursor (fx, 21);

    client_sub_stats_t st;
    client_sub_get_stats (fx->sub, &st);
    assert_int_equal (st.resets, 1);
    assert_int_equal (st.lost_retention, 7);
    assert_true (st.timeouts >= 2);
    assert_int_equal (st.dup_id, 1);
    s_stop (fx);
}

/* A cursor persisted with the journal epoch it belongs to: the client
 * asks for an empty count first, and the END's epoch decides before any
 * event after the cursor is replayed. Another epoch (journal wiped while
 * the caller was down, new head already past the cursor): resync from 0. */
static void
persisted_epoch_is_checked_before_replaying (void **state)
{
    fx_t *fx = s_start_epoch (5, 0x1111);
    assert_int_equal (client_sub_epoch (fx->sub), 0x1111);
    s_expect_cursor (fx, 5);
    s_expect_request (fx, "count", 5, 5, 0);
    s_reply_end_epoch (fx, 8, 5, false, 0, 1, 0x1111);      /* same journal */
    s_expect_request (fx, "replay", 5, -1, 10000);
    s_reply_event (fx, "un.a", 6, 6);
    s_reply_end_epoch (fx, 8, 8, false, 1, 1, 0x1111);
    s_expect_event (fx, 6, true);
    s_expect_cursor (fx, 8);
    client_sub_stats_t st;
    client_sub_get_stats (fx->sub, &st);
    assert_int_equal (st.resets, 0);
    s_stop (fx);

    fx = s_start_epoch (5, 0x1111);
    s_expect_cursor (fx, 5);
    s_expect_request (fx, "count", 5, 5, 0);
    s_reply_end_epoch (fx, 8, 5, false, 0, 1, 0x2222);      /* new journal, head 8 > 5 */
    s_expect_request (fx, "replay", 0, -1, 10000);
    for (unsigned i = 1; i <= 8; i++)
        s_reply_event (fx, "un.new", i, 100 + i);
    s_reply_end_epoch (fx, 8, 8, false, 8, 1, 0x2222);
    for (unsigned i = 1; i <= 8; i++)
        s_expect_event (fx, i, true);
    s_expect_cursor (fx, 8);
    client_sub_get_stats (fx->sub, &st);
    assert_int_equal (st.resets, 1);
    assert_int_equal (client_sub_epoch (fx->sub), 0x2222);
    s_stop (fx);

    /* without an epoch to check, the replay starts at once (veille tail) */
    fx = s_start (5);
    s_expect_cursor (fx, 5);
    s_expect_request (fx, "replay", 5, -1, 10000);
    s_reply_end_epoch (fx, 8, 8, false, 0, 1, 0x2222);
    s_expect_cursor (fx, 8);
    assert_int_equal (client_sub_epoch (fx->sub), 0x2222);
    s_stop (fx);
}

static void
bad_options (void **state)
{
    void *ctx = zmq_ctx_new ();
    vl_err_t err;
    client_sub_opts_t o = { .sub_endpoint = NULL, .replay_endpoint = "tcp://127.0.0.1:1" };
    assert_null (client_sub_new (ctx, &o, &err));
    assert_int_equal (err, VL_EINVAL);
    o.sub_endpoint = "bogus://x";
    assert_null (client_sub_new (ctx, &o, &err));
    assert_int_not_equal (err, VL_OK);
    assert_int_equal (client_sub_recv (NULL, NULL, 0), VL_EINVAL);
    assert_int_equal (client_sub_cursor (NULL), CLIENT_SUB_LIVE_ONLY);
    zmq_ctx_term (ctx);
}

/* --- client_sub_probe ------------------------------------------------------ */

typedef enum { ANS_NONE, ANS_ERR, ANS_BAD_END, ANS_GOOD } ans_t;

#define PROBE_MAX_REQ 16

/* A fake replay endpoint: answers request i with script[i] (nothing past
 * the script), records when each request came, from which routing id, and
 * whether it was {op: replay, after: 0, limit: 1, prefixes: []}. */
typedef struct {
    void       *ctx, *router;
    char        ep[128];
    const ans_t *script;
    size_t      nscript;
    int         listen_ms;      /* the thread stops after this long at most */
    atomic_bool stop;           /* or when this is set */
    size_t      got;
    int64_t     at[PROBE_MAX_REQ];
    char        rid[PROBE_MAX_REQ][16];
    bool        request_ok[PROBE_MAX_REQ];
    pthread_t   thread;
} probe_fx_t;

static bool
s_key (msgpack_object k, const char *name)
{
    return k.type == MSGPACK_OBJECT_STR && k.via.str.size == strlen (name)
        && memcmp (k.via.str.ptr, name, k.via.str.size) == 0;
}

/* True if BODY is the probe request. */
static bool
s_is_probe_request (const char *body, size_t len)
{
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    bool ok = msgpack_unpack_next (&up, body, len, &off) == MSGPACK_UNPACK_SUCCESS
           && up.data.type == MSGPACK_OBJECT_MAP;
    int seen = 0;
    for (uint32_t i = 0; ok && i < up.data.via.map.size; i++) {
        msgpack_object k = up.data.via.map.ptr[i].key, v = up.data.via.map.ptr[i].val;
        if (s_key (k, "op"))
            ok = v.type == MSGPACK_OBJECT_STR && v.via.str.size == 6
              && memcmp (v.via.str.ptr, "replay", 6) == 0;
        else if (s_key (k, "after"))
            ok = v.type == MSGPACK_OBJECT_POSITIVE_INTEGER && v.via.u64 == 0;
        else if (s_key (k, "limit"))
            ok = v.type == MSGPACK_OBJECT_POSITIVE_INTEGER && v.via.u64 == 1;
        else if (s_key (k, "prefixes"))
            ok = v.type == MSGPACK_OBJECT_ARRAY && v.via.array.size == 0;
        else
            ok = false;
        seen++;
    }
    msgpack_unpacked_destroy (&up);
    return ok && seen == 4;
}

static void
s_probe_send_frames (void *router, zmq_msg_t *rid, const char **frames, const size_t *lens,
                     size_t n)
{
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    zmq_msg_copy (&copy, rid);
    zmq_msg_send (&copy, router, ZMQ_SNDMORE);
    for (size_t i = 0; i < n; i++)
        zmq_send (router, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

/* The good answer: E (seq 3, detected 1234567) then END {head 9, first 3,
 * epoch 0x77, next 3, more true}. */
static void
s_probe_answer_good (void *router, zmq_msg_t *rid)
{
    char id[EVENT_ID_HEX + 1];
    snprintf (id, sizeof id, "%032x", 3u);
    event_t ev = { .v = 1, .detected = 1234567 };
    event_set (&ev.id, id);
    event_set (&ev.type, "new");
    event_set (&ev.source, "test");
    event_set (&ev.topic, "any.x");
    event_set (&ev.title, "t");
    buf_t b;
    buf_init (&b, 1 << 20);
    event_encode (&ev, &b);
    event_clear (&ev);
    unsigned char seq[8];
    util_put_be64 (seq, 3);
    const char *e[] = { "E", "any.x", (const char *) seq, b.data };
    size_t elen[] = { 1, 5, 8, b.len };
    s_probe_send_frames (router, rid, e, elen, 4);
    buf_free (&b);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    const char *keys[] = { "head", "first", "epoch", "next" };
    uint64_t vals[] = { 9, 3, 0x77, 3 };
    for (int i = 0; i < 4; i++) {
        msgpack_pack_str (&pk, strlen (keys[i]));
        msgpack_pack_str_body (&pk, keys[i], strlen (keys[i]));
        msgpack_pack_uint64 (&pk, vals[i]);
    }
    msgpack_pack_str (&pk, 4);
    msgpack_pack_str_body (&pk, "more", 4);
    msgpack_pack_true (&pk);
    const char *end[] = { "END", sb.data };
    size_t endlen[] = { 3, sb.size };
    s_probe_send_frames (router, rid, end, endlen, 2);
    msgpack_sbuffer_destroy (&sb);
}

static void
s_probe_answer (void *router, zmq_msg_t *rid, ans_t a)
{
    const char *err[] = { "ERR", "busy" };
    size_t errlen[] = { 3, 4 };
    const char *bad[] = { "END", "\xdf\xff\xff\xff\xff" };   /* map32 of 4 billion pairs */
    size_t badlen[] = { 3, 5 };
    if (a == ANS_ERR)
        s_probe_send_frames (router, rid, err, errlen, 2);
    else if (a == ANS_BAD_END)
        s_probe_send_frames (router, rid, bad, badlen, 2);
    else if (a == ANS_GOOD)
        s_probe_answer_good (router, rid);
}

static void *
s_probe_broker (void *arg)
{
    probe_fx_t *fx = arg;
    int64_t end = util_mono_ms () + fx->listen_ms;
    zmq_pollitem_t it = { fx->router, 0, ZMQ_POLLIN, 0 };
    while (util_mono_ms () < end && fx->got < PROBE_MAX_REQ && !atomic_load (&fx->stop)) {
        if (zmq_poll (&it, 1, 20) <= 0)
            continue;
        zmq_msg_t rid;
        zmq_msg_init (&rid);
        char body[1024];
        if (zmq_msg_recv (&rid, fx->router, 0) < 0) {
            zmq_msg_close (&rid);
            continue;
        }
        int n = zmq_recv (fx->router, body, sizeof body, 0);
        size_t i = fx->got++;
        fx->at[i] = util_mono_ms ();
        size_t rl = zmq_msg_size (&rid) < sizeof fx->rid[i] ? zmq_msg_size (&rid) : sizeof fx->rid[i];
        memcpy (fx->rid[i], zmq_msg_data (&rid), rl);
        fx->request_ok[i] = n > 0 && s_is_probe_request (body, (size_t) n);
        s_probe_answer (fx->router, &rid, i < fx->nscript ? fx->script[i] : ANS_NONE);
        zmq_msg_close (&rid);
    }
    return NULL;
}

static probe_fx_t *
s_probe_start (const ans_t *script, size_t n, int listen_ms)
{
    probe_fx_t *fx = calloc (1, sizeof *fx);
    fx->ctx = zmq_ctx_new ();
    fx->router = zmq_socket (fx->ctx, ZMQ_ROUTER);
    s_bind (fx->router, fx->ep, sizeof fx->ep);
    fx->script = script;
    fx->nscript = n;
    fx->listen_ms = listen_ms;
    assert_int_equal (pthread_create (&fx->thread, NULL, s_probe_broker, fx), 0);
    return fx;
}

/* Waits for the fake broker's thread and closes it; FX stays readable
 * (the caller frees it). */
static void
s_probe_stop (probe_fx_t *fx)
{
    atomic_store (&fx->stop, true);
    pthread_join (fx->thread, NULL);
    zmq_close (fx->router);
    zmq_ctx_term (fx->ctx);
}

static vl_err_t
s_probe (probe_fx_t *fx, int timeout_ms, int wait_ms, client_sub_journal_t *j)
{
    client_sub_opts_t o = { .replay_endpoint = fx->ep, .request_timeout_ms = timeout_ms };
    return client_sub_probe (fx->ctx, &o, wait_ms, j);
}

/* ERR, then a malformed END: each asked again after a pause (not at
 * once), then the answer gives head, first, epoch and the oldest event's
 * `detected`. */
static void
probe_backs_off_then_reads_the_journal (void **state)
{
    static const ans_t script[] = { ANS_ERR, ANS_BAD_END, ANS_GOOD };
    probe_fx_t *fx = s_probe_start (script, 3, 6000);
    client_sub_journal_t j;
    assert_int_equal (s_probe (fx, 2000, 8000, &j), VL_OK);
    assert_int_equal (j.head, 9);
    assert_int_equal (j.first, 3);
    assert_int_equal (j.epoch, 0x77);
    assert_true (j.has_oldest);
    assert_int_equal (j.oldest_detected_ms, 1234567);
    s_probe_stop (fx);
    assert_int_equal (fx->got, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true (fx->request_ok[i]);
    assert_true (fx->at[1] - fx->at[0] >= 900);
    assert_true (fx->at[2] - fx->at[1] >= 900);
    free (fx);
}

/* An ERR for every request: bounded retries (about one a second), and
 * VL_EREMOTE when the time is up. */
static void
probe_gives_up_with_the_last_error (void **state)
{
    static const ans_t script[] = { ANS_ERR, ANS_ERR, ANS_ERR, ANS_ERR, ANS_ERR, ANS_ERR };
    probe_fx_t *fx = s_probe_start (script, 6, 3500);
    client_sub_journal_t j;
    int64_t t0 = util_mono_ms ();
    assert_int_equal (s_probe (fx, 2000, 2500, &j), VL_EREMOTE);
    int64_t took = util_mono_ms () - t0;
    assert_true (took >= 2400 && took < 10000);   /* returns when its time is up (loose: a loaded machine) */
    assert_int_equal (j.head, 0);
    s_probe_stop (fx);
    assert_true (fx->got >= 2 && fx->got <= 3);
    free (fx);
}

/* No answer: asked again on a fresh DEALER (another routing id) each
 * request timeout, VL_ETIMEOUT when the time is up. */
static void
probe_silence_retries_on_a_fresh_socket (void **state)
{
    probe_fx_t *fx = s_probe_start (NULL, 0, 1500);
    client_sub_journal_t j;
    assert_int_equal (s_probe (fx, 200, 700, &j), VL_ETIMEOUT);
    s_probe_stop (fx);
    assert_true (fx->got >= 2 && fx->got <= 4);
    assert_true (fx->request_ok[0] && fx->request_ok[1]);
    assert_memory_not_equal (fx->rid[0], fx->rid[1], sizeof fx->rid[0]);
    free (fx);

    void *ctx = zmq_ctx_new ();
    client_sub_opts_t o = { .replay_endpoint = "bogus://x" };
    assert_int_equal (client_sub_probe (ctx, &o, 100, &j), VL_EINVAL);
    assert_int_equal (client_sub_probe (ctx, NULL, 100, &j), VL_EINVAL);
    zmq_ctx_term (ctx);
}

int
main (void)
{
    log_setup ("test_client_sub", LOG_LVL_OFF, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (live_count_and_gap_recovery),
        cmocka_unit_test (timeouts_cut_answers_and_resets),
        cmocka_unit_test (persisted_epoch_is_checked_before_replaying),
        cmocka_unit_test (bad_options),
        cmocka_unit_test (probe_backs_off_then_reads_the_journal),
        cmocka_unit_test (probe_gives_up_with_the_last_error),
        cmocka_unit_test (probe_silence_retries_on_a_fresh_socket),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
