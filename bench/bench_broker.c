/* bench_broker.c: load generator for veille-broker and for the raw libzmq
 * XSUB/XPUB proxy (bench/zmq_proxy.c), one process, one thread per
 * publisher and per subscriber.
 *
 *   --mode veille   publishers are DEALERs speaking the veille publish
 *                   protocol [token][topic][event] -> [token][status][seq],
 *                   pipelined with at most --window events unacked
 *   --mode zmq      publishers are PUB sockets (XPUB_NODROP: they block
 *                   instead of dropping) sending [topic][seq][event]
 * Subscribers are SUB sockets on "bench." receiving [topic][seq][event]
 * or, for veille with --rep, the real client (core/client_sub: live SUB
 * plus recovery through the replay endpoint of what the broker's
 * high-water mark dropped); each counts the events and measures publish ->
 * receive latency from the send time carried in the event id
 * (bench_common.h).
 *
 * A run: subscribers connect; publisher 0 sends "bench.warm" events until
 * every subscriber has seen one (subscriptions have propagated); then every
 * publisher sends "bench.data" events for --duration seconds (or --count
 * events each) as fast as possible or at --rate events/s in total; the
 * subscribers wait for all of them (or --drain seconds of silence).
 * One "RESULT k=v ..." line goes to stdout. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_common.h"
#include "client_sub.h"
#include "util.h"
#include "wire.h"

#define RING (1u << 20)
#define WARM_TOKEN (UINT64_C (1) << 63)

typedef struct {
    /* configuration */
    bool        veille;
    const char *pub_ep, *sub_ep;
    const char *rep_ep;   /* veille: subscribers are client_sub (live + recovery) */
    int         pubs, subs;
    size_t      size;
    double      duration_s, rate, drain_s;
    long long   count;
    int         window, hwm;
    unsigned    nonce;
    const char *seeds;
    void       *zctx;
    /* shared state */
    atomic_int       subs_ready;
    atomic_int       go;
    atomic_int       pubs_done;
    atomic_int       failed;
    _Atomic uint64_t t0;
    atomic_ullong    total_sent;
} ctx_t;

typedef struct {
    ctx_t       *ctx;
    int          index;
    pthread_t    thread;
    uint64_t     sent, acked, nacked, last_send, last_ack;
    uint64_t     received, last_recv;
    uint64_t     replayed;   /* sub with --rep: of received, recovered by replay */
    bench_hist_t hist;   /* sub: latency; pub: ack latency */
} worker_t;

static void set_int (void *s, int opt, int v)
{
    zmq_setsockopt (s, opt, &v, sizeof v);
}

/* ---- subscriber ---- */

/* Counts one received event (TOPIC, encoded EVENT) for W: a warm event
 * marks the subscriber ready (*READY; READY NULL: it cannot be yet), a
 * data event sent after t0 is counted with its latency. */
static void sub_count (worker_t *w, bool *ready, const char *topic, size_t tlen,
                       const void *event, size_t elen)
{
    ctx_t *c = w->ctx;
    if (tlen == 10 && memcmp (topic, "bench.warm", 10) == 0) {
        if (ready && !*ready) {
            *ready = true;
            atomic_fetch_add (&c->subs_ready, 1);
        }
        return;
    }
    uint64_t ts, now = bench_now_ns ();
    if (bench_event_ts (event, elen, &ts) && atomic_load (&c->t0)
        && ts >= atomic_load (&c->t0)) {
        w->received++;
        w->last_recv = now;
        bench_hist_add (&w->hist, now > ts ? now - ts : 0);
    }
}

/* After a wait with nothing received at NOW: true when the subscriber is
 * done (every event sent arrived, or drain_s of silence after the
 * publishers finished, or the run failed). */
