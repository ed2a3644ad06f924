/* sub_app.c: veille-sub's setup, main loop and --test-sink (the dead-letter
 * commands are in dead_admin.c). */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "backbone.h"
#include "cursor.h"
#include "curve.h"
#include "log.h"
#include "sink_start.h"
#include "notify.h"
#include "sub_app.h"
#include "sub_conf.h"
#include "sub_metrics.h"
#include "sub_reload.h"
#include "util.h"
#include "wire.h"

#define RECV_SLICE_MS 200
#define RELOAD_DRAIN_MS 10000   /* how long a removed sink may take to deliver its queue */

/* --- building ---------------------------------------------------------- */

static filter_t *
filter_from_config (const config_setting_t *grp, vl_err_t *err)
{
    char **topics = cfg_get_strlist (grp, "topics", NULL);
    char **types = cfg_get_strlist (grp, "types", NULL);
    char **sources = cfg_get_strlist (grp, "sources", NULL);
    char **tags = cfg_get_strlist (grp, "tags", NULL);
    char **keywords = cfg_get_strlist (grp, "keywords", NULL);
    filter_t *f = NULL;
    *err = VL_ENOMEM;
    if (topics && types && sources && tags && keywords) {
        filter_opts_t o = {
            .topics = topics, .types = types, .sources = sources, .tags = tags,
            .keywords = keywords,
            .min_interval_s = cfg_get_int (grp, "min_interval_s", 0),
            .quiet_hours = cfg_get_str (grp, "quiet_hours", NULL),
        };
        f = filter_new (&o, err);
        if (*err == VL_EINVAL) {
            log_error ("%s: invalid filter", cfg_where (grp));
            *err = VL_ECONFIG;
        }
    }
    cfg_strlist_free (topics);
    cfg_strlist_free (types);
    cfg_strlist_free (sources);
    cfg_strlist_free (tags);
    cfg_strlist_free (keywords);
    return f;
}

/* Builds the sink of group GRP, its filter and its dispatch options into
 * *O (sink and filter owned by *O: dispatch_add or sink_opts_free). */
static vl_err_t
sink_opts_build (const config_setting_t *grp, dispatch_sink_opts_t *o)
{
    vl_err_t rc;
    memset (o, 0, sizeof *o);
    filter_t *f = filter_from_config (grp, &rc);
    if (!f)
        return rc;
    sink_t *s = sink_new_from_config (grp, &rc);
    if (!s) {
        filter_destroy (&f);
        return rc;
    }
    *o = (dispatch_sink_opts_t) {
        .sink = s, .filter = f,
        .max_attempts = cfg_get_int (grp, "max_attempts", 0),
        .backoff_initial_ms = cfg_get_int (grp, "backoff_initial_ms", 500),
        .backoff_max_ms = cfg_get_int (grp, "backoff_max_ms", 60000),
        .retry_horizon_ms = (int64_t) cfg_get_int (grp, "retry_horizon_s", 86400) * 1000,
        .redrive_dead = cfg_get_bool (grp, "redrive_dead", false),
        .queue_cap = (size_t) cfg_get_int (grp, "queue", 4096),
        .queue_bytes = (size_t) cfg_get_int (grp, "queue_bytes", 64 * 1024 * 1024),
    };
    return VL_OK;
}

static void
sink_opts_free (dispatch_sink_opts_t *o)
{
    sink_destroy (&o->sink);
    filter_destroy (&o->filter);
}

/* Adds the sink of group GRP to D (dispatch_add: the caller starts it). */
static vl_err_t
add_sink (dispatch_t *d, const config_setting_t *grp)
{
    dispatch_sink_opts_t o;
    vl_err_t rc = sink_opts_build (grp, &o);
    if (rc == VL_OK)
        rc = dispatch_add (d, &o);
    if (rc == VL_EDUP) {
        log_error ("%s: sink name is not unique", cfg_where (grp));
        rc = VL_ECONFIG;
    }
    return rc;
}

