/* test_nats_conf.c: the JetStream backbone's settings (the `nats` group of
 * watch and sub), the subject <-> topic mapping, and js_pub's refusals of
 * what could never be published. No server needed. */
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
#include "backbone.h"
#include "buf.h"
#include "event.h"
#include "js_pub.h"
#include "nats_conf.h"
#include "sub_conf.h"

static cfg_t *
load (const char *body, vl_err_t *rc, char **errors)
{
    char text[2048];
    snprintf (text, sizeof text, "sub = { state = \"/tmp/x.db\"; %s sinks = ("
              "{ name = \"l\"; type = \"log\"; }); };", body);
    return cfg_load_string (text, "sub.conf", &sub_conf_section, 1, rc, errors);
}

static void
defaults_when_absent (void **state)
{
    (void) state;
    nats_conf_t c;
    assert_int_equal (nats_conf_load (NULL, &c), VL_OK);
    assert_string_equal (c.servers, "nats://127.0.0.1:4222");
    assert_string_equal (c.stream, "VEILLE");
    assert_string_equal (c.subject_prefix, "veille");
    assert_int_equal (c.replicas, 1);
    assert_int_equal (c.duplicate_window_s, 86400);
    assert_null (c.user);
    nats_conf_free (&c);
    assert_null (c.servers);
}

static void
group_is_read_and_backbone_chosen (void **state)
{
    (void) state;
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = load ("backbone = \"nats\"; nats = { servers = \"nats://a:1,nats://b:2\";"
                       " stream = \"S\"; replicas = 3; };", &rc, &errors);
    if (!cfg)
        fail_msg ("%s", errors ? errors : "?");
    config_setting_t *sub = cfg_section (cfg, "sub");
    assert_true (backbone_is_nats (sub));
    nats_conf_t c;
    assert_int_equal (nats_conf_load (config_setting_get_member (sub, "nats"), &c), VL_OK);
    assert_string_equal (c.servers, "nats://a:1,nats://b:2");
    assert_string_equal (c.stream, "S");
    assert_int_equal (c.replicas, 3);
    nats_conf_free (&c);
    cfg_destroy (&cfg);
}

static void
bad_groups_are_refused (void **state)
{
    (void) state;
    vl_err_t rc;
    char *errors = NULL;
    /* an unknown backbone, replicas out of range: the key table refuses */
    assert_null (load ("backbone = \"kafka\";", &rc, &errors));
    free (errors);
    errors = NULL;
    assert_null (load ("nats = { replicas = 7; };", &rc, &errors));
    free (errors);
    errors = NULL;
    /* a user without a password, a cert without a key: the loader refuses */
    const char *bodies[] = {
        "nats = { username = \"u\"; };",
        "nats = { tls_cert = \"/c.pem\"; };",
        "nats = { subject_prefix = \"\"; };",
        "nats = { servers = \"\"; };",
        "nats = { stream = \"\"; };",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        cfg_t *cfg = load (bodies[i], &rc, &errors);
        assert_non_null (cfg);
        nats_conf_t c;
        assert_int_equal (nats_conf_load (config_setting_get_member (cfg_section (cfg, "sub"),
                                                                     "nats"), &c), VL_ECONFIG);
        assert_null (c.servers);
        cfg_destroy (&cfg);
    }
    cfg_t *cfg = load ("", &rc, &errors);
    assert_false (backbone_is_nats (cfg_section (cfg, "sub")));   /* default: the broker */
    cfg_destroy (&cfg);
}

static void
subjects_and_topics (void **state)
{
    (void) state;
    char out[64];
    assert_true (nats_conf_subject ("veille", "un.press", 8, out, sizeof out));
    assert_string_equal (out, "veille.un.press");
    assert_false (nats_conf_subject ("veille", "un..press", 9, out, sizeof out));
    assert_false (nats_conf_subject ("veille", "un.", 3, out, sizeof out));
    assert_false (nats_conf_subject ("veille", "a>", 2, out, sizeof out));
    assert_false (nats_conf_subject ("veille", "x", 1, out, 8));   /* does not fit */
    assert_string_equal (nats_conf_topic ("veille", "veille.un.press"), "un.press");
    assert_null (nats_conf_topic ("veille", "veilleX.un"));
    assert_null (nats_conf_topic ("veille", "veille."));
    assert_null (nats_conf_topic ("veille", "other.un"));
}

static void
js_pub_refuses_what_cannot_be_published (void **state)
{
    (void) state;
    nats_conf_t c;
    assert_int_equal (nats_conf_load (NULL, &c), VL_OK);
    vl_err_t rc;
    js_pub_t *p = js_pub_new (&c, 2, &rc);
    assert_non_null (p);
    event_t ev = { .v = EVENT_VERSION };
    char id[EVENT_ID_HEX + 1];
    event_make_id ("s", "i", "new", "h", id);
    ev.id = id; ev.type = "new"; ev.source = "s"; ev.topic = "un..x";
    buf_t b;
    buf_init (&b, EVENT_MAX_BYTES);
    assert_int_equal (event_encode (&ev, &b), VL_OK);
    assert_int_equal (js_pub_send (p, "un..x", b.data, b.len, 1), VL_EINVAL);  /* no subject */
    assert_int_equal (js_pub_send (p, "un.x", "\x80", 1, 2), VL_EINVAL);       /* no event */
    assert_int_equal (js_pub_pending (p), 0);
    /* the window: two queued (no server: nothing acked), the third waits */
    assert_int_equal (js_pub_send (p, "un.x", b.data, b.len, 3), VL_OK);
    assert_int_equal (js_pub_send (p, "un.x", b.data, b.len, 4), VL_OK);
    assert_int_equal (js_pub_send (p, "un.x", b.data, b.len, 5), VL_EAGAIN);
    assert_int_equal (js_pub_pending (p), 2);
    buf_free (&b);
    js_pub_destroy (&p);
    nats_conf_free (&c);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (defaults_when_absent),
        cmocka_unit_test (group_is_read_and_backbone_chosen),
        cmocka_unit_test (bad_groups_are_refused),
        cmocka_unit_test (subjects_and_topics),
        cmocka_unit_test (js_pub_refuses_what_cannot_be_published),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
