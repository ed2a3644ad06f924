/* main.c: veille-broker, the durable pub/sub broker of veille.
 * Usage: veille-broker -c CONF [--log-level L] [--log-json]
 * Exit: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure, 2 usage or
 * configuration error. Prints "veille-broker: ready publish=EP
 * subscribe=EP replay=EP head=N" on stderr once every endpoint is bound
 * (wildcard ports resolved), which scripts and tests wait for, and tells
 * systemd READY=1 then (Type=notify; WATCHDOG=1 from the loop). */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "broker.h"
#include "broker_conf.h"
#include "broker_opts.h"
#include "config.h"
#include "log.h"
#include "notify.h"
#include "util.h"

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_hup;

static void
s_on_signal (int sig)
{
    if (sig == SIGHUP)
        s_hup = 1;
    else
        s_stop = 1;
}

static void
s_usage (FILE *fp)
{
    fprintf (fp,
             "usage: veille-broker -c CONF [--log-level LEVEL] [--log-json]\n"
             "\n"
             "Receives events from watchers, journals them (durable, deduplicated),\n"
             "acks them and fans them out to subscribers; serves replays.\n"
             "\n"
             "options:\n"
             "  -c, --config CONF      configuration file (section `broker`)\n"
             "  -l, --log-level LEVEL  debug, info, warn or error (default info)\n"
             "  -j, --log-json         log JSON lines instead of text\n"
             "  -h, --help             this help\n"
             "  -V, --version          print the version\n"
             "\n"
             "exit status: 0 clean stop, 1 runtime failure, 2 usage or configuration error.\n"
             "Signals: SIGTERM/SIGINT commit, sync and exit; SIGHUP reopens the log.\n");
}

typedef struct {
    const char *config;
    int         level;
    bool        json;
} args_t;

/* Returns -1 to go on, else the exit code. */
static int
s_parse_args (int argc, char **argv, args_t *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "log-level", required_argument, NULL, 'l' },
        { "log-json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    a->level = LOG_LVL_INFO;
    while ((c = getopt_long (argc, argv, "c:l:jhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'j': a->json = true; break;
        case 'h': s_usage (stdout); return 0;
        case 'V': printf ("veille-broker %s\n", VEILLE_VERSION); return 0;
        case 'l':
            a->level = log_level_parse (optarg);
            if (a->level < 0) {
                fprintf (stderr, "veille-broker: bad log level '%s'\n", optarg);
                return 2;
            }
            break;
        default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc || !a->config) {
        s_usage (stderr);
        return 2;
    }
    return -1;
}

/* Loads the configuration into *OPTS; returns -1 or an exit code. */
static int
s_load_config (const char *path, broker_opts_t *opts)
{
    cfg_section_t sec = { "broker", broker_conf_keys, true };
    vl_err_t err;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (path, &sec, 1, &err, &errors);
    if (!cfg) {
        fprintf (stderr, "%s", errors ? errors : "veille-broker: cannot load config\n");
        free (errors);
        return 2;
    }
    free (errors);
    vl_err_t rc = broker_opts_read (cfg_section (cfg, "broker"), opts);
    cfg_destroy (&cfg);
    if (rc != VL_OK) {
        fprintf (stderr, "veille-broker: %s: %s\n", path, vl_strerror (rc));
        return rc == VL_ECONFIG ? 2 : 1;
    }
    return -1;
}

static void
s_signals (void)
{
    util_signals (s_on_signal, s_on_signal);
    signal (SIGXFSZ, SIG_IGN);   /* past RLIMIT_FSIZE: EFBIG, handled as disk full */
}

/* Creates the broker with the signals blocked, so that ZeroMQ's threads
 * inherit the mask and the signals interrupt zmq_poll in this thread. */
static broker_t *
s_broker_new (const broker_opts_t *opts, vl_err_t *err)
{
    sigset_t set, old;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, &old);
    broker_t *b = broker_new (opts, err);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    return b;
}

int
main (int argc, char **argv)
{
    args_t args = { 0 };
    int code = s_parse_args (argc, argv, &args);
    if (code >= 0)
        return code;
    log_setup ("veille-broker", (log_level_t) args.level, args.json, NULL);
    broker_opts_t opts;
    if ((code = s_load_config (args.config, &opts)) >= 0)
        return code;
    s_signals ();
    vl_err_t err;
    broker_t *broker = s_broker_new (&opts, &err);
    broker_opts_clear (&opts);
    if (!broker) {
        log_error ("broker: cannot start: %s", vl_strerror (err));
        return err == VL_ECONFIG ? 2 : 1;
    }
    fprintf (stderr, "veille-broker: ready publish=%s subscribe=%s replay=%s head=%" PRIu64 "\n",
             broker_publish_endpoint (broker), broker_subscribe_endpoint (broker),
             broker_replay_endpoint (broker), broker_head (broker));
    fflush (stderr);
    notify_ready ("serving");
    vl_err_t rc = broker_run (broker, &s_stop, &s_hup);
    notify_stopping ();
    broker_destroy (&broker);
    return rc == VL_OK ? 0 : 1;
}
