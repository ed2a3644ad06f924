/* idwindow.c: a sink's delivered-id window (see idwindow.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "idwindow.h"

bool
idwindow_init (idwindow_t *self, size_t cap, size_t max)
{
    memset (self, 0, sizeof *self);
    if (max < cap)
        max = cap;
    if (max > HSET_MAX_ENTRIES)
        max = HSET_MAX_ENTRIES;
    if (cap == 0 || cap > max)
        return false;
    self->slot = calloc (cap, sizeof *self->slot);
    if (!self->slot || hset_init (&self->index, cap, max) != VL_OK) {
        idwindow_free (self);
        return false;
    }
    self->cap = cap;
    self->max = max;
    return true;
}

void
idwindow_free (idwindow_t *self)
{
    free (self->slot);
    hset_free (&self->index);
    memset (self, 0, sizeof *self);
}

bool
idwindow_enabled (const idwindow_t *self)
{
    return self->cap != 0;
}

static uint64_t
s_hash (const idwindow_t *self, const char *id)
{
    return hset_hash (&self->index, id, strlen (id));
}

bool
idwindow_has (const idwindow_t *self, const char *id)
{
    uint32_t r;
    for (hset_probe_t p = hset_probe (&self->index, s_hash (self, id)); hset_next (&p, &r);)
        if (strcmp (self->slot[r].id, id) == 0)
            return true;
    return false;
}

/* Drops the oldest id. */
static void
s_evict (idwindow_t *self)
{
    hset_remove (&self->index, s_hash (self, self->slot[self->head].id),
                 (uint32_t) self->head);
    self->head = (self->head + 1) % self->cap;
    self->len--;
}

/* Doubles the ring (ids kept in FIFO order); false if memory is short. */
static bool
s_grow (idwindow_t *self)
{
    idwindow_t big;
    if (!idwindow_init (&big, self->cap * 2, self->max))
        return false;
    for (size_t k = 0; k < self->len; k++) {
        const idwindow_slot_t *o = &self->slot[(self->head + k) % self->cap];
        idwindow_add (&big, o->id, o->seq, 0);
    }
    idwindow_free (self);
    *self = big;
    return true;
}

void
idwindow_add (idwindow_t *self, const char *id, uint64_t seq, uint64_t cursor)
{
    if (self->cap == 0 || idwindow_has (self, id))
        return;
    if (self->len == self->cap) {
        bool replayable = self->slot[self->head].seq > cursor;
        if (!replayable || self->cap * 2 > self->max || !s_grow (self))
            s_evict (self);
    }
    size_t i = (self->head + self->len) % self->cap;
    snprintf (self->slot[i].id, sizeof self->slot[i].id, "%s", id);
    self->slot[i].seq = seq;
    hset_add (&self->index, s_hash (self, self->slot[i].id), (uint32_t) i);
    self->len++;
}
