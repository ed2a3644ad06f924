/* text_norm.c: HTML/plain text to normalised plain text (see text_norm.h
 * for the rules). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/HTMLparser.h>
#include <utf8proc.h>
#include "buf.h"
#include "charset.h"
#include "text_norm.h"
#include "util.h"

#define COLLECT_DEPTH_MAX 256

/* Elements dropped with their content. */
static bool
is_dropped (const char *name)
{
    static const char *const names[] = {
        "script", "style", "noscript", "template", "iframe",
        "object", "embed", "svg", "canvas", "select",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp (name, names[i]) == 0)
            return true;
    return false;
}

/* Elements that start and end a line. */
static bool
is_block (const char *name)
{
    static const char *const names[] = {
        "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2",
        "h3", "h4", "h5", "h6", "tr", "td", "th", "table", "thead",
        "tbody", "tfoot", "caption", "section", "article", "header",
        "footer", "nav", "aside", "main", "blockquote", "pre", "hr",
        "figure", "figcaption", "address", "form", "fieldset", "legend",
        "details", "summary", "body", "html", "title", "option", "entry",
        "item",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp (name, names[i]) == 0)
            return true;
    return false;
}

static vl_err_t collect_list (const xmlNode *node, buf_t *out, int depth);

/* Appends the text of one node and its subtree. */
static vl_err_t
collect_node (const xmlNode *n, buf_t *out, int depth)
{
    switch (n->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        return n->content ? buf_puts (out, (const char *) n->content) : VL_OK;
    case XML_ELEMENT_NODE: {
        const char *name = (const char *) n->name;
        if (is_dropped (name))
            return VL_OK;
        bool block = is_block (name);
        vl_err_t rc = block ? buf_putc (out, '\n') : VL_OK;
        if (!rc && n->children)
            rc = collect_list (n->children, out, depth + 1);
        if (!rc && block)
            rc = buf_putc (out, '\n');
        return rc;
    }
    default:
        /* comments, PIs, entity references (never expanded) */
        return VL_OK;
    }
}

static vl_err_t
collect_list (const xmlNode *node, buf_t *out, int depth)
{
    vl_err_t rc = VL_OK;
    if (depth > COLLECT_DEPTH_MAX)
        return VL_OK;
    for (const xmlNode *n = node; n && rc == VL_OK; n = n->next)
        rc = collect_node (n, out, depth);
    return rc;
}

vl_err_t
text_norm_collect (const xmlNode *node, buf_t *out)
{
    if (!node)
        return VL_OK;
    if (node->type == XML_DOCUMENT_NODE || node->type == XML_HTML_DOCUMENT_NODE)
        return collect_list (node->children, out, 0);
    if (node->type == XML_ATTRIBUTE_NODE) {
        xmlChar *v = xmlNodeGetContent (node);
        vl_err_t rc = v ? buf_puts (out, (const char *) v) : VL_OK;
        xmlFree (v);
        return rc;
    }
    return collect_node (node, out, 0);
}

static bool
is_space_cp (utf8proc_int32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\f' || cp == '\v';
}

