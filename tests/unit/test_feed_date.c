/* test_feed_date: RFC 3339 and RFC 822 entry dates, strict. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "feed_date.h"

#define T_2016_01_26_10 1453802400   /* 2016-01-26T10:00:00Z */

static void
rfc3339_strict (void **state)
{
    int64_t t;
    assert_true (feed_date_rfc3339 ("2016-01-26T10:00:00Z", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc3339 ("2016-01-26T11:00:00+01:00", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc3339 ("2016-01-26t05:30:00.123-04:30", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc3339 ("2016-01-26", &t));
    assert_int_equal (t, 1453766400);
    assert_true (feed_date_rfc3339 ("2016-02-29T00:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2015-02-29T00:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-01-26T10:00:00", &t));      /* no zone */
    assert_false (feed_date_rfc3339 ("2016-01-26T24:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-1-26T10:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-01-26T10:00:00Zjunk", &t));
    assert_false (feed_date_rfc3339 ("2016-01-26T10:00:00.Z", &t));
    assert_false (feed_date_rfc3339 ("", &t));
    assert_false (feed_date_rfc3339 (NULL, &t));
}

/* Forms the parser accepted before it used timegm, kept as they were. */
static void
rfc3339_variants_and_limits (void **state)
{
    int64_t t;
    assert_true (feed_date_rfc3339 (" 2016-01-26 10:00:00z ", &t));    /* space, z */
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc3339 ("2016-01-26T11:00+0100", &t));     /* no seconds */
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc3339 ("2016-01-26T10:00:00,5Z", &t));    /* comma fraction */
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc3339 ("2016-12-31T23:59:60Z", &t));      /* leap second */
    assert_int_equal (t, 1483228800);
    assert_true (feed_date_rfc3339 ("1970-01-01T00:00:00Z", &t));
    assert_int_equal (t, 0);
    assert_true (feed_date_rfc3339 ("9999-12-31", &t));
    assert_int_equal (t, 253402214400);
    assert_false (feed_date_rfc3339 ("1969-12-31T23:59:59Z", &t));
    assert_false (feed_date_rfc3339 ("2016-04-31T00:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-13-01T00:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-01-00T00:00:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-01-26T10:00.5Z", &t));      /* fraction, no seconds */
    assert_false (feed_date_rfc3339 ("2016-01-26T10:60:00Z", &t));
    assert_false (feed_date_rfc3339 ("2016-01-26T10:00:00+24:00", &t));
    assert_false (feed_date_rfc3339 ("2016-01-26T10:00:00+01", &t));
    assert_false (feed_date_rfc3339 ("Tue, 26 Jan 2016 10:00:00 GMT", &t));
}

