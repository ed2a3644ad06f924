/* test_sub_reload.c: what a SIGHUP reload changes (sub_reload_plan): sinks
 * added, removed, changed by any setting, untouched; a change outside
 * `sinks` refused. (The reload itself: integration 84, 85.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "sub_conf.h"
#include "sub_reload.h"

static cfg_t *
load (const char *top, const char *sinks)
{
    char text[4096];
    snprintf (text, sizeof text, "sub = { state = \"/tmp/x.db\"; %s sinks = ( %s ); };", top,
              sinks);
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load_string (text, "sub.conf", &sub_conf_section, 1, &rc, &errors);
    if (!cfg)
        fail_msg ("%s", errors ? errors : "?");
    return cfg;
}

#define LOG_A "{ name = \"a\"; type = \"log\"; }"
#define LOG_B "{ name = \"b\"; type = \"log\"; topics = [\"un.\"]; }"
#define LOG_B2 "{ name = \"b\"; type = \"log\"; topics = [\"un.\", \"gov.\"]; }"
#define LOG_C "{ name = \"c\"; type = \"log\"; format = \"json\"; }"

static void
plan_names_added_removed_and_changed_sinks (void **state)
{
    cfg_t *old = load ("", LOG_A ", " LOG_B);
    cfg_t *new = load ("", LOG_B2 ", " LOG_C ", " LOG_A);        /* order does not matter */
    sub_reload_plan_t p;
    assert_int_equal (sub_reload_plan (cfg_section (old, "sub"), cfg_section (new, "sub"), &p),
                      VL_OK);
    assert_int_equal (p.nadded, 1);
    assert_string_equal (p.added[0], "c");
    assert_int_equal (p.nchanged, 1);
    assert_string_equal (p.changed[0], "b");                      /* a list grew */
    assert_int_equal (p.nremoved, 0);
    sub_reload_plan_free (&p);
    assert_int_equal (sub_reload_plan (cfg_section (new, "sub"), cfg_section (old, "sub"), &p),
                      VL_OK);
    assert_int_equal (p.nremoved, 1);
    assert_string_equal (p.removed[0], "c");
    assert_int_equal (p.nadded, 0);
    sub_reload_plan_free (&p);
    assert_int_equal (sub_reload_plan (cfg_section (old, "sub"), cfg_section (old, "sub"), &p),
                      VL_OK);
    assert_int_equal (p.nadded + p.nremoved + p.nchanged, 0);
    sub_reload_plan_free (&p);
    cfg_destroy (&old);
    cfg_destroy (&new);
}

static void
plan_refuses_changes_outside_sinks_and_shared_names (void **state)
{
    cfg_t *old = load ("request_timeout_ms = 1000;", LOG_A);
    cfg_t *other = load ("request_timeout_ms = 2000;", LOG_A);
    cfg_t *more = load ("request_timeout_ms = 1000; dedup_window = 50;", LOG_A);
    sub_reload_plan_t p;
    assert_int_equal (sub_reload_plan (cfg_section (old, "sub"), cfg_section (other, "sub"), &p),
                      VL_ECONFIG);
    assert_null (p.added);
    assert_int_equal (sub_reload_plan (cfg_section (old, "sub"), cfg_section (more, "sub"), &p),
                      VL_ECONFIG);                               /* a setting added */
    assert_int_equal (sub_reload_plan (cfg_section (more, "sub"), cfg_section (old, "sub"), &p),
                      VL_ECONFIG);                               /* a setting removed */
    cfg_t *twice = load ("request_timeout_ms = 1000;", LOG_A ", " LOG_C ", " LOG_A);
    assert_int_equal (sub_reload_plan (cfg_section (old, "sub"), cfg_section (twice, "sub"), &p),
                      VL_ECONFIG);                               /* two sinks named a */
    cfg_destroy (&old);
    cfg_destroy (&other);
    cfg_destroy (&more);
    cfg_destroy (&twice);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (plan_names_added_removed_and_changed_sinks),
        cmocka_unit_test (plan_refuses_changes_outside_sinks_and_shared_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
