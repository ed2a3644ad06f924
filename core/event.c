/* event.c: the veille event and its strict msgpack codec.
 *
 * Decoding hostile input: msgpack-c allocates a container's elements from
 * the count in its header before reading them, so a 5-byte "array of 4
 * billion" would ask for ~100 GB. event_decode therefore first walks the
 * raw bytes with mpread_skip (core/mpread.h): every length and count is
 * checked against the bytes left, nesting is capped at EVENT_MAX_DEPTH and
 * trailing bytes are refused; only then does msgpack-c build the tree. */
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

/* ---- rules shared by event_decode and event_validate -------------- */

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
        k = "";   /* msgpack-c gives NULL for an empty str: no memcmp on it */
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

/* The buffer an encoding goes to, and the first write error: once one
 * write failed (the buffer's max), every later one fails too, so a field
 * that did not fit cannot leave a spliced, shorter encoding behind. */
typedef struct {
    buf_t   *out;
    vl_err_t rc;
} enc_out_t;

static int
enc_write (void *data, const char *bytes, size_t len)
{
    enc_out_t *e = data;
    if (e->rc == VL_OK)
        e->rc = buf_append (e->out, bytes, len);
    return e->rc == VL_OK ? 0 : -1;
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
    enc_out_t enc = { out, VL_OK };
    msgpack_packer_init (&pk, &enc, enc_write);
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

/* ---- decoding ------------------------------------------------------- */

static vl_err_t
dup_str (const msgpack_object *o, char **out)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return VL_OK;
    if (o->type != MSGPACK_OBJECT_STR)
        return VL_EPARSE;
    const char *s = o->via.str.ptr;
    size_t len = o->via.str.size;
    if (!text_ok (s, len))
        return VL_EUTF8;
    if (*out)
        return VL_EPARSE;   /* duplicate key */
    if (!(*out = malloc (len + 1)))
        return VL_ENOMEM;
    memcpy (*out, s, len);
    (*out)[len] = '\0';
    return VL_OK;
}

static vl_err_t
get_int (const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            return VL_EPARSE;
        *out = (int64_t) o->via.u64;
        return VL_OK;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return VL_OK;
    }
    return VL_EPARSE;
}

static vl_err_t
decode_tags (const msgpack_object *o, event_t *e)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || e->tags)
        return VL_EPARSE;
    if (o->via.array.size > EVENT_MAX_TAGS)
        return VL_ETOOBIG;
    if (o->via.array.size == 0)
        return VL_OK;
    e->tags = calloc (o->via.array.size, sizeof *e->tags);
    if (!e->tags)
        return VL_ENOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *t = &o->via.array.ptr[i];
        if (t->type != MSGPACK_OBJECT_STR)
            return VL_EPARSE;
        vl_err_t rc = dup_str (t, &e->tags[i]);
        if (rc)
            return rc;
        e->ntags++;
    }
    return VL_OK;
}

static char **
str_field (event_t *e, const char *key, size_t klen)
{
    static const char *const names[] = { "id", "type", "source", "topic", "url", "title",
                                         "summary", "hash", "prev_hash", "diff" };
    char **fields[] = { &e->id, &e->type, &e->source, &e->topic, &e->url, &e->title,
                        &e->summary, &e->hash, &e->prev_hash, &e->diff };
    for (size_t i = 0; i < VL_ARRAY_LEN (names); i++)
        if (strlen (names[i]) == klen && memcmp (names[i], key, klen) == 0)
            return fields[i];
    return NULL;
}

static bool
key_is (const msgpack_object *k, const char *name)
{
    size_t n = strlen (name);
    return k->via.str.size == n && memcmp (k->via.str.ptr, name, n) == 0;
}

/* The value of an unknown key (O), depth first in document order, as
 * vw_any: every str and key is text, map keys are str and unique, maps
 * hold at most EVENT_MAX_KEYS pairs, no ext anywhere. */
static vl_err_t
decode_any (const msgpack_object *o)
{
    vl_err_t rc = VL_OK;
    if (o->type == MSGPACK_OBJECT_STR)
        return text_ok (o->via.str.ptr, o->via.str.size) ? VL_OK : VL_EUTF8;
    if (o->type == MSGPACK_OBJECT_EXT)
        return VL_EPARSE;
    if (o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o->via.array.size && rc == VL_OK; i++)
            rc = decode_any (&o->via.array.ptr[i]);
    if (o->type != MSGPACK_OBJECT_MAP)
        return rc;
    if (o->via.map.size > EVENT_MAX_KEYS)
        return VL_ETOOBIG;
    keyset_t ks;
    keyset_init (&ks);
    for (uint32_t i = 0; i < o->via.map.size && rc == VL_OK; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return VL_EPARSE;
        rc = keyset_add (&ks, k->via.str.ptr, k->via.str.size);
        if (rc == VL_OK)
            rc = decode_any (&o->via.map.ptr[i].val);
    }
    return rc;
}

