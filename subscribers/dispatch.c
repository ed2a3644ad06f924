/* dispatch.c: per-sink queues and workers (see dispatch.h for the design). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cursor.h"
#include "dispatch.h"
#include "hset.h"
#include "idwindow.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define BATCH_MAX       128
#define RETRY_AFTER_CAP (3600 * 1000)

/* Remote sinks (no verify): confirmations are committed every
 * REMOTE_COMMIT_EVERY deliveries, before the next delivery once the oldest
 * uncommitted one is REMOTE_COMMIT_MS old, and at the end of each batch. So
 * a crash repeats at most REMOTE_COMMIT_EVERY deliveries per sink. */
#define REMOTE_COMMIT_EVERY 32
#define REMOTE_COMMIT_MS    50

/* One decoded event shared by every queue that holds it. */
typedef struct {
    atomic_int refs;
    uint64_t   seq;
    event_t    ev;
    void      *raw;
    size_t     rawlen;
    int64_t    offered;    /* mono ms when veille-sub got it (age metric) */
    bool       carried;    /* from the carry table: remove it there once settled */
} queued_event_t;

/* An event enqueued above the sink's fed_mark (main thread only). After a
 * re-subscription the replay offers these again; they are skipped here so
 * they do not fill the queue again (which could stop a suspended sink from
 * ever making progress). */
typedef struct {
    uint64_t seq;
    char     id[EVENT_ID_HEX + 1];
} fed_t;

#define FED_MAX(w) ((w)->cap * 4 + 65536)

/* A queue slot: an event, or a mark when ITEM is NULL. */
typedef struct {
    queued_event_t *item;
    uint64_t        mark;
} slot_t;

typedef struct {
    dispatch_t *d;
    char       *name;
    sink_t     *sink;
    filter_t   *filter;
    int         max_attempts, backoff_initial, backoff_max;   /* max_attempts 0: no limit */
    int64_t     horizon;           /* retry_horizon_ms; 0 = no limit */
    bool        redrive;           /* redrive_dead */

    pthread_t       thread;
    bool            started;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    slot_t         *ring;          /* CAP + 1 slots: the last one only ever takes a mark */
    size_t          cap, slots, head, len;
    size_t          bytes, max_bytes;   /* event bytes queued, and the cap */
    bool            busy, stop;

    /* main thread only */
    uint64_t fed_mark;
    bool     suspended;
    fed_t   *fed;            /* events enqueued with seq > fed_mark */
    size_t   nfed, fed_cap;
    bool     check_fed;      /* after a re-subscription: skip what is in FED */
    hset_t   fed_index;      /* while check_fed: FED by id (no table: linear) */

    /* worker only */
    cursor_t *db;
    uint64_t  cursor;
    int64_t   last_delivery;       /* mono ms */
    int       reopen_seen;
    queued_event_t **held;         /* accepted by a batching sink, not yet flushed */
    size_t    nheld, held_cap;
    uint64_t  held_mark;
    queued_event_t **left;         /* of a batch cut by stop: never attempted */
    size_t    nleft, left_cap;
    idwindow_t ids;                /* delivered window (disabled: SQLite only) */
    bool      stalled;             /* a write keeps failing (see stall()) */
    int64_t   stalled_since;       /* mono ms */
    unsigned  stall_tries;
    bool      down;                /* an outage: from a transient failure to a delivery */
    int64_t   down_since;          /* mono ms of its first failure */
    unsigned  down_fails;          /* failed attempts during the outage */
    bool      redrive_due;         /* deliver the parked events again (see redrive()) */
    const slot_t *batch;           /* the batch in progress (NULL between batches) */
    size_t    batch_n, batch_at;   /* its length, and the slot being delivered */

    atomic_uint_fast64_t delivered, dead, dups, retries, overflows, persisted, redriven;
    atomic_int_fast64_t  down_at;  /* = down_since while down, else 0 (stats) */
    atomic_int_fast64_t  oldest;   /* offered time of the event in progress, 0 = none */
} wsink_t;

struct dispatch {
    char       *state_path;
    int         window;
    cursor_t   *db;          /* main thread's connection */
    wsink_t   **sinks;
    size_t      nsinks;
    const char **prefixes;
    size_t      nprefixes;
    atomic_int  reopen_gen;
    bool        started;
};

/* --- queued events ----------------------------------------------------- */

static void
queued_event_unref (queued_event_t *it)
{
    if (it && atomic_fetch_sub (&it->refs, 1) == 1) {
        event_clear (&it->ev);
        free (it->raw);
        free (it);
    }
}

static bool
window_load_one (const char *id, uint64_t seq, void *arg)
{
    wsink_t *w = arg;
    idwindow_add (&w->ids, id, seq, w->cursor);
    return true;
}

/* --- construction ------------------------------------------------------ */

dispatch_t *
dispatch_new (const dispatch_opts_t *opts, vl_err_t *err)
{
    dispatch_t *self = calloc (1, sizeof *self);
    vl_err_t rc = VL_ENOMEM;
    if (self && (self->state_path = strdup (opts->state_path))) {
        self->window = opts->dedup_window;
        self->db = cursor_open (opts->state_path, opts->dedup_window, &rc);
    }
    if (rc != VL_OK)
        dispatch_destroy (&self);
    if (err)
        *err = rc;
    return self;
}

static void
wsink_free (wsink_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->len; i++)
        queued_event_unref (w->ring[(w->head + i) % w->slots].item);
    for (size_t i = 0; i < w->nheld; i++)
        queued_event_unref (w->held[i]);
    free (w->held);
    for (size_t i = 0; i < w->nleft; i++)
        queued_event_unref (w->left[i]);
    free (w->left);
    idwindow_free (&w->ids);
    free (w->fed);
    hset_free (&w->fed_index);
    free (w->ring);
    sink_destroy (&w->sink);
    filter_destroy (&w->filter);
    cursor_close (&w->db);
    pthread_mutex_destroy (&w->mu);
    pthread_cond_destroy (&w->cv);
    free (w->name);
    free (w);
}

/* Forgets the union of prefixes (the sinks changed): recomputed on demand. */
static void
drop_prefixes (dispatch_t *self)
{
    free (self->prefixes);
    self->prefixes = NULL;
    self->nprefixes = 0;
}

