/* cursor.c: subscriber delivery state in SQLite. */
#include <stdlib.h>
#include <string.h>
#include "cursor.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS sink_cursor ("
    "  sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sink_seen ("
    "  n INTEGER PRIMARY KEY, sink TEXT NOT NULL, id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, UNIQUE (sink, id));"
    "CREATE INDEX IF NOT EXISTS sink_seen_sink_n ON sink_seen (sink, n);"
    "CREATE TABLE IF NOT EXISTS sink_pending ("
    "  sink TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY (sink, id));"
    "CREATE TABLE IF NOT EXISTS dead_letter ("
    "  n INTEGER PRIMARY KEY, sink TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  topic TEXT NOT NULL, id TEXT NOT NULL, event BLOB NOT NULL,"
    "  error TEXT, attempts INTEGER NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sink_carry ("
    "  n INTEGER PRIMARY KEY, sink TEXT NOT NULL, id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, event BLOB NOT NULL, UNIQUE (sink, id));"
    "CREATE TABLE IF NOT EXISTS sub_meta ("
    "  key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

enum {
    ST_GET, ST_SET, ST_SEEN, ST_RECORD, ST_UNPEND, ST_PRUNE, ST_PEND_ADD,
    ST_PEND_LIST, ST_PEND_CLEAR, ST_DEAD_ADD, ST_DEAD_ALL, ST_DEAD_SINK,
    ST_DEAD_DEL, ST_WINDOW, ST_EPOCH_GET, ST_EPOCH_SET,
    ST_CARRY_ADD, ST_CARRY_LIST, ST_CARRY_DEL, ST_COUNT
};

static const char *SQL[ST_COUNT] = {
    [ST_GET]        = "SELECT seq FROM sink_cursor WHERE sink = ?1",
    [ST_SET]        = "INSERT INTO sink_cursor (sink, seq) VALUES (?1, ?2) "
                      "ON CONFLICT (sink) DO UPDATE SET seq = max(seq, excluded.seq)",
    [ST_SEEN]       = "SELECT 1 FROM sink_seen WHERE sink = ?1 AND id = ?2",
    [ST_RECORD]     = "INSERT OR IGNORE INTO sink_seen (sink, id, seq) VALUES (?1, ?2, ?3)",
    [ST_UNPEND]     = "DELETE FROM sink_pending WHERE sink = ?1 AND id = ?2",
    /* Keeps the newest WINDOW ids, and every id above the sink's cursor
     * (a replay after a crash restarts there) up to a hard cap. */
    [ST_PRUNE]      = "DELETE FROM sink_seen WHERE sink = ?1 AND n <= "
                      "(SELECT n FROM sink_seen WHERE sink = ?1 ORDER BY n DESC "
                      "LIMIT 1 OFFSET ?2) AND (seq <= COALESCE((SELECT seq FROM "
                      "sink_cursor WHERE sink = ?1), 0) OR n <= (SELECT n FROM "
                      "sink_seen WHERE sink = ?1 ORDER BY n DESC LIMIT 1 OFFSET ?3))",
    [ST_PEND_ADD]   = "INSERT OR REPLACE INTO sink_pending (sink, id, seq) VALUES (?1, ?2, ?3)",
    [ST_PEND_LIST]  = "SELECT id, seq FROM sink_pending WHERE sink = ?1 ORDER BY seq",
    [ST_PEND_CLEAR] = "DELETE FROM sink_pending WHERE sink = ?1",
    [ST_DEAD_ADD]   = "INSERT INTO dead_letter (sink, seq, topic, id, event, error, attempts, at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_DEAD_ALL]   = "SELECT n, sink, seq, topic, id, event, error, attempts, at "
                      "FROM dead_letter ORDER BY n",
    [ST_DEAD_SINK]  = "SELECT n, sink, seq, topic, id, event, error, attempts, at "
                      "FROM dead_letter WHERE sink = ?1 ORDER BY n",
    [ST_DEAD_DEL]   = "DELETE FROM dead_letter WHERE n = ?1",
    [ST_WINDOW]     = "SELECT id, seq FROM sink_seen WHERE sink = ?1 ORDER BY n",
    [ST_EPOCH_GET]  = "SELECT value FROM sub_meta WHERE key = 'broker_epoch'",
    [ST_EPOCH_SET]  = "INSERT INTO sub_meta (key, value) VALUES ('broker_epoch', ?1) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [ST_CARRY_ADD]  = "INSERT OR IGNORE INTO sink_carry (sink, id, seq, event) "
                      "VALUES (?1, ?2, ?3, ?4)",
    [ST_CARRY_LIST] = "SELECT id, seq, event FROM sink_carry WHERE sink = ?1 ORDER BY n",
    [ST_CARRY_DEL]  = "DELETE FROM sink_carry WHERE sink = ?1 AND id = ?2",
};

