/* client_sub.c: gap-proof subscription (live SUB + replay DEALER).
 *
 * The cursor C means: every matching event with seq <= C has been
 * returned. Events returned with seq > C are remembered in two sorted rings
 * (seqs only): `live` for the SUB stream and `rep` for the replay stream
 * (each stream is in seq order on its own). Whenever C advances, both are
 * pruned. C only advances on a reply of the replay endpoint:
 *   - replay END: C = next (every matching event in (after, next] was sent);
 *   - count END:  the broker counts the matching events in (C, H]; if the
 *     rings hold exactly that many seqs <= H, nothing was missed: C = H;
 *     otherwise a replay from C fetches what is missing;
 *   - the first head (live-only start): C = head.
 * Heartbeats carry the broker head H; H > C starts a count. Heartbeats and
 * END carry the journal epoch: the first one seen is remembered, and a
 * different one later means a new journal (wiped or replaced): C goes back
 * to 0 and everything is replayed (resets counter); without epoch, H < C
 * is the fallback sign of a new journal. A caller that persisted the epoch
 * with its cursor passes it back at start: the first request is then a
 * count over (C, C], whose END shows the broker's epoch before any event
 * of a possibly new journal is replayed after C. A second guard
 * drops an event whose id was returned recently (window of ids). At most
 * one request is outstanding; a request without an answer in time is sent
 * again on a fresh DEALER (so a lost reply cannot wedge the socket).
 * docs/protocol.md describes the same algorithm for other languages. */
#include "client_sub.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "event.h"
#include "hset.h"
#include "log.h"
#include "mpack.h"
#include "mpread.h"
#include "util.h"
#include "wire.h"

#define SUB_LIVE_CAP      262144u   /* seqs remembered above C (live) */
#define SUB_REP_CAP       (2u * WIRE_REPLAY_MAX_LIMIT)
#define SUB_ID_WINDOW     65536u    /* event ids remembered */
#define SUB_REPLAY_LIMIT  2000
#define SUB_RETRY_MS      1000
#define SUB_MAX_PARTS     4
#define SUB_MP_DEPTH      16
#define SUB_SILENT_WARN_MS 5000     /* no heartbeat yet after that long: say so */

typedef enum { REQ_NONE, REQ_HEAD, REQ_COUNT, REQ_REPLAY } sub_req_t;

/* Sorted ring of seqs. */
typedef struct {
    uint64_t *v;
    size_t    cap, start, n;
} seq_ring_t;

struct client_sub {
    void       *ctx;
    void       *sub;
    void       *dealer;
    char       *sub_ep;
    char       *replay_ep;
    char      **prefixes;
    size_t      nprefixes;
    bool        all;
    bool        has_curve;
    curve_client_t curve;
    int         req_timeout_ms;

    bool        known;          /* C is valid */
    uint64_t    cursor;         /* C */
    uint64_t    emitted;        /* last CURSOR returned */
    bool        emitted_any;
    uint64_t    head;
    uint64_t    epoch;          /* broker journal epoch, 0 = none seen yet */
    bool        probe_epoch;    /* check the given epoch before replaying */
    bool        heartbeat_seen;
    int64_t     created_at;     /* util_mono_ms at client_sub_new */
    bool        silence_warned; /* the "no heartbeat" warning was given */
    bool        need_replay;
    uint64_t    lost_warned;    /* retention loss already reported up to */

    seq_ring_t  live, rep;

    sub_req_t   req;
    uint64_t    req_after, req_upto;
    bool        probe_count;      /* client_sub_ask: op count */
    uint64_t    probe_after;      /* client_sub_ask: after */
    uint64_t    req_last;       /* last "E" seq of the current answer */
    int64_t     req_sent_at;    /* last send or last message of the answer */
    int         limit;          /* replay chunk size (adaptive) */
    int64_t     retry_at;
    buf_t       reqbuf;

    hset_t      ids;            /* id hash -> its position in id_ring */
    uint64_t   *id_ring;        /* FIFO of the hashes of the ids remembered */
    size_t      id_pos, id_n;

    zmq_msg_t   held[SUB_MAX_PARTS];
    size_t      nheld;
    int         turn;
    client_sub_stats_t stats;
};

/* --- seq rings ----------------------------------------------------------- */

static uint64_t
s_ring_at (const seq_ring_t *r, size_t i)
{
    return r->v[(r->start + i) % r->cap];
}

static bool
s_ring_push (seq_ring_t *r, uint64_t seq)
{
    if (r->n == r->cap)
        return false;
    r->v[(r->start + r->n) % r->cap] = seq;
    r->n++;
    return true;
}

static uint64_t
s_ring_last (const seq_ring_t *r)
{
    return r->n ? s_ring_at (r, r->n - 1) : 0;
}

/* Number of seqs <= LIMIT: all or none without a search in the common
 * cases (a live event newer than every one remembered, a prune that keeps
 * them all), else a binary search. */
static size_t
s_ring_count_le (const seq_ring_t *r, uint64_t limit)
{
    if (r->n == 0 || s_ring_at (r, 0) > limit)
        return 0;
    if (s_ring_at (r, r->n - 1) <= limit)
        return r->n;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_ring_at (r, mid) <= limit)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool
