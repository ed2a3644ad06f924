/* test_schedule.c: jitter bounds, exponential backoff with its cap, one
 * error event after fail_threshold failures, one recovered event after;
 * --shard K/N partitions the sources. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "schedule.h"
#include "watcher.h"

static void jitter_stays_within_bounds (void **state)
{
    int64_t lo = INT64_MAX, hi = 0;
    const uint32_t probes[] = { 0, 1, 12345, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int64_t v = schedule_jitter (300000, 10, probes[i]);
        assert_true (v >= 270000 && v <= 330000);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    for (uint32_t r = 0; r < 100000; r++) {
        int64_t v = schedule_jitter (300000, 10, r * 42949u);
        assert_true (v >= 270000 && v <= 330000);
    }
    assert_int_equal (lo, 270000);   /* the whole range is used */
    assert_int_equal (hi, 330000);
    assert_int_equal (schedule_jitter (300000, 0, 0xffffffffu), 300000);
    assert_true (schedule_jitter (1, 50, 0) >= 1);   /* never zero */
}

static void backoff_doubles_up_to_cap (void **state)
{
    sched_params_t p = { .interval_s = 60, .backoff_max_s = 600, .fail_threshold = 3 };
    assert_int_equal (schedule_delay_ms (&p, 0), 60000);
    assert_int_equal (schedule_delay_ms (&p, 1), 60000);
    assert_int_equal (schedule_delay_ms (&p, 2), 120000);
    assert_int_equal (schedule_delay_ms (&p, 3), 240000);
    assert_int_equal (schedule_delay_ms (&p, 4), 480000);
    assert_int_equal (schedule_delay_ms (&p, 5), 600000);
    assert_int_equal (schedule_delay_ms (&p, 500), 600000);
    /* A cap below the interval never polls faster than the interval. */
    sched_params_t q = { .interval_s = 7200, .backoff_max_s = 3600 };
    assert_int_equal (schedule_delay_ms (&q, 3), 7200000);
}

static void error_after_threshold_once_then_recovered (void **state)
{
    sched_params_t p = { .interval_s = 10, .backoff_max_s = 100, .fail_threshold = 3 };
    sched_state_t st = { 0 };
    int64_t now = 1000000;
    assert_int_equal (schedule_success (&st, &p, now, 0), SCHED_NONE);
    assert_int_equal (st.next_due_ms, now + 10000);
    assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_NONE);
    assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_NONE);
    assert_int_equal (st.next_due_ms, now + 20000);
    assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_SEND_ERROR);
    assert_true (st.error_sent);
    for (int i = 0; i < 20; i++)
        assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_NONE);
    assert_int_equal (st.failures, 23);
    assert_int_equal (st.next_due_ms, now + 100000);
    assert_int_equal (schedule_success (&st, &p, now, 0), SCHED_SEND_RECOVERED);
    assert_int_equal (st.failures, 0);
    assert_false (st.error_sent);
    assert_int_equal (schedule_success (&st, &p, now, 0), SCHED_NONE);
    /* Failures below the threshold then a success: no events at all. */
    assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_NONE);
    assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_NONE);
    assert_int_equal (schedule_success (&st, &p, now, 0), SCHED_NONE);
    /* Threshold 1: the first failure reports. */
    p.fail_threshold = 1;
    assert_int_equal (schedule_failure (&st, &p, now, 0), SCHED_SEND_ERROR);
}

static void jittered_due_time_is_in_range (void **state)
{
    sched_params_t p = { .interval_s = 100, .jitter_percent = 20, .backoff_max_s = 1000,
                         .fail_threshold = 2 };
    sched_state_t st = { 0 };
    for (int i = 0; i < 1000; i++) {
        schedule_success (&st, &p, 0, schedule_random ());
        assert_true (st.next_due_ms >= 80000 && st.next_due_ms <= 120000);
    }
}

/* --shard K/N: every source id lands in exactly one shard, and the split
 * is stable (the same id always lands in the same shard). */
static void shards_partition_sources (void **state)
{
    int counts[4] = { 0 };
    for (int i = 0; i < 400; i++) {
        char id[32];
        snprintf (id, sizeof id, "source-%d", i);
        int owners = 0;
        for (int k = 0; k < 4; k++)
            if (watcher_in_shard (id, k, 4)) {
                owners++;
                counts[k]++;
            }
        assert_int_equal (owners, 1);
        assert_true (watcher_in_shard (id, 0, 1));
        assert_true (watcher_in_shard (id, 0, 0));
    }
    for (int k = 0; k < 4; k++)
        assert_true (counts[k] > 50);   /* no shard left empty by the hash */
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (jitter_stays_within_bounds),
        cmocka_unit_test (backoff_doubles_up_to_cap),
        cmocka_unit_test (error_after_threshold_once_then_recovered),
        cmocka_unit_test (jittered_due_time_is_in_range),
        cmocka_unit_test (shards_partition_sources),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
