/* rbudget.c: per-peer and total byte budget of queued replay answers
 * (see rbudget.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "hset.h"
#include "rbudget.h"

#define SWEEP_MIN   4096u          /* no sweep below this many entries */
#define RID_MAX     255u

struct rbudget_peer {
    atomic_size_t    bytes;          /* released by the I/O threads */
    atomic_size_t    answers;
    size_t           rid_len;
    unsigned char    rid[RID_MAX];
};

struct rbudget {
    rbudget_opts_t   opts;
    atomic_size_t    total;
    rbudget_peer_t **peers;          /* the entries */
    size_t           npeers, peers_cap;
    size_t           sweep_at;       /* sweep when npeers reaches it */
    hset_t           index;          /* routing id -> index in peers */
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
    if (hset_init (&self->index, 64, HSET_MAX_ENTRIES) != VL_OK) {
        free (self);
        return NULL;
    }
    self->opts = *opts;
    atomic_init (&self->total, 0);
    self->sweep_at = SWEEP_MIN;
    return self;
}

void
rbudget_destroy (rbudget_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rbudget_t *self = *self_p;
    for (size_t i = 0; i < self->npeers; i++)
        free (self->peers[i]);
    free (self->peers);
    hset_free (&self->index);
    free (self);
    *self_p = NULL;
}

static uint64_t
s_hash (const rbudget_t *self, const unsigned char *rid, size_t len)
{
    return hset_hash (&self->index, rid, len);
}

/* Frees the idle entries when they have piled up (amortized: the next
 * sweep waits until the count doubles) and indexes the others anew. */
static void
s_sweep (rbudget_t *self)
{
    if (self->npeers < self->sweep_at)
        return;
    size_t k = 0;
    for (size_t i = 0; i < self->npeers; i++) {
        if (atomic_load (&self->peers[i]->bytes) == 0)
            free (self->peers[i]);
        else
            self->peers[k++] = self->peers[i];
    }
    self->npeers = k;
    hset_clear (&self->index);
    for (size_t i = 0; i < k; i++)   /* fits: the table held more */
        hset_add (&self->index, s_hash (self, self->peers[i]->rid, self->peers[i]->rid_len),
                  (uint32_t) i);
    self->sweep_at = 2 * k > SWEEP_MIN ? 2 * k : SWEEP_MIN;
}

/* Appends a new entry for RID with HASH; NULL on OOM. */
static rbudget_peer_t *
s_add (rbudget_t *self, const void *rid, size_t len, uint64_t hash)
{
    if (self->npeers == self->peers_cap) {
        size_t cap = self->peers_cap ? self->peers_cap * 2 : 64;
        rbudget_peer_t **peers = realloc (self->peers, cap * sizeof *peers);
        if (!peers)
            return NULL;
        self->peers = peers;
        self->peers_cap = cap;
    }
    rbudget_peer_t *p = calloc (1, sizeof *p);
    if (!p || hset_add (&self->index, hash, (uint32_t) self->npeers) != VL_OK) {
        free (p);
        return NULL;
    }
    atomic_init (&p->bytes, 0);
    atomic_init (&p->answers, 0);
    p->rid_len = len;
    memcpy (p->rid, rid, len);
    self->peers[self->npeers++] = p;
    return p;
}

rbudget_peer_t *
rbudget_peer (rbudget_t *self, const void *rid, size_t len)
{
    if (len > RID_MAX)
        len = RID_MAX;   /* libzmq routing ids are at most 255 bytes */
    s_sweep (self);
    uint64_t h = s_hash (self, rid, len);
    uint32_t i;
    for (hset_probe_t p = hset_probe (&self->index, h); hset_next (&p, &i);)
        if (self->peers[i]->rid_len == len && memcmp (self->peers[i]->rid, rid, len) == 0)
            return self->peers[i];
    return s_add (self, rid, len, h);
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
