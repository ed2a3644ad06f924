/* client_sub.h: the subscriber side of the protocol, used by veille-sub and
 * `veille tail`. SUB on topic prefixes plus _sys.heartbeat; tracks the
 * cursor (every matching event up to it has been returned); on start and
 * whenever a heartbeat shows the broker head beyond the cursor, proves
 * nothing was missed by asking the replay endpoint (count, then replay if
 * the count does not match), so dropped live messages are recovered.
 * Events are returned once each (dedup by seq and by event id window),
 * not necessarily in seq order after a recovery. See docs/protocol.md. */
#ifndef VL_CLIENT_SUB_H
#define VL_CLIENT_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"
#include "curve.h"

typedef struct client_sub client_sub_t;

#define CLIENT_SUB_LIVE_ONLY UINT64_MAX

typedef struct {
    const char  *sub_endpoint;     /* broker XPUB */
    const char  *replay_endpoint;  /* broker replay ROUTER */
    const char **prefixes;         /* topic prefixes; "" = everything */
    size_t       nprefixes;
    uint64_t     from_seq;         /* replay everything after this seq first;
                                      CLIENT_SUB_LIVE_ONLY = start at the head */
    int          request_timeout_ms; /* replay request timeout (no message of the
                                      answer for that long), default 5000 */
    const curve_client_t *curve;   /* NULL = plaintext */
    int          sub_rcvhwm;       /* SUB receive high-water mark: 0 = libzmq
                                      default (1000), -1 = unlimited */
    uint64_t     epoch;            /* broker journal epoch that from_seq belongs
                                      to (persisted by the caller), 0 = unknown.
                                      With from_seq > 0 it is checked (a count
                                      request) before anything is replayed; the
                                      broker showing another epoch means a new
                                      journal: resync from 0 (resets counter). */
} client_sub_opts_t;

/* Counters, for logs, stats and tests. */
typedef struct {
    uint64_t live;           /* events returned from the live stream */
    uint64_t replayed;       /* events returned from the replay endpoint */
    uint64_t dup_seq;        /* dropped: seq already returned */
    uint64_t dup_id;         /* dropped: event id already returned */
    uint64_t counts;         /* count requests sent */
    uint64_t replays;        /* replays started (each may take many chunks) */
    uint64_t gaps;           /* counts that showed missed live events */
    uint64_t overflows;      /* live events not remembered (set full) */
    uint64_t timeouts;       /* requests retried on a fresh socket */
    uint64_t resets;         /* journal replaced: epoch changed (or head went backwards) */
    uint64_t lost_retention; /* events gone from the journal before we got them */
} client_sub_stats_t;

typedef enum {
    CLIENT_MSG_EVENT,    /* an event to deliver */
    CLIENT_MSG_CURSOR    /* every matching event <= seq has been returned */
} client_msg_kind_t;

/* Points into the client's buffers: valid until the next client_sub_recv. */
typedef struct {
    client_msg_kind_t kind;
    const char *topic;     size_t topic_len;
    uint64_t    seq;
    const void *data;      size_t len;    /* msgpack event */
    bool        replayed;  /* came from the replay endpoint */
} client_msg_t;

/* Connects and subscribes. Caller owns the result. */
client_sub_t *client_sub_new (void *zmq_ctx, const client_sub_opts_t *opts, vl_err_t *err);
void client_sub_destroy (client_sub_t **self_p);

/* Returns the next message within TIMEOUT_MS (-1 = forever): VL_OK with
 * *MSG filled, VL_ETIMEOUT, VL_EINTR if interrupted. */
vl_err_t client_sub_recv (client_sub_t *self, client_msg_t *msg, int timeout_ms);

/* Current cursor (CLIENT_SUB_LIVE_ONLY until the first head is known). */
uint64_t client_sub_cursor (const client_sub_t *self);

/* Last broker head seen in a heartbeat or replay END (0 if none yet). */
uint64_t client_sub_head (const client_sub_t *self);

/* The broker journal epoch the cursor belongs to: the last one seen in a
 * heartbeat or END, else opts.epoch (0 = none known). Persist it with the
 * cursor and pass it back as opts.epoch after a restart. */
uint64_t client_sub_epoch (const client_sub_t *self);

/* True once the cursor is known and a heartbeat has arrived: from then on
 * the subscription is active at the broker, so every event published after
 * this point is returned live or recovered. */
bool client_sub_ready (const client_sub_t *self);

/* Copies the counters into *OUT. */
void client_sub_get_stats (const client_sub_t *self, client_sub_stats_t *out);

/* What the replay endpoint tells of the broker's journal (client_sub_probe). */
typedef struct {
    uint64_t head;                 /* last seq stored, 0 = empty */
    uint64_t first;                /* oldest seq still held (0 = not sent) */
    uint64_t epoch;                /* journal epoch (0 = not sent) */
    bool     has_oldest;           /* the oldest event came with the answer */
    int64_t  oldest_detected_ms;   /* its `detected`, 0 if absent */
    uint64_t count;                /* END's count: events sent (replay), or
                                      matching events after `after` (count) */
} client_sub_journal_t;

/* One question to the replay endpoint (client_sub_ask). */
typedef struct {
    bool         count;      /* op "count" (how many match) instead of a
                                replay of the first matching event */
    uint64_t     after;      /* events with seq > after */
    const char **prefixes;   /* topic prefixes; none (or "") = every topic */
    size_t       nprefixes;
} client_sub_query_t;

/* Asks OPTS->replay_endpoint (only replay_endpoint, curve and
 * request_timeout_ms of OPTS are used) for {op: "replay", after: 0,
 * limit: 1, prefixes: []}: the journal's head, first seq, epoch and oldest
 * event, whatever its topic (veille-sub's `start` rule, sink_start.h).
 * Retries like client_sub_recv: a request without an answer in
 * request_timeout_ms is sent again on a fresh DEALER; an ERR or malformed
 * answer is asked again 1 s later. Blocks for at most WAIT_MS (<= 0: one
 * request timeout). VL_OK with *OUT filled; when the time is up, the last
 * failure: VL_ETIMEOUT (no answer), VL_EREMOTE (ERR), VL_EPROTO
 * (malformed END); VL_EINTR on a signal; VL_EINVAL or VL_ENOMEM when the
 * DEALER cannot be set up (bad endpoint or keys: retrying will not help). */
vl_err_t client_sub_probe (void *zmq_ctx, const client_sub_opts_t *opts, int wait_ms,
                           client_sub_journal_t *out);

/* Like client_sub_probe, but asks Q: with Q->count, {op: "count", after,
 * prefixes} (*OUT->count = matching events in (after, head]); else
 * {op: "replay", after, limit: 1, prefixes} (*OUT's oldest is the first
 * matching event after `after`, count 0 or 1). Same retries and errors
 * (VL_EINVAL also for more than WIRE_REPLAY_MAX_PREFIXES prefixes). For
 * `veille status` (core/status.c). */
vl_err_t client_sub_ask (void *zmq_ctx, const client_sub_opts_t *opts,
                         const client_sub_query_t *q, int wait_ms, client_sub_journal_t *out);

/* The SUB socket, for the caller's zmq_poll set. */
void *client_sub_socket (client_sub_t *self);

#endif