s_ring_has (const seq_ring_t *r, uint64_t seq)
{
    size_t k = s_ring_count_le (r, seq);
    return k > 0 && s_ring_at (r, k - 1) == seq;
}

static void
s_ring_prune (seq_ring_t *r, uint64_t upto)
{
    size_t k = s_ring_count_le (r, upto);
    r->start = (r->start + k) % r->cap;
    r->n -= k;
}

/* --- event id window ----------------------------------------------------- */

/* True if ID was already seen; otherwise records it (evicting the oldest).
 * Ids are told apart by their 64-bit keyed hash (collisions: 2^-64). */
static bool
s_id_seen (client_sub_t *self, const char *id, size_t len)
{
    uint64_t h = hset_hash (&self->ids, id, len);
    uint32_t r;
    for (hset_probe_t p = hset_probe (&self->ids, h); hset_next (&p, &r);)
        if (self->id_ring[r] == h)
            return true;
    if (self->id_n == SUB_ID_WINDOW) {
        hset_remove (&self->ids, self->id_ring[self->id_pos], (uint32_t) self->id_pos);
        self->id_n--;
    }
    self->id_ring[self->id_pos] = h;
    hset_add (&self->ids, h, (uint32_t) self->id_pos);   /* sized for the window */
    self->id_pos = (self->id_pos + 1) % SUB_ID_WINDOW;
    self->id_n++;
    return false;
}

/* --- messages from the replay endpoint ---------------------------------- */

typedef struct {
    uint64_t head, next, count, first, epoch;
    bool     more, has_head, has_next, has_count;
} sub_end_t;

/* Parses the END map of an answer: unsigned head, next, count, first,
 * epoch and boolean more (unknown keys skipped); head is required. */
static bool
s_parse_end (const void *data, size_t len, sub_end_t *end)
{
    memset (end, 0, sizeof *end);
    mpread_t r;
    uint32_t n;
    mpread_init (&r, data, len);
    if (!mpread_map (&r, &n))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t klen;
        if (!mpread_str (&r, &k, &klen))
            return false;
        bool ok;
        if (mpread_key_is (k, klen, "head"))
            ok = end->has_head = mpread_uint (&r, &end->head);
        else if (mpread_key_is (k, klen, "next"))
            ok = end->has_next = mpread_uint (&r, &end->next);
        else if (mpread_key_is (k, klen, "count"))
            ok = end->has_count = mpread_uint (&r, &end->count);
        else if (mpread_key_is (k, klen, "first"))
            ok = mpread_uint (&r, &end->first);
        else if (mpread_key_is (k, klen, "epoch"))
            ok = mpread_uint (&r, &end->epoch);
        else if (mpread_key_is (k, klen, "more"))
            ok = mpread_bool (&r, &end->more);
        else
            ok = mpread_skip (&r, SUB_MP_DEPTH);
        if (!ok)
            return false;
    }
    return mpread_done (&r) && end->has_head;
}

/* --- requests ------------------------------------------------------------ */

/* Encodes a request {op, after, [upto], prefixes, limit} into self->reqbuf
 * (VL_ETOOBIG past WIRE_REPLAY_MAX_REQUEST). */
static vl_err_t
s_build_request (client_sub_t *self, const char *op, uint64_t after, bool with_upto,
                 uint64_t upto)
{
    mpack_out_t out = { &self->reqbuf, VL_OK };
    buf_reset (out.out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, mpack_out_write);
    msgpack_pack_map (&pk, with_upto ? 5 : 4);
    mpack_kv_str (&pk, "op", op);
    mpack_kv_uint (&pk, "after", after);
    if (with_upto)
        mpack_kv_uint (&pk, "upto", upto);
    mpack_str (&pk, "prefixes");
    msgpack_pack_array (&pk, self->all ? 0 : self->nprefixes);
    for (size_t i = 0; !self->all && i < self->nprefixes; i++)
        mpack_str (&pk, self->prefixes[i]);
    mpack_kv_uint (&pk, "limit", (uint64_t) self->limit);
    return out.rc != VL_OK ? VL_ETOOBIG : VL_OK;
}

/* --- lifecycle ----------------------------------------------------------- */

static void
s_release_held (client_sub_t *self)
{
    for (size_t i = 0; i < self->nheld; i++)
        zmq_msg_close (&self->held[i]);
    self->nheld = 0;
}

static void
s_close_dealer (client_sub_t *self)
{
    if (self->dealer)
        zmq_close (self->dealer);
    self->dealer = NULL;
}

/* Opens a fresh DEALER to the replay endpoint (a late reply to an abandoned
 * request dies with the old socket). */
