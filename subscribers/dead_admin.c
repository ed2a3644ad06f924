/* dead_admin.c: veille-sub's dead-letter commands (--list-dead,
 * --retry-dead) and --purge-sink, run against the state file (see
 * dead_admin.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cursor.h"
#include "dead_admin.h"
#include "dispatch.h"
#include "event.h"
#include "format.h"
#include "log.h"
#include "sink.h"
#include "sub_app.h"

#define RETRY_DEAD_ATTEMPTS 8   /* --retry-dead, per letter, when max_attempts is 0 */

static bool
print_dead (const cursor_dead_t *d, void *arg)
{
    FILE *out = arg;
    char when[32], err[300];
    format_time_iso (d->at_ms, when);
    log_sanitize (err, sizeof err, d->error ? d->error : "", d->error ? strlen (d->error) : 0);
    fprintf (out, "%lld\t%s\t%llu\t%s\t%s\t%d\t%s\t%s\n", (long long) d->n, d->sink,
             (unsigned long long) d->seq, d->topic, d->id, d->attempts, when, err);
    return true;
}

int
dead_admin_list (config_setting_t *section, const char *sink, FILE *out)
{
    vl_err_t rc;
    cursor_t *db = cursor_open (cfg_get_str (section, "state", ""), 0, &rc);
    if (!db)
        return 1;
    size_t n = 0;
    fprintf (out, "# n\tsink\tseq\ttopic\tid\tattempts\tparked\terror\n");
    rc = cursor_dead_foreach (db, sink, print_dead, out, &n);
    fprintf (out, "# %zu dead letter(s)\n", n);
    cursor_close (&db);
    return rc == VL_OK ? 0 : 1;
}

typedef struct {
    int64_t  n;
    char    *sink;
    uint64_t seq;
    void    *data;
    size_t   len;
} dead_copy_t;

typedef struct {
    dead_copy_t *v;
    size_t       n, cap;
} dead_list_t;

static bool
collect_dead (const cursor_dead_t *d, void *arg)
{
    dead_list_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        dead_copy_t *g = realloc (l->v, cap * sizeof *g);
        if (!g)
            return false;
        l->v = g;
        l->cap = cap;
    }
    dead_copy_t *c = &l->v[l->n];
    c->n = d->n;
    c->seq = d->seq;
    c->sink = strdup (d->sink);
    c->data = malloc (d->len ? d->len : 1);
    c->len = d->len;
    if (!c->sink || !c->data) {
        free (c->sink);
        free (c->data);
        return false;
    }
    memcpy (c->data, d->data, d->len);
    l->n++;
    return true;
}

/* Delivers one parked event through S with the sink's backoff, for at most
 * max_attempts attempts (RETRY_DEAD_ATTEMPTS when that is 0: a command
 * does not wait out a whole retry horizon). */
static bool
redeliver (sink_t *s, const config_setting_t *grp, const event_t *ev, uint64_t seq,
           sink_result_t *res)
{
    int max = cfg_get_int (grp, "max_attempts", 0);
    if (max <= 0)
        max = RETRY_DEAD_ATTEMPTS;
    for (int attempt = 1;; attempt++) {
        sink_deliver (s, ev, seq, res);
        if (res->status == SINK_HELD && s->ops->flush)
            sink_flush (s, res);
        if (res->status == SINK_DELIVERED)
            return true;
        if (res->status == SINK_FAILED || attempt >= max)
            return false;
        int64_t ms = res->retry_after_ms > 0 ? res->retry_after_ms
                   : dispatch_backoff_ms (attempt, cfg_get_int (grp, "backoff_initial_ms", 500),
                                          cfg_get_int (grp, "backoff_max_ms", 60000));
        struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
        nanosleep (&ts, NULL);
    }
}

static bool
retry_one (cursor_t *db, config_setting_t *section, const dead_copy_t *c, FILE *out)
{
    config_setting_t *grp = sub_app_find_sink (section, c->sink);
    if (!grp) {
        fprintf (out, "dead letter %lld: sink %s is no longer configured\n", (long long) c->n,
                 c->sink);
        return false;
    }
    event_t ev;
    vl_err_t rc;
    sink_t *s = NULL;
    bool ok = false;
    sink_result_t res = { .detail = "cannot decode" };
    if (event_decode (c->data, c->len, &ev) == VL_OK && (s = sink_new_from_config (grp, &rc)))
        ok = redeliver (s, grp, &ev, c->seq, &res);
    if (ok) {
        rc = cursor_begin (db);
        if (rc == VL_OK) rc = cursor_dead_remove (db, c->n);
        if (rc == VL_OK) rc = cursor_record (db, c->sink, ev.id, c->seq);
        if (rc == VL_OK) rc = cursor_commit (db);
        else cursor_rollback (db);
    }
    char detail[300];
    log_sanitize (detail, sizeof detail, res.detail, strlen (res.detail));
    fprintf (out, "dead letter %lld (sink %s, seq %llu): %s (%s)\n", (long long) c->n, c->sink,
             (unsigned long long) c->seq, ok ? "delivered" : "still parked", detail);
    sink_destroy (&s);
    event_clear (&ev);
    return ok;
}

int
dead_admin_retry (config_setting_t *section, const char *sink, FILE *out)
{
    if (sink && !sub_app_find_sink (section, sink)) {
        fprintf (out, "veille-sub: no sink named '%s'\n", sink);
        return 2;
    }
    vl_err_t rc;
    cursor_t *db = cursor_open (cfg_get_str (section, "state", ""),
                                cfg_get_int (section, "dedup_window", 10000), &rc);
    if (!db)
        return 1;
    dead_list_t l = { 0 };
    rc = cursor_dead_foreach (db, sink, collect_dead, &l, NULL);
    size_t delivered = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (retry_one (db, section, &l.v[i], out))
            delivered++;
        free (l.v[i].sink);
        free (l.v[i].data);
    }
    free (l.v);
    fprintf (out, "%zu of %zu dead letter(s) delivered\n", delivered, l.n);
    cursor_close (&db);
    return rc == VL_OK && delivered == l.n ? 0 : 1;
}

int
dead_admin_purge_sink (config_setting_t *section, const char *sink, FILE *out)
{
    if (sub_app_find_sink (section, sink)) {
        fprintf (out, "veille-sub: sink '%s' is configured: remove it from the configuration "
                 "(and reload) before purging it\n", sink);
        return 2;
    }
    vl_err_t rc;
    cursor_t *db = cursor_open (cfg_get_str (section, "state", ""), 0, &rc);
    if (!db)
        return 1;
    size_t rows = 0;
    uint64_t seq;
    bool found;
    rc = cursor_find (db, sink, &seq, &found);
    if (rc == VL_OK)
        rc = cursor_purge (db, sink, &rows);
    cursor_close (&db);
    if (rc != VL_OK) {
        fprintf (out, "veille-sub: cannot purge sink '%s': %s\n", sink, vl_strerror (rc));
        return 1;
    }
    if (!found && rows == 0) {
        fprintf (out, "veille-sub: nothing stored for sink '%s'\n", sink);
        return 2;
    }
    fprintf (out, "sink %s: purged (cursor %llu, %zu row(s) deleted)\n", sink,
             (unsigned long long) (found ? seq : 0), rows);
    return 0;
}
