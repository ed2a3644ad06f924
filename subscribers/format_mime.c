/* format_mime.c: header values safe for mail and HTTP: one line, no
 * controls, RFC 2047 encoded-words for anything but short plain ASCII;
 * canonical CRLF line breaks for MIME text bodies. */
#include <string.h>
#include <sodium.h>
#include "format.h"
#include "format_mime.h"
#include "util.h"

#define LINE_MAX_CHARS 76
#define WORD_OVERHEAD  12   /* "=?UTF-8?B?" + "?=" */

static bool
plain_ascii (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7E)
            return false;
    return strstr (s, "=?") == NULL;
}

/* Input bytes that fit in one encoded word of at most ROOM characters. */
static size_t
word_capacity (size_t room)
{
    if (room <= WORD_OVERHEAD + 4)
        return 0;
    return (room - WORD_OVERHEAD) / 4 * 3;
}

static vl_err_t
put_word (buf_t *out, const char *s, size_t n)
{
    char b64[128];
    sodium_bin2base64 (b64, sizeof b64, (const unsigned char *) s, n,
                       sodium_base64_VARIANT_ORIGINAL);
    vl_err_t rc = buf_puts (out, "=?UTF-8?B?");
    if (rc == VL_OK) rc = buf_puts (out, b64);
    return rc == VL_OK ? buf_puts (out, "?=") : rc;
}

vl_err_t
format_rfc2047 (buf_t *out, const char *text, size_t first_used, size_t max)
{
    buf_t clean;
    buf_init (&clean, FORMAT_CLEAN_ROOM (max));
    vl_err_t rc = format_clean (&clean, text, text ? strlen (text) : 0, max, 0);
    const char *s = clean.data ? clean.data : "";
    size_t len = clean.len;
    if (rc == VL_OK && plain_ascii (s, len) && first_used + len <= LINE_MAX_CHARS) {
        rc = buf_append (out, s, len);
        buf_free (&clean);
        return rc;
    }
    size_t room = first_used < LINE_MAX_CHARS ? LINE_MAX_CHARS - first_used : 0;
    if (rc == VL_OK && word_capacity (room) == 0) {    /* no room: fold first */
        rc = buf_puts (out, "\r\n ");
        room = LINE_MAX_CHARS - 1;
    }
    size_t pos = 0;
    bool first = true;
    while (rc == VL_OK && (pos < len || first)) {
        if (!first) {
            rc = buf_puts (out, "\r\n ");
            room = LINE_MAX_CHARS - 1;
        }
        size_t n = util_utf8_cut (s + pos, len - pos, word_capacity (room > 75 ? 75 : room));
        if (n == 0 && pos < len)          /* cannot happen with valid UTF-8 */
            n = 1;
        if (rc == VL_OK)
            rc = put_word (out, s + pos, n);
        pos += n;
        first = false;
    }
    buf_free (&clean);
    return rc;
}

vl_err_t
format_crlf (buf_t *out, const char *s, size_t len)
{
    if (!s || len == 0)
        return VL_OK;
    vl_err_t rc = VL_OK;
    size_t start = 0;
    for (size_t i = 0; rc == VL_OK && i < len; i++) {
        if (s[i] != '\n' && s[i] != '\r')
            continue;
        rc = buf_append (out, s + start, i - start);
        if (rc == VL_OK)
            rc = buf_puts (out, "\r\n");
        if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    return rc == VL_OK ? buf_append (out, s + start, len - start) : rc;
}
