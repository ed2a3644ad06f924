/* watcher.c: the veille-watch loop: schedule, fetch, detect, outbox, publish. */
#include "watcher.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "client_pub.h"
#include "curve.h"
#include "detect.h"
#include "fetch.h"
#include "keywords.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "parse.h"
#include "parse_worker.h"
#include "schedule.h"
#include "state.h"
#include "util.h"
#include "wire.h"

#define OUTBOX_BATCH   256
#define ACK_BATCH      256
#define PUB_WINDOW     1000   /* events on the wire, not yet acked */
#define IDLE_WAIT_MS   1000
#define BUSY_WAIT_MS   200
#define REPORT_EVERY_MS 10000  /* daemon: at most one pass line per 10 s */
#define ROUND_MAX      128    /* polls committed in one transaction */

typedef struct {
    const source_t *src;
    keywords_t     *kw;
    int64_t         due;        /* wall ms */
    bool            in_flight;
    bool            polled;     /* once mode: done */
    bool            failing;    /* the last poll failed */
    bool            due_dirty;  /* due moved without a write (304): saved at exit */
    bool            fresh;      /* no state row when its fetch started: first poll */
    char            conf_hash[33];
} wsrc_t;

typedef struct {
    size_t polled, new_items, changed, removed, recorded, not_modified, errors;
} pass_t;

/* Prometheus series (NULL when metrics are off; metric_* accept NULL). */
typedef struct {
    metric_t *polls_ok, *polls_not_modified, *polls_failed, *fetch_seconds;
    metric_t *ev_new, *ev_changed, *ev_removed, *acked, *rejected;
    metric_t *sources, *failing, *outbox, *inflight;
} wmetrics_t;

struct watcher {
    const watch_conf_t *conf;         /* the caller's, or own_conf after a reload */
    watch_conf_t       *own_conf;     /* loaded on SIGHUP, NULL before */
    bool                reload_pending; /* SIGHUP seen: reload once idle */
    bool                cli_publish_existing;
    watcher_opts_t      opts;
    state_t            *state;
    fetch_t            *fetch;
    parse_worker_t     *parser;       /* NULL: documents parsed inline */
    void               *zctx;
    client_pub_t       *pub;
    curve_client_t      curve;
    wsrc_t             *srcs;
    size_t              nsrcs;
    int64_t             last_sent;    /* highest outbox rowid handed to pub */
    bool                outbox_dirty;
    pass_t              pass, total;
    bool                any_failed;
    int64_t             last_report;  /* mono ms of the last pass line; 0 = none yet */
    metrics_t          *metrics;      /* NULL unless metrics_listen is set */
    wmetrics_t          mx;
    size_t              nfailing;     /* sources whose last poll failed */
    bool                round_open;   /* the round's transaction is open */
    bool                round_failed; /* BEGIN failed: the round's polls fail */
    size_t              npolled;      /* once: sources done */
    size_t              scan_from;    /* start_due resumes here (fairness) */
    volatile sig_atomic_t *stop, *hup;  /* watcher_run's, set by signal handlers */
    int                 wake_fd;      /* watcher_run's, -1 = none */
};

/* ---- setup ---------------------------------------------------------------- */

bool watcher_in_shard (const char *id, int k, int n)
{
    if (n <= 1)
        return true;
    char h[33];
    util_hash_hex (id, strlen (id), h);
    char first[9];
    memcpy (first, h, 8);
    first[8] = '\0';
    return (int) (strtoul (first, NULL, 16) % (unsigned long) n) == k;
}

fetch_opts_t watcher_fetch_opts (const watch_conf_t *c)
{
    fetch_opts_t o = {
        .max_concurrency = c->max_concurrency, .per_host_concurrency = c->per_host_concurrency,
        .per_host_interval_ms = c->per_host_interval_ms, .connect_timeout_s = c->connect_timeout_s,
        .timeout_s = c->timeout_s, .max_body_bytes = c->max_body_bytes,
        .max_redirects = c->max_redirects, .user_agent = c->user_agent,
    };
    return o;
}

static sched_params_t params_of (const watcher_t *self, const source_t *src)
{
    sched_params_t p = { .interval_s = src->interval_s, .jitter_percent = self->conf->jitter_percent,
                         .backoff_max_s = self->conf->backoff_max_s,
                         .fail_threshold = src->fail_threshold };
    return p;
}

keywords_t *watcher_keywords (const source_t *src, vl_err_t *err)
{
    *err = VL_OK;
    if (src->ninclude == 0 && src->nexclude == 0)
        return NULL;
    keywords_t *kw = keywords_new (src->include, src->ninclude, src->exclude,
                                   src->nexclude, err);
    if (!kw)
        log_error ("source %s: bad include/exclude keywords: %s", src->id, vl_strerror (*err));
    return kw;
}

/* Fills W for SRC: keyword filter, configuration fingerprint and due
 * time. The stored due time is kept, unless the configuration now asks for
 * a shorter interval than the one it was computed with. */
