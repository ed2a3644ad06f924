/* test_hset.c: the hash set: lookup by tag, growth, backward-shift
 * deletion (no tombstones), collisions and wrap-around, the caps, and the
 * keyed hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "hset.h"

/* True if REF is a candidate of HASH. */
static bool
s_has (const hset_t *s, uint64_t hash, uint32_t ref)
{
    uint32_t r;
    for (hset_probe_t p = hset_probe (s, hash); hset_next (&p, &r);)
        if (r == ref)
            return true;
    return false;
}

/* Number of candidates of HASH. */
static size_t
s_candidates (const hset_t *s, uint64_t hash)
{
    uint32_t r;
    size_t n = 0;
    for (hset_probe_t p = hset_probe (s, hash); hset_next (&p, &r);)
        n++;
    return n;
}

static void
hset_init_checks_its_arguments (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 10, 5), VL_EINVAL);
    assert_null (s.slots);
    assert_int_equal (hset_init (&s, 0, 0), VL_EINVAL);
    assert_int_equal (hset_init (&s, 1, (size_t) HSET_MAX_ENTRIES + 1), VL_EINVAL);
    /* a zeroed set is empty and refuses entries */
    hset_t z = { 0 };
    assert_false (s_has (&z, 1, 0));
    assert_false (hset_remove (&z, 1, 0));
    assert_int_equal (hset_add (&z, 1, 0), VL_ETOOBIG);
    hset_prefetch (&z, 1);
    hset_free (&z);
    hset_free (NULL);
}

static void
hset_finds_what_was_added_and_grows (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 0, 100000), VL_OK);
    size_t first = hset_memory (&s);
    assert_int_equal (first, 16 * sizeof (uint64_t));
    for (uint32_t i = 0; i < 100000; i++)
        assert_int_equal (hset_add (&s, hset_hash (&s, &i, sizeof i), i), VL_OK);
    assert_int_equal (hset_count (&s), 100000);
    /* at most half full */
    assert_true (hset_memory (&s) >= 2 * 100000 * sizeof (uint64_t));
    for (uint32_t i = 0; i < 100000; i++)
        assert_true (s_has (&s, hset_hash (&s, &i, sizeof i), i));
    uint32_t absent = 100001;
    assert_int_equal (s_candidates (&s, hset_hash (&s, &absent, sizeof absent)), 0);
    hset_free (&s);
    assert_null (s.slots);
}

static void
hset_init_sizes_for_expect_without_growth (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 1000, 1000), VL_OK);
    size_t mem = hset_memory (&s);
    assert_true (mem >= 2000 * sizeof (uint64_t));
    for (uint32_t i = 0; i < 1000; i++)
        assert_int_equal (hset_add (&s, (uint64_t) i << 40, i), VL_OK);
    assert_int_equal (hset_memory (&s), mem);
    /* the cap */
    assert_int_equal (hset_add (&s, 7, 1000), VL_ETOOBIG);
    assert_int_equal (hset_count (&s), 1000);
    hset_free (&s);
}

static void
hset_refuses_refs_past_the_limit (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 4, 4), VL_OK);
    assert_int_equal (hset_add (&s, 1, HSET_MAX_ENTRIES), VL_ETOOBIG);
    assert_int_equal (hset_add (&s, 1, HSET_MAX_ENTRIES - 1), VL_OK);
    assert_true (s_has (&s, 1, HSET_MAX_ENTRIES - 1));
    hset_free (&s);
}

static void
hset_equal_tags_are_all_candidates (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 8, 8), VL_OK);
    /* same high 32 bits: same tag and home, the caller tells them apart */
    uint64_t h = UINT64_C (0xABCD000000000000);
    for (uint32_t r = 0; r < 5; r++)
        assert_int_equal (hset_add (&s, h | r, r), VL_OK);
    assert_int_equal (s_candidates (&s, h), 5);
    /* same home, other tag: not a candidate */
    assert_int_equal (s_candidates (&s, h + (UINT64_C (1) << 32)), 0);
    assert_true (hset_remove (&s, h, 2));
    assert_false (hset_remove (&s, h, 2));
    assert_int_equal (s_candidates (&s, h), 4);
    assert_false (s_has (&s, h, 2));
    assert_true (s_has (&s, h, 4));
    hset_free (&s);
}

static void
hset_remove_keeps_probe_chains_across_the_wrap (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 8, 8), VL_OK);   /* 16 slots */
    /* home = tag >> 28: 0xF... lands in the last slot, so the chain wraps */
    uint64_t last = UINT64_C (0xF000000000000000), zero = 0;
    assert_int_equal (hset_add (&s, last, 0), VL_OK);       /* slot 15 */
    assert_int_equal (hset_add (&s, last | 1 << 0, 1), VL_OK);  /* slot 0 */
    assert_int_equal (hset_add (&s, zero, 2), VL_OK);       /* home 0: slot 1 */
    assert_int_equal (hset_add (&s, last, 3), VL_OK);       /* slot 2 */
    assert_true (hset_remove (&s, last, 0));
    /* every one still reachable from its home, none left behind */
    assert_true (s_has (&s, last, 1));
    assert_true (s_has (&s, last, 3));
    assert_true (s_has (&s, zero, 2));
    assert_true (hset_remove (&s, zero, 2));
    assert_true (s_has (&s, last, 1));
    assert_true (s_has (&s, last, 3));
    assert_int_equal (hset_count (&s), 2);
    hset_free (&s);
}

