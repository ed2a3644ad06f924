/* replay.c: replay/count requests served from the journal index
 * (protocol in replay.h). */
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "event.h"
#include "log.h"
#include "mpread.h"
#include "replay.h"
#include "mpack.h"
#include "rbudget.h"
#include "util.h"

struct replay {
    journal_t      *journal;
    rbudget_t      *budget;      /* answers queued in libzmq */
    uint8_t        *match;       /* per topic id, rebuilt per request */
    size_t          match_cap;
    replay_stats_t  st;
    replay_gate_fn  gate;        /* NULL = answer everyone */
    void           *gate_arg;
};

/* ---- parsing ---- */

static bool
s_prefix_ok (const char *s, size_t len)
{
    if (len > EVENT_MAX_TOPIC)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static const char *
s_parse_op (mpread_t *r, replay_req_t *out)
{
    const char *s;
    size_t len;
    if (!mpread_str (r, &s, &len))
        return "op must be a string";
    if (mpread_key_is (s, len, WIRE_REPLAY_OP_REPLAY))
        out->op = REPLAY_OP_REPLAY;
    else if (mpread_key_is (s, len, WIRE_REPLAY_OP_COUNT))
        out->op = REPLAY_OP_COUNT;
    else
        return "op must be \"replay\" or \"count\"";
    return NULL;
}

static const char *
s_parse_prefixes (mpread_t *r, replay_req_t *out)
{
    uint32_t n;
    if (!mpread_array (r, &n))
        return "prefixes must be an array of strings";
    if (n > WIRE_REPLAY_MAX_PREFIXES)
        return "too many prefixes (at most 64)";
    for (uint32_t i = 0; i < n; i++) {
        replay_prefix_t *p = &out->prefixes[i];
        if (!mpread_str (r, &p->s, &p->len))
            return "prefixes must be an array of strings";
        if (!s_prefix_ok (p->s, p->len))
            return "bad prefix (at most 255 bytes of [a-z0-9._-])";
    }
    out->nprefixes = n;
    return NULL;
}

static const char *
s_parse_uint (mpread_t *r, uint64_t *v, const char *why)
{
    return mpread_uint (r, v) ? NULL : why;
}

/* Parses one key/value pair; SEEN tracks keys already given. */
static const char *
s_parse_pair (mpread_t *r, replay_req_t *out, unsigned *seen)
{
    static const char *const keys[] = { "op", "after", "upto", "prefixes", "limit" };
    const char *k;
    size_t klen;
    if (!mpread_str (r, &k, &klen))
        return "keys must be strings";
    size_t i;
    for (i = 0; i < VL_ARRAY_LEN (keys) && !mpread_key_is (k, klen, keys[i]); i++)
        ;
    if (i == VL_ARRAY_LEN (keys))
        return "unknown key (expected op, after, upto, prefixes, limit)";
    if (*seen & (1u << i))
        return "duplicate key";
    *seen |= 1u << i;
    uint64_t limit;
    const char *why;
    switch (i) {
    case 0: return s_parse_op (r, out);
    case 1: return s_parse_uint (r, &out->after, "after must be an unsigned integer");
    case 2: return s_parse_uint (r, &out->upto, "upto must be an unsigned integer");
    case 3: return s_parse_prefixes (r, out);
    default:
        why = s_parse_uint (r, &limit, "limit must be an unsigned integer");
        out->limit = limit > WIRE_REPLAY_MAX_LIMIT ? WIRE_REPLAY_MAX_LIMIT
                     : limit == 0 ? 1 : (size_t) limit;
        return why;
    }
}

vl_err_t
replay_parse (const void *data, size_t len, replay_req_t *out, const char **why)
{
    memset (out, 0, sizeof *out);
    out->op = REPLAY_OP_REPLAY;
    out->upto = UINT64_MAX;
    out->limit = WIRE_REPLAY_DEFAULT_LIMIT;
    *why = NULL;
    if (len > WIRE_REPLAY_MAX_REQUEST) {
        _Static_assert (WIRE_REPLAY_MAX_REQUEST == 65536, "the text below says 65536");
        *why = "request too large (limit 65536 bytes)";
        return VL_ETOOBIG;
    }
    mpread_t r;
    uint32_t n = 0;
    unsigned seen = 0;
    mpread_init (&r, data, len);
    if (!mpread_map (&r, &n))
        *why = "request must be a msgpack map";
    for (uint32_t i = 0; i < n && !*why; i++)
        *why = s_parse_pair (&r, out, &seen);
    if (!*why && !mpread_done (&r))
        *why = "trailing bytes after the request";
    return *why ? VL_EPARSE : VL_OK;
}

/* ---- answers ---- */

/* Sends one frame; false if it could not be queued without waiting. */
static bool
s_send (void *sock, const void *data, size_t len, int more)
{
    return zmq_send (sock, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) >= 0;
}

typedef struct {
    void           *router;
    const void     *rid;
    size_t          rid_len;
    rbudget_t      *budget;
    rbudget_peer_t *peer;
    size_t          bytes;
    bool            capped;     /* stopped at REPLAY_MAX_REPLY_BYTES or the budget */
    bool            failed;
    uint64_t        epoch;      /* journal_epoch, sent in END */
} visit_t;

/* Sends [rid][KIND][BODY]; false if the reply had to be abandoned. */
static bool
s_send_final (visit_t *v, const char *kind, const buf_t *body)
{
    if (!s_send (v->router, v->rid, v->rid_len, 1))
        return false;
    s_send (v->router, kind, strlen (kind), 1);
    return rbudget_send (v->budget, v->peer, v->router, body->data, body->len, true,
                         ZMQ_DONTWAIT);
}

static bool
s_send_err (visit_t *v, const char *why)
{
    buf_t b;
    buf_init (&b, 1024);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &b, mpack_buf_write);
    msgpack_pack_map (&pk, 1);
    mpack_kv_str (&pk, "error", why);
    bool ok = s_send_final (v, WIRE_REPLAY_ERR, &b);
    buf_free (&b);
    return ok;
}

