/* archive.c: the console's alert archive (see archive.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive.h"
#include "buf.h"
#include "log.h"
#include "store.h"

struct archive {
    sqlite3      *db;
    sqlite3_stmt *add, *add_fts, *set_meta;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alert ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, eid TEXT NOT NULL UNIQUE,"
    "  seq INTEGER NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL,"
    "  topic TEXT NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,"
    "  summary TEXT NOT NULL, diff TEXT NOT NULL, tags TEXT NOT NULL,"
    "  detected INTEGER NOT NULL, published INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alert_source ON alert (source);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS alert_fts USING fts5 ("
    "  title, summary, diff, tags, source, topic, url,"
    "  content='alert', content_rowid='id',"
    "  tokenize='unicode61 remove_diacritics 2');";

#define COLS "id, seq, eid, type, source, topic, url, title, summary, diff, tags, " \
             "detected, published"

/* Opens read-only PATH (no schema, no WAL change). */
static vl_err_t
open_reader (const char *path, sqlite3 **db)
{
    int rc = sqlite3_open_v2 (path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_error ("archive: cannot open %s: %s", path,
                   *db ? sqlite3_errmsg (*db) : sqlite3_errstr (rc));
        sqlite3_close (*db);
        *db = NULL;
        return VL_EDB;
    }
    sqlite3_busy_timeout (*db, 5000);
    return VL_OK;
}

