/* sink.h: the delivery interface every sink implements (log, mail,
 * webhook, pipe), and the factory that builds one from its config group.
 * A sink is used by one thread at a time (its dispatch worker). */
#ifndef VL_SINK_H
#define VL_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <libconfig.h>
#include "event.h"
#include "vl_err.h"

typedef enum {
    SINK_DELIVERED,   /* the receiver confirmed it */
    SINK_HELD,        /* accepted into a batch (digest); confirmed by flush */
    SINK_RETRY,       /* transient failure: try again later */
    SINK_FAILED       /* permanent failure: dead-letter it */
} sink_status_t;

typedef struct {
    sink_status_t status;
    int64_t       retry_after_ms;   /* > 0: the receiver asked to wait (429) */
    bool          blocked;          /* SINK_RETRY: the output cannot take anything now
                                       (disk full); retried with backoff until it can,
                                       never counted against max_attempts */
    char          detail[256];      /* human-readable reason, for logs/dead letters */
} sink_result_t;

typedef struct sink sink_t;

typedef struct {
    const char *type;
    /* Delivers EV (seq SEQ); fills *RES. */
    void (*deliver) (sink_t *self, const event_t *ev, uint64_t seq, sink_result_t *res);
    /* Sends what is held (digest); NULL if the sink never holds. */
    void (*flush) (sink_t *self, sink_result_t *res);
    /* Drops what is held (after it was parked as dead letters). */
    void (*discard) (sink_t *self);
    /* Monotonic ms when held items must be flushed; -1 if nothing held. */
    int64_t (*flush_due) (sink_t *self);
    /* After a crash: true if the event ID certainly reached the output
       (a log file can check); NULL = cannot tell, deliver again. */
    bool (*verify) (sink_t *self, const char *id);
    /* Reopens files (SIGHUP); NULL if nothing to reopen. */
    void (*reopen) (sink_t *self);
    void (*destroy) (sink_t *self);
} sink_ops_t;

struct sink {
    const sink_ops_t *ops;
    char             *name;
};

/* Builds the sink described by config group GRP (already validated against
 * sub_conf_keys). VL_ECONFIG (logged with file:line) if it cannot be set
 * up (missing secret, bad URL...). Caller owns the result. */
sink_t *sink_new_from_config (const config_setting_t *grp, vl_err_t *err);

/* Convenience wrappers (NULL-safe where it makes sense). */
void sink_deliver (sink_t *self, const event_t *ev, uint64_t seq, sink_result_t *res);
/* Writes what SELF holds (ops->flush, which must not be NULL) into a reset *RES. */
void sink_flush (sink_t *self, sink_result_t *res);
void sink_destroy (sink_t **self_p);

/* Sets RES to STATUS with a printf-style detail. */
void sink_result_set (sink_result_t *res, sink_status_t status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* A sample event for --test-sink (caller clears it with event_clear). */
vl_err_t sink_sample_event (event_t *ev);

#endif
