/* json_out.c: the project's one JSON writer (see json_out.h). */
#include <stdio.h>
#include <string.h>
#include "json_out.h"
#include "util.h"

/* json_dump_callback sink: appends to a capped buf_t and keeps the first
 * error so that the caller can tell VL_ETOOBIG from VL_ENOMEM. */
typedef struct {
    buf_t    *out;
    vl_err_t  rc;
} dump_ctx_t;

static int
dump_cb (const char *buffer, size_t size, void *data)
{
    dump_ctx_t *ctx = data;
    ctx->rc = buf_append (ctx->out, buffer, size);
    return ctx->rc == VL_OK ? 0 : -1;
}

/* Cuts OUT back to BEFORE bytes (what it held before a failed append). */
static void
restore (buf_t *out, size_t before)
{
    out->len = before;
    if (out->data)
        out->data[before] = '\0';
}

/* Appends the jansson dump of ROOT (compact, keys in insertion order, "/"
 * escaped when SLASH); on error OUT is unchanged. */
static vl_err_t
dump (buf_t *out, const json_t *root, bool slash)
{
    size_t before = out->len;
    dump_ctx_t ctx = { out, VL_OK };
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY
                   | (slash ? JSON_ESCAPE_SLASH : 0);
    if (json_dump_callback (root, dump_cb, &ctx, flags) != 0) {
        restore (out, before);
        return ctx.rc != VL_OK ? ctx.rc : VL_ENOMEM;
    }
    return VL_OK;
}

/* Length (>= 1) of the character at S (AVAIL bytes) of jansson's output;
 * *CP is set and true returned when it is one of the code points
 * util_cp_unsafe names that jansson leaves raw (it escapes C0 controls
 * itself; it copies DEL and every non-ASCII character). */
static size_t
char_at (const unsigned char *s, size_t avail, uint32_t *cp, bool *unsafe)
{
    *unsafe = false;
    if (s[0] < 0x7F)
        return 1;
    size_t n = util_utf8_decode (s, avail, cp);
    if (n == 0)
        return 1;
    *unsafe = util_cp_unsafe (*cp);
    return n;
}

/* Appends to OUT the JSON text T (LEN bytes, valid UTF-8 from jansson) with
 * each unsafe code point (char_at) written as \uXXXX (a surrogate pair past
 * the BMP): the same JSON value, since JSON text holds such characters
 * only inside strings. */
static vl_err_t
put_escaped (buf_t *out, const unsigned char *t, size_t len)
{
    size_t run = 0;
    vl_err_t rc = VL_OK;
    for (size_t i = 0; rc == VL_OK && i < len;) {
        uint32_t cp;
        bool unsafe;
        size_t n = char_at (t + i, len - i, &cp, &unsafe);
        i += n;
        if (!unsafe)
            continue;
        char esc[16];
        if (cp > 0xFFFF)
            snprintf (esc, sizeof esc, "\\u%04X\\u%04X",
                      (unsigned) (0xD800 + ((cp - 0x10000) >> 10)),
                      (unsigned) (0xDC00 + ((cp - 0x10000) & 0x3FF)));
        else
            snprintf (esc, sizeof esc, "\\u%04X", (unsigned) cp);
        rc = buf_append (out, t + run, i - n - run);
        if (rc == VL_OK)
            rc = buf_puts (out, esc);
        run = i;
    }
    return rc == VL_OK ? buf_append (out, t + run, len - run) : rc;
}

vl_err_t
json_out_write (buf_t *out, const json_t *root, unsigned flags)
{
    size_t before = out->len;
    vl_err_t rc = dump (out, root, flags & JSON_OUT_SLASH);
    if (rc != VL_OK || !(flags & JSON_OUT_SAFE))
        return rc;
    const unsigned char *t = (const unsigned char *) out->data + before;
    size_t len = out->len - before, i = 0, n = 0;
    uint32_t cp;
    bool unsafe = false;
    while (i < len) {
        if (t[i] < 0x7F) {             /* ASCII, most of the text */
            i++;
            continue;
        }
        if ((n = char_at (t + i, len - i, &cp, &unsafe)) && unsafe)
            break;
        i += n;
    }
    if (i >= len)                      /* the usual case: nothing to escape */
        return VL_OK;
    /* rewrite from the first unsafe character on, from a copy of the text */
    buf_t copy;
    buf_init (&copy, len - i);
    rc = buf_append (&copy, t + i, len - i);
    if (rc == VL_OK) {
        restore (out, before + i);
        rc = put_escaped (out, (const unsigned char *) copy.data, copy.len);
    }
    buf_free (&copy);
    if (rc != VL_OK)
        restore (out, before);
    return rc;
}
