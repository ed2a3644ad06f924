/* parse_worker.h: parses fetched documents on a thread of its own, so that
 * the watcher's loop (curl, SQLite, publishing) and the parsing (libxml2,
 * text normalisation, hashing) run on two cores. Jobs come back in the
 * order they were submitted. Nothing else is shared with the thread: the
 * state, the outbox and their transactions stay on the caller's thread.
 *
 * Usage: parse_worker_submit() each fetched document, then in the loop
 * parse_worker_take() the parsed ones; NOTIFY (given at creation) is
 * called from the worker thread after each job, to wake the loop. */
#ifndef VL_PARSE_WORKER_H
#define VL_PARSE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include "fetch.h"
#include "item.h"
#include "source.h"
#include "vl_err.h"

/* One document to parse. The caller fills src, tag and res; the worker
 * fills items, err and why. */
typedef struct parse_job {
    const source_t   *src;       /* borrowed: must outlive the job */
    void             *tag;       /* the caller's, returned as is */
    fetch_result_t    res;       /* owned by the job */
    bool              encode_new;/* also encode each item's `new` event
                                    (detect_encode_new: no keyword filter) */
    item_list_t       items;     /* owned by the job */
    vl_err_t          err;       /* parse_document's result */
    char              why[300];  /* what is wrong when err != VL_OK (parse.h) */
    struct parse_job *next;      /* queue link (worker's) */
} parse_job_t;

typedef struct parse_worker parse_worker_t;

/* Called on the worker thread after each finished job. */
typedef void (parse_notify_fn) (void *arg);

/* Starts the worker thread. NOTIFY(ARG) may be NULL. Caller owns the
 * result (parse_worker_destroy). NULL and *ERR if the thread cannot start. */
parse_worker_t *parse_worker_new (parse_notify_fn *notify, void *arg, vl_err_t *err);

/* Stops the thread (after the job it is on), frees every job not taken,
 * frees *SELF_P and sets it to NULL; NULL-safe. */
void parse_worker_destroy (parse_worker_t **self_p);

/* Queues JOB (the worker owns it until parse_worker_take returns it). */
void parse_worker_submit (parse_worker_t *self, parse_job_t *job);

/* A finished job (caller owns it: parse_job_destroy), or NULL if none. */
parse_job_t *parse_worker_take (parse_worker_t *self);

/* Hands back a taken JOB to be freed on the worker thread (which
 * allocated most of its memory: no cross-thread frees on the loop's
 * thread). NULL-safe. */
void parse_worker_recycle (parse_worker_t *self, parse_job_t *job);

/* Jobs submitted and not yet taken. */
size_t parse_worker_pending (const parse_worker_t *self);

/* Parses JOB on the calling thread (what the worker does with each job). */
void parse_job_run (parse_job_t *job);

/* Frees *JOB_P (its result and items) and sets it to NULL; NULL-safe. */
void parse_job_destroy (parse_job_t **job_p);

#endif
