/* test_broker_syncer.c: fdatasync in a background thread: request, wait,
 * one report per sync, errors reported with their errno. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "syncer.h"

static void
a_sync_is_reported_once (void **state)
{
    (void) state;
    char path[] = "/tmp/vl-syncer-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "data", 4), 4);
    syncer_t *s = syncer_new ();
    assert_non_null (s);
    uint64_t gen = 0;
    int errnum = -1;
    assert_false (syncer_poll (s, &gen, &errnum));      /* nothing asked yet */
    assert_true (syncer_request (s, fd, 7));
    syncer_wait (s);
    assert_false (syncer_busy (s));
    assert_true (syncer_poll (s, &gen, &errnum));
    assert_int_equal (gen, 7);
    assert_int_equal (errnum, 0);
    assert_false (syncer_poll (s, &gen, &errnum));      /* reported once */
    /* a bad descriptor: the errno comes back */
    assert_true (syncer_request (s, -1, 8));
    syncer_wait (s);
    assert_true (syncer_poll (s, &gen, &errnum));
    assert_int_equal (gen, 8);
    assert_int_equal (errnum, EBADF);
    syncer_destroy (&s);
    assert_null (s);
    syncer_destroy (&s);
    close (fd);
    unlink (path);
}

/* A request made just before destroy still runs (destroy waits for it). */
static void
destroy_waits_for_the_sync_in_flight (void **state)
{
    (void) state;
    char path[] = "/tmp/vl-syncer-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    for (int i = 0; i < 50; i++) {
        syncer_t *s = syncer_new ();
        assert_true (syncer_request (s, fd, (uint64_t) i));
        /* a second request while the first may still run is refused or
         * queued after it: never two at once */
        bool again = syncer_request (s, fd, 1000);
        if (again) {
            syncer_wait (s);
            uint64_t gen;
            int errnum;
            assert_true (syncer_poll (s, &gen, &errnum));
            assert_int_equal (gen, 1000);
        }
        syncer_destroy (&s);
    }
    close (fd);
    unlink (path);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (a_sync_is_reported_once),
        cmocka_unit_test (destroy_waits_for_the_sync_in_flight),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
