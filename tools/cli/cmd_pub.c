/* cmd_pub.c: `veille pub`: publish one event from options, or JSON lines
 * from stdin (pipelined), and wait for every ack. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "client_pub.h"
#include "config.h"
#include "event.h"
#include "event_json.h"
#include "log.h"
#include "tools.h"
#include "util.h"
#include "watch_conf.h"
#include "wire.h"

#define PUB_LINE_MAX   (2u * EVENT_MAX_BYTES)
#define PUB_MAX_TAGS   EVENT_MAX_TAGS
#define PUB_ACK_BATCH  256

typedef struct {
    const char *endpoint;
    const char *config;
    const char *curve_secret;
    const char *curve_server;
    bool        from_stdin;
    int         window;
    int         timeout_ms;     /* without any ack progress */
    event_t     defaults;       /* from --topic, --type, ... */
    char       *conf_broker;
    char       *conf_secret;
    char       *conf_server;
} pub_opts_t;

typedef struct {
    client_pub_t *pub;
    buf_t         enc;
    uint64_t      sent, stored, duplicate, rejected, invalid;
} pub_run_t;

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille pub [OPTIONS]\n"
        "       veille pub --stdin [OPTIONS] < events.jsonl\n"
        "\n"
        "Publishes one event built from the options, or one event per JSON line\n"
        "on stdin (keys of the event schema, docs/protocol.md; the options give\n"
        "defaults for missing keys). `id` is derived from source, url/title, type\n"
        "and content when missing, `detected` is set to now. Waits for the\n"
        "broker's ack of every event, then prints stored/duplicate/rejected\n"
        "counts on stderr. An event over %d bytes encoded (the broker's limit)\n"
        "is not sent: `too large`. Exit 0 if every event was stored or\n"
        "duplicate, 1 otherwise, 2 on usage errors.\n"
        "\n"
        "options:\n"
        "  -p, --publish EP       broker publish endpoint (default %s)\n"
        "  -c, --config FILE      take the endpoint and CURVE keys from the `watch` section\n"
        "      --stdin            read JSON lines from stdin\n"
        "      --topic T          topic ([a-z0-9._-], at most 255 bytes)\n"
        "      --type T           new (default), changed, removed, ...\n"
        "      --source S         source id (default \"cli\")\n"
        "      --title T          event title\n"
        "      --url U            event URL\n"
        "      --summary S        event summary\n"
        "      --id ID            event id (default: derived, see above)\n"
        "      --tag X            a tag (repeatable)\n"
        "      --window N         events in flight (default 5000)\n"
        "      --timeout-ms T     give up after T ms without an ack (default 30000)\n"
        "      --curve-secret F   client secret key file (enables CURVE)\n"
        "      --curve-server F   broker public key file\n"
        "  -h, --help             this help\n",
        EVENT_MAX_BYTES, WIRE_DEFAULT_PUBLISH);
}

/* Fills the missing fields of EV from the defaults, then id and detected. */
static vl_err_t
s_complete (event_t *ev, const event_t *def)
{
    struct { char **dst; const char *src; } f[] = {
        { &ev->topic, def->topic }, { &ev->type, def->type }, { &ev->source, def->source },
        { &ev->title, def->title }, { &ev->url, def->url }, { &ev->summary, def->summary },
        { &ev->id, def->id },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!*f[i].dst && f[i].src && event_set (f[i].dst, f[i].src) != VL_OK)
            return VL_ENOMEM;
    if (!ev->ntags)
        for (size_t i = 0; i < def->ntags; i++)
            if (event_add_tag (ev, def->tags[i]) != VL_OK)
                return VL_ENOMEM;
    if (!ev->type && event_set (&ev->type, "new") != VL_OK)
        return VL_ENOMEM;
    if (!ev->source && event_set (&ev->source, "cli") != VL_OK)
        return VL_ENOMEM;
    if (!ev->detected)
        ev->detected = util_now_ms ();
    if (!ev->id && ev->topic) {
        buf_t content;
        buf_init (&content, EVENT_MAX_BYTES);   /* bigger: the event is refused */
        buf_printf (&content, "%s%c%s%c%s%c%s", ev->topic, 0, ev->title ? ev->title : "", 0,
                    ev->url ? ev->url : "", 0, ev->summary ? ev->summary : "");
        char hash[33], id[EVENT_ID_HEX + 1];
        util_hash_hex (content.data ? content.data : "", content.len, hash);
        buf_free (&content);
        const char *identity = ev->url ? ev->url : ev->title ? ev->title : "";
        event_make_id (ev->source, identity, ev->type, ev->hash ? ev->hash : hash, id);
        if (event_set (&ev->id, id) != VL_OK)
            return VL_ENOMEM;
    }
    return VL_OK;
}

