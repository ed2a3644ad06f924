/* main.c: veille-sub command line. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "config.h"
#include "dead_admin.h"
#include "log.h"
#include "sub_app.h"
#include "sub_conf.h"
#include "util.h"

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_hup;

static void on_stop (int sig) { (void) sig; g_stop = 1; }
static void on_hup (int sig) { (void) sig; g_hup = 1; }

static void
usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille-sub -c CONF [options]\n"
        "       veille-sub -c CONF --test-sink NAME\n"
        "       veille-sub -c CONF --list-dead [SINK]\n"
        "       veille-sub -c CONF --retry-dead [SINK]\n"
        "       veille-sub -c CONF --purge-sink NAME\n"
        "\n"
        "Delivers veille alerts to the sinks of the `sub` section of CONF, each\n"
        "exactly once, across restarts. Sink types (sub.sinks[].type):\n"
        "  %s\n"
        "(their keys: veille.conf(5), `veille check --dump-keys`).\n"
        "\n"
        "options:\n"
        "  -c, --config CONF      configuration file (required)\n"
        "      --test-sink NAME   send one sample alert through sink NAME and report\n"
        "      --list-dead [SINK] list parked (dead-letter) events\n"
        "      --retry-dead [SINK]\n"
        "                         deliver parked events again\n"
        "      --purge-sink NAME  forget the state of sink NAME, removed from CONF\n"
        "      --log-level LEVEL  debug|info|warn|error (default info)\n"
        "      --log-json         log as JSON lines\n"
        "  -h, --help             this help\n"
        "  -V, --version          print the version\n\n"
        "exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
        "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reopens log files and reloads\n"
        "the sinks of CONF (added, removed, changed; a bad file keeps the running ones).\n",
        sub_conf_sink_types ());
}

enum { OPT_TEST = 256, OPT_LIST, OPT_RETRY, OPT_PURGE, OPT_LEVEL, OPT_JSON };

typedef struct {
    const char *conf;
    const char *test_sink;   /* --test-sink or --purge-sink NAME */
    const char *dead_sink;
    int         command;   /* 0 run, OPT_TEST, OPT_LIST, OPT_RETRY, OPT_PURGE */
    int         level;
    bool        json;
} args_t;

/* Optional argument given as a separate word ("--retry-dead SINK"). */
static const char *
optional_word (int argc, char **argv)
{
    if (optarg)
        return optarg;
    if (optind < argc && argv[optind][0] != '-')
        return argv[optind++];
    return NULL;
}

static int
parse_args (int argc, char **argv, args_t *a)
{
    static const struct option LONG[] = {
        { "config", required_argument, NULL, 'c' },
        { "test-sink", required_argument, NULL, OPT_TEST },
        { "list-dead", optional_argument, NULL, OPT_LIST },
        { "retry-dead", optional_argument, NULL, OPT_RETRY },
        { "purge-sink", required_argument, NULL, OPT_PURGE },
        { "log-level", required_argument, NULL, OPT_LEVEL },
        { "log-json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    a->level = LOG_LVL_INFO;
    while ((c = getopt_long (argc, argv, "c:hV", LONG, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case OPT_TEST: case OPT_PURGE: a->command = c; a->test_sink = optarg; break;
        case OPT_LIST: case OPT_RETRY:
            a->command = c;
            a->dead_sink = optional_word (argc, argv);
            break;
        case OPT_LEVEL:
            if ((a->level = log_level_parse (optarg)) < 0) {
                fprintf (stderr, "veille-sub: bad log level '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_JSON: a->json = true; break;
        case 'h': usage (stdout); return 0;
        case 'V': printf ("veille-sub %s\n", VEILLE_VERSION); return 0;
        default: usage (stderr); return 2;
        }
    }
    if (optind < argc || !a->conf) {
        fprintf (stderr, "veille-sub: %s\n", a->conf ? "unexpected argument" : "-c CONF is required");
        usage (stderr);
        return 2;
    }
    return -1;
}

static void
install_signals (void)
{
    util_signals (on_stop, on_hup);
}

static int
run_command (const args_t *a, config_setting_t *section)
{
    switch (a->command) {
    case OPT_TEST:  return sub_app_test_sink (section, a->test_sink, stdout);
    case OPT_LIST:  return dead_admin_list (section, a->dead_sink, stdout);
    case OPT_RETRY: return dead_admin_retry (section, a->dead_sink, stdout);
    case OPT_PURGE: return dead_admin_purge_sink (section, a->test_sink, stdout);
    default:        return sub_app_run (section, a->conf, &g_stop, &g_hup);
    }
}

int
main (int argc, char **argv)
{
    args_t a;
    memset (&a, 0, sizeof a);
    int rc = parse_args (argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (log_setup ("veille-sub", (log_level_t) a.level, a.json, NULL) != VL_OK)
        return 1;
    vl_err_t err;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (a.conf, &sub_conf_section, 1, &err, &errors);
    if (!cfg) {
        fprintf (stderr, "%s", errors ? errors : "veille-sub: cannot load configuration\n");
        free (errors);
        return 2;
    }
    free (errors);
    install_signals ();
    curl_global_init (CURL_GLOBAL_DEFAULT);
    rc = run_command (&a, cfg_section (cfg, "sub"));
    curl_global_cleanup ();
    cfg_destroy (&cfg);
    return rc;
}
