/* syncer.h: fdatasync in a background thread.
 *
 * The journal's `interval` fsync policy acks before syncing; syncing in the
 * broker's own thread stalled every publish for the length of one
 * fdatasync (2-10 ms on a VM disk, tens on a busy one) once per interval,
 * which is what the p99 latency showed. With a syncer the main thread only
 * hands over the file descriptor and goes on; it learns the outcome on its
 * next timer tick (syncer_poll).
 *
 * At most one sync is in flight. The caller keeps the descriptor open
 * until the sync is over (syncer_wait before closing or rolling it). */
#ifndef VL_SYNCER_H
#define VL_SYNCER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct syncer syncer_t;

/* Starts the thread. Caller owns the result; NULL on failure. */
syncer_t *syncer_new (void);

/* Waits for a sync in flight, stops the thread, destroys *self_p and sets
 * it to NULL; NULL-safe. */
void syncer_destroy (syncer_t **self_p);

/* Asks for fdatasync(FD), tagged GEN. Returns false (and does nothing) if
 * a sync is still in flight. */
bool syncer_request (syncer_t *self, int fd, uint64_t gen);

/* If the last requested sync is over and not yet reported, returns true
 * and stores its tag in *GEN and its outcome in *ERRNUM (0, or the errno
 * of fdatasync). */
bool syncer_poll (syncer_t *self, uint64_t *gen, int *errnum);

/* True while a sync is in flight. */
bool syncer_busy (syncer_t *self);

/* Blocks until no sync is in flight (its outcome stays for syncer_poll). */
void syncer_wait (syncer_t *self);

#endif
