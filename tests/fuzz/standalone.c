/* standalone.c: runs a libFuzzer target over files, without libFuzzer.
 * `make test` uses it to replay every corpus entry (and every crash ever
 * found) through each target under ASan+UBSan, with gcc. Arguments are
 * files or directories (read one level deep). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (util_read_file (path, 64u << 20, &data, &len) != VL_OK) {
        fprintf (stderr, "cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
    free (data);
    return 0;
}

static int
run_path (const char *path, size_t *count)
{
    struct stat st;
    if (stat (path, &st) != 0) {
        fprintf (stderr, "no such corpus: %s\n", path);
        return 1;
    }
    if (!S_ISDIR (st.st_mode)) {
        (*count)++;
        return run_file (path);
    }
    DIR *dir = opendir (path);
    struct dirent *de;
    int rc = 0;
    while (dir && (de = readdir (dir))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf (sub, sizeof sub, "%s/%s", path, de->d_name);
        if (stat (sub, &st) == 0 && S_ISREG (st.st_mode)) {
            (*count)++;
            rc |= run_file (sub);
        }
    }
    if (dir)
        closedir (dir);
    return rc;
}

int
main (int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= run_path (argv[i], &count);
    printf ("%s: %zu inputs replayed without a crash\n", argv[0], count);
    return rc || count == 0;
}
