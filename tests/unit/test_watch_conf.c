/* test_watch_conf.c: the `watch` section: defaults, sources with every
 * field, and the checks the key table cannot make (unique ids, topic
 * syntax, reserved topics, URL schemes), reported as file:line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "watch_conf.h"

static char logpath[64];

static const cfg_section_t SECTIONS[] = { { "watch", watch_conf_keys, true } };

/* Loads TEXT; returns the watch_conf_load result (cfg errors -> VL_EPARSE). */
static vl_err_t load (const char *text, watch_conf_t *wc, cfg_t **cfg_out)
{
    vl_err_t e;
    char *errors = NULL;
    char path[80];
    snprintf (path, sizeof path, "/tmp/veille-test-wconf-%d.conf", (int) getpid ());
    FILE *cf = fopen (path, "w");
    assert_non_null (cf);
    fputs (text, cf);
    fclose (cf);
    cfg_t *cfg = cfg_load (path, SECTIONS, 1, &e, &errors);
    unlink (path);
    if (!cfg) {
        FILE *f = fopen (logpath, "a");
        if (f) {
            fputs (errors ? errors : "", f);
            fclose (f);
        }
        free (errors);
        memset (wc, 0, sizeof *wc);
        *cfg_out = NULL;
        return VL_EPARSE;
    }
    free (errors);
    *cfg_out = cfg;
    return watch_conf_load (cfg, wc);
}

static char *log_text (void)
{
    char *s = NULL;
    size_t n;
    if (util_read_file (logpath, 1 << 20, &s, &n) != VL_OK)
        return strdup ("");
    return s;
}

static int reset_log (void **s)
{
    snprintf (logpath, sizeof logpath, "/tmp/veille-test-wconf-%d.log", (int) getpid ());
    unlink (logpath);
    return log_setup ("test_watch_conf", LOG_LVL_ERROR, false, logpath) == VL_OK ? 0 : -1;
}