struct cursor {
    sqlite3      *db;
    sqlite3_stmt *st[ST_COUNT];
    int           window;
    unsigned      since_prune;
};

cursor_t *
cursor_open (const char *path, int dedup_window, vl_err_t *err)
{
    cursor_t *self = calloc (1, sizeof *self);
    vl_err_t rc = self ? store_open (path, SCHEMA, false, &self->db) : VL_ENOMEM;
    for (int i = 0; rc == VL_OK && i < ST_COUNT; i++)
        if (!(self->st[i] = store_prepare (self->db, SQL[i])))
            rc = VL_EDB;
    if (self)
        self->window = dedup_window;
    if (rc != VL_OK)
        cursor_close (&self);
    if (err)
        *err = rc;
    return self;
}

void
cursor_close (cursor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cursor_t *self = *self_p;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize (self->st[i]);
    store_close (&self->db);
    free (self);
    *self_p = NULL;
}

vl_err_t cursor_begin (cursor_t *self) { return store_begin (self->db); }
/* A full disk is logged at debug level here: the caller reports it once
 * per episode (it retries until the state can be written). */
static void
log_sql_error (cursor_t *self, vl_err_t err, const char *sql)
{
    log_write (err == VL_ENOSPC ? LOG_LVL_DEBUG : LOG_LVL_ERROR, "sqlite: %s (in: %.60s)",
               sqlite3_errmsg (self->db), sql);
}

vl_err_t
cursor_commit (cursor_t *self)
{
    int rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return VL_OK;
    vl_err_t err = store_err (rc);
    log_sql_error (self, err, "COMMIT");
    store_rollback (self->db);      /* SQLite may have kept the transaction open */
    return err;
}
void cursor_rollback (cursor_t *self) { store_rollback (self->db); }

/* Runs statement I to completion (no rows expected) and resets it. */
static vl_err_t
run (cursor_t *self, int i)
{
    int rc = sqlite3_step (self->st[i]);
    vl_err_t err = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? VL_OK : store_err (rc);
    if (err != VL_OK)
        log_sql_error (self, err, SQL[i]);
    sqlite3_reset (self->st[i]);
    sqlite3_clear_bindings (self->st[i]);
    return err;
}

/* Resets statement ST after its last step returned RC, and maps RC: a
 * row or done is VL_OK (store_err). */
static vl_err_t
finish (sqlite3_stmt *st, int rc)
{
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    return store_err (rc);
}

static void
bind_text (sqlite3_stmt *st, int col, const char *s)
{
    sqlite3_bind_text (st, col, s ? s : "", -1, SQLITE_TRANSIENT);
}

vl_err_t
cursor_find (cursor_t *self, const char *sink, uint64_t *seq, bool *found)
{
    sqlite3_stmt *st = self->st[ST_GET];
    bind_text (st, 1, sink);
    int rc = sqlite3_step (st);
    *found = rc == SQLITE_ROW;
    *seq = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (st, 0) : 0;
    return finish (st, rc);
}

vl_err_t
cursor_get (cursor_t *self, const char *sink, uint64_t *seq)
{
    bool found;
    return cursor_find (self, sink, seq, &found);
}

vl_err_t
cursor_set (cursor_t *self, const char *sink, uint64_t seq)
{
    sqlite3_stmt *st = self->st[ST_SET];
    bind_text (st, 1, sink);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64) seq);
    return run (self, ST_SET);
}

vl_err_t
cursor_reset_all (cursor_t *self)
{
    return store_exec (self->db, "UPDATE sink_cursor SET seq = 0; DELETE FROM sink_pending;");
}