static void
s_count_acks (pub_run_t *run, const client_pub_ack_t *acks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (acks[i].status == WIRE_ACK_STORED)
            run->stored++;
        else if (acks[i].status == WIRE_ACK_DUPLICATE)
            run->duplicate++;
        else {
            run->rejected++;
            fprintf (stderr, "veille pub: event %" PRIu64 " rejected by the broker\n",
                     acks[i].tag);
        }
    }
}

/* Polls for acks; false when nothing arrived for TIMEOUT_MS or on a signal. */
static bool
s_wait_acks (pub_run_t *run, const pub_opts_t *o, int64_t *last_progress)
{
    client_pub_ack_t acks[PUB_ACK_BATCH];
    size_t n = 0;
    vl_err_t rc = client_pub_poll (run->pub, 200, acks, PUB_ACK_BATCH, &n);
    s_count_acks (run, acks, n);
    int64_t now = util_mono_ms ();
    if (n)
        *last_progress = now;
    if (rc == VL_EINTR || tools_stopping ())
        return false;
    return now - *last_progress < o->timeout_ms;
}

/* Encodes and sends EV (tagged TAG), waiting for window space. */
static bool
s_send (pub_run_t *run, const pub_opts_t *o, event_t *ev, uint64_t tag, int64_t *last_progress)
{
    buf_reset (&run->enc);
    vl_err_t rc = ev->topic ? event_encode (ev, &run->enc) : VL_EINVAL;
    if (rc == VL_ETOOBIG)
        fprintf (stderr, "veille pub: event %" PRIu64 " is too large (limit %d bytes)\n", tag,
                 EVENT_MAX_BYTES);
    else if (rc != VL_OK)
        fprintf (stderr, "veille pub: event %" PRIu64 " is invalid (%s): %s\n", tag,
                 ev->topic ? "bad field, topic or UTF-8" : "no topic", vl_strerror (rc));
    if (rc != VL_OK) {
        run->invalid++;
        return true;
    }
    for (;;) {
        rc = client_pub_send (run->pub, ev->topic, run->enc.data, run->enc.len, tag);
        if (rc == VL_OK) {
            run->sent++;
            return true;
        }
        if (rc != VL_EAGAIN) {
            fprintf (stderr, "veille pub: event %" PRIu64 ": %s\n", tag, vl_strerror (rc));
            run->invalid++;
            return true;
        }
        if (!s_wait_acks (run, o, last_progress))
            return false;
    }
}

/* Parses one JSON line (LINENO) and sends it. False to stop. */
static bool
s_pub_line (pub_run_t *run, const pub_opts_t *o, const char *line, size_t len,
            uint64_t lineno, int64_t *last_progress)
{
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
        k++;
    if (k == len)
        return true;
    json_error_t jerr;
    json_t *obj = json_loadb (line, len, JSON_REJECT_DUPLICATES, &jerr);
    event_t ev = { 0 };
    char why[160] = "";
    vl_err_t rc = obj ? event_json_to_event (obj, &ev, why, sizeof why) : VL_EPARSE;
    json_decref (obj);
    if (rc == VL_OK)
        rc = s_complete (&ev, &o->defaults);
    bool ok = true;
    if (rc != VL_OK) {
        fprintf (stderr, "veille pub: line %" PRIu64 ": %s\n", lineno, obj ? why : jerr.text);
        run->invalid++;
    }
    else
        ok = s_send (run, o, &ev, lineno, last_progress);
    event_clear (&ev);
    return ok;
}

/* Sends every complete line held in IN, keeping the partial last one.
 * A line longer than PUB_LINE_MAX is reported and skipped (*SKIPPING is set
 * until its end is seen). */
static bool
s_pub_lines (pub_run_t *run, const pub_opts_t *o, buf_t *in, bool *skipping,
             uint64_t *lineno, int64_t *last_progress)
{
    size_t start = 0;
    bool ok = true;
    char *nl;
    while (ok && (nl = memchr (in->data + start, '\n', in->len - start))) {
        size_t len = (size_t) (nl - (in->data + start));
        ++*lineno;
        if (!*skipping)
            ok = s_pub_line (run, o, in->data + start, len, *lineno, last_progress);
        *skipping = false;
        start += len + 1;
    }
    memmove (in->data, in->data + start, in->len - start);
    in->len -= start;
    if (in->len > PUB_LINE_MAX) {
        fprintf (stderr, "veille pub: line %" PRIu64 ": too long (limit %u bytes)\n",
                 *lineno + 1, PUB_LINE_MAX);
        run->invalid++;
        *skipping = true;
        in->len = 0;
    }
    return ok;
}

