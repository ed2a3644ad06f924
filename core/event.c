/* event.c: the veille event and its strict msgpack codec.
 *
 * Decoding hostile input: one walk (ew_walk) reads the bytes with the
 * strict reader of core/mpread.h, which checks every length and count
 * against the bytes left before trusting it; nesting is capped at
 * EVENT_MAX_DEPTH, trailing bytes are refused, and every rule (types,
 * text, unique keys, map sizes, no ext) lives here once. event_validate
 * is that walk alone, in place; event_decode is that walk followed by
 * copies of the fields it found. msgpack-c is used for encoding only. */
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include <sodium.h>
#include "event.h"
#include "mpack.h"
#include "mpread.h"
#include "util.h"

#define ID_LEN 32

void
event_clear (event_t *self)
{
    if (!self)
        return;
    char **fields[] = { &self->id, &self->type, &self->source, &self->topic,
                        &self->url, &self->title, &self->summary, &self->hash,
                        &self->prev_hash, &self->diff };
    for (size_t i = 0; i < VL_ARRAY_LEN (fields); i++)
        free (*fields[i]);
    for (size_t i = 0; i < self->ntags; i++)
        free (self->tags[i]);
    free (self->tags);
    memset (self, 0, sizeof *self);
}

vl_err_t
event_set (char **field, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup (value)))
        return VL_ENOMEM;
    free (*field);
    *field = copy;
    return VL_OK;
}

vl_err_t
event_add_tag (event_t *self, const char *tag)
{
    if (self->ntags >= EVENT_MAX_TAGS)
        return VL_OK;
    char **tags = realloc (self->tags, (self->ntags + 1) * sizeof *tags);
    if (!tags)
        return VL_ENOMEM;
    self->tags = tags;
    if (!(tags[self->ntags] = strdup (tag)))
        return VL_ENOMEM;
    self->ntags++;
    return VL_OK;
}

vl_err_t
event_copy (event_t *dst, const event_t *src)
{
    memset (dst, 0, sizeof *dst);
    dst->v = src->v;
    dst->published = src->published;
    dst->has_published = src->has_published;
    dst->detected = src->detected;
    vl_err_t rc = VL_OK;
    const char *from[] = { src->id, src->type, src->source, src->topic, src->url,
                           src->title, src->summary, src->hash, src->prev_hash, src->diff };
    char **to[] = { &dst->id, &dst->type, &dst->source, &dst->topic, &dst->url,
                    &dst->title, &dst->summary, &dst->hash, &dst->prev_hash, &dst->diff };
    for (size_t i = 0; i < VL_ARRAY_LEN (to) && rc == VL_OK; i++)
        rc = event_set (to[i], from[i]);
    for (size_t i = 0; i < src->ntags && rc == VL_OK; i++)
        rc = event_add_tag (dst, src->tags[i]);
    if (rc)
        event_clear (dst);
    return rc;
}