dispatch_t *
sub_app_build (config_setting_t *section, vl_err_t *err)
{
    dispatch_opts_t o = {
        .state_path = cfg_get_str (section, "state", "veille-sub.db"),
        .dedup_window = cfg_get_int (section, "dedup_window", 10000),
    };
    dispatch_t *d = dispatch_new (&o, err);
    config_setting_t *sinks = d ? config_setting_get_member (section, "sinks") : NULL;
    int n = sinks ? config_setting_length (sinks) : 0;
    for (int i = 0; d && i < n; i++) {
        vl_err_t rc = add_sink (d, config_setting_get_elem (sinks, (unsigned) i));
        if (rc != VL_OK) {
            *err = rc;
            dispatch_destroy (&d);
        }
    }
    if (d && n == 0) {
        log_error ("%s: no sinks configured", cfg_where (section));
        *err = VL_ECONFIG;
        dispatch_destroy (&d);
    }
    return d;
}

/* --- main loop ------------------------------------------------------------- */

typedef struct {
    void              *ctx;
    bb_sub_t          *client;
    nats_conf_t       *nats;                   /* backbone = "nats"; NULL = the broker */
    client_sub_opts_t  opts;
    curve_client_t     curve;
    dispatch_t        *d;
    bool               ready;
    uint64_t           live, replayed, gaps;   /* of the clients closed so far */
    config_setting_t  *section;                /* the running configuration */
    const char        *conf_path;              /* re-read on SIGHUP */
    cfg_t             *cfg;                    /* owned: the last one reloaded, if any */
    sub_metrics_t     *mx;                     /* NULL: metrics off */
    cursor_t          *db;                     /* main thread: the journal epoch */
    uint64_t           epoch;                  /* the one stored with the cursors */
} loop_t;

/* Adds the current client's counters to the totals and logs them. */
static void
loop_account (loop_t *l)
{
    if (!l->client)
        return;
    client_sub_stats_t st;
    bb_sub_get_stats (l->client, &st);
    sub_metrics_client_closed (l->mx, &st);
    l->live += st.live;
    l->replayed += st.replayed;
    l->gaps += st.gaps;
}

static vl_err_t
loop_subscribe (loop_t *l, uint64_t from)
{
    loop_account (l);
    bb_sub_destroy (&l->client);
    l->opts.from_seq = from;
    l->opts.epoch = l->epoch;
    vl_err_t rc;
    l->client = bb_sub_new (l->ctx, &l->opts, l->nats, &rc);
    if (!l->client)
        log_error ("cannot subscribe to %s: %s", l->opts.sub_endpoint, vl_strerror (rc));
    else if (l->nats)
        log_info ("reading stream %s at %s after seq %llu", l->nats->stream, l->nats->servers,
                  (unsigned long long) from);
    else
        log_info ("subscribed to %s (replay %s) from seq %llu", l->opts.sub_endpoint,
                  l->opts.replay_endpoint, (unsigned long long) from);
    l->ready = false;
    return rc;
}

/* Points the subscription options at SECTION's settings (strings owned by
 * the configuration) and the dispatcher's prefixes. */
static vl_err_t
loop_endpoints (loop_t *l, config_setting_t *section)
{
    size_t n;
    l->opts.prefixes = dispatch_prefixes (l->d, &n);
    l->opts.nprefixes = n;
    l->opts.sub_endpoint = cfg_get_str (section, "subscribe", WIRE_DEFAULT_SUBSCRIBE);
    l->opts.replay_endpoint = cfg_get_str (section, "replay", WIRE_DEFAULT_REPLAY);
    l->opts.request_timeout_ms = cfg_get_int (section, "request_timeout_ms", 5000);
    l->opts.sub_rcvhwm = cfg_get_int (section, "rcvhwm", 0);
    return l->opts.prefixes ? VL_OK : VL_ENOMEM;
}

