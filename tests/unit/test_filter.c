/* test_filter.c: per-sink filters (prefix, type, source, tags, keywords,
 * accent/case folding) and schedule (quiet hours). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "filter.h"

static event_t
mk (const char *topic, const char *type, const char *source, const char *title,
    const char *tag)
{
    event_t ev;
    memset (&ev, 0, sizeof ev);
    ev.topic = (char *) topic;
    ev.type = (char *) type;
    ev.source = (char *) source;
    ev.title = (char *) title;
    static char *store[32][1];     /* one slot per event built by a test */
    static size_t used;
    char **tags = store[used++ % 32];
    tags[0] = (char *) tag;
    ev.tags = tag ? tags : NULL;
    ev.ntags = tag ? 1 : 0;
    return ev;
}

static void
default_topic_prefix_takes_everything (void **state)
{
    filter_opts_t o = { 0 };
    vl_err_t err;
    filter_t *f = filter_new (&o, &err);
    assert_non_null (f);
    assert_true (filter_topic (f, "un.ctitf", 8));
    assert_string_equal (filter_prefixes (f)[0], "");
    event_t ev = mk ("press.rfi", "new", "rfi", "Titre", NULL);
    assert_true (filter_match (f, &ev));
    filter_destroy (&f);
    assert_null (f);
}

static void
prefix_with_dot_does_not_match_unesco (void **state)
{
    char *topics[] = { "un.", "gov.fr", NULL };
    filter_opts_t o = { .topics = topics };
    filter_t *f = filter_new (&o, NULL);
    assert_true (filter_topic (f, "un.ctitf", 8));
    assert_false (filter_topic (f, "unesco.x", 8));
    assert_true (filter_topic (f, "gov.fr.interieur", 16));
    assert_false (filter_topic (f, "gov", 3));
    filter_destroy (&f);
}

static void
types_and_sources_are_exact (void **state)
{
    char *types[] = { "new", "changed", NULL };
    char *sources[] = { "un-ctitf", NULL };
    filter_opts_t o = { .types = types, .sources = sources };
    filter_t *f = filter_new (&o, NULL);
    event_t a = mk ("un.ctitf", "new", "un-ctitf", "x", NULL);
    event_t b = mk ("un.ctitf", "removed", "un-ctitf", "x", NULL);
    event_t c = mk ("un.ctitf", "new", "un-ctitf-2", "x", NULL);
    assert_true (filter_match (f, &a));
    assert_false (filter_match (f, &b));
    assert_false (filter_match (f, &c));
    filter_destroy (&f);
}

static void
keywords_fold_accents_and_case (void **state)
{
    char *kw[] = { "cybersecurite", "chiffr*", NULL };
    filter_opts_t o = { .keywords = kw };
    filter_t *f = filter_new (&o, NULL);
    event_t a = mk ("t", "new", "s", "La CYBERSÉCURITÉ au menu", NULL);
    event_t b = mk ("t", "new", "s", "Le chiffrement de bout en bout", NULL);
    event_t c = mk ("t", "new", "s", "Rien à voir", NULL);
    event_t d = mk ("t", "new", "s", "Rien", "Cybersécurité");   /* matches via tag */
    assert_true (filter_match (f, &a));
    assert_true (filter_match (f, &b));
    assert_false (filter_match (f, &c));
    assert_true (filter_match (f, &d));
    filter_destroy (&f);
}

static void
tags_compare_folded (void **state)
{
    char *tags[] = { "Sécurité", NULL };
    filter_opts_t o = { .tags = tags };
    filter_t *f = filter_new (&o, NULL);
    event_t a = mk ("t", "new", "s", "x", "securite");
    event_t b = mk ("t", "new", "s", "x", "autre");
    event_t c = mk ("t", "new", "s", "securite", NULL);
    assert_true (filter_match (f, &a));
    assert_false (filter_match (f, &b));
    assert_false (filter_match (f, &c));
    filter_destroy (&f);
}

static void
bad_quiet_hours_and_empty_keyword_are_rejected (void **state)
{
    vl_err_t err;
    filter_opts_t o = { .quiet_hours = "25:00-07:00" };
    assert_null (filter_new (&o, &err));
    assert_int_equal (err, VL_EINVAL);
    o.quiet_hours = "22:00-07:00x";
    assert_null (filter_new (&o, &err));
    char *kw[] = { "!!!", NULL };
    filter_opts_t k = { .keywords = kw };
    assert_null (filter_new (&k, &err));
    assert_int_equal (err, VL_EINVAL);
}

static time_t
local_at (int h, int m)
{
    struct tm tm = { .tm_year = 126, .tm_mon = 0, .tm_mday = 15, .tm_hour = h, .tm_min = m,
                     .tm_isdst = -1 };
    return mktime (&tm);
}

static void
quiet_hours_wrap_midnight (void **state)
{
    filter_opts_t o = { .quiet_hours = "22:00-07:00", .min_interval_s = 30 };
    filter_t *f = filter_new (&o, NULL);
    assert_non_null (f);
    assert_int_equal (filter_quiet_wait_ms (f, local_at (12, 0)), 0);
    assert_int_equal (filter_quiet_wait_ms (f, local_at (23, 0)), 8 * 3600 * 1000);
    assert_int_equal (filter_quiet_wait_ms (f, local_at (6, 30)), 30 * 60 * 1000);
    assert_int_equal (filter_quiet_wait_ms (f, local_at (7, 0)), 0);
    assert_int_equal (filter_min_interval_ms (f), 30000);
    filter_destroy (&f);
    int s, e;
    assert_int_equal (filter_parse_quiet ("09:30-17:45", &s, &e), VL_OK);
    assert_int_equal (s, 570);
    assert_int_equal (e, 1065);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (default_topic_prefix_takes_everything),
        cmocka_unit_test (prefix_with_dot_does_not_match_unesco),
        cmocka_unit_test (types_and_sources_are_exact),
        cmocka_unit_test (keywords_fold_accents_and_case),
        cmocka_unit_test (tags_compare_folded),
        cmocka_unit_test (bad_quiet_hours_and_empty_keyword_are_rejected),
        cmocka_unit_test (quiet_hours_wrap_midnight),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