static vl_err_t
s_open_dealer (client_sub_t *self)
{
    s_close_dealer (self);
    self->dealer = zmq_socket (self->ctx, ZMQ_DEALER);
    if (!self->dealer)
        return VL_ENOMEM;
    int zero = 0, hwm = 0;
    if (zmq_setsockopt (self->dealer, ZMQ_LINGER, &zero, sizeof zero) != 0
        || zmq_setsockopt (self->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        return VL_EINVAL;
    if (self->has_curve && curve_client_apply (self->dealer, &self->curve) != VL_OK)
        return VL_EINVAL;
    if (zmq_connect (self->dealer, self->replay_ep) != 0) {
        log_error ("client_sub: cannot connect to %s: %s", self->replay_ep,
                   zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    return VL_OK;
}

static vl_err_t
s_open_sub (client_sub_t *self, const client_sub_opts_t *opts)
{
    self->sub = zmq_socket (self->ctx, ZMQ_SUB);
    if (!self->sub)
        return VL_ENOMEM;
    int zero = 0;
    zmq_setsockopt (self->sub, ZMQ_LINGER, &zero, sizeof zero);
    if (opts->sub_rcvhwm) {
        int hwm = opts->sub_rcvhwm < 0 ? 0 : opts->sub_rcvhwm;
        zmq_setsockopt (self->sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    }
    if (self->has_curve && curve_client_apply (self->sub, &self->curve) != VL_OK)
        return VL_EINVAL;
    /* prefixes first, the heartbeat last: once a heartbeat arrives, every
     * subscription before it is active at the broker */
    for (size_t i = 0; i < self->nprefixes; i++)
        zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, self->prefixes[i], strlen (self->prefixes[i]));
    if (!self->all)
        zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, WIRE_TOPIC_HEARTBEAT,
                        strlen (WIRE_TOPIC_HEARTBEAT));
    if (zmq_connect (self->sub, opts->sub_endpoint) != 0) {
        log_error ("client_sub: cannot connect to %s: %s", opts->sub_endpoint,
                   zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    return VL_OK;
}

static vl_err_t
s_copy_opts (client_sub_t *self, const client_sub_opts_t *opts)
{
    self->sub_ep = util_strdup (opts->sub_endpoint);
    self->replay_ep = util_strdup (opts->replay_endpoint);
    self->prefixes = calloc (opts->nprefixes ? opts->nprefixes : 1, sizeof (char *));
    if (!self->sub_ep || !self->replay_ep || !self->prefixes)
        return VL_ENOMEM;
    for (size_t i = 0; i < opts->nprefixes; i++) {
        const char *p = opts->prefixes[i] ? opts->prefixes[i] : "";
        if (strlen (p) > EVENT_MAX_TOPIC)
            return VL_EINVAL;
        if (!*p)
            self->all = true;
        self->prefixes[i] = util_strdup (p);
        if (!self->prefixes[i])
            return VL_ENOMEM;
        self->nprefixes++;
    }
    if (self->nprefixes == 0) {
        self->prefixes[0] = util_strdup ("");
        if (!self->prefixes[0])
            return VL_ENOMEM;
        self->nprefixes = 1;
        self->all = true;
    }
    if (self->nprefixes > WIRE_REPLAY_MAX_PREFIXES)
        return VL_EINVAL;
    if (opts->curve) {
        self->curve = *opts->curve;
        self->has_curve = true;
    }
    return VL_OK;
}

client_sub_t *
client_sub_new (void *zmq_ctx, const client_sub_opts_t *opts, vl_err_t *err)
{
    vl_err_t dummy;
    if (!err)
        err = &dummy;
    *err = VL_EINVAL;
    if (!zmq_ctx || !opts || !opts->sub_endpoint || !opts->replay_endpoint)
        return NULL;
    client_sub_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    self->ctx = zmq_ctx;
    self->created_at = util_mono_ms ();
    self->req_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms : 5000;
    self->limit = SUB_REPLAY_LIMIT;
    buf_init (&self->reqbuf, WIRE_REPLAY_MAX_REQUEST);
    self->live.cap = SUB_LIVE_CAP;
    self->rep.cap = SUB_REP_CAP;
    self->live.v = malloc (SUB_LIVE_CAP * sizeof (uint64_t));
    self->rep.v = malloc (SUB_REP_CAP * sizeof (uint64_t));
    self->id_ring = calloc (SUB_ID_WINDOW, sizeof (uint64_t));
    *err = (!self->live.v || !self->rep.v || !self->id_ring
            || hset_init (&self->ids, SUB_ID_WINDOW, SUB_ID_WINDOW) != VL_OK)
         ? VL_ENOMEM : s_copy_opts (self, opts);
    if (*err == VL_OK)
        *err = s_open_sub (self, opts);
    if (*err == VL_OK)
        *err = s_open_dealer (self);
    if (*err != VL_OK) {
        client_sub_destroy (&self);
        return NULL;
    }
    if (opts->from_seq != CLIENT_SUB_LIVE_ONLY) {
        self->known = true;
        self->cursor = opts->from_seq;
        self->need_replay = true;
        self->epoch = opts->epoch;
        self->probe_epoch = opts->epoch != 0 && opts->from_seq > 0;
    }
    return self;
}

void
client_sub_destroy (client_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_sub_t *self = *self_p;
    s_release_held (self);
    s_close_dealer (self);
    if (self->sub)
        zmq_close (self->sub);
    for (size_t i = 0; self->prefixes && i < self->nprefixes; i++)
        free (self->prefixes[i]);
    free (self->prefixes);
    free (self->sub_ep);
    free (self->replay_ep);
    free (self->live.v);
    free (self->rep.v);
    hset_free (&self->ids);
    free (self->id_ring);
    buf_free (&self->reqbuf);
    memset (&self->curve, 0, sizeof self->curve);
    free (self);
    *self_p = NULL;
}

/* --- cursor -------------------------------------------------------------- */

static void
s_advance (client_sub_t *self, uint64_t c)
{
    if (c > self->cursor || !self->known) {
        self->cursor = c;
        self->known = true;
    }
    s_ring_prune (&self->live, self->cursor);
    s_ring_prune (&self->rep, self->cursor);
}

/* The broker's journal was wiped or replaced. Start over from 0 (the id
 * window drops what was seen). */
static void
s_resync (client_sub_t *self)
{
    self->stats.resets++;
    self->cursor = 0;
    self->known = true;
    self->emitted_any = false;
    self->live.n = self->rep.n = 0;
    self->lost_warned = 0;
    self->need_replay = true;
    self->probe_epoch = false;
    if (self->req != REQ_NONE) {
        self->req = REQ_NONE;
        s_open_dealer (self);
    }
}

/* Fallback for brokers without epoch: the head went below the cursor. */
static void
s_note_head (client_sub_t *self, uint64_t head)
{
    if (self->known && head < self->cursor) {
        log_warn ("client_sub: broker head %" PRIu64 " is behind our cursor %" PRIu64
                  " (journal wiped or replaced?); resyncing from 0", head, self->cursor);
        s_resync (self);
    }
    self->head = head;
}

/* EPOCH from a heartbeat or an END (0 = the broker sends none): a change
 * means a new journal, whatever its head. */
static void
s_note_epoch (client_sub_t *self, uint64_t epoch)
{
    if (epoch == 0)
        return;
    if (self->epoch != 0 && epoch != self->epoch) {
        log_warn ("client_sub: broker journal epoch changed (%016" PRIx64 " -> %016" PRIx64
                  "): journal wiped or replaced; resyncing from 0", self->epoch, epoch);
        s_resync (self);
    }
    self->epoch = epoch;
}

/* The epoch in a heartbeat body (a msgpack map), 0 if none. */
static uint64_t
s_body_epoch (const void *data, size_t len)
{
    mpread_t r;
    uint64_t v;
    mpread_init (&r, data, len);
    return mpread_find (&r, "epoch", 4) && mpread_uint (&r, &v) ? v : 0;
}

static void
s_check_retention (client_sub_t *self, uint64_t first)
{
    if (first > self->cursor + 1 && first - 1 > self->lost_warned) {
        uint64_t from = self->cursor + 1 > self->lost_warned + 1
                      ? self->cursor + 1 : self->lost_warned + 1;
        log_warn ("client_sub: events %" PRIu64 "..%" PRIu64 " are no longer in the "
                  "broker journal (retention): they are lost for this subscriber",
                  from, first - 1);
        self->lost_warned = first - 1;
        self->stats.lost_retention += first - from;
    }
}

/* --- requests ------------------------------------------------------------ */

static void
s_send_request (client_sub_t *self)
{
    bool replay = self->req == REQ_REPLAY;
    if (s_build_request (self, replay ? WIRE_REPLAY_OP_REPLAY : WIRE_REPLAY_OP_COUNT,
                         self->req_after, !replay, self->req_upto) != VL_OK
        || zmq_send (self->dealer, self->reqbuf.data, self->reqbuf.len, ZMQ_DONTWAIT) < 0) {
        /* no connection yet: the request timer retries */
        log_debug ("client_sub: replay request not sent yet");
    }
    self->req_last = 0;
    self->req_sent_at = util_mono_ms ();
}

/* Starts the next request if none is outstanding and one is needed. */
static void
s_maybe_request (client_sub_t *self, int64_t now)
{
    if (self->req != REQ_NONE || !self->known || now < self->retry_at)
        return;
    if (self->probe_epoch) {
        /* an empty count: its END carries the epoch (and the head) */
        self->probe_epoch = false;
        self->req = REQ_COUNT;
        self->req_after = self->req_upto = self->cursor;
        self->stats.counts++;
    }
    else if (self->need_replay) {
        self->need_replay = false;
        self->req = REQ_REPLAY;
        self->req_after = self->cursor;
        self->stats.replays++;
    }
    else if (self->head > self->cursor) {
        self->req = REQ_COUNT;
        self->req_after = self->cursor;
        self->req_upto = self->head;
        self->stats.counts++;
    }
    else
        return;
    s_send_request (self);
}

static void
s_check_request_timeout (client_sub_t *self, int64_t now)
{
    if (self->req == REQ_NONE || now - self->req_sent_at < self->req_timeout_ms)
        return;
    self->stats.timeouts++;
    if (self->req == REQ_REPLAY && self->req_last > self->cursor) {
        /* The broker abandons an answer it cannot send (slow reader) and
         * never skips within one: the E messages received are a gap-free
         * prefix, so continue after the last one, in smaller chunks. */
        log_info ("client_sub: replay answer cut after seq %" PRIu64 "; continuing",
                  self->req_last);
        s_advance (self, self->req_last);
        self->limit = self->limit / 4 > 0 ? self->limit / 4 : 1;
    }
    else
        log_warn ("client_sub: no answer from the replay endpoint %s in %d ms; retrying",
                  self->replay_ep, self->req_timeout_ms);
    s_open_dealer (self);
    if (self->req == REQ_REPLAY)
        self->req_after = self->cursor;   /* continue where we are */
    s_send_request (self);
}

static void
s_on_end (client_sub_t *self, const void *data, size_t len)
{
    sub_end_t end;
    if (!s_parse_end (data, len, &end)) {
        log_warn ("client_sub: malformed END from the replay endpoint; retrying later");
        self->req = REQ_NONE;
        self->retry_at = util_mono_ms () + SUB_RETRY_MS;
        self->need_replay = true;
        return;
    }
    sub_req_t kind = self->req;
    uint64_t resets = self->stats.resets;
    self->req = REQ_NONE;
    s_note_epoch (self, end.epoch);
    if (self->stats.resets == resets)
        s_note_head (self, end.head);
    if (self->stats.resets != resets)
        return;  /* this END showed a wiped journal; a fresh replay follows */
    if (end.first)
        s_check_retention (self, end.first);
    if (kind == REQ_REPLAY) {
        uint64_t next = end.has_next ? end.next : end.head;
        s_advance (self, next);
        if (self->limit < SUB_REPLAY_LIMIT)
            self->limit = self->limit * 2 < SUB_REPLAY_LIMIT ? self->limit * 2 : SUB_REPLAY_LIMIT;
        if (end.more) {
            self->req = REQ_REPLAY;
            self->req_after = self->cursor;
            s_send_request (self);
        }
        return;
    }
    /* count over (after, upto]: compare with what we returned */
    size_t have = s_ring_count_le (&self->live, self->req_upto)
                + s_ring_count_le (&self->rep, self->req_upto);
    if (end.has_count && end.count == have && self->cursor == self->req_after)
        s_advance (self, self->req_upto);
    else {
        log_debug ("client_sub: count (%" PRIu64 ", %" PRIu64 "] = %" PRIu64
                   ", returned %zu: replaying", self->req_after, self->req_upto,
                   end.count, have);
        self->stats.gaps++;
        self->need_replay = true;
    }
}

/* --- messages ------------------------------------------------------------ */

/* Receives one multipart message into self->held without blocking.
 * Returns false if nothing was waiting. Frames past SUB_MAX_PARTS are
 * dropped and reported through *TOO_MANY. */
static bool
s_recv_parts (client_sub_t *self, void *sock, bool *too_many)
{
    s_release_held (self);
    *too_many = false;
    zmq_msg_init (&self->held[0]);
    if (zmq_msg_recv (&self->held[0], sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&self->held[0]);
        return false;
    }
    self->nheld = 1;
    bool more = zmq_msg_more (&self->held[0]);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *m = self->nheld < SUB_MAX_PARTS ? &self->held[self->nheld] : &extra;
        zmq_msg_init (m);
        if (zmq_msg_recv (m, sock, 0) < 0) {
            zmq_msg_close (m);
            break;
        }
        more = zmq_msg_more (m);
        if (m == &extra) {
            zmq_msg_close (&extra);
            *too_many = true;
        }
        else
            self->nheld++;
    }
    return true;
}

static bool
s_topic_matches (const client_sub_t *self, const char *topic, size_t len)
{
    if (self->all)
        return true;
    for (size_t i = 0; i < self->nprefixes; i++) {
        size_t pl = strlen (self->prefixes[i]);
        if (pl <= len && memcmp (topic, self->prefixes[i], pl) == 0)
            return true;
    }
    return false;
}

static bool
s_is_topic (const zmq_msg_t *m, const char *name)
{
    size_t n = strlen (name);
    return zmq_msg_size ((zmq_msg_t *) m) == n && memcmp (zmq_msg_data ((zmq_msg_t *) m), name, n) == 0;
}

/* Fills MSG from held frames TOPIC/SEQ/EVENT if the event id is new. */
static bool
s_deliver (client_sub_t *self, client_msg_t *msg, size_t ti, uint64_t seq, bool replayed)
{
    zmq_msg_t *t = &self->held[ti], *e = &self->held[ti + 2];
    const char *id;
    size_t idlen;
    if (mpread_event_id (zmq_msg_data (e), zmq_msg_size (e), &id, &idlen)
        && s_id_seen (self, id, idlen)) {
        self->stats.dup_id++;
        return false;
    }
    memset (msg, 0, sizeof *msg);
    msg->kind = CLIENT_MSG_EVENT;
    msg->topic = zmq_msg_data (t);
    msg->topic_len = zmq_msg_size (t);
    msg->seq = seq;
    msg->data = zmq_msg_data (e);
    msg->len = zmq_msg_size (e);
    msg->replayed = replayed;
    if (replayed)
        self->stats.replayed++;
    else
        self->stats.live++;
    return true;
}

/* One message from the SUB socket: -1 none waiting, 0 consumed, 1 MSG set. */
static int
s_from_sub (client_sub_t *self, client_msg_t *msg)
{
    bool too_many;
    if (!s_recv_parts (self, self->sub, &too_many))
        return -1;
    if (self->nheld != 3 || too_many || zmq_msg_size (&self->held[1]) != WIRE_SEQ_LEN)
        return 0;
    uint64_t seq = util_get_be64 (zmq_msg_data (&self->held[1]));
    if (s_is_topic (&self->held[0], WIRE_TOPIC_HEARTBEAT)) {
        if (!self->heartbeat_seen && self->silence_warned)
            log_warn ("client_sub: broker at %s reached: first heartbeat received", self->sub_ep);
        self->heartbeat_seen = true;
        s_note_epoch (self, s_body_epoch (zmq_msg_data (&self->held[2]),
                                          zmq_msg_size (&self->held[2])));
        if (!self->known) {
            s_advance (self, seq);
            self->head = seq;
        }
        else
            s_note_head (self, seq);
        return 0;
    }
    if (s_is_topic (&self->held[0], WIRE_TOPIC_STATS)
        || !s_topic_matches (self, zmq_msg_data (&self->held[0]), zmq_msg_size (&self->held[0])))
        return 0;
    if (self->known && seq <= self->cursor) {
        self->stats.dup_seq++;
        return 0;
    }
    if (s_ring_has (&self->live, seq) || s_ring_has (&self->rep, seq)) {
        self->stats.dup_seq++;
        return 0;
    }
    if (self->live.n && seq < s_ring_last (&self->live)) {
        self->need_replay = true;   /* out of order: let the replay bring it */
        return 0;
    }
    if (!s_ring_push (&self->live, seq)) {
        self->stats.overflows++;
        if (self->known) {
            self->need_replay = true;   /* too many to remember: replay it */
            return 0;
        }
    }
    return s_deliver (self, msg, 0, seq, false) ? 1 : 0;
}

static int
s_on_replay_event (client_sub_t *self, client_msg_t *msg)
{
    if (self->req != REQ_REPLAY || self->nheld != 4
        || zmq_msg_size (&self->held[2]) != WIRE_SEQ_LEN)
        return 0;
    uint64_t seq = util_get_be64 (zmq_msg_data (&self->held[2]));
    self->req_sent_at = util_mono_ms ();   /* the answer is flowing */
    if (seq > self->req_last)
        self->req_last = seq;
    if (seq <= self->cursor || s_ring_has (&self->live, seq) || s_ring_has (&self->rep, seq)) {
        self->stats.dup_seq++;
        return 0;
    }
    if (!s_topic_matches (self, zmq_msg_data (&self->held[1]), zmq_msg_size (&self->held[1])))
        return 0;
    if (!self->rep.n || seq > s_ring_last (&self->rep))
        s_ring_push (&self->rep, seq);
    return s_deliver (self, msg, 1, seq, true) ? 1 : 0;
}

/* Logs the ERR answer held in self->held (its text, sanitized); the
 * request is asked again SUB_RETRY_MS later. */
static void
s_log_remote_error (client_sub_t *self)
{
    char text[256] = "";
    if (self->nheld > 1) {
        zmq_msg_t *m = &self->held[1];
        size_t n = zmq_msg_size (m);
        log_sanitize (text, sizeof text, zmq_msg_data (m), n < sizeof text ? n : sizeof text - 1);
    }
    log_warn ("client_sub: replay endpoint %s error (retrying in %d ms): %s", self->replay_ep,
              SUB_RETRY_MS, text);
}

/* One message from the replay DEALER: -1 none waiting, 0 consumed, 1 MSG set. */
static int
s_from_replay (client_sub_t *self, client_msg_t *msg)
{
    bool too_many;
    if (!self->dealer || !s_recv_parts (self, self->dealer, &too_many))
        return -1;
    if (self->req == REQ_NONE || too_many)
        return 0;   /* stray reply */
    if (s_is_topic (&self->held[0], WIRE_REPLAY_EVENT))
        return s_on_replay_event (self, msg);
    if (s_is_topic (&self->held[0], WIRE_REPLAY_END) && self->nheld == 2)
        s_on_end (self, zmq_msg_data (&self->held[1]), zmq_msg_size (&self->held[1]));
    else if (s_is_topic (&self->held[0], WIRE_REPLAY_ERR)) {
        s_log_remote_error (self);
        if (self->req == REQ_REPLAY)
            self->need_replay = true;   /* a count is redone anyway: head > C */
        self->req = REQ_NONE;
        self->retry_at = util_mono_ms () + SUB_RETRY_MS;
    }
    return 0;
}

/* Warns once when no heartbeat came SUB_SILENT_WARN_MS after the start: a
 * missing broker, a wrong endpoint and a refused CURVE key all look like
 * silence to a SUB socket. Returns the ms until the warning is due (-1 =
 * not any more). */
static long
s_check_silence (client_sub_t *self, int64_t now)
{
    if (self->heartbeat_seen || self->silence_warned)
        return -1;
    long left = (long) (self->created_at + SUB_SILENT_WARN_MS - now);
    if (left > 0)
        return left;
    self->silence_warned = true;
    log_warn ("client_sub: no heartbeat from the broker at %s after %d s (it sends one every "
              "broker.heartbeat_ms, 1 s by default): is veille-broker running there, and is "
              "the endpoint right?%s", self->sub_ep,
              SUB_SILENT_WARN_MS / 1000,
              self->has_curve ? " With CURVE, the broker may be refusing this client's key "
                                "(not in its subscriber allow-list, or the wrong server key): "
                                "a refused client gets no answer at all" : "");
    return -1;
}

static bool
s_cursor_msg (client_sub_t *self, client_msg_t *msg)
{
    if (!self->known || (self->emitted_any && self->emitted == self->cursor))
        return false;
    self->emitted = self->cursor;
    self->emitted_any = true;
    memset (msg, 0, sizeof *msg);
    msg->kind = CLIENT_MSG_CURSOR;
    msg->seq = self->cursor;
    return true;
}

vl_err_t
client_sub_recv (client_sub_t *self, client_msg_t *msg, int timeout_ms)
{
    if (!self || !msg)
        return VL_EINVAL;
    s_release_held (self);
    int64_t start = util_mono_ms ();
    for (;;) {
        int64_t now = util_mono_ms ();
        s_check_request_timeout (self, now);
        s_maybe_request (self, now);
        long silent_in = s_check_silence (self, now);
        if (s_cursor_msg (self, msg))
            return VL_OK;
        bool got = false;
        for (int k = 0; k < 2; k++) {
            int which = (self->turn + k) % 2;
            int r = which == 0 ? s_from_sub (self, msg) : s_from_replay (self, msg);
            if (r == 1) {
                self->turn ^= 1;
                return VL_OK;
            }
            got = got || r == 0;
        }
        s_release_held (self);
        if (got && (timeout_ms < 0 || util_mono_ms () - start < timeout_ms))
            continue;   /* consumed something (heartbeat, duplicate): go on */
        now = util_mono_ms ();
        long wait = timeout_ms < 0 ? 60000 : (long) (start + timeout_ms - now);
        if (wait <= 0)
            return VL_ETIMEOUT;
        if (self->req != REQ_NONE) {
            long left = (long) (self->req_sent_at + self->req_timeout_ms - now);
            wait = left < wait ? (left < 0 ? 0 : left) : wait;
        }
        else if (self->retry_at > now && self->retry_at - now < wait)
            wait = (long) (self->retry_at - now);
        if (silent_in >= 0 && silent_in < wait)
            wait = silent_in;
        zmq_pollitem_t items[2] = {
            { self->sub, 0, ZMQ_POLLIN, 0 },
            { self->dealer, 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll (items, self->dealer ? 2 : 1, wait) < 0)
            return zmq_errno () == EINTR ? VL_EINTR : VL_ENET;
    }
}

uint64_t
client_sub_cursor (const client_sub_t *self)
{
    return self && self->known ? self->cursor : CLIENT_SUB_LIVE_ONLY;
}

uint64_t
client_sub_head (const client_sub_t *self)
{
    return self ? self->head : 0;
}

uint64_t
client_sub_epoch (const client_sub_t *self)
{
    return self ? self->epoch : 0;
}

bool
client_sub_ready (const client_sub_t *self)
{
    return self && self->known && self->heartbeat_seen;
}

void
client_sub_get_stats (const client_sub_t *self, client_sub_stats_t *out)
{
    if (self && out)
        *out = self->stats;
}

void *
client_sub_socket (client_sub_t *self)
{
    return self ? self->sub : NULL;
}

/* --- journal probe ------------------------------------------------------- */

/* The `detected` of the event in frame M (0 if absent or undecodable). */
static int64_t
s_detected (zmq_msg_t *m)
{
    event_t ev;
    int64_t t = event_decode (zmq_msg_data (m), zmq_msg_size (m), &ev) == VL_OK ? ev.detected : 0;
    event_clear (&ev);
    return t;
}

/* One message of the probe's answer, in self->held: VL_OK the END was read
 * into *OUT, VL_EAGAIN more to come (an E, or a stray message), VL_EREMOTE
 * an ERR, VL_EPROTO a malformed END. */
static vl_err_t
s_probe_message (client_sub_t *self, bool too_many, client_sub_journal_t *out)
{
    if (self->req == REQ_NONE || too_many)
        return VL_EAGAIN;   /* stray reply */
    if (s_is_topic (&self->held[0], WIRE_REPLAY_EVENT)) {
        if (self->nheld == 4 && zmq_msg_size (&self->held[2]) == WIRE_SEQ_LEN && !out->has_oldest) {
            out->has_oldest = true;
            out->oldest_detected_ms = s_detected (&self->held[3]);
        }
        return VL_EAGAIN;
    }
    if (s_is_topic (&self->held[0], WIRE_REPLAY_END) && self->nheld == 2) {
        sub_end_t end;
        if (!s_parse_end (zmq_msg_data (&self->held[1]), zmq_msg_size (&self->held[1]), &end)) {
            log_warn ("client_sub: malformed END from the replay endpoint %s (retrying in "
                      "%d ms)", self->replay_ep, SUB_RETRY_MS);
            return VL_EPROTO;
        }
        out->head = end.head;
        out->first = end.first;
        out->epoch = end.epoch;
        out->count = end.count;
        return VL_OK;
    }
    if (s_is_topic (&self->held[0], WIRE_REPLAY_ERR)) {
        s_log_remote_error (self);
        return VL_EREMOTE;
    }
    return VL_EAGAIN;
}

/* (Re)sends the probe request {op: replay, after: 0, limit: 1, all topics};
 * on a fresh DEALER when FRESH (the last request got no answer in time). */
static vl_err_t
s_probe_send (client_sub_t *self, bool fresh, client_sub_journal_t *out)
{
    vl_err_t rc = fresh ? s_open_dealer (self) : VL_OK;
    memset (out, 0, sizeof *out);
    self->req = self->probe_count ? REQ_COUNT : REQ_REPLAY;
    self->req_after = self->probe_after;
    self->req_upto = UINT64_MAX;      /* count: up to the head */
    if (rc == VL_OK)
        s_send_request (self);
    return rc;
}

/* Reads what the DEALER holds: true once the END was read into *OUT. An
 * ERR or a malformed END sets *LAST and asks again SUB_RETRY_MS later. */
static bool
s_probe_drain (client_sub_t *self, client_sub_journal_t *out, vl_err_t *last)
{
    bool too_many;
    while (s_recv_parts (self, self->dealer, &too_many)) {
        vl_err_t m = s_probe_message (self, too_many, out);
        if (m == VL_OK)
            return true;
        if (m != VL_EAGAIN) {
            *last = m;
            self->req = REQ_NONE;
            self->retry_at = util_mono_ms () + SUB_RETRY_MS;
        }
    }
    return false;
}

/* Runs the probe on SELF (DEALER open) until an answer or DEADLINE (mono
 * ms); when the time is up, returns the last failure seen. */
static vl_err_t
s_probe_run (client_sub_t *self, int64_t deadline, client_sub_journal_t *out)
{
    vl_err_t last = VL_ETIMEOUT;
    vl_err_t rc = s_probe_send (self, false, out);
    while (rc == VL_OK) {
        int64_t now = util_mono_ms ();
        if (now >= deadline)
            return last;
        bool waiting = self->req != REQ_NONE;
        int64_t due = waiting ? self->req_sent_at + self->req_timeout_ms : self->retry_at;
        if (now >= due) {
            if (waiting) {
                last = VL_ETIMEOUT;
                self->stats.timeouts++;
            }
            rc = s_probe_send (self, waiting, out);
            continue;
        }
        zmq_pollitem_t it = { self->dealer, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&it, 1, (long) ((due < deadline ? due : deadline) - now)) < 0)
            return zmq_errno () == EINTR ? VL_EINTR : VL_ENET;
        if (s_probe_drain (self, out, &last))
            return VL_OK;
    }
    return rc;
}

vl_err_t
client_sub_probe (void *zmq_ctx, const client_sub_opts_t *opts, int wait_ms,
                  client_sub_journal_t *out)
{
    /* the journal's oldest event, whatever its topic */
    client_sub_query_t q = { .count = false, .after = 0, .prefixes = NULL, .nprefixes = 0 };
    return client_sub_ask (zmq_ctx, opts, &q, wait_ms, out);
}

/* Copies the prefixes of Q into SELF (none or "" = every topic). */
static vl_err_t
s_query_prefixes (client_sub_t *self, const client_sub_query_t *q)
{
    if (q->nprefixes > WIRE_REPLAY_MAX_PREFIXES)
        return VL_EINVAL;
    self->prefixes = calloc (q->nprefixes + 1, sizeof (char *));
    if (!self->prefixes)
        return VL_ENOMEM;
    self->all = q->nprefixes == 0;
    for (size_t i = 0; i < q->nprefixes; i++) {
        const char *p = q->prefixes[i] ? q->prefixes[i] : "";
        if (strlen (p) > EVENT_MAX_TOPIC)
            return VL_EINVAL;
        self->all |= !*p;
        if (!(self->prefixes[self->nprefixes++] = util_strdup (p)))
            return VL_ENOMEM;
    }
    return VL_OK;
}

vl_err_t
client_sub_ask (void *zmq_ctx, const client_sub_opts_t *opts, const client_sub_query_t *q,
                int wait_ms, client_sub_journal_t *out)
{
    if (!out)
        return VL_EINVAL;
    memset (out, 0, sizeof *out);
    if (!zmq_ctx || !opts || !opts->replay_endpoint || !q)
        return VL_EINVAL;
    client_sub_t *self = calloc (1, sizeof *self);
    if (!self)
        return VL_ENOMEM;
    self->ctx = zmq_ctx;
    self->req_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms : 5000;
    self->limit = 1;
    self->probe_count = q->count;
    self->probe_after = q->after;
    self->replay_ep = util_strdup (opts->replay_endpoint);
    buf_init (&self->reqbuf, WIRE_REPLAY_MAX_REQUEST);
    if (opts->curve) {
        self->curve = *opts->curve;
        self->has_curve = true;
    }
    vl_err_t rc = self->replay_ep ? s_query_prefixes (self, q) : VL_ENOMEM;
    if (rc == VL_OK)
        rc = s_open_dealer (self);
    if (rc == VL_OK)
        rc = s_probe_run (self, util_mono_ms () + (wait_ms > 0 ? wait_ms : self->req_timeout_ms),
                          out);
    client_sub_destroy (&self);
    return rc;
}