static vl_err_t
loop_setup (loop_t *l, config_setting_t *section)
{
    const char *secret = cfg_get_str (section, "curve_secret_key", NULL);
    const char *server = cfg_get_str (section, "curve_server_key", NULL);
    if ((secret != NULL) != (server != NULL)) {
        log_error ("%s: curve_secret_key and curve_server_key go together", cfg_where (section));
        return VL_ECONFIG;
    }
    if (secret && curve_client_load (&l->curve, secret, server) != VL_OK) {
        log_error ("%s: cannot load CURVE keys", cfg_where (section));
        return VL_ECONFIG;
    }
    if (backbone_is_nats (section)) {
        l->nats = calloc (1, sizeof *l->nats);
        vl_err_t e = l->nats ? nats_conf_load (config_setting_get_member (section, "nats"),
                                               l->nats) : VL_ENOMEM;
        if (e != VL_OK)
            return e;
    }
    l->opts.curve = secret ? &l->curve : NULL;
    return loop_endpoints (l, section);
}

static bool
is_broker_topic (const client_msg_t *m)
{
    size_t n = strlen (WIRE_TOPIC_HEARTBEAT), s = strlen (WIRE_TOPIC_STATS);
    return (m->topic_len == n && memcmp (m->topic, WIRE_TOPIC_HEARTBEAT, n) == 0)
        || (m->topic_len == s && memcmp (m->topic, WIRE_TOPIC_STATS, s) == 0);
}

/* Asks the broker about its journal until it answers (or *STOP), one
 * request timeout per round (client_sub_probe retries and backs off). */
static vl_err_t
probe_journal (loop_t *l, volatile sig_atomic_t *stop, client_sub_journal_t *j)
{
    while (!*stop) {
        notify_watchdog ();   /* waiting for the broker is not a stall */
        vl_err_t rc = bb_sub_probe (l->ctx, &l->opts, l->nats, l->opts.request_timeout_ms, j);
        if (rc == VL_OK)
            return VL_OK;
        if (rc == VL_EINVAL || rc == VL_ENOMEM) {
            log_error ("cannot ask the broker at %s: %s", l->opts.replay_endpoint,
                       vl_strerror (rc));
            return rc;
        }
        if (rc != VL_EINTR)
            log_warn ("new sink(s) wait for the broker: no journal answer from %s (%s); "
                      "retrying%s",
                      l->opts.replay_endpoint, vl_strerror (rc),
                      l->opts.curve ? " (with CURVE, the broker may be refusing this "
                                      "client's key)" : "");
    }
    return VL_EINTR;
}

/* Sets *IS_NEW when sink group G has no cursor row yet. */
static vl_err_t
sink_is_new (loop_t *l, const config_setting_t *g, bool *is_new)
{
    uint64_t seq;
    bool found;
    vl_err_t rc = cursor_find (l->db, cfg_get_str (g, "name", ""), &seq, &found);
    *is_new = rc == VL_OK && !found;
    return rc;
}

/* Stores the first cursor of sink group G (no cursor row yet), and the
 * journal epoch with it when none was stored. Inside a transaction. */
static vl_err_t
place_sink (loop_t *l, const config_setting_t *g, const client_sub_journal_t *j)
{
    const char *name = cfg_get_str (g, "name", "");
    const char *why;
    uint64_t c = sink_start_cursor (sink_start_mode (cfg_get_str (g, "start", "auto")),
                                    (int64_t) cfg_get_int (g, "start_grace_s", 600) * 1000,
                                    j, util_now_ms (), &why);
    log_info ("sink %s: new, starts after seq %llu (broker head %llu): %s", name,
              (unsigned long long) c, (unsigned long long) j->head, why);
    return cursor_set (l->db, name, c);
}

/* Places every sink of SECTION that has no cursor yet (sink_start.h): one
 * probe of the broker (waited for), then the first cursors and the epoch
 * in one transaction, before anything is delivered. */
