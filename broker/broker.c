/* broker.c: the poll loop: group-committed publish, fan-out, replay,
 * heartbeats and stats (behaviour documented in broker.h). */
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "acks.h"
#include "auth.h"
#include "broker.h"
#include "connlimit.h"
#include "mpack.h"
#include "broker_metrics.h"
#include "dedup.h"
#include "event.h"
#include "log.h"
#include "mpread.h"
#include "notify.h"
#include "replay.h"
#include "util.h"
#include "wire.h"

#define ENDPOINT_MAX       256
#define RETRY_STORE_MS     1000     /* disk full: try the journal again after */
#define RETAIN_EVERY_MS    10000
#define SUBS_PER_LOOP      1000
#define REPLAYS_PER_LOOP   16
#define REBIND_TRIES       100      /* subscribe endpoint re-bind: 100 x 10 ms */
/* Hard cap on any publish frame (ZMQ_MAXMSGSIZE: the connection is
 * dropped, no ack). Above EVENT_MAX_BYTES so that an event somewhat too
 * large is answered REJECTED "too large" (docs/protocol.md, Publishing). */
#define PUBLISH_FRAME_MAX  (2 * EVENT_MAX_BYTES)

/* Where an endpoint's monitor (connlimit) reports failed handshakes. */
typedef struct {
    auth_t     *auth;
    const char *domain;
} fail_to_t;

/* One publish message of the current batch, held until its ack is sent. */
typedef struct {
    zmq_msg_t     rid, topic, event;
    unsigned char token[WIRE_TOKEN_LEN];
    size_t        token_len;  /* bytes echoed in the ack (at most 8) */
    bool          token_ok;   /* the token frame was exactly 8 bytes */
    size_t        frames;     /* frames after the routing id */
    uint8_t       status;
    uint64_t      seq;
    const char   *reason;     /* static text, REJECTED / UNAVAILABLE */
    const char   *detail;     /* static text appended to reason, or NULL */
    bool          valid;      /* passed s_validate; KEY is its dedup key */
    bool          revoked;    /* its key was removed since it connected (auth.h) */
    unsigned char key[DEDUP_KEY_LEN];
} batch_msg_t;

struct broker {
    broker_opts_t     opts;
    void             *ctx, *pub, *sub, *rep;
    char              ep_pub[ENDPOINT_MAX], ep_sub[ENDPOINT_MAX], ep_rep[ENDPOINT_MAX];
    journal_t        *journal;
    dedup_t          *dedup;
    replay_t         *replay;
    connlimit_t      *rep_limit;      /* replay_connections */
    connlimit_t      *pub_limit;      /* publish_connections */
    connlimit_t      *sub_limit;      /* subscribe_connections */
    fail_to_t         fail_to[3];     /* failed handshakes -> auth, per endpoint */
    auth_t           *auth;           /* NULL without CURVE */
    batch_msg_t      *msgs;           /* the batch being received, max_batch */
    acks_t           *acks;           /* STORED/DUPLICATE acks of a batch */
    zmq_msg_t         scratch;
    broker_counters_t c;
    bool              unavailable;    /* in a disk-full episode */
    int64_t           retry_at;       /* mono ms */
    uint64_t          episode_refused;
    int64_t           next_heartbeat, next_stats, next_retain;
    bool              sub_unbound;    /* re-bind of the subscribe endpoint pending */
    broker_metrics_t *mx;             /* NULL without metrics_listen */
    reject_log_t      rlog;           /* rate limit of the rejection log */
};

/* ---- setup ---- */

static char *
s_strdup_or (const char *s, const char *def)
{
    return util_strdup (s ? s : def);
}

static vl_err_t
s_copy_opts (broker_opts_t *dst, const broker_opts_t *src)
{
    *dst = *src;
    dst->publish = s_strdup_or (src->publish, WIRE_DEFAULT_PUBLISH);
    dst->subscribe = s_strdup_or (src->subscribe, WIRE_DEFAULT_SUBSCRIBE);
    dst->replay = s_strdup_or (src->replay, WIRE_DEFAULT_REPLAY);
    dst->journal_dir = util_strdup (src->journal_dir);
    dst->curve_secret_key = util_strdup (src->curve_secret_key);
    dst->curve_publishers = util_strdup (src->curve_publishers);
    dst->curve_subscribers = util_strdup (src->curve_subscribers);
    dst->metrics_listen = util_strdup (src->metrics_listen);
    if (!dst->publish || !dst->subscribe || !dst->replay || !dst->journal_dir
        || (src->curve_secret_key && !dst->curve_secret_key)
        || (src->curve_publishers && !dst->curve_publishers)
        || (src->curve_subscribers && !dst->curve_subscribers))
        return VL_ENOMEM;
    if (dst->dedup_window == 0)
        dst->dedup_window = 1000000;
    if (dst->heartbeat_ms <= 0)
        dst->heartbeat_ms = 1000;
    if (dst->stats_interval_s < 0)
        dst->stats_interval_s = 0;
    if (dst->sndhwm <= 0)
        dst->sndhwm = 100000;
    if (dst->max_batch <= 0)
        dst->max_batch = 1024;
    if (dst->replay_client_bytes <= 0)
        dst->replay_client_bytes = REPLAY_DEFAULT_CLIENT_BYTES;
    if (dst->replay_total_bytes <= 0)
        dst->replay_total_bytes = REPLAY_DEFAULT_TOTAL_BYTES;
    if (dst->replay_client_requests <= 0)
        dst->replay_client_requests = REPLAY_DEFAULT_CLIENT_REQUESTS;
    if (dst->replay_connections <= 0)
        dst->replay_connections = REPLAY_DEFAULT_CONNECTIONS;
    if (dst->publish_connections <= 0)
        dst->publish_connections = PUBLISH_DEFAULT_CONNECTIONS;
    if (dst->subscribe_connections <= 0)
        dst->subscribe_connections = SUBSCRIBE_DEFAULT_CONNECTIONS;
    return VL_OK;
}

