/* test_sub_conf.c: the `sub` key table (validation, variants, defaults) and
 * building sinks and the dispatcher from a configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include "sub_app.h"
#include "sub_conf.h"
#include "test_tmpdir.h"

static char g_dir[64];

static int
setup (void **state)
{
    return test_tmpdir_create (g_dir, sizeof g_dir, "test_sub_conf.");
}

static int
teardown (void **state)
{
    return test_tmpdir_remove (g_dir);
}

static cfg_t *
load (const char *body, vl_err_t *rc, char **errors)
{
    char text[4096];
    snprintf (text, sizeof text, "sub = { state = \"%s/state.db\"; %s };", g_dir, body);
    return cfg_load_string (text, "sub.conf", &sub_conf_section, 1, rc, errors);
}

static const char FULL[] =
    "sinks = ("
    "  { name = \"console\"; type = \"log\"; format = \"json\"; topics = [\"un.\", \"gov.\"];"
    "    keywords = [\"cybersécurité\"]; quiet_hours = \"22:00-07:00\"; },"
    "  { name = \"desk\"; type = \"mail\"; url = \"smtp://127.0.0.1:2525\";"
    "    from = \"veille@example.org\"; to = [\"a@example.org\"]; digest_minutes = 15; },"
    "  { name = \"chat\"; type = \"webhook\"; url = \"http://127.0.0.1:9/x\"; style = \"ntfy\";"
    "    ntfy_tags = [\"warning\"]; priority = 5; }"
    ");";

static void
full_config_validates_and_fills_defaults (void **state)
{
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = load (FULL, &rc, &errors);
    if (!cfg)
        fail_msg ("%s", errors ? errors : "?");
    config_setting_t *sub = cfg_section (cfg, "sub");
    assert_string_equal (cfg_get_str (sub, "subscribe", NULL), "ipc:///run/veille/subscribe.sock");
    assert_string_equal (cfg_get_str (sub, "replay", NULL), "ipc:///run/veille/replay.sock");
    assert_int_equal (cfg_get_int (sub, "dedup_window", 0), 10000);
    config_setting_t *sink = config_setting_get_elem (config_setting_get_member (sub, "sinks"), 1);
    assert_int_equal (cfg_get_int (sink, "max_attempts", -1), 0);     /* no limit: */
    assert_int_equal (cfg_get_int (sink, "retry_horizon_s", 0), 86400);   /* a day decides */
    assert_false (cfg_get_bool (sink, "redrive_dead", true));
    assert_string_equal (cfg_get_str (sink, "subject_prefix", NULL), "[veille]");
    cfg_destroy (&cfg);
    free (errors);
}

static void
expect_error (const char *body, const char *needle)
{
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = load (body, &rc, &errors);
    assert_null (cfg);
    assert_int_equal (rc, VL_ECONFIG);
    if (!errors || !strstr (errors, needle))
        fail_msg ("expected '%s' in: %s", needle, errors ? errors : "(none)");
    free (errors);
}

static void
variant_keys_and_required_keys_are_checked (void **state)
{
    expect_error ("sinks = ({ name = \"x\"; type = \"log\"; url = \"smtp://a\"; });", "url");
    expect_error ("sinks = ({ name = \"x\"; type = \"mail\"; url = \"smtp://a\"; });", "from");
    expect_error ("sinks = ({ name = \"x\"; type = \"sms\"; });", "type");
    expect_error ("sinks = ({ name = \"x\"; type = \"webhook\"; url = \"http://a\"; style = \"irc\"; });",
                  "style");
    expect_error ("sinks = ({ name = \"x\"; type = \"log\"; max_attempts = -1; });", "max_attempts");
    expect_error ("sinks = ({ name = \"x\"; type = \"log\"; retry_horizon_s = -5; });",
                  "retry_horizon_s");
    expect_error ("sinks = ({ type = \"log\"; });", "name");
}

static void
sinks_are_built_from_the_config (void **state)
{
    vl_err_t rc;
    cfg_t *cfg = load (FULL, &rc, NULL);
    assert_non_null (cfg);
    dispatch_t *d = sub_app_build (cfg_section (cfg, "sub"), &rc);
    assert_non_null (d);
    assert_int_equal (dispatch_count (d), 3);
    assert_string_equal (dispatch_name (d, 2), "chat");
    size_t n;
    const char **p = dispatch_prefixes (d, &n);
    assert_int_equal (n, 1);                      /* "" covers "un." and "gov." */
    assert_string_equal (p[0], "");
    dispatch_destroy (&d);
    cfg_destroy (&cfg);
}

