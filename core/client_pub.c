/* client_pub.c: pipelined, acknowledged publishing over a DEALER.
 *
 * Each pending event sits in a slot of a fixed array (the window). A slot
 * is on one of two intrusive lists: `queue` (waiting to be sent: new, timed
 * out, refused with UNAVAILABLE, or cut off by a reconnection) or `inflight`
 * (sent, waiting for its ack, oldest first, so the head is the next to time
 * out). The token on the wire names the slot and its generation, so a late
 * ack for a slot that was reused is recognised and ignored. Slot buffers
 * grow to the largest event seen and are kept: no allocation per message
 * once warm. A socket monitor (inproc PAIR) reports handshakes; on each,
 * after a disconnection, every event that was in flight before it is sent
 * again at once (the broker dedups by id). Replies come one by one or as
 * ack batches (one frame of records, docs/protocol.md); a batch larger
 * than the caller's ack array is held and handed out over several calls. */
#include "client_pub.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "event.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define PUB_DEFAULT_INFLIGHT  1000
#define PUB_DEFAULT_RESEND_MS 5000
#define PUB_BACKOFF_MIN_MS    100
#define PUB_BACKOFF_MAX_MS    10000
#define PUB_NONE              (-1)

enum { LIST_FREE, LIST_QUEUE, LIST_INFLIGHT };

typedef struct {
    uint32_t gen;
    uint8_t  list;
    uint64_t tag;
    char    *data;          /* topic bytes then event bytes */
    size_t   cap;
    size_t   topic_len;
    size_t   event_len;
    int64_t  sent_at;       /* monotonic ms of the last send */
    int32_t  prev, next;
} pub_slot_t;

typedef struct {
    int32_t head, tail;
} pub_list_t;

struct client_pub {
    void       *sock;
    void       *mon;
    size_t      max_inflight;
    int         resend_ms;
    pub_slot_t *slots;
    int32_t    *free_stack;
    size_t      nfree;
    pub_list_t  queue;
    pub_list_t  inflight;
    bool        blocked;       /* last send hit EAGAIN (no peer or HWM) */
    int64_t     pause_until;   /* after UNAVAILABLE: no send before this */
    int         backoff_ms;
    int64_t     lost_before;   /* disconnection seen: in flight before it is suspect */
    uint64_t    resent;
    zmq_msg_t   batch;         /* ack batch being handed out (acks.h) */
    size_t      batch_off;     /* next record in it */
};

/* --- intrusive lists ----------------------------------------------------- */

static void
s_unlink (client_pub_t *self, int32_t i)
{
    pub_slot_t *s = &self->slots[i];
    pub_list_t *l = s->list == LIST_QUEUE ? &self->queue : &self->inflight;
    if (s->prev != PUB_NONE)
        self->slots[s->prev].next = s->next;
    else
        l->head = s->next;
    if (s->next != PUB_NONE)
        self->slots[s->next].prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = PUB_NONE;
    s->list = LIST_FREE;
}

static void
s_push_tail (client_pub_t *self, int32_t i, int which)
{
    pub_list_t *l = which == LIST_QUEUE ? &self->queue : &self->inflight;
    pub_slot_t *s = &self->slots[i];
    s->list = (uint8_t) which;
    s->next = PUB_NONE;
    s->prev = l->tail;
    if (l->tail != PUB_NONE)
        self->slots[l->tail].next = i;
    else
        l->head = i;
    l->tail = i;
}

/* Moves the in-flight slots sent at or before T (the oldest ones) to the
 * front of the queue, keeping their order. */
static void
s_requeue_sent_before (client_pub_t *self, int64_t t)
{
    int32_t first = self->inflight.head, last = PUB_NONE;
    for (int32_t i = first; i != PUB_NONE && self->slots[i].sent_at <= t;
         i = self->slots[i].next) {
        self->slots[i].list = LIST_QUEUE;
        last = i;
    }
    if (last == PUB_NONE)
        return;
    int32_t rest = self->slots[last].next;
    self->inflight.head = rest;
    if (rest != PUB_NONE)
        self->slots[rest].prev = PUB_NONE;
    else
        self->inflight.tail = PUB_NONE;
    self->slots[last].next = self->queue.head;
    if (self->queue.head != PUB_NONE)
        self->slots[self->queue.head].prev = last;
    else
        self->queue.tail = last;
    self->queue.head = first;
}

