/* state.c: watcher state and outbox in SQLite. */
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS sources ("
    "  id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,"
    "  failures INTEGER NOT NULL DEFAULT 0, error_sent INTEGER NOT NULL DEFAULT 0,"
    "  baseline_done INTEGER NOT NULL DEFAULT 0, next_due INTEGER NOT NULL DEFAULT 0,"
    "  conf_hash TEXT, doc_keys BLOB, poll_at INTEGER NOT NULL DEFAULT 0,"
    "  http_status INTEGER NOT NULL DEFAULT 0, change_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT, error_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS items ("
    "  source TEXT NOT NULL, identity TEXT NOT NULL, hash TEXT NOT NULL,"
    "  content TEXT, title TEXT, link TEXT,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  pos INTEGER NOT NULL DEFAULT -1,"
    "  PRIMARY KEY (source, identity));"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  rowid INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
    "  event BLOB NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dead ("
    "  rowid INTEGER PRIMARY KEY, topic TEXT NOT NULL, event BLOB NOT NULL,"
    "  created INTEGER NOT NULL, reason TEXT, died INTEGER NOT NULL);";

/* Columns added after the first release: a database made before gets
 * them when opened. items.pos: -1 = position unknown until the item is
 * seen again; sources.doc_keys: NULL = no list kept yet (detect.h);
 * sources.poll_at, http_status, change_at, last_error, error_at: what
 * `veille status` shows (core/status.c reads them; 0/NULL = not yet). */
static const struct {
    const char *probe, *add;
} MIGRATIONS[] = {
    { "SELECT pos FROM items LIMIT 0",
      "ALTER TABLE items ADD COLUMN pos INTEGER NOT NULL DEFAULT -1;" },
    { "SELECT doc_keys FROM sources LIMIT 0",
      "ALTER TABLE sources ADD COLUMN doc_keys BLOB;" },
    { "SELECT poll_at, http_status, change_at, last_error, error_at FROM sources LIMIT 0",
      "ALTER TABLE sources ADD COLUMN poll_at INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE sources ADD COLUMN http_status INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE sources ADD COLUMN change_at INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE sources ADD COLUMN last_error TEXT;"
      "ALTER TABLE sources ADD COLUMN error_at INTEGER NOT NULL DEFAULT 0;" },
};

/* A pass writes every item and outbox row, then deletes the outbox rows
 * as they are acked: a WAL checkpointed every 8192 pages (32 MiB) instead
 * of 1000 copies each page to the database once rather than several
 * times. The statement journal of each source's savepoint (the pages it
 * changes, ~60 KiB, truncated at RELEASE) stays in memory instead of
 * spilling to a temporary file (2 write syscalls per page). */
static const char TUNING[] =
    "PRAGMA wal_autocheckpoint=8192;"
    "PRAGMA temp_store=MEMORY;";

enum {
    Q_SRC_GET, Q_SRC_PUT, Q_ITEM_GET, Q_ITEM_PUT, Q_ITEM_SEEN, Q_ITEM_COUNT,
    Q_ITEM_PRUNE, Q_OUT_ADD, Q_OUT_LOAD, Q_OUT_DEAD, Q_OUT_COUNT,
    Q_ITEM_PEEK, Q_SRC_DUE, Q_SP_BEGIN, Q_SP_RELEASE, Q_SP_ROLLBACK, Q_OUT_DEL_RANGE,
    Q_ITEM_LIST, Q_ITEM_DEL, Q_SRC_DEL,
    Q_COUNT
};

static const char *const SQL[Q_COUNT] = {
    [Q_SRC_GET] = "SELECT etag, last_modified, failures, error_sent, baseline_done, next_due,"
                  " conf_hash, doc_keys, poll_at, http_status, change_at, last_error, error_at"
                  " FROM sources WHERE id = ?1",
    [Q_SRC_PUT] = "INSERT OR REPLACE INTO sources (id, etag, last_modified, failures,"
                  " error_sent, baseline_done, next_due, conf_hash, doc_keys,"
                  " poll_at, http_status, change_at, last_error, error_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [Q_ITEM_GET] = "SELECT hash, content, title, link, first_seen, last_seen FROM items"
                   " WHERE source = ?1 AND identity = ?2",
    [Q_ITEM_PUT] = "INSERT INTO items (source, identity, hash, content, title, link,"
                   " first_seen, last_seen, pos) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)"
                   " ON CONFLICT (source, identity) DO UPDATE SET hash = excluded.hash,"
                   " content = excluded.content, title = excluded.title,"
                   " link = excluded.link, last_seen = excluded.last_seen, pos = excluded.pos",
    [Q_ITEM_SEEN] = "UPDATE items SET last_seen = ?3, pos = ?4 WHERE source = ?1 AND identity = ?2",
    [Q_ITEM_LIST] = "SELECT identity, hash, title, link, pos FROM items WHERE source = ?1"
                    " ORDER BY pos",
    [Q_ITEM_DEL] = "DELETE FROM items WHERE source = ?1 AND identity = ?2",
    [Q_SRC_DEL] = "DELETE FROM sources WHERE id = ?1",
    [Q_ITEM_COUNT] = "SELECT count(*) FROM items WHERE source = ?1",
    [Q_ITEM_PRUNE] = "DELETE FROM items WHERE source = ?1 AND last_seen < ?2",
    [Q_OUT_ADD] = "INSERT INTO outbox (topic, event, created) VALUES (?1, ?2, ?3)",
    [Q_OUT_LOAD] = "SELECT rowid, topic, event FROM outbox WHERE rowid > ?1"
                   " ORDER BY rowid LIMIT ?2",
    [Q_OUT_DEL_RANGE] = "DELETE FROM outbox WHERE rowid BETWEEN ?1 AND ?2",
    [Q_OUT_DEAD] = "INSERT OR REPLACE INTO dead (rowid, topic, event, created, reason, died)"
                   " SELECT rowid, topic, event, created, ?2, ?3 FROM outbox WHERE rowid = ?1",
    [Q_OUT_COUNT] = "SELECT count(*) FROM outbox",
    [Q_ITEM_PEEK] = "SELECT hash, last_seen, pos FROM items WHERE source = ?1 AND identity = ?2",
    [Q_SRC_DUE] = "UPDATE sources SET next_due = ?2 WHERE id = ?1",
    [Q_SP_BEGIN] = "SAVEPOINT one",
    [Q_SP_RELEASE] = "RELEASE one",
    [Q_SP_ROLLBACK] = "ROLLBACK TO one",
};

/* Outbox rows added inside a transaction wait in memory and go in with
 * one INSERT of up to OUT_BATCH rows (one statement, one update of the
 * AUTOINCREMENT counter, instead of one per row), at the latest when the
 * savepoint is released or the transaction committed: always inside the
 * same transaction as the item changes they come with. */
#define OUT_BATCH       32
#define OUT_BATCH_BYTES (256 * 1024)
/* rows wait while under OUT_BATCH_BYTES; a row is a topic and an event */
#define PEND_DATA_MAX   (OUT_BATCH_BYTES + EVENT_MAX_BYTES + EVENT_MAX_TOPIC + 1)

typedef struct {
    size_t  topic, event, len;   /* offsets into pend_data */
    int64_t created;
} pend_t;

struct state {
    sqlite3      *db;
    sqlite3_stmt *q[Q_COUNT];
    sqlite3_stmt *out_add[OUT_BATCH + 1];   /* INSERT of k rows, prepared when first used */
    pend_t        pend[OUT_BATCH];
    size_t        npend;
    buf_t         pend_data;
    bool          in_tx;
};

/* True if the items table has its pos column. */
/* Adds the columns an older database lacks (MIGRATIONS). */
static vl_err_t s_migrate (sqlite3 *db)
{
    vl_err_t e = VL_OK;
    for (size_t i = 0; e == VL_OK && i < VL_ARRAY_LEN (MIGRATIONS); i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2 (db, MIGRATIONS[i].probe, -1, &st, NULL);
        sqlite3_finalize (st);
        if (rc != SQLITE_OK)
            e = store_exec (db, MIGRATIONS[i].add);
    }
    return e;
}

state_t *state_open (const char *path, vl_err_t *err)
{
    state_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    buf_init (&self->pend_data, PEND_DATA_MAX);
    *err = store_open (path, SCHEMA, true, &self->db);   /* the loop's thread only */
    if (*err == VL_OK)
        *err = store_exec (self->db, TUNING);
    if (*err == VL_OK)
        *err = s_migrate (self->db);
    for (int i = 0; *err == VL_OK && i < Q_COUNT; i++)
        if (!(self->q[i] = store_prepare (self->db, SQL[i])))
            *err = VL_EDB;
    if (*err != VL_OK) {
        log_error ("state: cannot open %s: %s", path, vl_strerror (*err));
        state_destroy (&self);
        return NULL;
    }
    return self;
}

void state_destroy (state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    state_t *self = *self_p;
    if (self->in_tx)
        state_rollback (self);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize (self->q[i]);
    for (int k = 0; k <= OUT_BATCH; k++)
        sqlite3_finalize (self->out_add[k]);
    buf_free (&self->pend_data);
    store_close (&self->db);
    free (self);
    *self_p = NULL;
}

static vl_err_t out_flush (state_t *self);

/* Forgets the outbox rows not yet inserted (their transaction or
 * savepoint is rolled back). */
static void out_discard (state_t *self)
{
    self->npend = 0;
    self->pend_data.len = 0;
}

vl_err_t state_begin (state_t *self)
{
    vl_err_t e = store_begin (self->db);
    self->in_tx = e == VL_OK;
    return e;
}

vl_err_t state_commit (state_t *self)
{
    vl_err_t e = out_flush (self);
    if (e == VL_OK)
        e = store_commit (self->db);
    out_discard (self);
    if (e != VL_OK)
        store_rollback (self->db);
    self->in_tx = false;
    return e;
}

void state_rollback (state_t *self)
{
    out_discard (self);
    store_rollback (self->db);
    self->in_tx = false;
}

static vl_err_t run (state_t *self, sqlite3_stmt *st);

/* Steps a statement without bindings (savepoints). */
static vl_err_t run_plain (state_t *self, int which)
{
    return run (self, self->q[which]);
}

vl_err_t state_savepoint (state_t *self)
{
    vl_err_t e = out_flush (self);   /* rows from before it are not its */
    return e == VL_OK ? run_plain (self, Q_SP_BEGIN) : e;
}

vl_err_t state_release (state_t *self)
{
    vl_err_t e = out_flush (self);
    if (e != VL_OK) {   /* undone as a whole, like any failed poll */
        state_rollback_savepoint (self);
        return e;
    }
    return run_plain (self, Q_SP_RELEASE);
}

vl_err_t state_rollback_savepoint (state_t *self)
{
    out_discard (self);
    vl_err_t e = run_plain (self, Q_SP_ROLLBACK);
    if (e == VL_OK)
        e = run_plain (self, Q_SP_RELEASE);
    return e;
}

/* Resets statement Q and returns it for binding. */
static sqlite3_stmt *q (state_t *self, int which)
{
    sqlite3_stmt *st = self->q[which];
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    return st;
}

/* Steps a statement that returns no rows. */
static vl_err_t run (state_t *self, sqlite3_stmt *st)
{
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        log_error ("state: %s", sqlite3_errmsg (self->db));
        return store_err (rc);
    }
    return VL_OK;
}

