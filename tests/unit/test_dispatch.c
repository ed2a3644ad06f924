/* test_dispatch.c: per-sink queues and workers fed by a fake source of
 * messages: order, cursor marks, dedup across restarts, retries, dead
 * letters, isolation of a blocked sink, overflow recovery by replay,
 * crash intents, digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cursor.h"
#include "dispatch.h"
#include "test_tmpdir.h"
#include "util.h"

#define MAXREC 4096

typedef struct {
    sink_t          base;
    pthread_mutex_t mu;
    uint64_t        seqs[MAXREC];
    int64_t         at[MAXREC];       /* mono ms of each delivery */
    size_t          n;
    int             fail_first;      /* RETRY this many times */
    bool            fail_always;     /* FAILED */
    atomic_bool     block;           /* hang in deliver until cleared */
    atomic_bool     down;            /* RETRY ("connection refused") until cleared */
    bool            holds;           /* digest-like: HELD, flush confirms */
    size_t          held;
    int64_t         due;
    int64_t         hold_ms;         /* digest period (default 50 ms) */
    const char     *verified_id;     /* verify() says yes for this id */
} fake_t;

static void
fake_record (fake_t *f, uint64_t seq)
{
    pthread_mutex_lock (&f->mu);
    if (f->n < MAXREC) {
        f->at[f->n] = util_mono_ms ();
        f->seqs[f->n++] = seq;
    }
    pthread_mutex_unlock (&f->mu);
}

static void
fake_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    fake_t *f = (fake_t *) base;
    while (atomic_load (&f->block))
        usleep (2000);
    if (f->fail_always) {
        sink_result_set (res, SINK_FAILED, "HTTP 400");
        return;
    }
    if (atomic_load (&f->down)) {
        sink_result_set (res, SINK_RETRY, "connection refused");
        return;
    }
    if (f->fail_first > 0) {
        f->fail_first--;
        sink_result_set (res, SINK_RETRY, "HTTP 500");
        return;
    }
    fake_record (f, seq);
    if (f->holds) {
        if (f->held++ == 0)
            f->due = util_mono_ms () + (f->hold_ms ? f->hold_ms : 50);
        sink_result_set (res, SINK_HELD, "held");
        return;
    }
    sink_result_set (res, SINK_DELIVERED, "ok");
}

static void
fake_flush (sink_t *base, sink_result_t *res)
{
    fake_t *f = (fake_t *) base;
    f->held = 0;
    sink_result_set (res, SINK_DELIVERED, "flushed");
}

static int64_t
fake_due (sink_t *base)
{
    fake_t *f = (fake_t *) base;
    return f->held ? f->due : -1;
}

static bool
fake_verify (sink_t *base, const char *id)
{
    fake_t *f = (fake_t *) base;
    return f->verified_id && strcmp (f->verified_id, id) == 0;
}

static void
fake_destroy (sink_t *base)
{
    fake_t *f = (fake_t *) base;
    pthread_mutex_destroy (&f->mu);
    free (f->base.name);
    free (f);
}

static const sink_ops_t FAKE_OPS = { .type = "fake", .deliver = fake_deliver,
                                     .destroy = fake_destroy };
static const sink_ops_t FAKE_VERIFY_OPS = { .type = "fake", .deliver = fake_deliver,
                                            .verify = fake_verify, .destroy = fake_destroy };
static const sink_ops_t FAKE_HOLD_OPS = { .type = "fake", .deliver = fake_deliver,
                                          .flush = fake_flush, .flush_due = fake_due,
                                          .destroy = fake_destroy };

static fake_t *
fake_new (const char *name, const sink_ops_t *ops)
{
    fake_t *f = calloc (1, sizeof *f);
    f->base.ops = ops;
    f->base.name = strdup (name);
    pthread_mutex_init (&f->mu, NULL);
    atomic_init (&f->block, false);
    atomic_init (&f->down, false);
    return f;
}

