/* backbone.c: one publisher and one subscriber interface over the two
 * backbones; each call goes to the implementation chosen at creation. */
#include "backbone.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "js_pub.h"
#include "js_sub.h"

bool backbone_is_nats (const config_setting_t *section)
{
    return strcmp (cfg_get_str (section, "backbone", "broker"), "nats") == 0;
}

struct bb_pub {
    client_pub_t *z;
    js_pub_t     *j;
};

bb_pub_t *bb_pub_new (void *zctx, const client_pub_opts_t *zopts, const nats_conf_t *nats,
                      vl_err_t *err)
{
    bb_pub_t *self = calloc (1, sizeof *self);
    *err = VL_ENOMEM;
    if (!self)
        return NULL;
    if (nats)
        self->j = js_pub_new (nats, zopts->max_inflight, err);
    else
        self->z = client_pub_new (zctx, zopts, err);
    if (!self->j && !self->z) {
        free (self);
        return NULL;
    }
    return self;
}

void bb_pub_destroy (bb_pub_t **self_p)
{
    if (!*self_p)
        return;
    client_pub_destroy (&(*self_p)->z);
    js_pub_destroy (&(*self_p)->j);
    free (*self_p);
    *self_p = NULL;
}

vl_err_t bb_pub_send (bb_pub_t *self, const char *topic, const void *event, size_t len,
                      uint64_t tag)
{
    return self->j ? js_pub_send (self->j, topic, event, len, tag)
                   : client_pub_send (self->z, topic, event, len, tag);
}

vl_err_t bb_pub_poll (bb_pub_t *self, int timeout_ms, client_pub_ack_t *acks, size_t max,
                      size_t *nacks)
{
    return self->j ? js_pub_poll (self->j, timeout_ms, acks, max, nacks)
                   : client_pub_poll (self->z, timeout_ms, acks, max, nacks);
}

size_t bb_pub_pending (bb_pub_t *self)
{
    return self->j ? js_pub_pending (self->j) : client_pub_pending (self->z);
}

void bb_pub_wait_fd (bb_pub_t *self, int *fd, bool *ready)
{
    *fd = -1;
    *ready = false;
    if (self->j) {
        *fd = js_pub_fd (self->j);
        return;
    }
    void *sock = client_pub_socket (self->z);
    int events = 0;
    size_t sz = sizeof *fd;
    zmq_getsockopt (sock, ZMQ_FD, fd, &sz);
    sz = sizeof events;
    zmq_getsockopt (sock, ZMQ_EVENTS, &events, &sz);   /* ZMQ_FD is edge-triggered */
    *ready = (events & ZMQ_POLLIN) != 0;
}

struct bb_sub {
    client_sub_t *z;
    js_sub_t     *j;
};

bb_sub_t *bb_sub_new (void *zctx, const client_sub_opts_t *zopts, const nats_conf_t *nats,
                      vl_err_t *err)
{
    bb_sub_t *self = calloc (1, sizeof *self);
    *err = VL_ENOMEM;
    if (!self)
        return NULL;
    if (nats) {
        js_sub_opts_t o = { .conf = nats, .who = "stream consumer", .from_seq = zopts->from_seq,
                            .epoch = zopts->epoch };
        self->j = js_sub_new (&o, err);
    } else
        self->z = client_sub_new (zctx, zopts, err);
    if (!self->j && !self->z) {
        free (self);
        return NULL;
    }
    return self;
}

void bb_sub_destroy (bb_sub_t **self_p)
{
    if (!*self_p)
        return;
    client_sub_destroy (&(*self_p)->z);
    js_sub_destroy (&(*self_p)->j);
    free (*self_p);
    *self_p = NULL;
}

vl_err_t bb_sub_recv (bb_sub_t *self, client_msg_t *msg, int timeout_ms)
{
    return self->j ? js_sub_recv (self->j, msg, timeout_ms)
                   : client_sub_recv (self->z, msg, timeout_ms);
}

uint64_t bb_sub_cursor (const bb_sub_t *self)
{
    return self->j ? js_sub_cursor (self->j) : client_sub_cursor (self->z);
}

uint64_t bb_sub_head (const bb_sub_t *self)
{
    return self->j ? js_sub_head (self->j) : client_sub_head (self->z);
}

uint64_t bb_sub_epoch (const bb_sub_t *self)
{
    return self->j ? js_sub_epoch (self->j) : client_sub_epoch (self->z);
}

bool bb_sub_ready (const bb_sub_t *self)
{
    return self->j ? js_sub_ready (self->j) : client_sub_ready (self->z);
}

void bb_sub_get_stats (const bb_sub_t *self, client_sub_stats_t *out)
{
    if (self->j)
        js_sub_get_stats (self->j, out);
    else
        client_sub_get_stats (self->z, out);
}

vl_err_t bb_sub_probe (void *zctx, const client_sub_opts_t *zopts, const nats_conf_t *nats,
                       int wait_ms, client_sub_journal_t *out)
{
    return nats ? js_sub_probe (nats, wait_ms, out)
                : client_sub_probe (zctx, zopts, wait_ms, out);
}
