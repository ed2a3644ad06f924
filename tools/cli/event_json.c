/* event_json.c: JSON objects to events (for `veille pub`), msgpack maps
 * to JSON (for `veille stats`). */
#include "event_json.h"

#include <stdio.h>
#include <string.h>

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

typedef struct {
    const unsigned char *p;
    size_t n, off;
} rd_t;

static bool
s_take (rd_t *r, size_t k, const unsigned char **out)
{
    if (r->n - r->off < k)
        return false;
    *out = r->p + r->off;
    r->off += k;
    return true;
}

static uint64_t
s_be (const unsigned char *p, size_t k)
{
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++)
        v = (v << 8) | p[i];
    return v;
}

static json_t *s_value (rd_t *r, int depth);

static json_t *
s_container (rd_t *r, uint64_t count, bool map, int depth)
{
    if (depth > MP_DEPTH_MAX || count > r->n - r->off)
        return NULL;
    json_t *c = map ? json_object () : json_array ();
    for (uint64_t i = 0; c && i < count; i++) {
        json_t *k = map ? s_value (r, depth + 1) : NULL;
        json_t *v = (!map || json_is_string (k)) ? s_value (r, depth + 1) : NULL;
        int rc = -1;
        if (v && map)
            rc = json_object_set_new (c, json_string_value (k), v);
        else if (v)
            rc = json_array_append_new (c, v);
        json_decref (k);
        if (rc != 0) {
            json_decref (c);
            return NULL;
        }
    }
    return c;
}

static json_t *
s_bytes (rd_t *r, uint64_t len)
{
    const unsigned char *p;
    if (len > r->n - r->off || !s_take (r, (size_t) len, &p))
        return NULL;
    return json_stringn ((const char *) p, (size_t) len);
}

static json_t *
s_value (rd_t *r, int depth)
{
    const unsigned char *p;
    if (!s_take (r, 1, &p))
        return NULL;
    unsigned char t = *p;
    if (t <= 0x7f)
        return json_integer (t);
    if (t >= 0xe0)
        return json_integer ((int8_t) t);
    if (t <= 0x8f)
        return s_container (r, t & 0x0f, true, depth);
    if (t <= 0x9f)
        return s_container (r, t & 0x0f, false, depth);
    if (t <= 0xbf)
        return s_bytes (r, t & 0x1f);
    size_t k;
    switch (t) {
    case 0xc0: return json_null ();
    case 0xc2: return json_false ();
    case 0xc3: return json_true ();
    case 0xc4: case 0xd9: k = 1; break;
    case 0xc5: case 0xda: k = 2; break;
    case 0xc6: case 0xdb: k = 4; break;
    case 0xca: {
        float f;
        uint32_t u;
        if (!s_take (r, 4, &p))
            return NULL;
        u = (uint32_t) s_be (p, 4);
        memcpy (&f, &u, 4);
        return json_real (f);
    }
    case 0xcb: {
        double d;
        uint64_t u;
        if (!s_take (r, 8, &p))
            return NULL;
        u = s_be (p, 8);
        memcpy (&d, &u, 8);
        return json_real (d);
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        size_t w = (size_t) 1 << (t - 0xcc);
        if (!s_take (r, w, &p))
            return NULL;
        return json_integer ((json_int_t) s_be (p, w));
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        size_t w = (size_t) 1 << (t - 0xd0);
        if (!s_take (r, w, &p))
            return NULL;
        uint64_t u = s_be (p, w);
        if (w < 8 && (u >> (8 * w - 1)))
            u |= ~(uint64_t) 0 << (8 * w);
        return json_integer ((json_int_t) u);
    }
    case 0xdc: case 0xde:
        if (!s_take (r, 2, &p))
            return NULL;
        return s_container (r, s_be (p, 2), t == 0xde, depth);
    case 0xdd: case 0xdf:
        if (!s_take (r, 4, &p))
            return NULL;
        return s_container (r, s_be (p, 4), t == 0xdf, depth);
    default:
        return NULL;   /* ext types are not used by veille */
    }
    if (!s_take (r, k, &p))
        return NULL;
    return s_bytes (r, s_be (p, k));
}

json_t *
event_json_from_msgpack (const void *data, size_t len)
{
    rd_t r = { data, len, 0 };
    json_t *v = s_value (&r, 0);
    if (v && r.off != len) {
        json_decref (v);
        return NULL;
    }
    return v;
}