static vl_err_t wsrc_init (watcher_t *self, wsrc_t *w, const source_t *src)
{
    vl_err_t e;
    w->src = src;
    watch_conf_source_hash (src, w->conf_hash);
    w->kw = watcher_keywords (src, &e);
    if (e != VL_OK)
        return VL_ECONFIG;
    state_source_t ss;
    e = state_source_get (self->state, src->id, &ss);
    if (e != VL_OK && e != VL_ENOTFOUND)
        return e;
    sched_params_t p = params_of (self, src);
    int64_t latest = util_now_ms () + schedule_delay_ms (&p, ss.failures)
                     * (100 + self->conf->jitter_percent) / 100;
    w->due = ss.next_due < latest ? ss.next_due : latest;
    state_source_clear (&ss);
    return VL_OK;
}

/* The entry of OLD (N) for source ID, or NULL; HINT is where to look first
 * (a reloaded configuration mostly keeps its order). */
static const wsrc_t *wsrc_find (const wsrc_t *old, size_t n, const char *id, size_t hint)
{
    if (hint < n && strcmp (old[hint].src->id, id) == 0)
        return &old[hint];
    for (size_t i = 0; i < n; i++)
        if (strcmp (old[i].src->id, id) == 0)
            return &old[i];
    return NULL;
}

static void wsrcs_free (wsrc_t *srcs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        keywords_destroy (&srcs[i].kw);
    free (srcs);
}

/* Builds into *OUT (N entries, caller frees with wsrcs_free) the sources
 * of self->conf in this shard. A source also in OLD (NOLD entries, a
 * previous configuration) keeps its due time and health; if its settings
 * changed it is due at once (its next poll re-records it silently). */
static vl_err_t build_sources (watcher_t *self, const wsrc_t *old, size_t nold,
                               wsrc_t **out, size_t *n)
{
    const watch_conf_t *c = self->conf;
    wsrc_t *srcs = calloc (c->nsources ? c->nsources : 1, sizeof *srcs);
    if (!srcs)
        return VL_ENOMEM;
    size_t k = 0;
    vl_err_t e = VL_OK;
    for (size_t i = 0; i < c->nsources && e == VL_OK; i++) {
        const source_t *src = &c->sources[i];
        if (!watcher_in_shard (src->id, self->opts.shard_k, self->opts.shard_n))
            continue;
        wsrc_t *w = &srcs[k++];   /* owned from here on (wsrcs_free) */
        e = wsrc_init (self, w, src);
        const wsrc_t *was = e == VL_OK ? wsrc_find (old, nold, src->id, i) : NULL;
        if (was && strcmp (was->conf_hash, w->conf_hash) == 0) {
            w->due = was->due;
            w->due_dirty = was->due_dirty;
            w->failing = was->failing;
        } else if (was) {
            w->due = util_now_ms ();
            w->failing = was->failing;
        }
    }
    if (e != VL_OK) {
        wsrcs_free (srcs, k);
        return e;
    }
    *out = srcs;
    *n = k;
    return VL_OK;
}

static vl_err_t open_publisher (watcher_t *self)
{
    const watch_conf_t *c = self->conf;
    client_pub_opts_t po = { .endpoint = c->broker, .max_inflight = PUB_WINDOW, .resend_ms = 5000 };
    if (c->curve_secret_key) {
        vl_err_t e = curve_client_load (&self->curve, c->curve_secret_key, c->curve_server_key);
        if (e != VL_OK) {
            log_error ("cannot load CURVE keys %s / %s: %s", c->curve_secret_key,
                       c->curve_server_key, vl_strerror (e));
            return VL_ECONFIG;
        }
        po.curve = &self->curve;
    }
    self->zctx = zmq_ctx_new ();
    if (!self->zctx)
        return VL_ENOMEM;
    vl_err_t e;
    self->pub = client_pub_new (self->zctx, &po, &e);
    if (!self->pub)
        log_error ("cannot connect the publisher to %s: %s", c->broker, vl_strerror (e));
    return self->pub ? VL_OK : e;
}

/* Starts the metrics endpoint if configured and registers the series. */
static vl_err_t open_metrics (watcher_t *self)
{
    const char *listen = self->conf->metrics_listen;
    if (!listen || !*listen)
        return VL_OK;
    metrics_t *m = self->metrics = metrics_new ();
    if (!m)
        return VL_ENOMEM;
    wmetrics_t *x = &self->mx;
    const char *polls = "veille_watch_polls_total", *ph = "Source polls by result.";
    x->polls_ok = metrics_counter (m, polls, ph, "result", "fetched", NULL);
    x->polls_not_modified = metrics_counter (m, polls, ph, "result", "not_modified", NULL);
    x->polls_failed = metrics_counter (m, polls, ph, "result", "failed", NULL);
    x->fetch_seconds = metrics_histogram (m, "veille_watch_fetch_seconds",
                                          "Fetch latency (request to complete body).",
                                          metrics_latency_buckets, metrics_latency_nbuckets, NULL);
    const char *evs = "veille_watch_events_total", *eh = "Events detected (queued in the outbox).";
    x->ev_new = metrics_counter (m, evs, eh, "type", "new", NULL);
    x->ev_changed = metrics_counter (m, evs, eh, "type", "changed", NULL);
    x->ev_removed = metrics_counter (m, evs, eh, "type", "removed", NULL);
    x->acked = metrics_counter (m, "veille_watch_published_total",
                                "Events acked by the broker (stored or duplicate).", NULL);
    x->rejected = metrics_counter (m, "veille_watch_rejected_total",
                                   "Events the broker rejected (moved to the dead table).", NULL);
    x->sources = metrics_gauge (m, "veille_watch_sources", "Sources watched by this process.", NULL);
    x->failing = metrics_gauge (m, "veille_watch_sources_failing",
                                "Sources whose last poll failed.", NULL);
    x->outbox = metrics_gauge (m, "veille_watch_outbox_depth",
                               "Events in the outbox not yet acked (at the last pass).", NULL);
    x->inflight = metrics_gauge (m, "veille_watch_publish_inflight",
                                 "Events sent to the broker, ack awaited.", NULL);
    metric_set (x->sources, (double) self->nsrcs);
    return metrics_serve (m, listen) == VL_OK ? VL_OK : VL_ECONFIG;
}