vl_err_t
cursor_purge (cursor_t *self, const char *sink, size_t *rows)
{
    static const char *const TABLES[] = {
        "DELETE FROM sink_cursor WHERE sink = ?1", "DELETE FROM sink_seen WHERE sink = ?1",
        "DELETE FROM sink_pending WHERE sink = ?1", "DELETE FROM sink_carry WHERE sink = ?1",
        "DELETE FROM dead_letter WHERE sink = ?1",
    };
    size_t n = 0;
    vl_err_t rc = cursor_begin (self);
    for (size_t i = 0; rc == VL_OK && i < VL_ARRAY_LEN (TABLES); i++) {
        sqlite3_stmt *st = NULL;
        int e = sqlite3_prepare_v2 (self->db, TABLES[i], -1, &st, NULL);
        if (e == SQLITE_OK) {
            sqlite3_bind_text (st, 1, sink, -1, SQLITE_STATIC);
            e = sqlite3_step (st);
        }
        if (e == SQLITE_DONE)
            n += (size_t) sqlite3_changes (self->db);
        else
            rc = store_err (e);
        sqlite3_finalize (st);
    }
    if (rc == VL_OK)
        rc = cursor_commit (self);
    else
        cursor_rollback (self);
    if (rows)
        *rows = rc == VL_OK ? n : 0;
    return rc;
}

vl_err_t
cursor_get_epoch (cursor_t *self, uint64_t *epoch)
{
    sqlite3_stmt *st = self->st[ST_EPOCH_GET];
    int rc = sqlite3_step (st);
    /* stored as the signed 64-bit integer with the same bits */
    *epoch = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (st, 0) : 0;
    return finish (st, rc);
}

vl_err_t
cursor_set_epoch (cursor_t *self, uint64_t epoch)
{
    sqlite3_bind_int64 (self->st[ST_EPOCH_SET], 1, (sqlite3_int64) epoch);
    return run (self, ST_EPOCH_SET);
}

vl_err_t
cursor_seen (cursor_t *self, const char *sink, const char *id, bool *seen)
{
    sqlite3_stmt *st = self->st[ST_SEEN];
    bind_text (st, 1, sink);
    bind_text (st, 2, id);
    int rc = sqlite3_step (st);
    *seen = rc == SQLITE_ROW;
    return finish (st, rc);
}

vl_err_t
cursor_window_foreach (cursor_t *self, const char *sink, cursor_pending_cb cb, void *arg)
{
    sqlite3_stmt *st = self->st[ST_WINDOW];
    bind_text (st, 1, sink);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        if (!cb ((const char *) sqlite3_column_text (st, 0),
                 (uint64_t) sqlite3_column_int64 (st, 1), arg)) {
            rc = SQLITE_DONE;
            break;
        }
    return finish (st, rc);
}

size_t
cursor_window_cap (int window)
{
    size_t cap = (size_t) (window > 0 ? window : 0) * 16;
    return cap < 100000 ? 100000 : cap;
}

static vl_err_t
prune (cursor_t *self, const char *sink)
{
    sqlite3_stmt *st = self->st[ST_PRUNE];
    bind_text (st, 1, sink);
    sqlite3_bind_int (st, 2, self->window);
    sqlite3_bind_int64 (st, 3, (sqlite3_int64) cursor_window_cap (self->window));
    return run (self, ST_PRUNE);
}

vl_err_t
cursor_record_seen (cursor_t *self, const char *sink, const char *id, uint64_t seq)
{
    vl_err_t rc = VL_OK;
    if (self->window > 0) {
        sqlite3_stmt *st = self->st[ST_RECORD];
        bind_text (st, 1, sink);
        bind_text (st, 2, id);
        sqlite3_bind_int64 (st, 3, (sqlite3_int64) seq);
        rc = run (self, ST_RECORD);
        unsigned every = self->window / 8 > 0 ? (unsigned) self->window / 8 : 1;
        if (rc == VL_OK && ++self->since_prune >= every) {
            self->since_prune = 0;
            rc = prune (self, sink);
        }
    }
    return rc;
}

vl_err_t
cursor_record (cursor_t *self, const char *sink, const char *id, uint64_t seq)
{
    vl_err_t rc = cursor_record_seen (self, sink, id, seq);
    if (rc == VL_OK) {
        sqlite3_stmt *st = self->st[ST_UNPEND];
        bind_text (st, 1, sink);
        bind_text (st, 2, id);
        rc = run (self, ST_UNPEND);
    }
    return rc;
}

vl_err_t
cursor_pending_add (cursor_t *self, const char *sink, const char *id, uint64_t seq)
{
    sqlite3_stmt *st = self->st[ST_PEND_ADD];
    bind_text (st, 1, sink);
    bind_text (st, 2, id);
    sqlite3_bind_int64 (st, 3, (sqlite3_int64) seq);
    return run (self, ST_PEND_ADD);
}

