/* cmd_status.c: `veille status`: what veille sees, per source, per sink and
 * for the broker (core/status.h reads it; this file only prints it, for a
 * terminal or as JSON). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "broker_conf.h"
#include "config.h"
#include "status.h"
#include "sub_conf.h"
#include "tools.h"
#include "util.h"
#include "watch_conf.h"
#include "wire.h"

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille status -c CONFIG... [OPTIONS]\n"
        "\n"
        "Shows what veille sees, from the same configuration files as the\n"
        "daemons (any of broker, watch, sub sections), without disturbing them:\n"
        "the watcher's and the subscriber's state files are opened read-only,\n"
        "the broker is asked through its replay endpoint (and its metrics\n"
        "endpoint when broker.metrics_listen is set).\n"
        "  per source: last poll, HTTP status, last change, last error,\n"
        "              failures in a row, next poll;\n"
        "  per sink:   cursor, backlog (events of its topics after the cursor),\n"
        "              age of the oldest undelivered event, dead letters;\n"
        "  broker:     head, first seq, journal size, replay clients.\n"
        "Exit 0 when everything could be read, 1 when something could not\n"
        "(broker unreachable, state file absent or unreadable), 2 on usage or\n"
        "configuration errors.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE      a configuration file (repeat for several)\n"
        "      --json             one JSON object instead of tables\n"
        "      --timeout-ms T     wait at most T ms for each broker answer (default 3000)\n"
        "      --curve-secret F   client secret key file (default: sub.curve_secret_key)\n"
        "      --curve-server F   broker public key file (default: sub.curve_server_key)\n"
        "  -h, --help             this help\n");
}

/* What the configuration files name. Strings point into the cfg_t's. */
typedef struct {
    cfg_t           *cfgs[8];
    size_t           ncfgs;
    const char      *watch_state, *sub_state, *journal_dir, *metrics;
    const char      *replay, *secret, *server;
    status_source_t *srcs;
    size_t           nsrcs;
    status_sink_t   *sinks;
    size_t           nsinks;
} view_t;

static void
s_view_free (view_t *v)
{
    status_sources_clear (v->srcs, v->nsrcs);
    free (v->srcs);
    for (size_t i = 0; i < v->nsinks; i++)
        free (v->sinks[i].prefixes);
    free (v->sinks);
    for (size_t i = 0; i < v->ncfgs; i++)
        cfg_destroy (&v->cfgs[i]);
}

static bool
s_add_watch (view_t *v, config_setting_t *w)
{
    v->watch_state = cfg_get_str (w, "state", NULL);
    config_setting_t *list = config_setting_get_member (w, "sources");
    size_t n = list ? (size_t) config_setting_length (list) : 0;
    status_source_t *a = realloc (v->srcs, (v->nsrcs + n + 1) * sizeof *a);
    if (!a)
        return false;
    v->srcs = a;
    for (size_t i = 0; i < n; i++) {
        memset (&a[v->nsrcs], 0, sizeof *a);
        a[v->nsrcs++].id = cfg_get_str (config_setting_get_elem (list, (unsigned) i), "id", "?");
    }
    return true;
}

static bool
s_add_sub (view_t *v, config_setting_t *s)
{
    v->sub_state = cfg_get_str (s, "state", NULL);
    v->replay = cfg_get_str (s, "replay", v->replay);
    v->secret = v->secret ? v->secret : cfg_get_str (s, "curve_secret_key", NULL);
    v->server = v->server ? v->server : cfg_get_str (s, "curve_server_key", NULL);
    config_setting_t *list = config_setting_get_member (s, "sinks");
    size_t n = list ? (size_t) config_setting_length (list) : 0;
    status_sink_t *a = realloc (v->sinks, (v->nsinks + n + 1) * sizeof *a);
    if (!a)
        return false;
    v->sinks = a;
    for (size_t i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem (list, (unsigned) i);
        status_sink_t *k = &a[v->nsinks++];
        memset (k, 0, sizeof *k);
        k->name = cfg_get_str (g, "name", "?");
        config_setting_t *t = config_setting_get_member (g, "topics");
        int nt = !t ? 0 : config_setting_type (t) == CONFIG_TYPE_STRING ? 1
                                                                        : config_setting_length (t);
        if (nt > 0 && !(k->prefixes = calloc ((size_t) nt, sizeof *k->prefixes)))
            return false;
        for (int j = 0; j < nt; j++)
            k->prefixes[k->nprefixes++] = config_setting_type (t) == CONFIG_TYPE_STRING
                                        ? config_setting_get_string (t)
                                        : config_setting_get_string_elem (t, j);
    }
    return true;
}

