/* dedup.h: the window of the most recent event ids the broker stored,
 * mapping each (16-byte binary form of the 32-hex id) to its seq, so a
 * resend gets DUPLICATE with the original seq.
 *
 * A FIFO ring that evicts the oldest id once more than WINDOW are held,
 * indexed by an hset (core/hset.h: keyed hash, so chosen ids cannot easily
 * build probe chains; 32-bit tags in the slots). Memory: about 40 bytes per
 * id (24 in the ring, 8 x 2 in the table), 40 MB for 1e6. At most
 * HSET_MAX_ENTRIES ids (window + slack).
 *
 * Inserts are provisional until dedup_commit(): dedup_rollback() forgets
 * the ids inserted since the last commit (a journal commit failed), and
 * eviction only happens on commit, so a rollback loses nothing. */
#ifndef VL_DEDUP_H
#define VL_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

#define DEDUP_KEY_LEN 16

typedef struct dedup dedup_t;

/* Creates a window of WINDOW ids that accepts up to SLACK provisional
 * inserts between commits. Caller owns it; NULL on OOM, WINDOW == 0 or
 * WINDOW + SLACK > HSET_MAX_ENTRIES. */
dedup_t *dedup_new (size_t window, size_t slack);

/* Destroys *self_p and sets it to NULL; NULL-safe. */
void dedup_destroy (dedup_t **self_p);

/* Converts a 32-character lower-case hex event id into the 16-byte key.
 * Any other string (or length) is hashed (BLAKE2b-128) into a key, so
 * every id works. */
void dedup_key (const char *id, size_t len, unsigned char key[DEDUP_KEY_LEN]);

/* If KEY is in the window, stores its seq in *SEQ (may be NULL) and
 * returns true. */
bool dedup_find (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN],
                 uint64_t *seq);

/* Hints the CPU to fetch the table slot of KEY (a batch prefetches all
 * its keys before looking any up: the table is far larger than the
 * cache). No effect on the contents. */
void dedup_prefetch (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN]);

/* Adds KEY -> SEQ (provisionally). VL_EAGAIN if SLACK inserts are already
 * pending (commit first). The caller checks dedup_find first; a key added
 * again anyway is found with its newest seq while that one is held. */
vl_err_t dedup_insert (dedup_t *self, const unsigned char key[DEDUP_KEY_LEN],
                       uint64_t seq);

/* Makes the pending inserts permanent and evicts the oldest ids beyond
 * the window. */
void dedup_commit (dedup_t *self);

/* Forgets the inserts made since the last commit. */
void dedup_rollback (dedup_t *self);

/* Number of ids held (committed and pending). */
size_t dedup_size (const dedup_t *self);

#endif