vl_err_t
dispatch_add (dispatch_t *self, const dispatch_sink_opts_t *o)
{
    sink_t *sink = o->sink;
    filter_t *filter = o->filter;
    for (size_t i = 0; i < self->nsinks; i++)
        if (strcmp (self->sinks[i]->name, sink->name) == 0) {
            log_error ("sink %s: duplicate name", sink->name);
            sink_destroy (&sink);
            filter_destroy (&filter);
            return VL_EDUP;
        }
    wsink_t *w = calloc (1, sizeof *w);
    wsink_t **grown = realloc (self->sinks, (self->nsinks + 1) * sizeof *grown);
    if (grown)
        self->sinks = grown;
    size_t cap = o->queue_cap < 2 ? 2 : o->queue_cap;
    if (!w || !grown || !(w->ring = calloc (cap + 1, sizeof (slot_t)))
        || !(w->name = strdup (sink->name))) {
        if (w)
            free (w->ring);
        free (w);
        sink_destroy (&sink);
        filter_destroy (&filter);
        return VL_ENOMEM;
    }
    pthread_mutex_init (&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
    pthread_cond_init (&w->cv, &ca);
    pthread_condattr_destroy (&ca);
    w->d = self;
    w->sink = sink;
    w->filter = filter;
    w->cap = cap;
    w->slots = cap + 1;
    w->max_bytes = o->queue_bytes ? o->queue_bytes : 64u * 1024 * 1024;
    w->max_attempts = o->max_attempts > 0 ? o->max_attempts : 0;
    w->horizon = o->retry_horizon_ms > 0 ? o->retry_horizon_ms : 0;
    w->redrive = o->redrive_dead;
    w->redrive_due = o->redrive_dead;      /* what an earlier run parked: tried at start */
    w->backoff_initial = o->backoff_initial_ms > 0 ? o->backoff_initial_ms : 1;
    w->backoff_max = o->backoff_max_ms > w->backoff_initial ? o->backoff_max_ms : w->backoff_initial;
    self->sinks[self->nsinks++] = w;
    drop_prefixes (self);
    return VL_OK;
}

size_t dispatch_count (const dispatch_t *self) { return self->nsinks; }
const char *dispatch_name (const dispatch_t *self, size_t i) { return self->sinks[i]->name; }

/* --- union of prefixes ---------------------------------------------------- */

static bool
covered (const char *p, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp (p, list[i], strlen (list[i])) == 0)
            return true;
    return false;
}

const char **
dispatch_prefixes (dispatch_t *self, size_t *n)
{
    if (!self->prefixes) {
        size_t total = 0;
        for (size_t i = 0; i < self->nsinks; i++)
            for (char *const *p = filter_prefixes (self->sinks[i]->filter); *p; p++)
                total++;
        self->prefixes = calloc (total + 1, sizeof (char *));
        if (!self->prefixes) {
            *n = 0;
            return NULL;
        }
        /* Shortest first, so a prefix covered by a shorter one is dropped. */
        for (size_t len = 0; len <= EVENT_MAX_TOPIC; len++)
            for (size_t i = 0; i < self->nsinks; i++)
                for (char *const *p = filter_prefixes (self->sinks[i]->filter); *p; p++)
                    if (strlen (*p) == len && !covered (*p, self->prefixes, self->nprefixes))
                        self->prefixes[self->nprefixes++] = *p;
    }
    *n = self->nprefixes;
    return self->prefixes;
}

/* --- feeding (main thread) ------------------------------------------------ */

uint64_t
dispatch_from_seq (const dispatch_t *self)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < self->nsinks; i++)
        if (self->sinks[i]->fed_mark < m)
            m = self->sinks[i]->fed_mark;
    return m == UINT64_MAX ? 0 : m;
}

/* Pushes a slot; false if the queue is full. */
static bool
push (wsink_t *w, queued_event_t *it, uint64_t mark)
{
    pthread_mutex_lock (&w->mu);
    bool ok = true;
    if (!it && w->len > 0) {             /* coalesce consecutive marks */
        slot_t *last = &w->ring[(w->head + w->len - 1) % w->slots];
        if (!last->item) {
            last->mark = mark;
            pthread_mutex_unlock (&w->mu);
            return true;
        }
    }
    /* An event needs one of the CAP slots; a mark always fits (spare slot):
       marks coalesce, so at most one follows a full queue of events. A
       dropped mark would leave the cursor behind until a later one, and
       there may be none (the last events before a quiet period). */
    size_t cost = it ? it->rawlen : 0;
    if (it ? (w->len >= w->cap || (w->len > 0 && w->bytes + cost > w->max_bytes))
           : w->len >= w->slots)
        ok = false;
    else {
        w->ring[(w->head + w->len) % w->slots] = (slot_t) { it, mark };
        w->len++;
        w->bytes += cost;
        if (it)
            atomic_fetch_add (&it->refs, 1);
        pthread_cond_broadcast (&w->cv);
    }
    pthread_mutex_unlock (&w->mu);
    return ok;
}

static void
suspend (wsink_t *w, uint64_t seq)
{
    w->suspended = true;
    atomic_fetch_add (&w->overflows, 1);
    log_warn ("sink %s: queue full at seq %llu; it will catch up by replay from %llu",
              w->name, (unsigned long long) seq, (unsigned long long) w->fed_mark);
}

static uint64_t
fed_hash (const wsink_t *w, const char *id)
{
    return hset_hash (&w->fed_index, id, strlen (id));
}

/* (Re)builds the id index of FED, used while check_fed: a replay offers
 * thousands of events again and each is looked up (a linear scan was 6% of
 * veille-sub's CPU in the subscriber bench). Without memory: no index. */
static void
fed_index_build (wsink_t *w)
{
    size_t max = 2 * FED_MAX (w);      /* fed_cap doubles up to past FED_MAX */
    if (max > HSET_MAX_ENTRIES)
        max = HSET_MAX_ENTRIES;
    /* sized anew each time: FED may have shrunk */
    vl_err_t rc = w->fed_index.slots ? hset_reset (&w->fed_index, w->nfed)
                                     : hset_init (&w->fed_index, w->nfed, max);
    if (rc != VL_OK) {
        hset_free (&w->fed_index);
        return;
    }
    for (size_t i = 0; i < w->nfed; i++)
        if (hset_add (&w->fed_index, fed_hash (w, w->fed[i].id), (uint32_t) i) != VL_OK) {
            hset_free (&w->fed_index);
            return;
        }
}

static void
fed_add (wsink_t *w, uint64_t seq, const char *id)
{
    if (w->nfed == w->fed_cap) {
        if (w->fed_cap >= FED_MAX (w))
            return;              /* untracked: the worker's id check still holds */
        size_t cap = w->fed_cap ? w->fed_cap * 2 : 256;
        fed_t *g = realloc (w->fed, cap * sizeof *g);
        if (!g)
            return;
        w->fed = g;
        w->fed_cap = cap;
    }
    w->fed[w->nfed].seq = seq;
    snprintf (w->fed[w->nfed].id, sizeof w->fed[w->nfed].id, "%s", id);
    w->nfed++;
    if (w->check_fed && w->fed_index.slots
        && hset_add (&w->fed_index, fed_hash (w, w->fed[w->nfed - 1].id),
                     (uint32_t) w->nfed - 1) != VL_OK)
        hset_free (&w->fed_index);
}

static bool
fed_has (const wsink_t *w, const char *id)
{
    if (!w->fed_index.slots) {
        for (size_t i = 0; i < w->nfed; i++)
            if (strcmp (w->fed[i].id, id) == 0)
                return true;
        return false;
    }
    uint32_t r;
    for (hset_probe_t p = hset_probe (&w->fed_index, fed_hash (w, id)); hset_next (&p, &r);)
        if (strcmp (w->fed[r].id, id) == 0)
            return true;
    return false;
}

