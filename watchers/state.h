/* state.h: the watcher's SQLite database (WAL): per-source fetch and
 * schedule state, the items last seen per source, and the outbox of events
 * waiting for the broker's ack. Item changes and their outbox rows are
 * written in one transaction (state_begin .. state_commit), so a crash
 * leaves either both or neither. A state is used by one thread at a time
 * (its connection takes no mutex).
 *
 * Tables: sources(id, etag, last_modified, failures, error_sent,
 * baseline_done, next_due, conf_hash, doc_keys: one key per item of the
 * last parsed document, poll_at, http_status, change_at, last_error,
 * error_at: what `veille status` shows), items(source, identity, hash, content, title,
 * link, first_seen, last_seen, pos: index in the last document),
 * outbox(rowid, topic, event, created), dead(rowid, topic, event, created,
 * reason, died) for rejected events. */
#ifndef VL_STATE_H
#define VL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "item.h"
#include "vl_err.h"

typedef struct state state_t;

/* Opens (creating) the database at PATH (":memory:" for a scratch one).
 * Caller owns the result (state_destroy). NULL and *ERR on failure. */
state_t *state_open (const char *path, vl_err_t *err);

/* Closes *SELF_P (rolling back an open transaction) and sets it to NULL. */
void state_destroy (state_t **self_p);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
vl_err_t state_begin (state_t *self);
vl_err_t state_commit (state_t *self);
void     state_rollback (state_t *self);

/* Inside a transaction: SAVEPOINT (one level) / RELEASE it / ROLLBACK TO it
 * and release it. Lets one transaction hold several sources' polls, each
 * undone alone if it fails. */
vl_err_t state_savepoint (state_t *self);
vl_err_t state_release (state_t *self);
vl_err_t state_rollback_savepoint (state_t *self);

/* Per-source state. Strings owned (state_source_clear). */
typedef struct {
    char   *etag;
    char   *last_modified;
    int     failures;
    bool    error_sent;
    bool    baseline_done;
    int64_t next_due;        /* ms since the epoch; 0 = now */
    char    conf_hash[33];   /* fingerprint of the source's configuration at
                                its last baseline ("" = unknown) */
    uint64_t *doc_keys;      /* the last parsed document: one key per item, in
                                document order, kept and read by detect.h;
                                NULL = none kept (a blob of big-endian u64) */
    size_t    ndoc_keys;
    /* for `veille status` (core/status.c), written with the row: */
    int64_t poll_at;         /* ms since the epoch of the last poll written */
    int     http_status;     /* its HTTP status (0: file:// or no answer) */
    int64_t change_at;       /* last poll that published new/changed/removed */
    char   *last_error;      /* last failure's message (kept after recovery) */
    int64_t error_at;        /* when it happened; 0 = never */
} state_source_t;

/* Reads source ID into *OUT (zeroed first). VL_ENOTFOUND if unknown (OUT
 * stays zeroed: a new source). */
vl_err_t state_source_get (state_t *self, const char *id, state_source_t *out);

/* Inserts or replaces source ID with *IN. */
vl_err_t state_source_put (state_t *self, const char *id, const state_source_t *in);

/* Deletes source ID's row and every item of it (`veille-watch --purge`:
 * a source removed from the configuration); *NITEMS (may be NULL) gets
 * how many items went. VL_ENOTFOUND if nothing was stored for ID. */
vl_err_t state_source_purge (state_t *self, const char *id, int64_t *nitems);

/* Sets only the next due time of source ID (no row: nothing done). */
vl_err_t state_source_set_due (state_t *self, const char *id, int64_t next_due);

/* Frees the strings of *SELF and zeroes it. */
void state_source_clear (state_source_t *self);

/* One stored item. Strings owned (state_item_clear). */
typedef struct {
    char    hash[33];
    char   *content;
    char   *title;
    char   *link;
    int64_t first_seen, last_seen;   /* ms since the epoch */
} state_item_t;