static size_t
fake_count (fake_t *f)
{
    pthread_mutex_lock (&f->mu);
    size_t n = f->n;
    pthread_mutex_unlock (&f->mu);
    return n;
}

/* --- fixtures -------------------------------------------------------------- */

static char g_dir[64];
static char g_path[128];

static int
setup (void **state)
{
    if (test_tmpdir_create (g_dir, sizeof g_dir, "test_dispatch.") != 0)
        return -1;
    snprintf (g_path, sizeof g_path, "%s/state.db", g_dir);
    return 0;
}

static int
teardown (void **state)
{
    return test_tmpdir_remove (g_dir);
}

static dispatch_t *
new_dispatch (void)
{
    dispatch_opts_t o = { .state_path = g_path, .dedup_window = 1000 };
    vl_err_t err;
    dispatch_t *d = dispatch_new (&o, &err);
    assert_non_null (d);
    return d;
}

static void
add (dispatch_t *d, fake_t *f, const char *prefix, size_t cap, int max_attempts)
{
    char *topics[] = { (char *) prefix, NULL };
    filter_opts_t fo = { .topics = topics };
    dispatch_sink_opts_t o = {
        .sink = &f->base, .filter = filter_new (&fo, NULL), .max_attempts = max_attempts,
        .backoff_initial_ms = 1, .backoff_max_ms = 4, .queue_cap = cap,
    };
    assert_int_equal (dispatch_add (d, &o), VL_OK);
}

/* Adds F (every topic) with max_attempts 0, retry horizon HORIZON_MS and
 * redrive_dead REDRIVE. */
static void
add_outage (dispatch_t *d, fake_t *f, int64_t horizon_ms, bool redrive)
{
    char *topics[] = { "", NULL };
    filter_opts_t fo = { .topics = topics };
    dispatch_sink_opts_t o = {
        .sink = &f->base, .filter = filter_new (&fo, NULL), .max_attempts = 0,
        .backoff_initial_ms = 1, .backoff_max_ms = 4, .queue_cap = 64,
        .retry_horizon_ms = horizon_ms, .redrive_dead = redrive,
    };
    assert_int_equal (dispatch_add (d, &o), VL_OK);
}

/* Offers event SEQ on TOPIC with the id derived from ID_OF. */
static void
offer_id (dispatch_t *d, uint64_t seq, const char *topic, uint64_t id_of)
{
    event_t ev;
    memset (&ev, 0, sizeof ev);
    char id[40];
    snprintf (id, sizeof id, "%032llx", (unsigned long long) id_of);
    ev.v = 1;
    ev.id = id;
    ev.type = "new";
    ev.source = "src";
    ev.topic = (char *) topic;
    ev.title = "title";
    buf_t b;
    buf_init (&b, 1 << 24);
    assert_int_equal (event_encode (&ev, &b), VL_OK);
    assert_int_equal (dispatch_offer_event (d, seq, b.data, b.len), VL_OK);
    buf_free (&b);
}

/* Offers event SEQ on TOPIC (id derived from SEQ). */
static void
offer (dispatch_t *d, uint64_t seq, const char *topic)
{
    offer_id (d, seq, topic, seq);
}

static void
offer_range (dispatch_t *d, uint64_t from, uint64_t to, uint64_t mark_every)
{
    for (uint64_t s = from; s <= to; s++) {
        offer (d, s, "un.x");
        if (mark_every && s % mark_every == 0)
            dispatch_offer_mark (d, s);
    }
}

static void
assert_each_once (fake_t *f, uint64_t from, uint64_t to)
{
    assert_int_equal (f->n, to - from + 1);
    for (size_t i = 0; i < f->n; i++)
        assert_int_equal (f->seqs[i], from + i);
}

static uint64_t
stored_cursor (const char *sink)
{
    cursor_t *c = cursor_open (g_path, 0, NULL);
    uint64_t seq = 0;
    cursor_get (c, sink, &seq);
    cursor_close (&c);
    return seq;
}

