/* test_client_pub.c: the pipelined publisher against a fake broker (a
 * ROUTER in a thread): acks, window full, resend on timeout, UNAVAILABLE
 * then stored, REJECTED final, late duplicate acks ignored, and resend of
 * everything pending as soon as the broker comes back; ack batches (one
 * frame of records) larger than the caller's ack array, and malformed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client_pub.h"
#include "log.h"
#include "util.h"
#include "wire.h"

typedef enum {
    FAKE_ACK,            /* STORED for every message */
    FAKE_SILENT,         /* never answers */
    FAKE_DROP_FIRST,     /* ignores the first copy of each token */
    FAKE_UNAVAIL_FIRST,  /* UNAVAILABLE for the first copy, then STORED */
    FAKE_REJECT,         /* REJECTED with a reason */
    FAKE_DOUBLE_ACK,     /* STORED twice for each message */
    FAKE_RESTART,        /* first message: close and rebind without answering */
    FAKE_BATCH,          /* one ack batch for every BATCH_N messages */
    FAKE_BAD_BATCH,      /* first copy: a malformed batch; then STORED */
} fake_mode_t;

#define BATCH_N 40

#define FAKE_MAX_TOKENS 256

typedef struct {
    void           *ctx;
    fake_mode_t     mode;
    char            endpoint[128];
    pthread_t       thread;
    pthread_mutex_t lock;
    uint64_t        tokens[FAKE_MAX_TOKENS];
    int             copies[FAKE_MAX_TOKENS];
    size_t          ntokens;
    size_t          received;
    uint64_t        next_seq;
    bool            restarted;
    unsigned char   batch[(BATCH_N + 2) * WIRE_ACK_RECORD_LEN];
    size_t          batch_len;
} fake_t;

/* Counts a copy of TOKEN; returns how many copies were seen (1 = first). */
static int
s_note (fake_t *f, uint64_t token)
{
    pthread_mutex_lock (&f->lock);
    f->received++;
    size_t i = 0;
    while (i < f->ntokens && f->tokens[i] != token)
        i++;
    if (i == f->ntokens && i < FAKE_MAX_TOKENS) {
        f->tokens[i] = token;
        f->copies[i] = 0;
        f->ntokens++;
    }
    int n = i < FAKE_MAX_TOKENS ? ++f->copies[i] : 1;
    pthread_mutex_unlock (&f->lock);
    return n;
}

/* Sends the routing id RID (a copy) as the first frame of a reply. */
static void
s_route (void *router, zmq_msg_t *rid)
{
    zmq_msg_t id;
    zmq_msg_init (&id);
    zmq_msg_copy (&id, rid);
    zmq_msg_send (&id, router, ZMQ_SNDMORE);
}

static void
s_reply (void *router, zmq_msg_t *rid, const unsigned char *token, int status,
         uint64_t seq, const char *reason)
{
    s_route (router, rid);
    unsigned char st = (unsigned char) status, sq[8];
    util_put_be64 (sq, seq);
    zmq_send (router, token, WIRE_TOKEN_LEN, ZMQ_SNDMORE);
    zmq_send (router, &st, 1, ZMQ_SNDMORE);
    zmq_send (router, sq, 8, reason ? ZMQ_SNDMORE : 0);
    if (reason)
        zmq_send (router, reason, strlen (reason), 0);
}

/* Adds one record to the fake's pending ack batch. */
static void
s_batch_add (fake_t *f, const unsigned char *token, int status, uint64_t seq)
{
    unsigned char *p = f->batch + f->batch_len;
    memcpy (p, token, WIRE_TOKEN_LEN);
    p[WIRE_TOKEN_LEN] = (unsigned char) status;
    util_put_be64 (p + WIRE_TOKEN_LEN + 1, seq);
    f->batch_len += WIRE_ACK_RECORD_LEN;
}

/* FAKE_BATCH: answers every BATCH_N messages with one ack batch that also
 * holds a record for a token never sent and a repeat of the first one. */
