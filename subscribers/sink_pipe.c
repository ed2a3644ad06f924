/* sink_pipe.c: JSON lines to a child's stdin; no shell is ever involved. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "format.h"
#include "log.h"
#include "sink_pipe.h"

extern char **environ;

#define PIPE_KILL_GRACE_MS 1000   /* SIGTERM to SIGKILL */

typedef struct {
    sink_t base;
    char **argv;
    int    timeout_ms;
    pid_t  pid;
    int    fd;      /* write end of the child's stdin (non-blocking), -1 if not running */
    buf_t  line;
} sink_pipe_t;

/* Waits up to MS for the child to exit; true if it did (and was reaped). */
static bool
pipe_reaped (pid_t pid, int ms)
{
    int status;
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return true;
        if (waited >= ms)
            return false;
        poll (NULL, 0, 10);
    }
}

/* Closes the child's stdin and ends it: a child still running gets
 * SIGTERM, then SIGKILL PIPE_KILL_GRACE_MS later. */
static void
pipe_stop (sink_pipe_t *self)
{
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    if (self->pid > 0 && !pipe_reaped (self->pid, 0)) {
        kill (self->pid, SIGTERM);
        if (!pipe_reaped (self->pid, PIPE_KILL_GRACE_MS)) {
            int status;
            kill (self->pid, SIGKILL);
            waitpid (self->pid, &status, 0);
        }
    }
    self->pid = 0;
}

static vl_err_t
pipe_start (sink_pipe_t *self)
{
    int fds[2];
    if (pipe (fds) != 0)
        return vl_err_from_errno (errno);
    fcntl (fds[1], F_SETFD, FD_CLOEXEC);
    fcntl (fds[1], F_SETFL, O_NONBLOCK);   /* writes wait in poll, with a timeout */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_adddup2 (&fa, fds[0], 0);
    /* nothing of ours beyond stdin/stdout/stderr, even from a library that
     * opens a descriptor without close-on-exec (46-sub-pipe checks) */
    posix_spawn_file_actions_addclosefrom_np (&fa, 3);
    int rc = posix_spawnp (&self->pid, self->argv[0], &fa, NULL, self->argv, environ);
    posix_spawn_file_actions_destroy (&fa);
    close (fds[0]);
    if (rc != 0) {
        close (fds[1]);
        self->pid = 0;
        log_error ("sink %s: cannot start %s: %s", self->base.name, self->argv[0], strerror (rc));
        return VL_EIO;
    }
    self->fd = fds[1];
    return VL_OK;
}

static void
pipe_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_pipe_t *self = (sink_pipe_t *) base;
    buf_reset (&self->line);
    if (format_json_line (&self->line, ev, seq) != VL_OK || buf_putc (&self->line, '\n') != VL_OK) {
        sink_result_set (res, SINK_FAILED, "cannot format event");
        return;
    }
    if (self->fd < 0 && pipe_start (self) != VL_OK) {
        sink_result_set (res, SINK_RETRY, "cannot start %s", self->argv[0]);
        return;
    }
    size_t off = 0;
    while (off < self->line.len) {
        ssize_t n = write (self->fd, self->line.data + off, self->line.len - off);
        if (n >= 0) {
            off += (size_t) n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {              /* the pipe is full: wait for room */
            struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };
            int pr = poll (&pfd, 1, self->timeout_ms);
            if (pr > 0 || (pr < 0 && errno == EINTR))
                continue;                   /* room again (or an error the write shows) */
            sink_result_set (res, SINK_RETRY, "%s read nothing for %d s: restarting it",
                             self->argv[0], self->timeout_ms / 1000);
        }
        else
            sink_result_set (res, SINK_RETRY, "write to %s: %s", self->argv[0], strerror (errno));
        pipe_stop (self);
        return;
    }
    sink_result_set (res, SINK_DELIVERED, "written");
}

static void
pipe_destroy (sink_t *base)
{
    sink_pipe_t *self = (sink_pipe_t *) base;
    pipe_stop (self);
    if (self->argv)
        for (char **p = self->argv; *p; p++)
            free (*p);
    free (self->argv);
    buf_free (&self->line);
    free (self->base.name);
    free (self);
}

static const sink_ops_t PIPE_OPS = {
    .type = "pipe", .deliver = pipe_deliver, .destroy = pipe_destroy,
};

sink_t *
sink_pipe_new (const sink_pipe_opts_t *opts, vl_err_t *err)
{
    size_t n = 0;
    while (opts->argv && opts->argv[n])
        n++;
    sink_pipe_t *self = n ? calloc (1, sizeof *self) : NULL;
    vl_err_t rc = n ? VL_ENOMEM : VL_EINVAL;
    if (self) {
        self->base.ops = &PIPE_OPS;
        self->fd = -1;
        self->timeout_ms = (opts->timeout_s > 0 ? opts->timeout_s : 30) * 1000;
        buf_init (&self->line, FORMAT_EVENT_MAX);   /* one JSON line */
        self->base.name = strdup (opts->name ? opts->name : "pipe");
        self->argv = calloc (n + 1, sizeof (char *));
        rc = self->base.name && self->argv ? VL_OK : VL_ENOMEM;
        for (size_t i = 0; rc == VL_OK && i < n; i++)
            if (!(self->argv[i] = strdup (opts->argv[i])))
                rc = VL_ENOMEM;
    }
    if (rc != VL_OK && self) {
        pipe_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}
