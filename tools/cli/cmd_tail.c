/* cmd_tail.c: `veille tail`: print the events of some topic prefixes,
 * optionally replaying from a seq first, without gap or duplicate. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "client_sub.h"
#include "config.h"
#include "event.h"
#include "format.h"
#include "log.h"
#include "sub_conf.h"
#include "tools.h"
#include "util.h"
#include "wire.h"

#define TAIL_FIELD_MAX 512

typedef struct {
    const char *sub_ep;
    const char *replay_ep;
    const char *config;
    const char *curve_secret;
    const char *curve_server;
    bool        json;
    uint64_t    from_seq;
    uint64_t    count;         /* 0 = forever */
    int         timeout_ms;    /* -1 = none */
    int         rcvhwm;
    int         delay_ms;
    int         request_timeout_ms;
    char      **conf_strs;     /* strings copied from the config */
} tail_opts_t;

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille tail [OPTIONS] PREFIX...\n"
        "\n"
        "Prints the events whose topic starts with one of the PREFIXes (\"\" = all),\n"
        "one line each (\"#SEQ TIME TOPIC TYPE (SOURCE) TITLE URL [TAGS]\", TIME the\n"
        "detection time in UTC). With --from-seq, replays what the broker journal holds\n"
        "after that seq first, then goes live: no gap, no duplicate (events\n"
        "dropped on the live path are recovered through the replay endpoint).\n"
        "\n"
        "options:\n"
        "  -s, --subscribe EP     broker fan-out endpoint (default %s)\n"
        "  -r, --replay EP        broker replay endpoint (default %s)\n"
        "  -c, --config FILE      take endpoints and CURVE keys from the `sub` section\n"
        "      --json             JSON lines (every event field + seq + topic)\n"
        "      --from-seq N       replay every event after seq N first\n"
        "      --count N          exit after N events\n"
        "      --timeout-ms T     exit after T ms (status 1 if --count was not reached,\n"
        "                         or if no heartbeat ever came from the broker)\n"
        "      --curve-secret F   client secret key file (enables CURVE)\n"
        "      --curve-server F   broker public key file\n"
        "      --rcvhwm N         SUB receive high-water mark (-1 = unlimited)\n"
        "      --delay-ms N       pause after each event (to test slow consumers)\n"
        "      --request-timeout-ms T  replay request timeout (default 5000)\n"
        "  -v, --verbose          log recovery activity (info level)\n"
        "  -h, --help             this help\n"
        "\n"
        "stderr gets \"veille tail: subscribed ...\" once the subscription is\n"
        "active (a warning instead if no heartbeat came within 5 s), and a\n"
        "summary at exit. Exit: 0 ok, 1 failure, 2 usage.\n",
        WIRE_DEFAULT_SUBSCRIBE, WIRE_DEFAULT_REPLAY);
}

/* Appends FIELD cleaned of control characters (log_sanitize), "-" if NULL. */
static void
s_put_clean (buf_t *line, const char *s)
{
    char clean[TAIL_FIELD_MAX * 4 + 8];
    size_t len = s ? strlen (s) : 0;
    if (len > TAIL_FIELD_MAX)
        len = util_utf8_cut (s, len, TAIL_FIELD_MAX);
    log_sanitize (clean, sizeof clean, s ? s : "-", s ? len : 1);
    buf_puts (line, clean);
}

/* Appends " FIELD" cleaned as s_put_clean does. */
static void
s_put_field (buf_t *line, const char *s)
{
    buf_putc (line, ' ');
    s_put_clean (line, s);
}

/* One readable line: "#seq TIME topic type (source) title url [tag, tag]",
 * TIME the event's detection time (UTC, ISO 8601). */
static void
s_text_line (buf_t *line, const event_t *ev, uint64_t seq)
{
    char when[32];
    format_time_iso (ev->detected, when);
    buf_printf (line, "#%" PRIu64 " %s", seq, when);
    s_put_field (line, ev->topic);
    s_put_field (line, ev->type);
    buf_puts (line, " (");
    s_put_clean (line, ev->source);
    buf_putc (line, ')');
    s_put_field (line, ev->title && *ev->title ? ev->title : "(no title)");
    s_put_field (line, ev->url);
    if (ev->ntags) {
        buf_puts (line, " [");
        for (size_t i = 0; i < ev->ntags; i++) {
            char clean[TAIL_FIELD_MAX * 4 + 8];
            size_t len = util_utf8_cut (ev->tags[i], strlen (ev->tags[i]), TAIL_FIELD_MAX);
            log_sanitize (clean, sizeof clean, ev->tags[i], len);
            buf_printf (line, "%s%s", i ? ", " : "", clean);
        }
        buf_putc (line, ']');
    }
}

