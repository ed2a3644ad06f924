/* rbudget.c: per-peer and total byte budget of queued replay answers
 * (see rbudget.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "rbudget.h"

#define BUCKETS     4096u
#define RID_MAX     255u

struct rbudget_peer {
    rbudget_peer_t  *next;           /* hash chain */
    atomic_size_t    bytes;          /* released by the I/O threads */
    atomic_size_t    answers;
    size_t           rid_len;
    unsigned char    rid[RID_MAX];
};

struct rbudget {
    rbudget_opts_t   opts;
    atomic_size_t    total;
    size_t           npeers;
    size_t           sweep_at;       /* full sweep when npeers reaches it */
    rbudget_peer_t  *buckets[BUCKETS];
};

/* Header of a block handed to libzmq; the frame's data follows it. */
typedef struct {
    rbudget_t      *budget;
    rbudget_peer_t *peer;
    size_t          charge;
    bool            ends_answer;
} block_t;

rbudget_t *
rbudget_new (const rbudget_opts_t *opts)
{
    rbudget_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    atomic_init (&self->total, 0);
    self->sweep_at = BUCKETS;
    return self;
}

/* Unlinks and frees the idle peers of chain *LINK, except KEEP. */
static void
s_sweep_chain (rbudget_t *self, rbudget_peer_t **link, const rbudget_peer_t *keep)
{
    while (*link) {
        rbudget_peer_t *p = *link;
        if (p != keep && atomic_load (&p->bytes) == 0) {
            *link = p->next;
            free (p);
            self->npeers--;
        }
        else
            link = &p->next;
    }
}

void
rbudget_destroy (rbudget_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rbudget_t *self = *self_p;
    for (size_t b = 0; b < BUCKETS; b++)
        while (self->buckets[b]) {
            rbudget_peer_t *p = self->buckets[b];
            self->buckets[b] = p->next;
            free (p);
        }
    free (self);
    *self_p = NULL;
}

static size_t
s_hash (const unsigned char *rid, size_t len)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ rid[i]) * 16777619u;
    return h % BUCKETS;
}

/* Frees idle entries everywhere when they have piled up (amortized: the
 * next sweep waits until the count doubles). */
static void
s_sweep_all (rbudget_t *self)
{
    if (self->npeers < self->sweep_at)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        s_sweep_chain (self, &self->buckets[b], NULL);
    self->sweep_at = 2 * self->npeers > BUCKETS ? 2 * self->npeers : BUCKETS;
}

rbudget_peer_t *
rbudget_peer (rbudget_t *self, const void *rid, size_t len)
{
    if (len > RID_MAX)
        len = RID_MAX;   /* libzmq routing ids are at most 255 bytes */
    s_sweep_all (self);
    size_t b = s_hash (rid, len);
    rbudget_peer_t *found = NULL;
    for (rbudget_peer_t *p = self->buckets[b]; p && !found; p = p->next)
        if (p->rid_len == len && memcmp (p->rid, rid, len) == 0)
            found = p;
    s_sweep_chain (self, &self->buckets[b], found);
    if (found)
        return found;
    rbudget_peer_t *p = calloc (1, sizeof *p);
    if (!p)
        return NULL;
    atomic_init (&p->bytes, 0);
    atomic_init (&p->answers, 0);
    p->rid_len = len;
    memcpy (p->rid, rid, len);
    p->next = self->buckets[b];
    self->buckets[b] = p;
    self->npeers++;
    return p;
}

bool
rbudget_fits (const rbudget_t *self, const rbudget_peer_t *peer, size_t charge)
{
    size_t mine = atomic_load (&peer->bytes), all = atomic_load (&self->total);
    return mine + charge <= self->opts.client_bytes && all + charge <= self->opts.total_bytes;
}

bool
rbudget_idle (const rbudget_peer_t *peer)
{
    return atomic_load (&peer->bytes) == 0;
}

bool
rbudget_may_answer (const rbudget_t *self, const rbudget_peer_t *peer)
{
    return atomic_load (&peer->answers) < self->opts.client_answers;
}

/* libzmq's free function (any thread). The peer's bytes are released
 * last: once they reach 0 the main thread may free the entry. */
static void
s_release (void *data, void *hint)
{
    (void) data;
    block_t *blk = hint;
    atomic_fetch_sub (&blk->budget->total, blk->charge);
    if (blk->ends_answer)
        atomic_fetch_sub (&blk->peer->answers, 1);
    atomic_fetch_sub (&blk->peer->bytes, blk->charge);
    free (blk);
}

bool
rbudget_send (rbudget_t *self, rbudget_peer_t *peer, void *sock, const void *data,
              size_t len, bool ends_answer, int flags)
{
    block_t *blk = malloc (sizeof *blk + len);
    if (!blk) {
        zmq_send (sock, "", 0, flags);   /* ends the message its frames began */
        return false;
    }
    *blk = (block_t) { .budget = self, .peer = peer, .ends_answer = ends_answer,
                       .charge = len + RBUDGET_FRAME_OVERHEAD };
    unsigned char *copy = (unsigned char *) (blk + 1);
    if (len)
        memcpy (copy, data, len);
    atomic_fetch_add (&self->total, blk->charge);
    atomic_fetch_add (&peer->bytes, blk->charge);
    if (ends_answer)
        atomic_fetch_add (&peer->answers, 1);
    zmq_msg_t msg;
    zmq_msg_init_data (&msg, copy, len, s_release, blk);
    if (zmq_msg_send (&msg, sock, flags) < 0) {
        zmq_msg_close (&msg);   /* calls s_release */
        return false;
    }
    return true;
}

size_t
rbudget_total (const rbudget_t *self)
{
    return atomic_load (&self->total);
}

size_t
rbudget_peers (const rbudget_t *self)
{
    return self->npeers;
}
