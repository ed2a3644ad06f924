/* format_json.c: events as JSON, escaped correctly whatever the content,
 * strings made valid UTF-8 and capped: a jansson object (format_json_event,
 * for payloads that embed it) or the same text written directly
 * (format_json_line). */
#include <string.h>
#include "format.h"
#include "util.h"

/* Sets KEY of OBJ to a fixed-up copy of S (skipped when S is NULL). */
static int
set_str (json_t *obj, const char *key, const char *s, size_t max)
{
    if (!s)
        return 0;
    buf_t b;
    buf_init (&b, FORMAT_CLEAN_ROOM (max));
    if (format_utf8_fix (&b, s, strlen (s), max) != VL_OK) {
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

static int
dump_cb (const char *buffer, size_t size, void *data)
{
    return buf_append ((buf_t *) data, buffer, size) == VL_OK ? 0 : -1;
}

vl_err_t
format_json_dump (buf_t *out, const json_t *root)
{
    size_t before = out->len;
    if (json_dump_callback (root, dump_cb, out,
                            JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_PRESERVE_ORDER) != 0) {
        out->len = before;
        if (out->data)
            out->data[before] = '\0';
        return VL_ETOOBIG;
    }
    return VL_OK;
}

/* --- direct writer ----------------------------------------------------------
 * format_json_line writes the text itself instead of building a jansson
 * object and dumping it: the same bytes as format_json_dump (format_json_event
 * (EV, SEQ)) but for the \uXXXX escapes of put_jstr (tests/unit/test_format.c
 * compares both on hostile and random strings), without an allocation per
 * field. */

#define ELLIPSIS "\xe2\x80\xa6"
#define REPLACEMENT "\xef\xbf\xbd"

/* 1 for the ASCII bytes copied as they are: printable, not '"', '\\' or
 * '/' (escaped: JSON_ESCAPE_SLASH), not DEL (jansson copies it; it is
 * \u007F here, as every code point util_cp_unsafe names). */
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char JSON_PLAIN[256] = {
    R16 (0), R16 (0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,      /* 0x20: '"' and '/' */
    R16 (1), R16 (1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,      /* 0x50: '\\' */
    R16 (1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,      /* 0x70: DEL */
    R16 (0), R16 (0), R16 (0), R16 (0), R16 (0), R16 (0), R16 (0), R16 (0),
};
#undef R16

/* Appends S as a JSON string: fixed as format_utf8_fix does (invalid bytes
 * become U+FFFD; at most MAX bytes of fixed text, cut on a character
 * boundary and followed by "…") and escaped as jansson does, and beyond
 * jansson the code points util_cp_unsafe names (C1 controls, bidi
 * controls, U+2028/2029, ...) as \uXXXX: the same JSON value, but a
 * terminal showing the line (log sink, `veille tail --json`) obeys none. */
static vl_err_t
put_jstr (buf_t *out, const char *str, size_t max)
{
    const unsigned char *s = (const unsigned char *) str;
    /* at most MAX bytes are taken, plus one character that does not fit */
    size_t len = strnlen (str, max + 4), i = 0, run = 0, written = 0;
    vl_err_t rc = buf_putc (out, '"');
    while (rc == VL_OK && i < len) {
        /* plain ASCII, most of the text: as far as the cap allows */
        size_t lim = max - written < len - i ? i + (max - written) : len, j = i;
        while (j < lim && JSON_PLAIN[s[j]])
            j++;
        written += j - i;
        i = j;
        if (i == len)
            break;
        unsigned char c = s[i];
        size_t n = 1;
        uint32_t cp = c;
        if (c >= 0x80)
            n = util_utf8_decode (s + i, len - i, &cp);
        if (JSON_PLAIN[c] || (c >= 0x80 && n > 0 && !util_cp_unsafe (cp))) {
            if (written + n > max)           /* cut: ellipsis after the run */
                break;
            written += n;
            i += n;
            continue;
        }
        /* a byte to escape or replace: flush the run of plain text first */
        if (i > run && (rc = buf_append (out, s + run, i - run)) != VL_OK)
            return rc;
        const char *rep;
        char esc[16];
        size_t rlen, fixed;
        if (c >= 0x80 && n > 0) {            /* C1, bidi, U+2028...: \uXXXX */
            if (cp > 0xFFFF)                 /* a noncharacter past the BMP */
                snprintf (esc, sizeof esc, "\\u%04X\\u%04X",
                          (unsigned) (0xD800 + ((cp - 0x10000) >> 10)),
                          (unsigned) (0xDC00 + ((cp - 0x10000) & 0x3FF)));
            else
                snprintf (esc, sizeof esc, "\\u%04X", (unsigned) cp);
            rep = esc, rlen = strlen (esc), fixed = n;
        } else if (c >= 0x80) {
            rep = REPLACEMENT, rlen = 3, fixed = 3, n = 1;
        } else {
            fixed = 1;
            rlen = 2;
            switch (c) {
            case '"':  rep = "\\\""; break;
            case '\\': rep = "\\\\"; break;
            case '/':  rep = "\\/"; break;
            case '\b': rep = "\\b"; break;
            case '\f': rep = "\\f"; break;
            case '\n': rep = "\\n"; break;
            case '\r': rep = "\\r"; break;
            case '\t': rep = "\\t"; break;
            default:
                memcpy (esc, "\\u00", 4);
                esc[4] = "0123456789ABCDEF"[c >> 4];
                esc[5] = "0123456789ABCDEF"[c & 15];
                rep = esc;
                rlen = 6;
            }
        }
        if (written + fixed > max) {
            run = i;
            break;
        }
        written += fixed;
        i += n;
        run = i;
        rc = buf_append (out, rep, rlen);
    }
    if (rc == VL_OK && i > run)
        rc = buf_append (out, s + run, i - run);
    if (rc == VL_OK && i < len)
        rc = buf_puts (out, ELLIPSIS);
    return rc == VL_OK ? buf_putc (out, '"') : rc;
}

/* Appends KEY (the literal ,"name": text) and the string S; nothing when
 * S is NULL. */
static vl_err_t
put_field (buf_t *out, const char *key, const char *s, size_t max)
{
    if (!s)
        return VL_OK;
    vl_err_t rc = buf_puts (out, key);
    return rc == VL_OK ? put_jstr (out, s, max) : rc;
}

/* Appends KEY (literal text) and V in decimal, as jansson prints it. */
static vl_err_t
put_int (buf_t *out, const char *key, long long v)
{
    char tmp[32];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v;
    do
        *--p = (char) ('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *--p = '-';
    vl_err_t rc = buf_puts (out, key);
    return rc == VL_OK ? buf_append (out, p, (size_t) (tmp + sizeof tmp - p)) : rc;
}

vl_err_t
format_json_line (buf_t *out, const event_t *ev, uint64_t seq)
{
    size_t before = out->len;
    vl_err_t rc = put_int (out, "{\"v\":", (long long) (ev->v ? ev->v : EVENT_VERSION));
    if (rc == VL_OK) rc = put_field (out, ",\"id\":", ev->id, 256);
    if (rc == VL_OK) rc = put_field (out, ",\"type\":", ev->type, 256);
    if (rc == VL_OK) rc = put_field (out, ",\"source\":", ev->source, 1024);
    if (rc == VL_OK) rc = put_field (out, ",\"topic\":", ev->topic, 1024);
    if (rc == VL_OK) rc = put_int (out, ",\"seq\":", (long long) (json_int_t) seq);
    if (rc == VL_OK) rc = put_field (out, ",\"url\":", ev->url, 8192);
    if (rc == VL_OK) rc = put_field (out, ",\"title\":", ev->title, 8192);
    if (rc == VL_OK) rc = put_field (out, ",\"summary\":", ev->summary, FORMAT_BODY_FIELD_MAX);
    if (rc == VL_OK && ev->has_published)
        rc = put_int (out, ",\"published\":", (long long) ev->published);
    if (rc == VL_OK && ev->detected)
        rc = put_int (out, ",\"detected\":", (long long) ev->detected);
    if (rc == VL_OK) rc = buf_puts (out, ",\"tags\":[");
    for (size_t i = 0; rc == VL_OK && i < ev->ntags; i++) {
        if (i > 0)
            rc = buf_putc (out, ',');
        if (rc == VL_OK)
            rc = put_jstr (out, ev->tags[i], 1024);
    }
    if (rc == VL_OK) rc = buf_putc (out, ']');
    if (rc == VL_OK) rc = put_field (out, ",\"hash\":", ev->hash, 256);
    if (rc == VL_OK) rc = put_field (out, ",\"prev_hash\":", ev->prev_hash, 256);
    if (rc == VL_OK) rc = put_field (out, ",\"diff\":", ev->diff, FORMAT_BODY_FIELD_MAX);
    if (rc == VL_OK) rc = buf_putc (out, '}');
    if (rc != VL_OK) {
        out->len = before;
        if (out->data)
            out->data[before] = '\0';
    }
    return rc;
}