static bool sub_done (worker_t *w, uint64_t *quiet_since, uint64_t now)
{
    ctx_t *c = w->ctx;
    if (atomic_load (&c->failed))
        return true;
    if (!atomic_load (&c->pubs_done))
        return false;
    if (w->received >= atomic_load (&c->total_sent))
        return true;
    if (!*quiet_since)
        *quiet_since = now;
    return now - *quiet_since > (uint64_t) (c->drain_s * 1e9);
}

/* veille with --rep: the real client (core/client_sub): live events, and
 * what the broker's high-water mark dropped recovered from the replay
 * endpoint after the next heartbeat, as veille-sub and `veille tail` do. */
static void *sub_client_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    const char *prefixes[] = { "bench." };
    client_sub_opts_t o = { .sub_endpoint = c->sub_ep, .replay_endpoint = c->rep_ep,
                            .prefixes = prefixes, .nprefixes = 1,
                            .from_seq = CLIENT_SUB_LIVE_ONLY, .sub_rcvhwm = c->hwm };
    vl_err_t err;
    client_sub_t *cs = client_sub_new (c->zctx, &o, &err);
    if (!cs) {
        fprintf (stderr, "bench_broker: client_sub: %s\n", vl_strerror (err));
        atomic_store (&c->failed, 1);
        return NULL;
    }
    bool ready = false;
    uint64_t quiet_since = 0;
    for (;;) {
        client_msg_t m;
        err = client_sub_recv (cs, &m, 20);
        if (err == VL_OK) {
            quiet_since = 0;
            /* ready only once client_sub is: before its first heartbeat
             * nothing dropped would be recovered */
            if (m.kind == CLIENT_MSG_EVENT)
                sub_count (w, client_sub_ready (cs) ? &ready : NULL, m.topic, m.topic_len,
                           m.data, m.len);
            if (!(ready && atomic_load (&c->pubs_done)
                  && w->received >= atomic_load (&c->total_sent)))
                continue;
        } else if (err != VL_ETIMEOUT) {
            fprintf (stderr, "bench_broker: client_sub_recv: %s\n", vl_strerror (err));
            atomic_store (&c->failed, 1);
        }
        if (sub_done (w, &quiet_since, bench_now_ns ()))
            break;
    }
    client_sub_stats_t st;
    client_sub_get_stats (cs, &st);
    w->replayed = st.replayed;
    if (getenv ("BENCH_DEBUG"))
        fprintf (stderr, "client_sub: live=%llu replayed=%llu counts=%llu replays=%llu gaps=%llu "
                 "overflows=%llu timeouts=%llu cursor=%llu head=%llu\n",
                 (unsigned long long) st.live, (unsigned long long) st.replayed,
                 (unsigned long long) st.counts, (unsigned long long) st.replays,
                 (unsigned long long) st.gaps, (unsigned long long) st.overflows,
                 (unsigned long long) st.timeouts, (unsigned long long) client_sub_cursor (cs),
                 (unsigned long long) client_sub_head (cs));
    client_sub_destroy (&cs);
    return NULL;
}

static void *sub_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    void *s = zmq_socket (c->zctx, ZMQ_SUB);
    set_int (s, ZMQ_RCVHWM, c->hwm);
    set_int (s, ZMQ_LINGER, 0);
    zmq_setsockopt (s, ZMQ_SUBSCRIBE, "bench.", 6);
    if (zmq_connect (s, c->sub_ep) != 0) {
        fprintf (stderr, "bench_broker: connect %s: %s\n", c->sub_ep, zmq_strerror (errno));
        atomic_store (&c->failed, 1);
        zmq_close (s);
        return NULL;
    }
    bool ready = false;
    uint64_t quiet_since = 0;
    zmq_msg_t f[3];
    for (int i = 0; i < 3; i++)
        zmq_msg_init (&f[i]);
    for (;;) {
        zmq_pollitem_t it = { .socket = s, .events = ZMQ_POLLIN };
        if (zmq_poll (&it, 1, 20) <= 0) {
            if (sub_done (w, &quiet_since, bench_now_ns ()))
                break;
            continue;
        }
        quiet_since = 0;
        /* drain everything queued */
        for (;;) {
            int n = 0, more = 1;
            while (more && n < 3) {
                if (zmq_msg_recv (&f[n], s, n == 0 ? ZMQ_DONTWAIT : 0) < 0)
                    break;
                more = zmq_msg_more (&f[n]);
                n++;
            }
            if (n == 0)
                break;
            while (more) {  /* unexpected extra frames */
                zmq_msg_t x;
                zmq_msg_init (&x);
                zmq_msg_recv (&x, s, 0);
                more = zmq_msg_more (&x);
                zmq_msg_close (&x);
            }
            if (n == 3)
                sub_count (w, &ready, zmq_msg_data (&f[0]), zmq_msg_size (&f[0]),
                           zmq_msg_data (&f[2]), zmq_msg_size (&f[2]));
        }
    }
    for (int i = 0; i < 3; i++)
        zmq_msg_close (&f[i]);
    zmq_close (s);
    return NULL;
}

