/* test_broker_conf.c: the `broker` key table and its rule that needs no
 * broker code (broker_conf_check: plaintext network endpoints), as
 * `veille check` applies them, and broker_opts_read, which applies the same
 * rule before it fills the broker's options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "broker_conf.h"
#include "broker_opts.h"

/* Loads "broker = { journal_dir = "j"; BODY };"; fails the test if the key
 * table refuses it. Caller destroys. */
static cfg_t *
load (const char *body)
{
    char text[1024];
    snprintf (text, sizeof text, "broker = { journal_dir = \"j\"; %s };", body);
    cfg_section_t sec = { "broker", broker_conf_keys, true };
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load_string (text, "b.conf", &sec, 1, &rc, &errors);
    if (!cfg)
        fprintf (stderr, "%s", errors ? errors : "");
    free (errors);
    assert_non_null (cfg);
    return cfg;
}

static void
broker_conf_check_accepts_unix_sockets (void **state)
{
    (void) state;
    cfg_t *cfg = load ("");          /* the defaults: ipc:// in /run/veille */
    assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_OK);
    cfg_destroy (&cfg);
    cfg = load ("publish = \"ipc:///tmp/p\"; subscribe = \"inproc://s\";");
    assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_OK);
    cfg_destroy (&cfg);
}

static void
broker_conf_check_refuses_plaintext_tcp (void **state)
{
    (void) state;
    static const char *const bodies[] = {
        "publish = \"tcp://127.0.0.1:5555\";",
        "subscribe = \"tcp://127.0.0.1:*\";",
        "replay = \"ws://127.0.0.1:5557\";",
    };
    for (size_t i = 0; i < 3; i++) {
        cfg_t *cfg = load (bodies[i]);
        assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_ECONFIG);
        broker_opts_t o;
        assert_int_equal (broker_opts_read (cfg_section (cfg, "broker"), &o), VL_ECONFIG);
        cfg_destroy (&cfg);
    }
}

static void
broker_conf_check_allows_plaintext_when_told_or_with_curve (void **state)
{
    (void) state;
    cfg_t *cfg = load ("publish = \"tcp://127.0.0.1:5555\"; allow_plaintext_tcp = true;");
    assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_OK);
    broker_opts_t o;
    assert_int_equal (broker_opts_read (cfg_section (cfg, "broker"), &o), VL_OK);
    assert_string_equal (o.publish, "tcp://127.0.0.1:5555");
    broker_opts_clear (&o);
    cfg_destroy (&cfg);
    /* an existing file stands for the key (its content is read at start) */
    cfg = load ("publish = \"tcp://127.0.0.1:5555\"; curve_secret_key = \"" __FILE__ "\";");
    assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_OK);
    cfg_destroy (&cfg);
}

static void
broker_conf_check_refuses_missing_curve_files (void **state)
{
    (void) state;
    cfg_t *cfg = load ("curve_secret_key = \"/nonexistent/k.key\";");
    assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_ECONFIG);
    cfg_destroy (&cfg);
    cfg = load ("curve_secret_key = \"" __FILE__ "\"; curve_publishers = \"" __FILE__ "\";");
    assert_int_equal (broker_conf_check (cfg_section (cfg, "broker")), VL_ECONFIG);   /* not a dir */
    cfg_destroy (&cfg);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (broker_conf_check_accepts_unix_sockets),
        cmocka_unit_test (broker_conf_check_refuses_plaintext_tcp),
        cmocka_unit_test (broker_conf_check_refuses_missing_curve_files),
        cmocka_unit_test (broker_conf_check_allows_plaintext_when_told_or_with_curve),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