static vl_err_t
place_new_sinks (loop_t *l, volatile sig_atomic_t *stop)
{
    config_setting_t *sinks = config_setting_get_member (l->section, "sinks");
    int n = sinks ? config_setting_length (sinks) : 0;
    bool any = false;
    vl_err_t rc = VL_OK;
    for (int i = 0; rc == VL_OK && i < n && !any; i++)
        rc = sink_is_new (l, config_setting_get_elem (sinks, (unsigned) i), &any);
    if (rc != VL_OK || !any)
        return rc;
    client_sub_journal_t j;
    rc = probe_journal (l, stop, &j);
    if (rc == VL_OK)
        rc = cursor_begin (l->db);
    for (int i = 0; rc == VL_OK && i < n; i++) {
        const config_setting_t *g = config_setting_get_elem (sinks, (unsigned) i);
        bool is_new;
        rc = sink_is_new (l, g, &is_new);
        if (rc == VL_OK && is_new)
            rc = place_sink (l, g, &j);
    }
    bool new_epoch = rc == VL_OK && l->epoch == 0 && j.epoch != 0;
    if (new_epoch)
        rc = cursor_set_epoch (l->db, j.epoch);
    if (rc == VL_OK)
        rc = cursor_commit (l->db);
    else if (rc != VL_EINTR)
        cursor_rollback (l->db);
    if (rc == VL_OK && new_epoch)
        l->epoch = j.epoch;
    return rc;
}

/* The broker's journal was wiped or replaced (another epoch, or its head
 * went below our cursor): every sink cursor goes back to 0, stored with the
 * new epoch in one transaction, and the dispatcher is rebuilt, so events
 * with the new, small seqs are not skipped; the id windows keep already
 * delivered events from repeating. */
static vl_err_t
loop_reset (loop_t *l)
{
    log_warn ("broker sequence restarted (journal replaced?): every sink restarts from 0; "
              "events already delivered are skipped by id");
    uint64_t epoch = bb_sub_epoch (l->client);
    dispatch_carry (l->d);     /* what the sinks had not delivered: not in the new journal */
    dispatch_destroy (&l->d);
    vl_err_t rc = cursor_begin (l->db);
    if (rc == VL_OK) rc = cursor_reset_all (l->db);
    if (rc == VL_OK && epoch) rc = cursor_set_epoch (l->db, epoch);
    if (rc == VL_OK) rc = cursor_commit (l->db);
    else cursor_rollback (l->db);
    if (rc == VL_OK && epoch)
        l->epoch = epoch;
    if (rc == VL_OK && !(l->d = sub_app_build (l->section, &rc)))
        return rc;
    if (rc == VL_OK)
        rc = dispatch_start (l->d);
    if (rc == VL_OK) {
        size_t n;
        l->opts.prefixes = dispatch_prefixes (l->d, &n);
        l->opts.nprefixes = n;
        rc = loop_subscribe (l, 0);
    }
    return rc;
}

/* --- reload (SIGHUP) ------------------------------------------------------ */

/* Logs each line of the configuration loader's ERRORS ("file:line: ..."). */
static void
log_lines (const char *errors)
{
    for (const char *p = errors; p && *p;) {
        const char *nl = strchr (p, '\n');
        int n = (int) (nl ? (size_t) (nl - p) : strlen (p));
        if (n > 0)
            log_error ("reload: %.*s", n, p);
        p = nl ? nl + 1 : p + n;
    }
}

/* Builds the sinks of SECTION named in NAMES (N) into OUT: all, or none
 * (VL_ECONFIG and the rest freed). */
static vl_err_t
build_named (config_setting_t *section, char **names, size_t n, dispatch_sink_opts_t *out)
{
    vl_err_t rc = VL_OK;
    size_t i = 0;
    for (; rc == VL_OK && i < n; i++)
        rc = sink_opts_build (sub_app_find_sink (section, names[i]), &out[i]);
    if (rc != VL_OK)
        while (i-- > 0)
            sink_opts_free (&out[i]);
    return rc == VL_OK || rc == VL_ENOMEM ? rc : VL_ECONFIG;
}