static void wake_loop (void *arg)
{
    fetch_wakeup (arg);
}

/* Starts the parsing thread; without it documents are parsed inline. */
static void open_parser (watcher_t *self)
{
    vl_err_t e;
    self->parser = parse_worker_new (wake_loop, self->fetch, &e);
    if (!self->parser)
        log_warn ("cannot start the parsing thread (%s): parsing inline", vl_strerror (e));
}

watcher_t *watcher_new (const watch_conf_t *conf, const watcher_opts_t *opts, vl_err_t *err)
{
    watcher_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    self->conf = conf;
    if (opts)
        self->opts = *opts;
    self->cli_publish_existing = self->opts.publish_existing;
    self->opts.publish_existing |= conf->publish_existing;
    self->outbox_dirty = true;
    fetch_opts_t fo = watcher_fetch_opts (conf);
    self->state = state_open (conf->state, err);
    if (self->state)
        self->fetch = fetch_new (&fo, err);
    if (self->fetch)
        *err = build_sources (self, NULL, 0, &self->srcs, &self->nsrcs);
    if (*err == VL_OK)
        open_parser (self);
    if (*err == VL_OK)
        *err = open_publisher (self);
    if (*err == VL_OK)
        *err = open_metrics (self);
    if (*err != VL_OK)
        watcher_destroy (&self);
    return self;
}

void watcher_destroy (watcher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    watcher_t *self = *self_p;
    metrics_destroy (&self->metrics);
    wsrcs_free (self->srcs, self->nsrcs);
    if (self->own_conf) {
        watch_conf_free (self->own_conf);
        free (self->own_conf);
    }
    parse_worker_destroy (&self->parser);   /* before the fetcher it wakes */
    fetch_destroy (&self->fetch);
    client_pub_destroy (&self->pub);
    if (self->zctx)
        zmq_ctx_term (self->zctx);
    state_destroy (&self->state);
    explicit_bzero (&self->curve, sizeof self->curve);
    free (self);
    *self_p = NULL;
}

/* ---- one fetched source ----------------------------------------------------- */


/* Parses a fetched body into ITEMS; on failure writes why into WHY. */
static vl_err_t parse_body (const source_t *src, const fetch_result_t *res,
                            item_list_t *items, char *why, size_t whylen)
{
    parse_ctx_t ctx = { .base_url = res->final_url ? res->final_url : src->url,
                        .content_type = res->content_type, .why = why, .whylen = whylen };
    vl_err_t e = parse_document (src, &ctx, res->body, res->len, items);
    if (e == VL_OK)
        why[0] = '\0';
    return e;
}

/* Queues the error/recovered event of SRC if ACTION asks for it. */
static vl_err_t queue_health (state_t *st, const source_t *src, sched_action_t action,
                              const char *what, int64_t now)
{
    if (action == SCHED_NONE)
        return VL_OK;
    event_t ev;
    const char *type = action == SCHED_SEND_ERROR ? "error" : "recovered";
    vl_err_t e = detect_source_event (src, type, what, now, &ev);
    if (e == VL_OK)
        e = detect_queue (st, &ev, now);
    if (e == VL_OK)
        log_warn ("source %s: %s event%s%s", src->id, type, what && *what ? ": " : "",
                  what ? what : "");
    event_clear (&ev);
    return e;
}

static void set_validators (state_source_t *ss, fetch_result_t *res)
{
    free (ss->etag);
    free (ss->last_modified);
    ss->etag = res->etag;
    ss->last_modified = res->last_modified;
    res->etag = res->last_modified = NULL;
}

/* Opens the round's transaction on the first write of the round. */
static vl_err_t round_begin (watcher_t *self)
{
    if (self->round_open)
        return VL_OK;
    if (self->round_failed)
        return VL_EDB;
    vl_err_t e = state_begin (self->state);
    self->round_open = e == VL_OK;
    self->round_failed = e != VL_OK;
    return e;
}

/* True when a successful 304 changes nothing stored but the due time. */
static bool poll_is_noop (const state_source_t *ss, const item_list_t *items, const char *why,
                          sched_action_t act, const sched_state_t *sc)
{
    return !why && !items && act == SCHED_NONE && ss->failures == sc->failures
           && ss->error_sent == sc->error_sent;
}

/* Notes in SS what `veille status` shows of this poll: when, the HTTP
 * status, the error WHY (kept after recovery), a published change. */
