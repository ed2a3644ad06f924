/* dedup.c: id window (see dedup.h). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "dedup.h"
#include "hset.h"
#include "util.h"

typedef struct {
    unsigned char key[DEDUP_KEY_LEN];
    uint64_t      seq;
} entry_t;

struct dedup {
    entry_t  *ring;       /* FIFO of ids: oldest at tail */
    size_t    ring_cap;   /* window + slack */
    uint64_t  tail;       /* absolute position of the oldest entry */
    uint64_t  head;       /* absolute position after the newest */
    uint64_t  committed;  /* head at the last commit */
    size_t    window;
    hset_t    index;      /* key -> ring index */
};

dedup_t *
dedup_new (size_t window, size_t slack)
{
    if (window == 0 || slack > HSET_MAX_ENTRIES || window > HSET_MAX_ENTRIES - slack)
        return NULL;
    dedup_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->window = window;
    self->ring_cap = window + slack;
    self->ring = util_table_calloc (self->ring_cap * sizeof *self->ring);
    if (!self->ring
        || hset_init (&self->index, self->ring_cap, self->ring_cap) != VL_OK) {
        dedup_destroy (&self);
        return NULL;
    }
    return self;
}

void
dedup_destroy (dedup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->ring);
    hset_free (&(*self_p)->index);
    free (*self_p);
    *self_p = NULL;
}

static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void
dedup_key (const char *id, size_t len, unsigned char key[DEDUP_KEY_LEN])
{
    if (len == 2 * DEDUP_KEY_LEN) {
        size_t i;
        for (i = 0; i < DEDUP_KEY_LEN; i++) {
            int hi = s_hexval (id[2 * i]), lo = s_hexval (id[2 * i + 1]);
            if (hi < 0 || lo < 0)
                break;
            key[i] = (unsigned char) (hi << 4 | lo);
        }
        if (i == DEDUP_KEY_LEN)
            return;
    }
    crypto_generichash (key, DEDUP_KEY_LEN, (const unsigned char *) id, len, NULL, 0);
}

static uint64_t
s_hash (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN])
{
    return hset_hash (&self->index, key, DEDUP_KEY_LEN);
}

/* Ring index of KEY, or -1. A key inserted twice (no dedup_find first)
 * is in the table twice: the newest, which comes last, wins. */
static int64_t
s_lookup (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN])
{
    int64_t found = -1;
    uint32_t r;
    for (hset_probe_t p = hset_probe (&self->index, s_hash (self, key)); hset_next (&p, &r);)
        if (memcmp (self->ring[r].key, key, DEDUP_KEY_LEN) == 0)
            found = r;
    return found;
}

void
dedup_prefetch (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN])
{
    hset_prefetch (&self->index, s_hash (self, key));
}

bool
dedup_find (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN], uint64_t *seq)
{
    int64_t r = s_lookup (self, key);
    if (r < 0)
        return false;
    if (seq)
        *seq = self->ring[r].seq;
    return true;
}

vl_err_t
dedup_insert (dedup_t *self, const unsigned char key[DEDUP_KEY_LEN], uint64_t seq)
{
    if (self->head - self->tail >= self->ring_cap)
        return VL_EAGAIN;
    size_t r = (size_t) (self->head % self->ring_cap);
    memcpy (self->ring[r].key, key, DEDUP_KEY_LEN);
    self->ring[r].seq = seq;
    hset_add (&self->index, s_hash (self, key), (uint32_t) r);   /* sized for ring_cap */
    self->head++;
    return VL_OK;
}

/* Removes the index entry of ring index R. */
static void
s_unlink (dedup_t *self, size_t r)
{
    hset_remove (&self->index, s_hash (self, self->ring[r].key), (uint32_t) r);
}

void
dedup_commit (dedup_t *self)
{
    self->committed = self->head;
    while (self->head - self->tail > self->window) {
        s_unlink (self, (size_t) (self->tail % self->ring_cap));
        self->tail++;
    }
}

void
dedup_rollback (dedup_t *self)
{
    while (self->head > self->committed) {
        self->head--;
        s_unlink (self, (size_t) (self->head % self->ring_cap));
    }
}

size_t
dedup_size (const dedup_t *self)
{
    return (size_t) (self->head - self->tail);
}
