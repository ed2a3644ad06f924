/* test_page_check: the selectors and ignore patterns of an html source are
 * checked without a document (what `veille check` and the watcher's config
 * loader apply), and the "re:" patterns compile for the page parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "page_check.h"

static char *good_ignore[] = {
    ".cookie",
    "re:^Publié le .* Modifié le ",
    "//div[@class='share']",
};

static void
page_check_accepts_css_xpath_and_regexes (void **state)
{
    (void) state;
    source_t src;
    memset (&src, 0, sizeof src);
    char err[256] = "";
    src.select = "article";
    src.items = "li";
    src.item_title = "h2";
    src.item_link = "a";
    src.ignore = good_ignore;
    src.nignore = 3;
    assert_int_equal (page_check (&src, err, sizeof err), VL_OK);
    memset (&src, 0, sizeof src);     /* no selector at all: nothing to check */
    assert_int_equal (page_check (&src, err, sizeof err), VL_OK);
}

static void
page_check_names_the_bad_field (void **state)
{
    (void) state;
    source_t src;
    memset (&src, 0, sizeof src);
    char err[256] = "";
    src.select = "article";
    src.item_title = "h2::after";
    assert_int_equal (page_check (&src, err, sizeof err), VL_EINVAL);
    assert_non_null (strstr (err, "item_title"));
    src.item_title = NULL;
    static char *bad[] = { "re:a{2,1}" };
    src.ignore = bad;
    src.nignore = 1;
    assert_int_equal (page_check (&src, err, sizeof err), VL_EINVAL);
    assert_non_null (strstr (err, "re:a{2,1}"));
    static char *bad2[] = { "//[" };
    src.ignore = bad2;
    assert_int_equal (page_check (&src, err, sizeof err), VL_EINVAL);
    assert_non_null (strstr (err, "invalid XPath"));
}

static void
page_check_caps_the_regexes (void **state)
{
    (void) state;
    char *many[PAGE_CHECK_MAX_RE + 1];
    for (size_t i = 0; i <= PAGE_CHECK_MAX_RE; i++)
        many[i] = "re:^x$";
    source_t src;
    memset (&src, 0, sizeof src);
    src.ignore = many;
    src.nignore = PAGE_CHECK_MAX_RE;
    char err[256] = "";
    regex_t re[PAGE_CHECK_MAX_RE];
    size_t nre = 99;
    assert_int_equal (page_check_regexes (&src, re, &nre, err, sizeof err), VL_OK);
    assert_int_equal (nre, PAGE_CHECK_MAX_RE);
    assert_int_equal (regexec (&re[0], "x", 0, NULL, 0), 0);
    for (size_t i = 0; i < nre; i++)
        regfree (&re[i]);
    src.nignore = PAGE_CHECK_MAX_RE + 1;
    assert_int_equal (page_check_regexes (&src, re, &nre, err, sizeof err), VL_EINVAL);
    assert_int_equal (nre, 0);
    assert_non_null (strstr (err, "too many"));
    assert_int_equal (page_check (&src, err, sizeof err), VL_EINVAL);
}

static void
page_check_tells_regexes_from_selectors (void **state)
{
    (void) state;
    assert_true (page_check_is_regex ("re:^a$"));
    assert_false (page_check_is_regex ("re"));
    assert_false (page_check_is_regex (".re:x"));
    assert_false (page_check_is_regex ("//p"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (page_check_accepts_css_xpath_and_regexes),
        cmocka_unit_test (page_check_names_the_bad_field),
        cmocka_unit_test (page_check_caps_the_regexes),
        cmocka_unit_test (page_check_tells_regexes_from_selectors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