static vl_err_t
decode_pair (const msgpack_object *k, const msgpack_object *v, event_t *e, bool *seen_v,
             keyset_t *keys)
{
    if (k->type != MSGPACK_OBJECT_STR)
        return VL_EPARSE;
    vl_err_t rc = keyset_add (keys, k->via.str.ptr, k->via.str.size);
    if (rc)
        return rc;
    char **field = str_field (e, k->via.str.ptr, k->via.str.size);
    if (field)
        return dup_str (v, field);
    int64_t n;
    if (key_is (k, "v")) {
        if (*seen_v || get_int (v, &n) || n < 1 || n > UINT32_MAX)
            return VL_EPARSE;
        e->v = (uint32_t) n;
        *seen_v = true;
    }
    else if (key_is (k, "published")) {
        if (e->has_published || get_int (v, &n))
            return VL_EPARSE;
        e->published = n;
        e->has_published = true;
    }
    else if (key_is (k, "detected")) {
        if (get_int (v, &n) || n < 0)
            return VL_EPARSE;
        e->detected = n;
    }
    else if (key_is (k, "tags"))
        return decode_tags (v, e);
    else
        return decode_any (v);   /* unknown key: forward compatibility */
    return VL_OK;
}

static vl_err_t
decode_check (const event_t *e, bool seen_v)
{
    if (!seen_v || !e->id || !e->type || !e->source || !e->topic)
        return VL_EPARSE;
    if (!id_valid (e->id, strlen (e->id)) || !type_valid (e->type, strlen (e->type))
        || !event_topic_valid (e->topic, strlen (e->topic))
        || strlen (e->source) == 0 || strlen (e->source) > EVENT_MAX_TOPIC)
        return VL_EPARSE;
    return VL_OK;
}

vl_err_t
event_decode (const void *data, size_t len, event_t *out)
{
    memset (out, 0, sizeof *out);
    if (!data || len == 0)
        return VL_EPARSE;
    if (len > EVENT_MAX_BYTES)
        return VL_ETOOBIG;
    mpread_t r;
    mpread_init (&r, data, len);
    if (!mpread_skip (&r, EVENT_MAX_DEPTH) || !mpread_done (&r))
        return VL_EPARSE;

    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    vl_err_t rc = VL_EPARSE;
    if (msgpack_unpack_next (&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS
        && off == len && up.data.type == MSGPACK_OBJECT_MAP) {
        bool seen_v = false;
        const msgpack_object_map *m = &up.data.via.map;
        keyset_t keys;
        keyset_init (&keys);
        rc = m->size > EVENT_MAX_KEYS ? VL_ETOOBIG : VL_OK;
        for (uint32_t i = 0; i < m->size && rc == VL_OK; i++)
            rc = decode_pair (&m->ptr[i].key, &m->ptr[i].val, out, &seen_v, &keys);
        if (rc == VL_OK)
            rc = decode_check (out, seen_v);
    }
    msgpack_unpacked_destroy (&up);
    return rc;
}

/* ---- validation in place ------------------------------------------- */

/* The string keys of the event, in the order of vw_fields below. */
static const char *const vw_names[] = { "id", "type", "source", "topic", "url", "title",
                                        "summary", "hash", "prev_hash", "diff" };

typedef struct {
    event_view_t *out;
    unsigned      seen_str;    /* bit i: vw_names[i] holds a string */
    bool          seen_v, seen_published, seen_tags;
} vw_state_t;

static int
vw_str_index (const char *key, size_t klen)
{
    static const unsigned char lens[] = { 2, 4, 6, 5, 3, 5, 7, 4, 9, 4 };
    for (size_t i = 0; i < VL_ARRAY_LEN (vw_names); i++)
        if (lens[i] == klen && memcmp (vw_names[i], key, klen) == 0)
            return (int) i;
    return -1;
}

static bool
vw_key_is (const char *key, size_t klen, const char *name)
{
    return strlen (name) == klen && memcmp (key, name, klen) == 0;
}

/* Reads a string value that must have no NUL and be valid UTF-8. */
static vl_err_t
vw_text (mpread_t *r, const char **s, size_t *len)
{
    if (!mpread_str (r, s, len))
        return VL_EPARSE;
    if (!text_ok (*s, *len))
        return VL_EUTF8;
    return VL_OK;
}

/* One of the string fields (index I): nil is ignored, as in dup_str. */
static vl_err_t
vw_str_field (vw_state_t *st, int i, mpread_t *r)
{
    if (mpread_nil (r))
        return VL_OK;
    const char *s;
    size_t len;
    vl_err_t rc = vw_text (r, &s, &len);
    if (rc)
        return rc;
    if (st->seen_str & (1u << i))
        return VL_EPARSE;   /* duplicate key */
    st->seen_str |= 1u << i;
    event_view_t *o = st->out;
    const char **ptrs[] = { &o->id, &o->type, &o->source, &o->topic };
    size_t *lens[] = { &o->id_len, &o->type_len, &o->source_len, &o->topic_len };
    if ((size_t) i < VL_ARRAY_LEN (ptrs)) {
        *ptrs[i] = s;
        *lens[i] = len;
    }
    return VL_OK;
}

static vl_err_t
vw_tags (vw_state_t *st, mpread_t *r)
{
    uint32_t n;
    if (!mpread_array (r, &n) || st->seen_tags)
        return VL_EPARSE;
    if (n > EVENT_MAX_TAGS)
        return VL_ETOOBIG;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        vl_err_t rc = vw_text (r, &s, &len);
        if (rc)
            return rc;
    }
    st->seen_tags = n > 0;   /* decode_tags: an empty array leaves tags NULL */
    st->out->ntags = n;
    return VL_OK;
}

