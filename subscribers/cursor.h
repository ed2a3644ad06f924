/* cursor.h: the subscriber's delivery state in SQLite (WAL): per-sink
 * cursor (every event <= cursor has been delivered or dead-lettered), a
 * bounded per-sink window of delivered event ids (dedup), delivery intents
 * (pending rows, for sinks that can verify after a crash), the
 * dead-letter table, events carried over a broker journal reset, and the
 * broker journal epoch the cursors belong to. One cursor_t is one
 * connection; use one per thread. */
#ifndef VL_CURSOR_H
#define VL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

typedef struct cursor cursor_t;

/* Opens (creating) the store at PATH; DEDUP_WINDOW ids are kept per sink
 * (0 = no id window). Caller owns the result; NULL and *ERR on failure. */
cursor_t *cursor_open (const char *path, int dedup_window, vl_err_t *err);
void cursor_close (cursor_t **self_p);

/* Transactions grouping several calls (BEGIN IMMEDIATE / COMMIT). Calls
 * made outside one are committed one by one. A failed commit rolls the
 * transaction back. A full disk (VL_ENOSPC) is logged at debug level only:
 * callers report it. */
vl_err_t cursor_begin (cursor_t *self);
vl_err_t cursor_commit (cursor_t *self);
void     cursor_rollback (cursor_t *self);

/* Reads SINK's cursor into *SEQ (0 when the sink has none yet). */
vl_err_t cursor_get (cursor_t *self, const char *sink, uint64_t *seq);

/* cursor_get that also tells whether SINK has a cursor row at all: *FOUND
 * is false for a sink never placed (sink_start.h decides where it starts;
 * the placement is stored with cursor_set, a row even at 0). */
vl_err_t cursor_find (cursor_t *self, const char *sink, uint64_t *seq, bool *found);

/* Raises SINK's cursor to SEQ (never lowers it). */
vl_err_t cursor_set (cursor_t *self, const char *sink, uint64_t seq);

/* Deletes everything stored for SINK (cursor, id window, pending intents,
 * carried events, dead letters), in one transaction; *ROWS (may be NULL)
 * gets the number of rows deleted. For a sink removed from the
 * configuration: a sink of that name added later is placed afresh. */
vl_err_t cursor_purge (cursor_t *self, const char *sink, size_t *rows);

/* Sets every sink's cursor back to 0 (the broker's journal was replaced and
 * its sequence restarted; the id windows still prevent duplicates). */
vl_err_t cursor_reset_all (cursor_t *self);

/* The broker journal epoch the cursors belong to (docs/protocol.md): *EPOCH
 * gets 0 if none was stored. Set it in the same transaction as the cursors
 * it goes with (cursor_reset_all after a new journal). */
vl_err_t cursor_get_epoch (cursor_t *self, uint64_t *epoch);
vl_err_t cursor_set_epoch (cursor_t *self, uint64_t epoch);

/* Sets *SEEN if ID is in SINK's delivered window. */
vl_err_t cursor_seen (cursor_t *self, const char *sink, const char *id, bool *seen);

/* Adds ID (delivered at SEQ) to SINK's window, dropping the oldest past
 * the window size, and removes any pending row for it. */
vl_err_t cursor_record (cursor_t *self, const char *sink, const char *id, uint64_t seq);

/* cursor_record without removing the intent of ID: for a caller that clears
 * every intent of SINK (cursor_pending_clear) in the same transaction. */
vl_err_t cursor_record_seen (cursor_t *self, const char *sink, const char *id, uint64_t seq);

/* The id window keeps the newest WINDOW ids and, beyond them, every id
 * whose seq is above the sink's cursor (after a crash the replay restarts
 * at the cursor, so those are the ids it can bring back), up to this hard
 * cap: max(16 x WINDOW, 100000). */
size_t cursor_window_cap (int window);

/* Records the intent to deliver ID (before the sink is called). */
vl_err_t cursor_pending_add (cursor_t *self, const char *sink, const char *id, uint64_t seq);

/* Calls CB for each pending row of SINK (delivery was started but not
 * confirmed when the process died). CB returns true to keep iterating. */
typedef bool (*cursor_pending_cb) (const char *id, uint64_t seq, void *arg);
vl_err_t cursor_pending_foreach (cursor_t *self, const char *sink, cursor_pending_cb cb, void *arg);

/* Calls CB for each id of SINK's delivered window, oldest first (to load
 * it in memory at start). CB returns true to keep iterating. */
vl_err_t cursor_window_foreach (cursor_t *self, const char *sink, cursor_pending_cb cb,
                                void *arg);

/* Removes every pending row of SINK. */
vl_err_t cursor_pending_clear (cursor_t *self, const char *sink);

/* Carried events: given to SINK but not delivered when the broker's
 * journal was replaced (they are not in the new journal, so no replay can
 * bring them back). Stored with their old SEQ and msgpack event; the next
 * dispatcher delivers them first, and removes each once confirmed or
 * parked. Adding an id already carried for SINK does nothing. */
vl_err_t cursor_carry_add (cursor_t *self, const char *sink, uint64_t seq, const char *id,
                           const void *data, size_t len);

/* Calls CB for each carried event of SINK, oldest first (pointers valid
 * during the callback only). CB returns true to keep iterating. *COUNT (may
 * be NULL) gets the number visited. */
typedef bool (*cursor_carry_cb) (const char *id, uint64_t seq, const void *data, size_t len,
                                 void *arg);
vl_err_t cursor_carry_foreach (cursor_t *self, const char *sink, cursor_carry_cb cb,
                               void *arg, size_t *count);

/* Removes carried event ID of SINK (no-op if absent). */
vl_err_t cursor_carry_remove (cursor_t *self, const char *sink, const char *id);

/* A parked event. Pointers valid during the callback only. */
typedef struct {
    int64_t     n;         /* row id, for cursor_dead_remove */
    const char *sink;
    uint64_t    seq;
    const char *topic;
    const char *id;
    const void *data;      /* msgpack event */
    size_t      len;
    const char *error;
    int         attempts;
    int64_t     at_ms;     /* when it was parked */
} cursor_dead_t;

/* Parks an event that could not be delivered. */
vl_err_t cursor_dead_add (cursor_t *self, const char *sink, uint64_t seq,
                          const char *topic, const char *id, const void *data,
                          size_t len, const char *error, int attempts);

/* Calls CB for each dead letter (of SINK, or all when SINK is NULL),
 * oldest first. CB returns true to keep iterating. *COUNT (may be NULL)
 * gets the number visited. */
typedef bool (*cursor_dead_cb) (const cursor_dead_t *dead, void *arg);
vl_err_t cursor_dead_foreach (cursor_t *self, const char *sink, cursor_dead_cb cb,
                              void *arg, size_t *count);

/* Deletes dead letter N. */
vl_err_t cursor_dead_remove (cursor_t *self, int64_t n);

#endif