static bool
s_send_end (visit_t *v, const journal_result_t *res, bool more)
{
    buf_t b;
    buf_init (&b, 1024);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &b, mpack_buf_write);
    msgpack_pack_map (&pk, 6);
    mpack_kv_uint (&pk, "head", res->head);
    mpack_kv_uint (&pk, "next", res->next);
    mpack_str (&pk, "more");
    more ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    mpack_kv_uint (&pk, "count", res->count);
    mpack_kv_uint (&pk, "first", res->first);
    mpack_kv_uint (&pk, "epoch", v->epoch);
    bool ok = s_send_final (v, WIRE_REPLAY_END, &b);
    buf_free (&b);
    return ok;
}

static int
s_visit (void *arg, const journal_rec_t *rec)
{
    visit_t *v = arg;
    if (v->bytes >= REPLAY_MAX_REPLY_BYTES
        || !rbudget_fits (v->budget, v->peer, rec->event_len + RBUDGET_FRAME_OVERHEAD)) {
        v->capped = true;
        return 1;
    }
    unsigned char seq[WIRE_SEQ_LEN];
    util_put_be64 (seq, rec->seq);
    if (!s_send (v->router, v->rid, v->rid_len, 1)) {
        v->failed = true;
        return 1;
    }
    s_send (v->router, WIRE_REPLAY_EVENT, 1, 1);
    s_send (v->router, rec->topic, rec->topic_len, 1);
    s_send (v->router, seq, sizeof seq, 1);
    if (!rbudget_send (v->budget, v->peer, v->router, rec->event, rec->event_len, false,
                       ZMQ_DONTWAIT)) {
        v->failed = true;
        return 1;
    }
    v->bytes += rec->event_len + rec->topic_len;
    return 0;
}

/* match[tid] = 1 for every topic under one of REQ's prefixes. */
static vl_err_t
s_build_match (replay_t *self, const replay_req_t *req, size_t *n)
{
    *n = journal_topic_count (self->journal);
    if (*n > self->match_cap) {
        uint8_t *m = realloc (self->match, *n);
        if (!m)
            return VL_ENOMEM;
        self->match = m;
        self->match_cap = *n;
    }
    for (size_t t = 0; t < *n; t++) {
        size_t tlen;
        const char *name = journal_topic_name (self->journal, (uint32_t) t, &tlen);
        self->match[t] = 0;
        for (size_t i = 0; i < req->nprefixes && !self->match[t]; i++)
            self->match[t] = req->prefixes[i].len <= tlen
                             && memcmp (name, req->prefixes[i].s, req->prefixes[i].len) == 0;
    }
    return VL_OK;
}

/* Sends the final message of an answer after journal_query returned RC
 * with *RES; false if it had to be abandoned. */