/* Stops the sinks PLAN removes (drained) and changes (at once: their
 * cursor brings back what they had not confirmed). */
static void
reload_stop_sinks (loop_t *l, const sub_reload_plan_t *plan)
{
    for (size_t i = 0; i < plan->nremoved; i++) {
        log_info ("reload: sink %s removed", plan->removed[i]);
        dispatch_remove (l->d, plan->removed[i], RELOAD_DRAIN_MS);
    }
    for (size_t i = 0; i < plan->nchanged; i++) {
        log_info ("reload: sink %s changed: restarts from its cursor", plan->changed[i]);
        dispatch_remove (l->d, plan->changed[i], 0);
    }
}

static vl_err_t place_new_sinks (loop_t *l, volatile sig_atomic_t *stop);

/* Switches to SECTION (of CFG, owned from now on), places the added sinks,
 * adds the N built ones and re-subscribes. */
static vl_err_t
reload_apply (loop_t *l, cfg_t *cfg, config_setting_t *section, dispatch_sink_opts_t *built,
              size_t n, volatile sig_atomic_t *stop)
{
    cfg_t *old = l->cfg;
    l->section = section;
    l->cfg = cfg;
    vl_err_t rc = loop_endpoints (l, section);         /* off the old strings first */
    cfg_destroy (&old);
    if (rc == VL_OK)
        rc = place_new_sinks (l, stop);
    size_t i = 0;
    for (; rc == VL_OK && i < n; i++)
        rc = dispatch_add (l->d, &built[i]);            /* takes the sink and filter */
    for (; i < n; i++)
        sink_opts_free (&built[i]);
    if (rc == VL_OK)
        rc = dispatch_start (l->d);
    vl_err_t rc2 = loop_endpoints (l, section);        /* the prefixes changed */
    if (rc == VL_OK)
        rc = rc2;
    return rc == VL_OK ? loop_subscribe (l, dispatch_resync (l->d)) : rc;
}

/* Plans the reload from the running section to SECTION and builds the
 * added and changed sinks into *BUILT (an array the caller frees; the
 * sinks are built all or none). VL_ECONFIG (logged) if SECTION has no
 * sink, changes what needs a restart, or a sink cannot be built. */
static vl_err_t
reload_prepare (loop_t *l, config_setting_t *section, sub_reload_plan_t *plan,
                dispatch_sink_opts_t **built)
{
    config_setting_t *sinks = config_setting_get_member (section, "sinks");
    if (!sinks || config_setting_length (sinks) == 0) {
        log_error ("reload: %s: no sinks configured", cfg_where (section));
        return VL_ECONFIG;
    }
    vl_err_t rc = sub_reload_plan (l->section, section, plan);
    if (rc == VL_OK && !(*built = calloc (plan->nadded + plan->nchanged + 1, sizeof **built)))
        rc = VL_ENOMEM;
    if (rc == VL_OK)
        rc = build_named (section, plan->added, plan->nadded, *built);
    if (rc == VL_OK
        && (rc = build_named (section, plan->changed, plan->nchanged, *built + plan->nadded))
           != VL_OK)
        for (size_t i = 0; i < plan->nadded; i++)
            sink_opts_free (&(*built)[i]);
    return rc;
}

/* Re-reads the configuration file and applies its sinks: added ones are
 * placed by their `start` rule, removed ones drain and stop (cursors kept),
 * changed ones restart from their cursor, the others go on undisturbed. A
 * file that does not load, a sink that cannot be built, or a change outside
 * `sinks` keeps the running configuration (logged). */