static vl_err_t note_poll (state_source_t *ss, const fetch_result_t *res, const char *why,
                           const detect_stats_t *ds, int64_t now)
{
    ss->poll_at = now;
    ss->http_status = (int) res->status;
    if (ds && ds->new_items + ds->changed + ds->removed > 0)
        ss->change_at = now;
    if (!why)
        return VL_OK;
    free (ss->last_error);
    ss->error_at = now;
    return (ss->last_error = strdup (why)) ? VL_OK : VL_ENOMEM;
}

/* Applies the outcome of one poll to the state, under a savepoint in the
 * round's transaction (collect_results commits it): items, outbox rows and
 * the source row together or not at all. WHY is NULL on success. ITEMS is
 * NULL when there is nothing to compare (304). A 304 that changes nothing
 * but the due time writes nothing (the due time is saved at exit). */
static vl_err_t commit_poll (watcher_t *self, wsrc_t *w, fetch_result_t *res,
                             const item_list_t *items, const char *why, detect_stats_t *ds)
{
    const source_t *src = w->src;
    int64_t now = util_now_ms ();
    state_source_t ss;
    vl_err_t e = state_source_get (self->state, src->id, &ss);
    bool known = e == VL_OK;
    if (e == VL_ENOTFOUND)
        e = VL_OK;
    sched_state_t sc = { ss.failures, ss.error_sent, ss.next_due };
    sched_params_t p = params_of (self, src);
    sched_action_t act = why ? schedule_failure (&sc, &p, now, schedule_random ())
                             : schedule_success (&sc, &p, now, schedule_random ());
    if (e == VL_OK && known && poll_is_noop (&ss, items, why, act, &sc)) {
        w->due = sc.next_due_ms;
        w->due_dirty = true;
        state_source_clear (&ss);
        return VL_OK;
    }
    if (e == VL_OK)
        e = round_begin (self);
    bool sp = e == VL_OK && (e = state_savepoint (self->state)) == VL_OK;
    if (e == VL_OK && items) {
        /* A changed configuration (selectors, keywords...) re-records the
         * source silently: a config edit is not news. */
        bool reconf = ss.baseline_done && ss.conf_hash[0]
                      && strcmp (ss.conf_hash, w->conf_hash) != 0;
        if (reconf)
            log_info ("source %s: configuration changed: recording its items again "
                      "without publishing", src->id);
        bool baseline = reconf || (!ss.baseline_done && !self->opts.publish_existing);
        e = detect_items (self->state, src, w->kw, items, &ss, baseline, now, NULL, NULL, ds);
        ss.baseline_done = true;
        memcpy (ss.conf_hash, w->conf_hash, sizeof ss.conf_hash);
        /* nothing to prune for a source never recorded (its items and its
         * row are only ever written together) */
        if (e == VL_OK && known && self->conf->item_retention_days > 0)
            e = state_items_prune (self->state, src->id,
                                   now - (int64_t) self->conf->item_retention_days * 86400000, NULL);
        set_validators (&ss, res);
    }
    if (e == VL_OK)
        e = queue_health (self->state, src, act, why, now);
    ss.failures = sc.failures;
    ss.error_sent = sc.error_sent;
    ss.next_due = sc.next_due_ms;
    if (e == VL_OK)
        e = note_poll (&ss, res, why, ds, now);
    if (e == VL_OK)
        e = state_source_put (self->state, src->id, &ss);
    if (e == VL_OK)
        e = state_release (self->state);
    else if (sp)
        state_rollback_savepoint (self->state);
    w->due = e == VL_OK ? sc.next_due_ms : now + schedule_delay_ms (&p, 1);
    w->due_dirty = false;
    state_source_clear (&ss);
    return e;
}

/* Records one poll: RES as fetched, ITEMS parsed from its body when it
 * was fetched in full, PARSE_WHY the parse error ("" if none). */
static void record_poll (watcher_t *self, wsrc_t *w, fetch_result_t *res,
                         const item_list_t *items, const char *parse_why)
{
    const source_t *src = w->src;
    char why[300] = "";
    bool ok = res->err == VL_OK && !parse_why[0];
    if (res->err != VL_OK)
        snprintf (why, sizeof why, "%s", res->error);
    else if (!ok)
        snprintf (why, sizeof why, "%s", parse_why);
    detect_stats_t ds = { 0 };
    vl_err_t e = commit_poll (self, w, res, ok && !res->not_modified ? items : NULL,
                              ok ? NULL : why, &ds);
    self->pass.polled++;
    if (!ok) {
        self->pass.errors++;
        self->any_failed = true;
        log_warn ("source %s: %s (%s)", src->id, why, src->url);
    } else if (res->not_modified)
        self->pass.not_modified++;
    self->pass.new_items += ds.new_items;
    self->pass.changed += ds.changed;
    self->pass.removed += ds.removed;
    metric_inc (!ok ? self->mx.polls_failed : res->not_modified ? self->mx.polls_not_modified
                                                               : self->mx.polls_ok);
    metric_observe (self->mx.fetch_seconds, (double) res->elapsed_ms / 1000.0);
    metric_add (self->mx.ev_new, ds.new_items);
    metric_add (self->mx.ev_changed, ds.changed);
    metric_add (self->mx.ev_removed, ds.removed);
    if (w->failing != !ok) {
        w->failing = !ok;
        self->nfailing = ok ? self->nfailing - 1 : self->nfailing + 1;
        metric_set (self->mx.failing, (double) self->nfailing);
    }
    self->pass.recorded += ds.recorded;
    if (e != VL_OK) {
        log_error ("source %s: cannot record the poll: %s", src->id, vl_strerror (e));
        self->any_failed = true;
    }
    log_debug ("source %s: %s in %lld ms, %zu items, %zu new, %zu changed, %zu removed",
               src->id, ok ? (res->not_modified ? "not modified" : "fetched") : "failed",
               (long long) res->elapsed_ms, ds.items, ds.new_items, ds.changed, ds.removed);
}