static bool
s_finish (replay_t *self, visit_t *v, vl_err_t rc, const journal_result_t *res)
{
    char why[160];
    if (rc == VL_EIO) {
        /* The record after res->next could not be read: it may be intact,
         * so no END (its next would pass it); the client asks again. */
        self->st.read_errors++;
        snprintf (why, sizeof why, "journal read error after seq %" PRIu64 "; retry",
                  res->next);
        return s_send_err (v, why);
    }
    if (res->count == 0 && v->capped && rbudget_idle (v->peer)) {
        /* nothing of this client is queued: the total budget is full */
        self->st.busy++;
        snprintf (why, sizeof why, "busy: answers to slow clients fill the replay "
                  "budget (%zu bytes); retry later", rbudget_total (self->budget));
        return s_send_err (v, why);
    }
    return s_send_end (v, res, res->more || v->capped);
}

static void
s_answer (replay_t *self, visit_t *v, const void *data, size_t len)
{
    replay_req_t req;
    const char *why;
    if (replay_parse (data, len, &req, &why) != VL_OK) {
        s_send_err (v, why);
        return;
    }
    journal_query_t q = { .after = req.after, .upto = req.upto, .limit = req.limit };
    if (req.nprefixes > 0) {
        if (s_build_match (self, &req, &q.nmatch) != VL_OK) {
            s_send_err (v, "out of memory");
            return;
        }
        q.match = self->match;
    }
    journal_result_t res;
    vl_err_t rc = journal_query (self->journal, &q,
                                 req.op == REPLAY_OP_COUNT ? NULL : s_visit, v, &res);
    if (v->failed || !s_finish (self, v, rc, &res)) {
        self->st.abandoned++;
        log_debug ("replay: answer abandoned after %zu events (client slow or gone)",
                   res.count);
    }
}

replay_t *
replay_new (journal_t *journal, const rbudget_opts_t *budget)
{
    replay_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->journal = journal;
    self->budget = rbudget_new (budget);
    if (!self->budget)
        replay_destroy (&self);
    return self;
}

void
replay_destroy (replay_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->match);
    rbudget_destroy (&(*self_p)->budget);
    free (*self_p);
    *self_p = NULL;
}

/* Serves one request of RID: dropped without an answer while the client
 * has client_answers answers not yet taken by its connection. */
static void
s_serve (replay_t *self, void *router, zmq_msg_t *rid, zmq_msg_t *req, size_t frames)
{
    visit_t v = { .router = router, .rid = zmq_msg_data (rid),
                  .rid_len = zmq_msg_size (rid), .budget = self->budget,
                  .epoch = journal_epoch (self->journal) };
    v.peer = rbudget_peer (self->budget, v.rid, v.rid_len);
    if (!v.peer || !rbudget_may_answer (self->budget, v.peer)) {
        self->st.dropped++;
        log_debug ("replay: request dropped: the client has %s",
                   v.peer ? "too many answers in flight" : "no memory for its entry");
        return;
    }
    if (frames != 1)
        s_send_err (&v, "a request is exactly one frame");
    else
        s_answer (self, &v, zmq_msg_data (req), zmq_msg_size (req));
}

void
replay_set_gate (replay_t *self, replay_gate_fn gate, void *arg)
{
    self->gate = gate;
    self->gate_arg = arg;
}

vl_err_t
replay_serve_one (replay_t *self, void *router)
{
    zmq_msg_t rid, req;
    zmq_msg_init (&rid);
    zmq_msg_init (&req);
    if (zmq_msg_recv (&rid, router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&rid);
        zmq_msg_close (&req);
        return VL_EAGAIN;
    }
    size_t frames = 0;
    while (zmq_msg_more (frames ? &req : &rid)) {
        zmq_msg_close (&req);
        zmq_msg_init (&req);
        if (zmq_msg_recv (&req, router, 0) < 0)
            break;
        frames++;
    }
    if (self->gate && !self->gate (self->gate_arg, &req)) {
        zmq_msg_close (&rid);
        zmq_msg_close (&req);
        return VL_OK;
    }
    self->st.requests++;
    s_serve (self, router, &rid, &req, frames);
    zmq_msg_close (&rid);
    zmq_msg_close (&req);
    return VL_OK;
}

uint64_t
replay_requests (const replay_t *self)
{
    return self->st.requests;
}

void
replay_stats (const replay_t *self, replay_stats_t *out)
{
    *out = self->st;
    out->queued_bytes = rbudget_total (self->budget);
    out->clients = rbudget_peers (self->budget);
}
