/* sub_metrics.h: veille-sub's Prometheus metrics (sub.metrics_listen):
 * events received live and by replay, replay/count requests, gaps, and per
 * sink deliveries, failures (dead letters), retries, duplicates skipped,
 * overflows, queue depth, cursor, up/down, age of the oldest undelivered
 * event and redriven dead letters. Updated from the main loop (at most
 * every 250 ms), served by core/metrics on its own thread. */
#ifndef VL_SUB_METRICS_H
#define VL_SUB_METRICS_H

#include "client_sub.h"
#include "dispatch.h"
#include "vl_err.h"

typedef struct sub_metrics sub_metrics_t;

/* Starts serving on LISTEN ("127.0.0.1:9103"). NULL with *ERR = VL_OK when
 * LISTEN is NULL or empty (metrics off); NULL with VL_ECONFIG when it
 * cannot listen. Caller owns the result. */
sub_metrics_t *sub_metrics_new (const char *listen, vl_err_t *err);

/* Folds the final counters ST of a subscription client being closed into
 * the totals. NULL-safe. */
void sub_metrics_client_closed (sub_metrics_t *self, const client_sub_stats_t *st);

/* Refreshes the series from the current client's counters ST and the
 * sinks of D (rate-limited; FORCE = now). NULL-safe. */
void sub_metrics_update (sub_metrics_t *self, dispatch_t *d, const client_sub_stats_t *st,
                         bool force);

/* Stops serving and frees everything. NULL-safe. */
void sub_metrics_destroy (sub_metrics_t **self_p);

#endif