/* Parses RES inline (no parsing thread) and records the poll. */
static void handle_result (watcher_t *self, wsrc_t *w, fetch_result_t *res)
{
    char why[300] = "";
    item_list_t items = { 0 };
    if (res->err == VL_OK && !res->not_modified)
        parse_body (w->src, res, &items, why, sizeof why);
    record_poll (self, w, res, &items, why);
    item_list_free (&items);
}

/* Hands RES (moved into the job) to the parsing thread; false if it must
 * be handled inline (no thread, nothing to parse, OOM). */
static bool submit_parse (watcher_t *self, wsrc_t *w, fetch_result_t *res)
{
    if (!self->parser || res->err != VL_OK || res->not_modified)
        return false;
    parse_job_t *job = calloc (1, sizeof *job);
    if (!job)
        return false;
    job->src = w->src;
    job->tag = w;
    /* a first poll that publishes every item: its events are encoded on
     * the parsing thread too */
    job->encode_new = w->fresh && self->opts.publish_existing && !w->kw;
    job->res = *res;
    memset (res, 0, sizeof *res);
    parse_worker_submit (self->parser, job);
    return true;
}

/* Fetches queued or in flight, and documents not yet parsed and recorded. */
static size_t busy (const watcher_t *self)
{
    return fetch_active (self->fetch) + (self->parser ? parse_worker_pending (self->parser) : 0);
}

/* ---- scheduling and fetching ---------------------------------------------------- */

/* Marks W polled (once mode counts them). */
static void mark_polled (watcher_t *self, wsrc_t *w)
{
    if (!w->polled)
        self->npolled++;
    w->polled = true;
}

/* Hands due sources to the fetcher, at most a few per transfer slot ahead:
 * with 10,000 sources the queue (validators, URLs) stays small. The scan
 * resumes where the previous one stopped, so every source gets its turn. */
static void start_due (watcher_t *self)
{
    int64_t now = util_now_ms ();
    size_t ahead = 2 * (size_t) self->conf->max_concurrency + 64;
    for (size_t k = 0; k < self->nsrcs; k++) {
        size_t i = (self->scan_from + k) % self->nsrcs;
        wsrc_t *w = &self->srcs[i];
        if (w->in_flight || (self->opts.once ? w->polled : w->due > now))
            continue;
        if (busy (self) >= ahead) {
            self->scan_from = i;
            return;
        }
        state_source_t ss;
        vl_err_t e = state_source_get (self->state, w->src->id, &ss);
        if (e != VL_OK && e != VL_ENOTFOUND) {
            state_source_clear (&ss);
            w->due = now + 1000;
            continue;
        }
        /* After a configuration change, fetch in full to re-record. */
        w->fresh = e == VL_ENOTFOUND;
        bool same_conf = !ss.conf_hash[0] || strcmp (ss.conf_hash, w->conf_hash) == 0;
        e = fetch_add (self->fetch, w->src, same_conf ? ss.etag : NULL,
                       same_conf ? ss.last_modified : NULL, w);
        state_source_clear (&ss);
        if (e == VL_OK)
            w->in_flight = true;
        else {
            w->due = now + (int64_t) w->src->interval_s * 1000;
            mark_polled (self, w);
            self->any_failed = true;
        }
    }
}

/* Commits the round's transaction. On failure every poll of the round is
 * undone: their sources are retried soon (nothing was published: the
 * outbox rows went with the rollback). */
static void round_commit (watcher_t *self, wsrc_t **round, size_t n)
{
    bool failed = self->round_failed;
    if (self->round_open && state_commit (self->state) != VL_OK)
        failed = true;
    if (self->round_open && !failed)
        self->outbox_dirty = true;   /* it may have queued events */
    if (failed) {
        log_error ("cannot commit %zu polls: they will be retried", n);
        self->any_failed = true;
        for (size_t i = 0; i < n; i++)
            round[i]->due = util_now_ms () + 1000;
    }
    self->round_open = self->round_failed = false;
}

/* Handles every finished fetch (a fetched document goes to the parsing
 * thread first) and every parsed document, up to ROUND_MAX polls per
 * transaction. A source stays in flight until its poll is recorded. */
