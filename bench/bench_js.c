/* bench_js.c: the JetStream backbone under the broker benchmark's load:
 * the same events (bytes for bytes) and run shape as bench_broker.c, sent
 * through veille's own JetStream publisher (core/js_pub.c: async publish,
 * Nats-Msg-Id = event id, at most --window events without PubAck) and read
 * by veille's own consumer (core/js_sub.c, as in veille-sub), one thread
 * per publisher and subscriber. The stream (R1 unless --replicas, file
 * storage) is created first over "bench.>"; subscribers read it from
 * sequence 0, so no warm-up is needed. One "RESULT k=v ..." line on stdout. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "js_pub.h"
#include "js_sub.h"
#include "nats_conf.h"

#define ACKS 256

typedef struct {
    nats_conf_t       conf;
    int               pubs, subs, window;
    size_t            size;
    double            duration_s, rate, drain_s;
    long long         count;
    unsigned          nonce;
    const char       *seeds;
    atomic_int        subs_ready, go, pubs_done, failed;
    _Atomic uint64_t  t0;
    atomic_ullong     total_sent;
} ctx_t;

typedef struct {
    ctx_t       *ctx;
    int          index;
    pthread_t    thread;
    uint64_t     sent, acked, last_send, received, last_recv;
    bench_hist_t hist;   /* sub: latency; pub: ack latency */
} worker_t;

static void *sub_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    js_sub_opts_t o = { .conf = &c->conf, .who = "bench", .from_seq = 0 };
    vl_err_t e;
    js_sub_t *s = js_sub_new (&o, &e);
    bool ready = false;
    uint64_t quiet_since = 0;
    while (s && !atomic_load (&c->failed)) {
        client_msg_t m;
        e = js_sub_recv (s, &m, 100);
        if (!ready && js_sub_ready (s)) {
            ready = true;
            atomic_fetch_add (&c->subs_ready, 1);
        }
        uint64_t now = bench_now_ns (), ts;
        if (e == VL_OK && m.kind == CLIENT_MSG_EVENT) {
            w->received++;
            w->last_recv = now;
            quiet_since = 0;
            if (bench_event_ts (m.data, m.len, &ts) && now > ts)
                bench_hist_add (&w->hist, now - ts);
            continue;
        }
        if (!atomic_load (&c->pubs_done))
            continue;
        if (w->received >= atomic_load (&c->total_sent))
            break;
        if (!quiet_since)
            quiet_since = now;
        else if (now - quiet_since > (uint64_t) (c->drain_s * 1e9))
            break;
    }
    if (!s)
        atomic_store (&c->failed, 1);
    js_sub_destroy (&s);
    return NULL;
}

/* Collects PubAcks: the tag is the send time. */
static void take_acks (worker_t *w, js_pub_t *p, int timeout_ms)
{
    client_pub_ack_t acks[ACKS];
    size_t n = 0;
    js_pub_poll (p, timeout_ms, acks, ACKS, &n);
    uint64_t now = bench_now_ns ();
    for (size_t i = 0; i < n; i++) {
        w->acked++;
        bench_hist_add (&w->hist, now - acks[i].tag);
    }
}

static void *pub_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    bench_event_t ev = { 0 };
    vl_err_t e;
    js_pub_t *p = js_pub_new (&c->conf, (size_t) c->window, &e);
    if (!p || !bench_event_make (&ev, "bench.data", c->size, c->seeds)) {
        atomic_store (&c->failed, 1);
        js_pub_destroy (&p);
        return NULL;
    }
    while (!atomic_load (&c->go))
        usleep (1000);
    uint64_t start = atomic_load (&c->t0), counter = 0;
    uint64_t end = start + (uint64_t) (c->duration_s * 1e9);
    uint64_t period = c->rate > 0 ? (uint64_t) (1e9 * c->pubs / c->rate) : 0;
    bench_sleep_until (start);
    while (!atomic_load (&c->failed)) {
        uint64_t now = bench_now_ns ();
        if ((c->count > 0 && counter >= (uint64_t) c->count) || now >= end)
            break;
        if (period && start + counter * period > now) {
            take_acks (w, p, 0);
            bench_sleep_until (start + counter * period);
            continue;
        }
        bench_event_stamp (&ev, now, c->nonce, (unsigned) w->index, counter);
        e = js_pub_send (p, "bench.data", ev.data, ev.len, now);
        if (e == VL_EAGAIN) {
            take_acks (w, p, 1);
            continue;
        }
        if (e != VL_OK) {
            fprintf (stderr, "bench_js: send: %s\n", vl_strerror (e));
            atomic_store (&c->failed, 1);
            break;
        }
        counter++;
        w->last_send = now;
        take_acks (w, p, 0);
    }
    w->sent = counter;
    atomic_fetch_add (&c->total_sent, counter);
    uint64_t until = bench_now_ns () + (uint64_t) ((c->drain_s + 5) * 1e9);
    while (js_pub_pending (p) > 0 && bench_now_ns () < until)
        take_acks (w, p, 10);
    js_pub_destroy (&p);
    bench_event_free (&ev);
    return NULL;
}

/* Creates the stream over "bench.>" (or finds it). */
static bool make_stream (ctx_t *c, int replicas)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (nats_conf_connect (&c->conf, "bench", NULL, &nc, &js) != NATS_OK)
        return false;
    const char *subjects[] = { "bench.>" };
    jsStreamConfig sc;
    jsStreamConfig_Init (&sc);
    sc.Name = c->conf.stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = replicas;
    sc.Duplicates = 120 * 1000000000LL;
    jsStreamInfo *si = NULL;
    natsStatus s = js_AddStream (&si, js, &sc, NULL, NULL);
    jsStreamInfo_Destroy (si);
    nats_conf_disconnect (&nc, &js);
    return s == NATS_OK;
}