/* --- lifecycle ----------------------------------------------------------- */

static vl_err_t
s_open_sockets (client_pub_t *self, void *ctx, const client_pub_opts_t *opts)
{
    self->sock = zmq_socket (ctx, ZMQ_DEALER);
    if (!self->sock)
        return VL_ENOMEM;
    int zero = 0, one = 1;
    int hwm = (int) (self->max_inflight * 2 < 1000 ? 1000 : self->max_inflight * 2);
    int hb_ivl = 2000, hb_ttl = 6000;
    zmq_setsockopt (self->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (self->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt (self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (self->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt (self->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_ttl, sizeof hb_ttl);
    if (opts->curve && curve_client_apply (self->sock, opts->curve) != VL_OK)
        return VL_EINVAL;

    char mon_ep[64];
    snprintf (mon_ep, sizeof mon_ep, "inproc://veille-pub-mon-%p", (void *) self);
    if (zmq_socket_monitor (self->sock, mon_ep,
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                            | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return VL_ENET;
    self->mon = zmq_socket (ctx, ZMQ_PAIR);
    if (!self->mon || zmq_connect (self->mon, mon_ep) != 0)
        return VL_ENET;
    zmq_setsockopt (self->mon, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect (self->sock, opts->endpoint) != 0) {
        log_error ("client_pub: cannot connect to %s: %s", opts->endpoint,
                   zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    return VL_OK;
}

client_pub_t *
client_pub_new (void *zmq_ctx, const client_pub_opts_t *opts, vl_err_t *err)
{
    vl_err_t dummy;
    if (!err)
        err = &dummy;
    if (!zmq_ctx || !opts || !opts->endpoint) {
        *err = VL_EINVAL;
        return NULL;
    }
    client_pub_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    zmq_msg_init (&self->batch);
    self->max_inflight = opts->max_inflight ? opts->max_inflight : PUB_DEFAULT_INFLIGHT;
    if (self->max_inflight > INT32_MAX / 2)
        self->max_inflight = INT32_MAX / 2;
    self->resend_ms = opts->resend_ms > 0 ? opts->resend_ms : PUB_DEFAULT_RESEND_MS;
    self->backoff_ms = PUB_BACKOFF_MIN_MS;
    self->lost_before = -1;
    self->queue.head = self->queue.tail = PUB_NONE;
    self->inflight.head = self->inflight.tail = PUB_NONE;
    self->slots = calloc (self->max_inflight, sizeof *self->slots);
    self->free_stack = calloc (self->max_inflight, sizeof *self->free_stack);
    if (!self->slots || !self->free_stack) {
        client_pub_destroy (&self);
        *err = VL_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < self->max_inflight; i++) {
        self->slots[i].prev = self->slots[i].next = PUB_NONE;
        self->free_stack[self->nfree++] = (int32_t) (self->max_inflight - 1 - i);
    }
    *err = s_open_sockets (self, zmq_ctx, opts);
    if (*err != VL_OK)
        client_pub_destroy (&self);
    return self;
}

void
client_pub_destroy (client_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_pub_t *self = *self_p;
    if (self->sock) {
        zmq_socket_monitor (self->sock, NULL, 0);
        zmq_close (self->sock);
    }
    if (self->mon)
        zmq_close (self->mon);
    if (self->slots)
        for (size_t i = 0; i < self->max_inflight; i++)
            free (self->slots[i].data);
    free (self->slots);
    free (self->free_stack);
    zmq_msg_close (&self->batch);
    free (self);
    *self_p = NULL;
}

/* --- sending ------------------------------------------------------------- */

static void
s_token (const client_pub_t *self, int32_t i, unsigned char out[WIRE_TOKEN_LEN])
{
    uint64_t v = ((uint64_t) (uint32_t) i << 32) | self->slots[i].gen;
    util_put_be64 (out, v);
}

/* Sends slot I without blocking. VL_EAGAIN if ZeroMQ cannot take it now. */
static vl_err_t
s_send_slot (client_pub_t *self, int32_t i)
{
    pub_slot_t *s = &self->slots[i];
    unsigned char token[WIRE_TOKEN_LEN];
    s_token (self, i, token);
    if (zmq_send (self->sock, token, sizeof token, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return VL_EAGAIN;
    if (zmq_send (self->sock, s->data, s->topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send (self->sock, s->data + s->topic_len, s->event_len, ZMQ_DONTWAIT) < 0) {
        log_warn ("client_pub: partial send: %s", zmq_strerror (zmq_errno ()));
        return VL_EAGAIN;
    }
    return VL_OK;
}

/* Sends queued slots until the queue is empty or ZeroMQ pushes back. */
static void
s_flush (client_pub_t *self, int64_t now)
{
    if (now < self->pause_until)
        return;
    self->blocked = false;
    while (self->queue.head != PUB_NONE) {
        int32_t i = self->queue.head;
        if (s_send_slot (self, i) != VL_OK) {
            self->blocked = true;
            return;
        }
        s_unlink (self, i);
        self->slots[i].sent_at = now;
        s_push_tail (self, i, LIST_INFLIGHT);
    }
}

/* Requeues in-flight slots whose ack is overdue. */
static void
s_expire (client_pub_t *self, int64_t now)
{
    while (self->inflight.head != PUB_NONE) {
        int32_t i = self->inflight.head;
        if (self->slots[i].sent_at + self->resend_ms > now)
            break;
        s_unlink (self, i);
        s_push_tail (self, i, LIST_QUEUE);
        self->resent++;
    }
}

vl_err_t
client_pub_send (client_pub_t *self, const char *topic,
                 const void *event, size_t len, uint64_t tag)
{
    if (!self || !topic || (!event && len))
        return VL_EINVAL;
    size_t tlen = strlen (topic);
    if (tlen == 0 || tlen > EVENT_MAX_TOPIC || len > EVENT_MAX_BYTES)
        return VL_ETOOBIG;
    if (self->nfree == 0)
        return VL_EAGAIN;
    int32_t i = self->free_stack[self->nfree - 1];
    pub_slot_t *s = &self->slots[i];
    if (s->cap < tlen + len) {
        char *p = realloc (s->data, tlen + len);
        if (!p)
            return VL_ENOMEM;
        s->data = p;
        s->cap = tlen + len;
    }
    self->nfree--;
    memcpy (s->data, topic, tlen);
    if (len)
        memcpy (s->data + tlen, event, len);
    s->topic_len = tlen;
    s->event_len = len;
    s->tag = tag;
    s->gen++;
    s_push_tail (self, i, LIST_QUEUE);
    s_flush (self, util_mono_ms ());
    return VL_OK;
}

/* --- receiving ----------------------------------------------------------- */

static void
s_release (client_pub_t *self, int32_t i)
{
    s_unlink (self, i);
    self->free_stack[self->nfree++] = i;
}

/* Reads the monitor's events; a completed handshake means a (re)connection:
 * everything in flight may have been lost with the old one. */
static void
s_drain_monitor (client_pub_t *self)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            return;
        }
        uint16_t ev = 0;
        if (zmq_msg_size (&m) >= 2)
            memcpy (&ev, zmq_msg_data (&m), 2);
        while (zmq_msg_more (&m)) {
            zmq_msg_close (&m);
            zmq_msg_init (&m);
            if (zmq_msg_recv (&m, self->mon, 0) < 0)
                break;
        }
        zmq_msg_close (&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && self->lost_before >= 0) {
            /* what went out before the disconnection may be lost; what was
             * sent since then was refused (ZMQ_IMMEDIATE) or went out on
             * the new connection */
            log_info ("client_pub: reconnected; resending what was in flight");
            s_requeue_sent_before (self, self->lost_before);
            self->lost_before = -1;
        }
        else if (ev == ZMQ_EVENT_DISCONNECTED) {
            log_info ("client_pub: disconnected from the broker; will resend on reconnect");
            self->lost_before = util_mono_ms ();
        }
        else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            log_warn ("client_pub: handshake with the broker failed (CURVE keys?)");
    }
}

/* Handles one ack (TOKEN, STATUS, SEQ; REASON for REJECTED, may be "").
 * Returns true and fills *ACK if it is a final outcome. */
static bool
s_handle_ack (client_pub_t *self, uint64_t token, int status, uint64_t seq,
              const char *reason, client_pub_ack_t *ack)
{
    uint32_t idx = (uint32_t) (token >> 32), gen = (uint32_t) token;
    if (idx >= self->max_inflight || self->slots[idx].gen != gen
        || self->slots[idx].list == LIST_FREE)
        return false;   /* late ack of something already settled */
    int32_t i = (int32_t) idx;
    if (status == WIRE_ACK_UNAVAILABLE) {
        if (self->slots[i].list == LIST_INFLIGHT) {
            s_unlink (self, i);
            s_push_tail (self, i, LIST_QUEUE);
        }
        int64_t now = util_mono_ms ();
        if (self->pause_until <= now) {
            log_warn ("client_pub: broker unavailable; retrying in %d ms", self->backoff_ms);
            self->pause_until = now + self->backoff_ms;
            self->backoff_ms = self->backoff_ms * 2 > PUB_BACKOFF_MAX_MS
                             ? PUB_BACKOFF_MAX_MS : self->backoff_ms * 2;
        }
        return false;
    }
    if (status != WIRE_ACK_STORED && status != WIRE_ACK_DUPLICATE
        && status != WIRE_ACK_REJECTED) {
        log_warn ("client_pub: unknown ack status %d ignored", status);
        return false;
    }
    if (status == WIRE_ACK_REJECTED)
        log_warn ("client_pub: event rejected by the broker: %s", reason);
    else
        self->backoff_ms = PUB_BACKOFF_MIN_MS;
    ack->tag = self->slots[i].tag;
    ack->status = status;
    ack->seq = seq;
    s_release (self, i);
    return true;
}

/* Handles a single ack of 3 or 4 frames. Returns true and fills *ACK if it
 * is a final outcome. */
static bool
s_handle_single (client_pub_t *self, zmq_msg_t *parts, size_t nparts, client_pub_ack_t *ack)
{
    if (nparts < 3 || zmq_msg_size (&parts[0]) != WIRE_TOKEN_LEN
        || zmq_msg_size (&parts[1]) != 1 || zmq_msg_size (&parts[2]) != WIRE_SEQ_LEN) {
        log_warn ("client_pub: malformed ack (%zu frames) ignored", nparts);
        return false;
    }
    char reason[256] = "";
    if (nparts > 3) {
        size_t n = zmq_msg_size (&parts[3]) < sizeof reason - 1
                 ? zmq_msg_size (&parts[3]) : sizeof reason - 1;
        memcpy (reason, zmq_msg_data (&parts[3]), n);
        reason[n] = '\0';
    }
    return s_handle_ack (self, util_get_be64 (zmq_msg_data (&parts[0])),
                         *(unsigned char *) zmq_msg_data (&parts[1]),
                         util_get_be64 (zmq_msg_data (&parts[2])), reason, ack);
}

/* Takes records of the held ack batch until it is used up or MAX acks
 * are filled; the rest waits for the next call. */
static void
s_drain_batch (client_pub_t *self, client_pub_ack_t *acks, size_t max, size_t *nacks)
{
    const unsigned char *data = zmq_msg_data (&self->batch);
    size_t size = zmq_msg_size (&self->batch);
    while (*nacks < max && self->batch_off + WIRE_ACK_RECORD_LEN <= size) {
        const unsigned char *r = data + self->batch_off;
        self->batch_off += WIRE_ACK_RECORD_LEN;
        if (s_handle_ack (self, util_get_be64 (r), r[WIRE_TOKEN_LEN],
                          util_get_be64 (r + WIRE_TOKEN_LEN + 1), "", &acks[*nacks]))
            (*nacks)++;
    }
}

/* Receives one reply (without blocking) into PARTS (the first 4 frames;
 * more are dropped); returns the number kept, 0 if none was waiting. */
static size_t
s_recv_reply (client_pub_t *self, zmq_msg_t parts[4])
{
    zmq_msg_init (&parts[0]);
    if (zmq_msg_recv (&parts[0], self->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&parts[0]);
        return 0;
    }
    size_t n = 1;
    bool more = zmq_msg_more (&parts[0]);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *m = n < 4 ? &parts[n] : &extra;
        zmq_msg_init (m);
        if (zmq_msg_recv (m, self->sock, 0) < 0) {
            zmq_msg_close (m);
            break;
        }
        more = zmq_msg_more (m);
        if (m == &extra)
            zmq_msg_close (&extra);
        else
            n++;
    }
    return n;
}

/* Reads every waiting reply (without blocking) until MAX acks are filled. */
static void
s_read_replies (client_pub_t *self, client_pub_ack_t *acks, size_t max, size_t *nacks)
{
    s_drain_batch (self, acks, max, nacks);
    while (*nacks < max) {
        zmq_msg_t parts[4];
        size_t n = s_recv_reply (self, parts);
        if (n == 0)
            return;
        if (n == 1 && zmq_msg_size (&parts[0]) % WIRE_ACK_RECORD_LEN == 0
            && zmq_msg_size (&parts[0]) > 0) {
            zmq_msg_move (&self->batch, &parts[0]);
            self->batch_off = 0;
            s_drain_batch (self, acks, max, nacks);
        }
        else if (n == 1)
            log_warn ("client_pub: malformed ack batch (%zu bytes) ignored",
                      zmq_msg_size (&parts[0]));
        else if (s_handle_single (self, parts, n, &acks[*nacks]))
            (*nacks)++;
        for (size_t k = 0; k < n; k++)
            zmq_msg_close (&parts[k]);
    }
}

/* Milliseconds until the next timer (resend or end of pause), capped. */
static long
s_next_timer (const client_pub_t *self, int64_t now, long cap)
{
    long wait = cap;
    if (self->inflight.head != PUB_NONE) {
        int64_t due = self->slots[self->inflight.head].sent_at + self->resend_ms - now;
        if (due < wait)
            wait = due < 0 ? 0 : (long) due;
    }
    if (self->queue.head != PUB_NONE && self->pause_until > now
        && self->pause_until - now < wait)
        wait = (long) (self->pause_until - now);
    return wait;
}

vl_err_t
client_pub_poll (client_pub_t *self, int timeout_ms,
                 client_pub_ack_t *acks, size_t max, size_t *nacks)
{
    size_t dummy = 0;
    if (!nacks)
        nacks = &dummy;
    *nacks = 0;
    if (!self || (max && !acks))
        return VL_EINVAL;
    int64_t start = util_mono_ms ();
    for (;;) {
        int64_t now = util_mono_ms ();
        s_drain_monitor (self);
        s_expire (self, now);
        s_flush (self, now);
        s_read_replies (self, acks, max, nacks);
        if (*nacks > 0)
            return VL_OK;
        if (timeout_ms >= 0 && now - start >= timeout_ms)
            return VL_OK;
        long left = timeout_ms < 0 ? 60000 : (long) (start + timeout_ms - now);
        long wait = s_next_timer (self, now, left);
        zmq_pollitem_t items[2] = {
            { self->sock, 0, (short) (ZMQ_POLLIN | (self->blocked && now >= self->pause_until
                                                     ? ZMQ_POLLOUT : 0)), 0 },
            { self->mon, 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll (items, 2, wait) < 0) {
            if (zmq_errno () == EINTR)
                return VL_EINTR;
            return VL_ENET;
        }
    }
}

size_t
client_pub_pending (const client_pub_t *self)
{
    return self ? self->max_inflight - self->nfree : 0;
}

void *
client_pub_socket (client_pub_t *self)
{
    return self ? self->sock : NULL;
}
