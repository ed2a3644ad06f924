/* charset.c: charset detection (BOM, forced, HTTP header, XML declaration,
 * HTML meta) and conversion to valid UTF-8 with iconv. See charset.h for
 * the priority order and the fallbacks. */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "charset.h"
#include "log.h"
#include "util.h"

#define SNIFF_BYTES 4096

static const char REPLACEMENT[] = "\xEF\xBF\xBD";   /* U+FFFD */

/* Length of the valid UTF-8 sequence at S (LEN bytes left), 0 if invalid:
 * the project's one decoder, util_utf8_decode. */
static size_t
utf8_seq_len (const unsigned char *s, size_t len)
{
    uint32_t cp;
    return util_utf8_decode (s, len, &cp);
}

char *
charset_utf8_repair (const char *s, size_t len, size_t *out_len)
{
    buf_t out;
    buf_init (&out, 3 * len + 1);   /* an invalid byte becomes U+FFFD (3 bytes) */
    if (buf_reserve (&out, len)) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len (p + i, len - i);
        vl_err_t rc;
        if (n == 0) {
            rc = buf_append (&out, REPLACEMENT, 3);
            n = 1;
        }
        else if (n == 1 && p[i] == 0)
            rc = VL_OK;
        else
            rc = buf_append (&out, p + i, n);
        if (rc) {
            buf_free (&out);
            return NULL;
        }
        i += n;
    }
    if (out_len)
        *out_len = out.len;
    return buf_steal (&out);
}

/* Copies a charset label starting at P (optionally quoted) into NAME,
 * lower-cased. Returns false if empty. */
static bool
copy_label (const char *p, const char *end, char name[CHARSET_NAME_MAX])
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '='))
        p++;
    if (p < end && (*p == '"' || *p == '\''))
        p++;
    size_t n = 0;
    while (p < end && n < CHARSET_NAME_MAX - 1
           && (isalnum ((unsigned char) *p) || strchr ("-_.:", *p)))
        name[n++] = (char) tolower ((unsigned char) *p++);
    name[n] = '\0';
    return n > 0;
}

/* Case-insensitive search of NEEDLE in HAY (HLEN bytes). */
static const char *
find_ci (const char *hay, size_t hlen, const char *needle)
{
    size_t nlen = strlen (needle);
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (strncasecmp (hay + i, needle, nlen) == 0)
            return hay + i;
    return NULL;
}

bool
charset_from_content_type (const char *ct, char name[CHARSET_NAME_MAX])
{
    if (!ct)
        return false;
    const char *p = find_ci (ct, strlen (ct), "charset");
    if (!p)
        return false;
    p += 7;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=')
        return false;
    return copy_label (p + 1, ct + strlen (ct), name);
}

static bool
starts_with_xml_decl (const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) {
        s++;
        len--;
    }
    return len >= 5 && strncmp (s, "<?xml", 5) == 0;
}

/* <?xml ... encoding="x" ?> at the very start (after a BOM). */
static bool
from_xml_decl (const char *s, size_t len, char name[CHARSET_NAME_MAX])
{
    while (len > 0 && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) {
        s++;
        len--;
    }
    if (len < 5 || strncmp (s, "<?xml", 5) != 0)
        return false;
    const char *end = memchr (s, '>', len < 512 ? len : 512);
    if (!end)
        return false;
    const char *p = find_ci (s, (size_t) (end - s), "encoding");
    if (!p)
        return false;
    p += 8;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p != '=')
        return false;
    return copy_label (p + 1, end, name);
}

/* <meta charset="x"> or <meta http-equiv=... content="...charset=x">
 * within the first SNIFF_BYTES bytes. */
static bool
from_meta (const char *s, size_t len, char name[CHARSET_NAME_MAX])
{
    if (len > SNIFF_BYTES)
        len = SNIFF_BYTES;
    const char *p = s, *end = s + len;
    while ((p = find_ci (p, (size_t) (end - p), "<meta")) != NULL) {
        const char *close = memchr (p, '>', (size_t) (end - p));
        if (!close)
            return false;
        const char *cs = find_ci (p, (size_t) (close - p), "charset");
        if (cs) {
            cs += 7;
            while (cs < close && (*cs == ' ' || *cs == '\t'))
                cs++;
            if (cs < close && *cs == '=' && copy_label (cs + 1, close, name))
                return true;
        }
        p = close;
    }
    return false;
}

void
charset_detect (const char *body, size_t len, const char *content_type,
                const char *forced, char name[CHARSET_NAME_MAX], size_t *bom_len)
{
    const unsigned char *b = (const unsigned char *) body;
    *bom_len = 0;
    if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        *bom_len = 3;
    else if (len >= 2 && b[0] == 0xFF && b[1] == 0xFE)
        *bom_len = 2;
    else if (len >= 2 && b[0] == 0xFE && b[1] == 0xFF)
        *bom_len = 2;
    if (forced && *forced && copy_label (forced, forced + strlen (forced), name))
        return;
    if (*bom_len == 3) { strcpy (name, "utf-8"); return; }
    if (*bom_len == 2) {
        strcpy (name, b[0] == 0xFF ? "utf-16le" : "utf-16be");
        return;
    }
    if (charset_from_content_type (content_type, name))
        return;
    if (from_xml_decl (body, len, name))
        return;
    /* an XML declaration without encoding means UTF-8 (XML 1.0 4.3.3):
     * a <meta charset> inside an escaped or CDATA description must not win */
    if (starts_with_xml_decl (body, len)) {
        strcpy (name, "utf-8");
        return;
    }
    if (from_meta (body, len, name))
        return;
    strcpy (name, "utf-8");
}

