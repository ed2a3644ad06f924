/* fold.c: accent- and case-insensitive keyword matching with utf8proc.
 *
 * fold_text: NFKD + case folding + marks stripped (utf8proc), then every
 * code point that is not a letter or a digit becomes a word separator; runs
 * of separators become one ASCII space; the result is trimmed. The
 * ligatures œ/æ fold to "oe"/"ae". One exception keeps terms like "cyber*"
 * working: a '*' that is the last non-space character of the input is kept
 * (glued to the last word), so fold_text("Cyber*") is "cyber*". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memmem */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "buf.h"
#include "fold.h"

static bool
is_word_cp (utf8proc_int32_t cp)
{
    switch (utf8proc_category (cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

/* True if S (LEN bytes) ends with '*' after optional ASCII white space. */
static bool
ends_with_star (const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'
                       || s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    return len > 0 && s[len - 1] == '*';
}

static vl_err_t
emit_word_cp (buf_t *out, utf8proc_int32_t cp, bool *pending_space)
{
    if (*pending_space && out->len > 0 && buf_putc (out, ' '))
        return VL_ENOMEM;
    *pending_space = false;
    if (cp == 0x0153)   /* œ (Œ is case-folded to œ before) */
        return buf_puts (out, "oe");
    if (cp == 0x00E6)   /* æ */
        return buf_puts (out, "ae");
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t n = utf8proc_encode_char (cp, enc);
    return buf_append (out, enc, (size_t) n);
}

char *
fold_text (const char *s, size_t len)
{
    if (!s)
        return NULL;
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t mlen = utf8proc_map ((const utf8proc_uint8_t *) s,
        (utf8proc_ssize_t) len, &mapped,
        UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE
        | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE);
    if (mlen < 0)
        return NULL;
    buf_t out;
    buf_init (&out, (size_t) mlen + 2);   /* never longer than MAPPED, and '*' */
    bool pending_space = false;
    utf8proc_ssize_t i = 0;
    while (i < mlen) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate (mapped + i, mlen - i, &cp);
        if (n <= 0) {
            free (mapped);
            buf_free (&out);
            return NULL;
        }
        i += n;
        if (is_word_cp (cp)) {
            if (emit_word_cp (&out, cp, &pending_space)) {
                free (mapped);
                buf_free (&out);
                return NULL;
            }
        }
        else
            pending_space = true;
    }
    free (mapped);
    if (ends_with_star (s, len) && out.len > 0 && buf_putc (&out, '*')) {
        buf_free (&out);
        return NULL;
    }
    return buf_steal (&out);
}

bool
fold_match (const char *folded_text, const char *folded_term)
{
    if (!folded_text || !folded_term)
        return false;
    size_t tlen = strlen (folded_term);
    bool prefix = tlen > 0 && folded_term[tlen - 1] == '*';
    if (prefix)
        tlen--;
    if (tlen == 0)
        return false;
    size_t len = strlen (folded_text);
    const char *p = folded_text, *end = folded_text + len;
    const char *hit;
    while ((hit = memmem (p, (size_t) (end - p), folded_term, tlen)) != NULL) {
        bool left_ok = hit == folded_text || hit[-1] == ' ';
        char after = hit[tlen];
        bool right_ok = prefix || after == '\0' || after == ' ' || after == '*';
        if (left_ok && right_ok)
            return true;
        p = hit + 1;
    }
    return false;
}