/* Reads JSON lines from stdin and sends each. Waits on stdin and the
 * publisher socket together, so queued events go out and acks are counted
 * while the producer is quiet (e.g. a pipe sink forwarding to this command
 * one event at a time), not only when the next line arrives. */
static bool
s_pub_stdin (pub_run_t *run, const pub_opts_t *o, int64_t *last_progress)
{
    buf_t in;
    buf_init (&in, PUB_LINE_MAX + 65536);
    uint64_t lineno = 0;
    bool ok = true, skipping = false;
    char chunk[65536];
    while (ok && !tools_stopping ()) {
        zmq_pollitem_t items[] = {
            { client_pub_socket (run->pub), 0, ZMQ_POLLIN, 0 },
            { NULL, STDIN_FILENO, ZMQ_POLLIN, 0 },
        };
        zmq_poll (items, 2, 200);
        client_pub_ack_t acks[PUB_ACK_BATCH];
        size_t n = 0;
        client_pub_poll (run->pub, 0, acks, PUB_ACK_BATCH, &n);
        s_count_acks (run, acks, n);
        if (n)
            *last_progress = util_mono_ms ();
        if (!(items[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))   /* POLLHUP at EOF */
            continue;
        ssize_t got = read (STDIN_FILENO, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (in.len && !skipping)   /* last line without a newline */
                ok = s_pub_line (run, o, in.data, in.len, lineno + 1, last_progress);
            break;
        }
        if (buf_append (&in, chunk, (size_t) got) != VL_OK) {
            fprintf (stderr, "veille pub: out of memory\n");
            ok = false;
            break;
        }
        ok = s_pub_lines (run, o, &in, &skipping, &lineno, last_progress);
    }
    buf_free (&in);
    return ok;
}

static int
s_parse (int argc, char **argv, pub_opts_t *o)
{
    enum { O_STDIN = 256, O_TOPIC, O_TYPE, O_SOURCE, O_TITLE, O_URL, O_SUMMARY, O_ID, O_TAG,
           O_WINDOW, O_TIMEOUT, O_SECRET, O_SERVER };
    static const struct option longs[] = {
        { "publish", required_argument, NULL, 'p' }, { "config", required_argument, NULL, 'c' },
        { "stdin", no_argument, NULL, O_STDIN }, { "topic", required_argument, NULL, O_TOPIC },
        { "type", required_argument, NULL, O_TYPE }, { "source", required_argument, NULL, O_SOURCE },
        { "title", required_argument, NULL, O_TITLE }, { "url", required_argument, NULL, O_URL },
        { "summary", required_argument, NULL, O_SUMMARY }, { "id", required_argument, NULL, O_ID },
        { "tag", required_argument, NULL, O_TAG }, { "window", required_argument, NULL, O_WINDOW },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "curve-secret", required_argument, NULL, O_SECRET },
        { "curve-server", required_argument, NULL, O_SERVER },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    event_t *d = &o->defaults;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "p:c:h", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'p': o->endpoint = optarg; break;
        case 'c': o->config = optarg; break;
        case 'h': s_usage (stdout); return -1;
        case O_STDIN: o->from_stdin = true; break;
        case O_TOPIC: ok = event_set (&d->topic, optarg) == VL_OK; break;
        case O_TYPE: ok = event_set (&d->type, optarg) == VL_OK; break;
        case O_SOURCE: ok = event_set (&d->source, optarg) == VL_OK; break;
        case O_TITLE: ok = event_set (&d->title, optarg) == VL_OK; break;
        case O_URL: ok = event_set (&d->url, optarg) == VL_OK; break;
        case O_SUMMARY: ok = event_set (&d->summary, optarg) == VL_OK; break;
        case O_ID: ok = event_set (&d->id, optarg) == VL_OK; break;
        case O_TAG: ok = event_add_tag (d, optarg) == VL_OK; break;
        case O_WINDOW: ok = tools_parse_int (optarg, 1, 100000, &o->window); break;
        case O_TIMEOUT: ok = tools_parse_int (optarg, 1, INT32_MAX, &o->timeout_ms); break;
        case O_SECRET: o->curve_secret = optarg; break;
        case O_SERVER: o->curve_server = optarg; break;
        default: ok = false; break;
        }
        if (!ok) {
            if (c != '?')
                fprintf (stderr, "veille pub: bad value for an option\n");
            fprintf (stderr, "try veille pub --help\n");
            return TOOLS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "veille pub: unexpected argument '%s'\n", argv[optind]);
        return TOOLS_EXIT_USAGE;
    }
    if (!o->from_stdin && !d->topic) {
        fprintf (stderr, "veille pub: --topic is required (or --stdin)\n");
        return TOOLS_EXIT_USAGE;
    }
    return TOOLS_EXIT_OK;
}

