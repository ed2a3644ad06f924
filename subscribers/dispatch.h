/* dispatch.h: fan-out of subscribed events to sinks, one queue and one
 * worker thread per sink, so a slow or dead sink never holds back another.
 *
 * Delivery state per sink (cursor.h): the cursor C (every event <= C was
 * delivered, dead-lettered or filtered out) and the window of delivered
 * ids. The main thread feeds the queues with events that pass each sink's
 * filter and with cursor marks from client_sub ("every matching event
 * <= seq has been offered"); a worker persists C = mark only when it
 * reaches the mark, i.e. after every earlier event was confirmed by the
 * sink (or parked as a dead letter). After a crash, replay restarts at C
 * and the id window skips what was delivered above C. Each worker keeps
 * the window in memory (loaded from SQLite at start). Sinks without
 * verify commit confirmations every 32 deliveries or 50 ms (and at the end
 * of each batch): a crash repeats at most 32 deliveries per such sink.
 *
 * Bounded queues and overflow (never block the others): each sink's queue
 * holds at most queue_cap items and queue_bytes bytes of events (a queue
 * always takes one event, whatever its size; a cursor mark always fits:
 * marks coalesce and one spare slot takes the mark after a full queue, so
 * the cursor reaches the last mark even when nothing follows). When an
 * event does not fit,
 * the sink is
 * SUSPENDED: the main thread stops feeding it (events and marks) and
 * remembers fed_mark, the last mark it did enqueue (everything <= fed_mark
 * is in the queue or done). Other sinks go on. When the suspended sink's
 * worker has emptied its queue and is idle (so a sink that stays blocked
 * causes no replay churn), dispatch_want_replay() tells
 * the caller to re-subscribe from min(fed_mark) over all sinks; every sink
 * then skips events <= its own fed_mark and the events above it that it
 * had already enqueued (ids remembered until a mark passes them, so a
 * suspended sink makes progress at each round instead of refilling its
 * queue with what it already had); the worker's id check is the last
 * guard. So nothing is lost (the broker journal holds it), nothing is
 * delivered twice, and a sink that is merely slow costs the others one
 * replay per queue-full of events.
 *
 * Outages: a transient failure (sink_result_t SINK_RETRY) is retried, the
 * same event (in order), with capped backoff or the receiver's Retry-After,
 * until the outage (from its first failure to the next delivery) has
 * lasted retry_horizon_ms; then the event being retried and each next one
 * whose first attempt fails are parked. SINK_FAILED parks at once. The
 * outage is logged once when it starts and once when it ends; with
 * redrive_dead the events parked for an outage are delivered again once
 * the sink is up. */
#ifndef VL_DISPATCH_H
#define VL_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "filter.h"
#include "sink.h"
#include "vl_err.h"

typedef struct dispatch dispatch_t;

typedef struct {
    const char *state_path;     /* SQLite file */
    int         dedup_window;   /* ids kept per sink */
} dispatch_opts_t;

typedef struct {
    sink_t   *sink;             /* ownership passes to the dispatcher */
    filter_t *filter;           /* ownership passes to the dispatcher */
    int       max_attempts;     /* attempts of one event; 0 = no limit */
    int       backoff_initial_ms;
    int       backoff_max_ms;
    int64_t   retry_horizon_ms; /* how long an outage is retried before the event
                                   being retried (and each next one that fails) is
                                   parked, from its first failure; 0 = no limit */
    bool      redrive_dead;     /* when the sink is up again (and at start), deliver
                                   the events it parked for an outage again */
    size_t    queue_cap;        /* events and marks, >= 2 */
    size_t    queue_bytes;      /* encoded event bytes queued; 0 = 64 MiB */
} dispatch_sink_opts_t;

typedef struct {
    uint64_t cursor;       /* persisted */
    uint64_t fed_mark;
    size_t   queued;
    bool     suspended;
    uint64_t delivered, dead, dups, retries, overflows, redriven;
    bool     up;                /* false from a transient failure to the next delivery */
    int64_t  down_ms;           /* how long it has been down (0 if up) */
    int64_t  oldest_ms;         /* age of the oldest event given to it and not yet
                                   settled (queued or being retried); 0 if none */
} dispatch_stats_t;