/* ---- publishers ---- */

typedef struct {
    worker_t      *w;
    void          *sock;
    int            fd;
    bench_event_t  ev, warm;
    uint64_t      *sent_at;   /* RING send times, veille mode */
    uint64_t       inflight;
} pub_t;

/* Sends one event (template EV stamped with TS and COUNTER). */
static int pub_send (pub_t *p, bench_event_t *ev, const char *topic,
                     uint64_t token, uint64_t counter, uint64_t ts)
{
    ctx_t *c = p->w->ctx;
    bench_event_stamp (ev, ts, c->nonce, (unsigned) p->w->index, counter);
    unsigned char tok[8];
    util_put_be64 (tok, token);
    if (c->veille) {  /* [token][topic][event] */
        if (zmq_send (p->sock, tok, 8, ZMQ_SNDMORE) < 0
            || zmq_send (p->sock, topic, strlen (topic), ZMQ_SNDMORE) < 0)
            return -1;
    } else {          /* [topic][seq][event], as the broker fans out */
        if (zmq_send (p->sock, topic, strlen (topic), ZMQ_SNDMORE) < 0
            || zmq_send (p->sock, tok, 8, ZMQ_SNDMORE) < 0)
            return -1;
    }
    return zmq_send (p->sock, ev->data, ev->len, 0) < 0 ? -1 : 0;
}

/* veille: counts one ack (TOKEN, STATUS) received at NOW. */
static void pub_ack (pub_t *p, uint64_t token, int status, uint64_t now)
{
    worker_t *w = p->w;
    if (token & WARM_TOKEN)
        return;
    if (p->inflight)
        p->inflight--;
    if (status == 0 || status == 1) {
        w->acked++;
        w->last_ack = now;
        bench_hist_add (&w->hist, now - p->sent_at[token & (RING - 1)]);
    } else {
        w->nacked++;
    }
}

/* veille: reads every reply already queued (non-blocking): single acks
 * [token][status][seq][reason] and ack batches (one frame of records). */
static void pub_drain_acks (pub_t *p)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, p->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            return;
        }
        uint64_t now = bench_now_ns ();
        const unsigned char *d = zmq_msg_data (&m);
        size_t n = zmq_msg_size (&m);
        if (!zmq_msg_more (&m)) {           /* ack batch */
            for (size_t k = 0; k + WIRE_ACK_RECORD_LEN <= n; k += WIRE_ACK_RECORD_LEN)
                pub_ack (p, util_get_be64 (d + k), d[k + WIRE_TOKEN_LEN], now);
            zmq_msg_close (&m);
            continue;
        }
        uint64_t token = n == 8 ? util_get_be64 (d) : WARM_TOKEN;
        int status = -1;
        for (int i = 0; zmq_msg_more (&m); i++) {
            if (zmq_msg_recv (&m, p->sock, 0) < 0)
                break;
            if (i == 0 && zmq_msg_size (&m) >= 1)
                status = *(unsigned char *) zmq_msg_data (&m);
        }
        zmq_msg_close (&m);
        pub_ack (p, token, status, now);
    }
}

