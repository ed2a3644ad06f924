/* sink_start.h: where a sink with no cursor starts (the `start` key).
 *
 * veille-sub places a sink once, the first time it runs with it: it asks
 * the broker's replay endpoint for its head and for the oldest event in
 * the journal (sink_start_probe), computes the first cursor
 * (sink_start_cursor) and stores it (a cursor row, even at 0) before any
 * delivery, so a restart never places the sink again:
 *   all   cursor 0: every event the journal still holds;
 *   head  cursor = head: only events stored from now on;
 *   auto  (default) head, except on a new installation: when the journal is
 *         empty, or its oldest event was detected (`detected`, set by the
 *         watcher) less than start_grace_s before now, the cursor goes just
 *         before that oldest event and the sink gets the whole journal. An
 *         oldest event without `detected` counts as old.
 * docs/configuration.md and subscribers/README.md give the same rule. */
#ifndef VL_SINK_START_H
#define VL_SINK_START_H

#include <stdbool.h>
#include <stdint.h>
#include "curve.h"
#include "vl_err.h"

typedef enum { SINK_START_AUTO, SINK_START_ALL, SINK_START_HEAD } sink_start_mode_t;

/* What the broker said about its journal. */
typedef struct {
    uint64_t head;          /* last seq stored, 0 = empty */
    uint64_t first;         /* oldest seq still in the journal */
    uint64_t epoch;         /* journal epoch (0 = not sent) */
    bool     has_oldest;    /* the oldest event came with the answer */
    int64_t  oldest_detected_ms;   /* its `detected`, 0 if absent */
} sink_start_journal_t;

/* The mode named by the `start` key ("auto", "all", "head"); auto for
 * anything else (the configuration check refuses other values). */
sink_start_mode_t sink_start_mode (const char *name);

/* The cursor a new sink in MODE gets, given journal J, the grace GRACE_MS
 * and the wall clock NOW_MS. *WHY gets a static explanation for the log. */
uint64_t sink_start_cursor (sink_start_mode_t mode, int64_t grace_ms,
                            const sink_start_journal_t *j, int64_t now_ms, const char **why);

/* Asks the replay endpoint EP (with CURVE keys when CURVE is not NULL) for
 * {op: "replay", after: 0, limit: 1} and fills *OUT from the answer.
 * VL_ETIMEOUT without an answer within TIMEOUT_MS, VL_EREMOTE on an ERR
 * answer, VL_EPROTO on a malformed one. */
vl_err_t sink_start_probe (void *zmq_ctx, const char *ep, const curve_client_t *curve,
                           int timeout_ms, sink_start_journal_t *out);

#endif
