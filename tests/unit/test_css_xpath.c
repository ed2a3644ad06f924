/* test_css_xpath: CSS subset translation and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "css_xpath.h"

#define CLS(c) "[contains(concat(' ',normalize-space(@class),' '),' " c " ')]"

static void
check (const char *css, bool rel, const char *want)
{
    vl_err_t err = VL_ENOMEM;
    char *x = css_xpath (css, rel, &err);
    assert_non_null (x);
    assert_int_equal (err, VL_OK);
    assert_string_equal (x, want);
    free (x);
}

static void
refused (const char *css)
{
    vl_err_t err = VL_OK;
    char *x = css_xpath (css, false, &err);
    if (x)
        fail_msg ("\"%s\" accepted as %s", css, x);
    assert_int_equal (err, VL_EINVAL);
}

static void
simple_selectors (void **state)
{
    check ("article", false, "//article");
    check ("DIV", false, "//div");
    check ("*", false, "//*");
    check (".grille", false, "//*" CLS ("grille"));
    check ("#flash-notice", false, "//*[@id='flash-notice']");
    check ("[data-x]", false, "//*[@data-x]");
    check ("a[rel=alternate]", false, "//a[@rel='alternate']");
    check ("a[title=\"l'État\"]", false, "//a[@title=\"l'État\"]");
    check ("p.meta.date#x", false, "//p" CLS ("meta") CLS ("date") "[@id='x']");
}

static void
combinators_and_groups (void **state)
{
    check ("div p", false, "//div//p");
    check ("ul > li", false, "//ul/li");
    check ("ul>li  a", false, "//ul/li//a");
    check ("section.comments p.error", false,
           "//section" CLS ("comments") "//p" CLS ("error"));
    check ("h1, h2 ,h3", false, "//h1 | //h2 | //h3");
    check ("li a", true, ".//li//a");
    check ("> li", true, "./li");
    check ("a", true, ".//a");
}

static void
xpath_passes_through (void **state)
{
    assert_true (css_xpath_is_xpath ("//div[@id='x']"));
    assert_true (css_xpath_is_xpath ("./a/@href"));
    assert_true (css_xpath_is_xpath ("(.//h2)[1]"));
    assert_true (css_xpath_is_xpath ("normalize-space(.//h2)"));
    assert_false (css_xpath_is_xpath ("h2"));
    assert_false (css_xpath_is_xpath ("div p"));
    assert_false (css_xpath_is_xpath (NULL));
    check ("//div[@class='a b']", false, "//div[@class='a b']");
}

static void
unsupported_syntax_refused (void **state)
{
    refused ("a:hover");
    refused ("p ~ span");
    refused ("p + span");
    refused ("a[href^=http]");
    refused ("a[");
    refused ("a[x=]");
    refused ("a[x='unterminated]");
    refused (". a");
    refused ("..x");
    refused (". a");
    refused ("..x");
    refused ("a,");
    refused (",a");
    refused ("ul >");
    refused ("");
    refused ("a[x=\"it's \\\"q\\\"\"]");
    assert_null (css_xpath (NULL, false, NULL));
    char big[2048];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refused (big);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (simple_selectors),
        cmocka_unit_test (combinators_and_groups),
        cmocka_unit_test (xpath_passes_through),
        cmocka_unit_test (unsupported_syntax_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