void
broker_opts_clear (broker_opts_t *opts)
{
    free (opts->publish);
    free (opts->subscribe);
    free (opts->replay);
    free (opts->journal_dir);
    free (opts->curve_secret_key);
    free (opts->curve_publishers);
    free (opts->curve_subscribers);
    free (opts->metrics_listen);
    opts->metrics_listen = NULL;
    opts->publish = opts->subscribe = opts->replay = opts->journal_dir = NULL;
    opts->curve_secret_key = opts->curve_publishers = opts->curve_subscribers = NULL;
}

static void
s_setopt (void *sock, int opt, int value)
{
    zmq_setsockopt (sock, opt, &value, sizeof value);
}

/* Creates a socket of TYPE, binds it to ENDPOINT and stores the actual
 * endpoint (wildcard port resolved) in OUT. */
static void *
s_socket_bind (broker_t *self, int type, const char *endpoint, const char *domain,
               char out[ENDPOINT_MAX])
{
    void *sock = zmq_socket (self->ctx, type);
    if (!sock)
        return NULL;
    if (self->auth && auth_apply_server (self->auth, sock, domain) != VL_OK) {
        zmq_close (sock);
        return NULL;
    }
    /* The replay ROUTER has its own bound, room for one whole answer
     * whatever sndhwm (a smaller one cut every long answer and the client
     * waited a request timeout per chunk). */
    bool replay = strcmp (domain, AUTH_DOMAIN_REPLAY) == 0;
    s_setopt (sock, ZMQ_SNDHWM, replay ? REPLAY_SNDHWM : self->opts.sndhwm);
    s_setopt (sock, ZMQ_RCVHWM, replay ? REPLAY_RCVHWM : self->opts.sndhwm);
    s_setopt (sock, ZMQ_LINGER, 0);
    if (type == ZMQ_XPUB)
        s_setopt (sock, ZMQ_XPUB_NODROP, 0);
    /* Before zmq_bind: a listener copies the socket's options when it is
     * bound, so a ZMQ_MAXMSGSIZE set later never reaches the connections
     * it accepts (tests/integration/64-hostile-inputs.py). */
    int64_t maxmsg = strcmp (domain, AUTH_DOMAIN_PUBLISH) == 0 ? PUBLISH_FRAME_MAX
                   : strcmp (domain, AUTH_DOMAIN_REPLAY) == 0 ? REPLAY_MAXMSGSIZE
                   : 4096;   /* XPUB: subscriptions are 1 + a prefix of <= 255 bytes */
    zmq_setsockopt (sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind (sock, endpoint) < 0) {
        log_error ("broker: cannot bind %s: %s", endpoint, zmq_strerror (errno));
        zmq_close (sock);
        return NULL;
    }
    size_t len = ENDPOINT_MAX;
    if (zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, out, &len) < 0)
        snprintf (out, ENDPOINT_MAX, "%s", endpoint);
    /* A unix socket: owner and group only (the runtime directory, 0750,
     * keeps the others out from the start; docs/security.md). */
    auth_restrict_ipc (out);
    return sock;
}

/* Starts CURVE and the ZAP handler when a secret key is configured. */
static vl_err_t
s_auth (broker_t *self)
{
    const broker_opts_t *o = &self->opts;
    if (!o->curve_secret_key) {
        if (o->curve_publishers || o->curve_subscribers)
            log_warn ("auth: curve_publishers/curve_subscribers ignored without "
                      "curve_secret_key: endpoints are plaintext");
        return VL_OK;
    }
    if (!o->curve_publishers || !o->curve_subscribers) {
        log_error ("auth: curve_secret_key needs curve_publishers and curve_subscribers");
        return VL_ECONFIG;
    }
    auth_opts_t ao = { .secret_key_file = o->curve_secret_key,
                       .publishers_dir = o->curve_publishers,
                       .subscribers_dir = o->curve_subscribers };
    vl_err_t rc;
    self->auth = auth_new (self->ctx, &ao, &rc);
    if (!self->auth)
        return rc == VL_ENOMEM ? rc : VL_ECONFIG;
    return VL_OK;
}

/* The replay gate (replay.h): requests of keys revoked since they
 * connected get no answer. */
static bool
s_replay_gate (void *arg, const zmq_msg_t *msg)
{
    return auth_msg_allowed (arg, msg, AUTH_DOMAIN_REPLAY);
}

