/* broker_metrics.c: broker counters and journal gauges for Prometheus. */
#include <stdlib.h>
#include "broker_metrics.h"
#include "metrics.h"

struct broker_metrics {
    metrics_t *m;
    metric_t  *received, *stored, *dups, *rejected, *unavailable, *fanout, *replays;
    metric_t  *rdropped, *rbusy, *rerrors, *rabandoned, *rqueued, *rclients, *rconns, *rrefused;
    metric_t  *pconns, *prefused, *sconns, *srefused, *revoked, *hsfailed;
    metric_t  *head, *first, *bytes, *segments, *topics;
    metric_t  *rejected_by[REJECT_COUNT];
};

broker_metrics_t *
broker_metrics_new (const char *listen, vl_err_t *err)
{
    *err = VL_OK;
    if (!listen || !*listen)
        return NULL;
    broker_metrics_t *self = calloc (1, sizeof *self);
    metrics_t *m = self ? metrics_new () : NULL;
    if (!m) {
        free (self);
        *err = VL_ENOMEM;
        return NULL;
    }
    self->m = m;
    const char *ev = "veille_broker_events_total", *evh = "Published events by answer.";
    self->received = metrics_counter (m, "veille_broker_received_total",
                                      "Publish messages received (events in).", NULL);
    self->stored = metrics_counter (m, ev, evh, "result", "stored", NULL);
    self->dups = metrics_counter (m, ev, evh, "result", "duplicate", NULL);
    self->rejected = metrics_counter (m, ev, evh, "result", "rejected", NULL);
    self->unavailable = metrics_counter (m, ev, evh, "result", "unavailable", NULL);
    for (int r = 0; r < REJECT_COUNT; r++)
        self->rejected_by[r] = metrics_counter (m, "veille_broker_rejected_total",
                                                "Publishes answered REJECTED, by reason.",
                                                "reason", reject_label ((reject_reason_t) r),
                                                NULL);
    self->fanout = metrics_counter (m, "veille_broker_fanout_total",
                                    "Events sent on the subscribe socket (events out).", NULL);
    self->replays = metrics_counter (m, "veille_broker_replay_requests_total",
                                     "Replay and count requests served.", NULL);
    self->rdropped = metrics_counter (m, "veille_broker_replay_dropped_total",
                                      "Replay requests dropped unanswered: the client had "
                                      "replay_client_requests answers in flight.", NULL);
    self->rbusy = metrics_counter (m, "veille_broker_replay_busy_total",
                                   "Replay requests answered ERR busy: replay_total_bytes "
                                   "was full.", NULL);
    self->rerrors = metrics_counter (m, "veille_broker_replay_read_errors_total",
                                     "Replay answers ended by ERR after a journal read error.",
                                     NULL);
    self->rabandoned = metrics_counter (m, "veille_broker_replay_abandoned_total",
                                        "Replay answers cut: the client's queue was full "
                                        "or it was gone.", NULL);
    self->rqueued = metrics_gauge (m, "veille_broker_replay_queued_bytes",
                                   "Bytes of replay answers held until clients take them "
                                   "(at most replay_total_bytes).", NULL);
    self->rclients = metrics_gauge (m, "veille_broker_replay_clients",
                                    "Replay clients tracked by the answer budget (entries with nothing held are freed lazily).", NULL);
    self->rconns = metrics_gauge (m, "veille_broker_replay_connections",
                                  "Live connections to the replay endpoint.", NULL);
    self->rrefused = metrics_counter (m, "veille_broker_replay_connections_refused_total",
                                      "Replay connections shut down past replay_connections.",
                                      NULL);
    self->pconns = metrics_gauge (m, "veille_broker_publish_connections",
                                  "Live connections to the publish endpoint.", NULL);
    self->prefused = metrics_counter (m, "veille_broker_publish_connections_refused_total",
                                      "Publish connections shut down past publish_connections.",
                                      NULL);
    self->sconns = metrics_gauge (m, "veille_broker_subscribe_connections",
                                  "Live connections to the subscribe endpoint.", NULL);
    self->srefused = metrics_counter (m, "veille_broker_subscribe_connections_refused_total",
                                      "Subscribe connections shut down past "
                                      "subscribe_connections.", NULL);
    self->revoked = metrics_counter (m, "veille_broker_revoked_messages_total",
                                     "Messages dropped unanswered: their CURVE key was removed "
                                     "from its allow-list at a reload after it connected.", NULL);
    self->hsfailed = metrics_counter (m, "veille_broker_handshakes_failed_total",
                                      "CURVE handshakes failed before ZAP (plaintext client, "
                                      "wrong server key).", NULL);
    self->head = metrics_gauge (m, "veille_broker_head_seq", "Newest seq in the journal.", NULL);
    self->first = metrics_gauge (m, "veille_broker_first_seq", "Oldest seq in the journal.", NULL);
    self->bytes = metrics_gauge (m, "veille_broker_journal_bytes", "Journal size on disk.", NULL);
    self->segments = metrics_gauge (m, "veille_broker_journal_segments",
                                    "Journal segment files.", NULL);
    self->topics = metrics_gauge (m, "veille_broker_topics", "Distinct topics in the journal.",
                                  NULL);
    if (metrics_serve (m, listen) != VL_OK) {
        broker_metrics_destroy (&self);
        *err = VL_ECONFIG;
    }
    return self;
}

void
broker_metrics_update (broker_metrics_t *self, const broker_counters_t *c,
                       const journal_stats_t *js, const replay_stats_t *rs)
{
    if (!self)
        return;
    metric_set (self->received, (double) c->received);
    metric_set (self->stored, (double) c->stored);
    metric_set (self->dups, (double) c->duplicates);
    metric_set (self->rejected, (double) c->rejected);
    metric_set (self->unavailable, (double) c->unavailable);
    for (int r = 0; r < REJECT_COUNT; r++)
        metric_set (self->rejected_by[r], (double) c->rejected_by[r]);
    metric_set (self->fanout, (double) c->stored);      /* each stored event goes out once */
    metric_set (self->replays, (double) rs->requests);
    metric_set (self->rdropped, (double) rs->dropped);
    metric_set (self->rbusy, (double) rs->busy);
    metric_set (self->rerrors, (double) rs->read_errors);
    metric_set (self->rabandoned, (double) rs->abandoned);
    metric_set (self->rqueued, (double) rs->queued_bytes);
    metric_set (self->rclients, (double) rs->clients);
    metric_set (self->rconns, (double) rs->connections);
    metric_set (self->rrefused, (double) rs->refused);
    metric_set (self->pconns, (double) c->pub_connections);
    metric_set (self->prefused, (double) c->pub_refused);
    metric_set (self->sconns, (double) c->sub_connections);
    metric_set (self->srefused, (double) c->sub_refused);
    metric_set (self->revoked, (double) c->revoked);
    metric_set (self->hsfailed, (double) c->handshakes_failed);
    metric_set (self->head, (double) js->head);
    metric_set (self->first, (double) js->first);
    metric_set (self->bytes, (double) js->bytes);
    metric_set (self->segments, (double) js->segments);
    metric_set (self->topics, (double) js->topics);
}

void
broker_metrics_destroy (broker_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_destroy (&(*self_p)->m);
    free (*self_p);
    *self_p = NULL;
}
