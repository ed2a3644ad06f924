/* sink_log.c: one line per alert on stdout or a file; the file is reopened
 * on SIGHUP (logrotate). deliver() formats the line into a buffer and holds
 * the event (SINK_HELD); flush(), which the dispatcher calls at the end of
 * each queue batch, writes every held line with as few write(2) calls as it
 * can and confirms them all once the last byte is written. A failed write
 * cuts a partly written line off the file and is retried from the start of
 * that line, so no line is written twice or in part; a full disk (ENOSPC,
 * EDQUOT) is reported as blocked: the dispatcher retries until it passes.
 * After a crash, verify() looks for the event id in the tail of the file,
 * so an event written just before a kill -9 is not written twice. */
/* memmem: _GNU_SOURCE comes from the build */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "format.h"
#include "log.h"
#include "sink_log.h"
#include "util.h"

#define VERIFY_TAIL_MAX (32 * 1024 * 1024)
/* held lines: the dispatcher flushes after each batch of at most 128 events
 * (BATCH_MAX in dispatch.c), a line is at most FORMAT_EVENT_MAX */
#define LOG_HELD_MAX    (128 * FORMAT_EVENT_MAX)

typedef struct {
    sink_t  base;
    char   *path;
    bool    json;
    int     fd;          /* -1: to be (re)opened */
    bool    own_fd;
    buf_t   out;         /* lines of the held events, not written yet from SENT on */
    size_t  sent;        /* bytes of OUT already written */
    size_t  nheld;
    int64_t held_since;  /* mono ms of the first held line */
    char   *tail;        /* cached file tail for verify() */
    size_t  tail_len;
} sink_log_t;

vl_err_t
sink_log_format (bool json, const event_t *ev, uint64_t seq, buf_t *out)
{
    return json ? format_json_line (out, ev, seq) : format_text_line (out, ev, seq);
}

static vl_err_t
logsink_open_file (sink_log_t *self)
{
    int fd = open (self->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return vl_err_from_errno (errno);
    self->fd = fd;
    self->own_fd = true;
    return VL_OK;
}

/* The output cannot take anything now (a full disk or quota): the
 * dispatcher waits for it instead of counting attempts. */
static bool
is_full (int errnum)
{
    return errnum == ENOSPC || errnum == EDQUOT;
}

static void
drop_tail (sink_log_t *self)
{
    free (self->tail);
    self->tail = NULL;
    self->tail_len = 0;
}

static void
logsink_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_log_t *self = (sink_log_t *) base;
    drop_tail (self);
    size_t before = self->out.len;
    vl_err_t rc = sink_log_format (self->json, ev, seq, &self->out);
    if (rc == VL_OK)
        rc = buf_putc (&self->out, '\n');
    if (rc != VL_OK) {
        self->out.len = before;
        if (self->out.data)
            self->out.data[before] = '\0';
        sink_result_set (res, SINK_FAILED, "format: %s", vl_strerror (rc));
        return;
    }
    if (self->nheld++ == 0)
        self->held_since = util_mono_ms ();
    sink_result_set (res, SINK_HELD, "buffered");
}

/* Forgets the held lines (written or not) and the buffer's content. */
static void
logsink_discard (sink_t *base)
{
    sink_log_t *self = (sink_log_t *) base;
    buf_reset (&self->out);
    self->sent = 0;
    self->nheld = 0;
}

/* After a failed write: a line written in part (a full disk takes what
 * fits) is cut off the file again, so the file holds whole lines only, a
 * line is never glued to the next, and verify() cannot mistake a cut line
 * for a delivered one. SENT goes back to the start of that line. If the
 * cut fails, SENT stays: the retry completes the line. */
static void
cut_partial_line (sink_log_t *self)
{
    size_t line = self->sent;
    while (line > 0 && self->out.data[line - 1] != '\n')
        line--;
    size_t part = self->sent - line;
    struct stat st;
    if (part == 0 || !self->own_fd || fstat (self->fd, &st) != 0 || !S_ISREG (st.st_mode)
        || (uint64_t) st.st_size < part)
        return;
    if (ftruncate (self->fd, st.st_size - (off_t) part) == 0)
        self->sent = line;
}

