/* test_keywords: include/exclude filter, tags as configured. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "keywords.h"

static void
include_terms_give_tags_as_configured (void **state)
{
    char *inc[] = { "Cybersécurité", "terror*", "chiffrement de bout en bout", "absent" };
    vl_err_t err;
    keywords_t *kw = keywords_new (inc, 4, NULL, 0, &err);
    assert_non_null (kw);
    parsed_item_t it = { 0 };
    it.title = "Cazeneuve compte sur la CYBERSECURITE";
    it.summary = "contre le terrorisme";
    it.content = "";
    char **tags;
    size_t n;
    assert_true (keywords_check (kw, &it, &tags, &n));
    assert_int_equal (n, 2);
    assert_string_equal (tags[0], "Cybersécurité");
    assert_string_equal (tags[1], "terror*");
    keywords_tags_free (tags, n);
    it.title = "Rien à voir";
    it.summary = "la cyber-sécurité";   /* hyphen splits the word */
    assert_false (keywords_check (kw, &it, &tags, &n));
    assert_null (tags);
    assert_int_equal (n, 0);
    /* tags not wanted */
    assert_true (keywords_check_text (kw, "le chiffrement de bout-en-bout", 30, NULL, NULL));
    keywords_destroy (&kw);
    assert_null (kw);
}

static void
exclude_wins_and_no_terms_keep_all (void **state)
{
    char *inc[] = { "cyber*" };
    char *exc[] = { "Sport", "jeux vidéo" };
    keywords_t *kw = keywords_new (inc, 1, exc, 2, NULL);
    assert_non_null (kw);
    char **tags;
    size_t n;
    const char *t1 = "Cyberattaque pendant les JEUX VIDEO";
    assert_false (keywords_check_text (kw, t1, strlen (t1), &tags, &n));
    assert_null (tags);
    const char *t2 = "Cyberattaque contre un ministère";
    assert_true (keywords_check_text (kw, t2, strlen (t2), &tags, &n));
    assert_int_equal (n, 1);
    keywords_tags_free (tags, n);
    keywords_destroy (&kw);
    /* exclude only */
    kw = keywords_new (NULL, 0, exc, 2, NULL);
    assert_true (keywords_check_text (kw, "politique", 9, &tags, &n));
    assert_int_equal (n, 0);
    assert_false (keywords_check_text (kw, "le sport", 8, NULL, NULL));
    keywords_destroy (&kw);
    /* nothing configured */
    kw = keywords_new (NULL, 0, NULL, 0, NULL);
    assert_true (keywords_check_text (kw, "x", 1, &tags, &n));
    keywords_destroy (&kw);
    assert_true (keywords_check_text (NULL, "x", 1, NULL, NULL));
    keywords_destroy (NULL);
    keywords_tags_free (NULL, 0);
}

static void
invalid_terms_refused (void **state)
{
    vl_err_t err = VL_OK;
    char *bad[] = { "ok", " -- " };
    assert_null (keywords_new (bad, 2, NULL, 0, &err));
    assert_int_equal (err, VL_EINVAL);
    char *star[] = { "*" };
    assert_null (keywords_new (NULL, 0, star, 1, &err));
    assert_int_equal (err, VL_EINVAL);
    char *inval[] = { "caf\xe9" };
    assert_null (keywords_new (inval, 1, NULL, 0, &err));
    assert_int_equal (err, VL_EINVAL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (include_terms_give_tags_as_configured),
        cmocka_unit_test (exclude_wins_and_no_terms_keep_all),
        cmocka_unit_test (invalid_terms_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
