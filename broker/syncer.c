/* syncer.c: fdatasync in a background thread (see syncer.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "syncer.h"

struct syncer {
    pthread_t       thread;
    pthread_mutex_t lock;
    pthread_cond_t  cond;        /* signalled on every state change */
    bool            stop;
    bool            pending;     /* requested, not started or running */
    bool            reported;    /* the outcome of the last sync was polled */
    int             fd;
    uint64_t        gen;
    int             errnum;      /* of the last sync, 0 = ok */
};

static void *
s_main (void *arg)
{
    syncer_t *self = arg;
    pthread_mutex_lock (&self->lock);
    for (;;) {
        while (!self->pending && !self->stop)
            pthread_cond_wait (&self->cond, &self->lock);
        if (!self->pending)
            break;
        int fd = self->fd;
        pthread_mutex_unlock (&self->lock);
        int errnum = fdatasync (fd) < 0 ? errno : 0;
        pthread_mutex_lock (&self->lock);
        self->errnum = errnum;
        self->pending = false;
        self->reported = false;
        pthread_cond_broadcast (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

syncer_t *
syncer_new (void)
{
    syncer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->reported = true;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->cond, NULL);
    if (pthread_create (&self->thread, NULL, s_main, self) != 0) {
        pthread_cond_destroy (&self->cond);
        pthread_mutex_destroy (&self->lock);
        free (self);
        return NULL;
    }
    return self;
}

void
syncer_destroy (syncer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    syncer_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stop = true;          /* a pending sync still runs first */
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

bool
syncer_request (syncer_t *self, int fd, uint64_t gen)
{
    pthread_mutex_lock (&self->lock);
    bool ok = !self->pending;
    if (ok) {
        self->fd = fd;
        self->gen = gen;
        self->pending = true;
        pthread_cond_broadcast (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
    return ok;
}

bool
syncer_poll (syncer_t *self, uint64_t *gen, int *errnum)
{
    pthread_mutex_lock (&self->lock);
    bool ready = !self->pending && !self->reported;
    if (ready) {
        self->reported = true;
        *gen = self->gen;
        *errnum = self->errnum;
    }
    pthread_mutex_unlock (&self->lock);
    return ready;
}

bool
syncer_busy (syncer_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool busy = self->pending;
    pthread_mutex_unlock (&self->lock);
    return busy;
}

void
syncer_wait (syncer_t *self)
{
    pthread_mutex_lock (&self->lock);
    while (self->pending)
        pthread_cond_wait (&self->cond, &self->lock);
    pthread_mutex_unlock (&self->lock);
}
