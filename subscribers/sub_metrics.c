/* sub_metrics.c: veille-sub counters and gauges for Prometheus. */
#include <stdlib.h>
#include "metrics.h"
#include "sub_metrics.h"
#include "util.h"

#define UPDATE_EVERY_MS 250

struct sub_metrics {
    metrics_t         *m;
    client_sub_stats_t closed;     /* sums over the clients closed so far */
    int64_t            last_update;
};

sub_metrics_t *
sub_metrics_new (const char *listen, vl_err_t *err)
{
    *err = VL_OK;
    if (!listen || !*listen)
        return NULL;
    sub_metrics_t *self = calloc (1, sizeof *self);
    if (!self || !(self->m = metrics_new ())) {
        free (self);
        *err = VL_ENOMEM;
        return NULL;
    }
    if (metrics_serve (self->m, listen) != VL_OK) {
        sub_metrics_destroy (&self);
        *err = VL_ECONFIG;
    }
    return self;
}

void
sub_metrics_client_closed (sub_metrics_t *self, const client_sub_stats_t *st)
{
    if (!self)
        return;
    client_sub_stats_t *c = &self->closed;
    c->live += st->live;
    c->replayed += st->replayed;
    c->dup_seq += st->dup_seq;
    c->dup_id += st->dup_id;
    c->counts += st->counts;
    c->replays += st->replays;
    c->gaps += st->gaps;
    c->timeouts += st->timeouts;
    c->resets += st->resets;
    c->lost_retention += st->lost_retention;
}

static void
set_counter (metrics_t *m, const char *name, const char *help, uint64_t v)
{
    metric_set (metrics_counter (m, name, help, NULL), (double) v);
}

static void
update_client (sub_metrics_t *self, const client_sub_stats_t *st)
{
    metrics_t *m = self->m;
    const client_sub_stats_t *c = &self->closed;
    const char *ev = "veille_sub_events_total", *evh = "Events received from the broker.";
    metric_set (metrics_counter (m, ev, evh, "via", "live", NULL), (double) (c->live + st->live));
    metric_set (metrics_counter (m, ev, evh, "via", "replay", NULL),
                (double) (c->replayed + st->replayed));
    set_counter (m, "veille_sub_replay_requests_total", "Replays started (gap, restart, overflow).",
                 c->replays + st->replays);
    set_counter (m, "veille_sub_count_requests_total", "Count requests (gap checks) sent.",
                 c->counts + st->counts);
    set_counter (m, "veille_sub_gaps_total", "Counts that showed missed live events.",
                 c->gaps + st->gaps);
    set_counter (m, "veille_sub_request_timeouts_total", "Broker requests retried.",
                 c->timeouts + st->timeouts);
    set_counter (m, "veille_sub_lost_retention_total",
                 "Events gone from the broker journal before they were fetched.",
                 c->lost_retention + st->lost_retention);
}

static void
update_sinks (sub_metrics_t *self, dispatch_t *d)
{
    metrics_t *m = self->m;
    for (size_t i = 0; d && i < dispatch_count (d); i++) {
        const char *name = dispatch_name (d, i);
        dispatch_stats_t s;
        dispatch_stats (d, i, &s);
        metric_set (metrics_counter (m, "veille_sub_deliveries_total",
                                     "Events the sink confirmed.", "sink", name, NULL),
                    (double) s.delivered);
        metric_set (metrics_counter (m, "veille_sub_failures_total",
                                     "Events parked as dead letters.", "sink", name, NULL),
                    (double) s.dead);
        metric_set (metrics_counter (m, "veille_sub_retries_total", "Delivery attempts that failed "
                                     "and were retried.", "sink", name, NULL), (double) s.retries);
        metric_set (metrics_counter (m, "veille_sub_duplicates_total",
                                     "Events skipped as already delivered.", "sink", name, NULL),
                    (double) s.dups);
        metric_set (metrics_counter (m, "veille_sub_overflows_total",
                                     "Times the sink's queue was full (caught up by replay).",
                                     "sink", name, NULL), (double) s.overflows);
        metric_set (metrics_gauge (m, "veille_sub_queue_depth", "Items waiting in the sink's queue.",
                                   "sink", name, NULL), (double) s.queued);
        metric_set (metrics_gauge (m, "veille_sub_cursor", "Persisted cursor (broker seq).",
                                   "sink", name, NULL), (double) s.cursor);
        metric_set (metrics_gauge (m, "veille_sub_suspended", "1 while the sink's queue is full.",
                                   "sink", name, NULL), s.suspended ? 1 : 0);
        metric_set (metrics_gauge (m, "veille_sub_sink_up", "0 from a transient delivery failure "
                                   "of the sink to its next delivery, else 1.", "sink", name, NULL),
                    s.up ? 1 : 0);
        metric_set (metrics_gauge (m, "veille_sub_sink_down_seconds", "How long the sink has "
                                   "been down (0 while up).", "sink", name, NULL),
                    (double) s.down_ms / 1000.0);
        metric_set (metrics_gauge (m, "veille_sub_oldest_undelivered_seconds", "Age of the "
                                   "oldest event the sink was given and has not delivered or "
                                   "parked yet (0 if none).", "sink", name, NULL),
                    (double) s.oldest_ms / 1000.0);
        metric_set (metrics_counter (m, "veille_sub_redriven_total", "Parked events delivered "
                                     "again after an outage (redrive_dead).", "sink", name, NULL),
                    (double) s.redriven);
    }
}

void
sub_metrics_update (sub_metrics_t *self, dispatch_t *d, const client_sub_stats_t *st, bool force)
{
    if (!self)
        return;
    int64_t now = util_mono_ms ();
    if (!force && now - self->last_update < UPDATE_EVERY_MS)
        return;
    self->last_update = now;
    if (st)
        update_client (self, st);
    update_sinks (self, d);
}

void
sub_metrics_destroy (sub_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_destroy (&(*self_p)->m);
    free (*self_p);
    *self_p = NULL;
}