/* Reads item (SOURCE, IDENTITY) into *OUT (zeroed first); VL_ENOTFOUND. */
vl_err_t state_item_get (state_t *self, const char *source, const char *identity,
                         state_item_t *out);

/* Reads only the hash, last_seen and pos of item (SOURCE, IDENTITY),
 * without copying its text; VL_ENOTFOUND. */
vl_err_t state_item_peek (state_t *self, const char *source, const char *identity,
                          char hash[33], int64_t *last_seen, int64_t *pos);

/* Inserts ITEM for SOURCE at position POS of its document, or updates its
 * hash, content, title, link, last_seen and pos (first_seen kept). */
vl_err_t state_item_put (state_t *self, const char *source, const parsed_item_t *item,
                         int64_t pos, int64_t now_ms);

/* Sets last_seen and pos of an unchanged item. */
vl_err_t state_item_seen (state_t *self, const char *source, const char *identity,
                          int64_t pos, int64_t now_ms);

/* What removal detection needs of a stored item. Strings owned. */
typedef struct {
    char   *identity;
    char   *title;
    char   *link;
    char    hash[33];
    int64_t pos;        /* index in the last document it was in; -1 unknown */
} state_item_ref_t;

/* Loads every stored item of SOURCE, by pos, into a new array *ROWS of *N
 * (caller frees with state_item_refs_free). */
vl_err_t state_items_list (state_t *self, const char *source, state_item_ref_t **rows,
                           size_t *n);

/* Frees ROWS and their strings; NULL-safe. */
void state_item_refs_free (state_item_ref_t *rows, size_t n);

/* Deletes item (SOURCE, IDENTITY) (it was reported removed). */
vl_err_t state_item_forget (state_t *self, const char *source, const char *identity);

/* Number of items stored for SOURCE. */
vl_err_t state_item_count (state_t *self, const char *source, int64_t *n);

/* Deletes the items of SOURCE last seen before BEFORE_MS (gone from the
 * document for longer than the retention); *N (may be NULL) gets how many. */
vl_err_t state_items_prune (state_t *self, const char *source, int64_t before_ms,
                            int64_t *n);

void state_item_clear (state_item_t *self);

/* Appends an encoded event for TOPIC to the outbox; *ROWID (may be NULL)
 * gets its row id, which only grows. Inside a transaction and without
 * ROWID, the row (copied) waits in memory and goes in with others in one
 * INSERT, at the latest at the next state_savepoint, state_release,
 * state_commit or outbox call: in the same transaction and savepoint as
 * the writes around it, whose rollback drops it too. A failed insert is
 * then reported by that call (state_release rolls its savepoint back). */
vl_err_t state_outbox_add (state_t *self, const char *topic, const void *event,
                           size_t len, int64_t now_ms, int64_t *rowid);

/* One outbox row. Memory owned (state_outbox_rows_clear). */
typedef struct {
    int64_t rowid;
    char   *topic;
    void   *event;
    size_t  len;
} state_outbox_row_t;

/* Loads up to MAX rows with rowid > AFTER, oldest first, into ROWS; *N
 * gets how many. */
vl_err_t state_outbox_load (state_t *self, int64_t after, size_t max,
                            state_outbox_row_t *rows, size_t *n);

void state_outbox_rows_clear (state_outbox_row_t *rows, size_t n);

/* Deletes row ROWID (acked). Deleting a missing row is not an error. */
vl_err_t state_outbox_delete (state_t *self, int64_t rowid);

/* Deletes the rows FIRST..LAST (all acked: one statement for a run of
 * consecutive acks). Missing rows are not an error. */
vl_err_t state_outbox_delete_range (state_t *self, int64_t first, int64_t last);

/* Moves row ROWID to the dead table with REASON (rejected by the broker). */
vl_err_t state_outbox_dead (state_t *self, int64_t rowid, const char *reason,
                            int64_t now_ms);

/* Rows waiting in the outbox. */
vl_err_t state_outbox_count (state_t *self, int64_t *n);

#endif
