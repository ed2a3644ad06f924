/* archive.h: the console's alert archive in SQLite. Every alert once (the
 * event id is unique), with a full-text index (FTS5, unicode61 tokenizer
 * with diacritics removed: search is accent- and case-insensitive) and the
 * subscriber cursor and journal epoch the archive has reached, so that a
 * restart resumes where it stopped (client_sub.h) and a replayed event is
 * not stored twice.
 *
 * One writer (the ingest loop) and any number of readers (the web threads,
 * each opening its own read-only handle). */
#ifndef VL_ARCHIVE_H
#define VL_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include "event.h"
#include "vl_err.h"

#define ARCHIVE_PAGE_MAX    200   /* rows one query returns at most */
#define ARCHIVE_QUERY_MAX   256   /* bytes of search text used */
#define ARCHIVE_TERMS_MAX   16    /* search terms used */

typedef struct archive archive_t;

/* One stored alert. Strings are NUL-terminated, never NULL ("" when the
 * event had none) and borrowed: valid only during the callback. TAGS holds
 * the tags separated by '\n'. */
typedef struct {
    int64_t     id;          /* archive row id: increases with arrival */
    uint64_t    seq;         /* broker seq when stored */
    const char *eid, *type, *source, *topic, *url, *title, *summary, *diff, *tags;
    int64_t     detected;    /* ms since the epoch */
    int64_t     published;   /* s since the epoch, 0 = unknown */
} archive_row_t;

/* A search. Every field is optional (NULL / 0 = no condition). */
typedef struct {
    const char *text;        /* full-text terms, all required, each a prefix */
    const char *topic;       /* topic prefix (bytes, as subscriptions) */
    const char *source;      /* exact source id */
    const char *type;        /* exact type */
    const char *eid;         /* exact event id (the permalink) */
    int64_t     since_ms;    /* detected >= since_ms */
    int64_t     until_ms;    /* detected < until_ms */
    int64_t     before_id;   /* id < before_id (older page) */
    int64_t     after_id;    /* id > after_id */
    bool        oldest_first;/* ascending ids (live updates), else newest first */
    int         limit;       /* 1..ARCHIVE_PAGE_MAX, 0 = 50 */
} archive_query_t;

typedef void (*archive_row_fn) (void *arg, const archive_row_t *row);

/* Opens PATH: WRITER creates it and its schema; a reader opens it
 * read-only (it must exist). Caller owns (archive_close). NULL with *ERR. */
archive_t *archive_open (const char *path, bool writer, vl_err_t *err);
void archive_close (archive_t **self_p);

/* The cursor and epoch stored by the last archive_set_cursor (0, 0 for a
 * new archive). */
vl_err_t archive_cursor (archive_t *self, uint64_t *cursor, uint64_t *epoch);

/* Stores EV (received at SEQ) unless its id is already there. *ADDED says
 * which. VL_EDB / VL_ENOSPC / VL_EIO on a database error. */
vl_err_t archive_add (archive_t *self, const event_t *ev, uint64_t seq, bool *added);

/* Stores the subscriber cursor and epoch. */
vl_err_t archive_set_cursor (archive_t *self, uint64_t cursor, uint64_t epoch);

/* Largest row id stored (0 if none). */
int64_t archive_last_id (archive_t *self);

/* Calls FN for each alert matching Q: newest first, or oldest first when
 * Q->oldest_first. *N (may be NULL) gets the number of rows. VL_EINVAL
 * for a search text SQLite's FTS5 refuses. */
vl_err_t archive_find (archive_t *self, const archive_query_t *q, archive_row_fn fn, void *arg,
                       int *n);

/* What the archive holds of one source (borrowed during the callback). */
typedef struct {
    const char *source;
    int64_t     alerts;        /* alerts stored */
    int64_t     last_ms;       /* newest alert's detected */
    int64_t     errors;        /* alerts of type "error" */
    int64_t     last_error_ms; /* newest "error" (0 = none) */
    const char *last_type;     /* type of the newest alert */
} archive_source_t;

/* Calls FN for each source (at most ARCHIVE_SOURCES_MAX), by id. */
#define ARCHIVE_SOURCES_MAX 4096
vl_err_t archive_sources (archive_t *self, void (*fn) (void *arg, const archive_source_t *s),
                          void *arg);

/* Writes the FTS5 query for the user's TEXT into OUT (CAP bytes): each
 * whitespace-separated term (at most ARCHIVE_TERMS_MAX, from the first
 * ARCHIVE_QUERY_MAX bytes) quoted as a string, '"' doubled, followed by
 * '*' (prefix); terms without a letter or digit are dropped, so no user
 * text is ever FTS5 syntax. Returns false when no term is left. */
bool archive_fts_query (const char *text, char *out, size_t cap);

#endif
