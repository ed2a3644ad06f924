/* broker.h: the veille broker: one thread, one zmq_poll loop over three
 * sockets.
 *
 *  publish  ROUTER  [token][topic][event] in, [token][status][seq][reason?]
 *                   out. Each loop iteration takes up to max_batch messages
 *                   without waiting, validates each (3 frames, 8-byte token,
 *                   topic valid and not under _sys. except _sys.source.<id>,
 *                   event frame <= EVENT_MAX_BYTES, strict event_validate,
 *                   event.topic == topic frame), answers a
 *                   known id with DUPLICATE + the original seq, appends the
 *                   rest to the journal, makes ONE journal_commit for the
 *                   batch (group commit), then sends the acks (STORED +
 *                   seq) and fans the stored events out. Invalid messages
 *                   get REJECTED with a reason frame, are counted by reason
 *                   and logged, rate-limited (reject.h); a frame over
 *                   PUBLISH_FRAME_MAX (2 x EVENT_MAX_BYTES) never reaches
 *                   the broker: ZeroMQ drops the connection. If the journal cannot
 *                   write (disk full), the batch is answered UNAVAILABLE
 *                   (nothing stored) and the journal is tried again at most
 *                   once a second; the episode is logged when it starts and
 *                   when it ends.
 *  subscribe XPUB   [topic][seq 8 B BE][event] out; `_sys.heartbeat` every
 *                   heartbeat_ms and `_sys.stats` every stats_interval_s
 *                   (seq frame = head, body a msgpack map). ZMQ_XPUB_NODROP
 *                   is off and SNDHWM = sndhwm: a subscriber that does not
 *                   keep up LOSES messages past the high-water mark instead
 *                   of slowing the broker; it notices the gap from the
 *                   heartbeat head and recovers through replay.
 *  replay   ROUTER  see replay.h; at most replay_connections live
 *                   connections (connlimit.h), answers held within the
 *                   replay_*_bytes budgets (rbudget.h).
 * With curve_secret_key set, the three endpoints are CURVE servers with
 * allow-lists (auth.h).
 *
 * Not thread-safe; broker_run owns the calling thread. */
#ifndef VL_BROKER_H
#define VL_BROKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "journal.h"
#include "reject.h"
#include "vl_err.h"

/* publish_connections by default: each may hold a partial frame of up to
 * PUBLISH_FRAME_MAX (2 MiB), so 64 bound that to 128 MiB. */
#define PUBLISH_DEFAULT_CONNECTIONS 64
/* subscribe_connections by default. */
#define SUBSCRIBE_DEFAULT_CONNECTIONS 1024

typedef struct {
    char          *publish;        /* endpoints as configured */
    char          *subscribe;
    char          *replay;
    char          *journal_dir;
    char          *curve_secret_key;   /* NULL = plaintext (see auth.h) */
    char          *curve_publishers;   /* directory of allowed *.pub */
    char          *curve_subscribers;
    journal_opts_t journal;
    size_t         dedup_window;
    int            heartbeat_ms;
    int            stats_interval_s;
    int            sndhwm;
    int            max_batch;
    char          *metrics_listen;     /* "127.0.0.1:9101"; NULL or "" = no metrics */
    int64_t        replay_client_bytes;    /* answer bytes queued per replay client; 0 = default */
    int64_t        replay_total_bytes;     /* ... for all replay clients; 0 = default */
    int            replay_client_requests; /* answers in flight per client; 0 = default */
    int            replay_connections;     /* live replay connections; 0 = default */
    int            publish_connections;    /* live publish connections; 0 = default */
    int            subscribe_connections;  /* live subscribe connections; 0 = default */
} broker_opts_t;

typedef struct {
    uint64_t received, stored, duplicates, rejected, unavailable;
    uint64_t rejected_by[REJECT_COUNT];   /* rejected, by reason (reject.h) */
    /* read at each metrics update: */
    uint64_t pub_connections, pub_refused;   /* publish_connections (connlimit) */
    uint64_t sub_connections, sub_refused;   /* subscribe_connections (connlimit) */
    uint64_t revoked, handshakes_failed;     /* auth_stats (auth.h), CURVE only */
} broker_counters_t;

typedef struct broker broker_t;

/* Opens the journal, rebuilds the dedup window from its tail, creates the
 * sockets and binds them. OPTS is copied. Returns NULL and sets *ERR
 * (VL_ENET when an endpoint cannot be bound, VL_ECONFIG for unusable CURVE
 * keys, journal errors) on failure.
 * Caller owns the result. */
broker_t *broker_new (const broker_opts_t *opts, vl_err_t *err);

/* Commits and syncs the journal, closes the sockets, destroys *self_p and
 * sets it to NULL; NULL-safe. */
void broker_destroy (broker_t **self_p);

/* The bound endpoints (wildcard ports resolved), owned by the broker. */
const char *broker_publish_endpoint (const broker_t *self);
const char *broker_subscribe_endpoint (const broker_t *self);
const char *broker_replay_endpoint (const broker_t *self);

/* Last committed seq. */
uint64_t broker_head (const broker_t *self);

/* Runs the loop until *STOP becomes nonzero (set by a signal handler).
 * When *HUP becomes nonzero *HUP is cleared, the log is reopened and the
 * CURVE allow-lists are re-read; a removed key can do nothing more on any
 * endpoint (auth.h: messages of revoked keys dropped on the ROUTER
 * endpoints, the subscribe endpoint re-bound when a subscriber key went).
 * Returns VL_OK on a requested stop, VL_ENET if ZeroMQ fails. */
vl_err_t broker_run (broker_t *self, volatile sig_atomic_t *stop,
                     volatile sig_atomic_t *hup);

/* Copies the publish counters. */
void broker_counters (const broker_t *self, broker_counters_t *out);

/* Frees the strings of OPTS (filled by broker_opts_read). */
void broker_opts_clear (broker_opts_t *opts);

#endif