static vl_err_t
loop_reload (loop_t *l, volatile sig_atomic_t *stop)
{
    char *errors = NULL;
    vl_err_t rc;
    cfg_t *cfg = cfg_load (l->conf_path, &sub_conf_section, 1, &rc, &errors);
    if (!cfg) {
        log_error ("reload: %s does not load; the running configuration stays", l->conf_path);
        log_lines (errors);
        free (errors);
        return VL_ECONFIG;
    }
    free (errors);
    config_setting_t *section = cfg_section (cfg, "sub");
    if (sub_conf_check (section, NULL) != VL_OK) {
        log_error ("reload: %s has errors (above); the running configuration stays",
                   l->conf_path);
        cfg_destroy (&cfg);
        return VL_ECONFIG;
    }
    sub_reload_plan_t plan;
    memset (&plan, 0, sizeof plan);
    dispatch_sink_opts_t *built = NULL;
    rc = reload_prepare (l, section, &plan, &built);
    size_t n = plan.nadded + plan.nchanged;
    if (rc != VL_OK) {
        log_error ("reload: nothing changed (%s); the running configuration stays",
                   vl_strerror (rc));
        cfg_destroy (&cfg);
    } else if (n + plan.nremoved == 0) {
        log_info ("reload: sinks unchanged");
        cfg_destroy (&cfg);
    } else {
        log_info ("reload: %zu sink(s) added, %zu removed, %zu changed", plan.nadded,
                  plan.nremoved, plan.nchanged);
        reload_stop_sinks (l, &plan);
        rc = reload_apply (l, cfg, section, built, n, stop);
    }
    free (built);
    sub_reload_plan_free (&plan);
    return rc;
}

/* One step: receive and dispatch what arrives within a slice. */
static vl_err_t
loop_step (loop_t *l)
{
    client_msg_t msg;
    vl_err_t rc = bb_sub_recv (l->client, &msg, RECV_SLICE_MS);
    if (rc == VL_OK && msg.kind == CLIENT_MSG_EVENT && !is_broker_topic (&msg))
        dispatch_offer_event (l->d, msg.seq, msg.data, msg.len);
    else if (rc == VL_OK && msg.kind == CLIENT_MSG_CURSOR)
        dispatch_offer_mark (l->d, msg.seq);
    if (!l->ready && bb_sub_ready (l->client)) {
        l->ready = true;
        log_info ("ready sinks=%zu cursor=%llu head=%llu", dispatch_count (l->d),
                  (unsigned long long) bb_sub_cursor (l->client),
                  (unsigned long long) bb_sub_head (l->client));
    }
    client_sub_stats_t st;
    bb_sub_get_stats (l->client, &st);
    sub_metrics_update (l->mx, l->d, &st, false);
    if (st.resets > 0)
        return loop_reset (l);
    uint64_t epoch = bb_sub_epoch (l->client);
    if (epoch && epoch != l->epoch) {
        /* first epoch known for these cursors (a different one would have
         * been a reset): store it, so a journal replaced while we are down
         * is noticed at the next start */
        if (cursor_set_epoch (l->db, epoch) == VL_OK) {
            log_info ("broker journal epoch %016llx", (unsigned long long) epoch);
            l->epoch = epoch;
        }
    }
    uint64_t from;
    if (dispatch_want_replay (l->d, &from))
        return loop_subscribe (l, from);
    return rc == VL_ETIMEOUT || rc == VL_EINTR ? VL_OK : rc;
}

