/* status.c: read-only views of the watcher's and the subscriber's state
 * files, the broker's journal and its endpoints, for `veille status`. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"
#include "status.h"
#include "util.h"

#define STATUS_METRICS_MAX (1024 * 1024)   /* most bytes of a metrics page read */

/* Opens PATH read-only (no file created, no schema written). */
static status_file_t
s_open (const char *path, sqlite3 **db, char *why, size_t len)
{
    *db = NULL;
    struct stat st;
    if (stat (path, &st) != 0) {
        snprintf (why, len, "%s: %s", path, errno == ENOENT
                  ? "state file absent (the daemon has not run yet, or another path)"
                  : strerror (errno));
        return errno == ENOENT ? STATUS_FILE_ABSENT : STATUS_FILE_ERROR;
    }
    int rc = sqlite3_open_v2 (path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout (*db, 2000);
    if (rc != SQLITE_OK) {
        snprintf (why, len, "%s: %s", path, *db ? sqlite3_errmsg (*db) : sqlite3_errstr (rc));
        sqlite3_close (*db);
        *db = NULL;
        return STATUS_FILE_ERROR;
    }
    return STATUS_FILE_OK;
}

/* Prepares SQL on DB; NULL on failure with the SQLite message in WHY ("no
 * such column" tells an older schema). Caller finalizes. */
static sqlite3_stmt *
s_prepare (sqlite3 *db, const char *path, const char *sql, char *why, size_t len)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf (why, len, "%s: %s", path, sqlite3_errmsg (db));
        sqlite3_finalize (st);
        return NULL;
    }
    return st;
}

static const char SRC_SQL[] =
    "SELECT failures, error_sent, next_due, poll_at, http_status, change_at,"
    " last_error, error_at FROM sources WHERE id = ?1";
static const char SRC_SQL_OLD[] =
    "SELECT failures, error_sent, next_due FROM sources WHERE id = ?1";

/* Reads one source's row with ST (the new or, OLD, the old query). */
static bool
s_read_source (sqlite3_stmt *st, bool old, status_source_t *s)
{
    sqlite3_bind_text (st, 1, s->id, -1, SQLITE_STATIC);
    bool ok = true;
    int rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        s->known = true;
        s->failures = sqlite3_column_int (st, 0);
        s->error_sent = sqlite3_column_int (st, 1) != 0;
        s->next_due = sqlite3_column_int64 (st, 2);
        if (!old) {
            s->poll_at = sqlite3_column_int64 (st, 3);
            s->http_status = sqlite3_column_int (st, 4);
            s->change_at = sqlite3_column_int64 (st, 5);
            const unsigned char *e = sqlite3_column_text (st, 6);
            s->last_error = e ? util_strdup ((const char *) e) : NULL;
            ok = !e || s->last_error;
            s->error_at = sqlite3_column_int64 (st, 7);
        }
    } else
        ok = rc == SQLITE_DONE;
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    return ok;
}

status_file_t
status_read_sources (const char *path, status_source_t *srcs, size_t n, char *why, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *id = srcs[i].id;
        memset (&srcs[i], 0, sizeof srcs[i]);
        srcs[i].id = id;
    }
    sqlite3 *db;
    status_file_t f = s_open (path, &db, why, len);
    if (f != STATUS_FILE_OK)
        return f;
    char tmp[256];
    bool old = false;
    sqlite3_stmt *st = s_prepare (db, path, SRC_SQL, tmp, sizeof tmp);
    if (!st && strstr (tmp, "no such column")) {
        old = true;
        st = s_prepare (db, path, SRC_SQL_OLD, why, len);
    } else if (!st)
        snprintf (why, len, "%s", tmp);
    for (size_t i = 0; st && i < n; i++)
        if (!s_read_source (st, old, &srcs[i])) {
            snprintf (why, len, "%s: %s", path, sqlite3_errmsg (db));
            f = STATUS_FILE_ERROR;
            break;
        }
    if (!st)
        f = STATUS_FILE_ERROR;
    else if (old && f == STATUS_FILE_OK) {
        f = STATUS_FILE_OLD;
        snprintf (why, len, "%s: written by an older veille-watch: last poll, HTTP status, "
                  "last change and last error are not stored yet (veille-watch adds them "
                  "at its next start)", path);
    }
    sqlite3_finalize (st);
    sqlite3_close (db);
    return f;
}

