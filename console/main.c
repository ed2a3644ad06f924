/* main.c: veille-console, the read-only web console (docs/console.md).
 * Subscribes to the broker like any subscriber (client_sub.h: replay from
 * the archive's cursor, then live), stores every alert once in its archive
 * (archive.h) and serves it over HTTP (web.h). */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "archive.h"
#include "client_sub.h"
#include "curve.h"
#include "event.h"
#include "log.h"
#include "util.h"
#include "web.h"
#include "wire.h"

#define PREFIXES_MAX 64

typedef struct {
    const char *sub_ep, *replay_ep, *archive, *listen, *watch_state;
    const char *token_file, *token_env, *curve_secret, *curve_server, *log_level;
    const char *prefixes[PREFIXES_MAX];
    size_t      nprefixes;
} opts_t;

static volatile sig_atomic_t g_stop;

static void
on_signal (int sig)
{
    (void) sig;
    g_stop = 1;
}

static void
usage (FILE *f)
{
    fprintf (f,
        "usage: veille-console --archive FILE [options]\n"
        "  Serves a read-only web console of the alerts (docs/console.md).\n"
        "  -a, --archive FILE      the console's archive (SQLite, created)\n"
        "  -l, --listen HOST:PORT  address to serve (default 127.0.0.1:8470)\n"
        "  -s, --subscribe EP      broker XPUB (default " WIRE_DEFAULT_SUBSCRIBE ")\n"
        "  -r, --replay EP         broker replay (default " WIRE_DEFAULT_REPLAY ")\n"
        "  -p, --prefix TOPIC      topic prefix to archive (repeatable; default all)\n"
        "  -w, --watch-state FILE  veille-watch state file, for source health\n"
        "      --token-file FILE   token required by the console (file, 0600)\n"
        "      --token-env NAME    same, from the environment variable NAME\n"
        "      --curve-secret FILE, --curve-server FILE   CURVE keys for the broker\n"
        "      --log-level LEVEL   debug, info (default), warn, error\n"
        "  -h, --help, -V, --version\n");
}