static void
s_fail_to_auth (void *arg, uint16_t event, uint32_t value, const char *addr)
{
    fail_to_t *f = arg;
    auth_handshake_failed (f->auth, f->domain, event, value, addr);
}

/* The one monitor of SOCK (libzmq keeps one per socket): its connection
 * limit MAX and, with CURVE, its failed handshakes for auth's log. */
static connlimit_t *
s_watch (broker_t *self, int i, void *sock, const char *ep, const char *domain, size_t max,
         vl_err_t *rc)
{
    connlimit_t *w = connlimit_new (self->ctx, sock, ep, domain, max, rc);
    if (w && self->auth) {
        self->fail_to[i] = (fail_to_t) { self->auth, domain };
        connlimit_on_failure (w, s_fail_to_auth, &self->fail_to[i]);
    }
    return w;
}

static vl_err_t
s_sockets (broker_t *self)
{
    self->ctx = zmq_ctx_new ();
    if (!self->ctx)
        return VL_ENET;
    vl_err_t rc = s_auth (self);
    if (rc != VL_OK)
        return rc;
    self->pub = s_socket_bind (self, ZMQ_ROUTER, self->opts.publish, AUTH_DOMAIN_PUBLISH,
                               self->ep_pub);
    if (!self->pub)
        return VL_ENET;
    s_setopt (self->pub, ZMQ_LINGER, 1000);   /* let the last acks go out */
    self->sub = s_socket_bind (self, ZMQ_XPUB, self->opts.subscribe, AUTH_DOMAIN_SUBSCRIBE,
                               self->ep_sub);
    if (!self->sub)
        return VL_ENET;
    self->rep = s_socket_bind (self, ZMQ_ROUTER, self->opts.replay, AUTH_DOMAIN_REPLAY,
                               self->ep_rep);
    if (!self->rep)
        return VL_ENET;
    s_setopt (self->rep, ZMQ_ROUTER_MANDATORY, 1);
    if (self->auth)
        replay_set_gate (self->replay, s_replay_gate, self->auth);
    self->rep_limit = s_watch (self, 0, self->rep, self->ep_rep, AUTH_DOMAIN_REPLAY,
                               (size_t) self->opts.replay_connections, &rc);
    if (self->rep_limit)
        self->pub_limit = s_watch (self, 1, self->pub, self->ep_pub, AUTH_DOMAIN_PUBLISH,
                                   (size_t) self->opts.publish_connections, &rc);
    if (self->pub_limit)
        self->sub_limit = s_watch (self, 2, self->sub, self->ep_sub, AUTH_DOMAIN_SUBSCRIBE,
                                   (size_t) self->opts.subscribe_connections, &rc);
    return self->sub_limit ? VL_OK : rc;
}

typedef struct {
    dedup_t *dedup;
    size_t   skipped;
} rebuild_t;

static int
s_rebuild_visit (void *arg, const journal_rec_t *rec)
{
    rebuild_t *rb = arg;
    const char *id;
    size_t idlen;
    unsigned char key[DEDUP_KEY_LEN];
    if (!mpread_event_id (rec->event, rec->event_len, &id, &idlen)) {
        rb->skipped++;
        return 0;
    }
    dedup_key (id, idlen, key);
    dedup_insert (rb->dedup, key, rec->seq);
    dedup_commit (rb->dedup);
    return 0;
}

/* Fills the dedup window with the ids of the last dedup_window records. */
static vl_err_t
s_dedup_rebuild (broker_t *self)
{
    self->dedup = dedup_new (self->opts.dedup_window, (size_t) self->opts.max_batch);
    if (!self->dedup)
        return VL_ENOMEM;
    int64_t t0 = util_mono_ms ();
    uint64_t head = journal_head (self->journal);
    journal_query_t q = {
        .after = head > self->opts.dedup_window ? head - self->opts.dedup_window : 0,
        .upto = head, .limit = SIZE_MAX,
    };
    rebuild_t rb = { .dedup = self->dedup };
    journal_result_t res;
    journal_query (self->journal, &q, s_rebuild_visit, &rb, &res);
    log_info ("broker: dedup window rebuilt from %zu journaled events in %" PRId64
              " ms (%zu without id)", res.count, util_mono_ms () - t0, rb.skipped);
    return VL_OK;
}

