/* sink_log.h: alerts as lines on stdout or in a file (text or JSON lines). */
#ifndef VL_SINK_LOG_H
#define VL_SINK_LOG_H

#include <stdbool.h>
#include "sink.h"

typedef struct {
    const char *name;
    const char *path;   /* NULL = stdout */
    bool        json;   /* JSON lines instead of readable text */
} sink_log_opts_t;

/* Opens the sink (appending to PATH, created 0640 if needed). Caller owns. */
sink_t *sink_log_new (const sink_log_opts_t *opts, vl_err_t *err);

/* Appends the line for EV (text or JSON, no newline) to OUT; the exact
 * bytes the sink writes, minus the '\n'. */
#include "buf.h"
vl_err_t sink_log_format (bool json, const event_t *ev, uint64_t seq, buf_t *out);

#endif