bool
event_topic_valid (const char *topic, size_t len)
{
    if (!topic || len == 0 || len > EVENT_MAX_TOPIC)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = topic[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool
id_valid (const char *id, size_t len)
{
    if (len != ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

static bool
type_valid (const char *type, size_t len)
{
    if (len == 0 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((type[i] >= 'a' && type[i] <= 'z') || type[i] == '_'))
            return false;
    return true;
}

void
event_make_id (const char *source, const char *identity, const char *type,
               const char *hash, char out[EVENT_ID_HEX + 1])
{
    crypto_generichash_state st;
    unsigned char digest[16];
    const char *parts[] = { source, identity, type, hash };
    crypto_generichash_init (&st, NULL, 0, sizeof digest);
    for (size_t i = 0; i < VL_ARRAY_LEN (parts); i++) {
        const char *p = parts[i] ? parts[i] : "";
        crypto_generichash_update (&st, (const unsigned char *) p, strlen (p) + 1);
    }
    crypto_generichash_final (&st, digest, sizeof digest);
    util_hex (digest, sizeof digest, out);
}

/* ---- rules of the decoding walk ------------------------------------ */

/* A str value: no NUL, valid UTF-8. */
static bool
text_ok (const char *s, size_t len)
{
    return len == 0 || (!memchr (s, '\0', len) && util_utf8_valid (s, len));
}

/* The keys of one map read so far (at most EVENT_MAX_KEYS), to refuse a
 * key given twice: an open-addressing table of 2 x EVENT_MAX_KEYS slots
 * (index + 1, 0 = free) on a 32-bit hash; equal hashes are confirmed with
 * memcmp. */
#define KEYSET_SLOTS (2 * EVENT_MAX_KEYS)
_Static_assert (EVENT_MAX_KEYS < 256, "keyset slots hold an index + 1 in a byte");

typedef struct {
    const char   *key[EVENT_MAX_KEYS];
    uint32_t      len[EVENT_MAX_KEYS];
    uint32_t      hash[EVENT_MAX_KEYS];
    unsigned char slot[KEYSET_SLOTS];
    size_t        n;
} keyset_t;

static void
keyset_init (keyset_t *ks)
{
    memset (ks->slot, 0, sizeof ks->slot);
    ks->n = 0;
}

static uint32_t
key_hash (const char *k, size_t len)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) k[i]) * 16777619u;
    return h;
}

/* Adds key K (LEN bytes, a str) of a map to KS: VL_EUTF8 if K holds a NUL
 * or invalid UTF-8, VL_EPARSE if the map already had it. The caller has
 * checked the map's size against EVENT_MAX_KEYS. */
static vl_err_t
keyset_add (keyset_t *ks, const char *k, size_t len)
{
    if (!text_ok (k, len))
        return VL_EUTF8;
    if (len == 0)
        k = "";   /* an empty key may point past the input: compare with "" */
    uint32_t h = key_hash (k, len);
    size_t at = h % KEYSET_SLOTS;
    for (; ks->slot[at]; at = (at + 1) % KEYSET_SLOTS) {
        size_t i = ks->slot[at] - 1u;
        if (ks->hash[i] == h && ks->len[i] == len && memcmp (ks->key[i], k, len) == 0)
            return VL_EPARSE;
    }
    ks->key[ks->n] = k;
    ks->len[ks->n] = (uint32_t) len;
    ks->hash[ks->n] = h;
    ks->slot[at] = (unsigned char) ++ks->n;
    return VL_OK;
}

/* ---- encoding ------------------------------------------------------- */

static bool
str_ok (const char *s)
{
    return !s || util_utf8_valid (s, strlen (s));
}

static vl_err_t
encode_check (const event_t *e)
{
    if (!e->id || !e->type || !e->source || !e->topic)
        return VL_EINVAL;
    if (!id_valid (e->id, strlen (e->id)) || !type_valid (e->type, strlen (e->type))
        || !event_topic_valid (e->topic, strlen (e->topic)))
        return VL_EINVAL;
    const char *strs[] = { e->source, e->url, e->title, e->summary, e->hash,
                           e->prev_hash, e->diff };
    for (size_t i = 0; i < VL_ARRAY_LEN (strs); i++)
        if (!str_ok (strs[i]))
            return VL_EUTF8;
    if (e->ntags > EVENT_MAX_TAGS)
        return VL_EINVAL;
    for (size_t i = 0; i < e->ntags; i++)
        if (!e->tags[i] || !str_ok (e->tags[i]))
            return VL_EUTF8;
    return VL_OK;
}

vl_err_t
event_encode (const event_t *self, buf_t *out)
{
    vl_err_t rc = encode_check (self);
    if (rc)
        return rc;
    const char *keys[] = { "url", "title", "summary", "hash", "prev_hash", "diff" };
    const char *vals[] = { self->url, self->title, self->summary, self->hash,
                           self->prev_hash, self->diff };
    size_t n = 5 + (self->detected ? 1 : 0) + (self->has_published ? 1 : 0)
             + (self->ntags ? 1 : 0);
    for (size_t i = 0; i < VL_ARRAY_LEN (vals); i++)
        n += vals[i] ? 1 : 0;

    size_t start = out->len;
    msgpack_packer pk;
    mpack_out_t enc = { out, VL_OK };
    msgpack_packer_init (&pk, &enc, mpack_out_write);
    msgpack_pack_map (&pk, n);
    mpack_str (&pk, "v");
    msgpack_pack_uint32 (&pk, self->v ? self->v : EVENT_VERSION);
    mpack_kv_str (&pk, "id", self->id);
    mpack_kv_str (&pk, "type", self->type);
    mpack_kv_str (&pk, "source", self->source);
    mpack_kv_str (&pk, "topic", self->topic);
    for (size_t i = 0; i < VL_ARRAY_LEN (vals); i++)
        if (vals[i])
            mpack_kv_str (&pk, keys[i], vals[i]);
    if (self->has_published) {
        mpack_str (&pk, "published");
        msgpack_pack_int64 (&pk, self->published);
    }
    if (self->detected) {
        mpack_str (&pk, "detected");
        msgpack_pack_int64 (&pk, self->detected);
    }
    if (self->ntags) {
        mpack_str (&pk, "tags");
        msgpack_pack_array (&pk, self->ntags);
        for (size_t i = 0; i < self->ntags; i++)
            mpack_str (&pk, self->tags[i]);
    }
    if (enc.rc == VL_OK && out->len - start > EVENT_MAX_BYTES)
        enc.rc = VL_ETOOBIG;
    if (enc.rc != VL_OK) {             /* the buffer's max, or OOM: nothing */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return enc.rc;
    }
    return out->data ? VL_OK : VL_ENOMEM;
}

/* ---- decoding: one walk for event_validate and event_decode --------- */

/* The string keys of the event, in the order of the event_t members
 * id .. diff (see ev_str_fields). */
static const char *const ew_names[] = { "id", "type", "source", "topic", "url", "title",
                                        "summary", "hash", "prev_hash", "diff" };
#define EW_NSTR VL_ARRAY_LEN (ew_names)

/* What a successful walk found; every pointer borrows the input. */
typedef struct {
    const char *str[EW_NSTR];  /* NULL when absent or nil */
    size_t      len[EW_NSTR];
    uint32_t    v;
    bool        seen_v, seen_published, seen_tags;
    int64_t     published, detected;
    mpread_t    tags;          /* at the tags array, when seen_tags */
    size_t      ntags;
} ew_t;

static int
ew_str_index (const char *key, size_t klen)
{
    static const unsigned char lens[] = { 2, 4, 6, 5, 3, 5, 7, 4, 9, 4 };
    for (size_t i = 0; i < EW_NSTR; i++)
        if (lens[i] == klen && memcmp (ew_names[i], key, klen) == 0)
            return (int) i;
    return -1;
}

static bool
ew_is_str (unsigned char c)
{
    return (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb);
}

/* Reads a string value that must have no NUL and be valid UTF-8. */
static vl_err_t
ew_text (mpread_t *r, const char **s, size_t *len)
{
    if (!mpread_str (r, s, len))
        return VL_EPARSE;
    if (!text_ok (*s, *len))
        return VL_EUTF8;
    return VL_OK;
}

/* One of the string fields (index I): nil leaves it absent. */
static vl_err_t
ew_str_field (ew_t *st, int i, mpread_t *r)
{
    if (mpread_nil (r))
        return VL_OK;
    const char *s;
    size_t len;
    vl_err_t rc = ew_text (r, &s, &len);
    if (rc)
        return rc;
    st->str[i] = s;
    st->len[i] = len;
    return VL_OK;
}

/* The tags: an array of at most EVENT_MAX_TAGS texts; an empty array is
 * the same as none. */
static vl_err_t
ew_tags (ew_t *st, mpread_t *r)
{
    uint32_t n;
    mpread_t at = *r;
    if (!mpread_array (r, &n))
        return VL_EPARSE;
    if (n > EVENT_MAX_TAGS)
        return VL_ETOOBIG;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        vl_err_t rc = ew_text (r, &s, &len);
        if (rc)
            return rc;
    }
    st->seen_tags = n > 0;
    st->tags = at;
    st->ntags = n;
    return VL_OK;
}