static void
s_batch (fake_t *f, void *router, zmq_msg_t *rid, const unsigned char *token)
{
    s_batch_add (f, token, WIRE_ACK_STORED, ++f->next_seq);
    if (f->batch_len < BATCH_N * WIRE_ACK_RECORD_LEN)
        return;
    unsigned char stranger[WIRE_TOKEN_LEN] = { 0, 0, 0x7f, 0, 0, 0, 0, 9 };
    s_batch_add (f, stranger, WIRE_ACK_STORED, 999);
    memcpy (f->batch + f->batch_len, f->batch, WIRE_ACK_RECORD_LEN);
    f->batch_len += WIRE_ACK_RECORD_LEN;
    s_route (router, rid);
    zmq_send (router, f->batch, f->batch_len, 0);
    f->batch_len = 0;
}

static void *
s_bind (fake_t *f, bool first)
{
    void *r = zmq_socket (f->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt (r, ZMQ_LINGER, &linger, sizeof linger);
    const char *ep = first ? "tcp://127.0.0.1:*" : f->endpoint;
    for (int tries = 0; zmq_bind (r, ep) != 0; tries++) {
        assert_true (tries < 200);   /* port busy for up to 2 s after close */
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep (&ts, NULL);
    }
    if (first) {
        size_t len = sizeof f->endpoint;
        zmq_getsockopt (r, ZMQ_LAST_ENDPOINT, f->endpoint, &len);
    }
    return r;
}

/* Handles one publish message; returns the (possibly new) router. */
static void *
s_handle (fake_t *f, void *router)
{
    zmq_msg_t parts[4];
    int n = 0;
    bool more = true;
    while (more && n < 4) {
        zmq_msg_init (&parts[n]);
        zmq_msg_recv (&parts[n], router, 0);
        more = zmq_msg_more (&parts[n]);
        n++;
    }
    assert_int_equal (n, 4);   /* [identity][token][topic][event] */
    assert_false (more);
    assert_int_equal (zmq_msg_size (&parts[1]), WIRE_TOKEN_LEN);
    unsigned char token[WIRE_TOKEN_LEN];
    memcpy (token, zmq_msg_data (&parts[1]), WIRE_TOKEN_LEN);
    int copy = s_note (f, util_get_be64 (token));
    switch (f->mode) {
    case FAKE_ACK:
        s_reply (router, &parts[0], token, WIRE_ACK_STORED, ++f->next_seq, NULL);
        break;
    case FAKE_SILENT:
        break;
    case FAKE_DROP_FIRST:
        if (copy > 1)
            s_reply (router, &parts[0], token, WIRE_ACK_STORED, ++f->next_seq, NULL);
        break;
    case FAKE_UNAVAIL_FIRST:
        s_reply (router, &parts[0], token, copy == 1 ? WIRE_ACK_UNAVAILABLE : WIRE_ACK_STORED,
                 copy == 1 ? 0 : ++f->next_seq, NULL);
        break;
    case FAKE_REJECT:
        s_reply (router, &parts[0], token, WIRE_ACK_REJECTED, 0, "bad \x1b[31mevent");
        break;
    case FAKE_DOUBLE_ACK:
        ++f->next_seq;
        s_reply (router, &parts[0], token, WIRE_ACK_STORED, f->next_seq, NULL);
        s_reply (router, &parts[0], token, WIRE_ACK_DUPLICATE, f->next_seq, NULL);
        break;
    case FAKE_BATCH:
        s_batch (f, router, &parts[0], token);
        break;
    case FAKE_BAD_BATCH:
        if (copy == 1) {
            s_route (router, &parts[0]);
            zmq_send (router, token, WIRE_TOKEN_LEN, 0);   /* 8 bytes: not a batch */
        }
        else
            s_reply (router, &parts[0], token, WIRE_ACK_STORED, ++f->next_seq, NULL);
        break;
    case FAKE_RESTART:
        if (!f->restarted) {
            f->restarted = true;
            zmq_close (router);
            router = s_bind (f, false);
        }
        else
            s_reply (router, &parts[0], token, WIRE_ACK_STORED, ++f->next_seq, NULL);
        break;
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close (&parts[i]);
    return router;
}

static void *
s_fake_main (void *arg)
{
    fake_t *f = arg;
    void *router = s_bind (f, true);
    void *ctl = zmq_socket (f->ctx, ZMQ_PAIR);
    zmq_connect (ctl, "inproc://fake-ctl");
    zmq_send (ctl, "up", 2, 0);
    for (;;) {
        zmq_pollitem_t items[2] = { { router, 0, ZMQ_POLLIN, 0 }, { ctl, 0, ZMQ_POLLIN, 0 } };
        zmq_poll (items, 2, -1);
        if (items[1].revents)
            break;
        if (items[0].revents)
            router = s_handle (f, router);
    }
    zmq_close (router);
    zmq_close (ctl);
    return NULL;
}

typedef struct {
    void         *ctx;
    void         *ctl;
    fake_t        fake;
    client_pub_t *pub;
} fx_t;

static fx_t *
s_start (fake_mode_t mode, size_t window, int resend_ms)
{
    fx_t *fx = calloc (1, sizeof *fx);
    fx->ctx = zmq_ctx_new ();
    fx->ctl = zmq_socket (fx->ctx, ZMQ_PAIR);
    zmq_bind (fx->ctl, "inproc://fake-ctl");
    fx->fake.ctx = fx->ctx;
    fx->fake.mode = mode;
    pthread_mutex_init (&fx->fake.lock, NULL);
    pthread_create (&fx->fake.thread, NULL, s_fake_main, &fx->fake);
    char up[2];
    assert_int_equal (zmq_recv (fx->ctl, up, 2, 0), 2);
    client_pub_opts_t opts = { .endpoint = fx->fake.endpoint, .max_inflight = window,
                               .resend_ms = resend_ms };
    vl_err_t err;
    fx->pub = client_pub_new (fx->ctx, &opts, &err);
    assert_non_null (fx->pub);
    assert_int_equal (err, VL_OK);
    return fx;
}

static void
s_stop (fx_t *fx)
{
    client_pub_destroy (&fx->pub);
    assert_null (fx->pub);
    zmq_send (fx->ctl, "stop", 4, 0);
    pthread_join (fx->fake.thread, NULL);
    pthread_mutex_destroy (&fx->fake.lock);
    zmq_close (fx->ctl);
    zmq_ctx_term (fx->ctx);
    free (fx);
}

static void
s_send_n (fx_t *fx, size_t n, uint64_t first_tag)
{
    for (size_t i = 0; i < n; i++) {
        char ev[32];
        int len = snprintf (ev, sizeof ev, "event-%zu", i);
        assert_int_equal (client_pub_send (fx->pub, "test.topic", ev, (size_t) len,
                                           first_tag + i), VL_OK);
    }
}

/* Polls until N final acks arrived (or 10 s passed); returns how many. */
static size_t
s_collect (fx_t *fx, client_pub_ack_t *acks, size_t n)
{
    size_t got = 0;
    int64_t end = util_mono_ms () + 10000;
    while (got < n && util_mono_ms () < end) {
        size_t k = 0;
        assert_int_equal (client_pub_poll (fx->pub, 100, acks + got, n - got, &k), VL_OK);
        got += k;
    }
    return got;
}

static size_t
s_copies (fx_t *fx, size_t *tokens)
{
    pthread_mutex_lock (&fx->fake.lock);
    size_t r = fx->fake.received;
    if (tokens)
        *tokens = fx->fake.ntokens;
    pthread_mutex_unlock (&fx->fake.lock);
    return r;
}

static void
acks_come_back_with_tags_and_seqs (void **state)
{
    fx_t *fx = s_start (FAKE_ACK, 100, 5000);
    s_send_n (fx, 50, 1000);
    client_pub_ack_t acks[50];
    assert_int_equal (s_collect (fx, acks, 50), 50);
    bool seen[50] = { false };
    for (size_t i = 0; i < 50; i++) {
        assert_int_equal (acks[i].status, WIRE_ACK_STORED);
        assert_true (acks[i].tag >= 1000 && acks[i].tag < 1050);
        assert_false (seen[acks[i].tag - 1000]);
        seen[acks[i].tag - 1000] = true;
        assert_true (acks[i].seq >= 1 && acks[i].seq <= 50);
    }
    assert_int_equal (client_pub_pending (fx->pub), 0);
    assert_int_equal (s_copies (fx, NULL), 50);   /* nothing resent */
    s_stop (fx);
}

/* A batch of BATCH_N + 2 records read 7 acks at a time: every event acked
 * once with its seq, the stranger and the repeat ignored. */
static void
ack_batches_are_handed_out_across_calls (void **state)
{
    fx_t *fx = s_start (FAKE_BATCH, 100, 60000);
    s_send_n (fx, BATCH_N, 500);
    client_pub_ack_t acks[BATCH_N + 2];
    size_t got = 0;
    int64_t end = util_mono_ms () + 10000;
    while (got < BATCH_N + 2 && util_mono_ms () < end) {
        size_t k = 0, want = BATCH_N + 2 - got < 7 ? BATCH_N + 2 - got : 7;
        assert_int_equal (client_pub_poll (fx->pub, got < BATCH_N ? 100 : 20, acks + got,
                                           want, &k), VL_OK);
        assert_true (k <= want);
        got += k;
        if (got == BATCH_N && k == 0)
            break;
    }
    assert_int_equal (got, BATCH_N);
    bool seen[BATCH_N] = { false };
    for (size_t i = 0; i < BATCH_N; i++) {
        assert_int_equal (acks[i].status, WIRE_ACK_STORED);
        assert_true (acks[i].tag >= 500 && acks[i].tag < 500 + BATCH_N);
        assert_false (seen[acks[i].tag - 500]);
        seen[acks[i].tag - 500] = true;
        assert_int_equal (acks[i].seq, i + 1);   /* records come in order */
    }
    assert_int_equal (client_pub_pending (fx->pub), 0);
    assert_int_equal (s_copies (fx, NULL), BATCH_N);
    s_stop (fx);
}

/* A one-frame reply that is not a whole number of records is ignored: the
 * event stays pending and is resent. */
static void
malformed_ack_batch_is_ignored (void **state)
{
    fx_t *fx = s_start (FAKE_BAD_BATCH, 16, 200);
    s_send_n (fx, 3, 0);
    client_pub_ack_t acks[3];
    assert_int_equal (s_collect (fx, acks, 3), 3);
    size_t tokens;
    assert_int_equal (s_copies (fx, &tokens), 6);
    assert_int_equal (tokens, 3);
    s_stop (fx);
}

static void
full_window_gives_eagain (void **state)
{
    fx_t *fx = s_start (FAKE_SILENT, 4, 60000);
    s_send_n (fx, 4, 0);
    assert_int_equal (client_pub_pending (fx->pub), 4);
    assert_int_equal (client_pub_send (fx->pub, "test.topic", "x", 1, 99), VL_EAGAIN);
    size_t n = 1;
    client_pub_ack_t ack;
    assert_int_equal (client_pub_poll (fx->pub, 50, &ack, 1, &n), VL_OK);
    assert_int_equal (n, 0);
    assert_int_equal (client_pub_pending (fx->pub), 4);
    s_stop (fx);
}

static void
unanswered_events_are_resent_after_resend_ms (void **state)
{
    fx_t *fx = s_start (FAKE_DROP_FIRST, 16, 200);
    s_send_n (fx, 10, 0);
    client_pub_ack_t acks[10];
    assert_int_equal (s_collect (fx, acks, 10), 10);
    size_t tokens;
    assert_int_equal (s_copies (fx, &tokens), 20);   /* each exactly twice */
    assert_int_equal (tokens, 10);
    assert_int_equal (client_pub_pending (fx->pub), 0);
    s_stop (fx);
}

static void
unavailable_is_not_final_and_is_retried (void **state)
{
    fx_t *fx = s_start (FAKE_UNAVAIL_FIRST, 16, 60000);
    s_send_n (fx, 5, 0);
    client_pub_ack_t acks[5];
    assert_int_equal (s_collect (fx, acks, 5), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal (acks[i].status, WIRE_ACK_STORED);
        assert_true (acks[i].seq > 0);
    }
    assert_int_equal (s_copies (fx, NULL), 10);
    s_stop (fx);
}

static void
rejected_is_final_and_never_resent (void **state)
{
    fx_t *fx = s_start (FAKE_REJECT, 16, 100);
    s_send_n (fx, 3, 7);
    client_pub_ack_t acks[3];
    assert_int_equal (s_collect (fx, acks, 3), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal (acks[i].status, WIRE_ACK_REJECTED);
    /* wait past several resend periods: still one copy each */
    size_t n = 0;
    assert_int_equal (client_pub_poll (fx->pub, 400, acks, 3, &n), VL_OK);
    assert_int_equal (n, 0);
    assert_int_equal (s_copies (fx, NULL), 3);
    s_stop (fx);
}

static void
late_duplicate_acks_are_ignored (void **state)
{
    fx_t *fx = s_start (FAKE_DOUBLE_ACK, 16, 60000);
    s_send_n (fx, 8, 0);
    client_pub_ack_t acks[16];
    assert_int_equal (s_collect (fx, acks, 8), 8);
    size_t n = 0;
    assert_int_equal (client_pub_poll (fx->pub, 300, acks, 16, &n), VL_OK);
    assert_int_equal (n, 0);
    s_stop (fx);
}

static void
pending_events_are_resent_when_the_broker_comes_back (void **state)
{
    /* resend_ms is a minute: only the reconnection can explain a resend */
    fx_t *fx = s_start (FAKE_RESTART, 16, 60000);
    s_send_n (fx, 1, 42);
    client_pub_ack_t ack;
    int64_t t0 = util_mono_ms ();
    assert_int_equal (s_collect (fx, &ack, 1), 1);
    assert_true (util_mono_ms () - t0 < 10000);
    assert_int_equal (ack.tag, 42);
    assert_int_equal (ack.status, WIRE_ACK_STORED);
    assert_int_equal (s_copies (fx, NULL), 2);
    s_stop (fx);
}

static void
bad_arguments (void **state)
{
    fx_t *fx = s_start (FAKE_ACK, 4, 5000);
    char topic[300];
    memset (topic, 'a', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    assert_int_equal (client_pub_send (fx->pub, topic, "x", 1, 0), VL_ETOOBIG);
    assert_int_equal (client_pub_send (fx->pub, "", "x", 1, 0), VL_ETOOBIG);
    assert_int_equal (client_pub_send (NULL, "a", "x", 1, 0), VL_EINVAL);
    client_pub_opts_t opts = { .endpoint = NULL };
    vl_err_t err;
    assert_null (client_pub_new (fx->ctx, &opts, &err));
    assert_int_equal (err, VL_EINVAL);
    opts.endpoint = "nonsense://x";
    assert_null (client_pub_new (fx->ctx, &opts, &err));
    assert_int_not_equal (err, VL_OK);
    s_stop (fx);
}

int
main (void)
{
    log_setup ("test_client_pub", LOG_LVL_ERROR, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (acks_come_back_with_tags_and_seqs),
        cmocka_unit_test (ack_batches_are_handed_out_across_calls),
        cmocka_unit_test (malformed_ack_batch_is_ignored),
        cmocka_unit_test (full_window_gives_eagain),
        cmocka_unit_test (unanswered_events_are_resent_after_resend_ms),
        cmocka_unit_test (unavailable_is_not_final_and_is_retried),
        cmocka_unit_test (rejected_is_final_and_never_resent),
        cmocka_unit_test (late_duplicate_acks_are_ignored),
        cmocka_unit_test (pending_events_are_resent_when_the_broker_comes_back),
        cmocka_unit_test (bad_arguments),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