/* Forgets entries at or below MARK (never offered again). */
static void
fed_prune (wsink_t *w, uint64_t mark)
{
    size_t k = 0;
    for (size_t i = 0; i < w->nfed; i++)
        if (w->fed[i].seq > mark)
            w->fed[k++] = w->fed[i];
    bool moved = k < w->nfed;
    w->nfed = k;
    if (k == 0)
        w->check_fed = false;
    if (w->check_fed && moved)
        fed_index_build (w);
}

vl_err_t
dispatch_offer_event (dispatch_t *self, uint64_t seq, const void *data, size_t len)
{
    queued_event_t *it = calloc (1, sizeof *it);
    if (!it)
        return VL_ENOMEM;
    atomic_init (&it->refs, 1);
    it->seq = seq;
    it->offered = util_mono_ms ();
    vl_err_t rc = event_decode (data, len, &it->ev);
    if (rc == VL_OK && !(it->raw = malloc (len ? len : 1)))
        rc = VL_ENOMEM;
    if (rc != VL_OK) {
        if (rc != VL_ENOMEM)
            log_warn ("event seq %llu does not decode (%s): skipped",
                      (unsigned long long) seq, vl_strerror (rc));
        queued_event_unref (it);
        return rc == VL_ENOMEM ? rc : VL_EPARSE;
    }
    memcpy (it->raw, data, len);
    it->rawlen = len;
    for (size_t i = 0; i < self->nsinks; i++) {
        wsink_t *w = self->sinks[i];
        if (w->suspended || seq <= w->fed_mark || !filter_match (w->filter, &it->ev))
            continue;
        if (w->check_fed && fed_has (w, it->ev.id))
            continue;
        if (push (w, it, 0))
            fed_add (w, seq, it->ev.id);
        else
            suspend (w, seq);
    }
    queued_event_unref (it);
    return VL_OK;
}

void
dispatch_offer_mark (dispatch_t *self, uint64_t seq)
{
    for (size_t i = 0; i < self->nsinks; i++) {
        wsink_t *w = self->sinks[i];
        if (w->suspended || seq <= w->fed_mark)
            continue;
        push (w, NULL, seq);              /* always fits (spare slot) */
        w->fed_mark = seq;
        fed_prune (w, seq);
    }
}

bool
dispatch_want_replay (dispatch_t *self, uint64_t *from_seq)
{
    bool want = false;
    for (size_t i = 0; i < self->nsinks; i++) {
        wsink_t *w = self->sinks[i];
        if (!w->suspended)
            continue;
        pthread_mutex_lock (&w->mu);
        bool drained = w->len == 0 && !w->busy;   /* nothing queued or in flight */
        pthread_mutex_unlock (&w->mu);
        if (drained) {
            w->suspended = false;
            want = true;
            log_info ("sink %s: caught up its queue; replaying from %llu", w->name,
                      (unsigned long long) w->fed_mark);
        }
    }
    if (want)
        *from_seq = dispatch_resync (self);
    return want;
}

uint64_t
dispatch_resync (dispatch_t *self)
{
    for (size_t i = 0; i < self->nsinks; i++) {
        wsink_t *w = self->sinks[i];
        w->check_fed = w->nfed > 0;
        if (w->check_fed)
            fed_index_build (w);
    }
    return dispatch_from_seq (self);
}

void
dispatch_reopen (dispatch_t *self)
{
    atomic_fetch_add (&self->reopen_gen, 1);
    for (size_t i = 0; i < self->nsinks; i++) {
        pthread_mutex_lock (&self->sinks[i]->mu);
        pthread_cond_signal (&self->sinks[i]->cv);
        pthread_mutex_unlock (&self->sinks[i]->mu);
    }
}

/* --- worker --------------------------------------------------------------- */

int64_t
dispatch_backoff_ms (int attempt, int initial_ms, int max_ms)
{
    int64_t d = initial_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t half = d / 2;
    return half + (half > 0 ? (int64_t) (random () % (half + 1)) : 0);
}

/* Sleeps up to MS unless stopped; returns false if stop was requested. */
static bool
nap (wsink_t *w, int64_t ms)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock (&w->mu);
    while (!w->stop && pthread_cond_timedwait (&w->cv, &w->mu, &ts) == 0)
        ;
    bool go = !w->stop;
    pthread_mutex_unlock (&w->mu);
    return go;
}

static bool
stopping (wsink_t *w)
{
    pthread_mutex_lock (&w->mu);
    bool s = w->stop;
    pthread_mutex_unlock (&w->mu);
    return s;
}

/* Waits for quiet hours to end and for the minimum interval. */
static bool
wait_schedule (wsink_t *w)
{
    for (;;) {
        int64_t quiet = filter_quiet_wait_ms (w->filter, time (NULL));
        int64_t gap = w->last_delivery
                    ? w->last_delivery + filter_min_interval_ms (w->filter) - util_mono_ms () : 0;
        int64_t wait = quiet > gap ? quiet : gap;
        if (wait <= 0)
            return !stopping (w);
        if (!nap (w, wait > 60000 ? 60000 : wait))
            return false;
    }
}

typedef enum { OUT_DONE, OUT_HELD, OUT_DEAD, OUT_ABORT } outcome_t;

/* A write the worker must do before going on keeps failing: the output is
 * full (a sink result marked blocked) or the state cannot be written (a full
 * disk under the SQLite file, most often). The first failure of an episode
 * is logged as an error with WHAT, the next ones at debug level; the worker
 * waits (backoff_initial_ms doubling up to backoff_max_ms, not counted
 * against max_attempts) and delivers nothing else meanwhile, so its queue
 * fills and the sink catches up by replay later. False if stop was requested. */
static bool
stall (wsink_t *w, const char *what)
{
    if (!w->stalled) {
        w->stalled = true;
        w->stalled_since = util_mono_ms ();
        w->stall_tries = 0;
        log_error ("sink %s: %s; the events wait (none is lost or skipped), retrying "
                   "every %d ms at most until it succeeds", w->name, what, w->backoff_max);
    } else
        log_debug ("sink %s: still failing (%u retries)", w->name, w->stall_tries);
    w->stall_tries++;
    atomic_fetch_add (&w->retries, 1);
    int attempt = w->stall_tries < 32 ? (int) w->stall_tries : 32;
    return nap (w, dispatch_backoff_ms (attempt, w->backoff_initial, w->backoff_max));
}

/* Ends a stall episode (logged once). */
static void
unstall (wsink_t *w)
{
    if (!w->stalled)
        return;
    w->stalled = false;
    log_info ("sink %s: writes again after %lld ms (%u retries)", w->name,
              (long long) (util_mono_ms () - w->stalled_since), w->stall_tries);
}

/* The writes of one state transaction (between cursor_begin and commit). */
typedef vl_err_t (*state_writes_fn) (wsink_t *w, const void *arg);

/* Runs WRITES in a transaction until it commits: a failure (a full disk
 * under the state, most often) rolls back and stalls, logged as WHAT.
 * False if stop was requested first (nothing stored). */