static void
rfc822_strict (void **state)
{
    int64_t t;
    assert_true (feed_date_rfc822 ("Tue, 26 Jan 2016 10:00:00 GMT", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc822 ("26 Jan 2016 11:00 +0100", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc822 (" Tue, 26 January 16 05:00:00 EST ", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_rfc822 ("Tue, 26 Jan 2016 11:00:00 CET", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_false (feed_date_rfc822 ("Tue, 26 Jan 2016 10:00:00", &t));
    assert_false (feed_date_rfc822 ("Tue, 26 Foo 2016 10:00:00 GMT", &t));
    assert_false (feed_date_rfc822 ("Tue, 31 Feb 2016 10:00:00 GMT", &t));
    assert_false (feed_date_rfc822 ("Tue, 26 Jan 2016 10:00:00 GMT extra", &t));
    assert_false (feed_date_rfc822 ("mardi 26 janvier 2016", &t));
    assert_false (feed_date_rfc822 (NULL, &t));
}

/* Variants seen in feeds: zone names, offsets with a colon, dotted and full
 * month names, two-digit years, any weekday word. */
static void
rfc822_variants_and_zones (void **state)
{
    static const char *const same[] = {
        "Tue, 26 Jan 2016 10:00:00 UT",
        "Tue, 26 Jan 2016 10:00:00 UTC",
        "Tue, 26 Jan 2016 10:00:00 gmt",
        "Tue, 26 Jan 2016 10:00:00 Z",
        "Tue, 26 Jan 2016 10:00:00 +0000",
        "Tue, 26 Jan 2016 10:00:00 -0000",
        "Tue, 26 Jan 2016 11:00:00 +01:00",
        "Tuesday, 26 Jan. 2016 10:00:00 GMT",
        "tue,26 jan 2016 10:00:00 GMT",
        "26 JANUARY 2016 10:00:00 GMT",
        "Tue, 26 Jan 2016 04:00:00 CST",
        "Tue, 26 Jan 2016 03:00:00 MST",
        "Tue, 26 Jan 2016 02:00:00 PST",
        "Tue, 26 Jan 2016 12:00:00 CEST",
        "Tue, 26 Jan 2016 11:00:00 BST",
        "Tue, 26 Jan 2016 06:00:00 EDT",
        "Tue, 26 Jan 2016 05:00:00 CDT",
        "Tue, 26 Jan 2016 04:00:00 MDT",
        "Tue, 26 Jan 2016 03:00:00 PDT",
        "Tue, 26 Jan 2016 19:00:00 JST",      /* a zone curl_getdate knows */
        "Wed, 27 Jan 2016 01:00:00 +1500",
        "Tue, 26 Jan 2016 10:00:00\t+0000\r\n",
    };
    int64_t t;
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        t = 0;
        if (!feed_date_rfc822 (same[i], &t) || t != T_2016_01_26_10)
            fail_msg ("\"%s\" gave %lld", same[i], (long long) t);
    }
    assert_true (feed_date_rfc822 ("1 Jan 2016 00:00:00 GMT", &t));
    assert_int_equal (t, 1451606400);
    assert_true (feed_date_rfc822 ("Mon, 29 Feb 2016 00:00:00 GMT", &t));
    assert_int_equal (t, 1456704000);
    assert_true (feed_date_rfc822 ("Fri, 01 Jan 99 00:00:00 GMT", &t));   /* 1999 */
    assert_int_equal (t, 915148800);
    assert_true (feed_date_rfc822 ("Fri, 01 Jan 49 00:00:00 GMT", &t));   /* 2049 */
    assert_int_equal (t, 2493072000);
    assert_true (feed_date_rfc822 ("Sat, 31 Dec 2016 23:59:60 GMT", &t)); /* leap second */
    assert_int_equal (t, 1483228800);
    static const char *const refused[] = {
        "Tue, 26 Jan 2016 10:00:00 XYZ",      /* unknown zone */
        "Tue, 26 Jan 2016 10:00:00 A",        /* military letter */
        "Tue, 26 Jan 2016 10:00:00 +2400",
        "Tue, 26 Jan 2016 10:00:00 +01",
        "Tue, 26 Jan 2016 10:00:00 GMT+1",
        "Tue, 26 Ja 2016 10:00:00 GMT",
        "Tue, 26 Januaryyyy 2016 10:00:00 GMT",
        "Tue, 26 Jan 201 10:00:00 GMT",
        "Tue, 26 Jan 20160 10:00:00 GMT",
        "Tue, 26 Jan 69 10:00:00 GMT",        /* 1969 */
        "Tue, 126 Jan 2016 10:00:00 GMT",
        "Tue, 0 Jan 2016 10:00:00 GMT",
        "Tue, 31 Apr 2016 10:00:00 GMT",
        "Tue, 26 Jan 2016 24:00:00 GMT",
        "Tue, 26 Jan 2016 10:60:00 GMT",
        "Tue, 26 Jan 2016 10:00:61 GMT",
        "Tue, 26 Jan 2016 10 GMT",
        "Tue, 26 Jan 2016",
        "2016-01-26T10:00:00Z",
        "",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (feed_date_rfc822 (refused[i], &t))
            fail_msg ("\"%s\" accepted as %lld", refused[i], (long long) t);
}

static void
either_form (void **state)
{
    int64_t t;
    assert_true (feed_date_parse ("2016-01-26T10:00:00Z", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_true (feed_date_parse ("Tue, 26 Jan 2016 10:00:00 GMT", &t));
    assert_int_equal (t, T_2016_01_26_10);
    assert_false (feed_date_parse ("hier", &t));
    assert_false (feed_date_parse (NULL, &t));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (rfc3339_strict),
        cmocka_unit_test (rfc3339_variants_and_limits),
        cmocka_unit_test (rfc822_strict),
        cmocka_unit_test (rfc822_variants_and_zones),
        cmocka_unit_test (either_form),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
