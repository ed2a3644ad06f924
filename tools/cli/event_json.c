/* event_json.c: JSON objects to events (for `veille pub`), msgpack maps
 * to JSON (for `veille stats`). */
#include "event_json.h"

#include <stdio.h>
#include <string.h>
#include <msgpack.h>

#include "mpread.h"

#define MP_DEPTH_MAX 16

typedef struct {
    const char *key;
    size_t      off;   /* offset of the char * member in event_t */
} str_field_t;

static const str_field_t s_str_fields[] = {
    { "id", offsetof (event_t, id) },         { "type", offsetof (event_t, type) },
    { "source", offsetof (event_t, source) }, { "topic", offsetof (event_t, topic) },
    { "url", offsetof (event_t, url) },       { "title", offsetof (event_t, title) },
    { "summary", offsetof (event_t, summary) }, { "hash", offsetof (event_t, hash) },
    { "prev_hash", offsetof (event_t, prev_hash) }, { "diff", offsetof (event_t, diff) },
};

static vl_err_t
s_fail (char *err, size_t cap, const char *key, const char *what)
{
    if (err && cap)
        snprintf (err, cap, "%s: %s", key, what);
    return VL_EINVAL;
}

static vl_err_t
s_set_tags (const json_t *val, event_t *out, char *err, size_t cap)
{
    if (json_is_string (val))
        return event_add_tag (out, json_string_value (val));
    if (!json_is_array (val))
        return s_fail (err, cap, "tags", "expected an array of strings");
    size_t i;
    const json_t *t;
    json_array_foreach (val, i, t) {
        if (!json_is_string (t))
            return s_fail (err, cap, "tags", "expected an array of strings");
        vl_err_t rc = event_add_tag (out, json_string_value (t));
        if (rc != VL_OK)
            return rc;
    }
    return VL_OK;
}

static vl_err_t
s_set_field (const char *key, const json_t *val, event_t *out, char *err, size_t cap)
{
    for (size_t i = 0; i < sizeof s_str_fields / sizeof s_str_fields[0]; i++) {
        if (strcmp (key, s_str_fields[i].key) != 0)
            continue;
        if (json_is_null (val))
            return VL_OK;
        if (!json_is_string (val))
            return s_fail (err, cap, key, "expected a string");
        return event_set ((char **) ((char *) out + s_str_fields[i].off), json_string_value (val));
    }
    if (strcmp (key, "tags") == 0)
        return s_set_tags (val, out, err, cap);
    if (strcmp (key, "published") == 0 || strcmp (key, "detected") == 0
        || strcmp (key, "v") == 0) {
        if (!json_is_integer (val))
            return s_fail (err, cap, key, "expected an integer");
        json_int_t n = json_integer_value (val);
        if (key[0] == 'p') {
            out->published = n;
            out->has_published = true;
        }
        else if (key[0] == 'd')
            out->detected = n;
        else if (n != EVENT_VERSION)
            return s_fail (err, cap, key, "unsupported schema version");
        return VL_OK;
    }
    return VL_OK;   /* unknown keys (seq, ...) are ignored */
}

vl_err_t
event_json_to_event (const json_t *obj, event_t *out, char *err, size_t errcap)
{
    memset (out, 0, sizeof *out);
    out->v = EVENT_VERSION;
    if (!json_is_object (obj))
        return s_fail (err, errcap, "event", "expected a JSON object");
    const char *key;
    const json_t *val;
    json_object_foreach ((json_t *) obj, key, val) {
        vl_err_t rc = s_set_field (key, val, out, err, errcap);
        if (rc != VL_OK)
            return rc;
    }
    return VL_OK;
}

/* --- msgpack -> JSON ----------------------------------------------------- */

static json_t *
s_json (const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null ();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean (o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return json_integer ((json_int_t) o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer ((json_int_t) o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real (o->via.f64);
    case MSGPACK_OBJECT_STR: return json_stringn (o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN: return json_stringn (o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array ();
        for (uint32_t i = 0; a && i < o->via.array.size; i++)
            if (json_array_append_new (a, s_json (&o->via.array.ptr[i])) != 0) {
                json_decref (a);
                return NULL;
            }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object ();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR
                || json_object_setn_new (m, kv->key.via.str.ptr, kv->key.via.str.size,
                                         s_json (&kv->val)) != 0) {
                json_decref (m);
                return NULL;
            }
        }
        return m;
    }
    default:
        return NULL;   /* ext types are not used by veille */
    }
}

json_t *
event_json_from_msgpack (const void *data, size_t len)
{
    /* the structure first (bounded depth, every length within DATA), so
     * that a forged length cannot make msgpack-c allocate */
    mpread_t r;
    mpread_init (&r, data, len);
    if (!mpread_skip (&r, MP_DEPTH_MAX) || !mpread_done (&r))
        return NULL;
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    json_t *v = NULL;
    if (msgpack_unpack_next (&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len)
        v = s_json (&up.data);
    msgpack_unpacked_destroy (&up);
    return v;
}