/* Random adds and removes with few distinct homes (long clusters) against
 * a plain array: no tombstone, no lost entry. */
static void
hset_matches_a_model_under_churn (void **state)
{
    (void) state;
    enum { N = 3000 };
    static bool in[N];
    memset (in, 0, sizeof in);
    hset_t s;
    assert_int_equal (hset_init (&s, 0, N), VL_OK);
    srand (42);
    for (int step = 0; step < 200000; step++) {
        uint32_t k = (uint32_t) rand () % N;
        uint64_t h = (uint64_t) (k % 61) << 58 | (uint64_t) k << 32;
        if (in[k]) {
            assert_true (hset_remove (&s, h, k));
            in[k] = false;
        }
        else {
            assert_int_equal (hset_add (&s, h, k), VL_OK);
            in[k] = true;
        }
        if (step % 20000 == 0) {
            size_t n = 0;
            for (uint32_t j = 0; j < N; j++) {
                uint64_t hj = (uint64_t) (j % 61) << 58 | (uint64_t) j << 32;
                assert_int_equal (s_has (&s, hj, j), in[j]);
                n += in[j];
            }
            assert_int_equal (hset_count (&s), n);
        }
    }
    hset_clear (&s);
    assert_int_equal (hset_count (&s), 0);
    assert_false (s_has (&s, (uint64_t) 5 << 58 | (uint64_t) 5 << 32, 5));
    hset_free (&s);
}

static void
hset_reset_resizes_and_keeps_the_seed (void **state)
{
    (void) state;
    hset_t s;
    assert_int_equal (hset_init (&s, 0, 5000), VL_OK);
    uint64_t seed = s.seed;
    for (uint32_t i = 0; i < 5000; i++)
        assert_int_equal (hset_add (&s, (uint64_t) i << 44, i), VL_OK);
    assert_int_equal (hset_reset (&s, 10), VL_OK);
    assert_int_equal (hset_count (&s), 0);
    assert_int_equal (hset_memory (&s), 32 * sizeof (uint64_t));
    assert_false (s_has (&s, (uint64_t) 3 << 44, 3));
    assert_int_equal (s.seed, seed);
    assert_int_equal (hset_reset (&s, 5001), VL_EINVAL);
    assert_int_equal (hset_add (&s, 1, 1), VL_OK);
    assert_true (s_has (&s, 1, 1));
    hset_free (&s);
    assert_int_equal (hset_reset (&s, 1), VL_EINVAL);
}

static void
hset_hash_is_keyed_and_covers_every_byte (void **state)
{
    (void) state;
    hset_t a, b;
    assert_int_equal (hset_init (&a, 1, 1), VL_OK);
    assert_int_equal (hset_init (&b, 1, 1), VL_OK);
    const char *id = "0123456789abcdef0123456789abcdef";
    assert_int_equal (hset_hash (&a, id, 32), hset_hash (&a, id, 32));
    /* another seed, another hash (2^-64 chance of a false failure) */
    assert_int_not_equal (hset_hash (&a, id, 32), hset_hash (&b, id, 32));
    /* every byte and the length count, the tail included */
    char buf[40];
    for (size_t len = 1; len < sizeof buf; len++) {
        memset (buf, 'x', sizeof buf);
        uint64_t h = hset_hash (&a, buf, len);
        assert_int_not_equal (h, hset_hash (&a, buf, len - 1));
        for (size_t i = 0; i < len; i++) {
            buf[i] = 'y';
            assert_int_not_equal (h, hset_hash (&a, buf, len));
            buf[i] = 'x';
        }
    }
    /* clearing keeps the seed */
    uint64_t before = hset_hash (&a, id, 32);
    hset_clear (&a);
    assert_int_equal (hset_hash (&a, id, 32), before);
    hset_free (&a);
    hset_free (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (hset_init_checks_its_arguments),
        cmocka_unit_test (hset_finds_what_was_added_and_grows),
        cmocka_unit_test (hset_init_sizes_for_expect_without_growth),
        cmocka_unit_test (hset_refuses_refs_past_the_limit),
        cmocka_unit_test (hset_equal_tags_are_all_candidates),
        cmocka_unit_test (hset_remove_keeps_probe_chains_across_the_wrap),
        cmocka_unit_test (hset_matches_a_model_under_churn),
        cmocka_unit_test (hset_reset_resizes_and_keeps_the_seed),
        cmocka_unit_test (hset_hash_is_keyed_and_covers_every_byte),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
