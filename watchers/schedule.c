/* schedule.c: poll intervals, jitter, backoff, error/recovery decisions. */
#include "schedule.h"

#include <sodium.h>

int64_t schedule_jitter (int64_t base_ms, int jitter_percent, uint32_t rnd)
{
    if (jitter_percent <= 0 || base_ms <= 0)
        return base_ms;
    if (jitter_percent > 50)
        jitter_percent = 50;
    int64_t span = base_ms * jitter_percent / 100;          /* +- span */
    /* rnd / 2^32 in [0, 1) mapped to [-span, +span]. */
    int64_t off = (int64_t) ((double) rnd / 4294967296.0 * (double) (2 * span + 1)) - span;
    int64_t v = base_ms + off;
    return v < 1 ? 1 : v;
}

int64_t schedule_delay_ms (const sched_params_t *p, int failures)
{
    int64_t interval = (int64_t) (p->interval_s > 0 ? p->interval_s : 1) * 1000;
    if (failures <= 0)
        return interval;
    int64_t cap = (int64_t) p->backoff_max_s * 1000;
    if (cap < interval)
        cap = interval;
    int64_t d = interval;
    for (int i = 1; i < failures && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

sched_action_t schedule_success (sched_state_t *st, const sched_params_t *p,
                                 int64_t now_ms, uint32_t rnd)
{
    bool was_reported = st->error_sent;
    st->failures = 0;
    st->error_sent = false;
    st->next_due_ms = now_ms + schedule_jitter (schedule_delay_ms (p, 0), p->jitter_percent, rnd);
    return was_reported ? SCHED_SEND_RECOVERED : SCHED_NONE;
}

sched_action_t schedule_failure (sched_state_t *st, const sched_params_t *p,
                                 int64_t now_ms, uint32_t rnd)
{
    if (st->failures < 1000000)
        st->failures++;
    st->next_due_ms = now_ms + schedule_jitter (schedule_delay_ms (p, st->failures),
                                                p->jitter_percent, rnd);
    int threshold = p->fail_threshold > 0 ? p->fail_threshold : 1;
    if (!st->error_sent && st->failures >= threshold) {
        st->error_sent = true;
        return SCHED_SEND_ERROR;
    }
    return SCHED_NONE;
}

uint32_t schedule_random (void)
{
    return randombytes_random ();
}
