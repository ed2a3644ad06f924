/* js_pub.c: acknowledged asynchronous publishing to JetStream.
 *
 * Each pending event sits in a slot (the window): QUEUED (waiting to be
 * published: new, or after an error, from retry_at on), INFLIGHT (handed
 * to libnats, the natsMsg remembered to recognise its PubAck) or DONE (its
 * PubAck arrived: status and sequence wait for js_pub_poll). libnats calls
 * ack_handler on its own thread: it only moves a slot under the mutex and
 * writes a byte to the wake pipe. Publishing happens outside the mutex, so
 * a stalled publish never waits on the handler. */
#include "js_pub.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define JS_PUB_DEFAULT_INFLIGHT 1000
#define JS_PUB_RETRY_MS         500     /* after an error, before publishing again */
#define JS_PUB_RECONNECT_MS     1000    /* between connection / stream attempts */
#define JS_SUBJECT_MAX          (EVENT_MAX_TOPIC + 256)

enum { SLOT_FREE, SLOT_QUEUED, SLOT_INFLIGHT, SLOT_DONE };

typedef struct {
    int       state;
    uint64_t  tag;
    char      subject[JS_SUBJECT_MAX];
    char      id[EVENT_ID_HEX + 1];
    char     *data;
    size_t    len, cap;
    int64_t   retry_at;     /* QUEUED: monotonic ms */
    natsMsg  *msg;          /* INFLIGHT: the message libnats holds */
    int       status;       /* DONE: WIRE_ACK_* */
    uint64_t  seq;          /* DONE: stream sequence */
} js_slot_t;

struct js_pub {
    const nats_conf_t *conf;
    natsConnection    *nc;
    jsCtx             *js;
    bool               stream_ok;
    atomic_bool        recheck;     /* a publish found no stream: check it again */
    int64_t            next_attempt;
    pthread_mutex_t    mu;
    js_slot_t         *slots;
    size_t             nslots, used;
    int                wake[2];
};

/* Finds the INFLIGHT slot holding MSG; caller holds the mutex. */
static js_slot_t *slot_of (js_pub_t *self, const natsMsg *msg)
{
    for (size_t i = 0; i < self->nslots; i++)
        if (self->slots[i].state == SLOT_INFLIGHT && self->slots[i].msg == msg)
            return &self->slots[i];
    return NULL;
}

/* libnats' thread: a PubAck (PA) or an error (PAE) for MSG. */
static void ack_handler (jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void) js;
    js_pub_t *self = closure;
    pthread_mutex_lock (&self->mu);
    js_slot_t *s = slot_of (self, msg);
    if (s && pa) {
        s->state = SLOT_DONE;
        s->status = pa->Duplicate ? WIRE_ACK_DUPLICATE : WIRE_ACK_STORED;
        s->seq = pa->Sequence;
    } else if (s) {
        bool fatal = pae && pae->Err == NATS_MAX_PAYLOAD;
        if (pae && (pae->Err == NATS_NO_RESPONDERS || pae->ErrCode == JSStreamNotFoundErr))
            atomic_store (&self->recheck, true);   /* the stream was deleted? */
        s->state = fatal ? SLOT_DONE : SLOT_QUEUED;
        s->status = WIRE_ACK_REJECTED;
        s->retry_at = util_mono_ms () + JS_PUB_RETRY_MS;
        if (pae)
            log_debug ("js_pub: %s: %s (%d); publishing again", s->subject,
                       pae->ErrText ? pae->ErrText : natsStatus_GetText (pae->Err),
                       (int) pae->ErrCode);
    }
    if (s)
        s->msg = NULL;
    pthread_mutex_unlock (&self->mu);
    natsMsg_Destroy (msg);
    if (s) {
        ssize_t w = write (self->wake[1], "a", 1);
        (void) w;   /* a full pipe already wakes the reader */
    }
}