static void
wait_count (fake_t *f, size_t n)
{
    for (int i = 0; i < 60000 && fake_count (f) < n; i++)
        usleep (1000);
}

/* --- tests ------------------------------------------------------------------ */

static void
delivers_in_order_and_persists_cursor_at_marks (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_VERIFY_OPS), *b = fake_new ("b", &FAKE_OPS);
    add (d, a, "", 256, 3);
    add (d, b, "un.", 256, 3);
    assert_int_equal (dispatch_start (d), VL_OK);
    offer_range (d, 1, 100, 10);
    offer (d, 101, "un.x");                       /* after the last mark */
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 1, 101);
    assert_each_once (b, 1, 101);
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.cursor, 100);
    assert_int_equal (st.delivered, 101);
    dispatch_destroy (&d);
    assert_int_equal (stored_cursor ("a"), 100);
    assert_int_equal (stored_cursor ("b"), 100);
}

static void
restart_skips_ids_delivered_above_the_cursor (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS);
    add (d, a, "", 256, 3);
    dispatch_start (d);
    offer_range (d, 1, 50, 20);                   /* cursor 40, 41..50 delivered */
    assert_true (dispatch_wait_idle (d, 60000));
    dispatch_destroy (&d);
    assert_int_equal (stored_cursor ("a"), 40);

    d = new_dispatch ();
    a = fake_new ("a", &FAKE_OPS);
    add (d, a, "", 256, 3);
    dispatch_start (d);
    assert_int_equal (dispatch_from_seq (d), 40);
    offer_range (d, 1, 60, 20);                   /* replay: <= 40 skipped by seq */
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 51, 60);                 /* 41..50 skipped by id */
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.dups, 10);
    dispatch_destroy (&d);
}

static void
filters_route_events_and_prefixes_are_merged (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS), *b = fake_new ("b", &FAKE_OPS);
    add (d, a, "un.", 64, 3);
    add (d, b, "press.", 64, 3);
    size_t n;
    const char **p = dispatch_prefixes (d, &n);
    assert_int_equal (n, 2);
    assert_null (p[2]);
    dispatch_start (d);
    offer (d, 1, "un.x");
    offer (d, 2, "press.rfi");
    offer (d, 3, "unesco.y");
    dispatch_offer_mark (d, 3);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_int_equal (a->n, 1);
    assert_int_equal (a->seqs[0], 1);
    assert_int_equal (b->n, 1);
    assert_int_equal (b->seqs[0], 2);
    dispatch_destroy (&d);
    assert_int_equal (stored_cursor ("a"), 3);   /* filtered-out events advance it too */
}

/* A reload: sinks removed and added while the dispatcher runs; the others
 * go on, a re-subscription from dispatch_resync brings nothing twice. */
static void
sinks_added_and_removed_while_running_get_each_event_once (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS), *b = fake_new ("b", &FAKE_OPS);
    add (d, a, "", 256, 3);
    add (d, b, "", 256, 3);
    assert_int_equal (dispatch_start (d), VL_OK);
    offer_range (d, 1, 20, 10);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_int_equal (dispatch_remove (d, "b", 10000), VL_OK);    /* frees b */
    assert_int_equal (dispatch_remove (d, "nope", 0), VL_ENOTFOUND);
    assert_int_equal (dispatch_count (d), 1);
    assert_int_equal (stored_cursor ("b"), 20);                  /* kept */
    offer_range (d, 21, 30, 10);

    fake_t *c = fake_new ("c", &FAKE_OPS);                       /* new: from 0 */
    add (d, c, "un.", 256, 3);
    assert_int_equal (dispatch_start (d), VL_OK);
    size_t n;
    assert_non_null (dispatch_prefixes (d, &n));
    assert_int_equal (dispatch_resync (d), 0);
    offer_range (d, 1, 40, 10);                                  /* the replay */
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 1, 40);
    assert_each_once (c, 1, 40);

    fake_t *b2 = fake_new ("b", &FAKE_OPS);                      /* back: from its cursor */
    add (d, b2, "", 256, 3);
    assert_int_equal (dispatch_start (d), VL_OK);
    assert_int_equal (dispatch_resync (d), 20);
    offer_range (d, 21, 45, 5);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (b2, 21, 45);
    assert_each_once (a, 1, 45);
    assert_each_once (c, 1, 45);
    dispatch_destroy (&d);
}