static void bind_text (sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text (st, i, s, -1, SQLITE_STATIC);   /* valid until the
                                                        step: q() rebinds */
    else
        sqlite3_bind_null (st, i);
}

/* The result of a step that looks for one row: VL_OK on a row,
 * VL_ENOTFOUND on none, else the error (logged). */
static vl_err_t one_row (state_t *self, int rc)
{
    if (rc == SQLITE_ROW)
        return VL_OK;
    if (rc == SQLITE_DONE)
        return VL_ENOTFOUND;
    log_error ("state: %s", sqlite3_errmsg (self->db));
    return store_err (rc);
}

/* Copies text column I (a hash: 32 hex digits) into HASH (33 bytes; ""
 * for NULL). */
static void col_hash (sqlite3_stmt *st, int i, char hash[33])
{
    const unsigned char *h = sqlite3_column_text (st, i);
    snprintf (hash, 33, "%s", h ? (const char *) h : "");
}

/* Copies text column I (NULL stays NULL); false on OOM. */
static bool col_dup (sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *t = sqlite3_column_text (st, i);
    *out = t ? strdup ((const char *) t) : NULL;
    return !t || *out;
}

/* Column I of ST (a blob of big-endian u64, or NULL) into OUT->doc_keys. */
static vl_err_t s_doc_keys_read (sqlite3_stmt *st, int i, state_source_t *out)
{
    if (sqlite3_column_type (st, i) == SQLITE_NULL)
        return VL_OK;
    const unsigned char *b = sqlite3_column_blob (st, i);
    size_t n = (size_t) sqlite3_column_bytes (st, i) / 8;
    if (!(out->doc_keys = malloc (n * sizeof *out->doc_keys + 1)))
        return VL_ENOMEM;
    for (size_t k = 0; k < n; k++)
        out->doc_keys[k] = util_get_be64 (b + 8 * k);
    out->ndoc_keys = n;
    return VL_OK;
}

