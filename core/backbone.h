/* backbone.h: what carries events from veille-watch to veille-sub: the
 * embedded veille-broker over ZeroMQ (client_pub.h, client_sub.h; the
 * default) or a NATS JetStream stream (js_pub.h, js_sub.h). One interface
 * per side, so the watcher's outbox publisher and veille-sub's event
 * source do not depend on which one a configuration chose (`backbone`
 * key, docs/operations.md, Choosing a backbone). */
#ifndef VL_BACKBONE_H
#define VL_BACKBONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client_pub.h"
#include "client_sub.h"
#include "config.h"
#include "nats_conf.h"
#include "vl_err.h"

/* The choices of the `backbone` key, for the key tables. */
#define BACKBONE_CHOICES "broker|nats"
#define BACKBONE_DOC "what carries the events: the veille-broker (ZeroMQ) or NATS JetStream " \
                     "(the `nats` group); docs/operations.md, Choosing a backbone"

/* True when SECTION's `backbone` is "nats". */
bool backbone_is_nats (const config_setting_t *section);

/* --- publisher (veille-watch) --------------------------------------------- */

typedef struct bb_pub bb_pub_t;

/* NATS NULL: the broker at ZOPTS->endpoint over ZCTX; else JetStream
 * (NATS must outlive the publisher; ZCTX and ZOPTS unused but
 * max_inflight). Caller owns the result. */
bb_pub_t *bb_pub_new (void *zctx, const client_pub_opts_t *zopts, const nats_conf_t *nats,
                      vl_err_t *err);
void bb_pub_destroy (bb_pub_t **self_p);

/* client_pub_send, client_pub_poll, client_pub_pending of the backbone. */
vl_err_t bb_pub_send (bb_pub_t *self, const char *topic, const void *event, size_t len,
                      uint64_t tag);
vl_err_t bb_pub_poll (bb_pub_t *self, int timeout_ms, client_pub_ack_t *acks, size_t max,
                      size_t *nacks);
size_t bb_pub_pending (bb_pub_t *self);

/* The descriptor to wait on for replies (*FD), and *READY when replies are
 * already waiting (call bb_pub_poll without waiting). */
void bb_pub_wait_fd (bb_pub_t *self, int *fd, bool *ready);

/* --- subscriber (veille-sub) ---------------------------------------------- */

typedef struct bb_sub bb_sub_t;

/* NATS NULL: client_sub_new (ZCTX, ZOPTS); else a JetStream consumer from
 * ZOPTS->from_seq with ZOPTS->epoch (the rest of ZOPTS unused; NATS must
 * outlive the subscriber). Caller owns the result. */
bb_sub_t *bb_sub_new (void *zctx, const client_sub_opts_t *zopts, const nats_conf_t *nats,
                      vl_err_t *err);
void bb_sub_destroy (bb_sub_t **self_p);

/* client_sub_recv, _cursor, _head, _epoch, _ready, _get_stats of the backbone. */
vl_err_t bb_sub_recv (bb_sub_t *self, client_msg_t *msg, int timeout_ms);
uint64_t bb_sub_cursor (const bb_sub_t *self);
uint64_t bb_sub_head (const bb_sub_t *self);
uint64_t bb_sub_epoch (const bb_sub_t *self);
bool bb_sub_ready (const bb_sub_t *self);
void bb_sub_get_stats (const bb_sub_t *self, client_sub_stats_t *out);

/* client_sub_probe or js_sub_probe (NATS not NULL). */
vl_err_t bb_sub_probe (void *zctx, const client_sub_opts_t *zopts, const nats_conf_t *nats,
                       int wait_ms, client_sub_journal_t *out);

#endif