static vl_err_t
s_init (broker_t *self, const broker_opts_t *opts)
{
    vl_err_t rc = s_copy_opts (&self->opts, opts);
    if (rc != VL_OK)
        return rc;
    self->msgs = calloc ((size_t) self->opts.max_batch, sizeof *self->msgs);
    self->acks = acks_new ((size_t) self->opts.max_batch);
    if (!self->msgs || !self->acks)
        return VL_ENOMEM;
    for (int i = 0; i < self->opts.max_batch; i++) {
        zmq_msg_init (&self->msgs[i].rid);
        zmq_msg_init (&self->msgs[i].topic);
        zmq_msg_init (&self->msgs[i].event);
    }
    zmq_msg_init (&self->scratch);
    self->journal = journal_open (self->opts.journal_dir, &self->opts.journal, &rc);
    if (!self->journal)
        return rc;
    if ((rc = s_dedup_rebuild (self)) != VL_OK)
        return rc;
    rbudget_opts_t bo = { .client_bytes = (size_t) self->opts.replay_client_bytes,
                          .total_bytes = (size_t) self->opts.replay_total_bytes,
                          .client_answers = (size_t) self->opts.replay_client_requests };
    self->replay = replay_new (self->journal, &bo);
    if (!self->replay)
        return VL_ENOMEM;
    reject_log_init (&self->rlog, 0);
    int64_t now = util_mono_ms ();
    self->next_heartbeat = now;
    self->next_stats = now + (int64_t) self->opts.stats_interval_s * 1000;
    self->next_retain = now;
    self->mx = broker_metrics_new (self->opts.metrics_listen, &rc);
    if (rc != VL_OK)
        return rc;
    return s_sockets (self);
}

broker_t *
broker_new (const broker_opts_t *opts, vl_err_t *err)
{
    broker_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    vl_err_t rc = s_init (self, opts);
    if (rc != VL_OK) {
        broker_destroy (&self);
        *err = rc;
        return NULL;
    }
    *err = VL_OK;
    return self;
}

void
broker_destroy (broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *self = *self_p;
    if (self->msgs)
        for (int i = 0; i < self->opts.max_batch; i++) {
            zmq_msg_close (&self->msgs[i].rid);
            zmq_msg_close (&self->msgs[i].topic);
            zmq_msg_close (&self->msgs[i].event);
        }
    zmq_msg_close (&self->scratch);
    connlimit_destroy (&self->rep_limit);
    connlimit_destroy (&self->pub_limit);
    connlimit_destroy (&self->sub_limit);
    broker_metrics_destroy (&self->mx);
    free (self->msgs);
    acks_destroy (&self->acks);
    dedup_destroy (&self->dedup);
    if (self->pub)
        zmq_close (self->pub);
    if (self->sub)
        zmq_close (self->sub);
    if (self->rep)
        zmq_close (self->rep);
    auth_destroy (&self->auth);
    if (self->ctx)
        zmq_ctx_term (self->ctx);
    /* after zmq_ctx_term: libzmq has released every queued answer into
     * the replay budget; the journal after the replay that reads it */
    replay_destroy (&self->replay);
    journal_destroy (&self->journal);
    broker_opts_clear (&self->opts);
    free (self);
    *self_p = NULL;
}

const char *
broker_publish_endpoint (const broker_t *self)
{
    return self->ep_pub;
}

const char *
broker_subscribe_endpoint (const broker_t *self)
{
    return self->ep_sub;
}

const char *
broker_replay_endpoint (const broker_t *self)
{
    return self->ep_rep;
}

uint64_t
broker_head (const broker_t *self)
{
    return journal_head (self->journal);
}

void
broker_counters (const broker_t *self, broker_counters_t *out)
{
    *out = self->c;
}

/* ---- publish path ---- */

/* Receives one publish message into IT without waiting; false if none.
 * Frames after the routing id: token (copied out), topic, event; extra
 * frames are read and dropped (IT->frames counts them all). */
static bool
s_recv_msg (broker_t *self, batch_msg_t *it)
{
    if (zmq_msg_recv (&it->rid, self->pub, ZMQ_DONTWAIT) < 0)
        return false;
    it->frames = 0;
    it->revoked = false;
    it->token_len = 0;
    it->token_ok = false;
    bool more = zmq_msg_more (&it->rid);
    while (more) {
        zmq_msg_t *dst = it->frames == 1 ? &it->topic
                         : it->frames == 2 ? &it->event : &self->scratch;
        if (zmq_msg_recv (dst, self->pub, 0) < 0)
            break;
        if (it->frames == 0) {
            /* the frames after the routing id carry the User-Id (libzmq
             * 4.3.4 gives none to the routing id frame after a zmq_poll) */
            it->revoked = !auth_msg_allowed (self->auth, dst, AUTH_DOMAIN_PUBLISH);
            size_t n = zmq_msg_size (dst);
            it->token_len = n < WIRE_TOKEN_LEN ? n : WIRE_TOKEN_LEN;
            memcpy (it->token, zmq_msg_data (dst), it->token_len);
            it->token_ok = n == WIRE_TOKEN_LEN;
        }
        it->frames++;
        more = zmq_msg_more (dst);
    }
    return true;
}

/* Publishers may use _sys.source.<source id> (watcher error/recovery
 * events); the rest of _sys. belongs to the broker. */
static bool
s_topic_reserved (const char *topic, size_t len)
{
    size_t sys = strlen (WIRE_TOPIC_SYS), src = strlen (WIRE_TOPIC_SOURCE);
    if (len < sys || memcmp (topic, WIRE_TOPIC_SYS, sys) != 0)
        return false;
    return len <= src || memcmp (topic, WIRE_TOPIC_SOURCE, src) != 0;
}

/* Validates IT; on success stores its dedup key in KEY and returns
 * REJECT_NONE, else returns the reason (and *DETAIL some static detail or
 * NULL). */
