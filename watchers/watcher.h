/* watcher.h: the veille-watch daemon: polls due sources through the
 * fetcher, parses and compares what changed, commits items and events (the
 * outbox) in one transaction, and drains the outbox to the broker with the
 * pipelined publisher, deleting a row only once the broker acked it. */
#ifndef VL_WATCHER_H
#define VL_WATCHER_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include "event.h"
#include "fetch.h"
#include "keywords.h"
#include "watch_conf.h"
#include "vl_err.h"

typedef struct {
    bool once;              /* one pass over every source, drain, exit */
    bool publish_existing;  /* publish items found on a first poll */
    int  shard_k, shard_n;  /* poll only sources in shard K of N (N = 0: all) */
    const char *config_path; /* re-read on SIGHUP (daemon); NULL: not reloaded */
} watcher_opts_t;

typedef struct watcher watcher_t;

/* Opens the state, the fetcher and the publisher for CONF (which must
 * outlive the watcher). Caller owns the result. NULL and *ERR on failure
 * (logged). */
watcher_t *watcher_new (const watch_conf_t *conf, const watcher_opts_t *opts, vl_err_t *err);

/* Runs until *STOP becomes nonzero (daemon; main.c sets it on
 * SIGTERM/SIGINT) or the end of the pass (once). When *HUP becomes nonzero
 * (SIGHUP) the log file is reopened and *HUP cleared; the daemon then
 * stops starting polls and, once those in flight are recorded, re-reads
 * opts.config_path: sources added, removed and changed take effect (the
 * state of each is kept, a removed source's until --purge), logged as
 *   configuration reloaded (SIGHUP): sources=N added=N changed=N removed=N
 * A file that does not load is logged (file:line: message) and
 *   reload of PATH failed (...): still running the previous configuration
 * and changes nothing. state, broker, curve keys, metrics_listen, log_file
 * and the fetch settings are only applied at the next start (warned). WAKE_FD, or -1, is
 * the read end of a non-blocking pipe the signal handlers write a byte to:
 * the loop waits on it too, so a signal is seen at once (drained here).
 * The watcher installs no signal handler itself.
 * Returns the process exit code: 0 ok, 1 a source failed (once), the
 * once pass was stopped by a signal, or a runtime failure.
 * On stderr (not through the logger, so always there):
 *   veille-watch: ready sources=N [shard=K/N] broker=EP state=PATH
 * (shard only when sharded) and, with --once, a final
 *   veille-watch: done polled=N new=N changed=N recorded=N not_modified=N errors=N outbox=N
 * The daemon logs (log_info, timestamp and level like every line) a
 *   pass polled=N ... outbox=N
 * line when the polls in flight have all completed (at most every 10 s,
 * counters summed since the previous line). `recorded` is items stored
 * silently on a first poll; `outbox` is events not yet acked. */
int watcher_run (watcher_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
                 int wake_fd);

void watcher_destroy (watcher_t **self_p);

/* True if source ID belongs to shard K of N: the first 32 bits of
 * BLAKE2b-128(id), modulo N, equal K. N <= 1 means every source. */
bool watcher_in_shard (const char *id, int k, int n);

/* The fetcher options of CONF. */
fetch_opts_t watcher_fetch_opts (const watch_conf_t *conf);

/* Keyword filter of SRC (include/exclude), or NULL when it has none;
 * *ERR set on error (logged). Caller owns the result (keywords_destroy). */
keywords_t *watcher_keywords (const source_t *src, vl_err_t *err);

/* Writes EV to OUT as one JSON object on one line (keys as in the msgpack
 * schema). */
void watcher_print_event (FILE *out, const event_t *ev);

#endif
