/* js_sub.h: the subscriber side of the JetStream backbone, the twin of
 * client_sub.h for veille-sub: an ordered consumer of the whole stream
 * from a stream sequence, its messages returned as client_msg_t (seq =
 * stream sequence, data = the msgpack event as the watcher published it),
 * each followed by a CURSOR mark of its sequence. A subscription that
 * fails, or stalls while the stream holds more (a lost stream leader), is
 * made again from the cursor; events are returned once each and in
 * sequence order. The stream's creation time is its epoch: a stream
 * deleted and made again counts as a reset, like a replaced journal. */
#ifndef VL_JS_SUB_H
#define VL_JS_SUB_H

#include <stdbool.h>
#include <stdint.h>
#include "client_sub.h"
#include "nats_conf.h"
#include "vl_err.h"

typedef struct js_sub js_sub_t;

typedef struct {
    const nats_conf_t *conf;      /* must outlive the subscriber */
    const char        *who;       /* names the process in logs */
    uint64_t           from_seq;  /* return everything after this sequence;
                                     CLIENT_SUB_LIVE_ONLY = new messages only */
    uint64_t           epoch;     /* the stream epoch from_seq belongs to, 0 = unknown */
} js_sub_opts_t;

/* Connects in the background (js_sub_recv retries). Caller owns the result. */
js_sub_t *js_sub_new (const js_sub_opts_t *opts, vl_err_t *err);
void js_sub_destroy (js_sub_t **self_p);

/* As client_sub_recv: VL_OK with *MSG filled (valid until the next call),
 * VL_ETIMEOUT. */
vl_err_t js_sub_recv (js_sub_t *self, client_msg_t *msg, int timeout_ms);

uint64_t js_sub_cursor (const js_sub_t *self);
uint64_t js_sub_head (const js_sub_t *self);
uint64_t js_sub_epoch (const js_sub_t *self);
bool js_sub_ready (const js_sub_t *self);
void js_sub_get_stats (const js_sub_t *self, client_sub_stats_t *out);

/* The stream's state as client_sub_probe tells the journal's (head = last
 * sequence, first, epoch, oldest event's `detected`), within WAIT_MS.
 * VL_OK, VL_ETIMEOUT (no answer: no quorum, servers down), VL_EINVAL (no
 * such stream). */
vl_err_t js_sub_probe (const nats_conf_t *conf, int wait_ms, client_sub_journal_t *out);

#endif
