/* sink_start.c: the first cursor of a new sink (see sink_start.h): the
 * rule only, a pure function; the broker is asked by client_sub_probe. */
#include <string.h>
#include "sink_start.h"

sink_start_mode_t
sink_start_mode (const char *name)
{
    if (name && strcmp (name, "all") == 0)
        return SINK_START_ALL;
    if (name && strcmp (name, "head") == 0)
        return SINK_START_HEAD;
    return SINK_START_AUTO;
}

uint64_t
sink_start_cursor (sink_start_mode_t mode, int64_t grace_ms,
                   const client_sub_journal_t *j, int64_t now_ms, const char **why)
{
    if (mode == SINK_START_ALL) {
        *why = "start = all: every event the journal holds";
        return 0;
    }
    if (mode == SINK_START_HEAD) {
        *why = "start = head: events stored from now on";
        return j->head;
    }
    if (j->head == 0) {
        *why = "start = auto, empty journal: every event from the first one";
        return 0;
    }
    if (j->has_oldest && j->oldest_detected_ms > 0 && j->oldest_detected_ms >= now_ms - grace_ms) {
        *why = "start = auto, new installation (the journal's oldest event is younger than "
               "start_grace_s): the whole journal";
        return j->first > 0 ? j->first - 1 : 0;
    }
    *why = "start = auto, running installation (the journal's oldest event is older than "
           "start_grace_s): events stored from now on";
    return j->head;
}