static void
retries_until_the_sink_recovers (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS);
    a->fail_first = 3;
    add (d, a, "", 64, 5);
    dispatch_start (d);
    offer_range (d, 1, 2, 2);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 1, 2);
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.retries, 3);
    assert_int_equal (st.dead, 0);
    dispatch_destroy (&d);
}

static bool
count_dead (const cursor_dead_t *dl, void *arg)
{
    (*(int *) arg)++;
    return true;
}

static void
failures_are_parked_and_the_cursor_moves_on (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS), *b = fake_new ("b", &FAKE_OPS);
    a->fail_always = true;                        /* 4xx: dead letter at once */
    b->fail_first = 1000;                         /* 5xx forever: after max_attempts */
    add (d, a, "", 64, 5);
    add (d, b, "", 64, 3);
    dispatch_start (d);
    offer_range (d, 1, 2, 2);
    assert_true (dispatch_wait_idle (d, 60000));
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.dead, 2);
    assert_int_equal (st.retries, 0);
    dispatch_stats (d, 1, &st);
    assert_int_equal (st.dead, 2);
    assert_int_equal (st.retries, 4);             /* 2 events x (3 attempts - 1) */
    dispatch_destroy (&d);
    cursor_t *c = cursor_open (g_path, 0, NULL);
    int n = 0;
    cursor_dead_foreach (c, "a", count_dead, &n, NULL);
    assert_int_equal (n, 2);
    cursor_close (&c);
    assert_int_equal (stored_cursor ("a"), 2);
    assert_int_equal (stored_cursor ("b"), 2);
}

static void
outage_longer_than_any_attempt_count_is_waited_out (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS), *b = fake_new ("b", &FAKE_OPS);
    add_outage (d, a, 0, false);                  /* no attempt limit, no horizon */
    add (d, b, "", 64, 1);
    atomic_store (&a->down, true);
    dispatch_start (d);
    offer_range (d, 1, 3, 3);
    wait_count (b, 3);                            /* the other sink is not held back */
    assert_int_equal (fake_count (b), 3);
    dispatch_stats_t st;
    for (int i = 0; i < 60000; i++) {             /* far more than the old 8 attempts */
        dispatch_stats (d, 0, &st);
        if (st.retries >= 200)
            break;
        usleep (1000);
    }
    assert_true (st.retries >= 200);
    assert_false (st.up);
    assert_true (st.down_ms > 0 && st.oldest_ms > 0);
    assert_int_equal (fake_count (a), 0);
    atomic_store (&a->down, false);               /* back: everything, in order, once */
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 1, 3);
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.dead, 0);
    assert_true (st.up);
    assert_int_equal (st.down_ms, 0);
    assert_int_equal (st.oldest_ms, 0);
    dispatch_destroy (&d);
    assert_int_equal (stored_cursor ("a"), 3);
}

typedef struct {
    int  n;
    char why[4][300];
} dead_list_t;

static bool
list_dead (const cursor_dead_t *dl, void *arg)
{
    dead_list_t *l = arg;
    if (l->n < 4)
        snprintf (l->why[l->n], sizeof l->why[0], "%s", dl->error);
    l->n++;
    return true;
}

static dead_list_t
dead_of (const char *sink)
{
    dead_list_t l = { 0 };
    cursor_t *c = cursor_open (g_path, 0, NULL);
    cursor_dead_foreach (c, sink, list_dead, &l, NULL);
    cursor_close (&c);
    return l;
}

