/* connlimit.h: a limit on the connections of one bound ZeroMQ socket.
 *
 * libzmq has no such option, and keeps one monitor per socket (a second
 * zmq_socket_monitor stops the first): this is that monitor, so it also
 * reports failed handshakes (connlimit_on_failure) for the log of refusals.
 * A socket monitor reports each accepted
 * connection with its file descriptor (ZMQ_EVENT_ACCEPTED) and each end
 * (ZMQ_EVENT_DISCONNECTED). Past MAX live connections, a new one is
 * shut down with shutdown(2) (never close(2): the descriptor stays
 * libzmq's, which sees the end of the stream and closes it itself).
 * Before that, the descriptor is checked to be a stream socket whose local
 * address is the listener's: events are read after the fact, and a
 * descriptor already closed and reused for something else is left alone.
 * The one race left: a connection over the limit that ends before its
 * event is read, its descriptor reused at once by a newer connection to
 * the same listener: that newer one is shut down instead (it reconnects).
 *
 * Not thread-safe; the broker thread owns it and polls connlimit_socket. */
#ifndef VL_CONNLIMIT_H
#define VL_CONNLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

typedef struct connlimit connlimit_t;

/* Called for each failed handshake on the socket (CURVE refused before
 * ZAP: a plaintext client, a wrong server key): EVENT is
 * ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL or _NO_DETAIL, VALUE its detail,
 * ADDR the peer's address (NUL-terminated, possibly empty). */
typedef void (connlimit_fail_fn) (void *arg, uint16_t event, uint32_t value, const char *addr);

/* Monitors SOCK (bound to ENDPOINT, as ZMQ_LAST_ENDPOINT gives it; tcp://
 * or ipc://) in context CTX, allowing MAX connections; NAME names it in
 * the log and the monitor's inproc endpoint. Returns NULL and sets *ERR
 * (VL_ENOMEM, VL_ENET) on failure. Caller owns the result. */
connlimit_t *connlimit_new (void *ctx, void *sock, const char *endpoint, const char *name,
                            size_t max, vl_err_t *err);

/* Stops the monitor, closes its socket and frees *self_p; sets it to
 * NULL; NULL-safe. While the monitored socket is still open. */
void connlimit_destroy (connlimit_t **self_p);

/* Sends each failed handshake to FN (ARG); FN NULL = ignore them. */
void connlimit_on_failure (connlimit_t *self, connlimit_fail_fn *fn, void *arg);

/* The socket to poll for ZMQ_POLLIN. */
void *connlimit_socket (connlimit_t *self);

/* Reads the pending events: counts connections, shuts down the excess. */
void connlimit_handle (connlimit_t *self);

/* Live connections counted; connections shut down so far. */
size_t   connlimit_count (const connlimit_t *self);
uint64_t connlimit_refused (const connlimit_t *self);

#endif
