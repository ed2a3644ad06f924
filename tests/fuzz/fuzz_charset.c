/* fuzz_charset: charset detection and conversion. Byte 0 picks a forced
 * charset, byte 1 a Content-Type header, the rest is the body. The output
 * must be valid UTF-8, NUL-terminated, within the cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "charset.h"
#include "log.h"
#include "util.h"

static const char *const forced[] = {
    NULL, NULL, NULL, NULL, "utf-8", "windows-1252", "iso-8859-1", "utf-16le",
    "utf-16be", "shift_jis", "koi8-r", "gb18030", "x-no-such-charset", "utf-7", "",
    "ISO-2022-JP",
};
static const char *const ctypes[] = {
    NULL, "text/html", "text/html; charset=utf-8", "text/html; charset=\"ISO-8859-1\"",
    "application/xml;charset=windows-1251", "text/html; charset=", "text/html; charset=utf-16",
    "text/plain; CHARSET = 'euc-jp' ; q=1", "text/html; charset=../../etc/passwd",
};

#define OUT_MAX (1u << 20)

/* charset_utf8_repair output: valid UTF-8, NUL-terminated, no NUL inside
 * (a BOM may stay: repair is not conversion). */
static void
s_check_utf8 (const char *s, size_t len)
{
    if (!s || s[len] != '\0' || !util_utf8_valid (s, len) || memchr (s, '\0', len))
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    log_set_level (LOG_LVL_OFF);
    if (size < 2)
        return 0;
    const char *force = forced[data[0] % VL_ARRAY_LEN (forced)];
    const char *ctype = ctypes[data[1] % VL_ARRAY_LEN (ctypes)];
    const char *body = (const char *) data + 2;
    size_t len = size - 2;
    char name[CHARSET_NAME_MAX];
    size_t bom = 0;
    charset_detect (body, len, ctype, force, name, &bom);
    if (strnlen (name, CHARSET_NAME_MAX) >= CHARSET_NAME_MAX || bom > len || bom > 4)
        abort ();
    char *out = NULL;
    size_t out_len = 0;
    vl_err_t rc = charset_to_utf8 (body, len, ctype, force, OUT_MAX, &out, &out_len);
    if (rc == VL_OK) {
        if (out_len > OUT_MAX)
            abort ();
        /* NUL bytes in the input may pass through as U+0000 in UTF-8: only
         * the encoding is checked here. */
        if (!out || out[out_len] != '\0' || !util_utf8_valid (out, out_len))
            abort ();
    }
    else if (rc != VL_ETOOBIG && rc != VL_ENOMEM)
        abort ();
    free (out);
    size_t rlen = 0;
    char *rep = charset_utf8_repair (body, len, &rlen);
    if (rep)
        s_check_utf8 (rep, rlen);
    free (rep);
    char ct[256];
    size_t n = len < sizeof ct - 1 ? len : sizeof ct - 1;
    memcpy (ct, body, n);
    ct[n] = '\0';
    if (charset_from_content_type (ct, name) && strnlen (name, CHARSET_NAME_MAX) >= CHARSET_NAME_MAX)
        abort ();
    return 0;
}
