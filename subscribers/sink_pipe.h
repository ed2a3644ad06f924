/* sink_pipe.h: alerts as JSON lines on the stdin of a long-running program
 * started without a shell (argv from the configuration). A line counts as
 * delivered once written to the pipe: lines the program had not read when
 * it died are lost (the program is restarted at the next event). A
 * program that takes nothing of a line for timeout_s (a full pipe it does
 * not read) is killed (SIGTERM, SIGKILL a second later) and the event
 * retried, so one stuck program does not hold its sink forever. */
#ifndef VL_SINK_PIPE_H
#define VL_SINK_PIPE_H

#include "sink.h"

typedef struct {
    const char  *name;
    char *const *argv;    /* NULL-terminated; argv[0] is looked up in PATH */
    int          timeout_s;  /* most seconds a write may wait; 0 = 30 */
} sink_pipe_opts_t;

/* Creates the sink; the program is started at the first delivery and
 * restarted if it exits. The process must ignore SIGPIPE. Caller owns. */
sink_t *sink_pipe_new (const sink_pipe_opts_t *opts, vl_err_t *err);

#endif
