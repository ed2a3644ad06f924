/* test_fold: accent/case folding and whole-word keyword matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fold.h"

static char *
f (const char *s)
{
    char *r = fold_text (s, strlen (s));
    assert_non_null (r);
    return r;
}

static void
fold_strips_accents_case_and_punctuation (void **state)
{
    char *r = f ("  Cybersécurité : l’ÉTAT, «\u00a0vite\u00a0» !  ");
    assert_string_equal (r, "cybersecurite l etat vite");
    free (r);
    r = f ("Cœur ÆTHER straße");
    assert_string_equal (r, "coeur aether strasse");
    free (r);
    r = f ("");
    assert_string_equal (r, "");
    free (r);
}

static void
fold_keeps_trailing_star_only (void **state)
{
    char *r = f ("Cyber*");
    assert_string_equal (r, "cyber*");
    free (r);
    r = f ("a*b c");
    assert_string_equal (r, "a b c");
    free (r);
}

static void
fold_rejects_invalid_utf8 (void **state)
{
    assert_null (fold_text ("caf\xe9", 4));
    assert_null (fold_text (NULL, 0));
}

static bool
m (const char *text, const char *term)
{
    char *t = f (text), *k = f (term);
    bool r = fold_match (t, k);
    free (t);
    free (k);
    return r;
}

static void
match_is_accent_insensitive (void **state)
{
    assert_true (m ("Le Forum de la Cybersécurité", "cybersecurite"));
    assert_true (m ("Le Forum de la cybersecurite", "Cybersécurité"));
    assert_true (m ("Ministère de l'Intérieur", "interieur"));
}

static void
match_respects_word_boundaries (void **state)
{
    assert_false (m ("la cybersécurité", "cyber"));
    assert_false (m ("terrorisme", "terror"));
    assert_true (m ("le (cyber)-terrorisme", "cyber"));
    assert_true (m ("fin", "fin"));
    assert_false (m ("", "fin"));
}

static void
match_prefix_and_phrase (void **state)
{
    assert_true (m ("la cybersécurité", "cyber*"));
    assert_true (m ("cyber", "cyber*"));
    assert_false (m ("la sécurité cyber", "secu*ite"));
    assert_true (m ("un chiffrement de bout en bout", "chiffrement de bout en bout"));
    assert_true (m ("Chiffrement  de\nbout-en-bout.", "chiffrement de bout en bout"));
    assert_false (m ("chiffrement de bout", "chiffrement de bout en bout"));
    assert_false (fold_match ("abc", "*"));
    assert_false (fold_match (NULL, "a"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (fold_strips_accents_case_and_punctuation),
        cmocka_unit_test (fold_keeps_trailing_star_only),
        cmocka_unit_test (fold_rejects_invalid_utf8),
        cmocka_unit_test (match_is_accent_insensitive),
        cmocka_unit_test (match_respects_word_boundaries),
        cmocka_unit_test (match_prefix_and_phrase),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
