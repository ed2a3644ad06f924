/* log.h: levelled logging to stderr or a file, text or JSON lines.
 * Anything that came from outside is passed as an argument to a %s and is
 * sanitised: control characters and escape sequences never reach the log. */
#ifndef VL_LOG_H
#define VL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include "vl_err.h"

typedef enum { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR, LOG_LVL_OFF } log_level_t;

/* Configures the process-wide logger. PROGRAM names the binary in each line.
 * PATH NULL means stderr. Returns VL_EIO if the file cannot be opened. */
vl_err_t log_setup (const char *program, log_level_t level, bool json, const char *path);

/* Reopens the log file (SIGHUP, logrotate). No-op on stderr. */
vl_err_t log_reopen (void);

/* Parses "debug|info|warn|error"; returns -1 on anything else. */
int log_level_parse (const char *name);

void log_set_level (log_level_t level);
bool log_enabled (log_level_t level);

/* Writes one line. Every %s argument and the formatted result are
 * sanitised (C0/C1 controls, ESC sequences, DEL and invalid UTF-8 become
 * visible escapes), so hostile text cannot forge lines or drive a terminal. */
void log_write (log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define log_debug(...) log_write (LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write (LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write (LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_write (LOG_LVL_ERROR, __VA_ARGS__)

/* Copies SRC (LEN bytes) to DST (CAP bytes, always NUL-terminated) with
 * every control character, escape sequence and invalid UTF-8 byte replaced
 * by a visible \xNN escape. Returns the length written. Shared by the log
 * module and the log sink. */
size_t log_sanitize (char *dst, size_t cap, const char *src, size_t len);

#endif
