/* sink_start.h: where a sink with no cursor starts (the `start` key).
 *
 * veille-sub places a sink once, the first time it runs with it: it asks
 * the broker's replay endpoint for its head and for the oldest event in
 * the journal (client_sub_probe), computes the first cursor
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
#include "client_sub.h"

typedef enum { SINK_START_AUTO, SINK_START_ALL, SINK_START_HEAD } sink_start_mode_t;

/* The mode named by the `start` key ("auto", "all", "head"); auto for
 * anything else (the configuration check refuses other values). */
sink_start_mode_t sink_start_mode (const char *name);

/* The cursor a new sink in MODE gets, given journal J, the grace GRACE_MS
 * and the wall clock NOW_MS. *WHY gets a static explanation for the log. */
uint64_t sink_start_cursor (sink_start_mode_t mode, int64_t grace_ms,
                            const client_sub_journal_t *j, int64_t now_ms, const char **why);

#endif
