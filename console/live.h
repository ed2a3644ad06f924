/* live.h: the console's live stream (server-sent events). Each stream
 * sends the alerts of the archive stored after a row id that match its
 * filters, oldest first, as "id: ROW", "event: alert", "data: JSON" (one
 * line: the JSON has "/" escaped), then waits for more; a ": ping"
 * comment every LIVE_PING_MS keeps idle connections open. The ingest
 * loop tells the hub when rows are stored (live_notify). */
#ifndef VL_LIVE_H
#define VL_LIVE_H

#include <microhttpd.h>
#include <stdint.h>
#include "pages.h"

#define LIVE_PING_MS   15000     /* comment line on an idle stream */
#define LIVE_BATCH     50        /* alerts read from the archive at a time */

typedef struct live live_t;

/* Creates the hub (no stream). Caller owns (live_destroy). NULL on OOM. */
live_t *live_new (void);

/* Rows up to LAST_ID are stored: wakes the streams. */
void live_notify (live_t *self, int64_t last_id);

/* Ends every stream (they return end of stream at their next wake). */
void live_stop (live_t *self);

/* Frees the hub; the streams must be gone (the HTTP server stopped). */
void live_destroy (live_t **self_p);

/* A new stream over ARCHIVE (opened read-only, for the stream's life) of
 * the alerts matching F (copied) stored after row AFTER (< 0: from now).
 * The response is the caller's to queue and destroy; NULL on error. */
struct MHD_Response *live_response (live_t *self, const char *archive,
                                    const pages_filter_t *f, int64_t after);

#endif
