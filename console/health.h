/* health.h: the health of the watcher's sources, for the console's
 * sources page. Read from the watcher's SQLite state file, read-only, in
 * one function (health_read) meant to be replaced by the status reader of
 * `veille status` when there is one. */
#ifndef VL_HEALTH_H
#define VL_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

#define HEALTH_MAX_SOURCES 4096

typedef struct {
    char   *id;
    int     failures;        /* consecutive failed polls */
    int64_t last_seen_ms;    /* last poll that saw an item (0 = none) */
    int64_t last_change_ms;  /* newest item first seen (0 = none) */
    int64_t next_due_ms;     /* next poll planned (0 = now) */
} health_source_t;

typedef struct {
    health_source_t *src;
    size_t           n;
    char            *error;  /* why the state could not be read, or NULL */
} health_t;

/* Reads the sources of the watcher state file PATH (read-only; NULL =
 * none configured: empty result). A file that cannot be read gives
 * H->error, not a failure. Caller frees with health_free. */
vl_err_t health_read (const char *path, health_t *h);
void health_free (health_t *h);

#endif