vl_err_t
cursor_pending_foreach (cursor_t *self, const char *sink, cursor_pending_cb cb, void *arg)
{
    sqlite3_stmt *st = self->st[ST_PEND_LIST];
    bind_text (st, 1, sink);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        const char *id = (const char *) sqlite3_column_text (st, 0);
        if (!cb (id ? id : "", (uint64_t) sqlite3_column_int64 (st, 1), arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return finish (st, rc);
}

vl_err_t
cursor_pending_clear (cursor_t *self, const char *sink)
{
    bind_text (self->st[ST_PEND_CLEAR], 1, sink);
    return run (self, ST_PEND_CLEAR);
}

vl_err_t
cursor_dead_add (cursor_t *self, const char *sink, uint64_t seq, const char *topic,
                 const char *id, const void *data, size_t len, const char *error,
                 int attempts)
{
    sqlite3_stmt *st = self->st[ST_DEAD_ADD];
    bind_text (st, 1, sink);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64) seq);
    bind_text (st, 3, topic);
    bind_text (st, 4, id);
    sqlite3_bind_blob (st, 5, data ? data : "", (int) len, SQLITE_TRANSIENT);
    bind_text (st, 6, error);
    sqlite3_bind_int (st, 7, attempts);
    sqlite3_bind_int64 (st, 8, util_now_ms ());
    return run (self, ST_DEAD_ADD);
}

static void
dead_row (sqlite3_stmt *st, cursor_dead_t *d)
{
    d->n = sqlite3_column_int64 (st, 0);
    d->sink = (const char *) sqlite3_column_text (st, 1);
    d->seq = (uint64_t) sqlite3_column_int64 (st, 2);
    d->topic = (const char *) sqlite3_column_text (st, 3);
    d->id = (const char *) sqlite3_column_text (st, 4);
    d->data = sqlite3_column_blob (st, 5);
    d->len = (size_t) sqlite3_column_bytes (st, 5);
    d->error = (const char *) sqlite3_column_text (st, 6);
    d->attempts = sqlite3_column_int (st, 7);
    d->at_ms = sqlite3_column_int64 (st, 8);
}

vl_err_t
cursor_dead_foreach (cursor_t *self, const char *sink, cursor_dead_cb cb, void *arg,
                     size_t *count)
{
    sqlite3_stmt *st = self->st[sink ? ST_DEAD_SINK : ST_DEAD_ALL];
    if (sink)
        bind_text (st, 1, sink);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        cursor_dead_t d;
        dead_row (st, &d);
        n++;
        if (!cb (&d, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (count)
        *count = n;
    return finish (st, rc);
}

vl_err_t
cursor_dead_remove (cursor_t *self, int64_t n)
{
    sqlite3_bind_int64 (self->st[ST_DEAD_DEL], 1, n);
    return run (self, ST_DEAD_DEL);
}

vl_err_t
cursor_carry_add (cursor_t *self, const char *sink, uint64_t seq, const char *id,
                  const void *data, size_t len)
{
    sqlite3_stmt *st = self->st[ST_CARRY_ADD];
    bind_text (st, 1, sink);
    bind_text (st, 2, id);
    sqlite3_bind_int64 (st, 3, (sqlite3_int64) seq);
    sqlite3_bind_blob (st, 4, data ? data : "", (int) len, SQLITE_TRANSIENT);
    return run (self, ST_CARRY_ADD);
}

vl_err_t
cursor_carry_foreach (cursor_t *self, const char *sink, cursor_carry_cb cb, void *arg,
                      size_t *count)
{
    sqlite3_stmt *st = self->st[ST_CARRY_LIST];
    bind_text (st, 1, sink);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        const char *id = (const char *) sqlite3_column_text (st, 0);
        n++;
        if (!cb (id ? id : "", (uint64_t) sqlite3_column_int64 (st, 1),
                 sqlite3_column_blob (st, 2), (size_t) sqlite3_column_bytes (st, 2), arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (count)
        *count = n;
    return finish (st, rc);
}

vl_err_t
cursor_carry_remove (cursor_t *self, const char *sink, const char *id)
{
    sqlite3_stmt *st = self->st[ST_CARRY_DEL];
    bind_text (st, 1, sink);
    bind_text (st, 2, id);
    return run (self, ST_CARRY_DEL);
}