/* veille: waits up to TIMEOUT_NS for the socket to become readable. */
static void pub_wait (pub_t *p, uint64_t timeout_ns)
{
    int ev = 0;
    size_t l = sizeof ev;
    zmq_getsockopt (p->sock, ZMQ_EVENTS, &ev, &l);
    if (ev & ZMQ_POLLIN)
        return;
    struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
    struct timespec ts = { .tv_sec = (time_t) (timeout_ns / 1000000000u),
                           .tv_nsec = (long) (timeout_ns % 1000000000u) };
    ppoll (&pfd, 1, &ts, NULL);
}

/* Publisher 0 sends a warm event every 20 ms until every subscriber got one. */
static bool pub_warmup (pub_t *p)
{
    ctx_t *c = p->w->ctx;
    uint64_t start = bench_now_ns (), n = 0;
    while (atomic_load (&c->subs_ready) < c->subs) {
        if (bench_now_ns () - start > UINT64_C (15000000000)) {
            fprintf (stderr, "bench_broker: subscribers not ready after 15 s\n");
            return false;
        }
        pub_send (p, &p->warm, "bench.warm", WARM_TOKEN | n, n, 1);
        n++;
        uint64_t until = bench_now_ns () + 20000000;
        while (bench_now_ns () < until) {
            if (c->veille) {
                pub_wait (p, 2000000);
                pub_drain_acks (p);
            } else {
                usleep (2000);
            }
        }
    }
    return true;
}

static void *pub_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    pub_t p = { .w = w };
    prctl (PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    if (!bench_event_make (&p.ev, "bench.data", c->size, c->seeds)
        || !bench_event_make (&p.warm, "bench.warm", 200, c->seeds)) {
        fprintf (stderr, "bench_broker: cannot build the event template\n");
        atomic_store (&c->failed, 1);
        return NULL;
    }
    p.sock = zmq_socket (c->zctx, c->veille ? ZMQ_DEALER : ZMQ_PUB);
    set_int (p.sock, ZMQ_SNDHWM, c->hwm);
    set_int (p.sock, ZMQ_RCVHWM, c->hwm);
    /* zmq: PUB queues what the proxy has not taken yet; keep it on close */
    set_int (p.sock, ZMQ_LINGER, c->veille ? 0 : 60000);
    if (!c->veille)
        set_int (p.sock, ZMQ_XPUB_NODROP, 1);
    if (zmq_connect (p.sock, c->pub_ep) != 0) {
        fprintf (stderr, "bench_broker: connect %s: %s\n", c->pub_ep, zmq_strerror (errno));
        atomic_store (&c->failed, 1);
        goto out;
    }
    size_t fl = sizeof p.fd;
    zmq_getsockopt (p.sock, ZMQ_FD, &p.fd, &fl);
    if (c->veille)
        p.sent_at = calloc (RING, sizeof *p.sent_at);
    if (w->index == 0 && c->subs > 0 && !pub_warmup (&p)) {
        atomic_store (&c->failed, 1);
        goto out;
    }
    while (!atomic_load (&c->go)) {
        if (atomic_load (&c->failed))
            goto out;
        if (c->veille) {
            pub_wait (&p, 200000);
            pub_drain_acks (&p);
        } else {
            usleep (100);
        }
    }
    bench_sleep_until (c->t0);
    double per_pub = c->rate > 0 ? c->rate / c->pubs : 0;
    uint64_t period = per_pub > 0 ? (uint64_t) (1e9 / per_pub) : 0;
    uint64_t t0 = c->t0 + (period ? period * (uint64_t) w->index / (uint64_t) c->pubs : 0);
    uint64_t end = c->t0 + (uint64_t) (c->duration_s * 1e9);
    uint64_t counter = 0;
    for (;;) {
        uint64_t now = bench_now_ns ();
        if (now >= end || (c->count > 0 && counter >= (uint64_t) c->count))
            break;
        if (c->veille) {
            /* at full speed read acks every 32 events (or when the window is
             * full), so the generator does not pay a failed recv per send */
            if (period || (counter & 31) == 0 || p.inflight >= (uint64_t) c->window)
                pub_drain_acks (&p);
            if (p.inflight >= (uint64_t) c->window) {
                pub_wait (&p, 1000000);
                continue;
            }
        }
        if (period) {
            uint64_t due = t0 + counter * period;
            if (due > now) {
                if (c->veille)
                    pub_wait (&p, due - now);
                else
                    bench_sleep_until (due);
                continue;
            }
        }
        now = bench_now_ns ();
        if (c->veille)
            p.sent_at[counter & (RING - 1)] = now;
        if (pub_send (&p, &p.ev, "bench.data", counter, counter, now) != 0) {
            fprintf (stderr, "bench_broker: send: %s\n", zmq_strerror (errno));
            atomic_store (&c->failed, 1);
            break;
        }
        counter++;
        p.inflight++;
        w->last_send = now;
    }
    w->sent = counter;
    atomic_fetch_add (&c->total_sent, counter);
    if (c->veille) {  /* collect the remaining acks */
        uint64_t until = bench_now_ns () + (uint64_t) (c->drain_s * 1e9) + 5000000000u;
        while (p.inflight > 0 && bench_now_ns () < until) {
            pub_wait (&p, 5000000);
            pub_drain_acks (&p);
        }
    }
out:
    bench_event_free (&p.ev);
    bench_event_free (&p.warm);
    free (p.sent_at);
    zmq_close (p.sock);
    return NULL;
}

