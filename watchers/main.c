/* main.c: veille-watch, the command line of the watcher. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "config.h"
#include "item_json.h"
#include "log.h"
#include "parse.h"
#include "preview.h"
#include "util.h"
#include "watch_conf.h"
#include "watcher.h"

#define PARSE_MAX_BYTES (64 * 1024 * 1024)

/* Set by the signal handlers, read by watcher_run; the handlers also write
 * a byte to the self-pipe (g_wake[1]) so that the loop's wait ends at once. */
static volatile sig_atomic_t g_stop, g_hup;
static int g_wake[2] = { -1, -1 };

static void on_signal (int sig)
{
    if (sig == SIGHUP)
        g_hup = 1;
    else
        g_stop = 1;
    int saved = errno;
    if (g_wake[1] >= 0 && write (g_wake[1], "x", 1) < 0) {
        /* pipe full: the loop will see the flag anyway */
    }
    errno = saved;
}

/* SIGTERM/SIGINT stop, SIGHUP reopens the log, SIGPIPE ignored; creates
 * the self-pipe (non-blocking, close-on-exec). Daemon and --once only:
 * --test and --parse keep the default dispositions. */
static vl_err_t install_signals (void)
{
    if (pipe (g_wake) != 0)
        return VL_EIO;
    for (int i = 0; i < 2; i++) {
        fcntl (g_wake[i], F_SETFL, fcntl (g_wake[i], F_GETFL) | O_NONBLOCK);
        fcntl (g_wake[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    return VL_OK;
}

static void usage (FILE *out)
{
    fprintf (out,
"usage: veille-watch -c CONF [options]        run the watcher (daemon)\n"
"       veille-watch -c CONF --once           one pass over every source, then exit\n"
"       veille-watch -c CONF --test SOURCE    print what SOURCE would publish now\n"
"       veille-watch --parse FILE [--base URL] [--type auto|feed|html|json]\n"
"\n"
"Polls the sources of the `watch` section of CONF, detects new and changed\n"
"items, and publishes them as events to the broker (acked, from an outbox\n"
"kept in the state database, so nothing is lost across crashes).\n"
"\n"
"options:\n"
"  -c, --config CONF      configuration file (libconfig, `watch` section)\n"
"      --once             poll every source once, wait until the broker acked\n"
"                         every event (watch.drain_timeout_s), exit 0 if all\n"
"                         sources succeeded, 1 otherwise\n"
"      --test SOURCE      fetch SOURCE and print, as JSON lines on stdout, the\n"
"                         events it would publish; publishes nothing and leaves\n"
"                         the state untouched\n"
"      --parse FILE       print the items parsed from FILE as JSON lines\n"
"      --base URL         base URL for relative links (--parse; default file://FILE)\n"
"      --type TYPE        document type for --parse (default auto)\n"
"      --with-content     --parse: include the hashed text of each item\n"
"      --publish-existing publish the items found on a source's first poll\n"
"                         (default: record them silently, publish later changes)\n"
"      --shard K/N        poll only the sources whose id hashes to K modulo N\n"
"      --log-level LEVEL  debug, info, warn, error (default info)\n"
"      --log-json         log as JSON lines\n"
"  -h, --help             this help\n"
"  -V, --version          print the version\n"
"\n"
"exit status: 0 ok, 1 runtime failure (or a failed source with --once),\n"
"2 usage or configuration error. SIGTERM/SIGINT stop; SIGHUP reopens the log\n"
"and re-reads CONF: sources added, removed or changed apply without a restart\n"
"(a CONF that does not load is logged and the running one kept).\n");
}

typedef struct {
    const char *config, *test, *parse, *base, *type;
    bool once, publish_existing, log_json, with_content;
    int shard_k, shard_n;
    int log_level;
} args_t;

static bool parse_shard (const char *s, int *k, int *n)
{
    char *end;
    long a = strtol (s, &end, 10);
    if (end == s || *end != '/')
        return false;
    const char *p = end + 1;
    long b = strtol (p, &end, 10);
    if (end == p || *end || b < 1 || b > 65536 || a < 0 || a >= b)
        return false;
    *k = (int) a;
    *n = (int) b;
    return true;
}

enum { O_ONCE = 256, O_TEST, O_PARSE, O_BASE, O_TYPE, O_PUBEX, O_SHARD, O_LEVEL, O_JSON, O_CONTENT };

/* Returns -1 to go on, or an exit code. */
static int parse_args (int argc, char **argv, args_t *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "once", no_argument, NULL, O_ONCE },
        { "test", required_argument, NULL, O_TEST }, { "parse", required_argument, NULL, O_PARSE },
        { "base", required_argument, NULL, O_BASE }, { "type", required_argument, NULL, O_TYPE },
        { "with-content", no_argument, NULL, O_CONTENT },
        { "publish-existing", no_argument, NULL, O_PUBEX },
        { "shard", required_argument, NULL, O_SHARD },
        { "log-level", required_argument, NULL, O_LEVEL }, { "log-json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    memset (a, 0, sizeof *a);
    a->log_level = LOG_LVL_INFO;
    int c;
    while ((c = getopt_long (argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case O_ONCE: a->once = true; break;
        case O_TEST: a->test = optarg; break;
        case O_PARSE: a->parse = optarg; break;
        case O_BASE: a->base = optarg; break;
        case O_TYPE: a->type = optarg; break;
        case O_CONTENT: a->with_content = true; break;
        case O_PUBEX: a->publish_existing = true; break;
        case O_JSON: a->log_json = true; break;
        case O_SHARD:
            if (!parse_shard (optarg, &a->shard_k, &a->shard_n)) {
                fprintf (stderr, "veille-watch: --shard wants K/N with 0 <= K < N\n");
                return 2;
            }
            break;
        case O_LEVEL:
            if ((a->log_level = log_level_parse (optarg)) < 0) {
                fprintf (stderr, "veille-watch: --log-level: debug, info, warn or error\n");
                return 2;
            }
            break;
        case 'h': usage (stdout); return 0;
        case 'V': printf ("veille-watch %s\n", VEILLE_VERSION); return 0;
        default: usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "veille-watch: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!a->parse && !a->config) {
        fprintf (stderr, "veille-watch: -c CONF is required (see --help)\n");
        return 2;
    }
    if ((a->base || a->type || a->with_content) && !a->parse) {
        fprintf (stderr, "veille-watch: --base, --type and --with-content go with --parse\n");
        return 2;
    }
    return -1;
}

/* ---- --parse ------------------------------------------------------------ */

static bool type_of (const char *s, source_type_t *t)
{
    static const char *const names[] = { "auto", "feed", "html", "json" };
    for (size_t i = 0; i < VL_ARRAY_LEN (names); i++)
        if (strcmp (s, names[i]) == 0) {
            *t = (source_type_t) i;
            return true;
        }
    return false;
}

static int run_parse (const args_t *a)
{
    source_t src;
    memset (&src, 0, sizeof src);
    src.id = (char *) "parse";
    src.topic = (char *) "parse";
    if (a->type && !type_of (a->type, &src.type)) {
        fprintf (stderr, "veille-watch: --type: auto, feed, html or json\n");
        return 2;
    }
    char *body = NULL, base[4096];
    size_t len = 0;
    vl_err_t e = util_read_file (a->parse, PARSE_MAX_BYTES, &body, &len);
    if (e != VL_OK) {
        log_error ("cannot read %s: %s", a->parse, vl_strerror (e));
        return 1;
    }
    if (a->base)
        snprintf (base, sizeof base, "%s", a->base);
    else {
        char *abs = realpath (a->parse, NULL);
        snprintf (base, sizeof base, "file://%s", abs ? abs : a->parse);
        free (abs);
    }
    src.url = base;
    parse_ctx_t ctx = { .base_url = base };
    item_list_t items = { 0 };
    e = parse_document (&src, &ctx, body, len, &items);
    for (size_t i = 0; e == VL_OK && i < items.n; i++) {
        char *j = item_to_json (&items.items[i], a->with_content);
        if (j)
            printf ("%s\n", j);
        free (j);
    }
    if (e != VL_OK)
        log_error ("cannot parse %s: %s", a->parse, vl_strerror (e));
    item_list_free (&items);
    free (body);
    return e == VL_OK ? 0 : 1;
}

/* ---- config and run --------------------------------------------------------- */

static int load_conf (const char *path, cfg_t **cfg, watch_conf_t *wc)
{
    const cfg_section_t sections[] = { { "watch", watch_conf_keys, true } };
    vl_err_t e;
    char *errors = NULL;
    *cfg = cfg_load (path, sections, 1, &e, &errors);
    if (!*cfg) {
        fprintf (stderr, "%s", errors ? errors : "veille-watch: cannot load the configuration\n");
        free (errors);
        return 2;
    }
    free (errors);
    e = watch_conf_load (*cfg, wc);
    if (e != VL_OK)
        return e == VL_ENOMEM ? 1 : 2;
    return -1;
}

static int run (const args_t *a, const watch_conf_t *wc)
{
    if (a->test)
        return preview_source (wc, a->test, PREVIEW_EVENTS, NULL, stdout);
    watcher_opts_t wo = { .once = a->once, .publish_existing = a->publish_existing,
                          .shard_k = a->shard_k, .shard_n = a->shard_n,
                          .config_path = a->config };
    if (install_signals () != VL_OK) {
        log_error ("cannot create the signal pipe: %s", strerror (errno));
        return 1;
    }
    vl_err_t e;
    watcher_t *w = watcher_new (wc, &wo, &e);
    if (!w)
        return e == VL_ECONFIG ? 2 : 1;
    int rc = watcher_run (w, &g_stop, &g_hup, g_wake[0]);
    watcher_destroy (&w);
    return rc;
}

int main (int argc, char **argv)
{
    args_t a;
    int rc = parse_args (argc, argv, &a);
    if (rc >= 0)
        return rc;
    log_setup ("veille-watch", (log_level_t) a.log_level, a.log_json, NULL);
    /* no allocation statistics: every SQLite allocation would take a
     * global mutex for them (before any other SQLite call) */
    sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    if (a.parse)
        rc = run_parse (&a);
    else {
        cfg_t *cfg = NULL;
        watch_conf_t wc;
        memset (&wc, 0, sizeof wc);
        rc = load_conf (a.config, &cfg, &wc);
        if (rc < 0 && wc.log_file
            && log_setup ("veille-watch", (log_level_t) a.log_level, a.log_json, wc.log_file) != VL_OK) {
            fprintf (stderr, "veille-watch: cannot open log file %s\n", wc.log_file);
            rc = 2;
        }
        if (rc < 0)
            rc = run (&a, &wc);
        watch_conf_free (&wc);
        cfg_destroy (&cfg);
    }
    curl_global_cleanup ();
    return rc;
}