static void summarise (ctx_t *c, worker_t *pubs, worker_t *subs, double cpu, const char *label)
{
    uint64_t t0 = atomic_load (&c->t0), last_send = 0, last_recv = 0;
    bench_result_t r = { .system = label, .pubs = c->pubs, .subs = c->subs, .size = c->size,
                         .rate = c->rate, .received_min = c->subs ? UINT64_MAX : 0 };
    bench_hist_t *lat = calloc (1, sizeof *lat), *ack = calloc (1, sizeof *ack);
    for (int i = 0; lat && ack && i < c->pubs; i++) {
        r.sent += pubs[i].sent;
        r.acked += pubs[i].acked;
        bench_hist_merge (ack, &pubs[i].hist);
        if (pubs[i].last_send > last_send)
            last_send = pubs[i].last_send;
    }
    for (int i = 0; lat && ack && i < c->subs; i++) {
        r.received_sum += subs[i].received;
        if (subs[i].received < r.received_min)
            r.received_min = subs[i].received;
        bench_hist_merge (lat, &subs[i].hist);
        if (subs[i].last_recv > last_recv)
            last_recv = subs[i].last_recv;
    }
    r.expected = r.sent;
    r.send_s = last_send > t0 ? (double) (last_send - t0) / 1e9 : 0;
    r.e2e_s = last_recv > t0 ? (double) (last_recv - t0) / 1e9 : r.send_s;
    r.lat = lat;
    r.ack = ack;
    r.client_cpu_s = cpu;
    if (lat && ack)
        bench_result_print (&r);
    free (lat);
    free (ack);
}

int main (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0) {
            printf ("usage: bench_js --servers URLS [--stream BENCH] [--replicas 1] [--pubs 1]\n"
                    "  [--subs 1] [--size 512] [--duration 2] [--count 0] [--rate 0]\n"
                    "  [--window 1000] [--drain 3] [--seeds DIR] [--label NAME]\n");
            return 0;
        }
    ctx_t c = { 0 };
    if (nats_conf_load (NULL, &c.conf) != VL_OK)
        return 1;
    free (c.conf.servers);
    free (c.conf.stream);
    free (c.conf.subject_prefix);
    c.conf.servers = strdup (bench_arg (argc, argv, "servers", "nats://127.0.0.1:4222"));
    c.conf.stream = strdup (bench_arg (argc, argv, "stream", "BENCH"));
    c.conf.subject_prefix = strdup ("bench");
    c.pubs = (int) bench_arg_ll (argc, argv, "pubs", 1);
    c.subs = (int) bench_arg_ll (argc, argv, "subs", 1);
    c.size = (size_t) bench_arg_ll (argc, argv, "size", 512);
    c.duration_s = bench_arg_d (argc, argv, "duration", 2);
    c.count = bench_arg_ll (argc, argv, "count", 0);
    c.rate = bench_arg_d (argc, argv, "rate", 0);
    c.window = (int) bench_arg_ll (argc, argv, "window", 1000);
    c.drain_s = bench_arg_d (argc, argv, "drain", 3);
    c.seeds = bench_arg (argc, argv, "seeds", NULL);
    c.nonce = (unsigned) ((uint64_t) getpid () ^ bench_now_ns ()) & 0xffffu;
    if (c.pubs < 1 || c.pubs > 255 || c.subs < 0 || c.window < 1 || !c.conf.servers
        || !c.conf.stream || !c.conf.subject_prefix) {
        fprintf (stderr, "bench_js: bad arguments (--help)\n");
        return 2;
    }
    if (c.count > 0 && !bench_arg (argc, argv, "duration", NULL))
        c.duration_s = 3600;
    if (!make_stream (&c, (int) bench_arg_ll (argc, argv, "replicas", 1))) {
        fprintf (stderr, "bench_js: cannot create the stream at %s\n", c.conf.servers);
        return 1;
    }
    worker_t *subs = calloc ((size_t) c.subs + 1, sizeof *subs);
    worker_t *pubs = calloc ((size_t) c.pubs, sizeof *pubs);
    for (int i = 0; i < c.subs; i++) {
        subs[i] = (worker_t) { .ctx = &c, .index = i };
        pthread_create (&subs[i].thread, NULL, sub_main, &subs[i]);
    }
    for (int i = 0; i < c.pubs; i++) {
        pubs[i] = (worker_t) { .ctx = &c, .index = i };
        pthread_create (&pubs[i].thread, NULL, pub_main, &pubs[i]);
    }
    while (atomic_load (&c.subs_ready) < c.subs && !atomic_load (&c.failed))
        usleep (1000);
    double cpu0 = bench_cpu_s ();
    atomic_store (&c.t0, bench_now_ns () + 1000000);
    atomic_store (&c.go, 1);
    for (int i = 0; i < c.pubs; i++)
        pthread_join (pubs[i].thread, NULL);
    atomic_store (&c.pubs_done, 1);
    for (int i = 0; i < c.subs; i++)
        pthread_join (subs[i].thread, NULL);
    summarise (&c, pubs, subs, bench_cpu_s () - cpu0, bench_arg (argc, argv, "label", "nats-js"));
    int failed = atomic_load (&c.failed);
    free (subs);
    free (pubs);
    nats_conf_free (&c.conf);
    return failed ? 1 : 0;
}