static void full_config_loads_with_defaults (void **s)
{
    const char *text =
        "watch = {\n"
        "  state = \"/tmp/x.db\";\n"
        "  max_concurrency = 8;\n"
        "  sources = (\n"
        "    { id = \"un-press\"; topic = \"un.press\"; url = \"https://press.un.org/en/rss.xml\"; },\n"
        "    { id = \"min.page\"; topic = \"gov.fr.interieur\"; url = \"http://example.org/\";\n"
        "      type = \"html\"; interval = 600; select = \"#main\"; items = \"article\";\n"
        "      item_title = \"h2\"; item_link = \"a\"; ignore = [\"re:^Mis à jour\", \".date\"];\n"
        "      include = [\"cybersecurite\"]; exclude = \"publicite\";\n"
        "      headers = [\"X-Key: 1\"]; auth_env = \"MIN_AUTH\"; charset = \"windows-1252\";\n"
        "      fail_threshold = 7; },\n"
        "    { id = \"api\"; topic = \"press.api\"; url = \"file:///tmp/api.json\"; type = \"json\";\n"
        "      json = { items = \"data.items\"; id = \"uid\"; title = \"headline\"; link = \"url\";\n"
        "               date = \"ts\"; summary = \"lead\"; }; }\n"
        "  );\n"
        "};\n";
    watch_conf_t wc;
    cfg_t *cfg;
    assert_int_equal (load (text, &wc, &cfg), VL_OK);
    assert_string_equal (wc.broker, "ipc:///run/veille/publish.sock");
    assert_string_equal (wc.state, "/tmp/x.db");
    assert_int_equal (wc.max_concurrency, 8);
    assert_int_equal (wc.per_host_concurrency, 2);
    assert_int_equal (wc.per_host_interval_ms, 0);
    assert_int_equal (wc.connect_timeout_s, 10);
    assert_int_equal (wc.timeout_s, 30);
    assert_int_equal (wc.max_body_bytes, 8 * 1024 * 1024);
    assert_int_equal (wc.max_redirects, 5);
    assert_int_equal (wc.fail_threshold, 3);
    assert_int_equal (wc.backoff_max_s, 3600);
    assert_int_equal (wc.jitter_percent, 10);
    assert_false (wc.publish_existing);
    assert_int_equal (wc.item_retention_days, 90);
    assert_int_equal (wc.drain_timeout_s, 30);
    assert_non_null (wc.user_agent);
    assert_int_equal (wc.nsources, 3);
    const source_t *a = &wc.sources[0], *b = &wc.sources[1], *c = &wc.sources[2];
    assert_string_equal (a->id, "un-press");
    assert_int_equal (a->type, SOURCE_AUTO);
    assert_int_equal (a->interval_s, 300);
    assert_int_equal (a->fail_threshold, 3);   /* inherited */
    assert_int_equal (b->type, SOURCE_HTML);
    assert_int_equal (b->interval_s, 600);
    assert_string_equal (b->select, "#main");
    assert_string_equal (b->items, "article");
    assert_string_equal (b->item_title, "h2");
    assert_string_equal (b->item_link, "a");
    assert_int_equal (b->nignore, 2);
    assert_string_equal (b->ignore[1], ".date");
    assert_int_equal (b->ninclude, 1);
    assert_int_equal (b->nexclude, 1);   /* a single string is a list of one */
    assert_string_equal (b->exclude[0], "publicite");
    assert_int_equal (b->nheaders, 1);
    assert_string_equal (b->auth_env, "MIN_AUTH");
    assert_string_equal (b->charset, "windows-1252");
    assert_int_equal (b->fail_threshold, 7);
    assert_int_equal (c->type, SOURCE_JSON);
    assert_string_equal (c->json_items, "data.items");
    assert_string_equal (c->json_id, "uid");
    assert_string_equal (c->json_title, "headline");
    assert_string_equal (c->json_link, "url");
    assert_string_equal (c->json_date, "ts");
    assert_string_equal (c->json_summary, "lead");
    watch_conf_free (&wc);
    assert_null (wc.sources);
    cfg_destroy (&cfg);
}

/* Loads TEXT expecting failure; checks the log names NEEDLE. */
static void expect_error (const char *text, vl_err_t want, const char *needle)
{
    watch_conf_t wc;
    cfg_t *cfg;
    assert_int_equal (load (text, &wc, &cfg), want);
    assert_null (wc.sources);
    cfg_destroy (&cfg);
    char *log = log_text ();
    if (!strstr (log, needle))
        fail_msg ("expected '%s' in the errors, got: %s", needle, log);
    free (log);
    unlink (logpath);
    log_setup ("test_watch_conf", LOG_LVL_ERROR, false, logpath);
}

static void invalid_sources_are_reported_with_line (void **s)
{
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/\"; },\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/2\"; }\n );\n};\n",
                  VL_ECONFIG, ".conf:5: ");                 /* duplicate id */
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"b\"; topic = \"t\"; url = \"http://h/\"; },\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/2\"; },\n"
                  "  { id = \"b\"; topic = \"t\"; url = \"http://h/3\"; }\n );\n};\n",
                  VL_ECONFIG, ".conf:6: ");                 /* the later one, apart */
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"Bad Topic\"; url = \"http://h/\"; }\n );\n};\n",
                  VL_ECONFIG, ".conf:4: ");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"_sys.mine\"; url = \"http://h/\"; }\n );\n};\n",
                  VL_ECONFIG, "reserved");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"gopher://h/\"; }\n );\n};\n",
                  VL_ECONFIG, "only http");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"ftp://h/x\"; }\n );\n};\n",
                  VL_ECONFIG, ".conf:4: ");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a/b\"; topic = \"t\"; url = \"http://h/\"; }\n );\n};\n",
                  VL_ECONFIG, "source id");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/\"; headers = [\"nocolon\"]; }\n"
                  " );\n};\n", VL_ECONFIG, "header");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/\"; select = \"//div[\"; }\n"
                  " );\n};\n", VL_ECONFIG, ".conf:4: ");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/\"; ignore = [\"re:(\"]; }\n"
                  " );\n};\n", VL_ECONFIG, ".conf:4: ");
}