/* The value of an unknown key, read from R (whose structure mpread_skip
 * has checked, so only the tag byte decides): same rules and order as
 * decode_any. */
static vl_err_t
vw_any (mpread_t *r)
{
    const char *s;
    size_t len;
    uint32_t n;
    vl_err_t rc = VL_OK;
    unsigned char c = *r->p;
    if ((c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8))
        return VL_EPARSE;                                       /* ext */
    if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
        return mpread_str (r, &s, &len) && text_ok (s, len) ? VL_OK : VL_EUTF8;
    if ((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd) {
        if (!mpread_array (r, &n))
            return VL_EPARSE;
        for (uint32_t i = 0; i < n && rc == VL_OK; i++)
            rc = vw_any (r);
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
        c = *r->p;
        if (!((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
            || !mpread_str (r, &s, &len))
            return VL_EPARSE;
        rc = keyset_add (&ks, s, len);
        if (rc == VL_OK)
            rc = vw_any (r);
    }
    return rc;
}

/* The value (in R, exactly one value) of key KEY: same rules as decode_pair. */
static vl_err_t
vw_pair (vw_state_t *st, const char *key, size_t klen, mpread_t *r)
{
    int i = vw_str_index (key, klen);
    if (i >= 0)
        return vw_str_field (st, i, r);
    int64_t n;
    if (vw_key_is (key, klen, "v")) {
        if (st->seen_v || !mpread_int (r, &n) || n < 1 || n > UINT32_MAX)
            return VL_EPARSE;
        st->out->v = (uint32_t) n;
        st->seen_v = true;
    }
    else if (vw_key_is (key, klen, "published")) {
        if (st->seen_published || !mpread_int (r, &n))
            return VL_EPARSE;
        st->seen_published = true;
    }
    else if (vw_key_is (key, klen, "detected")) {
        if (!mpread_int (r, &n) || n < 0)
            return VL_EPARSE;
    }
    else if (vw_key_is (key, klen, "tags"))
        return vw_tags (st, r);
    else
        return vw_any (r);   /* unknown key: forward compatibility */
    return VL_OK;
}

static vl_err_t
vw_check (const vw_state_t *st)
{
    const event_view_t *o = st->out;
    if (!st->seen_v || !o->id || !o->type || !o->source || !o->topic)
        return VL_EPARSE;
    if (!id_valid (o->id, o->id_len) || !type_valid (o->type, o->type_len)
        || !event_topic_valid (o->topic, o->topic_len)
        || o->source_len == 0 || o->source_len > EVENT_MAX_TOPIC)
        return VL_EPARSE;
    return VL_OK;
}

/* The walk of event_validate over a non-empty DATA of at most
 * EVENT_MAX_BYTES; may leave *OUT partly filled on error. */
static vl_err_t
vw_walk (const void *data, size_t len, event_view_t *out)
{
    mpread_t r;
    uint32_t n;
    mpread_init (&r, data, len);
    if (!mpread_map (&r, &n))
        return VL_EPARSE;   /* also when the map header is not a map at all */
    vw_state_t st = { .out = out };
    keyset_t keys;
    keyset_init (&keys);
    vl_err_t rc = n > EVENT_MAX_KEYS ? VL_ETOOBIG : VL_OK;
    /* event_decode checks the whole structure before any rule, so after
     * the first rule error the rest is still walked: a structural error
     * anywhere wins (VL_EPARSE), as there. */
    for (uint32_t i = 0; i < n; i++) {
        const char *key = NULL;
        size_t klen = 0;
        mpread_t at = r;
        bool key_ok = mpread_str (&r, &key, &klen);
        if (!key_ok) {
            r = at;
            if (!mpread_skip (&r, EVENT_MAX_DEPTH - 1))
                return VL_EPARSE;
        }
        const unsigned char *v0 = r.p;
        if (!mpread_skip (&r, EVENT_MAX_DEPTH - 1))
            return VL_EPARSE;
        if (rc)
            continue;
        mpread_t vr;
        mpread_init (&vr, v0, (size_t) (r.p - v0));
        rc = key_ok ? keyset_add (&keys, key, klen) : VL_EPARSE;
        if (rc == VL_OK)
            rc = vw_pair (&st, key, klen, &vr);
    }
    if (!mpread_done (&r))
        return VL_EPARSE;
    return rc ? rc : vw_check (&st);
}

vl_err_t
event_validate (const void *data, size_t len, event_view_t *out)
{
    memset (out, 0, sizeof *out);
    if (!data || len == 0)
        return VL_EPARSE;
    if (len > EVENT_MAX_BYTES)
        return VL_ETOOBIG;
    vl_err_t rc = vw_walk (data, len, out);
    if (rc)
        memset (out, 0, sizeof *out);
    return rc;
}
