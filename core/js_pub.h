/* js_pub.h: the publisher side of the JetStream backbone, the twin of
 * client_pub.h for veille-watch's outbox. Each event is published
 * asynchronously to "<subject_prefix>.<topic>" with Nats-Msg-Id = event
 * id; it is kept until its PubAck arrives and published again after an
 * error or timeout_ms without one (the stream's duplicate window makes
 * the resend harmless). Connects, and creates the stream if missing, in
 * the background: sends are queued meanwhile. */
#ifndef VL_JS_PUB_H
#define VL_JS_PUB_H

#include <stddef.h>
#include <stdint.h>
#include "client_pub.h"
#include "nats_conf.h"
#include "vl_err.h"

typedef struct js_pub js_pub_t;

/* CONF is copied by reference: it must outlive the publisher. MAX_INFLIGHT
 * 0 = 1000. Caller owns the result. */
js_pub_t *js_pub_new (const nats_conf_t *conf, size_t max_inflight, vl_err_t *err);
void js_pub_destroy (js_pub_t **self_p);

/* As client_pub_send: copies TOPIC and EVENT; VL_EAGAIN when the window is
 * full; VL_ETOOBIG for an event over EVENT_MAX_BYTES, VL_EINVAL for an
 * event without a valid id or a topic that is no valid subject (nothing
 * sent). */
vl_err_t js_pub_send (js_pub_t *self, const char *topic, const void *event, size_t len,
                      uint64_t tag);

/* As client_pub_poll: waits up to TIMEOUT_MS for PubAcks, (re)publishes
 * what is due, fills ACKS (STORED, DUPLICATE with the stream sequence;
 * REJECTED when the server refuses the message for good, e.g. over its
 * max_payload). */
vl_err_t js_pub_poll (js_pub_t *self, int timeout_ms, client_pub_ack_t *acks, size_t max,
                      size_t *nacks);

/* Events queued or published and not finally acked. */
size_t js_pub_pending (js_pub_t *self);

/* A descriptor readable when js_pub_poll(self, 0, ...) has work (a PubAck
 * or error arrived), for the caller's poll set. */
int js_pub_fd (const js_pub_t *self);

#endif