/* Loads PATH into V. Returns false after printing why. */
static bool
s_load (view_t *v, const char *path)
{
    cfg_section_t secs[3] = {
        { "broker", broker_conf_keys, false }, { "watch", watch_conf_keys, false },
        { "sub", sub_conf_keys, false },
    };
    vl_err_t err;
    char *errors = NULL;
    if (v->ncfgs == VL_ARRAY_LEN (v->cfgs)) {
        fprintf (stderr, "veille status: at most %zu -c files\n", VL_ARRAY_LEN (v->cfgs));
        return false;
    }
    cfg_t *cfg = cfg_load (path, secs, 3, &err, &errors);
    if (!cfg) {
        fprintf (stderr, "%s", errors ? errors : vl_strerror (err));
        fprintf (stderr, "veille status: %s is not valid (veille check %s)\n", path, path);
        free (errors);
        return false;
    }
    free (errors);
    v->cfgs[v->ncfgs++] = cfg;
    config_setting_t *b = cfg_section (cfg, "broker");
    if (b) {
        v->journal_dir = cfg_get_str (b, "journal_dir", NULL);
        v->metrics = cfg_get_str (b, "metrics_listen", NULL);
        const char *r = cfg_get_str (b, "replay", NULL);
        if (r && !strchr (r, '*') && !v->replay)
            v->replay = r;
    }
    bool ok = true;
    if (cfg_section (cfg, "watch"))
        ok = s_add_watch (v, cfg_section (cfg, "watch"));
    if (ok && cfg_section (cfg, "sub"))
        ok = s_add_sub (v, cfg_section (cfg, "sub"));
    if (!ok)
        fprintf (stderr, "veille status: out of memory\n");
    return ok;
}

/* ---- terminal ------------------------------------------------------------ */

/* "12s ago" / "in 4m05s" / "never" for T (ms since the epoch) at NOW. */
static const char *
s_when (char *out, size_t len, int64_t t, int64_t now)
{
    if (t <= 0)
        return "never";
    int64_t d = (t > now ? t - now : now - t) / 1000;
    char span[32];
    if (d < 60)
        snprintf (span, sizeof span, "%" PRId64 "s", d);
    else if (d < 3600)
        snprintf (span, sizeof span, "%" PRId64 "m%02" PRId64 "s", d / 60, d % 60);
    else if (d < 86400 * 2)
        snprintf (span, sizeof span, "%" PRId64 "h%02" PRId64 "m", d / 3600, d / 60 % 60);
    else
        snprintf (span, sizeof span, "%" PRId64 "d", d / 86400);
    snprintf (out, len, t > now ? "in %s" : "%s ago", span);
    return out;
}

static const char *const file_names[] = {
    [STATUS_FILE_OK] = "ok", [STATUS_FILE_ABSENT] = "absent",
    [STATUS_FILE_OLD] = "old", [STATUS_FILE_ERROR] = "error",
};

static void
s_print_broker (const view_t *v, const status_broker_t *b)
{
    printf ("broker  %s\n", v->replay);
    if (b->reached != VL_OK)
        printf ("  unreachable: %s\n", vl_strerror (b->reached));
    else
        printf ("  head %" PRIu64 "  first %" PRIu64 "  epoch %016" PRIx64 "\n", b->head, b->first,
                b->epoch);
    if (b->journal_bytes >= 0) {
        double x = (double) b->journal_bytes;
        const char *unit = "bytes";
        if (x >= 1024.0 * 1024.0) {
            x /= 1024.0 * 1024.0;
            unit = "MiB";
        } else if (x >= 1024.0) {
            x /= 1024.0;
            unit = "KiB";
        }
        printf ("  journal %.*f %s in %" PRId64 " segment(s)\n", *unit == 'b' ? 0 : 1, x, unit,
                b->segments);
    }
    else
        printf ("  journal size unknown (give the broker's config, readable journal_dir)\n");
    if (b->replay_clients >= 0)
        printf ("  replay clients %" PRId64 "\n", b->replay_clients);
    else
        printf ("  replay clients unknown (set broker.metrics_listen)\n");
}

static void
s_print_sources (const view_t *v, status_file_t f, const char *why, int64_t now)
{
    printf ("\nsources  %s (%s)\n", v->watch_state, file_names[f]);
    if (f != STATUS_FILE_OK)
        printf ("  %s\n", why);
    if (f == STATUS_FILE_ABSENT || f == STATUS_FILE_ERROR)
        return;
    printf ("  %-20s %-12s %4s %-12s %5s %-12s %s\n", "SOURCE", "LAST POLL", "HTTP",
            "LAST CHANGE", "FAILS", "NEXT POLL", "LAST ERROR");
    for (size_t i = 0; i < v->nsrcs; i++) {
        const status_source_t *s = &v->srcs[i];
        char a[32], c[32], n[32], e[48];
        if (!s->known) {
            printf ("  %-20s not polled yet\n", s->id);
            continue;
        }
        char err[200] = "-";
        if (s->last_error)
            snprintf (err, sizeof err, "%s (%s)", s->last_error, s_when (e, sizeof e, s->error_at, now));
        printf ("  %-20s %-12s %4d %-12s %5d %-12s %s\n", s->id, s_when (a, sizeof a, s->poll_at, now),
                s->http_status, s_when (c, sizeof c, s->change_at, now), s->failures,
                s->next_due <= now ? "due" : s_when (n, sizeof n, s->next_due, now), err);
    }
}

