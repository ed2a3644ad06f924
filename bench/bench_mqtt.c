/* bench_mqtt.c: the mosquitto peer of the broker benchmark, driven through
 * libmosquitto with the same events (bytes for bytes) and the same run shape
 * as bench_broker.c: subscribers on "bench/#", publisher 0 warms up on
 * "bench/warm" until every subscriber got a message, then every publisher
 * sends "bench/data" for --duration s (or --count events) as fast as the
 * --window of unacknowledged messages allows, or at --rate events/s in total.
 * QoS 1: the window counts PUBACKs and the ack latency is measured; QoS 0:
 * the window counts messages not yet written to the socket.
 * One "RESULT k=v ..." line on stdout. */
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench_common.h"

typedef struct {
    const char *host;
    int         port, qos, pubs, subs, window;
    size_t      size;
    double      duration_s, rate, drain_s;
    long long   count;
    unsigned    nonce;
    const char *seeds;
    atomic_int        subs_ready, go, pubs_done, failed;
    _Atomic uint64_t  t0;
    atomic_ullong     total_sent;
} ctx_t;

typedef struct {
    ctx_t           *ctx;
    int              index;
    pthread_t        thread;
    struct mosquitto *m;
    /* publisher */
    uint64_t         sent, acked, last_send, last_ack;
    atomic_int       inflight;
    uint64_t         sent_at[65536];
    /* subscriber */
    bool             ready;
    uint64_t         received, last_recv;
    bench_hist_t     hist;
} worker_t;

static void on_message (struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    worker_t *w = obj;
    ctx_t *c = w->ctx;
    if (strcmp (msg->topic, "bench/warm") == 0) {
        if (!w->ready) {
            w->ready = true;
            atomic_fetch_add (&c->subs_ready, 1);
        }
        return;
    }
    uint64_t ts, now = bench_now_ns (), t0 = atomic_load (&c->t0);
    if (bench_event_ts (msg->payload, (size_t) msg->payloadlen, &ts) && t0 && ts >= t0) {
        w->received++;
        w->last_recv = now;
        bench_hist_add (&w->hist, now > ts ? now - ts : 0);
    }
}

static void on_publish (struct mosquitto *m, void *obj, int mid)
{
    worker_t *w = obj;
    uint64_t now = bench_now_ns ();
    atomic_fetch_sub (&w->inflight, 1);
    if (w->ctx->qos > 0 && w->sent_at[mid & 0xffff]) {
        bench_hist_add (&w->hist, now - w->sent_at[mid & 0xffff]);
        w->acked++;
        w->last_ack = now;
    }
}

static struct mosquitto *client (worker_t *w, const char *kind)
{
    ctx_t *c = w->ctx;
    char id[64];
    snprintf (id, sizeof id, "bench-%s-%d-%u", kind, w->index, c->nonce);
    struct mosquitto *m = mosquitto_new (id, true, w);
    if (!m)
        return NULL;
    mosquitto_int_option (m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set (m, 0);
    mosquitto_message_callback_set (m, on_message);
    mosquitto_publish_callback_set (m, on_publish);
    if (mosquitto_connect (m, c->host, c->port, 60) != MOSQ_ERR_SUCCESS
        || mosquitto_loop_start (m) != MOSQ_ERR_SUCCESS) {
        fprintf (stderr, "bench_mqtt: cannot connect to %s:%d\n", c->host, c->port);
        mosquitto_destroy (m);
        return NULL;
    }
    return m;
}

static void *sub_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    w->m = client (w, "sub");
    if (!w->m || mosquitto_subscribe (w->m, NULL, "bench/#", c->qos) != MOSQ_ERR_SUCCESS) {
        atomic_store (&c->failed, 1);
        return NULL;
    }
    uint64_t last_count = 0, quiet_since = 0;
    for (;;) {
        usleep (10000);
        if (atomic_load (&c->failed))
            break;
        if (!atomic_load (&c->pubs_done))
            continue;
        uint64_t n = w->received, now = bench_now_ns ();
        if (n >= atomic_load (&c->total_sent))
            break;
        if (n != last_count) {
            last_count = n;
            quiet_since = now;
        } else if (!quiet_since) {
            quiet_since = now;
        } else if (now - quiet_since > (uint64_t) (c->drain_s * 1e9)) {
            break;
        }
    }
    mosquitto_disconnect (w->m);
    mosquitto_loop_stop (w->m, false);
    return NULL;
}