static bool
store_state (wsink_t *w, state_writes_fn writes, const void *arg, const char *what)
{
    for (;;) {
        vl_err_t rc = cursor_begin (w->db);
        if (rc == VL_OK)
            rc = writes (w, arg);
        if (rc == VL_OK)
            rc = cursor_commit (w->db);
        else
            cursor_rollback (w->db);
        if (rc == VL_OK) {
            unstall (w);
            return true;
        }
        char why[160];
        snprintf (why, sizeof why, "%s: %s", what, vl_strerror (rc));
        if (!stall (w, why))
            return false;
    }
}

typedef struct {
    const queued_event_t *it;
    const char   *why;
    int           attempts;
} dead_args_t;

static vl_err_t
dead_writes (wsink_t *w, const void *arg)
{
    const dead_args_t *a = arg;
    const queued_event_t *it = a->it;
    vl_err_t rc = cursor_dead_add (w->db, w->name, it->seq, it->ev.topic, it->ev.id,
                                   it->raw, it->rawlen, a->why, a->attempts);
    if (rc == VL_OK) rc = cursor_record (w->db, w->name, it->ev.id, it->seq);
    if (rc == VL_OK && it->carried) rc = cursor_carry_remove (w->db, w->name, it->ev.id);
    return rc;
}

/* Parks IT as a dead letter; waits (stall) until that is stored. False if
 * stopped first: then IT is neither parked nor confirmed. */
static bool
park (wsink_t *w, queued_event_t *it, const char *why, int attempts)
{
    dead_args_t a = { it, why, attempts };
    if (!store_state (w, dead_writes, &a, "cannot store a dead letter"))
        return false;
    log_warn ("sink %s: event %s (seq %llu) parked as dead letter after %d attempt(s): %s",
              w->name, it->ev.id, (unsigned long long) it->seq, attempts, why);
    idwindow_add (&w->ids, it->ev.id, it->seq, w->cursor);
    atomic_fetch_add (&w->dead, 1);
    return true;
}

/* Dead-letter reasons: the stored error starts with one of these, so the
 * log and --list-dead say which, and redrive() takes back only those parked
 * for an outage. */
#define WHY_PERMANENT "permanent failure: "
#define WHY_HORIZON   "down longer than retry_horizon_s"
#define WHY_ATTEMPTS  "max_attempts reached"

/* Writes MS as seconds: "86400 s", "0.150 s". */
static const char *
secs (int64_t ms, char out[32])
{
    if (ms % 1000 == 0)
        snprintf (out, 32, "%lld s", (long long) (ms / 1000));
    else
        snprintf (out, 32, "%lld.%03lld s", (long long) (ms / 1000), (long long) (ms % 1000));
    return out;
}

/* Counts a transient failure (DETAIL); the first one starts an outage,
 * logged once. */
static void
fail_transient (wsink_t *w, const char *detail)
{
    w->down_fails++;
    if (w->down)
        return;
    w->down = true;
    w->down_since = util_mono_ms ();
    w->down_fails = 1;
    atomic_store (&w->down_at, w->down_since);
    char horizon[64] = "until it is delivered", t[32];
    if (w->horizon)
        snprintf (horizon, sizeof horizon, "for up to %s", secs (w->horizon, t));
    log_warn ("sink %s: down (%s); retrying %s, backoff up to %d ms; its events wait in "
              "order, the other sinks go on", w->name, detail, horizon, w->backoff_max);
}

/* Events of the queue and of the batch in progress after the current one. */
static size_t
waiting_events (wsink_t *w)
{
    size_t n = 0;
    for (size_t i = w->batch_at + 1; w->batch && i < w->batch_n; i++)
        n += w->batch[i].item != NULL;
    pthread_mutex_lock (&w->mu);
    for (size_t i = 0; i < w->len; i++)
        n += w->ring[(w->head + i) % w->slots].item != NULL;
    pthread_mutex_unlock (&w->mu);
    return n;
}

/* A delivery (DONE events) went through: ends an outage, logged once with
 * how long it lasted and how many events go out late; the parked ones
 * follow (redrive_dead). */
static void
came_up (wsink_t *w, size_t done)
{
    if (!w->down)
        return;
    char t[32];
    log_info ("sink %s: up again after %s down (%u failed attempts); %zu event(s) "
              "delivered late%s", w->name, secs (util_mono_ms () - w->down_since, t),
              w->down_fails, done + waiting_events (w),
              w->redrive ? "; then those parked for an outage (redrive_dead)" : "");
    w->down = false;
    atomic_store (&w->down_at, 0);
    if (w->redrive)
        w->redrive_due = true;
}

/* After transient failure RES of attempt ATTEMPT: the delay before the next
 * attempt (Retry-After honoured up to RETRY_AFTER_CAP; never past the end
 * of the horizon, where one last attempt is made), or -1 if the event must
 * be parked, with the reason in WHY. */
static int64_t
retry_delay (wsink_t *w, const sink_result_t *res, int attempt, char *why, size_t whylen)
{
    fail_transient (w, res->detail);
    int64_t left = w->horizon ? w->down_since + w->horizon - util_mono_ms () : INT64_MAX;
    if (w->max_attempts && attempt >= w->max_attempts) {
        snprintf (why, whylen, WHY_ATTEMPTS " (%d): %s", w->max_attempts, res->detail);
        return -1;
    }
    if (left <= 0) {
        char t[32];
        snprintf (why, whylen, WHY_HORIZON " (%s): %s", secs (w->horizon, t), res->detail);
        return -1;
    }
    int64_t delay = res->retry_after_ms > 0
                  ? (res->retry_after_ms > RETRY_AFTER_CAP ? RETRY_AFTER_CAP : res->retry_after_ms)
                  : dispatch_backoff_ms (attempt, w->backoff_initial, w->backoff_max);
    return delay < left ? delay : left;
}

/* What to do after failure RES (not blocked) of attempt ATTEMPT: the delay
 * before the next attempt, or -1 to park with the reason in WHY. */
static int64_t
after_failure (wsink_t *w, const sink_result_t *res, int attempt, char *why, size_t whylen)
{
    if (res->status != SINK_FAILED)
        return retry_delay (w, res, attempt, why, whylen);
    snprintf (why, whylen, WHY_PERMANENT "%s", res->detail);
    return -1;
}

/* Delivers one item: transient failures are retried (backoff, Retry-After)
 * for as long as the outage has not outlasted the horizon (and max_attempts,
 * if set); a permanent one parks it at once. */
