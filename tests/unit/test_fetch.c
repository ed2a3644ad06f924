/* test_fetch.c: the fetcher against the loopback fixture server and file://
 * URLs: validators and 304, refused redirects, size caps (download and
 * decompressed), timeouts, HTTP errors, headers and basic auth. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"
#include "test_tmpdir.h"

typedef struct {
    pid_t pid;
    int   port;
    char  root[256];
} fx_t;

static fx_t fx;

static void write_file (const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
    chmod (path, mode);
}

/* Spawns tests/helpers/fixture_server.py on ROOT and reads its READY line. */
static int fx_start (void **state)
{
    if (test_tmpdir_create (fx.root, sizeof fx.root, "veille-test-fetch-") != 0)
        return -1;
    write_file (fx.root, "a.xml",
                "<rss version=\"2.0\"><channel><item><guid>a</guid><title>A</title>"
                "</item></channel></rss>\n", 0644);
    int pfd[2];
    if (pipe (pfd) != 0)
        return -1;
    fx.pid = fork ();
    if (fx.pid == 0) {
        dup2 (pfd[1], 1);
        close (pfd[0]);
        close (pfd[1]);
        execl ("/usr/bin/python3", "python3", FIXTURES_DIR "/../helpers/fixture_server.py",
               "--root", fx.root, (char *) NULL);
        _exit (127);
    }
    close (pfd[1]);
    FILE *in = fdopen (pfd[0], "r");
    char line[128] = "";
    if (!in || !fgets (line, sizeof line, in) || sscanf (line, "READY port=%d", &fx.port) != 1)
        return -1;
    fclose (in);
    return 0;
}

static int fx_stop (void **state)
{
    if (fx.pid > 0) {
        kill (fx.pid, SIGTERM);
        waitpid (fx.pid, NULL, 0);
    }
    return test_tmpdir_remove (fx.root);
}

static void src_init (source_t *s, const char *url)
{
    memset (s, 0, sizeof *s);
    s->id = (char *) "t";
    s->topic = (char *) "t";
    s->url = (char *) url;
}

static fetch_t *mk (int max_body, int timeout_s)
{
    fetch_opts_t o = { .max_body_bytes = max_body, .timeout_s = timeout_s,
                       .connect_timeout_s = 5, .max_redirects = 3, .user_agent = "veille-test" };
    vl_err_t e;
    fetch_t *f = fetch_new (&o, &e);
    assert_non_null (f);
    return f;
}

/* Fetches fixture PATH (absolute URL when it has a scheme). */
static void get (fetch_t *f, const char *path, const char *etag, const char *lm,
                 fetch_result_t *res)
{
    char url[512];
    if (path[0] != '/')
        snprintf (url, sizeof url, "%s", path);
    else
        assert_true (snprintf (url, sizeof url, "http://127.0.0.1:%d%s", fx.port, path)
                     < (int) sizeof url);
    source_t s;
    src_init (&s, url);
    assert_int_equal (fetch_one (f, &s, etag, lm, res), VL_OK);
}

static void fetch_200_has_body_and_validators (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    fetch_result_t r;
    get (f, "/a.xml", NULL, NULL, &r);
    assert_int_equal (r.err, VL_OK);
    assert_int_equal (r.status, 200);
    assert_false (r.not_modified);
    assert_non_null (strstr (r.body, "<guid>a</guid>"));
    assert_non_null (r.etag);
    assert_non_null (r.last_modified);
    assert_non_null (r.final_url);
    assert_non_null (strstr (r.content_type, "xml"));
    fetch_result_t r2;
    get (f, "/a.xml", r.etag, NULL, &r2);
    assert_int_equal (r2.err, VL_OK);
    assert_int_equal (r2.status, 304);
    assert_true (r2.not_modified);
    assert_int_equal (r2.len, 0);
    fetch_result_clear (&r2);
    get (f, "/a.xml", NULL, r.last_modified, &r2);
    assert_true (r2.not_modified);
    fetch_result_clear (&r2);
    get (f, "/a.xml", "\"other\"", NULL, &r2);
    assert_false (r2.not_modified);
    assert_int_equal (r2.status, 200);
    fetch_result_clear (&r2);
    fetch_result_clear (&r);
    fetch_destroy (&f);
    assert_null (f);
}

