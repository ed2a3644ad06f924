/* text_norm.c: HTML/plain text to normalised plain text (see text_norm.h
 * for the rules). */
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
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
        return true;
    return false;
}

/* Line builder: accumulates one line, trims it, appends it to OUT. */
typedef struct {
    buf_t *out;
    buf_t  line;
    bool   multiline;
    bool   pending_space;
} liner_t;

/* Length of LINE once trailing NBSP-like characters are cut. */
static size_t
rtrim_nbsp (const char *s, size_t len)
{
    for (;;) {
        if (len >= 2 && (unsigned char) s[len - 2] == 0xC2
            && (unsigned char) s[len - 1] == 0xA0)
            len -= 2;
        else if (len >= 3 && (unsigned char) s[len - 3] == 0xE2
                 && (unsigned char) s[len - 2] == 0x80
                 && ((unsigned char) s[len - 1] == 0xAF))
            len -= 3;
        else if (len >= 3 && (unsigned char) s[len - 3] == 0xE2
                 && (unsigned char) s[len - 2] == 0x80
                 && ((unsigned char) s[len - 1] == 0x87))
            len -= 3;
        else if (len >= 1 && s[len - 1] == ' ')
            len--;
        else
            return len;
    }
}

static vl_err_t
liner_flush (liner_t *self)
{
    size_t len = rtrim_nbsp (self->line.data ? self->line.data : "", self->line.len);
    vl_err_t rc = VL_OK;
    if (len > 0) {
        if (self->out->len > 0)
            rc = buf_putc (self->out, self->multiline ? '\n' : ' ');
        if (!rc)
            rc = buf_append (self->out, self->line.data, len);
    }
    buf_reset (&self->line);
    self->pending_space = false;
    return rc;
}

static vl_err_t
liner_add (liner_t *self, utf8proc_int32_t cp)
{
    if (is_break_cp (cp))
        return liner_flush (self);
    if (is_space_cp (cp)) {
        self->pending_space = self->line.len > 0;
        return VL_OK;
    }
    if (is_removed_cp (cp))
        return VL_OK;
    if (is_nbsp_cp (cp) && self->line.len == 0)
        return VL_OK;      /* leading NBSP trimmed */
    vl_err_t rc = VL_OK;
    if (self->pending_space)
        rc = buf_putc (&self->line, ' ');
    self->pending_space = false;
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t n = utf8proc_encode_char (cp, enc);
    return rc ? rc : buf_append (&self->line, enc, (size_t) n);
}

/* Caps S in place at MAX bytes on a character boundary. */
static void
cap_utf8 (char *s, size_t *len, size_t max)
{
    if (max && *len > max) {
        *len = util_utf8_cut (s, *len, max);
        s[*len] = '\0';
    }
}

char *
text_norm_plain (const char *s, size_t len, bool multiline, size_t max)
{
    if (!s)
        s = "";
    size_t rlen;
    char *repaired = charset_utf8_repair (s, len, &rlen);
    if (!repaired)
        return NULL;
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t nlen = utf8proc_map ((utf8proc_uint8_t *) repaired,
        (utf8proc_ssize_t) rlen, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    free (repaired);
    if (nlen < 0)
        return NULL;
    buf_t out;
    buf_init (&out, 0);
    liner_t ln = { .out = &out, .multiline = multiline };
    buf_init (&ln.line, 0);
    vl_err_t rc = VL_OK;
    for (utf8proc_ssize_t i = 0; i < nlen && !rc;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate (nfc + i, nlen - i, &cp);
        if (n <= 0)
            break;    /* cannot happen after repair */
        i += n;
        rc = liner_add (&ln, cp);
        /* stop early once far past the cap */
        if (max && out.len > max + 8)
            break;
    }
    if (!rc)
        rc = liner_flush (&ln);
    buf_free (&ln.line);
    free (nfc);
    if (rc) {
        buf_free (&out);
        return NULL;
    }
    char *res = buf_steal (&out);
    if (res) {
        size_t rl = strlen (res);
        cap_utf8 (res, &rl, max);
    }
    return res;
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
    size_t rlen;
    char *repaired = charset_utf8_repair (s, len, &rlen);
    if (!repaired)
        return NULL;
    htmlDocPtr doc = htmlReadMemory (repaired, (int) rlen, NULL, "UTF-8",
        HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING
        | HTML_PARSE_RECOVER);
    free (repaired);
    if (!doc)
        return text_norm_plain ("", 0, multiline, max);
    buf_t raw;
    buf_init (&raw, 0);
    vl_err_t rc = collect_list (doc->children, &raw, 0);
    xmlFreeDoc (doc);
    char *res = NULL;
    if (!rc)
        res = text_norm_plain (raw.data ? raw.data : "", raw.len, multiline, max);
    buf_free (&raw);
    return res;
}