archive_t *
archive_open (const char *path, bool writer, vl_err_t *err)
{
    archive_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    *err = writer ? store_open (path, SCHEMA, true, &self->db) : open_reader (path, &self->db);
    if (*err == VL_OK && writer) {
        self->add = store_prepare (self->db,
            "INSERT OR IGNORE INTO alert (eid, seq, type, source, topic, url, title, summary,"
            " diff, tags, detected, published) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
        self->add_fts = store_prepare (self->db,
            "INSERT INTO alert_fts (rowid, title, summary, diff, tags, source, topic, url)"
            " SELECT id, title, summary, diff, tags, source, topic, url FROM alert WHERE id = ?");
        self->set_meta = store_prepare (self->db,
            "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v");
        if (!self->add || !self->add_fts || !self->set_meta)
            *err = VL_EDB;
    }
    if (*err != VL_OK)
        archive_close (&self);
    return self;
}

void
archive_close (archive_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    archive_t *self = *self_p;
    sqlite3_finalize (self->add);
    sqlite3_finalize (self->add_fts);
    sqlite3_finalize (self->set_meta);
    store_close (&self->db);
    free (self);
    *self_p = NULL;
}

static int64_t
meta_get (archive_t *self, const char *k)
{
    sqlite3_stmt *st = store_prepare (self->db, "SELECT v FROM meta WHERE k = ?");
    int64_t v = 0;
    if (!st)
        return 0;
    sqlite3_bind_text (st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW)
        v = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    return v;
}

vl_err_t
archive_cursor (archive_t *self, uint64_t *cursor, uint64_t *epoch)
{
    *cursor = (uint64_t) meta_get (self, "cursor");
    *epoch = (uint64_t) meta_get (self, "epoch");
    return VL_OK;
}

static vl_err_t
step_done (archive_t *self, sqlite3_stmt *st)
{
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (rc == SQLITE_DONE)
        return VL_OK;
    log_error ("archive: %s", sqlite3_errmsg (self->db));
    return store_err (rc);
}

static vl_err_t
meta_set (archive_t *self, const char *k, uint64_t v)
{
    sqlite3_bind_text (self->set_meta, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (self->set_meta, 2, (int64_t) v);
    return step_done (self, self->set_meta);
}

vl_err_t
archive_set_cursor (archive_t *self, uint64_t cursor, uint64_t epoch)
{
    vl_err_t rc = store_begin (self->db);
    if (rc == VL_OK) rc = meta_set (self, "cursor", cursor);
    if (rc == VL_OK) rc = meta_set (self, "epoch", epoch);
    if (rc == VL_OK)
        return store_commit (self->db);
    store_rollback (self->db);
    return rc;
}

static void
bind_str (sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text (st, i, s ? s : "", -1, SQLITE_STATIC);
}

/* Binds EV's fields to the insert statement; the tags joined by '\n'. */
static vl_err_t
bind_event (archive_t *self, const event_t *ev, uint64_t seq, buf_t *tags)
{
    for (size_t i = 0; i < ev->ntags; i++)
        if ((i && buf_putc (tags, '\n') != VL_OK) || buf_puts (tags, ev->tags[i]) != VL_OK)
            return VL_ENOMEM;
    sqlite3_stmt *st = self->add;
    const char *f[] = { ev->id, NULL, ev->type, ev->source, ev->topic, ev->url, ev->title,
                        ev->summary, ev->diff, tags->data };
    for (int i = 0; i < 10; i++)
        if (i != 1)
            bind_str (st, i + 1, f[i]);
    sqlite3_bind_int64 (st, 2, (int64_t) seq);
    sqlite3_bind_int64 (st, 11, ev->detected);
    sqlite3_bind_int64 (st, 12, ev->has_published ? ev->published : 0);
    return VL_OK;
}

vl_err_t
archive_add (archive_t *self, const event_t *ev, uint64_t seq, bool *added)
{
    buf_t tags;
    buf_init (&tags, EVENT_MAX_BYTES);
    *added = false;
    vl_err_t rc = buf_puts (&tags, "");
    if (rc == VL_OK) rc = store_begin (self->db);
    if (rc != VL_OK) {
        buf_free (&tags);
        return rc;
    }
    rc = bind_event (self, ev, seq, &tags);
    if (rc == VL_OK) rc = step_done (self, self->add);
    if (rc == VL_OK && sqlite3_changes (self->db) == 1) {
        sqlite3_bind_int64 (self->add_fts, 1, sqlite3_last_insert_rowid (self->db));
        rc = step_done (self, self->add_fts);
        *added = rc == VL_OK;
    }
    buf_free (&tags);
    if (rc == VL_OK)
        return store_commit (self->db);
    store_rollback (self->db);
    *added = false;
    return rc;
}

int64_t
archive_last_id (archive_t *self)
{
    sqlite3_stmt *st = store_prepare (self->db, "SELECT coalesce(max(id), 0) FROM alert");
    int64_t v = 0;
    if (st && sqlite3_step (st) == SQLITE_ROW)
        v = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    return v;
}

/* True if the term T (LEN bytes) has a letter or digit (any non-ASCII
 * byte counts: the tokenizer decides). */
static bool
term_useful (const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) t[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            return true;
    }
    return false;
}

bool
archive_fts_query (const char *text, char *out, size_t cap)
{
    size_t len = text ? strnlen (text, ARCHIVE_QUERY_MAX) : 0, o = 0;
    int terms = 0;
    for (size_t i = 0; i < len && terms < ARCHIVE_TERMS_MAX;) {
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
            i++;
        size_t start = i;
        while (i < len && !(text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
            i++;
        if (i == start || !term_useful (text + start, i - start))
            continue;
        size_t need = (i - start) * 2 + 4;            /* space, quotes, '*' */
        if (o + need + 1 > cap)
            break;
        if (terms++)
            out[o++] = ' ';
        out[o++] = '"';
        for (size_t k = start; k < i; k++) {
            if (text[k] == '"')
                out[o++] = '"';
            out[o++] = text[k];
        }
        out[o++] = '"';
        out[o++] = '*';
    }
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    return terms > 0;
}

/* The conditions of a search, in bind order: SQL text and its value
 * (text or integer). */
typedef struct {
    const char *sql;
    const char *text;
    int64_t     num;
} cond_t;

/* Collects the conditions of Q into C (at most 9); returns how many. */
static int
conds (const archive_query_t *q, const char *fts, cond_t *c)
{
    int n = 0;
    if (fts)
        c[n++] = (cond_t) { "id IN (SELECT rowid FROM alert_fts WHERE alert_fts MATCH ?)", fts, 0 };
    if (q->topic && *q->topic)
        c[n++] = (cond_t) { "instr(topic, ?) = 1", q->topic, 0 };
    if (q->source && *q->source)
        c[n++] = (cond_t) { "source = ?", q->source, 0 };
    if (q->type && *q->type)
        c[n++] = (cond_t) { "type = ?", q->type, 0 };
    if (q->eid && *q->eid)
        c[n++] = (cond_t) { "eid = ?", q->eid, 0 };
    if (q->since_ms)
        c[n++] = (cond_t) { "detected >= ?", NULL, q->since_ms };
    if (q->until_ms)
        c[n++] = (cond_t) { "detected < ?", NULL, q->until_ms };
    if (q->before_id)
        c[n++] = (cond_t) { "id < ?", NULL, q->before_id };
    if (q->after_id)
        c[n++] = (cond_t) { "id > ?", NULL, q->after_id };
    return n;
}

/* Prepares the SELECT for Q with its values bound. NULL on error. */
static sqlite3_stmt *
find_stmt (archive_t *self, const archive_query_t *q, const char *fts)
{
    cond_t c[9];
    int n = conds (q, fts, c);
    buf_t sql;
    buf_init (&sql, 4096);
    vl_err_t rc = buf_puts (&sql, "SELECT " COLS " FROM alert WHERE 1");
    for (int i = 0; rc == VL_OK && i < n; i++)
        rc = buf_printf (&sql, " AND %s", c[i].sql);
    if (rc == VL_OK)
        rc = buf_printf (&sql, " ORDER BY id %s LIMIT ?", q->oldest_first ? "ASC" : "DESC");
    sqlite3_stmt *st = NULL;
    if (rc == VL_OK && sqlite3_prepare_v2 (self->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        log_error ("archive: %s", sqlite3_errmsg (self->db));
        st = NULL;
    }
    buf_free (&sql);
    for (int i = 0; st && i < n; i++) {
        if (c[i].text)
            sqlite3_bind_text (st, i + 1, c[i].text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64 (st, i + 1, c[i].num);
    }
    int limit = q->limit > 0 && q->limit <= ARCHIVE_PAGE_MAX ? q->limit : 50;
    if (st)
        sqlite3_bind_int (st, n + 1, limit);
    return st;
}

static const char *
col (sqlite3_stmt *st, int i)
{
    const char *s = (const char *) sqlite3_column_text (st, i);
    return s ? s : "";
}

vl_err_t
archive_find (archive_t *self, const archive_query_t *q, archive_row_fn fn, void *arg, int *n)
{
    char fts[ARCHIVE_QUERY_MAX * 2 + 4 * ARCHIVE_TERMS_MAX + 1];
    bool has_fts = archive_fts_query (q->text, fts, sizeof fts);
    int count = 0;
    if (n)
        *n = 0;
    sqlite3_stmt *st = find_stmt (self, q, has_fts ? fts : NULL);
    if (!st)
        return VL_EDB;
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        archive_row_t r = {
            .id = sqlite3_column_int64 (st, 0), .seq = (uint64_t) sqlite3_column_int64 (st, 1),
            .eid = col (st, 2), .type = col (st, 3), .source = col (st, 4), .topic = col (st, 5),
            .url = col (st, 6), .title = col (st, 7), .summary = col (st, 8), .diff = col (st, 9),
            .tags = col (st, 10), .detected = sqlite3_column_int64 (st, 11),
            .published = sqlite3_column_int64 (st, 12),
        };
        fn (arg, &r);
        count++;
    }
    if (rc != SQLITE_DONE)
        log_warn ("archive: search failed: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (st);
    if (n)
        *n = count;
    return rc == SQLITE_DONE ? VL_OK : has_fts ? VL_EINVAL : VL_EDB;
}

vl_err_t
archive_sources (archive_t *self, void (*fn) (void *arg, const archive_source_t *s), void *arg)
{
    sqlite3_stmt *st = store_prepare (self->db,
        "SELECT source, count(*), max(detected), sum(type = 'error'),"
        " coalesce(max(CASE WHEN type = 'error' THEN detected END), 0),"
        " (SELECT type FROM alert b WHERE b.source = a.source ORDER BY id DESC LIMIT 1)"
        " FROM alert a GROUP BY source ORDER BY source LIMIT ?");
    if (!st)
        return VL_EDB;
    sqlite3_bind_int (st, 1, ARCHIVE_SOURCES_MAX);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        archive_source_t s = {
            .source = col (st, 0), .alerts = sqlite3_column_int64 (st, 1),
            .last_ms = sqlite3_column_int64 (st, 2), .errors = sqlite3_column_int64 (st, 3),
            .last_error_ms = sqlite3_column_int64 (st, 4), .last_type = col (st, 5),
        };
        fn (arg, &s);
    }
    sqlite3_finalize (st);
    return rc == SQLITE_DONE ? VL_OK : VL_EDB;
}
