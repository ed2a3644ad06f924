/* mpread.c: strict msgpack reader (see mpread.h). */
#include <string.h>
#include "mpread.h"

void
mpread_init (mpread_t *self, const void *data, size_t len)
{
    self->p = data;
    self->left = len;
}

bool
mpread_done (const mpread_t *self)
{
    return self->left == 0;
}

static bool
s_take (mpread_t *self, size_t n, const unsigned char **out)
{
    if (self->left < n)
        return false;
    *out = self->p;
    self->p += n;
    self->left -= n;
    return true;
}

/* Reads an N-byte big-endian unsigned integer. */
static bool
s_be (mpread_t *self, size_t n, uint64_t *v)
{
    const unsigned char *b;
    if (!s_take (self, n, &b))
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v << 8 | b[i];
    return true;
}

static bool
s_byte (mpread_t *self, unsigned char *c)
{
    const unsigned char *b;
    if (!s_take (self, 1, &b))
        return false;
    *c = *b;
    return true;
}

/* Container header: fix range [LO, LO+15], then 16- and 32-bit forms. */
static bool
s_container (mpread_t *self, unsigned char lo, unsigned char c16, uint32_t *n)
{
    unsigned char c;
    uint64_t v;
    if (!s_byte (self, &c))
        return false;
    if (c >= lo && c <= lo + 15)
        v = c - lo;
    else if (c == c16) {
        if (!s_be (self, 2, &v))
            return false;
    }
    else if (c == c16 + 1) {
        if (!s_be (self, 4, &v))
            return false;
    }
    else
        return false;
    /* every element takes at least one byte */
    if (v > self->left)
        return false;
    *n = (uint32_t) v;
    return true;
}

bool
mpread_map (mpread_t *self, uint32_t *n)
{
    if (!s_container (self, 0x80, 0xde, n))
        return false;
    return (uint64_t) *n * 2 <= self->left;
}

bool
mpread_array (mpread_t *self, uint32_t *n)
{
    return s_container (self, 0x90, 0xdc, n);
}

static bool
s_strlen (mpread_t *self, unsigned char c, uint64_t *len)
{
    if (c >= 0xa0 && c <= 0xbf) {
        *len = c - 0xa0;
        return true;
    }
    if (c == 0xd9)
        return s_be (self, 1, len);
    if (c == 0xda)
        return s_be (self, 2, len);
    if (c == 0xdb)
        return s_be (self, 4, len);
    return false;
}

bool
mpread_str (mpread_t *self, const char **s, size_t *len)
{
    unsigned char c;
    uint64_t n;
    const unsigned char *b;
    if (!s_byte (self, &c) || !s_strlen (self, c, &n) || !s_take (self, (size_t) n, &b))
        return false;
    *s = (const char *) b;
    *len = (size_t) n;
    return true;
}

bool
mpread_uint (mpread_t *self, uint64_t *v)
{
    unsigned char c;
    if (!s_byte (self, &c))
        return false;
    if (c <= 0x7f) {
        *v = c;
        return true;
    }
    if (c >= 0xcc && c <= 0xcf)
        return s_be (self, (size_t) 1 << (c - 0xcc), v);
    if (c >= 0xd0 && c <= 0xd3) {   /* signed forms, accepted when >= 0 */
        size_t n = (size_t) 1 << (c - 0xd0);
        if (!s_be (self, n, v))
            return false;
        return (*v >> (8 * n - 1)) == 0;
    }
    return false;
}

bool
mpread_int (mpread_t *self, int64_t *v)
{
    if (self->left == 0)
        return false;
    unsigned char c = *self->p;
    uint64_t u;
    if (c >= 0xe0) {                            /* negative fixint */
        self->p++;
        self->left--;
        *v = (int64_t) (signed char) c;
        return true;
    }
    if (c <= 0x7f || (c >= 0xcc && c <= 0xcf)) {
        if (!mpread_uint (self, &u) || u > INT64_MAX)
            return false;
        *v = (int64_t) u;
        return true;
    }
    if (c < 0xd0 || c > 0xd3)
        return false;
    size_t n = (size_t) 1 << (c - 0xd0);
    self->p++;
    self->left--;
    if (!s_be (self, n, &u))
        return false;
    if (n < 8 && (u >> (8 * n - 1)))            /* sign-extend */
        u |= ~(uint64_t) 0 << (8 * n);
    *v = (int64_t) u;
    return true;
}