static void collect_results (watcher_t *self)
{
    fetch_result_t res;
    void *tag;
    wsrc_t *round[ROUND_MAX];
    size_t n = 0;
    for (;;) {
        wsrc_t *w = NULL;
        parse_job_t *job = NULL;
        if (fetch_take (self->fetch, &res, &tag)) {
            if (submit_parse (self, tag, &res))
                continue;
            w = tag;
            handle_result (self, w, &res);
            fetch_result_clear (&res);
        } else if (self->parser && (job = parse_worker_take (self->parser))) {
            w = job->tag;
            record_poll (self, w, &job->res, &job->items, job->why);
            parse_worker_recycle (self->parser, job);
        } else
            break;
        w->in_flight = false;
        mark_polled (self, w);
        round[n++] = w;
        if (n == ROUND_MAX) {
            round_commit (self, round, n);
            n = 0;
        }
    }
    if (n > 0)
        round_commit (self, round, n);
}

/* Saves the due times moved without a write (304s), in one transaction. */
static void save_dues (watcher_t *self)
{
    bool open = false;
    for (size_t i = 0; i < self->nsrcs; i++) {
        wsrc_t *w = &self->srcs[i];
        if (!w->due_dirty)
            continue;
        if (!open && !(open = state_begin (self->state) == VL_OK))
            return;   /* the stored due times are earlier: polled sooner */
        if (state_source_set_due (self->state, w->src->id, w->due) == VL_OK)
            w->due_dirty = false;
    }
    if (open && state_commit (self->state) != VL_OK)
        log_warn ("cannot save the next due times (sources will be polled early)");
}

/* ---- outbox -> broker ------------------------------------------------------------ */

static void outbox_send (watcher_t *self)
{
    while (self->outbox_dirty && client_pub_pending (self->pub) < PUB_WINDOW) {
        state_outbox_row_t rows[OUTBOX_BATCH];
        size_t n = 0;
        if (state_outbox_load (self->state, self->last_sent, OUTBOX_BATCH, rows, &n) != VL_OK)
            return;
        size_t sent = 0;
        for (; sent < n; sent++) {
            vl_err_t e = client_pub_send (self->pub, rows[sent].topic, rows[sent].event,
                                          rows[sent].len, (uint64_t) rows[sent].rowid);
            if (e == VL_EAGAIN)
                break;
            if (e != VL_OK) {   /* cannot ever be sent (too big): park it */
                log_error ("outbox row %lld: cannot send: %s", (long long) rows[sent].rowid,
                           vl_strerror (e));
                state_outbox_dead (self->state, rows[sent].rowid, vl_strerror (e), util_now_ms ());
            }
            self->last_sent = rows[sent].rowid;
        }
        state_outbox_rows_clear (rows, n);
        if (sent < n)
            return;                     /* window full: retry after acks */
        if (n < OUTBOX_BATCH)
            self->outbox_dirty = false; /* everything handed over */
    }
}

static void apply_acks (watcher_t *self, const client_pub_ack_t *acks, size_t n)
{
    if (state_begin (self->state) != VL_OK)
        return;   /* rows stay; they are resent after a restart */
    int64_t first = 0, last = -1;   /* the run of consecutive acked rows */
    for (size_t i = 0; i < n; i++) {
        int64_t rowid = (int64_t) acks[i].tag;
        if (acks[i].status == WIRE_ACK_REJECTED) {
            log_error ("broker rejected outbox row %lld: moved to the dead table",
                       (long long) rowid);
            state_outbox_dead (self->state, rowid, "rejected by the broker", util_now_ms ());
            metric_inc (self->mx.rejected);
            continue;
        }
        metric_inc (self->mx.acked);
        if (last >= first && rowid == last + 1) {
            last = rowid;
            continue;
        }
        if (last >= first)
            state_outbox_delete_range (self->state, first, last);
        first = last = rowid;
    }
    if (last >= first)
        state_outbox_delete_range (self->state, first, last);
    if (state_commit (self->state) != VL_OK)
        log_error ("cannot delete acked outbox rows (they will be resent and deduplicated)");
}

static void pub_service (watcher_t *self)
{
    client_pub_ack_t acks[ACK_BATCH];
    size_t n;
    do {
        n = 0;
        if (client_pub_poll (self->pub, 0, acks, ACK_BATCH, &n) != VL_OK)
            break;
        if (n > 0)
            apply_acks (self, acks, n);
        outbox_send (self);
    } while (n == ACK_BATCH);
    metric_set (self->mx.inflight, (double) client_pub_pending (self->pub));
}

/* ---- the loop ------------------------------------------------------------------------ */

static int64_t outbox_pending (watcher_t *self)
{
    int64_t n = 0;
    state_outbox_count (self->state, &n);
    return n;
}

static void report_pass (watcher_t *self, const char *what)
{
    pass_t *p = &self->pass;
    int64_t outbox = outbox_pending (self);
    metric_set (self->mx.outbox, (double) outbox);
    char line[256];
    snprintf (line, sizeof line, "polled=%zu new=%zu changed=%zu removed=%zu recorded=%zu "
              "not_modified=%zu errors=%zu outbox=%lld", p->polled, p->new_items,
              p->changed, p->removed, p->recorded, p->not_modified, p->errors,
              (long long) outbox);
    if (strcmp (what, "pass") == 0)
        log_info ("pass %s", line);   /* daemon progress: a log line like the others */
    else {
        /* the --once result: always on stderr, whatever the log level */
        fprintf (stderr, "veille-watch: %s %s\n", what, line);
        fflush (stderr);
    }
    self->total.polled += p->polled;
    self->total.errors += p->errors;
    memset (p, 0, sizeof *p);
}

