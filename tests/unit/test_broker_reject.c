/* test_broker_reject.c: reasons of REJECTED publishes (each has a text and
 * a distinct metrics label) and the rate-limited rejection log: the first
 * rejection of a reason is logged, the next ones within the interval are
 * not, and the next line says how many were left out; reasons are limited
 * independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "reject.h"

static void
every_reason_has_a_text_and_its_own_label (void **state)
{
    (void) state;
    for (int r = 0; r < REJECT_COUNT; r++) {
        assert_true (strlen (reject_text ((reject_reason_t) r)) > 0);
        assert_true (strlen (reject_label ((reject_reason_t) r)) > 0);
        for (int q = 0; q < r; q++)
            assert_string_not_equal (reject_label ((reject_reason_t) r),
                                     reject_label ((reject_reason_t) q));
    }
    assert_string_equal (reject_text (REJECT_TOO_LARGE), "too large (limit 1048576 bytes)");
    assert_string_equal (reject_text (REJECT_NONE), "");
}

static size_t
count (const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

static void
rejection_log_is_rate_limited_per_reason (void **state)
{
    (void) state;
    char path[] = "/tmp/vl-reject-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    assert_int_equal (log_setup ("test_reject", LOG_LVL_INFO, false, path), VL_OK);
    reject_log_t rl;
    reject_log_init (&rl, 1000);
    reject_log (&rl, REJECT_UTF8, "invalid event: invalid UTF-8", "127.0.0.1", NULL, 5000);
    for (int i = 0; i < 41; i++)   /* within the interval: left out */
        reject_log (&rl, REJECT_UTF8, "invalid event: invalid UTF-8", "127.0.0.1", NULL,
                    5001 + i);
    reject_log (&rl, REJECT_TOO_LARGE, "too large (limit 1048576 bytes)", NULL, "alice", 5100);
    reject_log (&rl, REJECT_UTF8, "invalid event: invalid UTF-8", "10.0.0.2", NULL, 6000);
    reject_log (&rl, REJECT_UTF8, "invalid event: invalid UTF-8", "10.0.0.2", NULL, 6500);
    log_setup ("test_reject", LOG_LVL_INFO, false, NULL);

    FILE *f = fopen (path, "r");
    assert_non_null (f);
    char text[4096];
    size_t n = fread (text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose (f);
    unlink (path);
    assert_int_equal (count (text, "publish rejected from"), 3);
    assert_int_equal (count (text, "from 127.0.0.1: invalid event: invalid UTF-8\n"), 1);
    assert_int_equal (count (text, "from ? key alice: too large (limit 1048576 bytes)\n"), 1);
    assert_int_equal (count (text, "from 10.0.0.2: invalid event: invalid UTF-8 (41 more "
                                   "rejected for this reason since the last such line)"), 1);
    assert_int_equal (count (text, " warn "), 3);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (every_reason_has_a_text_and_its_own_label),
        cmocka_unit_test (rejection_log_is_rate_limited_per_reason),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