/* Parses ARGV into *O. 0 = run, 1 = exit 0 (help), 2 = usage error. */
static int
parse (int argc, char **argv, opts_t *o)
{
    enum { O_TFILE = 256, O_TENV, O_CSEC, O_CSRV, O_LOG };
    static const struct option lo[] = {
        { "archive", 1, NULL, 'a' }, { "listen", 1, NULL, 'l' },
        { "subscribe", 1, NULL, 's' }, { "replay", 1, NULL, 'r' },
        { "prefix", 1, NULL, 'p' }, { "watch-state", 1, NULL, 'w' },
        { "token-file", 1, NULL, O_TFILE }, { "token-env", 1, NULL, O_TENV },
        { "curve-secret", 1, NULL, O_CSEC }, { "curve-server", 1, NULL, O_CSRV },
        { "log-level", 1, NULL, O_LOG }, { "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    *o = (opts_t) { .listen = "127.0.0.1:8470", .sub_ep = WIRE_DEFAULT_SUBSCRIBE,
                    .replay_ep = WIRE_DEFAULT_REPLAY, .log_level = "info" };
    for (int c; (c = getopt_long (argc, argv, "a:l:s:r:p:w:hV", lo, NULL)) != -1;) {
        switch (c) {
        case 'a': o->archive = optarg; break;
        case 'l': o->listen = optarg; break;
        case 's': o->sub_ep = optarg; break;
        case 'r': o->replay_ep = optarg; break;
        case 'w': o->watch_state = optarg; break;
        case 'p':
            if (o->nprefixes == PREFIXES_MAX) {
                fprintf (stderr, "veille-console: at most %d --prefix\n", PREFIXES_MAX);
                return 2;
            }
            o->prefixes[o->nprefixes++] = optarg;
            break;
        case O_TFILE: o->token_file = optarg; break;
        case O_TENV: o->token_env = optarg; break;
        case O_CSEC: o->curve_secret = optarg; break;
        case O_CSRV: o->curve_server = optarg; break;
        case O_LOG: o->log_level = optarg; break;
        case 'h': usage (stdout); return 1;
        case 'V': printf ("veille-console %s\n", VEILLE_VERSION); return 1;
        default: usage (stderr); return 2;
        }
    }
    if (optind < argc || !o->archive || log_level_parse (o->log_level) < 0
        || (!o->curve_secret != !o->curve_server)) {
        usage (stderr);
        return 2;
    }
    return 0;
}

/* Stores one message of the stream: an event (decoded, archived once) or
 * the cursor. *LAST gets the archive's last row id after a new alert. */
static vl_err_t
ingest (archive_t *ar, client_sub_t *sub, const client_msg_t *m, web_t *web)
{
    if (m->kind == CLIENT_MSG_CURSOR)
        return archive_set_cursor (ar, m->seq, client_sub_epoch (sub));
    event_t ev;
    vl_err_t rc = event_decode (m->data, m->len, &ev);
    bool added = false;
    if (rc == VL_OK)
        rc = archive_add (ar, &ev, m->seq, &added);
    else
        log_warn ("console: event seq %llu not archived: %s", (unsigned long long) m->seq,
                  vl_strerror (rc));
    event_clear (&ev);
    if (added)
        web_notify (web, archive_last_id (ar));
    return rc == VL_EDB || rc == VL_EIO || rc == VL_ENOSPC ? rc : VL_OK;
}

/* Receives until a signal; logs "ready" once the subscription is live. */
static int
run (archive_t *ar, client_sub_t *sub, web_t *web, const char *listen)
{
    bool ready = false;
    while (!g_stop) {
        client_msg_t m;
        vl_err_t rc = client_sub_recv (sub, &m, 1000);
        if (rc == VL_OK && (rc = ingest (ar, sub, &m, web)) != VL_OK) {
            log_error ("console: archive write failed: %s", vl_strerror (rc));
            return 1;
        }
        if (!ready && client_sub_ready (sub)) {
            ready = true;
            char host[80];
            size_t hl = (size_t) (strrchr (listen, ':') - listen);
            snprintf (host, sizeof host, "%.*s", (int) (hl < 64 ? hl : 64), listen);
            log_info ("ready http://%s:%d/ alerts=%lld", host, web_port (web),
                      (long long) archive_last_id (ar));
        }
    }
    return 0;
}

/* Reads the token from the options (file or environment). */
static int
load_token (const opts_t *o, char **token)
{
    *token = NULL;
    if (!o->token_file && !o->token_env)
        return 0;
    if (util_read_secret (o->token_env, o->token_file, token) != VL_OK || !*token) {
        log_error ("console: cannot read the token");
        return 2;
    }
    (*token)[strcspn (*token, "\r\n")] = '\0';
    return 0;
}

static int
serve (opts_t *o, char *token)
{
    vl_err_t err;
    curve_client_t keys;
    if (o->curve_secret && curve_client_load (&keys, o->curve_secret, o->curve_server) != VL_OK)
        return 2;
    archive_t *ar = archive_open (o->archive, true, &err);
    if (!ar)
        return 1;
    uint64_t cursor, epoch;
    archive_cursor (ar, &cursor, &epoch);
    web_opts_t wo = { o->listen, o->archive, token, o->watch_state };
    web_t *web = web_start (&wo, &err);
    if (!web) {
        archive_close (&ar);
        return err == VL_EINVAL ? 2 : 1;
    }
    web_notify (web, archive_last_id (ar));
    static const char *all[] = { "" };
    client_sub_opts_t so = {
        .sub_endpoint = o->sub_ep, .replay_endpoint = o->replay_ep,
        .prefixes = o->nprefixes ? o->prefixes : all, .nprefixes = o->nprefixes ? o->nprefixes : 1,
        .from_seq = cursor, .epoch = epoch, .curve = o->curve_secret ? &keys : NULL,
    };
    void *ctx = zmq_ctx_new ();
    client_sub_t *sub = client_sub_new (ctx, &so, &err);
    int rc = 1;
    if (sub)
        rc = run (ar, sub, web, o->listen);
    else
        log_error ("console: cannot subscribe: %s", vl_strerror (err));
    client_sub_destroy (&sub);
    web_stop (&web);
    zmq_ctx_term (ctx);
    archive_close (&ar);
    log_info ("stopped");
    return rc;
}

int
main (int argc, char **argv)
{
    opts_t o;
    int rc = parse (argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (log_setup ("veille-console", (log_level_t) log_level_parse (o.log_level), false, NULL)
        != VL_OK)
        return 1;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    char *token;
    if ((rc = load_token (&o, &token)) != 0)
        return rc;
    rc = serve (&o, token);
    if (token)
        sodium_memzero (token, strlen (token));
    free (token);
    return rc;
}