/* Milliseconds until the next source is due (capped). */
static int next_wait (watcher_t *self)
{
    int64_t now = util_now_ms ();
    int64_t wait = client_pub_pending (self->pub) > 0 || self->outbox_dirty ? BUSY_WAIT_MS
                                                                             : IDLE_WAIT_MS;
    for (size_t i = 0; !self->opts.once && i < self->nsrcs; i++)
        if (!self->srcs[i].in_flight && self->srcs[i].due - now < wait)
            wait = self->srcs[i].due - now;
    return wait < 0 ? 0 : (int) wait;
}

/* Waits for curl, the publisher socket, a signal or the next due time.
 * ZMQ_FD is edge-triggered: check ZMQ_EVENTS first and do not block if a
 * message is already waiting. */
static void wait_activity (watcher_t *self)
{
    void *sock = client_pub_socket (self->pub);
    int zfd = -1, events = 0;
    size_t sz = sizeof zfd;
    zmq_getsockopt (sock, ZMQ_FD, &zfd, &sz);
    sz = sizeof events;
    zmq_getsockopt (sock, ZMQ_EVENTS, &events, &sz);
    /* WATCHDOG=1 when due; the wait never outlasts the next one */
    int timeout = (int) notify_cap_wait ((events & ZMQ_POLLIN) ? 0 : next_wait (self));
    struct curl_waitfd extra[2] = {
        { .fd = zfd, .events = CURL_WAIT_POLLIN },
        { .fd = self->wake_fd, .events = CURL_WAIT_POLLIN },
    };
    fetch_wait (self->fetch, extra, self->wake_fd >= 0 ? 2 : 1, timeout);
    if (self->wake_fd >= 0 && extra[1].revents) {
        char drain[64];
        while (read (self->wake_fd, drain, sizeof drain) > 0) {
        }
    }
}

static void handle_hup (watcher_t *self)
{
    if (!*self->hup)
        return;
    *self->hup = 0;
    if (log_reopen () != VL_OK)
        fprintf (stderr, "veille-watch: cannot reopen the log file\n");
    log_info ("log reopened (SIGHUP)");
    if (self->opts.config_path && !self->opts.once)
        self->reload_pending = true;   /* once the polls in flight are recorded */
}

static bool str_differs (const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp (a, b) != 0);
}

/* Logs the keys of NC that a reload cannot apply (opened at start). */
static void warn_restart_keys (const watch_conf_t *oc, const watch_conf_t *nc)
{
    fetch_opts_t a = watcher_fetch_opts (oc), b = watcher_fetch_opts (nc);
    const char *keys[] = {
        str_differs (oc->state, nc->state) ? "state" : NULL,
        str_differs (oc->broker, nc->broker) ? "broker" : NULL,
        str_differs (oc->curve_secret_key, nc->curve_secret_key)
        || str_differs (oc->curve_server_key, nc->curve_server_key) ? "curve keys" : NULL,
        str_differs (oc->metrics_listen, nc->metrics_listen) ? "metrics_listen" : NULL,
        str_differs (oc->log_file, nc->log_file) ? "log_file" : NULL,
        str_differs (a.user_agent, b.user_agent) || a.max_concurrency != b.max_concurrency
        || a.per_host_concurrency != b.per_host_concurrency
        || a.per_host_interval_ms != b.per_host_interval_ms
        || a.connect_timeout_s != b.connect_timeout_s || a.timeout_s != b.timeout_s
        || a.max_body_bytes != b.max_body_bytes || a.max_redirects != b.max_redirects
            ? "fetch settings" : NULL,
    };
    for (size_t i = 0; i < VL_ARRAY_LEN (keys); i++)
        if (keys[i])
            log_warn ("reload: %s changed: applied at the next restart only", keys[i]);
}

/* Counts, and logs, the sources of OLD missing from NEW (their state is
 * kept: `--purge ID` deletes it). */
static size_t log_removed (const wsrc_t *old, size_t nold, const wsrc_t *nw, size_t nnew)
{
    size_t removed = 0;
    for (size_t i = 0; i < nold; i++)
        if (!wsrc_find (nw, nnew, old[i].src->id, i)) {
            removed++;
            log_info ("source %s: removed from the configuration: no longer polled "
                      "(its state is kept until `veille-watch --purge %s`)",
                      old[i].src->id, old[i].src->id);
        }
    return removed;
}

/* Re-reads the configuration file (SIGHUP, nothing in flight): sources
 * added, removed and changed take effect at once, their state kept. A
 * file that fails to load leaves the running configuration in place. */
