/* hset.h: the one hash set of veille, and its one hash function.
 *
 * An hset is an index over entries the caller stores itself (an array, a
 * ring): it maps a 64-bit hash to the entry's reference (its index there,
 * below HSET_MAX_ENTRIES). Each slot holds 8 bytes: the reference and a
 * 32-bit tag taken from the hash. A lookup walks the entries whose tag
 * matches (hset_probe / hset_next) and the caller compares its own keys,
 * so a probe rarely touches the caller's storage. The home slot is derived
 * from the tag alone: growing and deleting (backward shift, no tombstones)
 * never need the caller's keys either.
 *
 * Linear probing, kept at most half full: the table doubles on insert, up
 * to MAX entries (hset_init). Tables of 2 MiB or more are allocated on
 * transparent huge pages (lookups are random: fewer TLB misses).
 *
 * hset_hash is keyed with a random per-set seed (drawn by hset_init), so a
 * peer that chooses keys (event ids, feed guids, routing ids) cannot aim
 * them at one probe chain without knowing it. It is not a cryptographic
 * MAC: it mixes 8 bytes per step (multiply, xor-shift). */
#ifndef VL_HSET_H
#define VL_HSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "vl_err.h"

#define HSET_MAX_ENTRIES (1u << 30)   /* entries and references per set */

/* Zero-initialised: an empty set without a table (hset_init before use). */
typedef struct {
    uint64_t *slots;    /* (tag << 32) | (ref + 1); 0 = empty */
    size_t    mask;     /* slot count - 1 */
    unsigned  shift;    /* home = tag >> shift (32 - log2 slot count) */
    size_t    n, max;   /* entries, and the cap on entries */
    uint64_t  seed;     /* key of hset_hash */
} hset_t;

/* Allocates a table for EXPECT entries (no growth until then) that may
 * grow to MAX entries (at most HSET_MAX_ENTRIES), and draws the seed
 * (a getrandom system call: reuse sets on hot paths, see hset_reset).
 * VL_EINVAL if EXPECT > MAX or MAX is out of range, VL_ENOMEM; on error
 * the set is left zeroed. Free with hset_free. */
vl_err_t hset_init (hset_t *self, size_t expect, size_t max);

/* Frees the table and zeroes the set; NULL-safe, idempotent. */
void hset_free (hset_t *self);

/* Removes every entry; keeps the table and the seed. */
void hset_clear (hset_t *self);

/* Removes every entry and sizes the table anew for EXPECT entries (a set
 * that shrank gives its memory back); keeps the seed and the cap, so it
 * costs no random draw (hset_init does: a system call). VL_EINVAL if
 * EXPECT is past the cap or the set was never initialised, VL_ENOMEM; the
 * set is unchanged then. */
vl_err_t hset_reset (hset_t *self, size_t expect);


/* Adds the entry REF with HASH (the caller looked it up first: the set
 * does not compare keys). Grows the table when it would be more than half
 * full; if growing fails the entry still goes in while there is room.
 * VL_ETOOBIG at MAX entries or REF >= HSET_MAX_ENTRIES, VL_ENOMEM if
 * there is no room; the set is unchanged then. */
vl_err_t hset_add (hset_t *self, uint64_t hash, uint32_t ref);

/* Removes the entry REF added with HASH; false if it is not there. */
bool hset_remove (hset_t *self, uint64_t hash, uint32_t ref);


/* Number of entries. */
size_t hset_count (const hset_t *self);

/* Bytes of memory held by the table. */
size_t hset_memory (const hset_t *self);

/* Keyed hash of LEN bytes of DATA under the set's seed. (Inline, like the
 * lookup below: with a constant LEN the loop unrolls; these run on every
 * publish, append and delivery.) */
static inline uint64_t
hset_hash (const hset_t *self, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = self->seed ^ (len * UINT64_C (0x9E3779B97F4A7C15));
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy (&w, p, 8);
        h = (h ^ w) * UINT64_C (0xBF58476D1CE4E5B9);
        h ^= h >> 31;
    }
    if (len) {
        uint64_t w = 0;
        memcpy (&w, p, len);
        h = (h ^ w) * UINT64_C (0xBF58476D1CE4E5B9);
        h ^= h >> 31;
    }
    h *= UINT64_C (0x94D049BB133111EB);
    h ^= h >> 29;
    h *= UINT64_C (0xBF58476D1CE4E5B9);
    return h ^ (h >> 32);
}

/* Hints the CPU to fetch the home slot of HASH (a batch prefetches its
 * keys before looking any up). No effect on the contents. */
static inline void
hset_prefetch (const hset_t *self, uint64_t hash)
{
    if (self->slots)
        __builtin_prefetch (&self->slots[(uint32_t) (hash >> 32) >> self->shift]);
}

/* A lookup in progress: see hset_probe. */
typedef struct {
    const uint64_t *slots;
    size_t          mask, i;
    uint32_t        tag;
} hset_probe_t;

/* Starts a lookup of HASH. hset_next then yields the references of the
 * entries whose tag matches, in probe order, for the caller to compare
 * (entries added with the same hash come in the order they were added);
 * the set must not change during the lookup:
 *     for (hset_probe_t p = hset_probe (&s, h); hset_next (&p, &ref);)
 *         if (key_of (ref) == key) ... */
static inline hset_probe_t
hset_probe (const hset_t *self, uint64_t hash)
{
    uint32_t tag = (uint32_t) (hash >> 32);
    hset_probe_t p = { self->slots, self->mask, 0, tag };
    if (self->slots)
        p.i = tag >> self->shift;
    return p;
}

/* Stores the next candidate of P in *REF; false when there is none left. */
static inline bool
hset_next (hset_probe_t *p, uint32_t *ref)
{
    if (!p->slots)
        return false;
    for (uint64_t s; (s = p->slots[p->i]) != 0;) {
        p->i = (p->i + 1) & p->mask;
        if ((uint32_t) (s >> 32) == p->tag) {
            *ref = (uint32_t) s - 1;
            return true;
        }
    }
    return false;
}

#endif