static void usage (void)
{
    fprintf (stderr,
        "usage: bench_broker --mode veille|zmq --pub EP [--sub EP]\n"
        "  [--pubs 1] [--subs 1] [--size 512] [--duration 2] [--count 0]\n"
        "  [--rate 0 (events/s in total, 0 = max)] [--window 1000] [--hwm 1000000]\n"
        "  [--drain 3] [--seeds DIR] [--rep EP]\n"
        "Prints one RESULT line. veille: --pub is the broker's publish (ROUTER)\n"
        "endpoint; zmq: the proxy's XSUB endpoint. --sub is the XPUB endpoint.\n"
        "veille with --rep (the replay endpoint): subscribers are the real client\n"
        "(client_sub), which recovers what the broker's high-water mark dropped.\n");
}

int main (int argc, char **argv)
{
    if (bench_arg (argc, argv, "help", NULL) || argc < 2) {
        usage ();
        return argc < 2 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0) {
            usage ();
            return 0;
        }
    ctx_t c = { 0 };
    const char *mode = bench_arg (argc, argv, "mode", "veille");
    c.veille = strcmp (mode, "veille") == 0;
    c.pub_ep = bench_arg (argc, argv, "pub", NULL);
    c.sub_ep = bench_arg (argc, argv, "sub", NULL);
    c.rep_ep = c.veille ? bench_arg (argc, argv, "rep", NULL) : NULL;
    c.pubs = (int) bench_arg_ll (argc, argv, "pubs", 1);
    c.subs = (int) bench_arg_ll (argc, argv, "subs", 1);
    c.size = (size_t) bench_arg_ll (argc, argv, "size", 512);
    c.duration_s = bench_arg_d (argc, argv, "duration", 2);
    c.count = bench_arg_ll (argc, argv, "count", 0);
    c.rate = bench_arg_d (argc, argv, "rate", 0);
    c.window = (int) bench_arg_ll (argc, argv, "window", 1000);
    c.hwm = (int) bench_arg_ll (argc, argv, "hwm", 1000000);
    c.drain_s = bench_arg_d (argc, argv, "drain", 3);
    c.seeds = bench_arg (argc, argv, "seeds", NULL);
    c.nonce = (unsigned) ((uint64_t) getpid () ^ bench_now_ns ()) & 0xffffu;
    if (!c.pub_ep || (c.subs > 0 && !c.sub_ep) || c.pubs < 1 || c.pubs > 255
        || c.subs < 0 || c.window < 1 || (strcmp (mode, "veille") && strcmp (mode, "zmq"))) {
        usage ();
        return 2;
    }
    if (c.count > 0 && !bench_arg (argc, argv, "duration", NULL))
        c.duration_s = 3600;
    c.zctx = zmq_ctx_new ();
    zmq_ctx_set (c.zctx, ZMQ_IO_THREADS, 1);
    worker_t *subs = calloc ((size_t) c.subs + 1, sizeof *subs);
    worker_t *pubs = calloc ((size_t) c.pubs, sizeof *pubs);
    for (int i = 0; i < c.subs; i++) {
        subs[i] = (worker_t) { .ctx = &c, .index = i };
        pthread_create (&subs[i].thread, NULL, c.rep_ep ? sub_client_main : sub_main, &subs[i]);
    }
    for (int i = 0; i < c.pubs; i++) {
        pubs[i] = (worker_t) { .ctx = &c, .index = i };
        pthread_create (&pubs[i].thread, NULL, pub_main, &pubs[i]);
    }
    while (atomic_load (&c.subs_ready) < c.subs && !atomic_load (&c.failed))
        usleep (1000);
    usleep (50000);  /* let the other publishers finish connecting */
    double cpu0 = bench_cpu_s ();
    c.t0 = bench_now_ns () + 1000000;
    atomic_store (&c.go, 1);
    for (int i = 0; i < c.pubs; i++)
        pthread_join (pubs[i].thread, NULL);
    atomic_store (&c.pubs_done, 1);
    for (int i = 0; i < c.subs; i++)
        pthread_join (subs[i].thread, NULL);
    double cpu1 = bench_cpu_s ();

    bench_result_t r = { .system = bench_arg (argc, argv, "label", mode),
                         .pubs = c.pubs, .subs = c.subs, .size = c.size, .rate = c.rate };
    bench_hist_t *lat = calloc (1, sizeof *lat), *ack = calloc (1, sizeof *ack);
    uint64_t last_send = 0, last_recv = 0, last_ack = 0;
    r.received_min = c.subs ? UINT64_MAX : 0;
    for (int i = 0; i < c.pubs; i++) {
        r.sent += pubs[i].sent;
        r.acked += pubs[i].acked;
        r.nacked += pubs[i].nacked;
        bench_hist_merge (ack, &pubs[i].hist);
        if (pubs[i].last_ack > last_ack)
            last_ack = pubs[i].last_ack;
        if (pubs[i].last_send > last_send)
            last_send = pubs[i].last_send;
    }
    for (int i = 0; i < c.subs; i++) {
        r.received_sum += subs[i].received;
        r.replayed += subs[i].replayed;
        if (subs[i].received < r.received_min)
            r.received_min = subs[i].received;
        bench_hist_merge (lat, &subs[i].hist);
        if (subs[i].last_recv > last_recv)
            last_recv = subs[i].last_recv;
    }
    r.expected = r.sent;
    r.send_s = last_send > c.t0 ? (double) (last_send - c.t0) / 1e9 : 0;
    r.e2e_s = last_recv > c.t0 ? (double) (last_recv - c.t0) / 1e9 : r.send_s;
    r.lat = lat;
    r.ack = c.veille ? ack : NULL;
    if (c.subs == 0)  /* publish only: throughput is acked/s */
        r.received_min = r.acked,
        r.e2e_s = last_ack > c.t0 ? (double) (last_ack - c.t0) / 1e9 : r.send_s;
    r.client_cpu_s = cpu1 - cpu0;
    bench_result_print (&r);
    int failed = atomic_load (&c.failed);
    free (lat);
    free (ack);
    free (subs);
    free (pubs);
    zmq_ctx_term (c.zctx);
    return failed ? 1 : 0;
}