/* Opens the state store. Caller owns the result. */
dispatch_t *dispatch_new (const dispatch_opts_t *opts, vl_err_t *err);

/* Adds a sink. Takes SINK and FILTER even on error. VL_EDUP if a sink of
 * the same name exists. After dispatch_start (a reload), call
 * dispatch_start again to start it, then re-subscribe from
 * dispatch_resync() with the new dispatch_prefixes(). */
vl_err_t dispatch_add (dispatch_t *self, const dispatch_sink_opts_t *opts);

/* Loads cursors, settles deliveries left pending by a crash (sinks that can
 * verify), and starts one worker thread per sink not started yet. A sink without a stored
 * cursor starts from 0 (veille-sub places new sinks before: sink_start.h). */
vl_err_t dispatch_start (dispatch_t *self);

/* Number of sinks and the name of sink I (owned by SELF). */
size_t dispatch_count (const dispatch_t *self);
const char *dispatch_name (const dispatch_t *self, size_t i);

/* Where the subscription must start: min over sinks of fed_mark. */
uint64_t dispatch_from_seq (const dispatch_t *self);

/* The union of the sinks' topic prefixes (just "" if one sink takes all).
 * NULL-terminated, owned by SELF. */
const char **dispatch_prefixes (dispatch_t *self, size_t *n);

/* Offers one event (msgpack DATA) to every sink whose filter takes it.
 * Never blocks. VL_EPARSE if the event does not decode (logged, skipped). */
vl_err_t dispatch_offer_event (dispatch_t *self, uint64_t seq, const void *data, size_t len);

/* Offers a cursor mark (every matching event <= SEQ has been offered). */
void dispatch_offer_mark (dispatch_t *self, uint64_t seq);

/* True if a suspended sink has drained and the subscription must restart
 * from *FROM_SEQ (the suspension is lifted; call dispatch_from_seq-style
 * skip logic is internal). */
bool dispatch_want_replay (dispatch_t *self, uint64_t *from_seq);

/* For a re-subscription the caller decides (a reload changed the sinks):
 * every sink will skip what it already has (as after dispatch_want_replay);
 * returns where to re-subscribe from (dispatch_from_seq). */
uint64_t dispatch_resync (dispatch_t *self);

/* Removes sink NAME at run time (a reload): stops feeding it, waits up to
 * DRAIN_MS for its queue to be delivered (0: no wait), stops its worker
 * (the current attempt finishes) and frees it. Its cursor, id window and
 * dead letters stay in the state file: what it had not confirmed is
 * delivered if a sink of that name comes back (cursor_purge forgets it).
 * The union of prefixes changes: re-subscribe. VL_ENOTFOUND if no such
 * sink. */
vl_err_t dispatch_remove (dispatch_t *self, const char *name, int drain_ms);

/* Asks every sink to reopen its files (SIGHUP). Async-signal-unsafe: call
 * from the main loop. */
void dispatch_reopen (dispatch_t *self);

/* Waits until every queue is empty and no worker is busy, up to
 * TIMEOUT_MS. True if idle. */
bool dispatch_wait_idle (dispatch_t *self, int timeout_ms);

/* Counters of sink I. */
void dispatch_stats (dispatch_t *self, size_t i, dispatch_stats_t *out);

/* Stops the workers (the current attempt finishes; queued items stay
 * unconfirmed and will be replayed from the cursor). */
void dispatch_stop (dispatch_t *self);

/* For a replaced broker journal: stops the workers (as dispatch_stop) and
 * stores, per sink, every event it was given but has not confirmed or
 * parked (queued, in the batch a stop cut, held for a digest) in the carry
 * table (cursor.h): the new journal does not hold them, so no replay could
 * bring them back. The next dispatcher on this state delivers them first
 * (they are not counted in the cursor marks; the id window keeps them
 * from being delivered twice). Events the sink was never given (a
 * suspended sink's backlog still in the old journal) cannot be kept. */
vl_err_t dispatch_carry (dispatch_t *self);

/* Stops and frees everything. NULL-safe. */
void dispatch_destroy (dispatch_t **self_p);

/* Backoff before retry ATTEMPT (1-based): min(max, initial * 2^(attempt-1)),
 * with jitter in [50%, 100%] of it. Exposed for tests. */
int64_t dispatch_backoff_ms (int attempt, int initial_ms, int max_ms);

#endif