/* Writes one event to stdout. Returns false if it could not be decoded. */
static bool
s_print_event (const client_msg_t *msg, bool json, buf_t *line)
{
    event_t ev;
    vl_err_t rc = event_decode (msg->data, msg->len, &ev);
    if (rc != VL_OK) {
        log_warn ("tail: undecodable event at seq %" PRIu64 ": %s", msg->seq, vl_strerror (rc));
        event_clear (&ev);
        return false;
    }
    buf_reset (line);
    if (json)
        rc = format_json_line (line, &ev, msg->seq);
    else
        s_text_line (line, &ev, msg->seq);
    event_clear (&ev);
    if (rc != VL_OK)
        return false;
    buf_putc (line, '\n');
    fwrite (line->data, 1, line->len, stdout);
    return true;
}

static char *
s_keep (tail_opts_t *o, const char *s, size_t *n)
{
    char *c = util_strdup (s);
    if (c)
        o->conf_strs[(*n)++] = c;
    return c;
}

/* Reads endpoints and keys from the `sub` section of CONFIG (command-line
 * options win). */
static int
s_load_config (tail_opts_t *o)
{
    cfg_section_t sec = { "sub", sub_conf_keys, true };
    vl_err_t err;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (o->config, &sec, 1, &err, &errors);
    if (!cfg) {
        fprintf (stderr, "%s", errors ? errors : "veille tail: cannot load the configuration\n");
        free (errors);
        return TOOLS_EXIT_USAGE;
    }
    config_setting_t *s = cfg_section (cfg, "sub");
    size_t n = 0;
    o->conf_strs = calloc (5, sizeof (char *));
    if (o->conf_strs) {
        if (!o->sub_ep)
            o->sub_ep = s_keep (o, cfg_get_str (s, "subscribe", WIRE_DEFAULT_SUBSCRIBE), &n);
        if (!o->replay_ep)
            o->replay_ep = s_keep (o, cfg_get_str (s, "replay", WIRE_DEFAULT_REPLAY), &n);
        if (!o->curve_secret && cfg_get_str (s, "curve_secret_key", NULL))
            o->curve_secret = s_keep (o, cfg_get_str (s, "curve_secret_key", NULL), &n);
        if (!o->curve_server && cfg_get_str (s, "curve_server_key", NULL))
            o->curve_server = s_keep (o, cfg_get_str (s, "curve_server_key", NULL), &n);
    }
    cfg_destroy (&cfg);
    return o->conf_strs ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

static int
s_parse (int argc, char **argv, tail_opts_t *o)
{
    enum { O_JSON = 256, O_FROM, O_COUNT, O_TIMEOUT, O_SECRET, O_SERVER, O_HWM, O_DELAY, O_REQTMO };
    static const struct option longs[] = {
        { "subscribe", required_argument, NULL, 's' },
        { "replay", required_argument, NULL, 'r' },
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, O_JSON },
        { "from-seq", required_argument, NULL, O_FROM },
        { "count", required_argument, NULL, O_COUNT },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "curve-secret", required_argument, NULL, O_SECRET },
        { "curve-server", required_argument, NULL, O_SERVER },
        { "rcvhwm", required_argument, NULL, O_HWM },
        { "delay-ms", required_argument, NULL, O_DELAY },
        { "request-timeout-ms", required_argument, NULL, O_REQTMO },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "s:r:c:vh", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 's': o->sub_ep = optarg; break;
        case 'r': o->replay_ep = optarg; break;
        case 'c': o->config = optarg; break;
        case 'v': log_set_level (LOG_LVL_INFO); break;
        case 'h': s_usage (stdout); return -1;
        case O_JSON: o->json = true; break;
        case O_FROM: ok = tools_parse_u64 (optarg, &o->from_seq); break;
        case O_COUNT: ok = tools_parse_u64 (optarg, &o->count); break;
        case O_TIMEOUT: ok = tools_parse_int (optarg, 0, INT32_MAX, &o->timeout_ms); break;
        case O_SECRET: o->curve_secret = optarg; break;
        case O_SERVER: o->curve_server = optarg; break;
        case O_HWM: ok = tools_parse_int (optarg, -1, INT32_MAX, &o->rcvhwm); break;
        case O_DELAY: ok = tools_parse_int (optarg, 0, 3600000, &o->delay_ms); break;
        case O_REQTMO: ok = tools_parse_int (optarg, 1, 3600000, &o->request_timeout_ms); break;
        default: ok = false; break;
        }
        if (!ok) {
            if (c != '?')
                fprintf (stderr, "veille tail: bad value for an option\n");
            fprintf (stderr, "try veille tail --help\n");
            return TOOLS_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf (stderr, "veille tail: give at least one topic PREFIX (\"\" = all)\n");
        return TOOLS_EXIT_USAGE;
    }
    return TOOLS_EXIT_OK;
}

static void
s_print_ready (client_sub_t *sub, const tail_opts_t *o, char **prefixes, int n)
{
    fprintf (stderr, "veille tail: subscribed to");
    for (int i = 0; i < n; i++)
        fprintf (stderr, " \"%s\"", prefixes[i]);
    fprintf (stderr, " at %s (cursor %" PRIu64 ", head %" PRIu64 ")\n", o->sub_ep,
             client_sub_cursor (sub), client_sub_head (sub));
    fflush (stderr);
}

/* The exit summary on stderr; "no cursor" while the broker's head was
 * never known. */
