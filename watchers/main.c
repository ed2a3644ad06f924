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
#include "noise.h"
#include "preview.h"
#include "state.h"
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
    util_signals (on_signal, on_signal);
    return VL_OK;
}

static void usage (FILE *out)
{
    fprintf (out,
"usage: veille-watch -c CONF [options]        run the watcher (daemon)\n"
"       veille-watch -c CONF --once           one pass over every source, then exit\n"
"       veille-watch -c CONF --preview SOURCE [--file FILE]   see what veille sees\n"
"       veille-watch -c CONF --noise SOURCE [--fetches N] [--every S] | [--file F]...\n"
"       veille-watch -c CONF --noise SOURCE --stored [--file F]\n"
"       veille-watch -c CONF --test SOURCE [--file FILE]      the events, as JSON\n"
"       veille-watch -c CONF --purge SOURCE   delete the state of a removed source\n"
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
"      --preview SOURCE   fetch SOURCE (or read --file) and show, for people, its\n"
"                         items as veille sees them, the text compared, what each\n"
"                         ignore rule removed and the alerts (with their diff)\n"
"                         that would be sent now; publishes nothing, state untouched\n"
"      --noise SOURCE     fetch an html SOURCE several times (or compare saved\n"
"                         copies, --file twice or more) and list the elements\n"
"                         whose text changes, each with the ignore rule that\n"
"                         silences it, then check those rules\n"
"      --stored           --noise: one fetch (or --file) against the copy stored\n"
"                         at the last poll (after a false alert)\n"
"      --fetches N        --noise: fetches of the URL (default 3, at most 16)\n"
"      --every S          --noise: seconds between two fetches (default 5)\n"
"      --file FILE        --preview/--test: a saved copy of the page instead of\n"
"                         its URL (links resolve against the source's url)\n"
"      --test SOURCE      like --preview, as JSON lines on stdout: the events\n"
"      --purge SOURCE     delete the items and state row of SOURCE, which must no\n"
"                         longer be in CONF (a removed source's state is kept)\n"
"      --parse FILE       print the items parsed from FILE as JSON lines, with no\n"
"                         configuration (to try a source's selectors on a saved\n"
"                         page: --preview SOURCE --file FILE)\n"
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

#define MAX_FILES NOISE_MAX_COPIES

typedef struct {
    const char *config, *test, *parse, *base, *type, *preview, *noise, *purge;
    char       *files[MAX_FILES];
    size_t      nfiles;
    int         fetches, every_s;
    bool        stored;
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

enum { O_ONCE = 256, O_TEST, O_PARSE, O_BASE, O_TYPE, O_PUBEX, O_SHARD, O_LEVEL, O_JSON, O_CONTENT,
       O_PREVIEW, O_NOISE, O_FILE, O_FETCHES, O_EVERY, O_PURGE, O_STORED };

/* A whole number in [LO, HI] from S, or -1. */
static int int_arg (const char *s, int lo, int hi)
{
    char *end;
    long v = strtol (s, &end, 10);
    return end != s && !*end && v >= lo && v <= hi ? (int) v : -1;
}

/* Checks the options that go together; an exit code, or -1. */
static int check_combos (const args_t *a)
{
    int modes = !!a->test + !!a->preview + !!a->noise + !!a->purge + !!a->parse + a->once;
    if (modes > 1) {
        fprintf (stderr, "veille-watch: --once, --test, --preview, --noise, --purge and --parse "
                 "exclude each other\n");
        return 2;
    }
    if (a->parse && a->config) {
        fprintf (stderr, "veille-watch: --parse takes no -c: to try a source's settings on a "
                 "saved page, use -c CONF --preview SOURCE --file FILE\n");
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
    if (a->nfiles && !a->test && !a->preview && !a->noise) {
        fprintf (stderr, "veille-watch: --file goes with --preview, --test or --noise\n");
        return 2;
    }
    if (a->nfiles > 1 && (!a->noise || a->stored)) {
        fprintf (stderr, "veille-watch: one --file with --preview, --test and --noise --stored\n");
        return 2;
    }
    if (a->stored && (!a->noise || a->fetches || a->every_s >= 0)) {
        fprintf (stderr, "veille-watch: --stored goes with --noise (no --fetches, --every)\n");
        return 2;
    }
    if ((a->fetches || a->every_s >= 0) && (!a->noise || a->nfiles)) {
        fprintf (stderr, "veille-watch: --fetches and --every go with --noise (without --file)\n");
        return 2;
    }
    return -1;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args (int argc, char **argv, args_t *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "once", no_argument, NULL, O_ONCE },
        { "test", required_argument, NULL, O_TEST }, { "parse", required_argument, NULL, O_PARSE },
        { "base", required_argument, NULL, O_BASE }, { "type", required_argument, NULL, O_TYPE },
        { "with-content", no_argument, NULL, O_CONTENT },
        { "preview", required_argument, NULL, O_PREVIEW },
        { "noise", required_argument, NULL, O_NOISE },
        { "file", required_argument, NULL, O_FILE },
        { "fetches", required_argument, NULL, O_FETCHES },
        { "every", required_argument, NULL, O_EVERY },
        { "purge", required_argument, NULL, O_PURGE },
        { "stored", no_argument, NULL, O_STORED },
        { "publish-existing", no_argument, NULL, O_PUBEX },
        { "shard", required_argument, NULL, O_SHARD },
        { "log-level", required_argument, NULL, O_LEVEL }, { "log-json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    memset (a, 0, sizeof *a);
    a->log_level = LOG_LVL_INFO;
    a->every_s = -1;
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
        case O_PREVIEW: a->preview = optarg; break;
        case O_NOISE: a->noise = optarg; break;
        case O_PURGE: a->purge = optarg; break;
        case O_STORED: a->stored = true; break;
        case O_FILE:
            if (a->nfiles == MAX_FILES) {
                fprintf (stderr, "veille-watch: at most %d --file\n", MAX_FILES);
                return 2;
            }
            a->files[a->nfiles++] = optarg;
            break;
        case O_FETCHES:
            if ((a->fetches = int_arg (optarg, 2, NOISE_MAX_COPIES)) < 0) {
                fprintf (stderr, "veille-watch: --fetches wants 2..%d\n", NOISE_MAX_COPIES);
                return 2;
            }
            break;
        case O_EVERY:
            if ((a->every_s = int_arg (optarg, 0, 3600)) < 0) {
                fprintf (stderr, "veille-watch: --every wants 0..3600 seconds\n");
                return 2;
            }
            break;
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
    return check_combos (a);
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

/* ---- --purge ----------------------------------------------------------------- */

/* Deletes the stored state of source ID, which must not be in WC. */
static int purge_source (const watch_conf_t *wc, const char *id)
{
    for (size_t i = 0; i < wc->nsources; i++)
        if (strcmp (wc->sources[i].id, id) == 0) {
            log_error ("source %s is still in the configuration: remove it first", id);
            return 2;
        }
    vl_err_t e;
    state_t *st = state_open (wc->state, &e);
    int64_t n = 0;
    if (st && (e = state_begin (st)) == VL_OK) {
        e = state_source_purge (st, id, &n);
        if (e == VL_OK)
            e = state_commit (st);
        else
            state_rollback (st);
    }
    state_destroy (&st);
    if (e == VL_ENOTFOUND)
        log_error ("nothing stored for source %s in %s", id, wc->state);
    else if (e != VL_OK)
        log_error ("cannot purge source %s: %s", id, vl_strerror (e));
    else
        fprintf (stderr, "veille-watch: purged source=%s items=%lld\n", id, (long long) n);
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
    preview_opts_t po = { .files = a->files, .nfiles = a->nfiles, .fetches = a->fetches,
                          .every_ms = (a->every_s >= 0 ? a->every_s : 5) * 1000,
                          .stored = a->stored };
    if (a->test)
        return preview_source (wc, a->test, PREVIEW_EVENTS, &po, stdout);
    if (a->preview)
        return preview_source (wc, a->preview, PREVIEW_REPORT, &po, stdout);
    if (a->noise)
        return noise_source (wc, a->noise, &po, stdout);
    if (a->purge)
        return purge_source (wc, a->purge);
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
