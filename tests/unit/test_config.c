/* test_config: every documented error path names file:line and the key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static const cfg_key_t mail_keys[] = {
    { .name = "smtp_url", .type = CFG_T_STR, .flags = CFG_REQUIRED },
    { .name = "to", .type = CFG_T_STRLIST },
    { 0 }
};
static const cfg_key_t hook_keys[] = {
    { .name = "url", .type = CFG_T_STR, .flags = CFG_REQUIRED },
    { 0 }
};
static const cfg_variant_t sink_variants[] = {
    { "mail", mail_keys }, { "webhook", hook_keys }, { NULL, NULL }
};
static const cfg_key_t sink_keys[] = {
    { .name = "name", .type = CFG_T_STR, .flags = CFG_REQUIRED },
    { .name = "type", .type = CFG_T_ENUM, .choices = "mail|webhook", .flags = CFG_REQUIRED },
    { .name = "topics", .type = CFG_T_STRLIST, .def = "" },
    { 0 }
};
static const cfg_key_t test_keys[] = {
    { .name = "journal_dir", .type = CFG_T_STR, .flags = CFG_REQUIRED },
    { .name = "fsync", .type = CFG_T_ENUM, .def = "batch", .choices = "batch|interval|none" },
    { .name = "heartbeat_ms", .type = CFG_T_INT, .def = "1000", .min = 10, .max = 60000 },
    { .name = "segment_bytes", .type = CFG_T_INT64, .def = "67108864" },
    { .name = "verbose", .type = CFG_T_BOOL, .def = "false" },
    { .name = "sinks", .type = CFG_T_LIST, .children = sink_keys,
      .discriminator = "type", .variants = sink_variants },
    { 0 }
};
static const cfg_section_t sections[] = { { "broker", test_keys, true } };

static char *
load_errors (const char *text, vl_err_t *rc)
{
    char *errors = NULL;
    cfg_t *cfg = cfg_load_string (text, "t.conf", sections, 1, rc, &errors);
    cfg_destroy (&cfg);
    return errors;
}

static void
expect_error (const char *text, const char *needle)
{
    vl_err_t rc;
    char *errors = load_errors (text, &rc);
    assert_int_equal (rc, VL_ECONFIG);
    assert_non_null (errors);
    if (!strstr (errors, needle))
        fail_msg ("expected '%s' in:\n%s", needle, errors);
    free (errors);
}

static void
config_defaults_are_filled_in (void **state)
{
    (void) state;
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load_string ("broker = { journal_dir = \"/tmp/j\"; };", "t.conf",
                                  sections, 1, &rc, &errors);
    assert_non_null (cfg);
    assert_null (errors);
    config_setting_t *b = cfg_section (cfg, "broker");
    assert_string_equal (cfg_get_str (b, "fsync", NULL), "batch");
    assert_int_equal (cfg_get_int (b, "heartbeat_ms", 0), 1000);
    assert_int_equal (cfg_get_int64 (b, "segment_bytes", 0), 67108864);
    assert_false (cfg_get_bool (b, "verbose", true));
    cfg_destroy (&cfg);
    assert_null (cfg);
}

static void
config_unknown_key_suggests_nearest (void **state)
{
    (void) state;
    expect_error ("broker = {\n journal_dir = \"/j\";\n heartbeat_sm = 5; };",
                  "t.conf:3: broker.heartbeat_sm: unknown key; did you mean 'heartbeat_ms'?");
    expect_error ("broker = { journal_dir = \"/j\"; zzz = 1; };", "broker.zzz: unknown key\n");
    expect_error ("brokr = { };", "did you mean 'broker'?");
}

static void
config_type_range_enum_required (void **state)
{
    (void) state;
    expect_error ("broker = { journal_dir = 5; };", "broker.journal_dir: expected a string");
    expect_error ("broker = { journal_dir = \"/j\";\nheartbeat_ms = 1; };",
                  "t.conf:2: broker.heartbeat_ms: 1 is out of range [10, 60000]");
    expect_error ("broker = { journal_dir = \"/j\"; fsync = \"often\"; };",
                  "'often' is not one of batch|interval|none");
    expect_error ("broker = { fsync = \"none\"; };", "missing required key 'journal_dir'");
    expect_error ("watch = { };", "missing section 'broker");
    expect_error ("broker = { journal_dir = \"/j\"; verbose = 1; };", "expected true or false");
}

static void
config_variants_and_lists (void **state)
{
    (void) state;
    const char *ok = "broker = { journal_dir = \"/j\"; sinks = (\n"
                     " { name = \"m\"; type = \"mail\"; smtp_url = \"smtp://x\"; to = \"a@b\"; },\n"
                     " { name = \"w\"; type = \"webhook\"; url = \"http://h\"; } ); };";
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load_string (ok, "t.conf", sections, 1, &rc, &errors);
    assert_non_null (cfg);
    config_setting_t *sinks = config_setting_get_member (cfg_section (cfg, "broker"), "sinks");
    size_t n = 0;
    char **to = cfg_get_strlist (config_setting_get_elem (sinks, 0), "to", &n);
    assert_int_equal (n, 1);
    assert_string_equal (to[0], "a@b");
    cfg_strlist_free (to);
    char **topics = cfg_get_strlist (config_setting_get_elem (sinks, 1), "topics", &n);
    assert_int_equal (n, 1);   /* default [""] = everything */
    assert_string_equal (topics[0], "");
    cfg_strlist_free (topics);
    cfg_destroy (&cfg);

    expect_error ("broker = { journal_dir = \"/j\"; sinks = (\n{ name = \"w\"; type = \"webhook\";\n"
                  " url = \"u\"; smtp_url = \"x\"; } ); };",
                  "t.conf:3: broker.sinks[0].smtp_url: key is only valid when type = \"mail\"");
    expect_error ("broker = { journal_dir = \"/j\"; sinks = ( { name = \"m\"; type = \"mail\"; } ); };",
                  "broker.sinks[0]: missing required key 'smtp_url'");
    expect_error ("broker = { journal_dir = \"/j\"; sinks = ( 5 ); };", "expected a group");
}