vl_err_t state_source_get (state_t *self, const char *id, state_source_t *out)
{
    memset (out, 0, sizeof *out);
    sqlite3_stmt *st = q (self, Q_SRC_GET);
    bind_text (st, 1, id);
    vl_err_t e = one_row (self, sqlite3_step (st));
    if (e == VL_OK) {
        if (!col_dup (st, 0, &out->etag) || !col_dup (st, 1, &out->last_modified))
            e = VL_ENOMEM;
        out->failures = sqlite3_column_int (st, 2);
        out->error_sent = sqlite3_column_int (st, 3) != 0;
        out->baseline_done = sqlite3_column_int (st, 4) != 0;
        out->next_due = sqlite3_column_int64 (st, 5);
        col_hash (st, 6, out->conf_hash);
        if (e == VL_OK)
            e = s_doc_keys_read (st, 7, out);
        out->poll_at = sqlite3_column_int64 (st, 8);
        out->http_status = sqlite3_column_int (st, 9);
        out->change_at = sqlite3_column_int64 (st, 10);
        if (e == VL_OK && !col_dup (st, 11, &out->last_error))
            e = VL_ENOMEM;
        out->error_at = sqlite3_column_int64 (st, 12);
    }
    sqlite3_reset (st);
    if (e != VL_OK && e != VL_ENOTFOUND)
        state_source_clear (out);
    return e;
}

