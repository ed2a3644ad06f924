/* fetch.h: concurrent HTTP(S)/file fetching with libcurl multi.
 *
 * Conditional GET (If-None-Match / If-Modified-Since; a 304 is "nothing to
 * do"), gzip/deflate, redirects limited in number and to http/https only,
 * connect and total timeouts, a cap on the body both as downloaded and as
 * decompressed, a per-host limit on concurrent transfers and a minimum
 * interval between two requests to one host, custom headers, user agent
 * and basic auth from the environment or an owner-only file.
 *
 * Usage: fetch_add() requests, then loop { fetch_perform(); fetch_take()
 * finished results; fetch_wait() } until fetch_active() is 0. */
#ifndef VL_FETCH_H
#define VL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "source.h"
#include "vl_err.h"

typedef struct {
    int         max_concurrency;      /* transfers at once (default 32) */
    int         per_host_concurrency; /* per host (default 2) */
    int         per_host_interval_ms; /* minimum gap between starts per host */
    int         connect_timeout_s;    /* default 10 */
    int         timeout_s;            /* default 30 */
    int64_t     max_body_bytes;       /* default 8 MiB */
    int         max_redirects;        /* default 5 */
    const char *user_agent;           /* copied */
} fetch_opts_t;

/* Outcome of one request. Strings owned by the result (fetch_result_clear). */
typedef struct {
    vl_err_t err;           /* VL_OK, or VL_ETIMEOUT, VL_ETOOBIG, VL_EREMOTE
                               (HTTP >= 400), VL_EDENIED (refused redirect or
                               protocol, auth secret unreadable), VL_ENET,
                               VL_ENOMEM */
    char     error[256];    /* human summary when err != VL_OK: "HTTP 500",
                               "timeout", "too big", "redirect refused: ..." */
    long     status;        /* last HTTP status (0 for file://) */
    bool     not_modified;  /* 304: body empty, nothing to do */
    char    *body;          /* NUL-terminated; len bytes (may hold NULs) */
    size_t   len;
    char    *final_url;     /* after redirects: the base for relative links */
    char    *content_type;
    char    *etag;          /* validators of the answer (NULL if none) */
    char    *last_modified;
    int64_t  elapsed_ms;
} fetch_result_t;

typedef struct fetch fetch_t;

/* Creates a fetcher (curl_global_init must have been called; the watcher
 * does it in main). Caller owns the result (fetch_destroy). */
fetch_t *fetch_new (const fetch_opts_t *opts, vl_err_t *err);

/* Aborts every transfer, frees *SELF_P and sets it to NULL; NULL-safe. */
void fetch_destroy (fetch_t **self_p);

/* Queues a request for SRC (which must outlive it). ETAG and
 * LAST_MODIFIED (copied; NULL = unconditional) make it conditional.
 * TAG comes back with the result. VL_EDENIED if the source's auth secret
 * cannot be read (logged), VL_EINVAL for a bad URL, VL_ENOMEM. */
vl_err_t fetch_add (fetch_t *self, const source_t *src, const char *etag,
                    const char *last_modified, void *tag);

/* Starts what the limits allow and advances every transfer. Never blocks. */
vl_err_t fetch_perform (fetch_t *self);

/* Moves one finished result into *OUT (overwritten; caller clears it) and
 * its tag into *TAG. False when none is ready. */
bool fetch_take (fetch_t *self, fetch_result_t *out, void **tag);

/* Waits up to TIMEOUT_MS for network activity, for the EXTRA descriptors
 * (curl_multi_poll semantics; revents filled) or for fetch_wakeup. The wait
 * is shortened to the next curl timer or per-host start slot. */
vl_err_t fetch_wait (fetch_t *self, struct curl_waitfd *extra, unsigned nextra,
                     int timeout_ms);

/* Interrupts a fetch_wait from another thread. */
void fetch_wakeup (fetch_t *self);

/* Requests queued or in flight, and results not yet taken. */
size_t fetch_active (const fetch_t *self);

/* Convenience: performs one request for SRC to completion (blocking).
 * For `--test` and tests. */
vl_err_t fetch_one (fetch_t *self, const source_t *src, const char *etag,
                    const char *last_modified, fetch_result_t *out);

/* Frees the strings of *SELF and zeroes it. NULL-safe. */
void fetch_result_clear (fetch_result_t *self);

#endif
