/* jindex.c: entry vectors and the topic intern table of the journal index. */
#include <stdlib.h>
#include <string.h>
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
    topic_t  *names;    /* by id */
    size_t    count, names_cap;
    uint32_t *slots;    /* open addressing: id + 1, 0 = empty */
    size_t    nslots;   /* power of two, kept at most half full */
    size_t    bytes;    /* name bytes */
};

static uint64_t
s_hash (const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;     /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

jindex_topics_t *
jindex_topics_new (void)
{
    jindex_topics_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->nslots = 256;
    self->slots = calloc (self->nslots, sizeof *self->slots);
    if (!self->slots) {
        free (self);
        return NULL;
    }
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
    free (self->slots);
    free (self);
    *self_p = NULL;
}

static vl_err_t
s_rehash (jindex_topics_t *self)
{
    size_t nslots = self->nslots * 2;
    uint32_t *slots = calloc (nslots, sizeof *slots);
    if (!slots)
        return VL_ENOMEM;
    for (size_t id = 0; id < self->count; id++) {
        size_t i = s_hash (self->names[id].name, self->names[id].len) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = (uint32_t) id + 1;
    }
    free (self->slots);
    self->slots = slots;
    self->nslots = nslots;
    return VL_OK;
}

static vl_err_t
s_add (jindex_topics_t *self, const char *topic, size_t len, size_t slot,
       uint32_t *tid)
{
    if (self->count >= UINT32_MAX - 1)
        return VL_ETOOBIG;
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
    memcpy (name, topic, len);
    name[len] = '\0';
    self->names[self->count] = (topic_t) { name, len };
    self->slots[slot] = (uint32_t) self->count + 1;
    *tid = (uint32_t) self->count++;
    self->bytes += len + 1;
    if (self->count * 2 > self->nslots)
        return s_rehash (self);  /* the topic is added even if this fails */
    return VL_OK;
}

vl_err_t
jindex_topics_intern (jindex_topics_t *self, const char *topic, size_t len,
                      uint32_t *tid)
{
    size_t i = s_hash (topic, len) & (self->nslots - 1);
    while (self->slots[i]) {
        const topic_t *t = &self->names[self->slots[i] - 1];
        if (t->len == len && memcmp (t->name, topic, len) == 0) {
            *tid = self->slots[i] - 1;
            return VL_OK;
        }
        i = (i + 1) & (self->nslots - 1);
    }
    return s_add (self, topic, len, i, tid);
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
           + self->nslots * sizeof (uint32_t) + self->bytes;
}
