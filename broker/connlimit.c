/* connlimit.c: connection limit of a bound socket through its monitor
 * (see connlimit.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>
#include "connlimit.h"
#include "log.h"
#include "util.h"

#define EVENTS_PER_CALL 1000

struct connlimit {
    void     *sock;          /* the monitored socket (borrowed) */
    void     *mon;           /* PAIR connected to the monitor */
    size_t    max, count;
    uint64_t  refused;
    bool     *live;          /* live[fd]: counted connection */
    size_t    live_cap;
    bool      tcp;           /* else ipc */
    uint16_t  port;          /* tcp: the listener's port */
    char      path[108];     /* ipc: the listener's path */
    char      name[32];
    connlimit_fail_fn *on_fail;
    void     *on_fail_arg;
};

/* Parses ENDPOINT into the port or path the accepted sockets' local
 * address must show; false for another transport. */
static bool
s_parse_endpoint (connlimit_t *self, const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        const char *colon = strrchr (endpoint, ':');
        long port = colon ? strtol (colon + 1, NULL, 10) : 0;
        self->tcp = true;
        self->port = (uint16_t) port;
        return port > 0 && port < 65536;
    }
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        snprintf (self->path, sizeof self->path, "%s", endpoint + 6);
        return true;
    }
    return false;
}

connlimit_t *
connlimit_new (void *ctx, void *sock, const char *endpoint, const char *name, size_t max,
               vl_err_t *err)
{
    connlimit_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    self->max = max;
    snprintf (self->name, sizeof self->name, "%s", name);
    char ep[64];
    snprintf (ep, sizeof ep, "inproc://connlimit-%s-%p", name, (void *) self);
    *err = VL_ENET;
    if (!s_parse_endpoint (self, endpoint)) {
        log_error ("connlimit: %s: cannot limit connections of %s", name, endpoint);
        free (self);
        return NULL;
    }
    self->sock = sock;
    if (zmq_socket_monitor (sock, ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED
                                      | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                      | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) < 0
        || !(self->mon = zmq_socket (ctx, ZMQ_PAIR)) || zmq_connect (self->mon, ep) < 0) {
        log_error ("connlimit: %s: monitor: %s", name, zmq_strerror (zmq_errno ()));
        connlimit_destroy (&self);
        return NULL;
    }
    int zero = 0;
    zmq_setsockopt (self->mon, ZMQ_LINGER, &zero, sizeof zero);
    *err = VL_OK;
    return self;
}

void
connlimit_destroy (connlimit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    /* stop the monitor first: events sent to a closed PAIR leak in libzmq */
    if ((*self_p)->sock)
        zmq_socket_monitor ((*self_p)->sock, NULL, 0);
    if ((*self_p)->mon)
        zmq_close ((*self_p)->mon);
    free ((*self_p)->live);
    free (*self_p);
    *self_p = NULL;
}

void
connlimit_on_failure (connlimit_t *self, connlimit_fail_fn *fn, void *arg)
{
    self->on_fail = fn;
    self->on_fail_arg = arg;
}

/* Passes a failed handshake with its address frame ADDR to on_fail. */
static void
s_failed (connlimit_t *self, uint16_t id, uint32_t value, zmq_msg_t *addr)
{
    if (!self->on_fail)
        return;
    char text[160];
    size_t n = zmq_msg_size (addr) < sizeof text - 1 ? zmq_msg_size (addr) : sizeof text - 1;
    memcpy (text, zmq_msg_data (addr), n);
    text[n] = '\0';
    self->on_fail (self->on_fail_arg, id, value, text);
}

void *
connlimit_socket (connlimit_t *self)
{
    return self->mon;
}

/* True if FD is still a stream socket of our listener. */
static bool
s_ours (const connlimit_t *self, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int type = 0;
    socklen_t tlen = sizeof type;
    if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM
        || getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
        return false;
    if (self->tcp && ss.ss_family == AF_INET)
        return ntohs (((struct sockaddr_in *) &ss)->sin_port) == self->port;
    if (self->tcp && ss.ss_family == AF_INET6)
        return ntohs (((struct sockaddr_in6 *) &ss)->sin6_port) == self->port;
    return !self->tcp && ss.ss_family == AF_UNIX
           && strcmp (((struct sockaddr_un *) &ss)->sun_path, self->path) == 0;
}

/* Makes live[fd] addressable; false on OOM. */
static bool
s_reserve (connlimit_t *self, int fd)
{
    if ((size_t) fd < self->live_cap)
        return true;
    size_t cap = (size_t) fd * 2 + 64;
    bool *l = realloc (self->live, cap * sizeof *l);
    if (!l)
        return false;
    memset (l + self->live_cap, 0, (cap - self->live_cap) * sizeof *l);
    self->live = l;
    self->live_cap = cap;
    return true;
}

static void
s_accepted (connlimit_t *self, int fd)
{
    if (fd < 0 || !s_reserve (self, fd))
        return;
    if (self->live[fd]) {
        /* its DISCONNECTED was lost: the descriptor is a new connection */
        self->live[fd] = false;
        self->count--;
    }
    if (self->count < self->max) {
        self->live[fd] = true;
        self->count++;
        return;
    }
    if (!s_ours (self, fd))
        return;   /* already closed and reused */
    shutdown (fd, SHUT_RDWR);
    if (self->refused++ % 1000 == 0)   /* the first, then one line per 1000 */
        log_warn ("connlimit: %s: %zu connections, the limit: a new one shut down "
                  "(%" PRIu64 " so far)", self->name, self->count, self->refused);
}

static void
s_disconnected (connlimit_t *self, int fd)
{
    if (fd >= 0 && (size_t) fd < self->live_cap && self->live[fd]) {
        self->live[fd] = false;
        self->count--;
    }
}

void
connlimit_handle (connlimit_t *self)
{
    for (int i = 0; i < EVENTS_PER_CALL; i++) {
        zmq_msg_t ev, addr;
        zmq_msg_init (&ev);
        zmq_msg_init (&addr);
        if (zmq_msg_recv (&ev, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            zmq_msg_close (&addr);
            return;
        }
        if (zmq_msg_more (&ev))
            zmq_msg_recv (&addr, self->mon, 0);
        if (zmq_msg_size (&ev) >= 6) {
            const uint8_t *d = zmq_msg_data (&ev);
            uint16_t id;
            int32_t value;
            memcpy (&id, d, sizeof id);
            memcpy (&value, d + 2, sizeof value);
            if (id == ZMQ_EVENT_ACCEPTED)
                s_accepted (self, value);
            else if (id == ZMQ_EVENT_DISCONNECTED)
                s_disconnected (self, value);
            else if (id & (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                           | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
                s_failed (self, id, (uint32_t) value, &addr);
        }
        zmq_msg_close (&ev);
        zmq_msg_close (&addr);
    }
}

size_t
connlimit_count (const connlimit_t *self)
{
    return self->count;
}

uint64_t
connlimit_refused (const connlimit_t *self)
{
    return self->refused;
}