js_pub_t *js_pub_new (const nats_conf_t *conf, size_t max_inflight, vl_err_t *err)
{
    js_pub_t *self = calloc (1, sizeof *self);
    *err = VL_ENOMEM;
    if (!self)
        return NULL;
    self->conf = conf;
    self->nslots = max_inflight ? max_inflight : JS_PUB_DEFAULT_INFLIGHT;
    self->slots = calloc (self->nslots, sizeof *self->slots);
    self->wake[0] = self->wake[1] = -1;
    if (!self->slots || pthread_mutex_init (&self->mu, NULL) != 0
        || pipe2 (self->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        free (self->slots);
        free (self);
        return NULL;
    }
    *err = VL_OK;
    return self;
}

void js_pub_destroy (js_pub_t **self_p)
{
    js_pub_t *self = *self_p;
    if (!self)
        return;
    nats_conf_disconnect (&self->nc, &self->js);   /* no handler runs after this */
    for (size_t i = 0; i < self->nslots; i++)
        free (self->slots[i].data);
    free (self->slots);
    close (self->wake[0]);
    close (self->wake[1]);
    pthread_mutex_destroy (&self->mu);
    free (self);
    *self_p = NULL;
}

vl_err_t js_pub_send (js_pub_t *self, const char *topic, const void *event, size_t len,
                      uint64_t tag)
{
    if (len > EVENT_MAX_BYTES)
        return VL_ETOOBIG;
    event_view_t v;
    vl_err_t e = event_validate (event, len, &v);
    if (e != VL_OK)
        return e == VL_ETOOBIG ? e : VL_EINVAL;
    pthread_mutex_lock (&self->mu);
    js_slot_t *s = NULL;
    for (size_t i = 0; self->used < self->nslots && !s && i < self->nslots; i++)
        if (self->slots[i].state == SLOT_FREE)
            s = &self->slots[i];
    e = s ? VL_OK : VL_EAGAIN;
    if (s && !nats_conf_subject (self->conf->subject_prefix, topic, strlen (topic),
                                 s->subject, sizeof s->subject))
        e = VL_EINVAL;
    if (e == VL_OK && s->cap < len) {
        char *d = realloc (s->data, len ? len : 1);
        e = d ? VL_OK : VL_ENOMEM;
        if (d) {
            s->data = d;
            s->cap = len;
        }
    }
    if (e == VL_OK) {
        memcpy (s->data, event, len);
        s->len = len;
        snprintf (s->id, sizeof s->id, "%.*s", (int) v.id_len, v.id);
        s->tag = tag;
        s->state = SLOT_QUEUED;
        s->retry_at = 0;
        self->used++;
    }
    pthread_mutex_unlock (&self->mu);
    return e;
}

/* Creates the stream over "<prefix>.>" if it does not exist. */
static natsStatus ensure_stream (js_pub_t *self)
{
    const nats_conf_t *c = self->conf;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo (&si, self->js, c->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        char subj[JS_SUBJECT_MAX];
        s = nats_conf_add_stream (self->js, c->stream, c->subject_prefix, c->replicas,
                                  (int) c->duplicate_window_s, subj, sizeof subj, &si);
        if (s == NATS_OK)
            log_info ("created JetStream stream %s over %s (R%d)", c->stream, subj, c->replicas);
    } else if (s == NATS_OK && si->Config
               && si->Config->Duplicates < (int64_t) c->duplicate_window_s * 1000000000LL)
        log_warn ("JetStream stream %s: duplicate window %llds, shorter than "
                  "duplicate_window_s = %d: an outbox row resent after it is stored twice",
                  c->stream, (long long) (si->Config->Duplicates / 1000000000LL),
                  c->duplicate_window_s);
    jsStreamInfo_Destroy (si);
    if (s != NATS_OK)
        log_warn ("JetStream stream %s: %s (%d); retrying", c->stream, natsStatus_GetText (s),
                  (int) jerr);
    return s;
}

/* Connects and checks the stream, at most once per JS_PUB_RECONNECT_MS. */
static void ensure_ready (js_pub_t *self)
{
    int64_t now = util_mono_ms ();
    if (self->stream_ok || now < self->next_attempt)
        return;
    self->next_attempt = now + JS_PUB_RECONNECT_MS;
    if (!self->nc) {
        jsOptions jo;
        jsOptions_Init (&jo);
        jo.PublishAsync.AckHandler = ack_handler;
        jo.PublishAsync.AckHandlerClosure = self;
        jo.PublishAsync.MaxPending = (int64_t) self->nslots + 1;
        if (nats_conf_connect (self->conf, "outbox publisher", &jo, &self->nc, &self->js) != NATS_OK)
            return;
    }
    self->stream_ok = ensure_stream (self) == NATS_OK;
}

/* Publishes slot S (marked INFLIGHT with its message by the caller). */
static void publish_slot (js_pub_t *self, js_slot_t *s, natsMsg *m)
{
    jsPubOptions po;
    jsPubOptions_Init (&po);
    po.MaxWait = self->conf->timeout_ms;
    po.ExpectStream = self->conf->stream;
    natsStatus st = js_PublishMsgAsync (self->js, &m, &po);
    if (st == NATS_OK)
        return;
    if (st == NATS_NO_RESPONDERS)
        atomic_store (&self->recheck, true);
    pthread_mutex_lock (&self->mu);
    if (s->state == SLOT_INFLIGHT && s->msg == m) {
        bool fatal = st == NATS_MAX_PAYLOAD;
        s->state = fatal ? SLOT_DONE : SLOT_QUEUED;
        s->status = WIRE_ACK_REJECTED;
        s->retry_at = util_mono_ms () + JS_PUB_RETRY_MS;
        s->msg = NULL;
    }
    pthread_mutex_unlock (&self->mu);
    natsMsg_Destroy (m);
    if (st != NATS_MAX_PAYLOAD)
        log_debug ("js_pub: publish %s: %s", s->subject, natsStatus_GetText (st));
    else
        log_error ("js_pub: %s: over the server's max_payload", s->subject);
}

/* Publishes every QUEUED slot whose time has come. */
static void publish_due (js_pub_t *self)
{
    int64_t now = util_mono_ms ();
    for (size_t i = 0; i < self->nslots; i++) {
        js_slot_t *s = &self->slots[i];
        natsMsg *m = NULL;
        pthread_mutex_lock (&self->mu);
        bool due = s->state == SLOT_QUEUED && s->retry_at <= now;
        pthread_mutex_unlock (&self->mu);
        if (!due || natsMsg_Create (&m, s->subject, NULL, s->data, (int) s->len) != NATS_OK
            || natsMsgHeader_Set (m, "Nats-Msg-Id", s->id) != NATS_OK) {
            natsMsg_Destroy (m);
            continue;
        }
        pthread_mutex_lock (&self->mu);
        s->state = SLOT_INFLIGHT;
        s->msg = m;
        pthread_mutex_unlock (&self->mu);
        publish_slot (self, s, m);
    }
}

/* Moves DONE slots into ACKS (up to MAX); returns how many. */
static size_t collect_done (js_pub_t *self, client_pub_ack_t *acks, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock (&self->mu);
    for (size_t i = 0; i < self->nslots && n < max; i++) {
        js_slot_t *s = &self->slots[i];
        if (s->state != SLOT_DONE)
            continue;
        acks[n++] = (client_pub_ack_t) { .tag = s->tag, .status = s->status, .seq = s->seq };
        s->state = SLOT_FREE;
        self->used--;
    }
    pthread_mutex_unlock (&self->mu);
    return n;
}

vl_err_t js_pub_poll (js_pub_t *self, int timeout_ms, client_pub_ack_t *acks, size_t max,
                      size_t *nacks)
{
    if (timeout_ms != 0) {
        struct pollfd p = { .fd = self->wake[0], .events = POLLIN };
        if (poll (&p, 1, timeout_ms) < 0)
            return VL_EINTR;
    }
    char drain[256];
    while (read (self->wake[0], drain, sizeof drain) > 0) {
    }
    if (self->stream_ok && (!self->nc || natsConnection_IsClosed (self->nc))) {
        nats_conf_disconnect (&self->nc, &self->js);
        self->stream_ok = false;
    }
    if (atomic_exchange (&self->recheck, false) && self->stream_ok) {
        log_warn ("JetStream stream %s: publishes find no stream; checking it",
                  self->conf->stream);
        self->stream_ok = false;
    }
    if (js_pub_pending (self) > 0)
        ensure_ready (self);
    if (self->stream_ok)
        publish_due (self);
    *nacks = collect_done (self, acks, max);
    if (*nacks == max) {
        ssize_t w = write (self->wake[1], "m", 1);   /* more may be waiting */
        (void) w;
    }
    return VL_OK;
}

size_t js_pub_pending (js_pub_t *self)
{
    pthread_mutex_lock (&self->mu);
    size_t n = self->used;
    pthread_mutex_unlock (&self->mu);
    return n;
}

int js_pub_fd (const js_pub_t *self)
{
    return self->wake[0];
}