static void table_errors_come_from_cfg (void **s)
{
    expect_error ("watch = {\n sources = ();\n};\n", VL_EPARSE, "state");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; }\n );\n};\n", VL_EPARSE, "url");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/\"; type = \"rss\"; }\n"
                  " );\n};\n", VL_EPARSE, "type");
    expect_error ("watch = {\n state = \"x\";\n sources = (\n"
                  "  { id = \"a\"; topic = \"t\"; url = \"http://h/\"; intervall = 5; }\n"
                  " );\n};\n", VL_EPARSE, "interval");
}

static void url_schemes (void **s)
{
    assert_true (watch_conf_url_ok ("http://a/"));
    assert_true (watch_conf_url_ok ("HTTPS://a/"));
    assert_true (watch_conf_url_ok ("file:///tmp/x"));
    assert_false (watch_conf_url_ok ("http://"));
    assert_false (watch_conf_url_ok ("ftp://a/"));
    assert_false (watch_conf_url_ok ("javascript:alert(1)"));
    assert_false (watch_conf_url_ok (NULL));
}

static void source_hash_tracks_parsing_config (void **s)
{
    source_t a, b;
    memset (&a, 0, sizeof a);
    a.id = (char *) "a";
    a.topic = (char *) "t";
    a.url = (char *) "http://h/";
    b = a;
    char ha[33], hb[33];
    watch_conf_source_hash (&a, ha);
    b.interval_s = 99;                   /* scheduling does not count */
    b.fail_threshold = 9;
    watch_conf_source_hash (&b, hb);
    assert_string_equal (ha, hb);
    b.select = (char *) "#main";
    watch_conf_source_hash (&b, hb);
    assert_string_not_equal (ha, hb);
    b.select = NULL;
    char *inc[] = { (char *) "cyber*" };
    b.include = inc;
    b.ninclude = 1;
    watch_conf_source_hash (&b, hb);
    assert_string_not_equal (ha, hb);
    b.include = NULL;
    b.ninclude = 0;
    b.charset = (char *) "";             /* empty differs from unset */
    watch_conf_source_hash (&b, hb);
    assert_string_not_equal (ha, hb);
}

/* Unix ms of Y-M-D 12:00 UTC. */
static int64_t
noon_ms (int y, int m, int d)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12 };
    return (int64_t) timegm (&tm) * 1000;
}

static void un_ga_session_follows_the_date (void **state)
{
    (void) state;
    assert_int_equal (source_un_ga_session (noon_ms (2024, 9, 19)), 78);
    assert_int_equal (source_un_ga_session (noon_ms (2024, 9, 20)), 79);
    assert_int_equal (source_un_ga_session (noon_ms (2025, 1, 15)), 79);
    assert_int_equal (source_un_ga_session (noon_ms (2025, 9, 30)), 80);
    source_t src = { .url = (char *) "https://www.un.org/en/ga/{un_ga_session}/resolutions.shtml" };
    char *u = source_url (&src, noon_ms (2025, 3, 1));
    assert_string_equal (u, "https://www.un.org/en/ga/79/resolutions.shtml");
    free (u);
    src.url = (char *) "https://press.un.org/fr/rss.xml";
    u = source_url (&src, noon_ms (2025, 3, 1));
    assert_string_equal (u, src.url);
    free (u);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (full_config_loads_with_defaults, reset_log),
        cmocka_unit_test_setup (invalid_sources_are_reported_with_line, reset_log),
        cmocka_unit_test_setup (table_errors_come_from_cfg, reset_log),
        cmocka_unit_test (url_schemes),
        cmocka_unit_test (source_hash_tracks_parsing_config),
        cmocka_unit_test (un_ga_session_follows_the_date),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    unlink (logpath);
    return rc;
}