static void
horizon_parks_the_outage_and_redrive_delivers_it_on_recovery (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS), *p = fake_new ("p", &FAKE_OPS);
    add_outage (d, a, 150, true);
    add_outage (d, p, 150, true);
    atomic_store (&a->down, true);
    p->fail_always = true;                        /* refused for good: parked at once */
    dispatch_start (d);
    int64_t t0 = util_mono_ms ();
    offer_range (d, 1, 3, 3);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_true (util_mono_ms () - t0 >= 150);    /* the first one was retried that long */
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.dead, 3);                /* the next ones after one attempt */
    assert_false (st.up);
    dead_list_t l = dead_of ("a");
    assert_int_equal (l.n, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal (l.why[i], "down longer than retry_horizon_s (0.150 s): "
                             "connection refused");
    l = dead_of ("p");
    assert_int_equal (l.n, 3);
    assert_string_equal (l.why[0], "permanent failure: HTTP 400");
    dispatch_stats (d, 1, &st);
    assert_int_equal (st.retries, 0);
    assert_true (st.up);
    /* back: the next event goes, then the parked ones (oldest first) */
    atomic_store (&a->down, false);
    p->fail_always = false;
    offer (d, 4, "un.x");
    dispatch_offer_mark (d, 4);
    wait_count (a, 4);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_int_equal (fake_count (a), 4);
    assert_int_equal (a->seqs[0], 4);
    assert_int_equal (a->seqs[1], 1);
    assert_int_equal (a->seqs[2], 2);
    assert_int_equal (a->seqs[3], 3);
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.redriven, 3);
    assert_true (st.up);
    assert_int_equal (fake_count (p), 1);         /* never down: nothing redriven */
    dispatch_destroy (&d);
    assert_int_equal (dead_of ("a").n, 0);
    assert_int_equal (dead_of ("p").n, 3);
}

static void
redrive_at_start_delivers_what_an_earlier_run_parked (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS);
    add_outage (d, a, 20, false);                 /* no redrive: parked, stays parked */
    atomic_store (&a->down, true);
    dispatch_start (d);
    offer_range (d, 1, 2, 2);
    assert_true (dispatch_wait_idle (d, 60000));
    dispatch_destroy (&d);
    assert_int_equal (dead_of ("a").n, 2);
    assert_int_equal (stored_cursor ("a"), 2);

    d = new_dispatch ();                          /* restarted with redrive_dead */
    a = fake_new ("a", &FAKE_OPS);
    add_outage (d, a, 20, true);
    dispatch_start (d);
    wait_count (a, 2);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 1, 2);
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_int_equal (st.redriven, 2);
    dispatch_destroy (&d);
    assert_int_equal (dead_of ("a").n, 0);
}

static void
blocked_sink_does_not_hold_back_the_others (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *slow = fake_new ("slow", &FAKE_OPS), *fast = fake_new ("fast", &FAKE_OPS);
    atomic_store (&slow->block, true);
    add (d, slow, "", 1024, 3);
    add (d, fast, "", 1024, 3);
    dispatch_start (d);
    offer_range (d, 1, 200, 50);
    wait_count (fast, 200);
    assert_int_equal (fake_count (fast), 200);
    assert_int_equal (fake_count (slow), 0);
    atomic_store (&slow->block, false);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (slow, 1, 200);
    assert_each_once (fast, 1, 200);
    dispatch_destroy (&d);
}