static void
logsink_flush (sink_t *base, sink_result_t *res)
{
    sink_log_t *self = (sink_log_t *) base;
    if (self->fd < 0 && logsink_open_file (self) != VL_OK) {
        res->blocked = is_full (errno);
        sink_result_set (res, SINK_RETRY, "cannot open %s: %s", self->path, strerror (errno));
        return;
    }
    if (!self->own_fd)
        fflush (stdout);                    /* stdio output first, if any */
    if (self->sent < self->out.len)
        drop_tail (self);                   /* the file changes */
    while (self->sent < self->out.len) {
        ssize_t n = write (self->fd, self->out.data + self->sent, self->out.len - self->sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            cut_partial_line (self);
            res->blocked = n < 0 && is_full (e);
            sink_result_set (res, SINK_RETRY, "write %s: %s", self->path ? self->path : "stdout",
                             n < 0 ? strerror (e) : "nothing written");
            return;
        }
        self->sent += (size_t) n;
    }
    size_t lines = self->nheld;
    logsink_discard (base);
    if (self->out.cap > 1024 * 1024) {       /* a batch of huge events: give it back */
        buf_free (&self->out);
        buf_init (&self->out, LOG_HELD_MAX);
    }
    sink_result_set (res, SINK_DELIVERED, "written (%zu lines)", lines);
}

static int64_t
logsink_flush_due (sink_t *base)
{
    sink_log_t *self = (sink_log_t *) base;
    return self->nheld ? self->held_since : -1;
}

static void
load_tail (sink_log_t *self)
{
    int fd = open (self->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0) {
        if (fd >= 0)
            close (fd);
        return;
    }
    size_t want = st.st_size > VERIFY_TAIL_MAX ? VERIFY_TAIL_MAX : (size_t) st.st_size;
    self->tail = malloc (want + 1);
    ssize_t got = self->tail ? pread (fd, self->tail, want, st.st_size - (off_t) want) : -1;
    self->tail_len = got > 0 ? (size_t) got : 0;
    close (fd);
}

static bool
logsink_verify (sink_t *base, const char *id)
{
    sink_log_t *self = (sink_log_t *) base;
    if (!self->path || !id || !*id)
        return false;
    if (!self->tail)
        load_tail (self);
    if (!self->tail || self->tail_len == 0)
        return false;
    char needle[160];
    snprintf (needle, sizeof needle, self->json ? "\"id\":\"%s\"" : " id=%s ", id);
    return memmem (self->tail, self->tail_len, needle, strlen (needle)) != NULL;
}

static void
logsink_reopen (sink_t *base)
{
    sink_log_t *self = (sink_log_t *) base;
    if (!self->path)
        return;
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    if (logsink_open_file (self) == VL_OK)
        log_info ("sink %s: reopened %s", base->name, self->path);
    else
        log_error ("sink %s: cannot open %s: %s", base->name, self->path, strerror (errno));
}

static void
logsink_destroy (sink_t *base)
{
    sink_log_t *self = (sink_log_t *) base;
    if (self->fd >= 0 && self->own_fd)
        close (self->fd);
    buf_free (&self->out);
    drop_tail (self);
    free (self->path);
    free (self->base.name);
    free (self);
}

static const sink_ops_t LOG_OPS = {
    .type = "log", .deliver = logsink_deliver, .flush = logsink_flush,
    .discard = logsink_discard, .flush_due = logsink_flush_due, .verify = logsink_verify,
    .reopen = logsink_reopen, .destroy = logsink_destroy,
};

sink_t *
sink_log_new (const sink_log_opts_t *opts, vl_err_t *err)
{
    sink_log_t *self = calloc (1, sizeof *self);
    vl_err_t rc = VL_ENOMEM;
    if (self) {
        self->base.ops = &LOG_OPS;
        self->base.name = strdup (opts->name ? opts->name : "log");
        self->path = util_strdup (opts->path);
        self->json = opts->json;
        self->fd = -1;
        buf_init (&self->out, LOG_HELD_MAX);
        rc = self->base.name && (self->path || !opts->path) ? VL_OK : VL_ENOMEM;
        if (rc == VL_OK && self->path) {
            if ((rc = logsink_open_file (self)) != VL_OK)
                log_error ("sink %s: cannot open %s: %s", self->base.name, self->path,
                           strerror (errno));
        } else if (rc == VL_OK)
            self->fd = STDOUT_FILENO;
    }
    if (rc != VL_OK && self) {
        logsink_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}
