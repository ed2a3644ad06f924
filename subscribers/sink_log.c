/* sink_log.c: one line per alert on stdout or a file; the file is reopened
 * on SIGHUP (logrotate). A line is confirmed once fflush succeeded. After a
 * crash, verify() looks for the event id in the tail of the file, so an
 * event written just before a kill -9 is not written twice. */
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

typedef struct {
    sink_t base;
    char  *path;
    bool   json;
    FILE  *fp;
    bool   own_fp;
    buf_t  line;
    char  *tail;        /* cached file tail for verify() */
    size_t tail_len;
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
    if (fd < 0) {
        log_error ("sink %s: cannot open %s: %s", self->base.name, self->path, strerror (errno));
        return vl_err_from_errno (errno);
    }
    self->fp = fdopen (fd, "a");
    if (!self->fp) {
        close (fd);
        return VL_ENOMEM;
    }
    self->own_fp = true;
    return VL_OK;
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
    if (!self->fp && logsink_open_file (self) != VL_OK) {
        sink_result_set (res, SINK_RETRY, "cannot open %s", self->path);
        return;
    }
    buf_reset (&self->line);
    vl_err_t rc = sink_log_format (self->json, ev, seq, &self->line);
    if (rc == VL_OK)
        rc = buf_putc (&self->line, '\n');
    if (rc != VL_OK) {
        sink_result_set (res, SINK_FAILED, "format: %s", vl_strerror (rc));
        return;
    }
    clearerr (self->fp);
    if (fwrite (self->line.data, 1, self->line.len, self->fp) != self->line.len
        || fflush (self->fp) != 0) {
        sink_result_set (res, SINK_RETRY, "write: %s", strerror (errno));
        return;
    }
    sink_result_set (res, SINK_DELIVERED, "written");
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
    if (self->fp)
        fclose (self->fp);
    self->fp = NULL;
    if (logsink_open_file (self) == VL_OK)
        log_info ("sink %s: reopened %s", base->name, self->path);
}

static void
logsink_destroy (sink_t *base)
{
    sink_log_t *self = (sink_log_t *) base;
    if (self->fp && self->own_fp)
        fclose (self->fp);
    else if (self->fp)
        fflush (self->fp);
    buf_free (&self->line);
    drop_tail (self);
    free (self->path);
    free (self->base.name);
    free (self);
}

static const sink_ops_t LOG_OPS = {
    .type = "log", .deliver = logsink_deliver, .verify = logsink_verify,
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
        buf_init (&self->line, 0);
        rc = self->base.name && (self->path || !opts->path) ? VL_OK : VL_ENOMEM;
        if (rc == VL_OK && self->path)
            rc = logsink_open_file (self);
        else if (rc == VL_OK)
            self->fp = stdout;
    }
    if (rc != VL_OK && self) {
        logsink_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}