static outcome_t
deliver (wsink_t *w, queued_event_t *it)
{
    sink_result_t res;
    char why[sizeof res.detail + 128];
    for (int attempt = 1;; attempt++) {
        if (!wait_schedule (w))
            return OUT_ABORT;
        sink_deliver (w->sink, &it->ev, it->seq, &res);
        if (res.status == SINK_DELIVERED || res.status == SINK_HELD) {
            unstall (w);
            w->last_delivery = util_mono_ms ();
            if (res.status == SINK_DELIVERED)
                came_up (w, 1);
            return res.status == SINK_HELD ? OUT_HELD : OUT_DONE;
        }
        if (res.status == SINK_RETRY && res.blocked) {
            attempt--;                            /* not counted: waits for room */
            if (!stall (w, res.detail))
                return OUT_ABORT;
            continue;
        }
        int64_t delay = after_failure (w, &res, attempt, why, sizeof why);
        if (delay < 0)
            return park (w, it, why, attempt) ? OUT_DEAD : OUT_ABORT;
        atomic_fetch_add (&w->retries, 1);
        log_debug ("sink %s: attempt %d for %s failed (%s); retrying in %lld ms", w->name,
                   attempt, it->ev.id, res.detail, (long long) delay);
        if (!nap (w, delay))
            return OUT_ABORT;
    }
}

typedef struct {
    queued_event_t **done;
    size_t           ndone;
    uint64_t         mark;
    bool             settled;
} batch_args_t;

static vl_err_t
batch_writes (wsink_t *w, const void *arg)
{
    const batch_args_t *a = arg;
    vl_err_t rc = VL_OK;
    for (size_t i = 0; rc == VL_OK && i < a->ndone; i++) {
        const queued_event_t *it = a->done[i];
        /* settled: the intents go all at once below; no verify: no intents */
        rc = a->settled || !w->sink->ops->verify ? cursor_record_seen (w->db, w->name, it->ev.id, it->seq)
                        : cursor_record (w->db, w->name, it->ev.id, it->seq);
        if (rc == VL_OK && it->carried)
            rc = cursor_carry_remove (w->db, w->name, it->ev.id);
    }
    if (rc == VL_OK && a->settled)     /* every intent of the batch is resolved */
        rc = cursor_pending_clear (w->db, w->name);
    if (rc == VL_OK && a->mark > w->cursor)
        rc = cursor_set (w->db, w->name, a->mark);
    return rc;
}

/* Persists confirmations (ids) and the cursor, in one transaction; waits
 * (stall) until that succeeds, so nothing more is delivered while the
 * state cannot be written. False if stopped first (nothing persisted). */
static bool
commit_batch (wsink_t *w, queued_event_t **done, size_t ndone, uint64_t mark, bool settled)
{
    if (ndone == 0 && mark <= w->cursor && !settled)
        return true;
    for (size_t i = 0; i < ndone; i++)      /* delivered, whatever the commit does */
        idwindow_add (&w->ids, done[i]->ev.id, done[i]->seq, w->cursor);
    batch_args_t a = { done, ndone, mark, settled };
    if (!store_state (w, batch_writes, &a, "cannot record delivery state"))
        return false;
    if (mark > w->cursor) {
        w->cursor = mark;
        atomic_store (&w->persisted, mark);
    }
    return true;
}

static bool
in_list (queued_event_t **list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (list[i]->ev.id, id) == 0)
            return true;
    return false;
}

static bool
is_dup (wsink_t *w, queued_event_t *it, queued_event_t **done, size_t ndone)
{
    bool seen = false;
    if (in_list (done, ndone, it->ev.id) || in_list (w->held, w->nheld, it->ev.id))
        return true;
    if (idwindow_enabled (&w->ids))
        return idwindow_has (&w->ids, it->ev.id);
    if (cursor_seen (w->db, w->name, it->ev.id, &seen) != VL_OK)
        return false;
    return seen;
}

static void
hold (wsink_t *w, queued_event_t *it)
{
    if (w->nheld == w->held_cap) {
        size_t cap = w->held_cap ? w->held_cap * 2 : 64;
        queued_event_t **g = realloc (w->held, cap * sizeof *g);
        if (!g)
            return;   /* not confirmed: replayed after a restart */
        w->held = g;
        w->held_cap = cap;
    }
    atomic_fetch_add (&it->refs, 1);
    w->held[w->nheld++] = it;
}

typedef struct {
    const slot_t *batch;
    size_t        n;
} pending_args_t;

static vl_err_t
pending_writes (wsink_t *w, const void *arg)
{
    const pending_args_t *a = arg;
    vl_err_t rc = VL_OK;
    for (size_t i = 0; rc == VL_OK && i < a->n; i++)
        if (a->batch[i].item)
            rc = cursor_pending_add (w->db, w->name, a->batch[i].item->ev.id,
                                     a->batch[i].item->seq);
    return rc;
}

/* Records delivery intents for the events of a batch (sinks that can verify
 * after a crash whether an intent reached the output). Nothing is written
 * to the output before they are stored: waits (stall) until they are.
 * False if stopped first. */
static bool
add_pending (wsink_t *w, slot_t *batch, size_t n)
{
    if (!w->sink->ops->verify)
        return true;
    pending_args_t a = { batch, n };
    return store_state (w, pending_writes, &a, "cannot record delivery intents");
}

/* Flushes held items (digest) with retries as deliver() does; confirms or
 * parks them. */
static void
flush_held (wsink_t *w)
{
    sink_result_t res;
    char why[sizeof res.detail + 128];
    size_t nconfirmed = w->nheld;
    atomic_store (&w->oldest, w->held[0]->offered);
    for (int attempt = 1;; attempt++) {
        sink_flush (w->sink, &res);
        if (res.status == SINK_DELIVERED) {
            unstall (w);
            came_up (w, w->nheld);
            break;
        }
        if (res.status == SINK_RETRY && res.blocked) {
            attempt--;                            /* not counted: waits for room */
            if (!stall (w, res.detail))
                return;
            continue;
        }
        int64_t delay = after_failure (w, &res, attempt, why, sizeof why);
        if (delay < 0) {
            /* a sink that can check its output (a file) may have written
               some before failing: those are confirmed, the others parked */
            nconfirmed = 0;
            for (size_t i = 0; i < w->nheld; i++) {
                queued_event_t *it = w->held[i];
                if (w->sink->ops->verify && w->sink->ops->verify (w->sink, it->ev.id))
                    w->held[nconfirmed++] = it;
                else if (park (w, it, why, attempt))
                    queued_event_unref (it);
                else {                    /* stopped: the rest stay held, unconfirmed */
                    for (size_t j = i; j < w->nheld; j++)
                        w->held[nconfirmed++] = w->held[j];
                    w->nheld = nconfirmed;
                    return;
                }
            }
            if (w->sink->ops->discard)
                w->sink->ops->discard (w->sink);
            break;
        }
        atomic_fetch_add (&w->retries, 1);
        log_debug ("sink %s: flush attempt %d failed (%s); retrying in %lld ms", w->name,
                   attempt, res.detail, (long long) delay);
        if (!nap (w, delay))
            return;
    }
    atomic_store (&w->oldest, 0);
    atomic_fetch_add (&w->delivered, nconfirmed);
    /* flush_held runs after a whole batch: every intent of it is resolved */
    commit_batch (w, w->held, nconfirmed, w->held_mark, w->sink->ops->verify != NULL);
    for (size_t i = 0; i < nconfirmed; i++)
        queued_event_unref (w->held[i]);
    w->nheld = 0;
}