vl_err_t state_source_put (state_t *self, const char *id, const state_source_t *in)
{
    unsigned char *keys = NULL;
    if (in->doc_keys) {
        if (!(keys = malloc (in->ndoc_keys * 8 + 1)))
            return VL_ENOMEM;
        for (size_t i = 0; i < in->ndoc_keys; i++)
            util_put_be64 (keys + 8 * i, in->doc_keys[i]);
    }
    sqlite3_stmt *st = q (self, Q_SRC_PUT);
    bind_text (st, 1, id);
    bind_text (st, 2, in->etag);
    bind_text (st, 3, in->last_modified);
    sqlite3_bind_int (st, 4, in->failures);
    sqlite3_bind_int (st, 5, in->error_sent);
    sqlite3_bind_int (st, 6, in->baseline_done);
    sqlite3_bind_int64 (st, 7, in->next_due);
    bind_text (st, 8, in->conf_hash[0] ? in->conf_hash : NULL);
    if (keys)
        sqlite3_bind_blob (st, 9, keys, (int) (in->ndoc_keys * 8), free);
    else
        sqlite3_bind_null (st, 9);
    sqlite3_bind_int64 (st, 10, in->poll_at);
    sqlite3_bind_int (st, 11, in->http_status);
    sqlite3_bind_int64 (st, 12, in->change_at);
    bind_text (st, 13, in->last_error);
    sqlite3_bind_int64 (st, 14, in->error_at);
    return run (self, st);
}

vl_err_t state_source_set_due (state_t *self, const char *id, int64_t next_due)
{
    sqlite3_stmt *st = q (self, Q_SRC_DUE);
    bind_text (st, 1, id);
    sqlite3_bind_int64 (st, 2, next_due);
    return run (self, st);
}

