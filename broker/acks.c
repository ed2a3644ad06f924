/* acks.c: ack batches (see acks.h). */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "acks.h"
#include "util.h"

#define RID_MAX 255

typedef struct {
    unsigned char  rid[RID_MAX];
    size_t         rid_len;
    unsigned char *data;     /* max_records records */
    size_t         n;        /* records held */
} group_t;

struct acks {
    group_t groups[ACKS_GROUPS];
    size_t  ngroups;         /* open groups: groups[0..ngroups-1] */
    size_t  max_records;
};

acks_t *
acks_new (size_t max_records)
{
    if (max_records == 0 || max_records > SIZE_MAX / WIRE_ACK_RECORD_LEN)
        return NULL;
    acks_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_records = max_records;
    for (size_t g = 0; g < ACKS_GROUPS; g++) {
        self->groups[g].data = malloc (max_records * WIRE_ACK_RECORD_LEN);
        if (!self->groups[g].data) {
            acks_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
acks_destroy (acks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t g = 0; g < ACKS_GROUPS; g++)
        free ((*self_p)->groups[g].data);
    free (*self_p);
    *self_p = NULL;
}

static void
s_send (group_t *g, void *sock)
{
    if (g->n > 0 && zmq_send (sock, g->rid, g->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (sock, g->data, g->n * WIRE_ACK_RECORD_LEN, ZMQ_DONTWAIT);
    g->n = 0;
}

void
acks_flush (acks_t *self, void *sock)
{
    for (size_t g = 0; g < self->ngroups; g++)
        s_send (&self->groups[g], sock);
    self->ngroups = 0;
}

/* The open group of RID, opening one (after a flush if all are open). */
static group_t *
s_group (acks_t *self, void *sock, const void *rid, size_t rid_len)
{
    for (size_t g = 0; g < self->ngroups; g++) {
        group_t *gr = &self->groups[g];
        if (gr->rid_len == rid_len && memcmp (gr->rid, rid, rid_len) == 0)
            return gr;
    }
    if (self->ngroups == ACKS_GROUPS)
        acks_flush (self, sock);
    group_t *gr = &self->groups[self->ngroups++];
    memcpy (gr->rid, rid, rid_len);
    gr->rid_len = rid_len;
    gr->n = 0;
    return gr;
}

void
acks_add (acks_t *self, void *sock, const void *rid, size_t rid_len,
          const unsigned char token[WIRE_TOKEN_LEN], uint8_t status, uint64_t seq)
{
    if (rid_len == 0 || rid_len > RID_MAX)
        return;
    group_t *g = s_group (self, sock, rid, rid_len);
    if (g->n == self->max_records)
        s_send (g, sock);
    unsigned char *p = g->data + g->n * WIRE_ACK_RECORD_LEN;
    memcpy (p, token, WIRE_TOKEN_LEN);
    p[WIRE_TOKEN_LEN] = status;
    util_put_be64 (p + WIRE_TOKEN_LEN + 1, seq);
    g->n++;
}