/* Endpoint and CURVE keys from the `watch` section (options win). */
static int
s_load_config (pub_opts_t *o)
{
    cfg_section_t sec = { "watch", watch_conf_keys, true };
    vl_err_t err;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (o->config, &sec, 1, &err, &errors);
    if (!cfg) {
        fprintf (stderr, "%s", errors ? errors : "veille pub: cannot load the configuration\n");
        free (errors);
        return TOOLS_EXIT_USAGE;
    }
    config_setting_t *w = cfg_section (cfg, "watch");
    o->conf_broker = util_strdup (cfg_get_str (w, "broker", WIRE_DEFAULT_PUBLISH));
    o->conf_secret = util_strdup (cfg_get_str (w, "curve_secret_key", NULL));
    o->conf_server = util_strdup (cfg_get_str (w, "curve_server_key", NULL));
    cfg_destroy (&cfg);
    if (!o->endpoint)
        o->endpoint = o->conf_broker;
    if (!o->curve_secret && !o->curve_server) {
        o->curve_secret = o->conf_secret;
        o->curve_server = o->conf_server;
    }
    return TOOLS_EXIT_OK;
}

static int
s_publish (const pub_opts_t *o, const curve_client_t *keys)
{
    if (!tools_reachable ("pub", o->endpoint))
        return TOOLS_EXIT_FAIL;
    void *ctx = zmq_ctx_new ();
    client_pub_opts_t po = { .endpoint = o->endpoint, .max_inflight = (size_t) o->window,
                             .resend_ms = 5000, .curve = keys };
    pub_run_t run = { 0 };
    vl_err_t err;
    buf_init (&run.enc, EVENT_MAX_BYTES);
    run.pub = client_pub_new (ctx, &po, &err);
    bool ok = run.pub != NULL;
    if (!ok)
        fprintf (stderr, "veille pub: cannot connect: %s\n", vl_strerror (err));
    int64_t last = util_mono_ms ();
    if (ok && o->from_stdin)
        ok = s_pub_stdin (&run, o, &last);
    else if (ok) {
        event_t ev = { 0 };
        ok = s_complete (&ev, &o->defaults) == VL_OK && s_send (&run, o, &ev, 1, &last);
        event_clear (&ev);
    }
    last = util_mono_ms ();
    while (ok && client_pub_pending (run.pub) > 0)
        ok = s_wait_acks (&run, o, &last);
    uint64_t unacked = run.pub ? client_pub_pending (run.pub) : 0;
    fprintf (stderr, "veille pub: %" PRIu64 " sent, %" PRIu64 " stored, %" PRIu64
             " duplicate, %" PRIu64 " rejected, %" PRIu64 " invalid, %" PRIu64 " unacked\n",
             run.sent, run.stored, run.duplicate, run.rejected, run.invalid, unacked);
    client_pub_destroy (&run.pub);
    buf_free (&run.enc);
    zmq_ctx_term (ctx);
    return ok && !unacked && !run.rejected && !run.invalid ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

int
cmd_pub (int argc, char **argv)
{
    pub_opts_t o = { .window = 5000, .timeout_ms = 30000 };
    int rc = s_parse (argc, argv, &o);
    if (rc == TOOLS_EXIT_OK && o.config)
        rc = s_load_config (&o);
    curve_client_t keys;
    bool curve = false;
    if (rc == TOOLS_EXIT_OK
        && tools_curve (o.curve_secret, o.curve_server, &keys, &curve) != VL_OK)
        rc = TOOLS_EXIT_USAGE;
    if (rc == TOOLS_EXIT_OK) {
        if (!o.endpoint)
            o.endpoint = WIRE_DEFAULT_PUBLISH;
        tools_signals ();
        rc = s_publish (&o, curve ? &keys : NULL);
        memset (&keys, 0, sizeof keys);
    }
    event_clear (&o.defaults);
    free (o.conf_broker);
    free (o.conf_secret);
    free (o.conf_server);
    return rc < 0 ? TOOLS_EXIT_OK : rc;
}
