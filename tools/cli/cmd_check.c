/* cmd_check.c: `veille check`: validate configuration files against the
 * key tables of the three processes; --dump-keys prints the reference. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_conf.h"
#include "config.h"
#include "sub_conf.h"
#include "tools.h"
#include "watch_conf.h"

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille check CONFIG...\n"
        "       veille check --dump-keys\n"
        "\n"
        "Validates each CONFIG file, every layer in one run: syntax; the keys\n"
        "of its `broker`, `watch` and `sub` sections (types, ranges, choices,\n"
        "required keys, unknown keys with suggestions); then what the daemons\n"
        "refuse at start (unique source ids and sink names, topics, URL\n"
        "schemes, selectors and re: patterns, quiet_hours, secret files\n"
        "(token_file, password_file, auth_file) that must exist and be chmod\n"
        "600, key and CA files, event types, plaintext tcp endpoints).\n"
        "Every problem is printed as file:line: ... (key errors on stdout,\n"
        "the others on stderr); warnings (e.g. a topic prefix without its\n"
        "final dot) do not fail the check.\n"
        "Exit 0 when every file is valid (warnings allowed), 2 when any has an\n"
        "error or on usage errors.\n"
        "\n"
        "options:\n"
        "      --dump-keys   print the Markdown reference of every key\n"
        "                    (docs/configuration.md is generated from it)\n"
        "  -q, --quiet       print only the problems\n"
        "  -h, --help        this help\n");
}

static void
s_sections (cfg_section_t out[3])
{
    out[0] = (cfg_section_t) { "broker", broker_conf_keys, false };
    out[1] = (cfg_section_t) { "watch", watch_conf_keys, false };
    out[2] = (cfg_section_t) { "sub", sub_conf_keys, false };
}

/* Runs the checks beyond the key tables on every section CFG has, even
 * when the key tables found errors, so that one run reports every layer.
 * Problems are logged as "file:line: ..." (stderr). Returns the number of
 * sections with errors; *WARNINGS gets the number of warnings. */
static int
s_check_rules (cfg_t *cfg, int *warnings)
{
    int bad = 0, sub_warnings = 0;
    *warnings = 0;
    if (cfg_section (cfg, "watch")) {
        watch_conf_t wc;
        bool ok = watch_conf_load (cfg, &wc) == VL_OK;
        if (ok)
            watch_conf_free (&wc);
        /* read at each fetch, not at start: a bad one fails every poll */
        config_setting_t *list = config_setting_get_member (cfg_section (cfg, "watch"), "sources");
        for (int i = 0; list && config_setting_is_aggregate (list)
                        && i < config_setting_length (list); i++)
            ok = cfg_check_secret (config_setting_get_elem (list, (unsigned) i), "auth_file",
                                   warnings) && ok;
        bad += !ok;
    }
    if (cfg_section (cfg, "broker") && broker_conf_check (cfg_section (cfg, "broker")) != VL_OK)
        bad++;
    if (cfg_section (cfg, "sub") && sub_conf_check (cfg_section (cfg, "sub"), &sub_warnings) != VL_OK)
        bad++;
    *warnings += sub_warnings;
    return bad;
}

/* Checks one file; prints its problems. Returns true if valid (warnings
 * allowed). */
static bool
s_check_file (const char *path, const cfg_section_t *secs, bool quiet)
{
    vl_err_t err;
    char *errors = NULL;
    cfg_t *cfg = cfg_load_checked (path, secs, 3, &err, &errors);
    if (errors && *errors)
        fputs (errors, stdout);
    free (errors);
    if (!cfg) {
        if (err == VL_ENOMEM)
            printf ("%s: %s\n", path, vl_strerror (err));
        return false;
    }
    int n = 0;
    for (int i = 0; i < 3; i++)
        n += cfg_section (cfg, secs[i].name) != NULL;
    if (!n) {
        printf ("%s: no broker, watch or sub section\n", path);
        cfg_destroy (&cfg);
        return false;
    }
    fflush (stdout);
    int warnings = 0;
    bool ok = s_check_rules (cfg, &warnings) == 0 && err == VL_OK;
    if (!ok)
        printf ("%s: errors found (each one above with file:line)\n", path);
    else if (!quiet || warnings) {
        const char *names[] = { "broker", "watch", "sub" };
        printf ("%s: ok (", path);
        for (int i = 0, shown = 0; i < 3; i++)
            if (cfg_section (cfg, names[i]))
                printf ("%s%s", shown++ ? " " : "", names[i]);
        printf (")");
        if (warnings)
            printf (", %d warning%s above", warnings, warnings > 1 ? "s" : "");
        printf ("\n");
    }
    cfg_destroy (&cfg);
    return ok;
}

int
cmd_check (int argc, char **argv)
{
    static const struct option longs[] = {
        { "dump-keys", no_argument, NULL, 'D' }, { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    bool dump = false, quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "qh", longs, NULL)) != -1) {
        switch (c) {
        case 'D': dump = true; break;
        case 'q': quiet = true; break;
        case 'h': s_usage (stdout); return TOOLS_EXIT_OK;
        default:
            fprintf (stderr, "try veille check --help\n");
            return TOOLS_EXIT_USAGE;
        }
    }
    cfg_section_t secs[3];
    s_sections (secs);
    if (dump) {
        cfg_dump_markdown (stdout, secs, 3);
        return TOOLS_EXIT_OK;
    }
    if (optind >= argc) {
        fprintf (stderr, "veille check: give at least one CONFIG file\n");
        return TOOLS_EXIT_USAGE;
    }
    bool ok = true;
    for (int i = optind; i < argc; i++)
        ok = s_check_file (argv[i], secs, quiet) && ok;
    fflush (stdout);
    return ok ? TOOLS_EXIT_OK : TOOLS_EXIT_USAGE;
}
