/* idwindow.h: the in-memory copy of a sink's delivered-id window (SQLite
 * holds the persistent one, cursor.c, loaded at start): a FIFO ring of
 * (id, seq) indexed by an hset (core/hset.h).
 *
 * When the ring is full, the oldest id is dropped only if its seq is at or
 * below the sink's persisted cursor (a replay can never bring it back);
 * otherwise the ring doubles, up to MAX ids (idwindow_init). Used by one
 * thread (the sink's worker). */
#ifndef VL_IDWINDOW_H
#define VL_IDWINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "hset.h"

typedef struct {
    char     id[EVENT_ID_HEX + 1];
    uint64_t seq;
} idwindow_slot_t;

/* Zero-initialised: disabled (cap 0), holds nothing. */
typedef struct {
    idwindow_slot_t *slot;   /* ring of CAP ids, oldest at HEAD */
    hset_t           index;  /* id -> ring index */
    size_t           cap, head, len, max;
} idwindow_t;

/* Sets up a window of CAP ids that may grow to MAX (at most
 * HSET_MAX_ENTRIES). False on OOM or CAP == 0 (left disabled). Free with
 * idwindow_free. */
bool idwindow_init (idwindow_t *self, size_t cap, size_t max);

/* Frees the window; it is disabled (zeroed) afterwards. */
void idwindow_free (idwindow_t *self);

/* True if the window is enabled (idwindow_init succeeded). */
bool idwindow_enabled (const idwindow_t *self);

/* True if ID is in the window. */
bool idwindow_has (const idwindow_t *self, const char *id);

/* Remembers ID (delivered with SEQ; ids longer than EVENT_ID_HEX are cut).
 * CURSOR is the sink's persisted cursor: ids above it are kept even past
 * the window, by growing (see above). No-op if disabled or ID is held. */
void idwindow_add (idwindow_t *self, const char *id, uint64_t seq, uint64_t cursor);

#endif
