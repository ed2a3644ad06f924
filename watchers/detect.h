/* detect.h: change detection. Compares the items parsed from a source's
 * document (after its keyword filter) with the items stored for it:
 *   identity never seen           -> `new`
 *   same identity, other hash     -> `changed` (with prev_hash and a diff)
 *   same identity, same hash      -> nothing (last_seen updated)
 *   stored, gone from the document while an item listed after it in the
 *   previous document is still there -> `removed` (the item is forgotten;
 *   items falling off the end of a list are not news). Sources with
 *   `removed = false` never get it; a first poll or a baseline neither.
 *   "The previous document" is every item of it, also those the keyword
 *   filter dropped (never stored): the source row keeps one 64-bit key per
 *   item of the last parsed document, in order (state_source_t.doc_keys).
 *   A database from before that column falls back, until its next poll,
 *   to the positions of the stored items.
 * Each event is encoded and appended to the outbox by the same calls that
 * update the items, inside the caller's transaction (state_begin ..
 * state_commit), so a crash never leaves one without the other.
 * On a baseline (a source's first successful poll, without
 * publish_existing) items are recorded and nothing is published. */
#ifndef VL_DETECT_H
#define VL_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "event.h"
#include "item.h"
#include "keywords.h"
#include "source.h"
#include "state.h"
#include "vl_err.h"

typedef struct {
    size_t items;       /* parsed */
    size_t filtered;    /* dropped by include/exclude */
    size_t duplicates;  /* same identity twice in one document (first kept) */
    size_t recorded;    /* new or changed items recorded silently (baseline) */
    size_t new_items;   /* `new` events */
    size_t changed;     /* `changed` events */
    size_t removed;     /* `removed` events */
    size_t unchanged;
} detect_stats_t;

/* Called with each event queued (may be NULL): for `--test` and logs. */
typedef void (*detect_emit_fn) (void *arg, const event_t *ev);

/* Compares ITEMS of SRC with state ST (a transaction must be open) as
 * above. KW (may be NULL) filters and tags items. SS (may be NULL: no
 * list of the document kept) is the source's row as read: its doc_keys
 * describe the previous document and are replaced by those of ITEMS (the
 * caller writes SS back in the same transaction). BASELINE: record only.
 * NOW_MS stamps `detected`, first_seen and last_seen. Adds to *STATS
 * (may be NULL). Returns the first state error (the caller rolls back). */
vl_err_t detect_items (state_t *st, const source_t *src, const keywords_t *kw,
                       const item_list_t *items, state_source_t *ss, bool baseline,
                       int64_t now_ms, detect_emit_fn emit, void *arg,
                       detect_stats_t *stats);

/* Builds the event for a source's health change into *OUT (zeroed first;
 * caller clears it): TYPE "error" or "recovered", topic
 * "_sys.source.<id>", title "source <id>: WHAT" (e.g. "source un-press:
 * HTTP 500"; "source <id>: polled again" for recovered without WHAT, so
 * that a mail subject names the source), url the source URL. Its id is unique per episode (NOW_MS). */
vl_err_t detect_source_event (const source_t *src, const char *type, const char *what,
                              int64_t now_ms, event_t *out);

/* Appends to OUT the encoded `new` event of item IT of SRC, detected at
 * NOW_MS, exactly as detect_items queues it for a source without keyword
 * filter (no tags). The parsing thread stores it in it->new_event; then
 * detect_items queues those bytes instead of encoding them again.
 * VL_EINVAL if the event does not encode, VL_ENOMEM. */
vl_err_t detect_encode_new (const source_t *src, const parsed_item_t *it, int64_t now_ms,
                            buf_t *out);

/* Encodes EV and appends it to the outbox of ST (a transaction should be
 * open). VL_EINVAL if the event does not encode (logged). */
vl_err_t detect_queue (state_t *st, const event_t *ev, int64_t now_ms);

#endif
