/* broker_metrics.h: the broker's Prometheus metrics (broker.metrics_listen):
 * publish outcomes (rejections by reason too), fan-out, replay requests
 * and journal figures. The
 * broker thread pushes its counters in (broker_metrics_update); core/metrics
 * serves them on its own thread, so nothing of the broker is read from
 * another thread. */
#ifndef VL_BROKER_METRICS_H
#define VL_BROKER_METRICS_H

#include <stdint.h>
#include "broker.h"
#include "journal.h"
#include "replay.h"
#include "vl_err.h"

typedef struct broker_metrics broker_metrics_t;

/* Starts serving on LISTEN ("127.0.0.1:9101"). NULL with *ERR = VL_OK when
 * LISTEN is NULL or empty (metrics off); NULL with VL_ECONFIG when it
 * cannot listen there. Caller owns the result. */
broker_metrics_t *broker_metrics_new (const char *listen, vl_err_t *err);

/* Publishes the current figures. NULL-safe. */
void broker_metrics_update (broker_metrics_t *self, const broker_counters_t *c,
                            const journal_stats_t *js, const replay_stats_t *rs);

/* Stops serving and frees everything. NULL-safe. */
void broker_metrics_destroy (broker_metrics_t **self_p);

#endif