static bool
is_utf8_label (const char *name)
{
    return strcmp (name, "utf-8") == 0 || strcmp (name, "utf8") == 0
        || strcmp (name, "unicode-1-1-utf-8") == 0;
}

/* WHATWG: these labels all mean windows-1252. */
static bool
is_1252_label (const char *name)
{
    static const char *const labels[] = {
        "windows-1252", "cp1252", "x-cp1252", "iso-8859-1", "iso8859-1",
        "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii",
        "iso-ir-100", "ibm819", "cp819", "csisolatin1", "iso88591",
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp (name, labels[i]) == 0)
            return true;
    return false;
}

/* Decides whether invalid "UTF-8" is really a legacy 8-bit encoding:
 * true when invalid bytes outnumber valid multi-byte sequences. */
static bool
looks_like_legacy (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t good = 0, bad = 0, i = 0;
    while (i < len) {
        size_t n = utf8_seq_len (p + i, len - i);
        if (n == 0) {
            bad++;
            n = 1;
        }
        else if (n > 1)
            good++;
        i += n;
    }
    return bad > 0 && bad >= good;
}

/* Converts with iconv from CODE; undecodable input becomes U+FFFD. */
static vl_err_t
iconv_convert (const char *code, const char *in, size_t len, size_t max,
               buf_t *out)
{
    iconv_t cd = iconv_open ("UTF-8", code);
    if (cd == (iconv_t) -1)
        return VL_EINVAL;
    char *src = (char *) in;
    size_t left = len;
    vl_err_t rc = VL_OK;
    char chunk[4096];
    while (left > 0 && rc == VL_OK) {
        char *dst = chunk;
        size_t room = sizeof chunk;
        size_t r = iconv (cd, &src, &left, &dst, &room);
        int e = errno;
        rc = buf_append (out, chunk, (size_t) (dst - chunk));
        if (rc || r != (size_t) -1)
            continue;
        if (e == E2BIG)
            continue;
        /* EILSEQ or EINVAL (truncated sequence at the end) */
        rc = buf_append (out, REPLACEMENT, 3);
        src++;
        left--;
        iconv (cd, NULL, NULL, NULL, NULL);
    }
    iconv_close (cd);
    if (rc == VL_ETOOBIG || (max && out->len > max))
        return VL_ETOOBIG;
    return rc;
}

vl_err_t
charset_to_utf8 (const char *body, size_t len, const char *content_type,
                 const char *forced, size_t max, char **out, size_t *out_len)
{
    char name[CHARSET_NAME_MAX];
    size_t bom = 0;
    *out = NULL;
    *out_len = 0;
    charset_detect (body, len, content_type, forced, name, &bom);
    body += bom;
    len -= bom;
    bool valid = util_utf8_valid (body, len);
    if (is_utf8_label (name) && !valid && looks_like_legacy (body, len)) {
        log_info ("charset: declared %s but bytes are not UTF-8, decoding as windows-1252",
                  name);
        strcpy (name, "windows-1252");
    }
    if (is_utf8_label (name) && valid && !memchr (body, '\0', len)) {
        if (max && len > max)
            return VL_ETOOBIG;
        char *s = malloc (len + 1);
        if (!s)
            return VL_ENOMEM;
        memcpy (s, body, len);
        s[len] = '\0';
        *out = s;
        *out_len = len;
        return VL_OK;
    }
    if (is_utf8_label (name)) {
        char *s = charset_utf8_repair (body, len, out_len);
        if (!s)
            return VL_ENOMEM;
        if (max && *out_len > max) {
            free (s);
            return VL_ETOOBIG;
        }
        *out = s;
        return VL_OK;
    }
    const char *code = is_1252_label (name) ? "WINDOWS-1252" : name;
    buf_t conv;
    buf_init (&conv, max ? max : 4 * len + 16);   /* a byte: <= 4 bytes of UTF-8 */
    vl_err_t rc = iconv_convert (code, body, len, max, &conv);
    if (rc == VL_EINVAL) {
        log_info ("charset: unknown charset %s, decoding as windows-1252", name);
        buf_reset (&conv);
        rc = iconv_convert ("WINDOWS-1252", body, len, max, &conv);
    }
    if (rc) {
        buf_free (&conv);
        return rc;
    }
    /* iconv output is UTF-8, but make sure (and drop NULs). */
    *out = charset_utf8_repair (conv.data ? conv.data : "", conv.len, out_len);
    buf_free (&conv);
    return *out ? VL_OK : VL_ENOMEM;
}
