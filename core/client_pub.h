/* client_pub.h: the publisher side of the protocol, used by veille-watch
 * and `veille pub`. Pipelined: up to max_inflight events on the wire; each
 * is kept until the broker acks it and resent after resend_ms without an
 * ack or when the connection comes back (the broker dedups by event id). */
#ifndef VL_CLIENT_PUB_H
#define VL_CLIENT_PUB_H

#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"
#include "curve.h"

typedef struct client_pub client_pub_t;

typedef struct {
    const char *endpoint;       /* broker publish endpoint */
    size_t      max_inflight;   /* default 1000 */
    int         resend_ms;      /* default 5000 */
    const curve_client_t *curve;/* NULL = plaintext */
} client_pub_opts_t;

typedef struct {
    uint64_t tag;      /* the caller's tag given to client_pub_send */
    int      status;   /* WIRE_ACK_* */
    uint64_t seq;      /* broker seq (STORED, DUPLICATE) */
} client_pub_ack_t;

/* Connects (asynchronously, ZeroMQ style). Caller owns the result. */
client_pub_t *client_pub_new (void *zmq_ctx, const client_pub_opts_t *opts, vl_err_t *err);
void client_pub_destroy (client_pub_t **self_p);

/* Copies TOPIC and EVENT (LEN bytes) and sends them when the window
 * allows. TAG comes back in the ack. VL_EAGAIN when max_inflight events are
 * already pending: call client_pub_poll and try again. VL_ETOOBIG (nothing
 * sent) for an empty topic or one over EVENT_MAX_TOPIC, or an event over
 * EVENT_MAX_BYTES: the broker would reject it, or drop the connection past
 * 2 MiB (docs/protocol.md, Size limits). */
vl_err_t client_pub_send (client_pub_t *self, const char *topic,
                          const void *event, size_t len, uint64_t tag);

/* Waits up to TIMEOUT_MS (0 = do not wait) for replies, resends what timed
 * out, and fills ACKS (up to MAX) with final outcomes (STORED, DUPLICATE,
 * REJECTED). UNAVAILABLE is not final: the event is resent later.
 * *NACKS gets how many. */
vl_err_t client_pub_poll (client_pub_t *self, int timeout_ms,
                          client_pub_ack_t *acks, size_t max, size_t *nacks);

/* Events sent or queued and not finally acked. */
size_t client_pub_pending (const client_pub_t *self);

/* The DEALER socket, for use in the caller's zmq_poll set (ZMQ_POLLIN means
 * client_pub_poll(self, 0, ...) has work). */
void *client_pub_socket (client_pub_t *self);

#endif