static reject_reason_t
s_validate (batch_msg_t *it, unsigned char key[DEDUP_KEY_LEN], const char **detail)
{
    *detail = NULL;
    if (it->frames != 3)
        return REJECT_FRAMES;
    const char *topic = zmq_msg_data (&it->topic);
    size_t tlen = zmq_msg_size (&it->topic), elen = zmq_msg_size (&it->event);
    if (!it->token_ok)
        return REJECT_TOKEN;
    if (!event_topic_valid (topic, tlen))
        return REJECT_TOPIC;
    if (s_topic_reserved (topic, tlen))
        return REJECT_RESERVED;
    if (elen > EVENT_MAX_BYTES)
        return REJECT_TOO_LARGE;
    /* In place, no allocation: the same verdict as event_decode. */
    event_view_t ev;
    vl_err_t rc = event_validate (zmq_msg_data (&it->event), elen, &ev);
    if (rc != VL_OK) {
        *detail = vl_strerror (rc);
        return rc == VL_EUTF8 ? REJECT_UTF8 : rc == VL_ETOOBIG ? REJECT_LIMIT : REJECT_MALFORMED;
    }
    if (ev.topic_len != tlen || memcmp (ev.topic, topic, tlen) != 0)
        return REJECT_TOPIC_MISMATCH;
    dedup_key (ev.id, ev.id_len, key);
    return REJECT_NONE;
}

static void
s_set (batch_msg_t *it, uint8_t status, uint64_t seq, const char *reason)
{
    it->status = status;
    it->seq = seq;
    it->reason = reason;
}

/* Starts or continues a disk-full episode after journal error RC. */
static void
s_store_failed (broker_t *self, vl_err_t rc)
{
    if (!self->unavailable)
        log_error ("broker: journal cannot store (%s): answering UNAVAILABLE, "
                   "retrying every %d ms", vl_strerror (rc), RETRY_STORE_MS);
    self->unavailable = true;
    self->retry_at = util_mono_ms () + RETRY_STORE_MS;
}

static bool
s_can_store (const broker_t *self)
{
    return !self->unavailable || util_mono_ms () >= self->retry_at;
}

/* The reason text of IT's ack (reason, then ": detail" if any) in TEXT. */
static const char *
s_reason_text (const batch_msg_t *it, char *text, size_t cap)
{
    snprintf (text, cap, "%s%s%s", it->reason, it->detail ? ": " : "",
              it->detail ? it->detail : "");
    return text;
}

/* IT is REJECTED for WHY (and IT->detail): counted by reason and logged,
 * rate-limited, with the peer's address and CURVE key name. */
static void
s_reject (broker_t *self, batch_msg_t *it, reject_reason_t why)
{
    s_set (it, WIRE_ACK_REJECTED, 0, reject_text (why));
    self->c.rejected_by[why]++;
    /* connection metadata: on the frames read from the peer, not on the
     * routing id the ROUTER made up (s_recv_item: a message of one frame
     * after it left that frame in scratch) */
    zmq_msg_t *from = it->frames >= 2 ? &it->topic : &self->scratch;
    char text[256];
    reject_log (&self->rlog, why, s_reason_text (it, text, sizeof text),
                zmq_msg_gets (from, "Peer-Address"), zmq_msg_gets (from, "User-Id"),
                util_mono_ms ());
}

/* Validates IT (the verdict and dedup key are kept in IT) and prefetches
 * its dedup slot, so that s_process of the batch does not wait on memory. */
static void
s_check (broker_t *self, batch_msg_t *it)
{
    reject_reason_t why = s_validate (it, it->key, &it->detail);
    it->valid = why == REJECT_NONE;
    if (it->valid)
        dedup_prefetch (self->dedup, it->key);
    else
        s_reject (self, it, why);
}

/* Decides the fate of IT (checked by s_check). Returns VL_EAGAIN when the
 * batch must be committed before IT can be appended (nothing was done for
 * IT). */
static vl_err_t
s_process (broker_t *self, batch_msg_t *it)
{
    const unsigned char *key = it->key;
    uint64_t seq;
    if (!it->valid)
        return VL_OK;
    if (dedup_find (self->dedup, key, &seq)) {
        s_set (it, WIRE_ACK_DUPLICATE, seq, NULL);
        return VL_OK;
    }
    if (!s_can_store (self)) {
        s_set (it, WIRE_ACK_UNAVAILABLE, 0, "journal unavailable");
        return VL_OK;
    }
    vl_err_t rc = journal_append (self->journal, zmq_msg_data (&it->topic),
                                  zmq_msg_size (&it->topic), zmq_msg_data (&it->event),
                                  zmq_msg_size (&it->event), &seq);
    if (rc == VL_OK && dedup_insert (self->dedup, key, seq) != VL_OK)
        rc = VL_EAGAIN;   /* cannot happen: slack = max_batch */
    if (rc == VL_EAGAIN)
        return rc;
    if (rc == VL_OK)
        s_set (it, WIRE_ACK_STORED, seq, NULL);
    else if (rc == VL_EINVAL || rc == VL_ETOOBIG)
        s_reject (self, it, REJECT_JOURNAL_LIMIT);
    else {
        s_store_failed (self, rc);
        s_set (it, WIRE_ACK_UNAVAILABLE, 0, "journal unavailable");
    }
    return VL_OK;
}