/* Publishes EV; MID prediction lets the ack callback find the send time
 * even when it runs before mosquitto_publish returns. */
static int publish (worker_t *w, bench_event_t *ev, const char *topic,
                    uint64_t counter, uint64_t now, int *next_mid)
{
    ctx_t *c = w->ctx;
    bench_event_stamp (ev, now, c->nonce, (unsigned) w->index, counter);
    int predicted = *next_mid;
    w->sent_at[predicted & 0xffff] = counter == UINT64_MAX ? 0 : now;
    atomic_fetch_add (&w->inflight, 1);
    int mid = 0;
    int rc = mosquitto_publish (w->m, &mid, topic, (int) ev->len, ev->data, c->qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        atomic_fetch_sub (&w->inflight, 1);
        return -1;
    }
    if (mid != predicted)
        w->sent_at[mid & 0xffff] = w->sent_at[predicted & 0xffff];
    *next_mid = mid == 65535 ? 1 : mid + 1;
    return 0;
}

static void *pub_main (void *arg)
{
    worker_t *w = arg;
    ctx_t *c = w->ctx;
    prctl (PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    bench_event_t ev, warm;
    if (!bench_event_make (&ev, "bench.data", c->size, c->seeds)
        || !bench_event_make (&warm, "bench.warm", 200, c->seeds)) {
        atomic_store (&c->failed, 1);
        return NULL;
    }
    w->m = client (w, "pub");
    if (!w->m) {
        atomic_store (&c->failed, 1);
        goto out;
    }
    int next_mid = 1;
    if (w->index == 0) {
        uint64_t start = bench_now_ns ();
        while (atomic_load (&c->subs_ready) < c->subs && !atomic_load (&c->failed)) {
            if (bench_now_ns () - start > UINT64_C (15000000000)) {
                fprintf (stderr, "bench_mqtt: subscribers not ready after 15 s\n");
                atomic_store (&c->failed, 1);
                goto out;
            }
            publish (w, &warm, "bench/warm", UINT64_MAX, 1, &next_mid);
            usleep (20000);
        }
    }
    while (!atomic_load (&c->go) && !atomic_load (&c->failed))
        usleep (100);
    bench_sleep_until (atomic_load (&c->t0));
    uint64_t t0 = atomic_load (&c->t0);
    double per_pub = c->rate > 0 ? c->rate / c->pubs : 0;
    uint64_t period = per_pub > 0 ? (uint64_t) (1e9 / per_pub) : 0;
    uint64_t start = t0 + (period ? period * (uint64_t) w->index / (uint64_t) c->pubs : 0);
    uint64_t end = t0 + (uint64_t) (c->duration_s * 1e9);
    uint64_t counter = 0;
    while (!atomic_load (&c->failed)) {
        uint64_t now = bench_now_ns ();
        if (now >= end || (c->count > 0 && counter >= (uint64_t) c->count))
            break;
        if (atomic_load (&w->inflight) >= c->window) {
            usleep (50);
            continue;
        }
        if (period && start + counter * period > now) {
            bench_sleep_until (start + counter * period);
            continue;
        }
        now = bench_now_ns ();
        if (publish (w, &ev, "bench/data", counter, now, &next_mid) != 0) {
            fprintf (stderr, "bench_mqtt: publish failed\n");
            atomic_store (&c->failed, 1);
            break;
        }
        counter++;
        w->last_send = now;
    }
    w->sent = counter;
    atomic_fetch_add (&c->total_sent, counter);
    uint64_t until = bench_now_ns () + (uint64_t) ((c->drain_s + 5) * 1e9);
    while (atomic_load (&w->inflight) > 0 && bench_now_ns () < until)
        usleep (1000);
out:
    if (w->m) {
        mosquitto_disconnect (w->m);
        mosquitto_loop_stop (w->m, false);
    }
    bench_event_free (&ev);
    bench_event_free (&warm);
    return NULL;
}

int main (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0) {
            printf ("usage: bench_mqtt --port N [--host 127.0.0.1] [--qos 0|1] [--pubs 1]\n"
                    "  [--subs 1] [--size 512] [--duration 2] [--count 0] [--rate 0]\n"
                    "  [--window 1000] [--drain 3] [--seeds DIR] [--label NAME]\n");
            return 0;
        }
    ctx_t c = { 0 };
    c.host = bench_arg (argc, argv, "host", "127.0.0.1");
    c.port = (int) bench_arg_ll (argc, argv, "port", 1883);
    c.qos = (int) bench_arg_ll (argc, argv, "qos", 1);
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
    if (c.pubs < 1 || c.pubs > 255 || c.subs < 0 || c.window < 1 || c.qos < 0 || c.qos > 1) {
        fprintf (stderr, "bench_mqtt: bad arguments (--help)\n");
        return 2;
    }
    if (c.count > 0 && !bench_arg (argc, argv, "duration", NULL))
        c.duration_s = 3600;
    mosquitto_lib_init ();
    worker_t *subs = calloc ((size_t) c.subs + 1, sizeof *subs);
    worker_t *pubs = calloc ((size_t) c.pubs, sizeof *pubs);
    for (int i = 0; i < c.subs; i++) {
        subs[i].ctx = &c;
        subs[i].index = i;
        pthread_create (&subs[i].thread, NULL, sub_main, &subs[i]);
    }
    for (int i = 0; i < c.pubs; i++) {
        pubs[i].ctx = &c;
        pubs[i].index = i;
        pthread_create (&pubs[i].thread, NULL, pub_main, &pubs[i]);
    }
    while (atomic_load (&c.subs_ready) < c.subs && !atomic_load (&c.failed))
        usleep (1000);
    usleep (50000);
    double cpu0 = bench_cpu_s ();
    atomic_store (&c.t0, bench_now_ns () + 1000000);
    atomic_store (&c.go, 1);
    for (int i = 0; i < c.pubs; i++)
        pthread_join (pubs[i].thread, NULL);
    atomic_store (&c.pubs_done, 1);
    for (int i = 0; i < c.subs; i++)
        pthread_join (subs[i].thread, NULL);
    double cpu1 = bench_cpu_s ();

    char label[32];
    snprintf (label, sizeof label, "mosquitto-qos%d", c.qos);
    uint64_t t0 = atomic_load (&c.t0);
    bench_result_t r = { .system = bench_arg (argc, argv, "label", label),
                         .pubs = c.pubs, .subs = c.subs, .size = c.size, .rate = c.rate };
    bench_hist_t *lat = calloc (1, sizeof *lat), *ack = calloc (1, sizeof *ack);
    uint64_t last_send = 0, last_recv = 0;
    r.received_min = c.subs ? UINT64_MAX : 0;
    for (int i = 0; i < c.pubs; i++) {
        r.sent += pubs[i].sent;
        r.acked += pubs[i].acked;
        bench_hist_merge (ack, &pubs[i].hist);
        if (pubs[i].last_send > last_send)
            last_send = pubs[i].last_send;
    }
    for (int i = 0; i < c.subs; i++) {
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
    r.ack = c.qos > 0 ? ack : NULL;
    r.client_cpu_s = cpu1 - cpu0;
    bench_result_print (&r);
    int failed = atomic_load (&c.failed);
    for (int i = 0; i < c.subs; i++)
        if (subs[i].m)
            mosquitto_destroy (subs[i].m);
    for (int i = 0; i < c.pubs; i++)
        if (pubs[i].m)
            mosquitto_destroy (pubs[i].m);
    free (lat);
    free (ack);
    free (subs);
    free (pubs);
    mosquitto_lib_cleanup ();
    return failed ? 1 : 0;
}
