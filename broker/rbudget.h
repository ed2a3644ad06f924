/* rbudget.h: the memory budget of replay answers waiting in ZeroMQ.
 *
 * The replay ROUTER queues an answer in libzmq until the connection takes
 * it; a client that does not read would otherwise make the broker hold
 * every answer it asked for. Each frame carrying event data (and each END
 * or ERR) is sent with rbudget_send: its bytes are copied into a block
 * that libzmq frees, from its I/O thread, once the frame has been handed to
 * the kernel or dropped with its connection; the block's charge is
 * released then. So a peer's charge is exactly what the broker still holds
 * for it, and the replay module stops an answer (END more = true) when
 * the next event would pass the peer's budget or the total budget.
 *
 * Peers are keyed by their ROUTER routing id (one per connection). A
 * peer's entry lives while something is charged to it. The main thread
 * owns the budget; only the release (free function) runs on I/O threads
 * and it touches nothing but atomic counters. */
#ifndef VL_RBUDGET_H
#define VL_RBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

/* Bytes charged per frame sent with rbudget_send on top of its data: the
 * other frames of its message (routing id, kind, topic <= 255 B, seq),
 * libzmq's message and pipe slots, malloc headers. */
#define RBUDGET_FRAME_OVERHEAD 1024u

typedef struct {
    size_t client_bytes;     /* most bytes charged to one peer */
    size_t total_bytes;      /* most bytes charged to all peers together */
    size_t client_answers;   /* most answers (END/ERR not yet sent) per peer */
} rbudget_opts_t;

typedef struct rbudget rbudget_t;
typedef struct rbudget_peer rbudget_peer_t;

/* Creates a budget with OPTS. Caller owns the result; NULL on OOM. */
rbudget_t *rbudget_new (const rbudget_opts_t *opts);

/* Destroys *self_p and sets it to NULL; NULL-safe. Only once every frame
 * sent with it has been freed (the sockets closed, the context
 * terminated). */
void rbudget_destroy (rbudget_t **self_p);

/* The entry of routing id RID (LEN bytes), created if needed; owned by the
 * budget, valid until the next rbudget_peer call. NULL on OOM. */
rbudget_peer_t *rbudget_peer (rbudget_t *self, const void *rid, size_t len);

/* True if CHARGE more bytes fit both PEER's budget and the total. */
bool rbudget_fits (const rbudget_t *self, const rbudget_peer_t *peer, size_t charge);

/* True if PEER has no bytes charged (its previous answers were taken). */
bool rbudget_idle (const rbudget_peer_t *peer);

/* True if PEER may get one more answer (client_answers not reached). */
bool rbudget_may_answer (const rbudget_t *self, const rbudget_peer_t *peer);

/* Sends LEN bytes of DATA (copied) as one frame on SOCK with zmq FLAGS,
 * charging LEN + RBUDGET_FRAME_OVERHEAD to PEER until libzmq frees the
 * frame; ENDS_ANSWER counts it as an answer in flight. Returns false (and
 * charges nothing) if the frame could not be queued; out of memory, an
 * empty frame is sent in its place so that the message still ends. */
bool rbudget_send (rbudget_t *self, rbudget_peer_t *peer, void *sock, const void *data,
                   size_t len, bool ends_answer, int flags);

/* Bytes charged now over all peers; number of peers with an entry. */
size_t rbudget_total (const rbudget_t *self);
size_t rbudget_peers (const rbudget_t *self);

#endif
