/* veille.c: the `veille` command-line tool: dispatch to subcommands. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tools.h"
#include "util.h"

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

void
tools_signals (void)
{
    util_signals (s_on_signal, NULL);
}

bool
tools_stopping (void)
{
    return s_stop != 0;
}

bool
tools_parse_u64 (const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull (s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool
tools_parse_int (const char *s, long min, long max, int *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (int) v;
    return true;
}

bool
tools_reachable (const char *cmd, const char *endpoint)
{
    if (!endpoint || strncmp (endpoint, "ipc://", 6) != 0 || endpoint[6] == '@')
        return true;
    const char *path = endpoint + 6;
    if (access (path, W_OK) == 0 || (errno != EACCES && errno != EPERM))
        return true;
    fprintf (stderr, "veille %s: cannot reach %s: %s: only root and the members of the "
             "broker's group (veille on an installed system) may connect "
             "(docs/security.md)\n", cmd, path, strerror (errno));
    return false;
}

vl_err_t
tools_curve (const char *secret, const char *server, curve_client_t *out, bool *enabled)
{
    *enabled = false;
    if (!secret && !server)
        return VL_OK;
    if (!secret || !server) {
        fprintf (stderr, "veille: --curve-secret and --curve-server go together\n");
        return VL_EINVAL;
    }
    vl_err_t rc = curve_client_load (out, secret, server);
    if (rc != VL_OK) {
        fprintf (stderr, "veille: cannot load CURVE keys: %s\n", vl_strerror (rc));
        return rc;
    }
    *enabled = true;
    return VL_OK;
}

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille COMMAND [OPTIONS] [ARGS]\n"
        "\n"
        "The veille command-line tool.\n"
        "\n"
        "commands:\n"
        "  tail    print events of some topic prefixes (replay + live, no gap)\n"
        "  pub     publish events (options or JSON lines on stdin), wait for acks\n"
        "  check   validate configuration files (--dump-keys: key reference)\n"
        "  keygen  create a CURVE key pair (NAME.pub, NAME.key)\n"
        "  stats   print the next _sys.stats message of a broker\n"
        "  status  per source, sink and broker: what veille sees (--json)\n"
        "\n"
        "`veille COMMAND --help` describes each command.\n"
        "\n"
        "options:\n"
        "  -h, --help       this help\n"
        "  -V, --version    print the version\n");
}

int
main (int argc, char **argv)
{
    log_setup ("veille", LOG_LVL_WARN, false, NULL);
    if (argc < 2) {
        s_usage (stderr);
        return TOOLS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0) {
        s_usage (stdout);
        return TOOLS_EXIT_OK;
    }
    if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "-V") == 0) {
        printf ("veille %s\n", VEILLE_VERSION);
        return TOOLS_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn) (int, char **);
    } cmds[] = {
        { "tail", cmd_tail }, { "pub", cmd_pub }, { "check", cmd_check },
        { "keygen", cmd_keygen }, { "stats", cmd_stats }, { "status", cmd_status },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp (cmd, cmds[i].name) == 0)
            return cmds[i].fn (argc - 1, argv + 1);
    fprintf (stderr, "veille: unknown command '%s' (try veille --help)\n", cmd);
    return TOOLS_EXIT_USAGE;
}
