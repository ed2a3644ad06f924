/* zmq_proxy.c: the raw libzmq peer of the broker benchmark. An XSUB/XPUB
 * zmq_proxy with the socket options the bench gives veille-broker (high-water
 * marks, linger), no journal, no acks, no sequence numbers: the ceiling of
 * what a ZeroMQ forwarder does on this machine.
 *
 *   zmq_proxy [--xsub tcp://127.0.0.1:*] [--xpub tcp://127.0.0.1:*]
 *             [--hwm 1000000] [--nodrop]
 * Prints "zmq_proxy: ready xsub=EP xpub=EP" on stderr once bound; runs until
 * SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench_common.h"

static void set_int (void *s, int opt, int v)
{
    zmq_setsockopt (s, opt, &v, sizeof v);
}

int main (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0) {
            printf ("usage: zmq_proxy [--xsub EP] [--xpub EP] [--hwm N] [--nodrop]\n");
            return 0;
        }
    const char *xsub_ep = bench_arg (argc, argv, "xsub", "tcp://127.0.0.1:*");
    const char *xpub_ep = bench_arg (argc, argv, "xpub", "tcp://127.0.0.1:*");
    int hwm = (int) bench_arg_ll (argc, argv, "hwm", 1000000);
    bool nodrop = false;
    for (int i = 1; i < argc; i++)
        nodrop |= strcmp (argv[i], "--nodrop") == 0;

    void *ctx = zmq_ctx_new ();
    void *xsub = zmq_socket (ctx, ZMQ_XSUB);
    void *xpub = zmq_socket (ctx, ZMQ_XPUB);
    set_int (xsub, ZMQ_RCVHWM, hwm);
    set_int (xsub, ZMQ_SNDHWM, hwm);
    set_int (xpub, ZMQ_SNDHWM, hwm);
    set_int (xpub, ZMQ_RCVHWM, hwm);
    set_int (xsub, ZMQ_LINGER, 0);
    set_int (xpub, ZMQ_LINGER, 0);
    if (nodrop)
        set_int (xpub, ZMQ_XPUB_NODROP, 1);
    if (zmq_bind (xsub, xsub_ep) != 0 || zmq_bind (xpub, xpub_ep) != 0) {
        fprintf (stderr, "zmq_proxy: bind: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    char a[256], b[256];
    size_t al = sizeof a, bl = sizeof b;
    zmq_getsockopt (xsub, ZMQ_LAST_ENDPOINT, a, &al);
    zmq_getsockopt (xpub, ZMQ_LAST_ENDPOINT, b, &bl);
    fprintf (stderr, "zmq_proxy: ready xsub=%s xpub=%s\n", a, b);
    fflush (stderr);
    zmq_proxy (xsub, xpub, NULL);
    zmq_close (xsub);
    zmq_close (xpub);
    zmq_ctx_term (ctx);
    return 0;
}
