/* health.c: source health read from the watcher state file (health.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "health.h"
#include "util.h"

/* The watcher's tables (watchers/state.c): sources(id, failures,
 * next_due) and items(source, first_seen, last_seen), times in ms. */
static const char SQL[] =
    "SELECT s.id, s.failures, s.next_due,"
    " (SELECT max(last_seen) FROM items i WHERE i.source = s.id),"
    " (SELECT max(first_seen) FROM items i WHERE i.source = s.id)"
    " FROM sources s ORDER BY s.failures DESC, s.id LIMIT ?";

vl_err_t
health_read (const char *path, health_t *h)
{
    memset (h, 0, sizeof *h);
    if (!path)
        return VL_OK;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout (db, 2000);
        rc = sqlite3_prepare_v2 (db, SQL, -1, &st, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int (st, 1, HEALTH_MAX_SOURCES);
        h->src = calloc (HEALTH_MAX_SOURCES, sizeof *h->src);
        if (!h->src)
            rc = SQLITE_NOMEM;
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step (st)) == SQLITE_ROW) {
        health_source_t *s = &h->src[h->n++];
        s->id = util_strdup ((const char *) sqlite3_column_text (st, 0));
        s->failures = sqlite3_column_int (st, 1);
        s->next_due_ms = sqlite3_column_int64 (st, 2);
        s->last_seen_ms = sqlite3_column_int64 (st, 3);
        s->last_change_ms = sqlite3_column_int64 (st, 4);
        rc = s->id ? SQLITE_OK : SQLITE_NOMEM;
    }
    if (rc != SQLITE_DONE) {
        char msg[512];
        snprintf (msg, sizeof msg, "cannot read the watcher state: %s",
                  db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
        h->error = util_strdup (msg);
    }
    sqlite3_finalize (st);
    sqlite3_close (db);
    return VL_OK;
}

void
health_free (health_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        free (h->src[i].id);
    free (h->src);
    free (h->error);
    memset (h, 0, sizeof *h);
}
