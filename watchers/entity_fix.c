/* entity_fix.c: entity references of sloppy XML made well-formed before
 * libxml2 reads it. libxml2 drops every entity reference after the first
 * well-formedness error (recovery mode), and sloppy feeds use HTML names
 * (&eacute;), bare ampersands ("Tom & Jerry") and bad character
 * references. So, in character data after the prolog: &name; that is
 * neither predefined nor declared in the prolog becomes &#N; for an HTML
 * entity name, else &amp;name; (shown as is); a bare '&' or an invalid
 * &#...; becomes &amp;. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memmem */
#endif
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/HTMLparser.h>
#include "buf.h"
#include "entity_fix.h"

static bool
is_name_char (char c, bool first)
{
    return isalpha ((unsigned char) c) || c == '_' || c == ':'
        || (!first && (isdigit ((unsigned char) c) || c == '.' || c == '-'));
}

#define DECLARED_MAX 256

/* Names of the general entities declared in the prolog (at most
 * DECLARED_MAX, pointers into the prolog). */
typedef struct {
    const char *name[DECLARED_MAX];
    size_t      len[DECLARED_MAX];
    size_t      n;
} declared_t;

static void
scan_declared (const char *prolog, size_t plen, declared_t *d)
{
    const char *p = prolog, *end = prolog + plen;
    d->n = 0;
    while (d->n < DECLARED_MAX
           && (p = memmem (p, (size_t) (end - p), "<!ENTITY", 8)) != NULL) {
        p += 8;
        while (p < end && isspace ((unsigned char) *p))
            p++;
        const char *name = p;
        while (p < end && is_name_char (*p, p == name))
            p++;
        if (p > name) {
            d->name[d->n] = name;
            d->len[d->n++] = (size_t) (p - name);
        }
    }
}

static bool
is_declared (const declared_t *d, const char *name, size_t n)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->len[i] == n && memcmp (d->name[i], name, n) == 0)
            return true;
    return false;
}

static bool
is_xml_char (unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF)
        || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Length of a valid character reference "&#...;" at P, 0 if invalid. */
static size_t
char_ref_len (const char *p, const char *end)
{
    const char *q = p + 2;
    bool hex = q < end && (*q == 'x' || *q == 'X');
    q += hex;
    unsigned long v = 0;
    const char *digits = q;
    while (q < end && q - digits < 8
           && (hex ? isxdigit ((unsigned char) *q) : isdigit ((unsigned char) *q))) {
        v = v * (hex ? 16 : 10)
          + (unsigned long) (isdigit ((unsigned char) *q) ? *q - '0'
                             : tolower ((unsigned char) *q) - 'a' + 10);
        q++;
    }
    if (q == digits || q >= end || *q != ';' || !is_xml_char (v))
        return 0;
    return (size_t) (q + 1 - p);
}

/* The replacement for the '&' at P (and the length it replaces), or NULL
 * to keep the text as is. NM is scratch space for an entity name. */
static const char *
replacement_for (const char *p, const char *end, const declared_t *declared,
            char nm[48], size_t *skip)
{
    if (end - p >= 2 && p[1] == '#') {
        size_t n = char_ref_len (p, end);
        *skip = n ? n : 1;
        return n ? NULL : "&amp;";
    }
    const char *name = p + 1, *q = name;
    while (q < end && q - name < 32 && is_name_char (*q, q == name))
        q++;
    size_t n = (size_t) (q - name);
    if (n == 0 || q >= end || *q != ';') {
        *skip = 1;
        return "&amp;";                /* a bare '&' ("Tom & Jerry") */
    }
    *skip = n + 2;
    static const char *const predefined[] = { "amp", "lt", "gt", "quot", "apos" };
    for (size_t i = 0; i < 5; i++)
        if (strlen (predefined[i]) == n && memcmp (name, predefined[i], n) == 0)
            return NULL;
    if (is_declared (declared, name, n))
        return NULL;
    memcpy (nm, name, n);
    nm[n] = '\0';
    const htmlEntityDesc *h = htmlEntityLookup ((const xmlChar *) nm);
    if (h)
        snprintf (nm, 48, "&#%u;", h->value);
    else {
        memmove (nm + 5, nm, n + 1);
        memcpy (nm, "&amp;", 5);
        nm[5 + n] = ';';
        nm[6 + n] = '\0';
    }
    return nm;
}

char *
entity_fix (const char *body, size_t len, size_t prolog_len, size_t *out_len)
{
    const char *end = body + len;
    const char *root = body + (prolog_len < len ? prolog_len : len);
    declared_t declared;
    scan_declared (body, (size_t) (root - body), &declared);
    buf_t out;
    buf_init (&out, 5 * len + 1);   /* at worst each '&' becomes "&amp;" */
    bool changed = false;
    const char *p = root, *copied = body;
    static const struct { const char *open, *close; } skips[] = {
        { "<![CDATA[", "]]>" }, { "<!--", "-->" }, { "<?", "?>" },
    };
    const char *amp = NULL;
    while (p < end) {
        if (!amp || amp < p)
            amp = memchr (p, '&', (size_t) (end - p));
        if (!amp)
            break;
        const char *lt = memchr (p, '<', (size_t) (amp - p));
        if (lt) {
            p = lt + 1;
            for (size_t i = 0; i < 3; i++) {
                size_t ol = strlen (skips[i].open);
                if ((size_t) (end - lt) >= ol && memcmp (lt, skips[i].open, ol) == 0) {
                    const char *c = memmem (lt + ol, (size_t) (end - lt - ol), skips[i].close,
                                            strlen (skips[i].close));
                    p = c ? c + strlen (skips[i].close) : end;
                    break;
                }
            }
            continue;
        }
        char nm[48];
        size_t skip;
        const char *rep = replacement_for (amp, end, &declared, nm, &skip);
        if (rep) {
            if (buf_append (&out, copied, (size_t) (amp - copied)) || buf_puts (&out, rep)) {
                buf_free (&out);
                return NULL;
            }
            changed = true;
            copied = amp + skip;
        }
        p = amp + skip;
    }
    if (!changed || buf_append (&out, copied, (size_t) (end - copied))) {
        buf_free (&out);
        return NULL;
    }
    *out_len = out.len;
    return buf_steal (&out);
}

