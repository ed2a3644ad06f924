/* jindex.c: entry vectors and the topic intern table of the journal index. */
#include <stdlib.h>
#include <string.h>
#include "hset.h"
#include "jindex.h"

vl_err_t
jindex_vec_push (jindex_vec_t *self, uint32_t tid, uint32_t off)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 1024;
        jindex_entry_t *v = realloc (self->v, cap * sizeof *v);
        if (!v)
            return VL_ENOMEM;
        self->v = v;
        self->cap = cap;
    }
    self->v[self->n].tid = tid;
    self->v[self->n].off = off;
    self->n++;
    return VL_OK;
}

void
jindex_vec_free (jindex_vec_t *self)
{
    free (self->v);
    memset (self, 0, sizeof *self);
}

typedef struct {
    char  *name;
    size_t len;
} topic_t;

struct jindex_topics {
    topic_t *names;     /* by id */
    size_t   count, names_cap;
    hset_t   index;     /* name -> id */
    size_t   bytes;     /* name bytes */
};

jindex_topics_t *
jindex_topics_new (void)
{
    jindex_topics_t *self = calloc (1, sizeof *self);
    if (self && hset_init (&self->index, 128, HSET_MAX_ENTRIES) != VL_OK)
        jindex_topics_destroy (&self);
    return self;
}

void
jindex_topics_destroy (jindex_topics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jindex_topics_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free (self->names[i].name);
    free (self->names);
    hset_free (&self->index);
    free (self);
    *self_p = NULL;
}

/* Appends TOPIC as id COUNT with HASH. */
static vl_err_t
s_add (jindex_topics_t *self, const char *topic, size_t len, uint64_t hash,
       uint32_t *tid)
{
    if (self->count == self->names_cap) {
        size_t cap = self->names_cap ? self->names_cap * 2 : 64;
        topic_t *names = realloc (self->names, cap * sizeof *names);
        if (!names)
            return VL_ENOMEM;
        self->names = names;
        self->names_cap = cap;
    }
    char *name = malloc (len + 1);
    if (!name)
        return VL_ENOMEM;
    vl_err_t rc = hset_add (&self->index, hash, (uint32_t) self->count);
    if (rc != VL_OK) {
        free (name);
        return rc;
    }
    memcpy (name, topic, len);
    name[len] = '\0';
    self->names[self->count] = (topic_t) { name, len };
    *tid = (uint32_t) self->count++;
    self->bytes += len + 1;
    return VL_OK;
}

vl_err_t
jindex_topics_intern (jindex_topics_t *self, const char *topic, size_t len,
                      uint32_t *tid)
{
    uint64_t h = hset_hash (&self->index, topic, len);
    uint32_t id;
    for (hset_probe_t p = hset_probe (&self->index, h); hset_next (&p, &id);) {
        const topic_t *t = &self->names[id];
        if (t->len == len && memcmp (t->name, topic, len) == 0) {
            *tid = id;
            return VL_OK;
        }
    }
    return s_add (self, topic, len, h, tid);
}

size_t
jindex_topics_count (const jindex_topics_t *self)
{
    return self->count;
}

const char *
jindex_topics_name (const jindex_topics_t *self, uint32_t tid, size_t *len)
{
    if (tid >= self->count)
        return NULL;
    if (len)
        *len = self->names[tid].len;
    return self->names[tid].name;
}

size_t
jindex_topics_memory (const jindex_topics_t *self)
{
    return sizeof *self + self->names_cap * sizeof (topic_t)
           + hset_memory (&self->index) + self->bytes;
}
