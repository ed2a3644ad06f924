/* bench_common.h: shared pieces of the broker load generators (bench/).
 *
 * Every generated event is a real veille event (event_encode) of an exact
 * encoded size. Its id (32 hex digits, required by the schema) carries the
 * send time and a unique counter, so a subscriber measures the latency
 * without decoding the whole event:
 *   id = 16 hex: send time, CLOCK_MONOTONIC ns
 *      +  4 hex: run nonce
 *      +  2 hex: publisher index
 *      + 10 hex: counter
 * The id is patched in place in a template, so a publisher spends no time
 * encoding. */
#ifndef VL_BENCH_COMMON_H
#define VL_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock, nanoseconds. */
uint64_t bench_now_ns (void);

/* Sleeps until ABS_NS (CLOCK_MONOTONIC). */
void bench_sleep_until (uint64_t abs_ns);

/* ---- event template ---- */
typedef struct {
    unsigned char *data;   /* encoded event; owned */
    size_t         len;
    size_t         id_off; /* offset of the 32 id characters in data */
} bench_event_t;

/* Builds an event on TOPIC whose encoding is exactly SIZE bytes (or the
 * smallest possible if SIZE is below it). Text comes from the seeds if
 * SEEDS_DIR is readable, else from a fixed sentence. Returns false on error. */
bool bench_event_make (bench_event_t *self, const char *topic, size_t size,
                       const char *seeds_dir);

/* Writes the id for (TS_NS, NONCE, PUB, COUNTER) into the template. */
void bench_event_stamp (bench_event_t *self, uint64_t ts_ns, unsigned nonce,
                        unsigned pub, uint64_t counter);

void bench_event_free (bench_event_t *self);

/* Finds the send timestamp in an encoded event (looks for the "id" key
 * followed by a 32-byte string). Returns false if absent. */
bool bench_event_ts (const void *data, size_t len, uint64_t *ts_ns);

/* ---- latency histogram (log-linear, ~1.6 % resolution) ---- */
#define BENCH_HIST_SUB  64
#define BENCH_HIST_EXP  40
typedef struct {
    uint64_t count;
    uint64_t max;
    uint64_t b[BENCH_HIST_EXP][BENCH_HIST_SUB];
} bench_hist_t;

void     bench_hist_add (bench_hist_t *self, uint64_t v);
void     bench_hist_merge (bench_hist_t *dst, const bench_hist_t *src);
/* Value at quantile Q (0..1), upper bound of its bucket; 0 if empty. */
uint64_t bench_hist_q (const bench_hist_t *self, double q);

/* ---- command line ---- */
/* Returns the value of "--NAME VALUE" or "--NAME=VALUE" in ARGV, or DEF. */
const char *bench_arg (int argc, char **argv, const char *name, const char *def);
long long   bench_arg_ll (int argc, char **argv, const char *name, long long def);
double      bench_arg_d (int argc, char **argv, const char *name, double def);

/* Prints "RESULT key=value ..." for the run (one line on stdout). */
typedef struct {
    const char *system;
    int         pubs, subs;
    size_t      size;
    double      rate;        /* target total rate, 0 = as fast as possible */
    uint64_t    sent;        /* per publisher, summed */
    uint64_t    expected;    /* per subscriber */
    uint64_t    received_min;/* least received by one subscriber */
    uint64_t    received_sum;
    uint64_t    replayed;    /* of received_sum, recovered from the replay endpoint */
    uint64_t    acked, nacked;
    double      send_s;      /* first send -> last send */
    double      e2e_s;       /* first send -> last receive (all subscribers) */
    bench_hist_t *lat;       /* publish -> subscriber */
    bench_hist_t *ack;       /* publish -> ack (NULL if none) */
    double      client_cpu_s;/* CPU time of this load generator during the run */
} bench_result_t;

/* CPU time (user + system) of this process so far, in seconds. */
double bench_cpu_s (void);

void bench_result_print (const bench_result_t *r);

#endif