static void
s_print_sinks (const view_t *v, status_file_t f, const char *why, int64_t now)
{
    printf ("\nsinks  %s (%s)\n", v->sub_state, file_names[f]);
    if (f != STATUS_FILE_OK)
        printf ("  %s\n", why);
    if (f == STATUS_FILE_ERROR)
        return;
    printf ("  %-20s %10s %8s %-14s %6s\n", "SINK", "CURSOR", "BACKLOG", "OLDEST", "DEAD");
    for (size_t i = 0; i < v->nsinks; i++) {
        const status_sink_t *s = &v->sinks[i];
        char back[24] = "?", old[32] = "-", cur[24] = "none";
        if (s->has_backlog)
            snprintf (back, sizeof back, "%" PRIu64, s->backlog);
        if (s->known)
            snprintf (cur, sizeof cur, "%" PRIu64, s->cursor);
        if (s->oldest_ms > 0)
            s_when (old, sizeof old, s->oldest_ms, now);
        printf ("  %-20s %10s %8s %-14s %6" PRIu64 "%s\n", s->name, cur, back, old, s->dead,
                s->carried ? "  (events carried over a journal reset)" : "");
    }
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *
s_ms_or_null (int64_t t)
{
    return t > 0 ? json_integer (t) : json_null ();
}

static json_t *
s_json (const view_t *v, const status_broker_t *b, status_file_t fw, const char *wwhy,
        status_file_t fs, const char *swhy, int64_t now)
{
    json_t *root = json_object ();
    json_object_set_new (root, "time", json_integer (now));
    json_t *jb = json_pack ("{s:s, s:b}", "replay", v->replay, "reachable", b->reached == VL_OK);
    json_object_set_new (jb, "error", b->reached == VL_OK ? json_null ()
                                                          : json_string (vl_strerror (b->reached)));
    json_object_set_new (jb, "head", b->reached == VL_OK ? json_integer ((json_int_t) b->head) : json_null ());
    json_object_set_new (jb, "first", b->reached == VL_OK ? json_integer ((json_int_t) b->first) : json_null ());
    json_object_set_new (jb, "journal_bytes", b->journal_bytes >= 0 ? json_integer (b->journal_bytes) : json_null ());
    json_object_set_new (jb, "segments", b->segments >= 0 ? json_integer (b->segments) : json_null ());
    json_object_set_new (jb, "replay_clients", b->replay_clients >= 0 ? json_integer (b->replay_clients) : json_null ());
    json_object_set_new (root, "broker", jb);
    if (v->watch_state) {
        json_t *a = json_array ();
        for (size_t i = 0; i < v->nsrcs; i++) {
            const status_source_t *s = &v->srcs[i];
            json_t *o = json_pack ("{s:s, s:b}", "id", s->id, "known", s->known);
            json_object_set_new (o, "last_poll", s_ms_or_null (s->poll_at));
            json_object_set_new (o, "http_status", s->poll_at ? json_integer (s->http_status) : json_null ());
            json_object_set_new (o, "last_change", s_ms_or_null (s->change_at));
            json_object_set_new (o, "last_error", s->last_error ? json_string (s->last_error) : json_null ());
            json_object_set_new (o, "last_error_at", s_ms_or_null (s->error_at));
            json_object_set_new (o, "failures", json_integer (s->failures));
            json_object_set_new (o, "error_sent", json_boolean (s->error_sent));
            json_object_set_new (o, "next_poll", s_ms_or_null (s->next_due));
            json_array_append_new (a, o);
        }
        json_object_set_new (root, "watch", json_pack ("{s:s, s:s, s:s?, s:o}", "state", v->watch_state,
                             "file", file_names[fw], "problem", fw == STATUS_FILE_OK ? NULL : wwhy,
                             "sources", a));
    }
    if (v->sub_state) {
        json_t *a = json_array ();
        for (size_t i = 0; i < v->nsinks; i++) {
            const status_sink_t *s = &v->sinks[i];
            json_t *o = json_pack ("{s:s}", "name", s->name);
            json_object_set_new (o, "cursor", s->known ? json_integer ((json_int_t) s->cursor) : json_null ());
            json_object_set_new (o, "backlog", s->has_backlog ? json_integer ((json_int_t) s->backlog) : json_null ());
            json_object_set_new (o, "oldest_undelivered", s_ms_or_null (s->oldest_ms));
            json_object_set_new (o, "oldest_age_s", s->oldest_ms > 0
                                 ? json_integer ((now - s->oldest_ms) / 1000) : json_null ());
            json_object_set_new (o, "dead_letters", json_integer ((json_int_t) s->dead));
            json_object_set_new (o, "carried", json_integer ((json_int_t) s->carried));
            json_array_append_new (a, o);
        }
        json_object_set_new (root, "sub", json_pack ("{s:s, s:s, s:s?, s:o}", "state", v->sub_state,
                             "file", file_names[fs], "problem", fs == STATUS_FILE_OK ? NULL : swhy,
                             "sinks", a));
    }
    return root;
}

/* Reads everything V names and prints it. Returns the exit code. */
static int
s_run (view_t *v, bool json, int timeout_ms)
{
    curve_client_t keys;
    bool curve;
    if (tools_curve (v->secret, v->server, &keys, &curve) != VL_OK)
        return TOOLS_EXIT_USAGE;
    tools_reachable ("status", v->replay);   /* a hint on EACCES; the files are read anyway */
    void *ctx = zmq_ctx_new ();
    client_sub_opts_t o = { .replay_endpoint = v->replay, .request_timeout_ms = timeout_ms,
                            .curve = curve ? &keys : NULL };
    status_broker_t b;
    status_read_broker (ctx, &o, timeout_ms, v->journal_dir, v->metrics, &b);
    char wwhy[512] = "", swhy[512] = "";
    status_file_t fw = STATUS_FILE_OK, fs = STATUS_FILE_OK;
    if (v->watch_state)
        fw = status_read_sources (v->watch_state, v->srcs, v->nsrcs, wwhy, sizeof wwhy);
    if (v->sub_state) {
        fs = status_read_sinks (v->sub_state, v->sinks, v->nsinks, swhy, sizeof swhy);
        if (b.reached == VL_OK && fs != STATUS_FILE_ERROR)
            status_ask_backlog (ctx, &o, timeout_ms, v->sinks, v->nsinks);
    }
    zmq_ctx_term (ctx);
    int64_t now = util_now_ms ();
    if (json) {
        json_t *root = s_json (v, &b, fw, wwhy, fs, swhy, now);
        char *text = root ? json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER) : NULL;
        if (text)
            printf ("%s\n", text);
        free (text);
        json_decref (root);
    } else {
        s_print_broker (v, &b);
        if (v->watch_state)
            s_print_sources (v, fw, wwhy, now);
        if (v->sub_state)
            s_print_sinks (v, fs, swhy, now);
    }
    bool bad = b.reached != VL_OK || fw == STATUS_FILE_ABSENT || fw == STATUS_FILE_ERROR
               || fs == STATUS_FILE_ABSENT || fs == STATUS_FILE_ERROR;
    return bad ? TOOLS_EXIT_FAIL : TOOLS_EXIT_OK;
}

