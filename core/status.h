/* status.h: what veille sees, read without disturbing the daemons, for
 * `veille status` and a future web console: per source (the watcher's
 * state file), per sink (the subscriber's state file and the broker's
 * replay endpoint), the broker (its replay endpoint, its journal directory
 * and its metrics endpoint). State files are opened read-only
 * (SQLITE_OPEN_READONLY; WAL lets a reader look while the daemon writes).
 * The caller names what to look at (source ids, sink names and topics,
 * from the configuration); the readers fill in what is stored. Nothing
 * here prints: the caller formats. */
#ifndef VL_STATUS_H
#define VL_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client_sub.h"
#include "vl_err.h"

/* How a state file could be read. */
typedef enum {
    STATUS_FILE_OK,       /* read */
    STATUS_FILE_ABSENT,   /* no such file: the daemon has not run yet */
    STATUS_FILE_OLD,      /* written by an older veille: some values missing
                             (the daemon migrates it at its next start) */
    STATUS_FILE_ERROR     /* cannot be opened or read (why says) */
} status_file_t;

/* One source of the watcher. ID set by the caller (owned by the caller);
 * the reader fills the rest; LAST_ERROR owned (status_sources_clear). Times
 * are ms since the epoch, 0 = never / not stored. */
typedef struct {
    const char *id;
    bool     known;          /* the state file has a row for it */
    int64_t  poll_at;        /* last poll written (a 304 that changes nothing
                                is not written: see docs/operations.md) */
    int      http_status;    /* of that poll; 0 = file:// or no answer */
    int64_t  change_at;      /* last poll that published new/changed/removed */
    int64_t  error_at;       /* last failure */
    char    *last_error;     /* its message, or NULL */
    int      failures;       /* failures in a row (0 = healthy) */
    bool     error_sent;     /* an `error` event was published for them */
    int64_t  next_due;       /* next poll planned (may be past when the
                                watcher is not running) */
} status_source_t;

/* One sink of the subscriber. NAME and PREFIXES set by the caller (owned
 * by the caller; no prefixes = every topic); the readers fill the rest. */
typedef struct {
    const char  *name;
    const char **prefixes;
    size_t       nprefixes;
    bool     known;          /* it has a cursor in the state file */
    uint64_t cursor;         /* every event <= cursor delivered or parked */
    uint64_t dead;           /* dead letters (parked events) */
    uint64_t carried;        /* events carried over a journal reset, waiting */
    bool     has_backlog;    /* the broker answered for it */
    uint64_t backlog;        /* events of its topic prefixes after the cursor
                                (its types/sources/keywords filters may skip
                                some of them) */
    int64_t  oldest_ms;      /* `detected` of the first of them, 0 = none */
} status_sink_t;

/* The broker. */
typedef struct {
    vl_err_t reached;        /* VL_OK: the replay endpoint answered */
    uint64_t head, first, epoch;
    int64_t  journal_bytes;  /* -1 = unknown (journal directory unreadable) */
    int64_t  segments;       /* -1 = unknown */
    int64_t  replay_clients; /* live replay connections (each veille-sub and
                                veille tail holds one); -1 = unknown (no
                                metrics endpoint) */
} status_broker_t;

/* Reads the sources SRCS[0..N) (ids set) from the watcher state file PATH.
 * WHY (LEN bytes) says what went wrong for anything but STATUS_FILE_OK. */
status_file_t status_read_sources (const char *path, status_source_t *srcs, size_t n,
                                   char *why, size_t len);

/* Lists the source ids of the watcher state file PATH (read-only), at
 * most MAX of them, in id order, into *IDS (*N of them; NULL when none).
 * Caller frees each id and the array. WHY (LEN bytes) says what went
 * wrong for anything but STATUS_FILE_OK (STATUS_FILE_OLD is not told here:
 * status_read_sources tells it). */
status_file_t status_list_sources (const char *path, char ***ids, size_t *n, size_t max,
                                   char *why, size_t len);

/* Frees what status_read_sources allocated in SRCS[0..N). */
void status_sources_clear (status_source_t *srcs, size_t n);

/* Reads cursor, dead letters and carried events of SINKS[0..N) from the
 * subscriber state file PATH. */
status_file_t status_read_sinks (const char *path, status_sink_t *sinks, size_t n,
                                 char *why, size_t len);

/* Asks the broker (OPTS->replay_endpoint, curve, request_timeout_ms) for
 * each sink's backlog and the age of its oldest undelivered event; each
 * answer waits at most WAIT_MS. Returns the first failure (the sinks
 * asked before it are filled). */
vl_err_t status_ask_backlog (void *zmq_ctx, const client_sub_opts_t *opts, int wait_ms,
                             status_sink_t *sinks, size_t n);

/* Fills *OUT: head, first and epoch from the replay endpoint (OPTS, at
 * most WAIT_MS), the journal's size from JOURNAL_DIR (NULL = unknown), the
 * replay clients from the broker's metrics endpoint METRICS ("host:port"
 * on loopback, NULL or "" = unknown; at most WAIT_MS). */
void status_read_broker (void *zmq_ctx, const client_sub_opts_t *opts, int wait_ms,
                         const char *journal_dir, const char *metrics,
                         status_broker_t *out);

/* Parses "NAME VALUE" of a Prometheus text exposition TEXT (LEN bytes)
 * for a metric NAME without labels; false if absent. */
bool status_metric (const char *text, size_t len, const char *name, double *value);

#endif
