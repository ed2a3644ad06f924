/* dedup.c: id window (see dedup.h). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "dedup.h"

typedef struct {
    unsigned char key[DEDUP_KEY_LEN];
    uint64_t      seq;
} entry_t;

struct dedup {
    entry_t  *ring;       /* FIFO of ids: oldest at tail */
    size_t    ring_cap;   /* window + slack */
    uint64_t  tail;       /* absolute position of the oldest entry */
    uint64_t  head;       /* absolute position after the newest */
    uint64_t  committed;  /* head at the last commit */
    size_t    window;
    uint64_t *slots;      /* (hash tag << 32) | (ring index + 1); 0 = empty */
    size_t    mask;       /* nslots - 1 */
    uint64_t  k0, k1;     /* random hash key */
};

/* Keyed 64-bit hash of KEY: the low bits pick the home slot, the high 32
 * bits are kept in the slot as a tag, so a probe rarely touches the ring.
 * Keys are already uniform (BLAKE2b ids); the random per-process key and
 * the multiply/xor-shift mixing keep a publisher that chooses its ids from
 * aiming at one probe chain without knowing the key. (SipHash was 10x
 * slower here, on the hot path of every publish.) */
static uint64_t
s_hash (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN])
{
    uint64_t a, b;
    memcpy (&a, key, 8);
    memcpy (&b, key + 8, 8);
    uint64_t h = (a ^ self->k0) * UINT64_C (0x9E3779B97F4A7C15);
    h ^= h >> 29;
    h ^= b ^ self->k1;
    h *= UINT64_C (0xBF58476D1CE4E5B9);
    h ^= h >> 31;
    h *= UINT64_C (0x94D049BB133111EB);
    return h ^ (h >> 32);
}

#define SLOT_IDX(s) ((uint32_t) (s))          /* ring index + 1 */
#define SLOT_TAG(s) ((uint32_t) ((s) >> 32))

#define HUGE_PAGE (2u << 20)

/* Zeroed memory for the big tables; 2 MiB aligned and advised for
 * transparent huge pages above that size, since lookups are random and
 * would otherwise miss the TLB as well as the cache. Free with free(). */
static void *
s_table_alloc (size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return calloc (1, bytes);
    void *p = NULL;
    bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (posix_memalign (&p, HUGE_PAGE, bytes) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise (p, bytes, MADV_HUGEPAGE);
#endif
    memset (p, 0, bytes);
    return p;
}

dedup_t *
dedup_new (size_t window, size_t slack)
{
    if (window == 0 || window > SIZE_MAX / 4 - slack || sodium_init () < 0)
        return NULL;
    dedup_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->window = window;
    self->ring_cap = window + slack;
    size_t nslots = 16;
    while (nslots < self->ring_cap * 2)
        nslots *= 2;
    self->mask = nslots - 1;
    self->ring = s_table_alloc (self->ring_cap * sizeof *self->ring);
    self->slots = s_table_alloc (nslots * sizeof *self->slots);
    if (!self->ring || !self->slots || self->ring_cap >= UINT32_MAX) {
        dedup_destroy (&self);
        return NULL;
    }
    randombytes_buf (&self->k0, sizeof self->k0);
    randombytes_buf (&self->k1, sizeof self->k1);
    return self;
}

void
dedup_destroy (dedup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->ring);
    free ((*self_p)->slots);
    free (*self_p);
    *self_p = NULL;
}

static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void
dedup_key (const char *id, size_t len, unsigned char key[DEDUP_KEY_LEN])
{
    if (len == 2 * DEDUP_KEY_LEN) {
        size_t i;
        for (i = 0; i < DEDUP_KEY_LEN; i++) {
            int hi = s_hexval (id[2 * i]), lo = s_hexval (id[2 * i + 1]);
            if (hi < 0 || lo < 0)
                break;
            key[i] = (unsigned char) (hi << 4 | lo);
        }
        if (i == DEDUP_KEY_LEN)
            return;
    }
    crypto_generichash (key, DEDUP_KEY_LEN, (const unsigned char *) id, len, NULL, 0);
}

/* Slot holding KEY, or the empty slot where it would go. */
static size_t
s_probe (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN])
{
    uint64_t h = s_hash (self, key);
    uint32_t tag = (uint32_t) (h >> 32);
    size_t i = (size_t) h & self->mask;
    while (self->slots[i]) {
        if (SLOT_TAG (self->slots[i]) == tag
            && memcmp (self->ring[SLOT_IDX (self->slots[i]) - 1].key, key, DEDUP_KEY_LEN) == 0)
            break;
        i = (i + 1) & self->mask;
    }
    return i;
}

void
dedup_prefetch (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN])
{
    __builtin_prefetch (&self->slots[(size_t) s_hash (self, key) & self->mask]);
}

bool
dedup_find (const dedup_t *self, const unsigned char key[DEDUP_KEY_LEN], uint64_t *seq)
{
    size_t i = s_probe (self, key);
    if (!self->slots[i])
        return false;
    if (seq)
        *seq = self->ring[SLOT_IDX (self->slots[i]) - 1].seq;
    return true;
}

vl_err_t
dedup_insert (dedup_t *self, const unsigned char key[DEDUP_KEY_LEN], uint64_t seq)
{
    if (self->head - self->tail >= self->ring_cap)
        return VL_EAGAIN;
    size_t i = s_probe (self, key);
    size_t r = (size_t) (self->head % self->ring_cap);
    memcpy (self->ring[r].key, key, DEDUP_KEY_LEN);
    self->ring[r].seq = seq;
    /* a key already there: the newest wins */
    self->slots[i] = (s_hash (self, key) >> 32 << 32) | ((uint64_t) r + 1);
    self->head++;
    return VL_OK;
}

/* Removes the table slot that points at ring index R (backward-shift
 * deletion keeps every probe chain intact). */
static void
s_unlink (dedup_t *self, size_t r)
{
    size_t i = (size_t) s_hash (self, self->ring[r].key) & self->mask;
    while (self->slots[i] && SLOT_IDX (self->slots[i]) != r + 1)
        i = (i + 1) & self->mask;
    if (!self->slots[i])
        return;     /* replaced by a newer insert of the same key */
    self->slots[i] = 0;
    size_t j = i;
    for (;;) {
        j = (j + 1) & self->mask;
        if (!self->slots[j])
            return;
        size_t home = (size_t) s_hash (self, self->ring[SLOT_IDX (self->slots[j]) - 1].key)
                      & self->mask;
        /* move j back to i if its home is not in (i, j] (cyclically) */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            self->slots[i] = self->slots[j];
            self->slots[j] = 0;
            i = j;
        }
    }
}

void
dedup_commit (dedup_t *self)
{
    self->committed = self->head;
    while (self->head - self->tail > self->window) {
        s_unlink (self, (size_t) (self->tail % self->ring_cap));
        self->tail++;
    }
}

void
dedup_rollback (dedup_t *self)
{
    while (self->head > self->committed) {
        self->head--;
        s_unlink (self, (size_t) (self->head % self->ring_cap));
    }
}

size_t
dedup_size (const dedup_t *self)
{
    return (size_t) (self->head - self->tail);
}