bool
mpread_nil (mpread_t *self)
{
    if (self->left == 0 || *self->p != 0xc0)
        return false;
    self->p++;
    self->left--;
    return true;
}

bool
mpread_bool (mpread_t *self, bool *v)
{
    if (self->left == 0 || (*self->p != 0xc2 && *self->p != 0xc3))
        return false;
    *v = *self->p == 0xc3;
    self->p++;
    self->left--;
    return true;
}

/* Skips the payload of scalar tag C (already read); false if C is not a
 * valid scalar tag or its payload is cut short. */
static bool
s_skip_scalar (mpread_t *self, unsigned char c)
{
    static const unsigned char fixed[] = {
        [0xca - 0xc0] = 4, [0xcb - 0xc0] = 8, [0xcc - 0xc0] = 1, [0xcd - 0xc0] = 2,
        [0xce - 0xc0] = 4, [0xcf - 0xc0] = 8, [0xd0 - 0xc0] = 1, [0xd1 - 0xc0] = 2,
        [0xd2 - 0xc0] = 4, [0xd3 - 0xc0] = 8, [0xd4 - 0xc0] = 2, [0xd5 - 0xc0] = 3,
        [0xd6 - 0xc0] = 5, [0xd7 - 0xc0] = 9, [0xd8 - 0xc0] = 17,
    };
    const unsigned char *b;
    uint64_t n = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return true;
    if ((c >= 0xa0 && c <= 0xbf) || c == 0xd9 || c == 0xda || c == 0xdb) {
        if (!s_strlen (self, c, &n))
            return false;
    }
    else if (c >= 0xc4 && c <= 0xc6) {          /* bin */
        if (!s_be (self, (size_t) 1 << (c - 0xc4), &n))
            return false;
    }
    else if (c >= 0xc7 && c <= 0xc9) {          /* ext: length, type, data */
        if (!s_be (self, (size_t) 1 << (c - 0xc7), &n))
            return false;
        n += 1;
    }
    else if (c >= 0xca && c <= 0xd8)
        n = fixed[c - 0xc0];
    else
        return false;
    return s_take (self, (size_t) n, &b);
}

bool
mpread_skip (mpread_t *self, int depth)
{
    if (self->left == 0 || depth < 0)
        return false;
    unsigned char c = *self->p;
    uint32_t n;
    bool map = (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
    bool arr = (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd;
    if (!map && !arr) {
        self->p++;
        self->left--;
        return s_skip_scalar (self, c);
    }
    if (!(map ? mpread_map (self, &n) : mpread_array (self, &n)))
        return false;
    uint64_t items = map ? (uint64_t) n * 2 : n;
    for (uint64_t i = 0; i < items; i++)
        if (!mpread_skip (self, depth - 1))
            return false;
    return true;
}

bool
mpread_key_is (const char *k, size_t klen, const char *name)
{
    return klen == strlen (name) && memcmp (k, name, klen) == 0;
}

bool
mpread_find (mpread_t *self, const char *key, int depth)
{
    uint32_t n;
    if (!mpread_map (self, &n))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t klen;
        if (!mpread_str (self, &k, &klen))
            return false;
        if (mpread_key_is (k, klen, key))
            return true;
        if (!mpread_skip (self, depth))
            return false;
    }
    return false;
}

bool
mpread_event_id (const void *data, size_t len, const char **id, size_t *idlen)
{
    mpread_t r;
    mpread_init (&r, data, len);
    return mpread_find (&r, "id", 16) && mpread_str (&r, id, idlen);
}
