/* test_metrics: the Prometheus registry (render, labels, histograms,
 * collectors, threads) and the loopback HTTP endpoint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <curl/curl.h>
#include "buf.h"
#include "log.h"
#include "metrics.h"

static char *
render (metrics_t *m)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    assert_int_equal (metrics_render (m, &b), VL_OK);
    char *s = buf_steal (&b);
    assert_non_null (s);
    return s;
}

static void
counters_and_gauges_render_in_text_format (void **state)
{
    (void) state;
    metrics_t *m = metrics_new ();
    metric_t *c = metrics_counter (m, "veille_events_in_total", "Events in.", NULL);
    metric_t *g = metrics_gauge (m, "veille_queue_depth", "Queued.", "sink", "mail", NULL);
    metric_t *g2 = metrics_gauge (m, "veille_queue_depth", "Queued.", "sink", "log", NULL);
    assert_non_null (c);
    assert_non_null (g);
    metric_inc (c);
    metric_add (c, 41);
    metric_set (g, 7);
    metric_set (g2, 1.5);
    /* the same name and labels give the same series */
    assert_ptr_equal (metrics_gauge (m, "veille_queue_depth", "x", "sink", "mail", NULL), g);
    assert_true (metric_value (c) == 42);
    char *s = render (m);
    assert_non_null (strstr (s, "# HELP veille_events_in_total Events in.\n"
                                "# TYPE veille_events_in_total counter\n"
                                "veille_events_in_total 42\n"));
    assert_non_null (strstr (s, "# TYPE veille_queue_depth gauge\n"
                                "veille_queue_depth{sink=\"mail\"} 7\n"
                                "veille_queue_depth{sink=\"log\"} 1.5\n"));
    free (s);
    metrics_destroy (&m);
    assert_null (m);
    metrics_destroy (&m);
}

static void
label_values_are_escaped_and_bad_names_refused (void **state)
{
    (void) state;
    metrics_t *m = metrics_new ();
    metric_t *c = metrics_counter (m, "x_total", "h", "sink", "a\"b\\c\nd", "kind", "k", NULL);
    assert_non_null (c);
    assert_null (metrics_counter (m, "bad-name", "h", NULL));
    assert_null (metrics_counter (m, "9lives", "h", NULL));
    assert_null (metrics_counter (m, "x_total", "h", "bad key", "v", NULL));
    assert_null (metrics_counter (m, "x_total", "h", "le", "v", NULL));
    assert_null (metrics_gauge (m, "x_total", "same name, other type", NULL));
    metric_inc (NULL);           /* NULL-safe */
    metric_set (NULL, 1);
    metric_observe (NULL, 1);
    char *s = render (m);
    assert_non_null (strstr (s, "x_total{sink=\"a\\\"b\\\\c\\nd\",kind=\"k\"} 0\n"));
    free (s);
    metrics_destroy (&m);
}

static void
histogram_buckets_are_cumulative (void **state)
{
    (void) state;
    metrics_t *m = metrics_new ();
    const double b[] = { 0.1, 1, 10 };
    const double bad[] = { 1, 0.5 };
    assert_null (metrics_histogram (m, "h2_seconds", "h", bad, 2, NULL));
    metric_t *h = metrics_histogram (m, "fetch_seconds", "Fetch latency.", b, 3,
                                     "source", "un", NULL);
    assert_non_null (h);
    metric_observe (h, 0.05);
    metric_observe (h, 0.1);
    metric_observe (h, 0.5);
    metric_observe (h, 100);
    char *s = render (m);
    assert_non_null (strstr (s, "# TYPE fetch_seconds histogram\n"
                                "fetch_seconds_bucket{source=\"un\",le=\"0.1\"} 2\n"
                                "fetch_seconds_bucket{source=\"un\",le=\"1\"} 3\n"
                                "fetch_seconds_bucket{source=\"un\",le=\"10\"} 3\n"
                                "fetch_seconds_bucket{source=\"un\",le=\"+Inf\"} 4\n"
                                "fetch_seconds_sum{source=\"un\"} 100.65000000000001\n"
                                "fetch_seconds_count{source=\"un\"} 4\n"));
    free (s);
    metrics_destroy (&m);
}