/* Processes one batch in order; returns false on abort (stop), with
 * *LEFT = the index of the first item not attempted or not settled. */
static bool
process_items (wsink_t *w, slot_t *batch, size_t n, size_t *left)
{
    queued_event_t *done[BATCH_MAX];
    size_t ndone = 0;
    uint64_t mark = 0;
    int64_t first_done = 0;        /* mono ms of the oldest uncommitted delivery */
    bool ok = true;
    bool remote = !w->sink->ops->verify;
    *left = n;
    if (!add_pending (w, batch, n)) {
        *left = 0;
        return false;
    }
    for (size_t i = 0; i < n && ok; i++) {
        queued_event_t *it = batch[i].item;
        w->batch_at = i;
        if (!it) {
            if (w->nheld)
                w->held_mark = batch[i].mark;
            else
                mark = batch[i].mark;
            continue;
        }
        if (is_dup (w, it, done, ndone)) {
            atomic_fetch_add (&w->dups, 1);
            if (it->carried)
                cursor_carry_remove (w->db, w->name, it->ev.id);
            continue;
        }
        if (remote && ndone > 0 && util_mono_ms () - first_done >= REMOTE_COMMIT_MS) {
            if (!commit_batch (w, done, ndone, mark, false)) {
                *left = i;
                return false;
            }
            ndone = 0;
        }
        atomic_store (&w->oldest, it->offered);
        outcome_t out = deliver (w, it);
        if (out == OUT_DONE) {
            if (ndone == 0)
                first_done = util_mono_ms ();
            done[ndone++] = it;
            atomic_fetch_add (&w->delivered, 1);
            if (remote && ndone >= REMOTE_COMMIT_EVERY) {
                if (!commit_batch (w, done, ndone, mark, false)) {
                    *left = i + 1;
                    return false;
                }
                ndone = 0;
            }
        } else if (out == OUT_HELD)
            hold (w, it);
        ok = out != OUT_ABORT;
        if (!ok)
            *left = i;
    }
    /* intents are cleared once every event of the batch is settled; held
       ones (a log sink's buffered lines) are settled by flush_held */
    bool stored = commit_batch (w, done, ndone, mark, ok && w->sink->ops->verify && w->nheld == 0);
    return ok && stored;
}

/* process_items, with the batch visible to came_up() and the age gauge. */
static bool
process (wsink_t *w, slot_t *batch, size_t n, size_t *left)
{
    w->batch = batch;
    w->batch_n = n;
    bool ok = process_items (w, batch, n, left);
    w->batch = NULL;
    atomic_store (&w->oldest, 0);
    return ok;
}

static size_t
pop_batch (wsink_t *w, slot_t *batch)
{
    size_t n = 0;
    while (w->len > 0 && n < BATCH_MAX) {
        batch[n] = w->ring[w->head];
        if (batch[n].item)
            w->bytes -= batch[n].item->rawlen;
        n++;
        w->head = (w->head + 1) % w->slots;
        w->len--;
    }
    return n;
}

/* Waits for work, a due flush or stop. Called and returns with w->mu held. */
static void
wait_work (wsink_t *w)
{
    while (!w->stop && w->len == 0) {
        int64_t due = w->sink->ops->flush_due && w->nheld ? w->sink->ops->flush_due (w->sink) : -1;
        if (atomic_load (&w->d->reopen_gen) != w->reopen_seen)
            return;
        if (due < 0) {
            pthread_cond_wait (&w->cv, &w->mu);
            continue;
        }
        int64_t left = due - util_mono_ms ();
        if (left <= 0)
            return;
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait (&w->cv, &w->mu, &ts);
    }
}

/* --- redrive of parked events ----------------------------------------------- */

#define REDRIVE_ROUND 64

/* Up to REDRIVE_ROUND dead letters of the sink above row AFTER that were
 * parked for an outage, decoded. */
typedef struct {
    int64_t         after;
    int64_t         row[REDRIVE_ROUND];
    queued_event_t *it[REDRIVE_ROUND];
    size_t          n;
} redrive_round_t;

static bool
parked_for_outage (const char *error)
{
    return error && (strncmp (error, WHY_HORIZON, strlen (WHY_HORIZON)) == 0
                     || strncmp (error, WHY_ATTEMPTS, strlen (WHY_ATTEMPTS)) == 0);
}

static bool
redrive_collect (const cursor_dead_t *d, void *arg)
{
    redrive_round_t *r = arg;
    if (d->n <= r->after || !parked_for_outage (d->error))
        return true;
    queued_event_t *it = calloc (1, sizeof *it);
    if (!it)
        return false;
    atomic_init (&it->refs, 1);
    it->seq = d->seq;
    it->offered = util_mono_ms ();
    if (event_decode (d->data, d->len, &it->ev) != VL_OK || !(it->raw = malloc (d->len ? d->len : 1))) {
        queued_event_unref (it);                  /* stays parked: --retry-dead reports it */
        return true;
    }
    memcpy (it->raw, d->data, d->len);
    it->rawlen = d->len;
    r->row[r->n] = d->n;
    r->it[r->n++] = it;
    return r->n < REDRIVE_ROUND;
}

static vl_err_t
unpark_writes (wsink_t *w, const void *arg)
{
    return cursor_dead_remove (w->db, *(const int64_t *) arg);
}

/* One attempt at parked event IT (dead letter ROW): delivered, it leaves the
 * dead-letter table. False if the redrive must end (stop, or the sink
 * failed again: the next recovery starts it over). */
static bool
redrive_one (wsink_t *w, queued_event_t *it, int64_t row, size_t *sent)
{
    if (!wait_schedule (w))
        return false;
    sink_result_t res;
    atomic_store (&w->oldest, it->offered);
    sink_deliver (w->sink, &it->ev, it->seq, &res);
    if (res.status == SINK_HELD && w->sink->ops->flush)
        sink_flush (w->sink, &res);          /* nothing else is held (see redrive) */
    atomic_store (&w->oldest, 0);
    if (res.status == SINK_DELIVERED) {
        w->last_delivery = util_mono_ms ();
        if (!store_state (w, unpark_writes, &row, "cannot remove a delivered dead letter"))
            return false;
        (*sent)++;
        atomic_fetch_add (&w->redriven, 1);
        return true;
    }
    if (res.status == SINK_FAILED) {
        log_warn ("sink %s: parked event %s (seq %llu) refused again, it stays parked: %s",
                  w->name, it->ev.id, (unsigned long long) it->seq, res.detail);
        return true;
    }
    if (res.blocked)
        w->redrive_due = true;               /* not an outage: after the next batch */
    else
        fail_transient (w, res.detail);
    return false;
}

/* With redrive_dead, once the sink is up again (and at start): delivers
 * again, oldest first and one attempt each, the events it parked for an
 * outage (never those refused for good). Waits until nothing is held, so a
 * digest sink sends each one on its own. */