static void
s_send_ack (broker_t *self, batch_msg_t *it)
{
    unsigned char seq[WIRE_SEQ_LEN];
    util_put_be64 (seq, it->seq);
    if (zmq_msg_send (&it->rid, self->pub, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    zmq_send (self->pub, it->token, it->token_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->pub, &it->status, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->pub, seq, sizeof seq, (it->reason ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    if (it->reason) {
        char text[256];
        s_reason_text (it, text, sizeof text);
        zmq_send (self->pub, text, strlen (text), ZMQ_DONTWAIT);
    }
}

/* Fan-out of a stored event; a slow subscriber just misses it (no NODROP). */
static void
s_fan_out (broker_t *self, batch_msg_t *it)
{
    unsigned char seq[WIRE_SEQ_LEN];
    util_put_be64 (seq, it->seq);
    if (zmq_msg_send (&it->topic, self->sub, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    zmq_send (self->sub, seq, sizeof seq, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_msg_send (&it->event, self->sub, ZMQ_DONTWAIT);
}

static void
s_msg_reset (batch_msg_t *it)
{
    zmq_msg_close (&it->rid);
    zmq_msg_close (&it->topic);
    zmq_msg_close (&it->event);
    zmq_msg_init (&it->rid);
    zmq_msg_init (&it->topic);
    zmq_msg_init (&it->event);
    it->reason = it->detail = NULL;
}

/* The commit of items FROM..N-1 failed: nothing of them is stored. */
static void
s_batch_failed (broker_t *self, size_t from, size_t n, vl_err_t rc)
{
    uint64_t head = journal_head (self->journal);
    dedup_rollback (self->dedup);
    for (size_t i = from; i < n; i++) {
        batch_msg_t *it = &self->msgs[i];
        bool pending = it->status == WIRE_ACK_STORED
                       || (it->status == WIRE_ACK_DUPLICATE && it->seq > head);
        if (pending)
            s_set (it, WIRE_ACK_UNAVAILABLE, 0, "journal unavailable");
    }
    s_store_failed (self, rc);
}

/* Commits items FROM..N-1 of the batch, acks them (final acks grouped
 * per publisher, acks.h), fans out the stored. */
static void
s_flush (broker_t *self, size_t from, size_t n)
{
    bool any = false;
    for (size_t i = from; i < n && !any; i++)
        any = self->msgs[i].status == WIRE_ACK_STORED;
    if (any) {
        vl_err_t rc = journal_commit (self->journal);
        if (rc != VL_OK)
            s_batch_failed (self, from, n, rc);
        else {
            dedup_commit (self->dedup);
            if (self->unavailable)
                log_info ("broker: journal stores again (%" PRIu64 " messages were "
                          "answered UNAVAILABLE)", self->episode_refused);
            self->unavailable = false;
            self->episode_refused = 0;
        }
    }
    for (size_t i = from; i < n; i++) {
        batch_msg_t *it = &self->msgs[i];
        switch (it->status) {
        case WIRE_ACK_STORED: self->c.stored++; break;
        case WIRE_ACK_DUPLICATE: self->c.duplicates++; break;
        case WIRE_ACK_REJECTED: self->c.rejected++; break;
        default: self->c.unavailable++; self->episode_refused++; break;
        }
        if (it->status == WIRE_ACK_STORED || it->status == WIRE_ACK_DUPLICATE)
            acks_add (self->acks, self->pub, zmq_msg_data (&it->rid), zmq_msg_size (&it->rid),
                      it->token, it->status, it->seq);
        else
            s_send_ack (self, it);
        if (it->status == WIRE_ACK_STORED)
            s_fan_out (self, it);
        s_msg_reset (it);
    }
    acks_flush (self->acks, self->pub);
}

/* Takes up to max_batch publish messages, checks them all (prefetching
 * their dedup slots), then stores them as one batch: one journal commit,
 * or more when the journal's buffer or segment fills up. */
static void
s_publish_batch (broker_t *self)
{
    size_t n = 0, max = (size_t) self->opts.max_batch;
    /* messages of revoked keys are dropped unanswered (auth.h); at most
     * 2 x max_batch messages read per batch, so a flood of them cannot
     * hold the loop */
    for (size_t got = 0; n < max && got < 2 * max && s_recv_msg (self, &self->msgs[n]);
         got++) {
        if (self->msgs[n].revoked) {
            s_msg_reset (&self->msgs[n]);
            continue;
        }
        self->c.received++;
        s_check (self, &self->msgs[n++]);
    }
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s_process (self, &self->msgs[i]) != VL_EAGAIN)
            continue;
        s_flush (self, from, i);
        from = i;
        if (s_process (self, &self->msgs[i]) == VL_EAGAIN)
            s_set (&self->msgs[i], WIRE_ACK_UNAVAILABLE, 0, "journal busy");
    }
    s_flush (self, from, n);
}

/* ---- system messages ---- */

static void
s_send_sys (broker_t *self, const char *topic, const buf_t *body)
{
    unsigned char seq[WIRE_SEQ_LEN];
    util_put_be64 (seq, journal_head (self->journal));
    if (zmq_send (self->sub, topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    zmq_send (self->sub, seq, sizeof seq, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->sub, body->data, body->len, ZMQ_DONTWAIT);
}

static void
s_heartbeat (broker_t *self)
{
    buf_t b;
    buf_init (&b, 1024);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &b, mpack_buf_write);
    msgpack_pack_map (&pk, 6);
    mpack_kv_uint (&pk, "v", EVENT_VERSION);
    mpack_kv_str (&pk, "type", "heartbeat");
    mpack_kv_uint (&pk, "epoch", journal_epoch (self->journal));
    mpack_kv_uint (&pk, "head", journal_head (self->journal));
    mpack_kv_uint (&pk, "first", journal_first (self->journal));
    mpack_kv_uint (&pk, "time", (uint64_t) util_now_ms ());
    s_send_sys (self, WIRE_TOPIC_HEARTBEAT, &b);
    buf_free (&b);
}

static void
s_stats (broker_t *self)
{
    journal_stats_t js;
    journal_stats (self->journal, &js);
    buf_t b;
    buf_init (&b, 1024);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &b, mpack_buf_write);
    msgpack_pack_map (&pk, 16);
    mpack_kv_uint (&pk, "v", EVENT_VERSION);
    mpack_kv_str (&pk, "type", "stats");
    mpack_kv_uint (&pk, "epoch", journal_epoch (self->journal));
    mpack_kv_uint (&pk, "time", (uint64_t) util_now_ms ());
    mpack_kv_uint (&pk, "head", js.head);
    mpack_kv_uint (&pk, "first", js.first);
    mpack_kv_uint (&pk, "received", self->c.received);
    mpack_kv_uint (&pk, "stored", self->c.stored);
    mpack_kv_uint (&pk, "duplicates", self->c.duplicates);
    mpack_kv_uint (&pk, "rejected", self->c.rejected);
    mpack_kv_uint (&pk, "unavailable", self->c.unavailable);
    mpack_kv_uint (&pk, "replay_requests", replay_requests (self->replay));
    mpack_kv_uint (&pk, "journal_bytes", js.bytes);
    mpack_kv_uint (&pk, "segments", js.segments);
    mpack_kv_uint (&pk, "topics", js.topics);
    mpack_kv_uint (&pk, "index_bytes", js.index_bytes);
    s_send_sys (self, WIRE_TOPIC_STATS, &b);
    buf_free (&b);
    log_info ("stats: head=%" PRIu64 " first=%" PRIu64 " received=%" PRIu64
              " stored=%" PRIu64 " duplicates=%" PRIu64 " rejected=%" PRIu64
              " unavailable=%" PRIu64 " replay_requests=%" PRIu64
              " journal_bytes=%" PRIu64 " segments=%zu", js.head, js.first,
              self->c.received, self->c.stored, self->c.duplicates, self->c.rejected,
              self->c.unavailable, replay_requests (self->replay), js.bytes, js.segments);
}

/* Pushes the counters to the metrics endpoint (if any). */
static void
s_metrics (broker_t *self)
{
    if (!self->mx)
        return;
    journal_stats_t js;
    journal_stats (self->journal, &js);
    replay_stats_t rs;
    replay_stats (self->replay, &rs);
    rs.connections = connlimit_count (self->rep_limit);
    rs.refused = connlimit_refused (self->rep_limit);
    self->c.pub_connections = connlimit_count (self->pub_limit);
    self->c.pub_refused = connlimit_refused (self->pub_limit);
    self->c.sub_connections = connlimit_count (self->sub_limit);
    self->c.sub_refused = connlimit_refused (self->sub_limit);
    if (self->auth) {
        auth_stats_t as;
        auth_stats (self->auth, &as);
        self->c.revoked = as.revoked;
        self->c.handshakes_failed = as.failed;
    }
    broker_metrics_update (self->mx, &self->c, &js, &rs);
}

/* Subscription messages from XPUB: read them (else they pile up), log. */
static void
s_subscriptions (broker_t *self)
{
    for (int i = 0; i < SUBS_PER_LOOP; i++) {
        int n = zmq_msg_recv (&self->scratch, self->sub, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        const char *d = zmq_msg_data (&self->scratch);
        if (n >= 1 && log_enabled (LOG_LVL_DEBUG)) {
            char prefix[EVENT_MAX_TOPIC + 1];
            size_t len = (size_t) n - 1 < EVENT_MAX_TOPIC ? (size_t) n - 1 : EVENT_MAX_TOPIC;
            memcpy (prefix, d + 1, len);
            prefix[len] = '\0';
            log_debug ("broker: %s \"%s\"", d[0] ? "subscribe" : "unsubscribe", prefix);
        }
    }
}

/* ---- reload ---- */

/* Binds the subscribe endpoint again at its address (wildcard port
 * resolved); false while the address is still held by the old listener
 * (libzmq closes it in its I/O thread). */
static bool
s_subscribe_bind (broker_t *self)
{
    if (zmq_bind (self->sub, self->ep_sub) != 0)
        return false;
    auth_restrict_ipc (self->ep_sub);
    self->sub_unbound = false;
    return true;
}

/* Drops every live subscriber by unbinding the subscribe endpoint, then
 * binds it again: subscribers reconnect by themselves (libzmq's reconnect
 * interval) through ZAP, where a revoked key is refused, and fetch what
 * they missed in between by replay. While the address stays busy (after
 * REBIND_TRIES), s_timers retries at each heartbeat. */
static void
s_subscribe_rebind (broker_t *self)
{
    if (zmq_unbind (self->sub, self->ep_sub) != 0) {
        log_error ("broker: cannot unbind %s to drop revoked subscribers: %s",
                   self->ep_sub, zmq_strerror (errno));
        return;
    }
    self->sub_unbound = true;
    for (int i = 0; i < REBIND_TRIES && !s_subscribe_bind (self); i++)
        zmq_poll (NULL, 0, 10);
    if (self->sub_unbound)
        log_error ("broker: cannot bind %s again: %s; retrying every %d ms", self->ep_sub,
                   zmq_strerror (errno), self->opts.heartbeat_ms);
    else
        log_info ("broker: subscribe endpoint %s re-bound to drop revoked subscriber keys; "
                  "the others reconnect", self->ep_sub);
}

/* SIGHUP: reopens the log, re-reads the CURVE allow-lists and, when a
 * subscriber key was removed, re-binds the subscribe endpoint (the
 * ROUTER endpoints check each message: auth_msg_allowed). */
static void
s_reload (broker_t *self)
{
    log_reopen ();
    auth_change_t change = { 0 };
    vl_err_t rc = self->auth ? auth_reload (self->auth, &change) : VL_OK;
    if (rc != VL_OK)
        log_error ("broker: SIGHUP: CURVE allow-lists not re-read (%s): the old ones stay",
                   vl_strerror (rc));
    if (change.subscribers_removed > 0)
        s_subscribe_rebind (self);
    log_info ("broker: SIGHUP: log reopened%s; other settings need a restart",
              self->auth && rc == VL_OK ? ", CURVE allow-lists re-read" : "");
}

static int64_t
s_min_wait (int64_t a, int64_t b)
{
    return b >= 0 && b < a ? b : a;
}

/* Runs the timers that are due; returns the ms until the next one. */
static long
s_timers (broker_t *self)
{
    int64_t now = util_mono_ms ();
    if (now >= self->next_heartbeat) {
        if (self->sub_unbound && s_subscribe_bind (self))
            log_info ("broker: subscribe endpoint %s bound again", self->ep_sub);
        s_heartbeat (self);
        s_metrics (self);
        self->next_heartbeat = now + self->opts.heartbeat_ms;
    }
    if (self->opts.stats_interval_s > 0 && now >= self->next_stats) {
        s_stats (self);
        self->next_stats = now + (int64_t) self->opts.stats_interval_s * 1000;
    }
    if (now >= self->next_retain) {
        journal_retain (self->journal, util_now_ms ());
        self->next_retain = now + RETAIN_EVERY_MS;
    }
    int64_t wait = s_min_wait (self->next_heartbeat - now, self->next_retain - now);
    if (self->opts.stats_interval_s > 0)
        wait = s_min_wait (wait, self->next_stats - now);
    wait = s_min_wait (wait, journal_tick (self->journal, now));
    return (long) (wait < 0 ? 0 : wait);
}

vl_err_t
broker_run (broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *hup)
{
    zmq_pollitem_t items[] = {
        { self->pub, 0, ZMQ_POLLIN, 0 },
        { self->rep, 0, ZMQ_POLLIN, 0 },
        { self->sub, 0, ZMQ_POLLIN, 0 },
        { connlimit_socket (self->rep_limit), 0, ZMQ_POLLIN, 0 },
        { connlimit_socket (self->pub_limit), 0, ZMQ_POLLIN, 0 },
        { connlimit_socket (self->sub_limit), 0, ZMQ_POLLIN, 0 },
    };
    while (!*stop) {
        if (hup && *hup) {   /* first: a signal interrupts zmq_poll (EINTR) */
            *hup = 0;
            s_reload (self);
        }
        long timeout = notify_cap_wait (s_timers (self));
        if (zmq_poll (items, 6, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error ("broker: zmq_poll: %s", zmq_strerror (errno));
            return VL_ENET;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_publish_batch (self);
        for (int i = 0; i < REPLAYS_PER_LOOP && (items[1].revents & ZMQ_POLLIN); i++)
            if (replay_serve_one (self->replay, self->rep) == VL_EAGAIN)
                break;
        if (items[2].revents & ZMQ_POLLIN)
            s_subscriptions (self);
        if (items[3].revents & ZMQ_POLLIN)
            connlimit_handle (self->rep_limit);
        if (items[4].revents & ZMQ_POLLIN)
            connlimit_handle (self->pub_limit);
        if (items[5].revents & ZMQ_POLLIN)
            connlimit_handle (self->sub_limit);
    }
    vl_err_t rc = journal_sync (self->journal);
    log_info ("broker: stopping at head %" PRIu64 " (journal %s)",
              journal_head (self->journal), rc == VL_OK ? "synced" : vl_strerror (rc));
    return VL_OK;
}