status_file_t
status_list_sources (const char *path, char ***ids, size_t *n, size_t max, char *why, size_t len)
{
    *ids = NULL;
    *n = 0;
    sqlite3 *db;
    status_file_t f = s_open (path, &db, why, len);
    if (f != STATUS_FILE_OK)
        return f;
    sqlite3_stmt *st = s_prepare (db, path, "SELECT id FROM sources ORDER BY id LIMIT ?1",
                                  why, len);
    char **v = st && max ? calloc (max, sizeof *v) : NULL;
    int rc = !st ? SQLITE_ERROR : max && !v ? SQLITE_NOMEM : SQLITE_OK;
    if (st)
        sqlite3_bind_int64 (st, 1, (sqlite3_int64) max);
    while (rc == SQLITE_OK && (rc = sqlite3_step (st)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text (st, 0);
        v[*n] = util_strdup (id ? (const char *) id : "");
        rc = v[(*n)++] ? SQLITE_OK : SQLITE_NOMEM;
    }
    if (rc != SQLITE_DONE) {
        if (st)
            snprintf (why, len, "%s: %s", path, rc == SQLITE_NOMEM ? "out of memory"
                      : sqlite3_errmsg (db));
        for (size_t i = 0; i < *n; i++)
            free (v[i]);
        free (v);
        v = NULL;
        *n = 0;
        f = STATUS_FILE_ERROR;
    }
    *ids = *n ? v : NULL;
    if (!*n)
        free (v);
    sqlite3_finalize (st);
    sqlite3_close (db);
    return f;
}

void
status_sources_clear (status_source_t *srcs, size_t n)
{
    for (size_t i = 0; srcs && i < n; i++) {
        free (srcs[i].last_error);
        srcs[i].last_error = NULL;
    }
}

/* Runs the one-value query SQL for SINK; *OUT = its integer (0 if no row).
 * *FOUND (may be NULL) tells whether there was a row. */
static bool
s_sink_value (sqlite3 *db, const char *sql, const char *sink, uint64_t *out, bool *found)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text (st, 1, sink, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st);
    *out = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (st, 0) : 0;
    if (found)
        *found = rc == SQLITE_ROW;
    sqlite3_finalize (st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

status_file_t
status_read_sinks (const char *path, status_sink_t *sinks, size_t n, char *why, size_t len)
{
    sqlite3 *db;
    status_file_t f = s_open (path, &db, why, len);
    if (f != STATUS_FILE_OK)
        return f;
    for (size_t i = 0; i < n && f == STATUS_FILE_OK; i++) {
        status_sink_t *s = &sinks[i];
        if (!s_sink_value (db, "SELECT seq FROM sink_cursor WHERE sink = ?1", s->name,
                           &s->cursor, &s->known)
            || !s_sink_value (db, "SELECT count(*) FROM dead_letter WHERE sink = ?1", s->name,
                              &s->dead, NULL)) {
            snprintf (why, len, "%s: %s", path, sqlite3_errmsg (db));
            f = STATUS_FILE_ERROR;
        } else if (!s_sink_value (db, "SELECT count(*) FROM sink_carry WHERE sink = ?1",
                                  s->name, &s->carried, NULL)) {
            snprintf (why, len, "%s: written by an older veille-sub (no sink_carry table): "
                      "carried events not shown", path);
            f = STATUS_FILE_OLD;
        }
    }
    sqlite3_close (db);
    return f;
}

vl_err_t
status_ask_backlog (void *zmq_ctx, const client_sub_opts_t *opts, int wait_ms,
                    status_sink_t *sinks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        status_sink_t *s = &sinks[i];
        client_sub_query_t q = { .count = true, .after = s->cursor,
                                 .prefixes = s->prefixes, .nprefixes = s->nprefixes };
        client_sub_journal_t j;
        vl_err_t rc = client_sub_ask (zmq_ctx, opts, &q, wait_ms, &j);
        if (rc == VL_OK) {
            s->backlog = j.count;
            q.count = false;
            rc = j.count ? client_sub_ask (zmq_ctx, opts, &q, wait_ms, &j) : VL_OK;
            s->oldest_ms = s->backlog && j.has_oldest ? j.oldest_detected_ms : 0;
        }
        if (rc != VL_OK)
            return rc;
        s->has_backlog = true;
    }
    return VL_OK;
}

/* Sums the sizes of the journal segments (*.vlj) in DIR. */
static void
s_segments_size (const char *dir, status_broker_t *out)
{
    DIR *d = dir ? opendir (dir) : NULL;
    if (!d)
        return;
    int64_t bytes = 0, segs = 0;
    struct dirent *de;
    while ((de = readdir (d)) != NULL) {
        size_t l = strlen (de->d_name);
        if (l < 5 || strcmp (de->d_name + l - 4, ".vlj") != 0)
            continue;
        struct stat st;
        if (fstatat (dirfd (d), de->d_name, &st, 0) == 0) {
            bytes += st.st_size;
            segs++;
        }
    }
    closedir (d);
    out->journal_bytes = bytes;
    out->segments = segs;
}

/* GETs /metrics from LISTEN (loopback "host:port") into B, in WAIT_MS. */
static vl_err_t
s_get_metrics (const char *listen, int wait_ms, buf_t *b)
{
    struct sockaddr_storage ss;
    bool v6;
    if (metrics_parse_listen (listen, &ss, &v6) != VL_OK)
        return VL_EINVAL;
    int fd = socket (v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return vl_err_from_errno (errno);
    vl_err_t rc = VL_OK;
    socklen_t sl = v6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (connect (fd, (struct sockaddr *) &ss, sl) != 0
        || write (fd, req, sizeof req - 1) != (ssize_t) (sizeof req - 1))
        rc = VL_ENET;
    int64_t deadline = util_mono_ms () + wait_ms;
    while (rc == VL_OK) {
        int64_t left = deadline - util_mono_ms ();
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0 || poll (&p, 1, (int) left) <= 0) {
            rc = VL_ETIMEOUT;
            break;
        }
        char chunk[4096];
        ssize_t r = read (fd, chunk, sizeof chunk);
        if (r == 0)
            break;
        if (r < 0 || buf_append (b, chunk, (size_t) r) != VL_OK)
            rc = r < 0 ? VL_ENET : VL_ETOOBIG;
    }
    close (fd);
    return rc;
}

bool
status_metric (const char *text, size_t len, const char *name, double *value)
{
    size_t nl = strlen (name);
    for (const char *p = text, *end = text + len; p < end;) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        if ((size_t) (eol - p) > nl + 1 && memcmp (p, name, nl) == 0 && p[nl] == ' ') {
            char num[64];
            size_t k = (size_t) (eol - p) - nl - 1;
            snprintf (num, sizeof num, "%.*s", (int) (k < 63 ? k : 63), p + nl + 1);
            char *e;
            *value = strtod (num, &e);
            return e != num;
        }
        p = eol + 1;
    }
    return false;
}

void
status_read_broker (void *zmq_ctx, const client_sub_opts_t *opts, int wait_ms,
                    const char *journal_dir, const char *metrics, status_broker_t *out)
{
    memset (out, 0, sizeof *out);
    out->journal_bytes = out->segments = out->replay_clients = -1;
    client_sub_journal_t j;
    out->reached = client_sub_probe (zmq_ctx, opts, wait_ms, &j);
    if (out->reached == VL_OK) {
        out->head = j.head;
        out->first = j.first;
        out->epoch = j.epoch;
    }
    s_segments_size (journal_dir, out);
    if (!metrics || !*metrics)
        return;
    buf_t b;
    buf_init (&b, STATUS_METRICS_MAX);
    double v;
    if (s_get_metrics (metrics, wait_ms, &b) == VL_OK) {
        if (status_metric (b.data, b.len, "veille_broker_replay_connections", &v))
            out->replay_clients = (int64_t) v;
        if (out->journal_bytes < 0 && status_metric (b.data, b.len, "veille_broker_journal_bytes", &v))
            out->journal_bytes = (int64_t) v;
        if (out->segments < 0 && status_metric (b.data, b.len, "veille_broker_journal_segments", &v))
            out->segments = (int64_t) v;
    }
    buf_free (&b);
}