static void
redrive (wsink_t *w)
{
    if (!w->redrive_due || w->nheld)
        return;
    w->redrive_due = false;
    redrive_round_t r = { 0 };
    size_t sent = 0;
    for (bool go = true; go;) {
        r.n = 0;
        if (cursor_dead_foreach (w->db, w->name, redrive_collect, &r, NULL) != VL_OK || r.n == 0)
            break;
        for (size_t i = 0; i < r.n; i++) {
            go = go && redrive_one (w, r.it[i], r.row[i], &sent);
            queued_event_unref (r.it[i]);
        }
        r.after = r.row[r.n - 1];
    }
    if (sent)
        log_info ("sink %s: %zu parked event(s) delivered again", w->name, sent);
}

/* Keeps the items of BATCH from FROM on (cut by a stop) for dispatch_carry. */
static void
keep_left (wsink_t *w, slot_t *batch, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        if (!batch[i].item)
            continue;
        if (w->nleft == w->left_cap) {
            size_t cap = w->left_cap ? w->left_cap * 2 : BATCH_MAX;
            queued_event_t **g = realloc (w->left, cap * sizeof *g);
            if (!g)
                return;   /* replayed from the cursor, unless the journal is replaced */
            w->left = g;
            w->left_cap = cap;
        }
        atomic_fetch_add (&batch[i].item->refs, 1);
        w->left[w->nleft++] = batch[i].item;
    }
}

typedef struct {
    queued_event_t **v;
    size_t           n, cap;
} carried_t;

static bool
carried_load_one (const char *id, uint64_t seq, const void *data, size_t len, void *arg)
{
    carried_t *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        queued_event_t **g = realloc (c->v, cap * sizeof *g);
        if (!g)
            return false;
        c->v = g;
        c->cap = cap;
    }
    queued_event_t *it = calloc (1, sizeof *it);
    if (!it)
        return false;
    atomic_init (&it->refs, 1);
    it->seq = seq;
    it->offered = util_mono_ms ();
    it->carried = true;
    if (event_decode (data, len, &it->ev) != VL_OK || !(it->raw = malloc (len ? len : 1))) {
        log_warn ("carried event %s (old seq %llu) does not decode: dropped", id,
                  (unsigned long long) seq);
        queued_event_unref (it);
        return true;
    }
    memcpy (it->raw, data, len);
    it->rawlen = len;
    c->v[c->n++] = it;
    return true;
}

/* Delivers the events carried over a broker journal reset (dispatch_carry)
 * before anything from the queue: they are older than what the new journal
 * brings. Each leaves the carry table once confirmed or parked; what a stop
 * interrupts stays there for the next start. Returns false on stop. */
static bool
deliver_carried (wsink_t *w)
{
    carried_t c = { 0 };
    size_t rows = 0;
    if (cursor_carry_foreach (w->db, w->name, carried_load_one, &c, &rows) != VL_OK || c.n < rows)
        log_error ("sink %s: cannot load every carried event (%zu of %zu); the rest stay "
                   "stored for the next start", w->name, c.n, rows);
    if (c.n)
        log_info ("sink %s: delivering %zu event(s) kept over the broker journal reset",
                  w->name, c.n);
    pthread_mutex_lock (&w->mu);
    w->busy = c.n > 0 || w->redrive_due;  /* not idle (dispatch_wait_idle) until done */
    pthread_mutex_unlock (&w->mu);
    bool ok = true;
    slot_t batch[BATCH_MAX];
    for (size_t i = 0; ok && i < c.n; i += BATCH_MAX) {
        size_t k = c.n - i < BATCH_MAX ? c.n - i : BATCH_MAX, left;
        for (size_t j = 0; j < k; j++)
            batch[j] = (slot_t) { .item = c.v[i + j], .mark = 0 };
        ok = process (w, batch, k, &left);   /* on stop, the rest stay in the table */
    }
    for (size_t i = 0; i < c.n; i++)
        queued_event_unref (c.v[i]);
    free (c.v);
    if (ok && w->nheld && w->sink->ops->flush_due
        && w->sink->ops->flush_due (w->sink) <= util_mono_ms ())
        flush_held (w);              /* a log sink's lines: written before idle */
    if (ok)
        redrive (w);                 /* what an earlier run parked (redrive_dead) */
    pthread_mutex_lock (&w->mu);
    w->busy = false;
    pthread_cond_broadcast (&w->cv);
    pthread_mutex_unlock (&w->mu);
    return ok;
}

static void *
worker (void *arg)
{
    wsink_t *w = arg;
    slot_t batch[BATCH_MAX];
    if (!deliver_carried (w))
        return NULL;
    for (;;) {
        pthread_mutex_lock (&w->mu);
        wait_work (w);
        if (w->stop) {
            pthread_mutex_unlock (&w->mu);
            break;
        }
        size_t n = pop_batch (w, batch);
        w->busy = true;
        pthread_mutex_unlock (&w->mu);

        int gen = atomic_load (&w->d->reopen_gen);
        if (gen != w->reopen_seen) {
            w->reopen_seen = gen;
            if (w->sink->ops->reopen)
                w->sink->ops->reopen (w->sink);
        }
        size_t left;
        bool ok = process (w, batch, n, &left);
        if (!ok)
            keep_left (w, batch, left, n);
        for (size_t i = 0; i < n; i++)
            queued_event_unref (batch[i].item);
        if (ok && w->nheld && w->sink->ops->flush_due
            && w->sink->ops->flush_due (w->sink) <= util_mono_ms ())
            flush_held (w);
        if (ok)
            redrive (w);
        pthread_mutex_lock (&w->mu);
        w->busy = false;
        pthread_cond_broadcast (&w->cv);
        pthread_mutex_unlock (&w->mu);
        if (!ok)
            break;
    }
    return NULL;
}

/* --- start / stop --------------------------------------------------------- */

typedef struct {
    wsink_t *w;
    size_t   confirmed, redo;
} settle_t;

static bool
settle_one (const char *id, uint64_t seq, void *arg)
{
    settle_t *s = arg;
    if (s->w->sink->ops->verify && s->w->sink->ops->verify (s->w->sink, id)) {
        cursor_record (s->w->db, s->w->name, id, seq);
        s->confirmed++;
    } else
        s->redo++;
    return true;
}

/* Settles intents left by a crash: confirmed if the sink shows them,
 * otherwise they will be delivered again from the cursor. */
static vl_err_t
settle_pending (wsink_t *w)
{
    settle_t s = { w, 0, 0 };
    vl_err_t rc = cursor_begin (w->db);
    if (rc == VL_OK) rc = cursor_pending_foreach (w->db, w->name, settle_one, &s);
    if (rc == VL_OK) rc = cursor_pending_clear (w->db, w->name);
    if (rc == VL_OK) rc = cursor_commit (w->db);
    else cursor_rollback (w->db);
    if (s.confirmed || s.redo)
        log_info ("sink %s: after an interruption, %zu delivery(ies) confirmed in the output, "
                  "%zu to redo", w->name, s.confirmed, s.redo);
    return rc;
}