static bool
is_break_cp (utf8proc_int32_t cp)
{
    return cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/* Kept inside text, but trimmed at the edges of a line. */
static bool
is_nbsp_cp (utf8proc_int32_t cp)
{
    return cp == 0xA0 || cp == 0x202F || cp == 0x2007;
}

static bool
is_removed_cp (utf8proc_int32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return true;
    if (cp == 0xFEFF || cp == 0xAD || cp == 0x200B || cp == 0x2060)
        return true;
    /* bidi embeddings, overrides and isolates (can disguise text) */
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
        return true;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
        return true;
    return false;
}

/* Length of S once trailing spaces and NBSP-like characters are cut. */
static size_t
rtrim_nbsp (const char *s, size_t len)
{
    for (;;) {
        const unsigned char *u = (const unsigned char *) s;
        if (len >= 2 && u[len - 2] == 0xC2 && u[len - 1] == 0xA0)
            len -= 2;
        else if (len >= 3 && u[len - 3] == 0xE2 && u[len - 2] == 0x80
                 && (u[len - 1] == 0xAF || u[len - 1] == 0x87))
            len -= 3;
        else if (len >= 1 && s[len - 1] == ' ')
            len--;
        else
            return len;
    }
}

/* Output writer. The output is never longer than the NFC input (spaces
 * and breaks are only ever replaced by one byte or dropped), so it is
 * written in place into a buffer of the input's size. */
typedef struct {
    char  *out;
    size_t len;
    size_t line_start;     /* where the current line's text begins */
    bool   in_line;        /* the current line has visible text */
    bool   pending_space;
    bool   multiline;
} writer_t;

static void
end_line (writer_t *w)
{
    if (w->in_line)
        w->len = w->line_start + rtrim_nbsp (w->out + w->line_start,
                                             w->len - w->line_start);
    w->in_line = false;
    w->pending_space = false;
}

/* Writes code point CP, whose UTF-8 encoding is the N bytes at SRC. */
static void
put_cp (writer_t *w, utf8proc_int32_t cp, const utf8proc_uint8_t *src, size_t n)
{
    if (is_break_cp (cp)) {
        end_line (w);
        return;
    }
    if (is_space_cp (cp)) {
        w->pending_space = w->in_line;
        return;
    }
    if (is_removed_cp (cp) || (is_nbsp_cp (cp) && !w->in_line))
        return;
    if (!w->in_line) {
        if (w->len > 0)
            w->out[w->len++] = w->multiline ? '\n' : ' ';
        w->line_start = w->len;
        w->in_line = true;
    }
    else if (w->pending_space)
        w->out[w->len++] = ' ';
    w->pending_space = false;
    memcpy (w->out + w->len, src, n);
    w->len += n;
}

/* util_utf8_decode with utf8proc's code point type. */
static size_t
utf8_decode (const unsigned char *p, size_t avail, utf8proc_int32_t *cp)
{
    uint32_t v = 0;
    size_t n = util_utf8_decode (p, avail, &v);
    *cp = (utf8proc_int32_t) v;
    return n;
}

typedef enum { SCAN_BAD, SCAN_VALID, SCAN_NFC } scan_t;

/* One pass over S: SCAN_BAD if it is not valid UTF-8 or holds a NUL (to
 * be repaired), else SCAN_NFC if it is certainly NFC already, else
 * SCAN_VALID. Certainly NFC: every code point is below U+0300 (before the
 * first combining mark; all of Latin-1 and Latin Extended are NFC) or in
 * U+2002-U+20CF: General Punctuation after U+2001 (’ “ ” – — … and NNBSP),
 * superscripts and subscripts (⁴) and currency signs (€), none of which
 * has a canonical decomposition, a combining class or composes with the
 * character before it. French press text nearly always is. */
static scan_t
scan_text (const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *) s;
    bool nfc = true;
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) {   /* 8 ASCII bytes, none of them NUL */
            uint64_t w;
            memcpy (&w, u + i, sizeof w);
            const uint64_t hi = UINT64_C (0x8080808080808080);
            if (!(w & hi) && !((w - UINT64_C (0x0101010101010101)) & ~w & hi)) {
                i += 8;
                continue;
            }
        }
        if (u[i] < 0x80) {
            if (u[i] == 0)
                return SCAN_BAD;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        size_t n = utf8_decode (u + i, len - i, &cp);
        if (!n)
            return SCAN_BAD;
        if (!(cp < 0x300 || (cp >= 0x2002 && cp <= 0x20CF)))
            nfc = false;
        i += n;
    }
    return nfc ? SCAN_NFC : SCAN_VALID;
}

