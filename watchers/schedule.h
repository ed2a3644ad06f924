/* schedule.h: when to poll a source next, and when its failures deserve an
 * error event. Pure functions over a small state (persisted by state.c), the
 * clock and the random value passed in, so they are testable.
 *
 * - Success: next poll after interval_s, spread by +-jitter_percent.
 * - Failure number k: next poll after interval_s * 2^(k-1), capped at
 *   max(backoff_max_s, interval_s), also jittered.
 * - The fail_threshold-th consecutive failure asks for one `error` event;
 *   later failures ask for nothing; the first success after an error event
 *   asks for one `recovered` event. A failure never touches item state. */
#ifndef VL_SCHEDULE_H
#define VL_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int interval_s;
    int jitter_percent;   /* 0..50 */
    int backoff_max_s;
    int fail_threshold;   /* >= 1 */
} sched_params_t;

typedef struct {
    int     failures;     /* consecutive failures */
    bool    error_sent;   /* an error event went out for this episode */
    int64_t next_due_ms;  /* wall clock, ms since the epoch */
} sched_state_t;

typedef enum {
    SCHED_NONE,           /* nothing to publish */
    SCHED_SEND_ERROR,     /* publish the source's error event now */
    SCHED_SEND_RECOVERED  /* publish the source's recovered event now */
} sched_action_t;

/* BASE_MS spread uniformly by +-JITTER_PERCENT using RND (any 32-bit value). */
int64_t schedule_jitter (int64_t base_ms, int jitter_percent, uint32_t rnd);

/* Delay before the next try after FAILURES consecutive failures (0 = the
 * plain interval), before jitter. */
int64_t schedule_delay_ms (const sched_params_t *p, int failures);

/* Records a successful poll at NOW_MS; sets the next due time. */
sched_action_t schedule_success (sched_state_t *st, const sched_params_t *p,
                                 int64_t now_ms, uint32_t rnd);

/* Records a failed poll at NOW_MS; sets the next due time (backoff). */
sched_action_t schedule_failure (sched_state_t *st, const sched_params_t *p,
                                 int64_t now_ms, uint32_t rnd);

/* A random 32-bit value for the jitter (libsodium). */
uint32_t schedule_random (void);

#endif