static void
overflow_suspends_then_replay_catches_up_exactly_once (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *slow = fake_new ("slow", &FAKE_OPS), *fast = fake_new ("fast", &FAKE_OPS);
    atomic_store (&slow->block, true);
    add (d, slow, "", 16, 3);
    add (d, fast, "", 4096, 3);
    dispatch_start (d);
    offer_range (d, 1, 300, 10);
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_true (st.suspended);
    assert_int_equal (st.overflows, 1);
    uint64_t from = 0;
    assert_false (dispatch_want_replay (d, &from));   /* still full */
    atomic_store (&slow->block, false);
    /* What the main loop does: wait for the drain, re-subscribe (here: offer
       again from FROM), possibly overflow again, until it keeps up. */
    int rounds = 0;
    for (; rounds < 100; rounds++) {
        for (int i = 0; i < 60000 && !dispatch_want_replay (d, &from); i++)
            usleep (1000);
        assert_true (from < 300);
        offer_range (d, from + 1, 300, 10);
        dispatch_stats (d, 0, &st);
        if (!st.suspended)
            break;
    }
    assert_true (rounds < 100);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (slow, 1, 300);
    assert_each_once (fast, 1, 300);
    dispatch_destroy (&d);
    assert_int_equal (stored_cursor ("slow"), 300);
}

/* A replay offers again what a sink already had above its last mark: it is
 * skipped when offered (the id index of what was fed), not queued again. */
static void
replay_skips_what_a_sink_already_had_above_its_mark (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *slow = fake_new ("slow", &FAKE_OPS), *fast = fake_new ("fast", &FAKE_OPS);
    atomic_store (&slow->block, true);
    add (d, slow, "", 16, 3);
    add (d, fast, "", 4096, 3);
    dispatch_start (d);
    offer_range (d, 1, 3000, 0);                       /* no mark: all above fed_mark */
    wait_count (fast, 3000);
    dispatch_stats_t st;
    dispatch_stats (d, 0, &st);
    assert_true (st.suspended);
    atomic_store (&slow->block, false);
    uint64_t from = UINT64_MAX;
    for (int i = 0; i < 60000 && !dispatch_want_replay (d, &from); i++)
        usleep (1000);
    assert_int_equal (from, 0);
    offer_range (d, 1, 3000, 0);                       /* the replay */
    dispatch_offer_mark (d, 3000);
    assert_true (dispatch_wait_idle (d, 60000));
    dispatch_stats (d, 1, &st);
    assert_int_equal (st.dups, 0);                     /* none of the 3000 queued again */
    assert_int_equal (st.delivered, 3000);
    assert_each_once (fast, 1, 3000);
    dispatch_stats (d, 0, &st);
    if (!st.suspended)                                 /* 16 slots: it may overflow again */
        assert_each_once (slow, 1, slow->n);
    dispatch_destroy (&d);
}

static void
crash_intents_are_settled_with_verify (void **state)
{
    cursor_t *c = cursor_open (g_path, 100, NULL);
    char id5[40], id6[40];
    snprintf (id5, sizeof id5, "%032llx", 5ULL);
    snprintf (id6, sizeof id6, "%032llx", 6ULL);
    cursor_set (c, "a", 4);
    cursor_pending_add (c, "a", id5, 5);          /* written before the crash */
    cursor_pending_add (c, "a", id6, 6);          /* not written */
    cursor_close (&c);
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_VERIFY_OPS);
    a->verified_id = id5;
    add (d, a, "", 64, 3);
    dispatch_start (d);
    offer_range (d, 5, 6, 6);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 6, 6);
    dispatch_destroy (&d);
}

static void
held_events_are_confirmed_by_the_flush (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_HOLD_OPS);
    a->holds = true;
    add (d, a, "", 64, 3);
    dispatch_start (d);
    offer_range (d, 1, 5, 5);
    assert_true (dispatch_wait_idle (d, 60000));
    dispatch_stats_t st;
    for (int i = 0; i < 60000; i++) {
        dispatch_stats (d, 0, &st);
        if (st.cursor == 5)
            break;
        usleep (1000);
    }
    assert_int_equal (st.cursor, 5);              /* only after the flush */
    assert_int_equal (st.delivered, 5);
    dispatch_destroy (&d);
}

static bool
count_carried (const char *id, uint64_t seq, const void *data, size_t len, void *arg)
{
    (*(size_t *) arg)++;
    return true;
}

