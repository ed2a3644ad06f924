/* test_idwindow.c: a sink's delivered-id window: lookups, FIFO eviction
 * of ids at or below the cursor, growth for replayable ids up to the cap,
 * and the disabled window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "idwindow.h"

static const char *
s_id (unsigned n)
{
    static char id[EVENT_ID_HEX + 1];
    snprintf (id, sizeof id, "%032x", n);
    return id;
}

static void
idwindow_evicts_the_oldest_below_the_cursor (void **state)
{
    (void) state;
    idwindow_t w;
    assert_true (idwindow_init (&w, 4, 64));
    assert_true (idwindow_enabled (&w));
    for (unsigned n = 1; n <= 10; n++)
        idwindow_add (&w, s_id (n), n, 100);      /* all below the cursor */
    assert_int_equal (w.cap, 4);
    assert_int_equal (w.len, 4);
    for (unsigned n = 1; n <= 6; n++)
        assert_false (idwindow_has (&w, s_id (n)));
    for (unsigned n = 7; n <= 10; n++)
        assert_true (idwindow_has (&w, s_id (n)));
    /* a second add of a held id changes nothing */
    idwindow_add (&w, s_id (10), 10, 100);
    assert_int_equal (w.len, 4);
    idwindow_free (&w);
    assert_false (idwindow_enabled (&w));
}

static void
idwindow_grows_for_replayable_ids_up_to_the_cap (void **state)
{
    (void) state;
    idwindow_t w;
    assert_true (idwindow_init (&w, 4, 16));
    for (unsigned n = 1; n <= 40; n++)
        idwindow_add (&w, s_id (n), n, 0);       /* all above the cursor */
    assert_int_equal (w.cap, 16);                /* 4 -> 8 -> 16, then evicts */
    assert_int_equal (w.len, 16);
    for (unsigned n = 1; n <= 24; n++)
        assert_false (idwindow_has (&w, s_id (n)));
    for (unsigned n = 25; n <= 40; n++)
        assert_true (idwindow_has (&w, s_id (n)));
    /* FIFO order survived the growth: the oldest goes first */
    idwindow_add (&w, s_id (41), 41, 0);
    assert_false (idwindow_has (&w, s_id (25)));
    assert_true (idwindow_has (&w, s_id (26)));
    idwindow_free (&w);
}

static void
idwindow_disabled_holds_nothing (void **state)
{
    (void) state;
    idwindow_t w = { 0 };
    assert_false (idwindow_enabled (&w));
    idwindow_add (&w, s_id (1), 1, 0);
    assert_false (idwindow_has (&w, s_id (1)));
    assert_false (idwindow_init (&w, 0, 10));
    assert_false (idwindow_enabled (&w));
    idwindow_free (&w);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (idwindow_evicts_the_oldest_below_the_cursor),
        cmocka_unit_test (idwindow_grows_for_replayable_ids_up_to_the_cap),
        cmocka_unit_test (idwindow_disabled_holds_nothing),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