static void
s_print_summary (client_sub_t *sub, uint64_t printed)
{
    client_sub_stats_t st;
    client_sub_get_stats (sub, &st);
    char cursor[32] = "no cursor";
    if (client_sub_cursor (sub) != CLIENT_SUB_LIVE_ONLY)
        snprintf (cursor, sizeof cursor, "cursor %" PRIu64, client_sub_cursor (sub));
    fprintf (stderr, "veille tail: %" PRIu64 " events (%" PRIu64 " live, %" PRIu64
             " replayed), %s, %" PRIu64 " gaps recovered, %" PRIu64
             " duplicates dropped\n", printed, st.live, st.replayed, cursor,
             st.gaps, st.dup_seq + st.dup_id);
}

/* Receives and prints until --count, --timeout-ms or a signal. */
static int
s_run (client_sub_t *sub, const tail_opts_t *o, char **prefixes, int nprefixes)
{
    buf_t line;
    buf_init (&line, 4u * 1024 * 1024);
    uint64_t printed = 0;
    bool ready = false;
    int64_t deadline = o->timeout_ms >= 0 ? util_mono_ms () + o->timeout_ms : -1;
    int rc = TOOLS_EXIT_OK;
    while (!tools_stopping () && (!o->count || printed < o->count)) {
        int64_t now = util_mono_ms ();
        if (deadline >= 0 && now >= deadline) {
            rc = o->count || !ready ? TOOLS_EXIT_FAIL : TOOLS_EXIT_OK;
            if (!ready)
                fprintf (stderr, "veille tail: --timeout-ms %d ended without a heartbeat "
                         "from the broker at %s\n", o->timeout_ms, o->sub_ep);
            break;
        }
        client_msg_t msg;
        vl_err_t r = client_sub_recv (sub, &msg, 0);
        if (r == VL_ETIMEOUT) {
            fflush (stdout);
            int wait = deadline >= 0 ? (int) (deadline - now) : 1000;
            r = client_sub_recv (sub, &msg, wait < 1000 ? wait : 1000);
        }
        if (!ready && client_sub_ready (sub)) {
            ready = true;
            s_print_ready (sub, o, prefixes, nprefixes);
        }
        if (r == VL_ETIMEOUT || r == VL_EINTR)
            continue;
        if (r != VL_OK) {
            fprintf (stderr, "veille tail: %s\n", vl_strerror (r));
            rc = TOOLS_EXIT_FAIL;
            break;
        }
        if (msg.kind == CLIENT_MSG_EVENT && s_print_event (&msg, o->json, &line)) {
            printed++;
            if (o->delay_ms)
                usleep ((useconds_t) o->delay_ms * 1000);
        }
    }
    fflush (stdout);
    buf_free (&line);
    s_print_summary (sub, printed);
    return rc;
}

int
cmd_tail (int argc, char **argv)
{
    tail_opts_t o = { .from_seq = CLIENT_SUB_LIVE_ONLY, .timeout_ms = -1 };
    int rc = s_parse (argc, argv, &o);
    if (rc != TOOLS_EXIT_OK)
        return rc < 0 ? TOOLS_EXIT_OK : rc;
    if (o.config && (rc = s_load_config (&o)) != TOOLS_EXIT_OK)
        goto done;
    if (!o.sub_ep)
        o.sub_ep = WIRE_DEFAULT_SUBSCRIBE;
    if (!o.replay_ep)
        o.replay_ep = WIRE_DEFAULT_REPLAY;
    curve_client_t keys;
    bool curve;
    if (tools_curve (o.curve_secret, o.curve_server, &keys, &curve) != VL_OK) {
        rc = TOOLS_EXIT_USAGE;
        goto done;
    }
    if (!tools_reachable ("tail", o.sub_ep) || !tools_reachable ("tail", o.replay_ep)) {
        rc = TOOLS_EXIT_FAIL;
        goto done;
    }
    tools_signals ();
    void *ctx = zmq_ctx_new ();
    client_sub_opts_t so = {
        .sub_endpoint = o.sub_ep, .replay_endpoint = o.replay_ep,
        .prefixes = (const char **) (argv + optind), .nprefixes = (size_t) (argc - optind),
        .from_seq = o.from_seq, .curve = curve ? &keys : NULL, .sub_rcvhwm = o.rcvhwm,
        .request_timeout_ms = o.request_timeout_ms,
    };
    vl_err_t err;
    client_sub_t *sub = client_sub_new (ctx, &so, &err);
    if (!sub) {
        fprintf (stderr, "veille tail: cannot subscribe: %s\n", vl_strerror (err));
        rc = TOOLS_EXIT_FAIL;
    }
    else
        rc = s_run (sub, &o, argv + optind, argc - optind);
    client_sub_destroy (&sub);
    zmq_ctx_term (ctx);
    memset (&keys, 0, sizeof keys);
done:
    for (size_t i = 0; o.conf_strs && i < 5 && o.conf_strs[i]; i++)
        free (o.conf_strs[i]);
    free (o.conf_strs);
    return rc;
}
