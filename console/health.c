/* health.c: source health for the console (health.h), an adapter over
 * core/status.c: list the ids, read them as `veille status` does, sort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "health.h"
#include "util.h"

/* Failing sources first (most failures first), then by id. */
static int
by_failures (const void *a, const void *b)
{
    const status_source_t *x = a, *y = b;
    if (x->failures != y->failures)
        return x->failures > y->failures ? -1 : 1;
    return strcmp (x->id, y->id);
}

vl_err_t
health_read (const char *path, health_t *h)
{
    memset (h, 0, sizeof *h);
    if (!path)
        return VL_OK;
    char why[512] = "";
    status_file_t f = status_list_sources (path, &h->ids, &h->n, HEALTH_MAX_SOURCES,
                                           why, sizeof why);
    if (f == STATUS_FILE_OK && h->n) {
        h->src = calloc (h->n, sizeof *h->src);
        if (!h->src) {
            snprintf (why, sizeof why, "out of memory");
            f = STATUS_FILE_ERROR;
        }
        for (size_t i = 0; h->src && i < h->n; i++)
            h->src[i].id = h->ids[i];
        if (h->src)
            f = status_read_sources (path, h->src, h->n, why, sizeof why);
    }
    if (f == STATUS_FILE_OLD)
        h->note = util_strdup (why);
    else if (f != STATUS_FILE_OK) {
        char msg[600];
        snprintf (msg, sizeof msg, "cannot read the watcher state: %s", why);
        h->error = util_strdup (msg);
    }
    if (h->src)
        qsort (h->src, h->n, sizeof *h->src, by_failures);
    return VL_OK;
}

void
health_free (health_t *h)
{
    status_sources_clear (h->src, h->n);
    for (size_t i = 0; h->ids && i < h->n; i++)
        free (h->ids[i]);
    free (h->ids);
    free (h->src);
    free (h->error);
    free (h->note);
    memset (h, 0, sizeof *h);
}
