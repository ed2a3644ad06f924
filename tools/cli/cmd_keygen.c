/* cmd_keygen.c: `veille keygen`: create a CURVE key pair. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "curve.h"
#include "tools.h"

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille keygen [-d DIR] NAME\n"
        "\n"
        "Creates a CURVE key pair: DIR/NAME.pub (public key, give it to peers)\n"
        "and DIR/NAME.key (secret key, mode 0600). Never overwrites a file.\n"
        "The broker needs its own pair and the .pub files of the publishers\n"
        "and subscribers it allows; clients need their pair and broker.pub.\n"
        "\n"
        "options:\n"
        "  -d, --dir DIR   where to write the files (default: current directory)\n"
        "  -h, --help      this help\n");
}

int
cmd_keygen (int argc, char **argv)
{
    static const struct option longs[] = {
        { "dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = ".";
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "d:h", longs, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'h': s_usage (stdout); return TOOLS_EXIT_OK;
        default:
            fprintf (stderr, "try veille keygen --help\n");
            return TOOLS_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf (stderr, "veille keygen: give exactly one NAME\n");
        return TOOLS_EXIT_USAGE;
    }
    const char *name = argv[optind];
    vl_err_t rc = curve_keygen (dir, name);
    if (rc != VL_OK) {
        fprintf (stderr, "veille keygen: %s\n", vl_strerror (rc));
        return rc == VL_EINVAL ? TOOLS_EXIT_USAGE : TOOLS_EXIT_FAIL;
    }
    char path[4096], pub[41];
    snprintf (path, sizeof path, "%s/%s.pub", dir, name);
    if (curve_read_public (path, pub) == VL_OK)
        printf ("%s/%s.key (secret)\n%s (public: %s)\n", dir, name, path, pub);
    return TOOLS_EXIT_OK;
}
