/* health.h: the health of the watcher's sources, for the console's
 * sources page: the source ids of the watcher's state file, then what
 * `veille status` reads for them (core/status.h, the same code), failing
 * sources first. Read-only. */
#ifndef VL_HEALTH_H
#define VL_HEALTH_H

#include <stddef.h>
#include "status.h"
#include "vl_err.h"

#define HEALTH_MAX_SOURCES 4096

typedef struct {
    status_source_t *src;    /* failing first (most failures first), then by id */
    size_t           n;
    char           **ids;    /* the ids SRC[i].id point into */
    char            *error;  /* why the state could not be read, or NULL */
    char            *note;   /* read, but something to say (an older
                                watcher's file: some columns missing), or NULL */
} health_t;

/* Reads the sources of the watcher state file PATH (read-only; NULL =
 * none configured: empty result), at most HEALTH_MAX_SOURCES. A file that
 * cannot be read gives H->error, not a failure. Caller frees with
 * health_free. */
vl_err_t health_read (const char *path, health_t *h);
void health_free (health_t *h);

#endif