/* The value of an unknown key, read from R (whose structure mpread_skip
 * has checked, so only the tag byte decides), depth first in document
 * order: every str and key is text, map keys are str and unique, maps
 * hold at most EVENT_MAX_KEYS pairs, no ext anywhere. */
static vl_err_t
ew_any (mpread_t *r)
{
    const char *s;
    size_t len;
    uint32_t n;
    vl_err_t rc = VL_OK;
    unsigned char c = *r->p;
    if ((c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8))
        return VL_EPARSE;                                       /* ext */
    if (ew_is_str (c))
        return mpread_str (r, &s, &len) && text_ok (s, len) ? VL_OK : VL_EUTF8;
    if ((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd) {
        if (!mpread_array (r, &n))
            return VL_EPARSE;
        for (uint32_t i = 0; i < n && rc == VL_OK; i++)
            rc = ew_any (r);
        return rc;
    }
    if (!((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf))
        return mpread_skip (r, 0) ? VL_OK : VL_EPARSE;          /* other scalar */
    if (!mpread_map (r, &n))
        return VL_EPARSE;
    if (n > EVENT_MAX_KEYS)
        return VL_ETOOBIG;
    keyset_t ks;
    keyset_init (&ks);
    for (uint32_t i = 0; i < n && rc == VL_OK; i++) {
        if (!ew_is_str (*r->p) || !mpread_str (r, &s, &len))
            return VL_EPARSE;
        rc = keyset_add (&ks, s, len);
        if (rc == VL_OK)
            rc = ew_any (r);
    }
    return rc;
}

/* The value (in R, exactly one value) of top-level key KEY, whose
 * uniqueness the caller has checked. */
static vl_err_t
ew_pair (ew_t *st, const char *key, size_t klen, mpread_t *r)
{
    int i = ew_str_index (key, klen);
    if (i >= 0)
        return ew_str_field (st, i, r);
    int64_t n;
    if (mpread_key_is (key, klen, "v")) {
        if (!mpread_int (r, &n) || n < 1 || n > UINT32_MAX)
            return VL_EPARSE;
        st->v = (uint32_t) n;
        st->seen_v = true;
    }
    else if (mpread_key_is (key, klen, "published")) {
        if (!mpread_int (r, &n))
            return VL_EPARSE;
        st->published = n;
        st->seen_published = true;
    }
    else if (mpread_key_is (key, klen, "detected")) {
        if (!mpread_int (r, &n) || n < 0)
            return VL_EPARSE;
        st->detected = n;
    }
    else if (mpread_key_is (key, klen, "tags"))
        return ew_tags (st, r);
    else
        return ew_any (r);   /* unknown key: forward compatibility */
    return VL_OK;
}

/* Required keys and the forms of id, type, topic and source. */
static vl_err_t
ew_check (const ew_t *st)
{
    if (!st->seen_v || !st->str[0] || !st->str[1] || !st->str[2] || !st->str[3])
        return VL_EPARSE;
    if (!id_valid (st->str[0], st->len[0]) || !type_valid (st->str[1], st->len[1])
        || !event_topic_valid (st->str[3], st->len[3])
        || st->len[2] == 0 || st->len[2] > EVENT_MAX_TOPIC)
        return VL_EPARSE;
    return VL_OK;
}

/* Reads one top-level key and its value from R: *KEY is NULL when the key
 * is not a str. The structure of both is checked (mpread_skip); *VAL is
 * a reader over exactly the value. */
static bool
ew_next (mpread_t *r, const char **key, size_t *klen, mpread_t *val)
{
    mpread_t at = *r;
    *key = NULL;
    *klen = 0;
    if (!mpread_str (r, key, klen)) {
        *key = NULL;
        *r = at;
        if (!mpread_skip (r, EVENT_MAX_DEPTH - 1))
            return false;
    }
    const unsigned char *v0 = r->p;
    if (!mpread_skip (r, EVENT_MAX_DEPTH - 1))
        return false;
    mpread_init (val, v0, (size_t) (r->p - v0));
    return true;
}

/* The one walk over hostile bytes DATA (LEN) that both event_validate
 * and event_decode make: no allocation, *ST (zeroed first) borrows DATA. */
static vl_err_t
ew_walk (const void *data, size_t len, ew_t *st)
{
    memset (st, 0, sizeof *st);
    if (!data || len == 0)
        return VL_EPARSE;
    if (len > EVENT_MAX_BYTES)
        return VL_ETOOBIG;
    mpread_t r;
    uint32_t n;
    mpread_init (&r, data, len);
    if (!mpread_map (&r, &n))
        return VL_EPARSE;   /* also when the map header is not a map at all */
    keyset_t keys;
    keyset_init (&keys);
    vl_err_t rc = n > EVENT_MAX_KEYS ? VL_ETOOBIG : VL_OK;
    /* A structural error anywhere (truncation, a count past the end,
     * nesting, trailing bytes) wins over a rule error (VL_EPARSE), so the
     * rest is still walked after the first rule error. */
    for (uint32_t i = 0; i < n; i++) {
        const char *key;
        size_t klen;
        mpread_t val;
        if (!ew_next (&r, &key, &klen, &val))
            return VL_EPARSE;
        if (rc)
            continue;
        rc = key ? keyset_add (&keys, key, klen) : VL_EPARSE;
        if (rc == VL_OK)
            rc = ew_pair (st, key, klen, &val);
    }
    if (!mpread_done (&r))
        return VL_EPARSE;
    return rc ? rc : ew_check (st);
}

vl_err_t
event_validate (const void *data, size_t len, event_view_t *out)
{
    ew_t st;
    memset (out, 0, sizeof *out);
    vl_err_t rc = ew_walk (data, len, &st);
    if (rc)
        return rc;
    out->v = st.v;
    const char **ptrs[] = { &out->id, &out->type, &out->source, &out->topic };
    size_t *lens[] = { &out->id_len, &out->type_len, &out->source_len, &out->topic_len };
    for (size_t i = 0; i < VL_ARRAY_LEN (ptrs); i++) {
        *ptrs[i] = st.str[i];
        *lens[i] = st.len[i];
    }
    out->ntags = st.ntags;
    return VL_OK;
}

/* Sets *OUT to a NUL-terminated copy of S (LEN bytes); nothing if S is
 * NULL (an absent field). */
static vl_err_t
ew_dup (const char *s, size_t len, char **out)
{
    if (!s)
        return VL_OK;
    if (!(*out = malloc (len + 1)))
        return VL_ENOMEM;
    memcpy (*out, s, len);
    (*out)[len] = '\0';
    return VL_OK;
}

/* Copies the tags found by the walk (already checked) into E. */
static vl_err_t
ew_copy_tags (const ew_t *st, event_t *e)
{
    mpread_t r = st->tags;
    uint32_t n;
    if (!st->seen_tags || !mpread_array (&r, &n))
        return VL_OK;
    if (!(e->tags = calloc (n, sizeof *e->tags)))
        return VL_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        vl_err_t rc = mpread_str (&r, &s, &len) ? ew_dup (s, len, &e->tags[i]) : VL_EPARSE;
        if (rc)
            return rc;
        e->ntags++;
    }
    return VL_OK;
}

vl_err_t
event_decode (const void *data, size_t len, event_t *out)
{
    ew_t st;
    memset (out, 0, sizeof *out);
    vl_err_t rc = ew_walk (data, len, &st);
    if (rc)
        return rc;
    char **fields[] = { &out->id, &out->type, &out->source, &out->topic, &out->url,
                        &out->title, &out->summary, &out->hash, &out->prev_hash,
                        &out->diff };
    _Static_assert (VL_ARRAY_LEN (fields) == EW_NSTR, "one field per string key");
    for (size_t i = 0; i < EW_NSTR && rc == VL_OK; i++)
        rc = ew_dup (st.str[i], st.len[i], fields[i]);
    out->v = st.v;
    out->published = st.published;
    out->has_published = st.seen_published;
    out->detected = st.detected;
    return rc ? rc : ew_copy_tags (&st, out);
}