static void
config_syntax_and_io_errors (void **state)
{
    (void) state;
    expect_error ("broker = {\n journal_dir = \"/j\"\n fsync = ; };", "t.conf:3:");
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load ("/nonexistent/veille.conf", sections, 1, &rc, &errors);
    assert_null (cfg);
    assert_int_equal (rc, VL_EIO);
    assert_non_null (strstr (errors, "/nonexistent/veille.conf: cannot read"));
    free (errors);
}

static void
config_file_errors_name_the_file (void **state)
{
    (void) state;
    char path[] = "/tmp/veille-test-config-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *text = "# comment\nbroker = {\n  journal_dir = \"/j\";\n  fsnyc = \"none\";\n};\n";
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (path, sections, 1, &rc, &errors);
    assert_null (cfg);
    char want[128];
    snprintf (want, sizeof want, "%s:4: broker.fsnyc: unknown key; did you mean 'fsync'?", path);
    if (!strstr (errors, want))
        fail_msg ("expected '%s' in %s", want, errors);
    free (errors);
    unlink (path);
}

static void
config_dump_lists_every_key (void **state)
{
    (void) state;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream (&text, &len);
    cfg_dump_markdown (fp, sections, 1);
    fclose (fp);
    assert_non_null (strstr (text, "| `broker.fsync` | `batch\\|interval\\|none` | batch |"));
    assert_non_null (strstr (text, "`broker.sinks[].smtp_url`"));
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (config_defaults_are_filled_in),
        cmocka_unit_test (config_unknown_key_suggests_nearest),
        cmocka_unit_test (config_type_range_enum_required),
        cmocka_unit_test (config_variants_and_lists),
        cmocka_unit_test (config_syntax_and_io_errors),
        cmocka_unit_test (config_file_errors_name_the_file),
        cmocka_unit_test (config_dump_lists_every_key),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
