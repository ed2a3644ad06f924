/* metrics.h: a small registry of named counters, gauges and histograms
 * (with label pairs) rendered in the Prometheus text exposition format,
 * and an optional HTTP endpoint (libmicrohttpd) serving GET /metrics on a
 * loopback address.
 *
 * Thread-safe: creating or looking up a series takes the registry lock;
 * updating a series is a lock-free atomic operation, so hot paths keep the
 * metric_t pointer and call metric_inc/metric_set/metric_observe. Series
 * live as long as the registry. Collectors (callbacks) run at each scrape,
 * before rendering, to refresh gauges read from elsewhere (queue depths,
 * stats structs). */
#ifndef VL_METRICS_H
#define VL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "vl_err.h"

typedef struct metrics metrics_t;
typedef struct metric metric_t;

#define METRICS_MAX_BUCKETS 16

/* Default latency buckets, in seconds (0.005 .. 60). */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

/* Creates an empty registry. Caller owns the result (metrics_destroy). */
metrics_t *metrics_new (void);

/* Returns the counter NAME with the given labels, creating it at 0 (and
 * its family with HELP) on first use. Labels are key, value pairs ended by
 * NULL: metrics_counter (m, "veille_sub_delivered_total", "help", "sink",
 * "mail", NULL). Values are escaped when rendered. The registry owns the
 * series; NULL on OOM, on a bad name, or if NAME exists with another type.
 * metric_* functions accept NULL (no-op), so callers need not check. */
metric_t *metrics_counter (metrics_t *self, const char *name, const char *help, ...)
    __attribute__ ((sentinel));

/* Same for a gauge (a value that goes up and down). */
metric_t *metrics_gauge (metrics_t *self, const char *name, const char *help, ...)
    __attribute__ ((sentinel));

/* Same for a histogram with the upper bounds BOUNDS (N ascending values,
 * at most METRICS_MAX_BUCKETS; +Inf is implied). */
metric_t *metrics_histogram (metrics_t *self, const char *name, const char *help,
                             const double *bounds, size_t n, ...)
    __attribute__ ((sentinel));

/* Counter: adds 1 / N. */
void metric_inc (metric_t *m);
void metric_add (metric_t *m, uint64_t n);
/* Counter or gauge: sets the value (a counter fed from another counter). */
void metric_set (metric_t *m, double v);
/* Histogram: records one observation V. */
void metric_observe (metric_t *m, double v);
/* Current value of a counter or gauge (histogram: observation count). */
double metric_value (const metric_t *m);

/* Registers FN(ARG, SELF) to be called at each scrape before rendering
 * (up to 16 collectors). FN must not call metrics_render. */
vl_err_t metrics_add_collector (metrics_t *self, void (*fn) (void *arg, metrics_t *m), void *arg);

/* Runs the collectors, then appends the whole registry to OUT in the
 * Prometheus text format 0.0.4 (# HELP / # TYPE, one line per series). */
vl_err_t metrics_render (metrics_t *self, buf_t *out);

/* Starts serving GET /metrics on LISTEN ("127.0.0.1:9101", "[::1]:9101";
 * port 0 picks a free port). Only loopback addresses are accepted
 * (VL_EINVAL otherwise: the endpoint has no authentication). Logs the
 * address it listens on. VL_EIO if it cannot bind. */
vl_err_t metrics_serve (metrics_t *self, const char *listen);

/* Port the endpoint listens on, 0 if not serving. */
int metrics_port (const metrics_t *self);

/* Stops the endpoint (if any) and frees everything. NULL-safe. */
void metrics_destroy (metrics_t **self_p);

#include <stdbool.h>
#include <sys/socket.h>

/* Parses "host:port" / "[v6]:port" ("localhost" = 127.0.0.1) into SS: *V6
 * tells the family, *LOOPBACK whether the address is a loopback one.
 * VL_EINVAL if it is not an address and port. */
vl_err_t metrics_parse_address (const char *listen, struct sockaddr_storage *ss, bool *v6,
                                bool *loopback);

/* The same for a metrics_listen value: VL_EINVAL unless it is loopback
 * (the metrics endpoint has no authentication). */
vl_err_t metrics_parse_listen (const char *listen, struct sockaddr_storage *ss, bool *v6);

#endif