void state_source_clear (state_source_t *self)
{
    if (!self)
        return;
    free (self->etag);
    free (self->last_modified);
    free (self->doc_keys);
    free (self->last_error);
    memset (self, 0, sizeof *self);
}

vl_err_t state_item_get (state_t *self, const char *source, const char *identity,
                         state_item_t *out)
{
    memset (out, 0, sizeof *out);
    sqlite3_stmt *st = q (self, Q_ITEM_GET);
    bind_text (st, 1, source);
    bind_text (st, 2, identity);
    vl_err_t e = one_row (self, sqlite3_step (st));
    if (e == VL_OK) {
        col_hash (st, 0, out->hash);
        if (!col_dup (st, 1, &out->content) || !col_dup (st, 2, &out->title)
            || !col_dup (st, 3, &out->link))
            e = VL_ENOMEM;
        out->first_seen = sqlite3_column_int64 (st, 4);
        out->last_seen = sqlite3_column_int64 (st, 5);
    }
    sqlite3_reset (st);
    if (e != VL_OK)
        state_item_clear (out);
    return e;
}

vl_err_t state_item_peek (state_t *self, const char *source, const char *identity,
                          char hash[33], int64_t *last_seen, int64_t *pos)
{
    sqlite3_stmt *st = q (self, Q_ITEM_PEEK);
    bind_text (st, 1, source);
    bind_text (st, 2, identity);
    vl_err_t e = one_row (self, sqlite3_step (st));
    if (e == VL_OK) {
        col_hash (st, 0, hash);
        *last_seen = sqlite3_column_int64 (st, 1);
        *pos = sqlite3_column_int64 (st, 2);
    }
    sqlite3_reset (st);
    return e;
}

vl_err_t state_item_put (state_t *self, const char *source, const parsed_item_t *item,
                         int64_t pos, int64_t now_ms)
{
    sqlite3_stmt *st = q (self, Q_ITEM_PUT);
    bind_text (st, 1, source);
    bind_text (st, 2, item->identity);
    bind_text (st, 3, item->hash);
    bind_text (st, 4, item->content);
    bind_text (st, 5, item->title);
    bind_text (st, 6, item->link);
    sqlite3_bind_int64 (st, 7, now_ms);
    sqlite3_bind_int64 (st, 8, pos);
    return run (self, st);
}

vl_err_t state_item_seen (state_t *self, const char *source, const char *identity,
                          int64_t pos, int64_t now_ms)
{
    sqlite3_stmt *st = q (self, Q_ITEM_SEEN);
    bind_text (st, 1, source);
    bind_text (st, 2, identity);
    sqlite3_bind_int64 (st, 3, now_ms);
    sqlite3_bind_int64 (st, 4, pos);
    return run (self, st);
}

