/* live.c: the console's live stream (see live.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "archive.h"
#include "format.h"
#include "live.h"

struct live {
    pthread_mutex_t mu;
    pthread_cond_t  cond;
    int64_t         last_id;     /* under mu */
    bool            stopping;    /* under mu */
};

live_t *
live_new (void)
{
    live_t *self = calloc (1, sizeof *self);
    if (self) {
        pthread_mutex_init (&self->mu, NULL);
        pthread_cond_init (&self->cond, NULL);
    }
    return self;
}

void
live_notify (live_t *self, int64_t last_id)
{
    pthread_mutex_lock (&self->mu);
    if (last_id > self->last_id)
        self->last_id = last_id;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->mu);
}

void
live_stop (live_t *self)
{
    pthread_mutex_lock (&self->mu);
    self->stopping = true;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->mu);
}

void
live_destroy (live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_cond_destroy (&(*self_p)->cond);
    pthread_mutex_destroy (&(*self_p)->mu);
    free (*self_p);
    *self_p = NULL;
}

/* One stream (one connection, one MHD thread): its own read-only archive
 * handle and filters; freed by MHD (sse_free) when the connection ends. */
typedef struct {
    live_t         *hub;
    archive_t      *ar;
    archive_query_t q;
    char           *fields[6];    /* copies of the filter strings */
    int64_t         last;         /* rows up to here were considered */
    buf_t           pending;      /* bytes not yet given to MHD */
    size_t          off;
    bool            started;      /* the first bytes went out */
} sse_t;

static void
sse_free (void *cls)
{
    sse_t *s = cls;
    archive_close (&s->ar);
    for (size_t i = 0; i < 6; i++)
        free (s->fields[i]);
    buf_free (&s->pending);
    free (s);
}

typedef struct {
    sse_t   *s;
    vl_err_t rc;
    int64_t  max_id;
} sse_ctx_t;

static void
sse_row (void *arg, const archive_row_t *r)
{
    sse_ctx_t *c = arg;
    char when[32];
    format_time_iso (r->detected, when);
    char *title = format_clean_str (r->title, 1024, 0);
    char *url = format_clean_str (r->url, 8192, 0);
    json_t *o = json_pack ("{sI ss ss ss ss ss ss ss}", "id", (json_int_t) r->id,
                           "eid", r->eid, "type", r->type, "source", r->source,
                           "topic", r->topic, "title", title ? title : "", "url", url ? url : "",
                           "detected", when);
    if (c->rc == VL_OK) c->rc = o ? VL_OK : VL_ENOMEM;
    if (c->rc == VL_OK) c->rc = buf_printf (&c->s->pending, "id: %lld\nevent: alert\ndata: ",
                                            (long long) r->id);
    if (c->rc == VL_OK) c->rc = format_json_dump (&c->s->pending, o);
    if (c->rc == VL_OK) c->rc = buf_puts (&c->s->pending, "\n\n");
    json_decref (o);
    free (title);
    free (url);
    if (r->id > c->max_id)
        c->max_id = r->id;
}

/* Appends the alerts stored after s->last that match; advances s->last. */
static vl_err_t
sse_fill (sse_t *s, int64_t known)
{
    sse_ctx_t c = { s, VL_OK, 0 };
    int n = 0;
    s->q.after_id = s->last;
    s->q.oldest_first = true;
    s->q.limit = LIVE_BATCH;
    vl_err_t rc = archive_find (s->ar, &s->q, sse_row, &c, &n);
    if (c.max_id > s->last)
        s->last = c.max_id;
    if (n < LIVE_BATCH && known > s->last)      /* the rest up to KNOWN did not match */
        s->last = known;
    return rc == VL_OK ? c.rc : rc;
}

/* Waits until a row after s->last is known, the server stops or the ping
 * time passes. Returns the last id known, -1 when stopping. */
static int64_t
sse_wait (sse_t *s)
{
    live_t *w = s->hub;
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += LIVE_PING_MS / 1000;
    pthread_mutex_lock (&w->mu);
    while (!w->stopping && w->last_id <= s->last)
        if (pthread_cond_timedwait (&w->cond, &w->mu, &until) == ETIMEDOUT)
            break;
    int64_t known = w->stopping ? -1 : w->last_id;
    pthread_mutex_unlock (&w->mu);
    return known;
}

static ssize_t
sse_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    sse_t *s = cls;
    if (!s->started) {            /* at once, so the browser sees the stream open */
        s->started = true;
        if (buf_puts (&s->pending, "retry: 3000\n: live\n\n") != VL_OK)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    while (s->off >= s->pending.len) {
        buf_reset (&s->pending);
        s->off = 0;
        int64_t before = s->last;
        int64_t known = sse_wait (s);
        if (known < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (known > before && sse_fill (s, known) != VL_OK)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->pending.len == 0 && s->last == before
            && buf_puts (&s->pending, ": ping\n\n") != VL_OK)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->pending.len - s->off < max ? s->pending.len - s->off : max;
    memcpy (buf, s->pending.data + s->off, n);
    s->off += n;
    return (ssize_t) n;
}

struct MHD_Response *
live_response (live_t *self, const char *archive, const pages_filter_t *f, int64_t after)
{
    vl_err_t rc;
    sse_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->hub = self;
    buf_init (&s->pending, 4 * (size_t) FORMAT_EVENT_MAX);
    s->ar = archive_open (archive, false, &rc);
    const char *in[6] = { f->q, f->topic, f->source, f->type, f->since, f->until };
    bool ok = s->ar != NULL;
    for (size_t i = 0; i < 6; i++)
        if (in[i] && !(s->fields[i] = strdup (in[i])))
            ok = false;
    pages_filter_t copy = { s->fields[0], s->fields[1], s->fields[2], s->fields[3],
                            s->fields[4], s->fields[5], 0 };
    pages_query (&copy, &s->q);
    pthread_mutex_lock (&self->mu);
    s->last = after >= 0 ? after : self->last_id;
    pthread_mutex_unlock (&self->mu);
    struct MHD_Response *r = ok ? MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                     sse_read, s, sse_free)
                                : NULL;
    if (!r)
        sse_free (s);
    return r;
}