static void fetch_gzip_is_decoded (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    fetch_result_t r;
    get (f, "/gzip/a.xml", NULL, NULL, &r);
    assert_int_equal (r.err, VL_OK);
    assert_non_null (strstr (r.body, "<guid>a</guid>"));
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_redirect_to_file_refused (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    fetch_result_t r;
    get (f, "/redirect?to=file:///etc/passwd", NULL, NULL, &r);
    assert_int_not_equal (r.err, VL_OK);
    assert_int_equal (r.err, VL_EDENIED);
    assert_null (r.body);
    assert_non_null (strstr (r.error, "refused"));
    fetch_result_clear (&r);
    get (f, "/redirect?to=gopher://127.0.0.1:70/", NULL, NULL, &r);
    assert_int_equal (r.err, VL_EDENIED);
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_redirects_followed_then_limited (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    fetch_result_t r;
    get (f, "/redirect-chain/2?to=/a.xml", NULL, NULL, &r);
    assert_int_equal (r.err, VL_OK);
    assert_non_null (strstr (r.final_url, "/a.xml"));
    fetch_result_clear (&r);
    get (f, "/redirect-chain/6?to=/a.xml", NULL, NULL, &r);   /* max_redirects 3 */
    assert_int_equal (r.err, VL_EREMOTE);
    assert_non_null (strstr (r.error, "redirect"));
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_size_cap_hit (void **state)
{
    fetch_t *f = mk (1 << 20, 30);
    fetch_result_t r;
    get (f, "/huge?bytes=52428800", NULL, NULL, &r);   /* Content-Length known */
    assert_int_equal (r.err, VL_ETOOBIG);
    assert_null (r.body);
    assert_non_null (strstr (r.error, "too big"));
    fetch_result_clear (&r);
    get (f, "/huge?bytes=52428800&chunked=1", NULL, NULL, &r);   /* length unknown */
    assert_int_equal (r.err, VL_ETOOBIG);
    fetch_result_clear (&r);
    get (f, "/endless", NULL, NULL, &r);
    assert_int_equal (r.err, VL_ETOOBIG);
    fetch_result_clear (&r);
    get (f, "/huge?bytes=1000", NULL, NULL, &r);   /* under the cap: fine */
    assert_int_equal (r.err, VL_OK);
    assert_int_equal (r.len, 1000);
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_gzip_bomb_capped (void **state)
{
    fetch_t *f = mk (1 << 20, 30);
    fetch_result_t r;
    get (f, "/bomb?mb=64", NULL, NULL, &r);   /* ~64 KiB on the wire, 64 MiB inflated */
    assert_int_equal (r.err, VL_ETOOBIG);
    assert_null (r.body);
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_timeout_on_slow_server (void **state)
{
    fetch_t *f = mk (1 << 20, 1);
    fetch_result_t r;
    get (f, "/slow?delay=4", NULL, NULL, &r);
    assert_int_equal (r.err, VL_ETIMEOUT);
    assert_string_equal (r.error, "timeout");
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_500_is_an_error (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    fetch_result_t r;
    get (f, "/status/500", NULL, NULL, &r);
    assert_int_equal (r.err, VL_EREMOTE);
    assert_int_equal (r.status, 500);
    assert_string_equal (r.error, "HTTP 500");
    assert_null (r.body);
    assert_false (r.not_modified);
    fetch_result_clear (&r);
    get (f, "/missing.xml", NULL, NULL, &r);
    assert_string_equal (r.error, "HTTP 404");
    fetch_result_clear (&r);
    get (f, "/reset", NULL, NULL, &r);
    assert_int_equal (r.err, VL_ENET);
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_file_url (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    char url[512];
    snprintf (url, sizeof url, "file://%s/a.xml", fx.root);
    fetch_result_t r;
    get (f, url, NULL, NULL, &r);
    assert_int_equal (r.err, VL_OK);
    assert_non_null (strstr (r.body, "<guid>a</guid>"));
    fetch_result_clear (&r);
    snprintf (url, sizeof url, "file://%s/none.xml", fx.root);
    get (f, url, NULL, NULL, &r);
    assert_int_not_equal (r.err, VL_OK);
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

static void fetch_headers_and_basic_auth (void **state)
{
    fetch_t *f = mk (1 << 20, 10);
    char url[256];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/echo", fx.port);
    char *hdrs[] = { (char *) "X-Veille-Test: yes", NULL };
    source_t s;
    src_init (&s, url);
    s.headers = hdrs;
    s.nheaders = 1;
    s.auth_env = (char *) "VEILLE_TEST_FETCH_AUTH";
    setenv ("VEILLE_TEST_FETCH_AUTH", "alice:secret", 1);
    fetch_result_t r;
    assert_int_equal (fetch_one (f, &s, NULL, NULL, &r), VL_OK);
    assert_int_equal (r.err, VL_OK);
    assert_non_null (strstr (r.body, "X-Veille-Test: yes"));
    assert_non_null (strstr (r.body, "Authorization: Basic YWxpY2U6c2VjcmV0"));
    assert_non_null (strstr (r.body, "User-Agent: veille-test"));
    fetch_result_clear (&r);
    unsetenv ("VEILLE_TEST_FETCH_AUTH");
    /* A secret file readable by others is refused. */
    write_file (fx.root, "secret", "bob:pw\n", 0644);
    char path[400];
    snprintf (path, sizeof path, "%s/secret", fx.root);
    s.auth_env = NULL;
    s.auth_file = path;
    assert_int_equal (fetch_one (f, &s, NULL, NULL, &r), VL_OK);
    assert_int_equal (r.err, VL_EDENIED);
    fetch_result_clear (&r);
    chmod (path, 0600);
    assert_int_equal (fetch_one (f, &s, NULL, NULL, &r), VL_OK);
    assert_int_equal (r.err, VL_OK);
    assert_non_null (strstr (r.body, "Authorization: Basic Ym9iOnB3"));
    fetch_result_clear (&r);
    fetch_destroy (&f);
}

/* Many sources at once, per-host limit 1: every one completes, in order
 * of the queue for the single host. */
static void fetch_many_concurrently (void **state)
{
    fetch_opts_t o = { .max_body_bytes = 1 << 20, .timeout_s = 10, .per_host_concurrency = 1,
                       .max_concurrency = 4 };
    vl_err_t e;
    fetch_t *f = fetch_new (&o, &e);
    assert_non_null (f);
    enum { N = 12 };
    source_t s[N];
    char urls[N][128];
    for (int i = 0; i < N; i++) {
        snprintf (urls[i], sizeof urls[i], "http://127.0.0.1:%d/feed?n=%d", fx.port, i + 1);
        src_init (&s[i], urls[i]);
        assert_int_equal (fetch_add (f, &s[i], NULL, NULL, (void *) (intptr_t) i), VL_OK);
    }
    int seen = 0, order_ok = 1, next = 0;
    while (fetch_active (f) > 0) {
        assert_int_equal (fetch_perform (f), VL_OK);
        fetch_result_t r;
        void *tag;
        while (fetch_take (f, &r, &tag)) {
            assert_int_equal (r.err, VL_OK);
            if ((int) (intptr_t) tag != next++)
                order_ok = 0;
            seen++;
            fetch_result_clear (&r);
        }
        assert_int_equal (fetch_wait (f, NULL, 0, 500), VL_OK);
    }
    assert_int_equal (seen, N);
    assert_true (order_ok);   /* one at a time on one host: FIFO */
    fetch_destroy (&f);
}

/* Text of fixture control URL PATH (fetched with F). Caller frees. */
static char *ctl (fetch_t *f, const char *path)
{
    fetch_result_t r;
    get (f, path, NULL, NULL, &r);
    assert_int_equal (r.err, VL_OK);
    char *body = r.body;
    r.body = NULL;
    fetch_result_clear (&r);
    return body;
}

static void run_all (fetch_t *f, int n)
{
    int done = 0;
    while (fetch_active (f) > 0) {
        assert_int_equal (fetch_perform (f), VL_OK);
        fetch_result_t r;
        while (fetch_take (f, &r, NULL)) {
            assert_int_equal (r.err, VL_OK);
            done++;
            fetch_result_clear (&r);
        }
        assert_int_equal (fetch_wait (f, NULL, 0, 500), VL_OK);
    }
    assert_int_equal (done, n);
}

/* The server sees at most per_host_concurrency requests at once, and
 * requests at least per_host_interval_ms apart. */
static void fetch_per_host_limits_respected (void **state)
{
    fetch_opts_t o = { .max_body_bytes = 1 << 20, .timeout_s = 10, .per_host_concurrency = 2,
                       .max_concurrency = 16 };
    vl_err_t e;
    fetch_t *f = fetch_new (&o, &e);
    fetch_t *c = mk (1 << 20, 10);
    free (ctl (c, "/_ctl/reset"));
    char url[128];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/slow?delay=0.3&k=conc", fx.port);
    source_t s;
    src_init (&s, url);
    for (int i = 0; i < 6; i++)
        assert_int_equal (fetch_add (f, &s, NULL, NULL, NULL), VL_OK);
    run_all (f, 6);
    char *conc = ctl (c, "/_ctl/concurrency?target=/slow%3Fdelay%3D0.3%26k%3Dconc");
    assert_true (atoi (conc) >= 1 && atoi (conc) <= 2);
    free (conc);
    fetch_destroy (&f);

    fetch_opts_t o2 = { .max_body_bytes = 1 << 20, .timeout_s = 10, .per_host_concurrency = 4,
                        .per_host_interval_ms = 250 };
    f = fetch_new (&o2, &e);
    snprintf (url, sizeof url, "http://127.0.0.1:%d/a.xml", fx.port);
    src_init (&s, url);
    for (int i = 0; i < 4; i++)
        assert_int_equal (fetch_add (f, &s, NULL, NULL, NULL), VL_OK);
    run_all (f, 4);
    char *arr = ctl (c, "/_ctl/arrivals?path=/a.xml");
    double t[8];
    int n = 0;
    for (char *p = arr; n < 8 && *p; n++) {
        t[n] = strtod (p, &p);
        while (*p == '\n')
            p++;
    }
    assert_int_equal (n, 4);
    for (int i = 1; i < n; i++)
        assert_true (t[i] - t[i - 1] >= 0.2);   /* 250 ms, minus loopback jitter */
    free (arr);
    fetch_destroy (&f);
    fetch_destroy (&c);
}

int main (void)
{
    log_setup ("test_fetch", LOG_LVL_WARN, false, NULL);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (fetch_200_has_body_and_validators),
        cmocka_unit_test (fetch_gzip_is_decoded),
        cmocka_unit_test (fetch_redirect_to_file_refused),
        cmocka_unit_test (fetch_redirects_followed_then_limited),
        cmocka_unit_test (fetch_size_cap_hit),
        cmocka_unit_test (fetch_gzip_bomb_capped),
        cmocka_unit_test (fetch_timeout_on_slow_server),
        cmocka_unit_test (fetch_500_is_an_error),
        cmocka_unit_test (fetch_file_url),
        cmocka_unit_test (fetch_headers_and_basic_auth),
        cmocka_unit_test (fetch_many_concurrently),
        cmocka_unit_test (fetch_per_host_limits_respected),
    };
    int rc = cmocka_run_group_tests (tests, fx_start, fx_stop);
    curl_global_cleanup ();
    return rc;
}