vl_err_t state_items_list (state_t *self, const char *source, state_item_ref_t **rows,
                           size_t *n)
{
    sqlite3_stmt *st = q (self, Q_ITEM_LIST);
    bind_text (st, 1, source);
    *rows = NULL;
    *n = 0;
    size_t cap = 0;
    vl_err_t e = VL_OK;
    int rc;
    while (e == VL_OK && (rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            state_item_ref_t *r = realloc (*rows, ncap * sizeof *r);
            if (!r) {
                e = VL_ENOMEM;
                break;
            }
            *rows = r;
            cap = ncap;
        }
        state_item_ref_t *r = &(*rows)[*n];
        memset (r, 0, sizeof *r);
        (*n)++;
        col_hash (st, 1, r->hash);
        r->pos = sqlite3_column_int64 (st, 4);
        if (!col_dup (st, 0, &r->identity) || !col_dup (st, 2, &r->title)
            || !col_dup (st, 3, &r->link))
            e = VL_ENOMEM;
    }
    if (e == VL_OK && rc != SQLITE_DONE) {
        log_error ("state: %s", sqlite3_errmsg (self->db));
        e = store_err (rc);
    }
    sqlite3_reset (st);
    if (e != VL_OK) {
        state_item_refs_free (*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return e;
}

void state_item_refs_free (state_item_ref_t *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free (rows[i].identity);
        free (rows[i].title);
        free (rows[i].link);
    }
    free (rows);
}

vl_err_t state_item_forget (state_t *self, const char *source, const char *identity)
{
    sqlite3_stmt *st = q (self, Q_ITEM_DEL);
    bind_text (st, 1, source);
    bind_text (st, 2, identity);
    return run (self, st);
}

/* Runs a single-integer query Q with optional text parameter ARG. */
static vl_err_t count_query (state_t *self, int which, const char *arg, int64_t *n)
{
    sqlite3_stmt *st = q (self, which);
    if (arg)
        bind_text (st, 1, arg);
    int rc = sqlite3_step (st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
    sqlite3_reset (st);
    if (rc != SQLITE_ROW) {
        log_error ("state: %s", sqlite3_errmsg (self->db));
        return store_err (rc);
    }
    return VL_OK;
}

vl_err_t state_item_count (state_t *self, const char *source, int64_t *n)
{
    return count_query (self, Q_ITEM_COUNT, source, n);
}

vl_err_t state_items_prune (state_t *self, const char *source, int64_t before_ms,
                            int64_t *n)
{
    sqlite3_stmt *st = q (self, Q_ITEM_PRUNE);
    bind_text (st, 1, source);
    sqlite3_bind_int64 (st, 2, before_ms);
    vl_err_t e = run (self, st);
    if (n)
        *n = e == VL_OK ? sqlite3_changes (self->db) : 0;
    return e;
}

vl_err_t state_source_purge (state_t *self, const char *id, int64_t *nitems)
{
    int64_t n = 0;
    vl_err_t e = state_items_prune (self, id, INT64_MAX, &n);
    sqlite3_stmt *st = q (self, Q_SRC_DEL);
    bind_text (st, 1, id);
    if (e == VL_OK)
        e = run (self, st);
    if (e == VL_OK && n == 0 && sqlite3_changes (self->db) == 0)
        e = VL_ENOTFOUND;
    if (nitems)
        *nitems = n;
    return e;
}

void state_item_clear (state_item_t *self)
{
    if (!self)
        return;
    free (self->content);
    free (self->title);
    free (self->link);
    memset (self, 0, sizeof *self);
}

/* The INSERT of K outbox rows (1 <= K <= OUT_BATCH), prepared on first
 * use; NULL (logged) on failure. */
static sqlite3_stmt *out_stmt (state_t *self, size_t k)
{
    if (self->out_add[k])
        return self->out_add[k];
    char sql[64 + OUT_BATCH * 24];
    size_t n = (size_t) snprintf (sql, sizeof sql,
                                  "INSERT INTO outbox (topic, event, created) VALUES ");
    for (size_t j = 0; j < k; j++)
        n += (size_t) snprintf (sql + n, sizeof sql - n, "%s(?%zu, ?%zu, ?%zu)", j ? ", " : "",
                                3 * j + 1, 3 * j + 2, 3 * j + 3);
    return self->out_add[k] = store_prepare (self->db, sql);
}

/* Inserts the outbox rows waiting in memory, in the order they were
 * added (row ids grow with it). */
static vl_err_t out_flush (state_t *self)
{
    size_t k = self->npend;
    if (k == 0)
        return VL_OK;
    sqlite3_stmt *st = out_stmt (self, k);
    vl_err_t e = VL_EDB;
    if (st) {
        sqlite3_reset (st);
        const char *d = self->pend_data.data;
        for (size_t j = 0; j < k; j++) {
            const pend_t *p = &self->pend[j];
            int i = (int) (3 * j);
            sqlite3_bind_text (st, i + 1, d + p->topic, -1, SQLITE_STATIC);
            sqlite3_bind_blob64 (st, i + 2, d + p->event, p->len, SQLITE_STATIC);
            sqlite3_bind_int64 (st, i + 3, p->created);
        }
        e = run (self, st);   /* stepped before the buffer changes */
    }
    out_discard (self);
    return e;
}

vl_err_t state_outbox_add (state_t *self, const char *topic, const void *event,
                           size_t len, int64_t now_ms, int64_t *rowid)
{
    vl_err_t e = VL_OK;
    if (self->in_tx && !rowid) {
        buf_t *b = &self->pend_data;
        if (self->npend == OUT_BATCH || (self->npend > 0 && b->len + len > OUT_BATCH_BYTES))
            e = out_flush (self);
        if (e != VL_OK)
            return e;
        pend_t p = { .topic = b->len, .len = len, .created = now_ms };
        size_t tlen = strlen (topic) + 1;
        p.event = p.topic + tlen;
        e = buf_append (b, topic, tlen);
        if (e == VL_OK)
            e = buf_append (b, event, len);
        if (e == VL_OK)
            self->pend[self->npend++] = p;
        else
            b->len = p.topic;
        return e;
    }
    e = out_flush (self);
    if (e != VL_OK)
        return e;
    sqlite3_stmt *st = q (self, Q_OUT_ADD);
    bind_text (st, 1, topic);
    sqlite3_bind_blob64 (st, 2, event, len, SQLITE_STATIC);   /* stepped before return */
    sqlite3_bind_int64 (st, 3, now_ms);
    e = run (self, st);
    if (e == VL_OK && rowid)
        *rowid = sqlite3_last_insert_rowid (self->db);
    return e;
}

static bool row_fill (sqlite3_stmt *st, state_outbox_row_t *r)
{
    memset (r, 0, sizeof *r);
    r->rowid = sqlite3_column_int64 (st, 0);
    const void *blob = sqlite3_column_blob (st, 2);
    r->len = (size_t) sqlite3_column_bytes (st, 2);
    r->event = malloc (r->len ? r->len : 1);
    if (!col_dup (st, 1, &r->topic) || !r->event || !r->topic)
        return false;
    if (r->len)
        memcpy (r->event, blob, r->len);
    return true;
}

vl_err_t state_outbox_load (state_t *self, int64_t after, size_t max,
                            state_outbox_row_t *rows, size_t *n)
{
    *n = 0;
    vl_err_t fe = out_flush (self);
    if (fe != VL_OK)
        return fe;
    sqlite3_stmt *st = q (self, Q_OUT_LOAD);
    sqlite3_bind_int64 (st, 1, after);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64) max);
    int rc = SQLITE_DONE;
    vl_err_t e = VL_OK;
    while (*n < max && (rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (!row_fill (st, &rows[*n])) {
            state_outbox_rows_clear (&rows[*n], 1);
            e = VL_ENOMEM;
            break;
        }
        (*n)++;
    }
    if (e == VL_OK && *n < max && rc != SQLITE_DONE) {
        log_error ("state: %s", sqlite3_errmsg (self->db));
        e = store_err (rc);
    }
    sqlite3_reset (st);
    if (e != VL_OK) {
        state_outbox_rows_clear (rows, *n);
        *n = 0;
    }
    return e;
}

void state_outbox_rows_clear (state_outbox_row_t *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free (rows[i].topic);
        free (rows[i].event);
        memset (&rows[i], 0, sizeof rows[i]);
    }
}

