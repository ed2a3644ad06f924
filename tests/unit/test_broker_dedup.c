/* test_broker_dedup.c: the dedup window: find/insert, FIFO eviction,
 * provisional inserts with commit/rollback, id keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dedup.h"

static void
s_key_n (unsigned char key[DEDUP_KEY_LEN], uint64_t n)
{
    char hex[33];
    snprintf (hex, sizeof hex, "%016llx%016llx", (unsigned long long) (n * 2654435761u),
              (unsigned long long) n);
    dedup_key (hex, 32, key);
}

static void
dedup_key_parses_hex_and_hashes_anything_else (void **state)
{
    (void) state;
    unsigned char k[DEDUP_KEY_LEN], k2[DEDUP_KEY_LEN];
    dedup_key ("00112233445566778899aabbccddeeff", 32, k);
    assert_int_equal (k[0], 0x00);
    assert_int_equal (k[1], 0x11);
    assert_int_equal (k[15], 0xff);
    /* upper case is not the canonical form: hashed, so differs */
    dedup_key ("00112233445566778899AABBCCDDEEFF", 32, k2);
    assert_memory_not_equal (k, k2, DEDUP_KEY_LEN);
    /* short ids are hashed, deterministically */
    dedup_key ("abc", 3, k);
    dedup_key ("abc", 3, k2);
    assert_memory_equal (k, k2, DEDUP_KEY_LEN);
    dedup_key ("abd", 3, k2);
    assert_memory_not_equal (k, k2, DEDUP_KEY_LEN);
}

static void
dedup_finds_what_was_inserted_with_its_seq (void **state)
{
    (void) state;
    dedup_t *d = dedup_new (1000, 10);
    assert_non_null (d);
    unsigned char k[DEDUP_KEY_LEN];
    uint64_t seq = 0;
    s_key_n (k, 1);
    dedup_prefetch (d, k);                     /* a hint: changes nothing */
    assert_false (dedup_find (d, k, &seq));
    assert_int_equal (dedup_size (d), 0);
    assert_int_equal (dedup_insert (d, k, 42), VL_OK);
    dedup_prefetch (d, k);
    assert_true (dedup_find (d, k, &seq));     /* provisional inserts are visible */
    assert_int_equal (seq, 42);
    dedup_commit (d);
    assert_true (dedup_find (d, k, NULL));
    s_key_n (k, 2);
    assert_false (dedup_find (d, k, NULL));
    dedup_destroy (&d);
    assert_null (d);
    dedup_destroy (&d);
    assert_null (dedup_new (0, 1));
}

static void
dedup_evicts_the_oldest_beyond_the_window (void **state)
{
    (void) state;
    const size_t window = 5000;
    dedup_t *d = dedup_new (window, 100);
    unsigned char k[DEDUP_KEY_LEN];
    for (uint64_t i = 1; i <= 3 * window; i++) {
        s_key_n (k, i);
        assert_int_equal (dedup_insert (d, k, i), VL_OK);
        if (i % 100 == 0)
            dedup_commit (d);
    }
    dedup_commit (d);
    assert_int_equal (dedup_size (d), window);
    for (uint64_t i = 1; i <= 3 * window; i++) {
        uint64_t seq;
        s_key_n (k, i);
        bool in = dedup_find (d, k, &seq);
        assert_int_equal (in, i > 2 * window);
        if (in)
            assert_int_equal (seq, i);
    }
    dedup_destroy (&d);
}

static void
dedup_rollback_forgets_only_the_pending (void **state)
{
    (void) state;
    dedup_t *d = dedup_new (10, 5);
    unsigned char k[DEDUP_KEY_LEN];
    for (uint64_t i = 1; i <= 10; i++) {
        s_key_n (k, i);
        dedup_insert (d, k, i);
    }
    dedup_commit (d);
    for (uint64_t i = 11; i <= 15; i++) {
        s_key_n (k, i);
        assert_int_equal (dedup_insert (d, k, i), VL_OK);
    }
    s_key_n (k, 16);
    assert_int_equal (dedup_insert (d, k, 16), VL_EAGAIN);   /* slack used up */
    dedup_rollback (d);
    for (uint64_t i = 1; i <= 15; i++) {
        s_key_n (k, i);
        assert_int_equal (dedup_find (d, k, NULL), i <= 10);  /* no eviction lost */
    }
    assert_int_equal (dedup_size (d), 10);
    dedup_destroy (&d);
}

static void
dedup_survives_heavy_churn (void **state)
{
    (void) state;
    /* small window, many rounds: deletion must keep probe chains intact */
    dedup_t *d = dedup_new (64, 64);
    unsigned char k[DEDUP_KEY_LEN];
    for (uint64_t i = 1; i <= 200000; i++) {
        s_key_n (k, i);
        assert_false (dedup_find (d, k, NULL));
        assert_int_equal (dedup_insert (d, k, i), VL_OK);
        if (i % 7 == 0) {
            dedup_commit (d);
            for (uint64_t j = i > 63 ? i - 63 : 1; j <= i; j++) {
                s_key_n (k, j);
                uint64_t seq;
                assert_true (dedup_find (d, k, &seq));
                assert_int_equal (seq, j);
            }
        }
    }
    dedup_destroy (&d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (dedup_key_parses_hex_and_hashes_anything_else),
        cmocka_unit_test (dedup_finds_what_was_inserted_with_its_seq),
        cmocka_unit_test (dedup_evicts_the_oldest_beyond_the_window),
        cmocka_unit_test (dedup_rollback_forgets_only_the_pending),
        cmocka_unit_test (dedup_survives_heavy_churn),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