static size_t
stored_carried (const char *sink)
{
    cursor_t *c = cursor_open (g_path, 0, NULL);
    size_t n = 0;
    assert_int_equal (cursor_carry_foreach (c, sink, count_carried, &n, NULL), VL_OK);
    cursor_close (&c);
    return n;
}

/* The broker journal is replaced while sink "q" retries its first of 5
 * events (4 queued behind it) and digest sink "h" holds 5 for its next
 * flush: dispatch_carry keeps the 5 of each; the next dispatcher delivers
 * them first (old seqs 1..5), then the new journal's 1..3, each once, and
 * empties the carry table as they are confirmed. */
static void
carried_events_survive_a_journal_reset (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *q = fake_new ("q", &FAKE_OPS), *h = fake_new ("h", &FAKE_HOLD_OPS);
    q->fail_first = 1000000;
    h->holds = true;
    h->hold_ms = 600000;
    add (d, q, "", 64, 1000);
    add (d, h, "", 64, 3);
    dispatch_start (d);
    offer_range (d, 1, 5, 5);
    wait_count (h, 5);
    assert_int_equal (fake_count (h), 5);
    assert_int_equal (dispatch_carry (d), VL_OK);
    assert_int_equal (fake_count (q), 0);
    dispatch_destroy (&d);
    assert_int_equal (stored_carried ("q"), 5);
    assert_int_equal (stored_carried ("h"), 5);
    assert_int_equal (stored_cursor ("h"), 0);        /* held: the mark waits for the flush */

    d = new_dispatch ();
    q = fake_new ("q", &FAKE_OPS);
    h = fake_new ("h", &FAKE_HOLD_OPS);
    h->holds = true;
    add (d, q, "", 64, 3);
    add (d, h, "", 64, 3);
    dispatch_start (d);
    for (uint64_t s = 1; s <= 3; s++)
        offer_id (d, s, "un.x", 100 + s);            /* new journal, new ids */
    dispatch_offer_mark (d, 3);
    wait_count (q, 8);
    wait_count (h, 8);
    assert_true (dispatch_wait_idle (d, 60000));
    uint64_t want[] = { 1, 2, 3, 4, 5, 1, 2, 3 };
    assert_int_equal (fake_count (q), 8);
    assert_int_equal (fake_count (h), 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (q->seqs[i], want[i]);
        assert_int_equal (h->seqs[i], want[i]);
    }
    for (int i = 0; i < 60000 && (stored_carried ("h") || stored_cursor ("h") < 3); i++)
        usleep (1000);                               /* the digest flush confirms */
    assert_int_equal (stored_carried ("q"), 0);
    assert_int_equal (stored_carried ("h"), 0);
    assert_int_equal (stored_cursor ("q"), 3);
    assert_int_equal (stored_cursor ("h"), 3);
    dispatch_destroy (&d);

    /* nothing carried any more: a restart delivers nothing again */
    d = new_dispatch ();
    q = fake_new ("q", &FAKE_OPS);
    add (d, q, "", 64, 3);
    dispatch_start (d);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_int_equal (fake_count (q), 0);
    dispatch_destroy (&d);
}

static void
queue_bytes_cap_suspends_too (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS);
    atomic_store (&a->block, true);
    char *topics[] = { "", NULL };
    filter_opts_t fo = { .topics = topics };
    dispatch_sink_opts_t o = { .sink = &a->base, .filter = filter_new (&fo, NULL),
                               .max_attempts = 1, .queue_cap = 1000, .queue_bytes = 300 };
    assert_int_equal (dispatch_add (d, &o), VL_OK);
    dispatch_start (d);
    offer (d, 1, "un.x");
    dispatch_stats_t st;
    do {                                        /* until the blocked worker took it */
        usleep (1000);
        dispatch_stats (d, 0, &st);
    } while (st.queued > 0);
    for (uint64_t s = 2; s <= 10; s++)           /* ~100 bytes each */
        offer (d, s, "un.x");
    dispatch_stats (d, 0, &st);
    assert_true (st.suspended);
    assert_true (st.queued < 5);
    atomic_store (&a->block, false);
    dispatch_destroy (&d);
}