vl_err_t state_outbox_delete (state_t *self, int64_t rowid)
{
    return state_outbox_delete_range (self, rowid, rowid);
}

vl_err_t state_outbox_delete_range (state_t *self, int64_t first, int64_t last)
{
    vl_err_t e = out_flush (self);
    if (e != VL_OK)
        return e;
    sqlite3_stmt *st = q (self, Q_OUT_DEL_RANGE);
    sqlite3_bind_int64 (st, 1, first);
    sqlite3_bind_int64 (st, 2, last);
    return run (self, st);
}

vl_err_t state_outbox_dead (state_t *self, int64_t rowid, const char *reason,
                            int64_t now_ms)
{
    vl_err_t e = out_flush (self);
    if (e != VL_OK)
        return e;
    sqlite3_stmt *st = q (self, Q_OUT_DEAD);
    sqlite3_bind_int64 (st, 1, rowid);
    bind_text (st, 2, reason);
    sqlite3_bind_int64 (st, 3, now_ms);
    e = run (self, st);
    return e == VL_OK ? state_outbox_delete (self, rowid) : e;
}

vl_err_t state_outbox_count (state_t *self, int64_t *n)
{
    vl_err_t e = out_flush (self);
    if (e != VL_OK) {
        *n = 0;
        return e;
    }
    return count_query (self, Q_OUT_COUNT, NULL, n);
}
