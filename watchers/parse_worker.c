/* parse_worker.c: one parsing thread fed through two mutex-protected FIFO
 * queues (see parse_worker.h). */
#include "parse_worker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <libxml/parser.h>

#include "detect.h"
#include "event.h"
#include "parse.h"
#include "util.h"

typedef struct {
    parse_job_t *head, *tail;
} queue_t;

struct parse_worker {
    pthread_t        thread;
    pthread_mutex_t  lock;
    pthread_cond_t   wake;       /* todo or trash not empty, or stop */
    queue_t          todo, done;
    queue_t          trash;      /* jobs to free (where they were allocated) */
    size_t           pending;    /* submitted, not yet taken */
    bool             stop;
    parse_notify_fn *notify;
    void            *arg;
};

static void queue_push (queue_t *q, parse_job_t *job)
{
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
}

static parse_job_t *queue_pop (queue_t *q)
{
    parse_job_t *job = q->head;
    if (job) {
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        job->next = NULL;
    }
    return job;
}

/* Encodes the `new` event of every item (an item whose event does not
 * encode is left without: detect_items encodes it and reports why). */
static void encode_new (parse_job_t *job)
{
    int64_t now = util_now_ms ();
    for (size_t i = 0; i < job->items.n; i++) {
        parsed_item_t *it = &job->items.items[i];
        if (!it->identity || !*it->identity)
            continue;
        buf_t b;
        buf_init (&b, EVENT_MAX_BYTES);
        if (buf_reserve (&b, 2048) == VL_OK
            && detect_encode_new (job->src, it, now, &b) == VL_OK) {
            it->new_event_len = b.len;
            it->new_event = b.data;   /* owned by the item now */
        } else
            buf_free (&b);
    }
}

void parse_job_run (parse_job_t *job)
{
    const fetch_result_t *res = &job->res;
    parse_ctx_t ctx = { .base_url = res->final_url ? res->final_url : job->src->url,
                        .content_type = res->content_type,
                        .why = job->why, .whylen = sizeof job->why };
    job->err = parse_document (job->src, &ctx, res->body, res->len, &job->items);
    if (job->err == VL_OK)
        job->why[0] = '\0';
    else if (job->encode_new)
        encode_new (job);
}

void parse_job_destroy (parse_job_t **job_p)
{
    if (!job_p || !*job_p)
        return;
    fetch_result_clear (&(*job_p)->res);
    item_list_free (&(*job_p)->items);
    free (*job_p);
    *job_p = NULL;
}

static void queue_free (queue_t *q)
{
    parse_job_t *job;
    while ((job = queue_pop (q)))
        parse_job_destroy (&job);
}

static void *worker_main (void *arg)
{
    parse_worker_t *self = arg;
    pthread_setname_np (pthread_self (), "veille-parse");
    pthread_mutex_lock (&self->lock);
    for (;;) {
        while (!self->stop && !self->todo.head && !self->trash.head)
            pthread_cond_wait (&self->wake, &self->lock);
        if (self->stop)
            break;
        if (self->trash.head) {
            queue_t trash = self->trash;
            self->trash.head = self->trash.tail = NULL;
            pthread_mutex_unlock (&self->lock);
            queue_free (&trash);
            pthread_mutex_lock (&self->lock);
            continue;
        }
        parse_job_t *job = queue_pop (&self->todo);
        pthread_mutex_unlock (&self->lock);
        parse_job_run (job);
        pthread_mutex_lock (&self->lock);
        queue_push (&self->done, job);
        if (self->notify)
            self->notify (self->arg);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

parse_worker_t *parse_worker_new (parse_notify_fn *notify, void *arg, vl_err_t *err)
{
    parse_worker_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    self->notify = notify;
    self->arg = arg;
    xmlInitParser ();   /* once, before any other thread uses libxml2 */
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    if (pthread_create (&self->thread, NULL, worker_main, self) != 0) {
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *err = VL_ENOMEM;
        return NULL;
    }
    *err = VL_OK;
    return self;
}

void parse_worker_destroy (parse_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    parse_worker_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    queue_free (&self->todo);
    queue_free (&self->done);
    queue_free (&self->trash);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void parse_worker_submit (parse_worker_t *self, parse_job_t *job)
{
    pthread_mutex_lock (&self->lock);
    queue_push (&self->todo, job);
    self->pending++;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
}

parse_job_t *parse_worker_take (parse_worker_t *self)
{
    pthread_mutex_lock (&self->lock);
    parse_job_t *job = queue_pop (&self->done);
    if (job)
        self->pending--;
    pthread_mutex_unlock (&self->lock);
    return job;
}

void parse_worker_recycle (parse_worker_t *self, parse_job_t *job)
{
    if (!job)
        return;
    pthread_mutex_lock (&self->lock);
    queue_push (&self->trash, job);
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
}

size_t parse_worker_pending (const parse_worker_t *self)
{
    return self->pending;   /* only the caller's thread changes it */
}
