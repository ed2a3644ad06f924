/* test_broker_acks.c: ack batches: records grouped per routing id, a full
 * group sent early, more publishers than ACKS_GROUPS, bad routing ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "acks.h"
#include "util.h"

typedef struct {
    void *ctx, *router;
    void *dealers[ACKS_GROUPS + 2];
} fx_t;

/* A ROUTER and N DEALERs named "p0", "p1"... on inproc; each DEALER says
 * hello so the ROUTER knows its route. */
static void
s_setup (fx_t *fx, int n)
{
    memset (fx, 0, sizeof *fx);
    fx->ctx = zmq_ctx_new ();
    fx->router = zmq_socket (fx->ctx, ZMQ_ROUTER);
    assert_int_equal (zmq_bind (fx->router, "inproc://acks"), 0);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf (id, sizeof id, "p%d", i);
        fx->dealers[i] = zmq_socket (fx->ctx, ZMQ_DEALER);
        zmq_setsockopt (fx->dealers[i], ZMQ_ROUTING_ID, id, strlen (id));
        assert_int_equal (zmq_connect (fx->dealers[i], "inproc://acks"), 0);
        zmq_send (fx->dealers[i], "hi", 2, 0);
        char buf[8];
        assert_int_equal (zmq_recv (fx->router, buf, sizeof buf, 0), (int) strlen (id));
        assert_int_equal (zmq_recv (fx->router, buf, sizeof buf, 0), 2);
    }
}

static void
s_teardown (fx_t *fx)
{
    for (size_t i = 0; i < ACKS_GROUPS + 2; i++)
        if (fx->dealers[i])
            zmq_close (fx->dealers[i]);
    zmq_close (fx->router);
    zmq_ctx_term (fx->ctx);
}

static void
s_add (acks_t *a, fx_t *fx, int pub, uint64_t token, uint64_t seq)
{
    char id[16];
    snprintf (id, sizeof id, "p%d", pub);
    unsigned char tok[WIRE_TOKEN_LEN];
    util_put_be64 (tok, token);
    acks_add (a, fx->router, id, strlen (id), tok, seq % 2 ? 1 : 0, seq);
}

/* Receives one message on DEALER I (must be one frame); returns its
 * number of records (0 if none waiting) and checks they are tokens
 * FIRST, FIRST+1... with seq = token * 10. */
static size_t
s_expect (fx_t *fx, int i, uint64_t first)
{
    unsigned char buf[64 * WIRE_ACK_RECORD_LEN];
    int n = zmq_recv (fx->dealers[i], buf, sizeof buf, ZMQ_DONTWAIT);
    if (n < 0)
        return 0;
    int more = 0;
    size_t ml = sizeof more;
    zmq_getsockopt (fx->dealers[i], ZMQ_RCVMORE, &more, &ml);
    assert_int_equal (more, 0);
    assert_int_equal (n % WIRE_ACK_RECORD_LEN, 0);
    for (int k = 0; k < n / WIRE_ACK_RECORD_LEN; k++) {
        const unsigned char *r = buf + k * WIRE_ACK_RECORD_LEN;
        uint64_t token = util_get_be64 (r);
        assert_int_equal (token, first + (uint64_t) k);
        assert_int_equal (util_get_be64 (r + WIRE_TOKEN_LEN + 1), token * 10);
        assert_int_equal (r[WIRE_TOKEN_LEN], (token * 10) % 2);
    }
    return (size_t) n / WIRE_ACK_RECORD_LEN;
}

static void
records_are_grouped_per_publisher (void **state)
{
    (void) state;
    fx_t fx;
    s_setup (&fx, 2);
    acks_t *a = acks_new (4);
    assert_non_null (a);
    for (uint64_t t = 1; t <= 6; t++) {
        s_add (a, &fx, 0, t, t * 10);
        if (t <= 3)
            s_add (a, &fx, 1, 100 + t, (100 + t) * 10);
    }
    /* the fifth record of p0 sent its first four early */
    assert_int_equal (s_expect (&fx, 0, 1), 4);
    assert_int_equal (s_expect (&fx, 1, 101), 0);
    acks_flush (a, fx.router);
    assert_int_equal (s_expect (&fx, 0, 5), 2);
    assert_int_equal (s_expect (&fx, 1, 101), 3);
    /* nothing left, and a flush of nothing sends nothing */
    acks_flush (a, fx.router);
    assert_int_equal (s_expect (&fx, 0, 1), 0);
    assert_int_equal (s_expect (&fx, 1, 1), 0);
    acks_destroy (&a);
    assert_null (a);
    acks_destroy (&a);
    s_teardown (&fx);
}

static void
more_publishers_than_groups_lose_nothing (void **state)
{
    (void) state;
    fx_t fx;
    int n = ACKS_GROUPS + 2;
    s_setup (&fx, n);
    acks_t *a = acks_new (8);
    for (int round = 0; round < 2; round++)
        for (int p = 0; p < n; p++) {
            uint64_t t = (uint64_t) p * 100 + (uint64_t) round + 1;
            s_add (a, &fx, p, t, t * 10);
        }
    acks_flush (a, fx.router);
    for (int p = 0; p < n; p++) {
        size_t got = 0;
        uint64_t next = (uint64_t) p * 100 + 1;
        size_t k;
        while ((k = s_expect (&fx, p, next)) > 0) {
            got += k;
            next += k;
        }
        assert_int_equal (got, 2);
    }
    acks_destroy (&a);
    s_teardown (&fx);
}

static void
bad_arguments (void **state)
{
    (void) state;
    assert_null (acks_new (0));
    fx_t fx;
    s_setup (&fx, 1);
    acks_t *a = acks_new (2);
    unsigned char tok[WIRE_TOKEN_LEN] = { 0 };
    char long_id[300];
    memset (long_id, 'x', sizeof long_id);
    acks_add (a, fx.router, "", 0, tok, 0, 1);            /* ignored */
    acks_add (a, fx.router, long_id, sizeof long_id, tok, 0, 1);   /* ignored */
    acks_flush (a, fx.router);
    assert_int_equal (s_expect (&fx, 0, 0), 0);
    acks_destroy (&a);
    s_teardown (&fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (records_are_grouped_per_publisher),
        cmocka_unit_test (more_publishers_than_groups_lose_nothing),
        cmocka_unit_test (bad_arguments),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