static void
min_interval_spaces_deliveries (void **state)
{
    dispatch_t *d = new_dispatch ();
    fake_t *a = fake_new ("a", &FAKE_OPS);
    filter_opts_t fo = { .min_interval_s = 1 };
    dispatch_sink_opts_t o = { .sink = &a->base, .filter = filter_new (&fo, NULL),
                               .max_attempts = 1, .queue_cap = 64 };
    assert_int_equal (dispatch_add (d, &o), VL_OK);
    dispatch_start (d);
    offer_range (d, 1, 3, 3);
    assert_true (dispatch_wait_idle (d, 60000));
    assert_each_once (a, 1, 3);
    assert_true (a->at[1] - a->at[0] >= 990);      /* held back, not dropped */
    assert_true (a->at[2] - a->at[1] >= 990);
    dispatch_destroy (&d);
}

static void
duplicate_names_are_refused (void **state)
{
    dispatch_t *d = new_dispatch ();
    add (d, fake_new ("a", &FAKE_OPS), "", 64, 3);
    char *topics[] = { "", NULL };
    filter_opts_t fo = { .topics = topics };
    dispatch_sink_opts_t o = { .sink = &fake_new ("a", &FAKE_OPS)->base,
                               .filter = filter_new (&fo, NULL), .queue_cap = 8 };
    assert_int_equal (dispatch_add (d, &o), VL_EDUP);
    assert_int_equal (dispatch_count (d), 1);
    dispatch_destroy (&d);
}

static void
backoff_grows_with_jitter_and_cap (void **state)
{
    for (int i = 0; i < 100; i++) {
        int64_t b1 = dispatch_backoff_ms (1, 100, 1000);
        assert_true (b1 >= 50 && b1 <= 100);
        int64_t b4 = dispatch_backoff_ms (4, 100, 1000);
        assert_true (b4 >= 400 && b4 <= 800);
        int64_t b30 = dispatch_backoff_ms (30, 100, 1000);
        assert_true (b30 >= 500 && b30 <= 1000);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (delivers_in_order_and_persists_cursor_at_marks, setup, teardown),
        cmocka_unit_test_setup_teardown (restart_skips_ids_delivered_above_the_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown (filters_route_events_and_prefixes_are_merged, setup, teardown),
        cmocka_unit_test_setup_teardown (retries_until_the_sink_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown (outage_longer_than_any_attempt_count_is_waited_out,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (horizon_parks_the_outage_and_redrive_delivers_it_on_recovery,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (redrive_at_start_delivers_what_an_earlier_run_parked,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (failures_are_parked_and_the_cursor_moves_on, setup, teardown),
        cmocka_unit_test_setup_teardown (blocked_sink_does_not_hold_back_the_others, setup, teardown),
        cmocka_unit_test_setup_teardown (overflow_suspends_then_replay_catches_up_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown (replay_skips_what_a_sink_already_had_above_its_mark, setup, teardown),
        cmocka_unit_test_setup_teardown (crash_intents_are_settled_with_verify, setup, teardown),
        cmocka_unit_test_setup_teardown (held_events_are_confirmed_by_the_flush, setup, teardown),
        cmocka_unit_test_setup_teardown (carried_events_survive_a_journal_reset, setup, teardown),
        cmocka_unit_test_setup_teardown (queue_bytes_cap_suspends_too, setup, teardown),
        cmocka_unit_test_setup_teardown (min_interval_spaces_deliveries, setup, teardown),
        cmocka_unit_test_setup_teardown (duplicate_names_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (sinks_added_and_removed_while_running_get_each_event_once,
                                         setup, teardown),
        cmocka_unit_test (backoff_grows_with_jitter_and_cap),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