int
sub_app_run (config_setting_t *section, const char *conf_path, volatile sig_atomic_t *stop,
             volatile sig_atomic_t *hup)
{
    loop_t l;
    memset (&l, 0, sizeof l);
    vl_err_t rc;
    if (sub_conf_check (section, NULL) != VL_OK)   /* what `veille check` refuses */
        return 2;
    l.d = sub_app_build (section, &rc);
    if (!l.d)
        return rc == VL_ECONFIG ? 2 : 1;
    l.section = section;
    l.conf_path = conf_path;
    rc = loop_setup (&l, section);
    if (rc == VL_OK)
        l.db = cursor_open (cfg_get_str (section, "state", "veille-sub.db"), 0, &rc);
    if (rc == VL_OK)
        rc = cursor_get_epoch (l.db, &l.epoch);
    if (rc == VL_OK && !(l.ctx = zmq_ctx_new ()))
        rc = VL_ENOMEM;
    if (rc == VL_OK)   /* state open, sinks built: the broker may still be down */
        notify_ready ("started");
    if (rc == VL_OK) rc = place_new_sinks (&l, stop);
    if (rc == VL_OK) rc = dispatch_start (l.d);
    if (rc == VL_OK)
        l.mx = sub_metrics_new (cfg_get_str (section, "metrics_listen", NULL), &rc);
    if (rc == VL_OK) rc = loop_subscribe (&l, dispatch_from_seq (l.d));
    while (rc == VL_OK && !*stop) {
        if (*hup) {
            *hup = 0;
            log_reopen ();
            dispatch_reopen (l.d);
            if (l.conf_path && loop_reload (&l, stop) == VL_EINTR)
                break;
        }
        notify_watchdog ();
        vl_err_t step = loop_step (&l);
        if (step != VL_OK && step != VL_EINTR)
            log_warn ("subscription: %s", vl_strerror (step));
        if (!l.d || !l.client) {
            rc = step != VL_OK ? step : VL_EIO;
            break;
        }
    }
    notify_stopping ();
    loop_account (&l);
    log_info ("veille-sub: stopping (events: %llu live, %llu replayed; %llu gaps recovered)",
              (unsigned long long) l.live, (unsigned long long) l.replayed,
              (unsigned long long) l.gaps);
    if (l.d)
        dispatch_stop (l.d);
    sub_metrics_destroy (&l.mx);
    bb_sub_destroy (&l.client);
    if (l.ctx)
        zmq_ctx_term (l.ctx);
    dispatch_destroy (&l.d);
    cursor_close (&l.db);
    cfg_destroy (&l.cfg);
    memset (&l.curve, 0, sizeof l.curve);
    nats_conf_free (l.nats);
    free (l.nats);
    if (rc == VL_EINTR)
        rc = VL_OK;
    return rc == VL_OK ? 0 : (rc == VL_ECONFIG ? 2 : 1);
}

/* --- one-shot commands ------------------------------------------------------- */

config_setting_t *
sub_app_find_sink (config_setting_t *section, const char *name)
{
    config_setting_t *sinks = config_setting_get_member (section, "sinks");
    int n = sinks ? config_setting_length (sinks) : 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem (sinks, (unsigned) i);
        if (strcmp (cfg_get_str (g, "name", ""), name) == 0)
            return g;
    }
    return NULL;
}

int
sub_app_test_sink (config_setting_t *section, const char *name, FILE *out)
{
    config_setting_t *grp = sub_app_find_sink (section, name);
    if (!grp) {
        fprintf (out, "veille-sub: no sink named '%s'\n", name);
        return 2;
    }
    vl_err_t rc;
    sink_t *s = sink_new_from_config (grp, &rc);
    if (!s)
        return 2;
    event_t ev;
    sink_result_t res;
    if (sink_sample_event (&ev) != VL_OK) {
        event_clear (&ev);
        sink_destroy (&s);
        return 1;
    }
    sink_deliver (s, &ev, 0, &res);
    if (res.status == SINK_HELD && s->ops->flush)
        sink_flush (s, &res);
    char detail[300];
    log_sanitize (detail, sizeof detail, res.detail, strlen (res.detail));
    fprintf (out, "sink %s: %s (%s)\n", name,
             res.status == SINK_DELIVERED ? "delivered" : "FAILED", detail);
    event_clear (&ev);
    sink_destroy (&s);
    return res.status == SINK_DELIVERED ? 0 : 1;
}
