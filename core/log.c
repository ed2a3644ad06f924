/* log.c: levelled, sanitised logging (text or JSON lines). Thread-safe:
 * each line is formatted in a local buffer and written with one call. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "json_out.h"
#include "log.h"
#include "util.h"

#define LOG_LINE_MAX 4096

static struct {
    pthread_mutex_t lock;
    char            program[64];
    log_level_t     level;
    bool            json;
    char           *path;
    FILE           *fp;        /* NULL = stderr */
} logger = { PTHREAD_MUTEX_INITIALIZER, "veille", LOG_LVL_INFO, false, NULL, NULL };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

vl_err_t
log_setup (const char *program, log_level_t level, bool json, const char *path)
{
    pthread_mutex_lock (&logger.lock);
    snprintf (logger.program, sizeof logger.program, "%s", program ? program : "veille");
    logger.level = level;
    logger.json = json;
    if (logger.fp)
        fclose (logger.fp);
    logger.fp = NULL;
    free (logger.path);
    logger.path = path ? strdup (path) : NULL;
    vl_err_t rc = VL_OK;
    if (logger.path) {
        logger.fp = fopen (logger.path, "a");
        if (!logger.fp)
            rc = vl_err_from_errno (errno);
    }
    pthread_mutex_unlock (&logger.lock);
    return rc;
}

vl_err_t
log_reopen (void)
{
    vl_err_t rc = VL_OK;
    pthread_mutex_lock (&logger.lock);
    if (logger.path) {
        FILE *fp = fopen (logger.path, "a");
        if (fp) {
            if (logger.fp)
                fclose (logger.fp);
            logger.fp = fp;
        }
        else
            rc = vl_err_from_errno (errno);
    }
    pthread_mutex_unlock (&logger.lock);
    return rc;
}

int
log_level_parse (const char *name)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (name && strcasecmp (name, level_names[i]) == 0)
            return (int) i;
    if (name && strcasecmp (name, "warning") == 0)
        return LOG_LVL_WARN;
    return -1;
}

void
log_set_level (log_level_t level)
{
    logger.level = level;
}

bool
log_enabled (log_level_t level)
{
    return level >= logger.level && level < LOG_LVL_OFF;
}

size_t
log_sanitize (char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return 0;
    const unsigned char *s = (const unsigned char *) src;
    size_t out = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = util_utf8_decode (s + i, len - i, &cp);
        char esc[16];
        size_t elen = 0;
        if (n == 0) {
            elen = (size_t) snprintf (esc, sizeof esc, "\\x%02X", s[i]);
            n = 1;
        }
        else if (cp == '\t')
            esc[elen++] = ' ';
        else if (util_cp_unsafe (cp))
            elen = (size_t) snprintf (esc, sizeof esc, cp < 0x100 ? "\\x%02X" : "\\u%04X", cp);
        if (elen == 0) {
            if (out + n >= cap)
                break;
            memcpy (dst + out, s + i, n);
            out += n;
        }
        else {
            if (out + elen >= cap)
                break;
            memcpy (dst + out, esc, elen);
            out += elen;
        }
        i += n;
    }
    dst[out] = '\0';
    return out;
}

/* Most bytes of one --log-json line: the message (at most LOG_LINE_MAX - 1
 * bytes, each written as at most 6: "\u00XX"), the program name (63) and
 * the rest. */
#define LOG_JSON_MAX (6 * LOG_LINE_MAX + 1024)

/* Writes to FP the JSON line of one message CLEAN (sanitised, valid UTF-8)
 * with the project's JSON writer (json_out.h) into a buffer capped at
 * LOG_JSON_MAX. A line that cannot be built (out of memory) is written
 * without its message (msg null), so that the log says one was lost.
 * Called with the lock held. */
static void
s_write_json (FILE *fp, const char *stamp, log_level_t level, const char *clean)
{
    json_t *o = json_object ();
    json_t *m = json_string (clean);
    int rc = !o || !m;
    if (o) {
        rc |= json_object_set_new (o, "ts", json_string (stamp));
        rc |= json_object_set_new (o, "level", json_string (level_names[level]));
        rc |= json_object_set_new (o, "prog", json_string (logger.program));
        rc |= json_object_set_new (o, "msg", m ? m : json_null ());
    }
    buf_t line;
    buf_init (&line, LOG_JSON_MAX);
    if (rc == 0 && json_out_write (&line, o, JSON_OUT_SAFE) == VL_OK)
        fprintf (fp, "%s\n", line.data);
    else
        fprintf (fp, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":null}\n",
                 stamp, level_names[level]);
    buf_free (&line);
    json_decref (o);
}

void
log_write (log_level_t level, const char *fmt, ...)
{
    if (!log_enabled (level))
        return;
    int saved_errno = errno;
    char raw[LOG_LINE_MAX], clean[LOG_LINE_MAX];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (raw, sizeof raw, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    size_t rawlen = (size_t) n < sizeof raw ? (size_t) n : sizeof raw - 1;
    log_sanitize (clean, sizeof clean, raw, rawlen);

    char stamp[32];
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    size_t sl = strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (stamp + sl, sizeof stamp - sl, ".%03ldZ", ts.tv_nsec / 1000000);

    pthread_mutex_lock (&logger.lock);
    FILE *fp = logger.fp ? logger.fp : stderr;
    if (logger.json)
        s_write_json (fp, stamp, level, clean);
    else
        fprintf (fp, "%s %s %s: %s\n", stamp, level_names[level], logger.program, clean);
    fflush (fp);
    pthread_mutex_unlock (&logger.lock);
    errno = saved_errno;
}
