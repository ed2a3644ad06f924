/* format_json.c: events as JSON, escaped correctly whatever the content,
 * strings made valid UTF-8 and capped: a jansson object
 * (format_json_event), written by the project's one JSON writer
 * (json_out.h) as a payload (format_json_dump) or a line
 * (format_json_line). */
#include <stdio.h>
#include <string.h>
#include "format.h"
#include "json_out.h"
#include "util.h"

/* Sets KEY of OBJ to a fixed-up copy of S (skipped when S is NULL). */
static int
set_str (json_t *obj, const char *key, const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t len = strlen (s);
    if (len <= max && util_utf8_valid (s, len)) {   /* the usual case: as is */
        json_t *v = json_stringn_nocheck (s, len);
        return v ? json_object_set_new (obj, key, v) : -1;
    }
    buf_t b;
    buf_init (&b, FORMAT_CLEAN_ROOM (max));
    if (format_utf8_fix (&b, s, len, max) != VL_OK) {
        buf_free (&b);
        return -1;
    }
    json_t *v = json_stringn (b.data ? b.data : "", b.len);
    buf_free (&b);
    return v ? json_object_set_new (obj, key, v) : -1;
}

static int
set_tags (json_t *obj, const event_t *ev)
{
    json_t *arr = json_array ();
    if (!arr)
        return -1;
    for (size_t i = 0; i < ev->ntags; i++) {
        buf_t b;
        buf_init (&b, FORMAT_CLEAN_ROOM (1024));
        json_t *v = NULL;
        if (format_utf8_fix (&b, ev->tags[i], strlen (ev->tags[i]), 1024) == VL_OK)
            v = json_stringn (b.data ? b.data : "", b.len);
        buf_free (&b);
        if (!v || json_array_append_new (arr, v) != 0) {
            json_decref (arr);
            return -1;
        }
    }
    return json_object_set_new (obj, "tags", arr);
}

json_t *
format_json_event (const event_t *ev, uint64_t seq)
{
    json_t *o = json_object ();
    if (!o)
        return NULL;
    int rc = 0;
    rc |= json_object_set_new (o, "v", json_integer (ev->v ? ev->v : EVENT_VERSION));
    rc |= set_str (o, "id", ev->id, 256);
    rc |= set_str (o, "type", ev->type, 256);
    rc |= set_str (o, "source", ev->source, 1024);
    rc |= set_str (o, "topic", ev->topic, 1024);
    rc |= json_object_set_new (o, "seq", json_integer ((json_int_t) seq));
    rc |= set_str (o, "url", ev->url, 8192);
    rc |= set_str (o, "title", ev->title, 8192);
    rc |= set_str (o, "summary", ev->summary, FORMAT_BODY_FIELD_MAX);
    if (ev->has_published)
        rc |= json_object_set_new (o, "published", json_integer (ev->published));
    if (ev->detected)
        rc |= json_object_set_new (o, "detected", json_integer (ev->detected));
    rc |= set_tags (o, ev);
    rc |= set_str (o, "hash", ev->hash, 256);
    rc |= set_str (o, "prev_hash", ev->prev_hash, 256);
    rc |= set_str (o, "diff", ev->diff, FORMAT_BODY_FIELD_MAX);
    if (rc != 0) {
        json_decref (o);
        return NULL;
    }
    return o;
}

vl_err_t
format_json_dump (buf_t *out, const json_t *root)
{
    return json_out_write (out, root, JSON_OUT_SLASH);
}

vl_err_t
format_json_line (buf_t *out, const event_t *ev, uint64_t seq)
{
    json_t *o = format_json_event (ev, seq);
    if (!o)
        return VL_ENOMEM;
    vl_err_t rc = json_out_write (out, o, JSON_OUT_SLASH | JSON_OUT_SAFE);
    json_decref (o);
    return rc;
}