static void reload (watcher_t *self)
{
    self->reload_pending = false;
    const char *path = self->opts.config_path;
    watch_conf_t *nc = calloc (1, sizeof *nc);
    vl_err_t e = nc ? watch_conf_read (path, nc) : VL_ENOMEM;
    const watch_conf_t *oc = self->conf;
    wsrc_t *srcs = NULL;
    size_t n = 0;
    if (e == VL_OK) {
        self->conf = nc;   /* build_sources reads it */
        e = build_sources (self, self->srcs, self->nsrcs, &srcs, &n);
        self->conf = oc;
    }
    if (e != VL_OK) {
        log_error ("reload of %s failed (%s): still running the previous configuration",
                   path, vl_strerror (e));
        if (nc)
            watch_conf_free (nc);
        free (nc);
        return;
    }
    warn_restart_keys (oc, nc);
    size_t added = 0, changed = 0, removed = log_removed (self->srcs, self->nsrcs, srcs, n);
    self->nfailing = 0;
    for (size_t i = 0; i < n; i++) {
        const wsrc_t *was = wsrc_find (self->srcs, self->nsrcs, srcs[i].src->id, i);
        added += !was;
        changed += was && strcmp (was->conf_hash, srcs[i].conf_hash) != 0;
        self->nfailing += srcs[i].failing;
    }
    wsrcs_free (self->srcs, self->nsrcs);
    self->srcs = srcs;
    self->nsrcs = n;
    self->scan_from = 0;
    self->conf = nc;
    if (self->own_conf) {
        watch_conf_free (self->own_conf);
        free (self->own_conf);
    }
    self->own_conf = nc;
    self->opts.publish_existing = self->cli_publish_existing || nc->publish_existing;
    metric_set (self->mx.sources, (double) n);
    metric_set (self->mx.failing, (double) self->nfailing);
    log_info ("configuration reloaded (SIGHUP): sources=%zu added=%zu changed=%zu removed=%zu",
              n, added, changed, removed);
}

static bool all_polled (const watcher_t *self)
{
    return self->npolled >= self->nsrcs && busy (self) == 0;
}

int watcher_run (watcher_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
                 int wake_fd)
{
    self->stop = stop;
    self->hup = hup;
    self->wake_fd = wake_fd;
    char shard[32] = "";
    if (self->opts.shard_n > 0)   /* --shard given */
        snprintf (shard, sizeof shard, " shard=%d/%d", self->opts.shard_k, self->opts.shard_n);
    fprintf (stderr, "veille-watch: ready sources=%zu%s broker=%s state=%s\n",
             self->nsrcs, shard, self->conf->broker, self->conf->state);
    fflush (stderr);
    notify_ready ("polling");
    int64_t drain_deadline = 0;
    bool pass_open = false;
    while (!*stop) {
        handle_hup (self);
        if (self->reload_pending && busy (self) == 0)
            reload (self);
        if (!self->reload_pending)
            start_due (self);
        if (busy (self) > 0)
            pass_open = true;
        fetch_perform (self->fetch);
        collect_results (self);
        pub_service (self);
        if (pass_open && busy (self) == 0) {
            pass_open = false;
            int64_t mono = util_mono_ms ();
            if (!self->opts.once
                && (self->last_report == 0 || mono - self->last_report >= REPORT_EVERY_MS)) {
                report_pass (self, "pass");
                self->last_report = mono;
            }
        }
        if (self->opts.once && all_polled (self)) {
            if (drain_deadline == 0)
                drain_deadline = util_mono_ms () + (int64_t) self->conf->drain_timeout_s * 1000;
            if (outbox_pending (self) == 0 && client_pub_pending (self->pub) == 0)
                break;
            if (util_mono_ms () >= drain_deadline) {
                log_error ("outbox not drained after %d s (is the broker at %s up?)",
                           self->conf->drain_timeout_s, self->conf->broker);
                self->any_failed = true;
                break;
            }
        }
        wait_activity (self);
    }
    notify_stopping ();
    if (!self->opts.once)
        save_dues (self);   /* --once ignores due times: nothing to save */
    if (self->opts.once)
        report_pass (self, "done");
    else
        log_info ("stopping (%s)", *stop ? "signal" : "end");
    if (*stop && self->opts.once)
        return 1;
    return self->opts.once && self->any_failed ? 1 : 0;
}

/* ---- --test ------------------------------------------------------------------------------ */

static void json_str (json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new (o, k, json_string (v));
}

void watcher_print_event (FILE *out, const event_t *ev)
{
    json_t *o = json_object ();
    if (!o)
        return;
    json_object_set_new (o, "v", json_integer (ev->v));
    json_str (o, "id", ev->id);
    json_str (o, "type", ev->type);
    json_str (o, "source", ev->source);
    json_str (o, "topic", ev->topic);
    json_str (o, "url", ev->url);
    json_str (o, "title", ev->title);
    json_str (o, "summary", ev->summary);
    if (ev->has_published)
        json_object_set_new (o, "published", json_integer (ev->published));
    if (ev->detected)
        json_object_set_new (o, "detected", json_integer (ev->detected));
    if (ev->ntags) {
        json_t *tags = json_array ();
        for (size_t i = 0; tags && i < ev->ntags; i++)
            json_array_append_new (tags, json_string (ev->tags[i]));
        json_object_set_new (o, "tags", tags);
    }
    json_str (o, "hash", ev->hash);
    json_str (o, "prev_hash", ev->prev_hash);
    json_str (o, "diff", ev->diff);
    char *s = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        fprintf (out, "%s\n", s);
    free (s);
    json_decref (o);
}