static void
build_errors_are_config_errors (void **state)
{
    const char *bad[] = {
        "sinks = ({ name = \"a\"; type = \"log\"; }, { name = \"a\"; type = \"log\"; });",
        "sinks = ({ name = \"m\"; type = \"webhook\"; url = \"http://x\"; style = \"matrix\"; });",
        "sinks = ({ name = \"q\"; type = \"log\"; quiet_hours = \"7h-8h\"; });",
        "sinks = ({ name = \"p\"; type = \"mail\"; url = \"smtp://x\"; from = \"a@b\"; to = \"c@d\";"
        "  username = \"u\"; password_env = \"VEILLE_TEST_NO_SUCH_VAR\"; });",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vl_err_t rc;
        cfg_t *cfg = load (bad[i], &rc, NULL);
        assert_non_null (cfg);
        dispatch_t *d = sub_app_build (cfg_section (cfg, "sub"), &rc);
        assert_null (d);
        assert_int_equal (rc, VL_ECONFIG);
        cfg_destroy (&cfg);
    }
}

static void
password_file_readable_by_others_is_refused (void **state)
{
    char path[128], body[512];
    snprintf (path, sizeof path, "%s/pw", g_dir);
    FILE *fp = fopen (path, "w");
    fputs ("secret\n", fp);
    fclose (fp);
    chmod (path, 0644);
    snprintf (body, sizeof body,
              "sinks = ({ name = \"p\"; type = \"mail\"; url = \"smtp://x\"; from = \"a@b\";"
              " to = \"c@d\"; username = \"u\"; password_file = \"%s\"; });", path);
    vl_err_t rc;
    cfg_t *cfg = load (body, &rc, NULL);
    dispatch_t *d = sub_app_build (cfg_section (cfg, "sub"), &rc);
    assert_null (d);
    chmod (path, 0600);
    d = sub_app_build (cfg_section (cfg, "sub"), &rc);
    assert_non_null (d);
    dispatch_destroy (&d);
    cfg_destroy (&cfg);
}

static void
test_sink_reports_unknown_sink (void **state)
{
    vl_err_t rc;
    cfg_t *cfg = load (FULL, &rc, NULL);
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream (&out, &len);
    assert_int_equal (sub_app_test_sink (cfg_section (cfg, "sub"), "nope", fp), 2);
    fclose (fp);
    assert_non_null (strstr (out, "no sink named 'nope'"));
    free (out);
    cfg_destroy (&cfg);
}

/* sub_conf_check: what the key table cannot see, every problem in one
 * call; a topic prefix without its dot only warns. */
static void
sub_conf_check_reports_what_the_daemon_refuses (void **state)
{
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = load (FULL, &rc, &errors);
    if (!cfg)
        fail_msg ("%s", errors ? errors : "?");
    int warnings = -1;
    assert_int_equal (sub_conf_check (cfg_section (cfg, "sub"), &warnings), VL_OK);
    assert_int_equal (warnings, 0);
    cfg_destroy (&cfg);
    char pw[128];
    snprintf (pw, sizeof pw, "%s/loose.pw", g_dir);
    FILE *f = fopen (pw, "w");
    assert_non_null (f);
    fputs ("secret\n", f);
    fclose (f);
    chmod (pw, 0644);
    char body[1024];
    snprintf (body, sizeof body,
        "sinks = ("
        "  { name = \"a\"; type = \"log\"; quiet_hours = \"25:00-07:00\"; topics = [\"un\"]; },"
        "  { name = \"a\"; type = \"log\"; types = [\"neww\"]; },"
        "  { name = \"m\"; type = \"mail\"; url = \"http://x\"; from = \"a@b\"; to = [\"c@d\"];"
        "    password_file = \"%s\"; }"
        ");", pw);
    cfg = load (body, &rc, &errors);
    assert_non_null (cfg);
    assert_int_equal (sub_conf_check (cfg_section (cfg, "sub"), &warnings), VL_ECONFIG);
    assert_int_equal (warnings, 1);
    cfg_destroy (&cfg);
    int a, b;
    assert_int_equal (sub_conf_parse_quiet ("22:00-24:00", &a, &b), VL_OK);
    assert_int_equal (b, 1440);
    assert_int_equal (sub_conf_parse_quiet ("25:00-07:00", &a, &b), VL_EINVAL);
    assert_string_equal (sub_conf_sink_types (), "log, mail, webhook, pipe, nats, mqtt, atom");
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (sub_conf_check_reports_what_the_daemon_refuses,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (full_config_validates_and_fills_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown (variant_keys_and_required_keys_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown (sinks_are_built_from_the_config, setup, teardown),
        cmocka_unit_test_setup_teardown (build_errors_are_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (password_file_readable_by_others_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_sink_reports_unknown_sink, setup, teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return rc;
}
