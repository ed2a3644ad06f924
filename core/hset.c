/* hset.c: open-addressing index and keyed hash (see hset.h). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "hset.h"
#include "util.h"

#define MIN_SLOTS_LOG2 4

/* Slot count (log2) for N entries at most half full. */
static unsigned
s_log2_for (size_t n)
{
    unsigned b = MIN_SLOTS_LOG2;
    while (((size_t) 1 << b) < 2 * n)
        b++;
    return b;
}

/* Replaces the table by an empty one of 2^BITS slots; entries are lost. */
static vl_err_t
s_alloc (hset_t *self, unsigned bits)
{
    uint64_t *slots = util_table_calloc (((size_t) 1 << bits) * sizeof *slots);
    if (!slots)
        return VL_ENOMEM;
    free (self->slots);
    self->slots = slots;
    self->mask = ((size_t) 1 << bits) - 1;
    self->shift = 32 - bits;
    self->n = 0;
    return VL_OK;
}

vl_err_t
hset_init (hset_t *self, size_t expect, size_t max)
{
    memset (self, 0, sizeof *self);
    if (expect > max || max == 0 || max > HSET_MAX_ENTRIES)
        return VL_EINVAL;
    if (sodium_init () < 0)
        return VL_ENOMEM;
    vl_err_t rc = s_alloc (self, s_log2_for (expect));
    if (rc != VL_OK)
        return rc;
    self->max = max;
    randombytes_buf (&self->seed, sizeof self->seed);
    return VL_OK;
}

void
hset_free (hset_t *self)
{
    if (!self)
        return;
    free (self->slots);
    memset (self, 0, sizeof *self);
}

void
hset_clear (hset_t *self)
{
    if (self->slots)
        memset (self->slots, 0, (self->mask + 1) * sizeof *self->slots);
    self->n = 0;
}

vl_err_t
hset_reset (hset_t *self, size_t expect)
{
    if (!self->slots || expect > self->max)
        return VL_EINVAL;
    return s_alloc (self, s_log2_for (expect));
}

/* Puts SLOT into its first free slot from its home (no growth). */
static void
s_place (hset_t *self, uint64_t slot)
{
    size_t i = (uint32_t) (slot >> 32) >> self->shift;
    while (self->slots[i])
        i = (i + 1) & self->mask;
    self->slots[i] = slot;
    self->n++;
}

/* Doubles the table; VL_ENOMEM leaves it as it was. */
static vl_err_t
s_grow (hset_t *self)
{
    hset_t big = *self;
    big.slots = NULL;
    vl_err_t rc = s_alloc (&big, 33 - self->shift);
    if (rc != VL_OK)
        return rc;
    /* from just after an empty slot: a run that wraps around the end keeps
       its order, so equal hashes stay in the order they were added */
    size_t start = 0;
    while (self->slots[start])
        start++;
    for (size_t k = 1; k <= self->mask + 1; k++) {
        uint64_t s = self->slots[(start + k) & self->mask];
        if (s)
            s_place (&big, s);
    }
    free (self->slots);
    *self = big;
    return VL_OK;
}

vl_err_t
hset_add (hset_t *self, uint64_t hash, uint32_t ref)
{
    if (self->n >= self->max || ref >= HSET_MAX_ENTRIES)
        return VL_ETOOBIG;
    if (2 * (self->n + 1) > self->mask + 1 && s_grow (self) != VL_OK
        && self->n + 1 > self->mask)
        return VL_ENOMEM;       /* keep one slot empty: probes must end */
    s_place (self, (hash >> 32 << 32) | ((uint64_t) ref + 1));
    return VL_OK;
}

bool
hset_remove (hset_t *self, uint64_t hash, uint32_t ref)
{
    if (!self->slots)
        return false;
    uint64_t want = (hash >> 32 << 32) | ((uint64_t) ref + 1);
    size_t i = (uint32_t) (hash >> 32) >> self->shift;
    while (self->slots[i] != want) {
        if (!self->slots[i])
            return false;
        i = (i + 1) & self->mask;
    }
    /* backward shift: pull later entries of the run into the hole unless
       their home lies cyclically in (hole, j] */
    for (size_t j = i;;) {
        j = (j + 1) & self->mask;
        uint64_t s = self->slots[j];
        if (!s)
            break;
        size_t home = (uint32_t) (s >> 32) >> self->shift;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            self->slots[i] = s;
            i = j;
        }
    }
    self->slots[i] = 0;
    self->n--;
    return true;
}

size_t
hset_count (const hset_t *self)
{
    return self->n;
}

size_t
hset_memory (const hset_t *self)
{
    return self->slots ? (self->mask + 1) * sizeof *self->slots : 0;
}
