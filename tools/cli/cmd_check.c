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
        "Validates each CONFIG file: syntax, and the keys of its `broker`,\n"
        "`watch` and `sub` sections (types, ranges, choices, required keys,\n"
        "unknown keys with suggestions). Problems are printed as file:line: ...\n"
        "Exit 0 when every file is valid, 1 otherwise, 2 on usage errors.\n"
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

/* Checks one file; prints its problems. Returns true if valid. */
static bool
s_check_file (const char *path, const cfg_section_t *secs, bool quiet)
{
    vl_err_t err;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (path, secs, 3, &err, &errors);
    if (!cfg) {
        if (errors && *errors)
            fputs (errors, stdout);
        else
            printf ("%s: %s\n", path, vl_strerror (err));
        free (errors);
        return false;
    }
    int n = 0;
    for (int i = 0; i < 3; i++)
        n += cfg_section (cfg, secs[i].name) != NULL;
    if (!n) {
        printf ("%s: no broker, watch or sub section\n", path);
        cfg_destroy (&cfg);
        free (errors);
        return false;
    }
    /* What the key tables cannot check (unique ids, topics, URL schemes,
     * selectors): the watcher's own loader, which logs file:line. */
    bool ok = true;
    if (cfg_section (cfg, "watch")) {
        watch_conf_t wc;
        ok = watch_conf_load (cfg, &wc) == VL_OK;
        if (ok)
            watch_conf_free (&wc);
        else
            printf ("%s: watch section has errors (see above)\n", path);
    }
    /* The broker's rules beyond its key table: a plaintext tcp endpoint
     * without allow_plaintext_tcp is refused (logged with file:line). */
    if (cfg_section (cfg, "broker")) {
        if (broker_conf_check (cfg_section (cfg, "broker")) != VL_OK) {
            printf ("%s: broker section has errors (see above)\n", path);
            ok = false;
        }
    }
    if (ok && !quiet) {
        const char *names[] = { "broker", "watch", "sub" };
        printf ("%s: ok (", path);
        for (int i = 0, shown = 0; i < 3; i++)
            if (cfg_section (cfg, names[i]))
                printf ("%s%s", shown++ ? " " : "", names[i]);
        printf (")\n");
    }
    cfg_destroy (&cfg);
    free (errors);
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
    return ok ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}