char *
text_norm_plain (const char *s, size_t len, bool multiline, size_t max)
{
    if (!s)
        s = "";
    char *repaired = NULL;
    scan_t sc = scan_text (s, len);
    if (sc == SCAN_BAD) {
        repaired = charset_utf8_repair (s, len, &len);
        if (!repaired)
            return NULL;
        s = repaired;
        sc = scan_text (s, len);
    }
    /* Already NFC (the usual case): read the input in place. */
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t nlen = (utf8proc_ssize_t) len;
    const utf8proc_uint8_t *in = (const utf8proc_uint8_t *) s;
    if (sc != SCAN_NFC) {
        nlen = utf8proc_map (in, (utf8proc_ssize_t) len, &nfc,
                             UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        in = nfc;
    }
    writer_t w = { .multiline = multiline };
    w.out = nlen < 0 ? NULL : malloc ((size_t) nlen + 2);
    size_t end = nlen < 0 ? 0 : (size_t) nlen;
    size_t stop = max ? max + 8 : SIZE_MAX;   /* far enough past the cap */
    for (size_t i = 0; w.out && i < end && w.len <= stop;) {
        if (w.in_line) {
            /* Inside a line, a run of characters kept as they are (visible
             * ASCII, and the rest but spaces, breaks, removed and NBSP-like
             * ones) is copied at once: the same as put_cp one by one. So is
             * one space between a kept character and visible ASCII. */
            size_t j = i;
            while (j < end) {
                unsigned char c = in[j];
                if (c > 0x20 && c < 0x7F) {
                    j++;
                    continue;
                }
                if (c == ' ' && j > i && j + 1 < end && in[j + 1] > 0x20 && in[j + 1] < 0x7F) {
                    j += 2;
                    continue;
                }
                utf8proc_int32_t cp;
                size_t n;
                if (c < 0x80 || (n = utf8_decode (in + j, end - j, &cp)) == 0
                    || is_break_cp (cp) || is_removed_cp (cp) || is_nbsp_cp (cp))
                    break;
                j += n;
            }
            if (j > i) {
                if (w.pending_space)
                    w.out[w.len++] = ' ';
                w.pending_space = false;
                memcpy (w.out + w.len, in + i, j - i);
                w.len += j - i;
                i = j;
                continue;
            }
        }
        utf8proc_int32_t cp = in[i];
        size_t n = 1;
        if (cp >= 0x80 && (n = utf8_decode (in + i, end - i, &cp)) == 0)
            break;    /* cannot happen after repair */
        put_cp (&w, cp, in + i, n);
        i += n;
    }
    free (nfc);
    free (repaired);
    if (!w.out)
        return NULL;
    end_line (&w);
    if (max && w.len > max)
        w.len = util_utf8_cut (w.out, w.len, max);
    w.out[w.len] = '\0';
    return w.out;
}

char *
text_norm_html (const char *s, size_t len, bool multiline, size_t max)
{
    if (!s)
        s = "";
    if (!memchr (s, '<', len) && !memchr (s, '&', len))
        return text_norm_plain (s, len, multiline, max);
    if (len > (size_t) INT32_MAX)
        return NULL;
    size_t rlen = len;
    char *repaired = NULL;
    if (!util_utf8_valid (s, len) || memchr (s, '\0', len)) {
        repaired = charset_utf8_repair (s, len, &rlen);
        if (!repaired)
            return NULL;
        s = repaired;
    }
    htmlDocPtr doc = htmlReadMemory (s, (int) rlen, NULL, "UTF-8",
        HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING
        | HTML_PARSE_RECOVER);
    free (repaired);
    if (!doc)
        return text_norm_plain ("", 0, multiline, max);
    buf_t raw;
    /* text comes from the document's bytes; a block element adds 2 newlines */
    buf_init (&raw, 2 * rlen + 4096);
    vl_err_t rc = collect_list (doc->children, &raw, 0);
    xmlFreeDoc (doc);
    char *res = NULL;
    if (!rc)
        res = text_norm_plain (raw.data ? raw.data : "", raw.len, multiline, max);
    buf_free (&raw);
    return res;
}