static void
collect_depth (void *arg, metrics_t *m)
{
    int *calls = arg;
    (*calls)++;
    metric_set (metrics_gauge (m, "depth", "Depth.", NULL), 10 * *calls);
}

static void
collectors_run_at_each_render (void **state)
{
    (void) state;
    metrics_t *m = metrics_new ();
    int calls = 0;
    assert_int_equal (metrics_add_collector (m, collect_depth, &calls), VL_OK);
    char *s = render (m);
    assert_non_null (strstr (s, "depth 10\n"));
    free (s);
    s = render (m);
    assert_non_null (strstr (s, "depth 20\n"));
    free (s);
    metrics_destroy (&m);
}

static void *
hammer (void *arg)
{
    metrics_t *m = arg;
    metric_t *c = metrics_counter (m, "hits_total", "h", NULL);
    metric_t *h = metrics_histogram (m, "lat", "h", metrics_latency_buckets,
                                     metrics_latency_nbuckets, NULL);
    for (int i = 0; i < 10000; i++) {
        metric_inc (c);
        metric_observe (h, 1);
    }
    return NULL;
}

static void
updates_from_threads_are_not_lost (void **state)
{
    (void) state;
    metrics_t *m = metrics_new ();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal (pthread_create (&t[i], NULL, hammer, m), 0);
    for (int i = 0; i < 4; i++)
        pthread_join (t[i], NULL);
    char *s = render (m);
    assert_non_null (strstr (s, "hits_total 40000\n"));
    assert_non_null (strstr (s, "lat_sum 40000\n"));
    assert_non_null (strstr (s, "lat_count 40000\n"));
    free (s);
    metrics_destroy (&m);
}

static size_t
collect_body (char *p, size_t sz, size_t n, void *arg)
{
    buf_append (arg, p, sz * n);
    return sz * n;
}

static long
http_get (int port, const char *path, buf_t *body)
{
    char url[128];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init ();
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt (c, CURLOPT_TIMEOUT, 10L);
    long code = 0;
    if (curl_easy_perform (c) == CURLE_OK)
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup (c);
    return code;
}

static void
endpoint_serves_metrics_on_loopback_only (void **state)
{
    (void) state;
    metrics_t *m = metrics_new ();
    assert_int_equal (metrics_serve (m, "0.0.0.0:0"), VL_EINVAL);
    assert_int_equal (metrics_serve (m, "192.168.1.1:9101"), VL_EINVAL);
    assert_int_equal (metrics_serve (m, "127.0.0.1"), VL_EINVAL);
    assert_int_equal (metrics_serve (m, "127.0.0.1:99999"), VL_EINVAL);
    assert_int_equal (metrics_port (m), 0);
    metric_add (metrics_counter (m, "served_total", "h", NULL), 3);
    assert_int_equal (metrics_serve (m, "127.0.0.1:0"), VL_OK);
    int port = metrics_port (m);
    assert_true (port > 0);
    buf_t b;
    buf_init (&b, 1 << 20);
    assert_int_equal (http_get (port, "/metrics", &b), 200);
    assert_non_null (b.data);
    assert_non_null (strstr (b.data, "served_total 3\n"));
    buf_reset (&b);
    assert_int_equal (http_get (port, "/other", &b), 404);
    buf_free (&b);
    metrics_destroy (&m);
}

int
main (void)
{
    log_setup ("test_metrics", LOG_LVL_OFF, false, NULL);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (counters_and_gauges_render_in_text_format),
        cmocka_unit_test (label_values_are_escaped_and_bad_names_refused),
        cmocka_unit_test (histogram_buckets_are_cumulative),
        cmocka_unit_test (collectors_run_at_each_render),
        cmocka_unit_test (updates_from_threads_are_not_lost),
        cmocka_unit_test (endpoint_serves_metrics_on_loopback_only),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return rc;
}