int
cmd_status (int argc, char **argv)
{
    enum { O_JSON = 256, O_TIMEOUT, O_SECRET, O_SERVER };
    static const struct option longs[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, O_JSON },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "curve-secret", required_argument, NULL, O_SECRET },
        { "curve-server", required_argument, NULL, O_SERVER },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    view_t v = { 0 };
    const char *files[8];
    size_t nfiles = 0;
    bool json = false, ok = true;
    int timeout_ms = 3000, c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "c:h", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (nfiles < VL_ARRAY_LEN (files))
                files[nfiles++] = optarg;
            else
                ok = false;
            break;
        case O_JSON: json = true; break;
        case O_TIMEOUT: ok = tools_parse_int (optarg, 1, 600000, &timeout_ms); break;
        case O_SECRET: v.secret = optarg; break;
        case O_SERVER: v.server = optarg; break;
        case 'h': s_usage (stdout); return TOOLS_EXIT_OK;
        default: ok = false; break;
        }
    }
    if (!ok || optind != argc || nfiles == 0) {
        fprintf (stderr, "%stry veille status --help\n",
                 nfiles == 0 && ok ? "veille status: give at least one -c CONFIG\n" : "");
        return TOOLS_EXIT_USAGE;
    }
    for (size_t i = 0; ok && i < nfiles; i++)
        ok = s_load (&v, files[i]);
    if (!v.replay)
        v.replay = WIRE_DEFAULT_REPLAY;
    int rc = ok ? s_run (&v, json, timeout_ms) : TOOLS_EXIT_USAGE;
    s_view_free (&v);
    return rc;
}