vl_err_t
dispatch_start (dispatch_t *self)
{
    srandom ((unsigned) util_now_ms ());
    for (size_t i = 0; i < self->nsinks; i++) {
        wsink_t *w = self->sinks[i];
        if (w->started)
            continue;                     /* started before a reload added sinks */
        vl_err_t rc = VL_OK;
        w->db = cursor_open (self->state_path, self->window, &rc);
        if (rc == VL_OK) rc = cursor_get (w->db, w->name, &w->cursor);
        if (rc == VL_OK) rc = settle_pending (w);
        if (rc == VL_OK && self->window > 0) {
            size_t cap = (size_t) self->window + (size_t) self->window / 8 + 1;
            if (!idwindow_init (&w->ids, cap, cursor_window_cap (self->window)))
                log_warn ("sink %s: no memory for the id window", w->name);   /* SQLite lookups */
            else
                rc = cursor_window_foreach (w->db, w->name, window_load_one, w);
        }
        if (rc != VL_OK)
            return rc;
        w->fed_mark = w->cursor;
        atomic_store (&w->persisted, w->cursor);
        w->reopen_seen = atomic_load (&self->reopen_gen);
        if (pthread_create (&w->thread, NULL, worker, w) != 0)
            return VL_ENOMEM;
        w->started = true;
        log_info ("sink %s (%s): cursor %llu", w->name, w->sink->ops->type,
                  (unsigned long long) w->cursor);
    }
    self->started = true;
    return VL_OK;
}

/* Waits until W's queue is empty and its worker idle, up to END (mono ms).
 * True if idle. */
static bool
wait_idle_one (wsink_t *w, int64_t end)
{
    pthread_mutex_lock (&w->mu);
    while ((w->len > 0 || w->busy) && util_mono_ms () < end) {
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait (&w->cv, &w->mu, &ts);
    }
    bool idle = w->len == 0 && !w->busy;
    pthread_mutex_unlock (&w->mu);
    return idle;
}

bool
dispatch_wait_idle (dispatch_t *self, int timeout_ms)
{
    int64_t end = util_mono_ms () + timeout_ms;
    for (size_t i = 0; i < self->nsinks; i++)
        if (!wait_idle_one (self->sinks[i], end))
            return false;
    return true;
}

void
dispatch_stats (dispatch_t *self, size_t i, dispatch_stats_t *out)
{
    wsink_t *w = self->sinks[i];
    memset (out, 0, sizeof *out);
    pthread_mutex_lock (&w->mu);
    out->queued = w->len;
    int64_t oldest = atomic_load (&w->oldest);      /* the event in progress, else the queue's */
    for (size_t k = 0; !oldest && k < w->len; k++) {
        const queued_event_t *it = w->ring[(w->head + k) % w->slots].item;
        oldest = it ? it->offered : 0;
    }
    pthread_mutex_unlock (&w->mu);
    out->cursor = atomic_load (&w->persisted);
    out->fed_mark = w->fed_mark;
    out->suspended = w->suspended;
    out->delivered = atomic_load (&w->delivered);
    out->dead = atomic_load (&w->dead);
    out->dups = atomic_load (&w->dups);
    out->retries = atomic_load (&w->retries);
    out->overflows = atomic_load (&w->overflows);
    out->redriven = atomic_load (&w->redriven);
    int64_t now = util_mono_ms ();
    int64_t down = atomic_load (&w->down_at);
    out->up = down == 0;
    out->down_ms = down ? now - down : 0;
    out->oldest_ms = oldest > 0 ? now - oldest : 0;
}

static void
request_stop (wsink_t *w)
{
    pthread_mutex_lock (&w->mu);
    w->stop = true;
    pthread_cond_broadcast (&w->cv);
    pthread_mutex_unlock (&w->mu);
}

static void
join_worker (wsink_t *w)
{
    if (w->started)
        pthread_join (w->thread, NULL);
    w->started = false;
}

void
dispatch_stop (dispatch_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->nsinks; i++)
        request_stop (self->sinks[i]);
    for (size_t i = 0; i < self->nsinks; i++)
        join_worker (self->sinks[i]);
}

/* --- reload ------------------------------------------------------------- */

vl_err_t
dispatch_remove (dispatch_t *self, const char *name, int drain_ms)
{
    size_t i = 0;
    while (i < self->nsinks && strcmp (self->sinks[i]->name, name) != 0)
        i++;
    if (i == self->nsinks)
        return VL_ENOTFOUND;
    wsink_t *w = self->sinks[i];
    bool drained = !w->started || drain_ms <= 0
                || wait_idle_one (w, util_mono_ms () + drain_ms);
    request_stop (w);
    join_worker (w);
    log_info ("sink %s: stopped (%s); its cursor %llu stays in the state file", name,
              drained ? "drained" : "not drained: the rest is kept from its cursor",
              (unsigned long long) atomic_load (&w->persisted));
    memmove (self->sinks + i, self->sinks + i + 1, (self->nsinks - i - 1) * sizeof *self->sinks);
    self->nsinks--;
    drop_prefixes (self);
    wsink_free (w);
    return VL_OK;
}

/* Stores ITEM as carried for sink W (see dispatch_carry). */
static vl_err_t
carry_one (dispatch_t *self, wsink_t *w, const queued_event_t *it, size_t *n)
{
    vl_err_t rc = cursor_carry_add (self->db, w->name, it->seq, it->ev.id, it->raw, it->rawlen);
    if (rc == VL_OK)
        (*n)++;
    return rc;
}

vl_err_t
dispatch_carry (dispatch_t *self)
{
    dispatch_stop (self);
    vl_err_t rc = cursor_begin (self->db);
    for (size_t i = 0; rc == VL_OK && i < self->nsinks; i++) {
        wsink_t *w = self->sinks[i];
        size_t n = 0;
        for (size_t k = 0; rc == VL_OK && k < w->nheld; k++)
            rc = carry_one (self, w, w->held[k], &n);
        for (size_t k = 0; rc == VL_OK && k < w->nleft; k++)
            rc = carry_one (self, w, w->left[k], &n);
        for (size_t k = 0; rc == VL_OK && k < w->len; k++) {
            const queued_event_t *it = w->ring[(w->head + k) % w->slots].item;
            if (it)
                rc = carry_one (self, w, it, &n);
        }
        if (rc == VL_OK && n)
            log_warn ("sink %s: %zu event(s) given but not delivered yet (%zu held for a "
                      "digest) kept for delivery after the resync", w->name, n, w->nheld);
    }
    if (rc == VL_OK)
        rc = cursor_commit (self->db);
    else {
        cursor_rollback (self->db);
        log_error ("cannot keep the undelivered events over the journal reset: %s",
                   vl_strerror (rc));
    }
    return rc;
}

void
dispatch_destroy (dispatch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dispatch_t *self = *self_p;
    dispatch_stop (self);
    for (size_t i = 0; i < self->nsinks; i++)
        wsink_free (self->sinks[i]);
    free (self->sinks);
    free (self->prefixes);
    cursor_close (&self->db);
    free (self->state_path);
    free (self);
    *self_p = NULL;
}
