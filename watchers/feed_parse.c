/* feed_parse.c: RSS 2.0, RSS 1.0/RDF and Atom 1.0 to items (libxml2).
 * Security: no entity substitution (XML_PARSE_NOENT off), no network, no
 * DTD loading; entity references are resolved by hand only for short
 * internal entities whose text holds no further reference, or for
 * undeclared HTML entity names (&eacute; in sloppy feeds). Bad entity
 * references are repaired before parsing (entity_fix.h), dates read by
 * feed_date.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memmem */
#endif
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/HTMLparser.h>
#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <utf8proc.h>
#include "buf.h"
#include "entity_fix.h"
#include "feed_date.h"
#include "feed_parse.h"
#include "log.h"
#include "text_norm.h"
#include "util.h"

#define ENTITY_TEXT_MAX 256
#define IDENTITY_MAX    1024
#define RAW_TEXT_MAX    (4 * ITEM_MAX_CONTENT)

typedef enum { FEED_NONE, FEED_RSS, FEED_RDF, FEED_ATOM } feed_kind_t;

/* ------------------------------------------------------------------ */
/* detection                                                           */

/* Skips BOM, white space, <?...?>, <!--...-->, <!DOCTYPE ...>. */
static const char *
skip_prolog (const char *p, const char *end)
{
    if (end - p >= 3 && (unsigned char) p[0] == 0xEF
        && (unsigned char) p[1] == 0xBB && (unsigned char) p[2] == 0xBF)
        p += 3;
    for (;;) {
        while (p < end && isspace ((unsigned char) *p))
            p++;
        if (end - p >= 4 && memcmp (p, "<!--", 4) == 0) {
            const char *c = memmem (p + 4, (size_t) (end - p - 4), "-->", 3);
            if (!c)
                return end;
            p = c + 3;
        }
        else if (end - p >= 2 && (memcmp (p, "<?", 2) == 0 || memcmp (p, "<!", 2) == 0)) {
            /* a DOCTYPE may hold an internal subset [...] */
            int depth = 0;
            for (p += 2; p < end; p++) {
                if (*p == '[')
                    depth++;
                else if (*p == ']')
                    depth--;
                else if (*p == '>' && depth <= 0)
                    break;
            }
            if (p >= end)
                return end;
            p++;
        }
        else
            return p;
    }
}

static feed_kind_t
root_kind (const char *body, size_t len)
{
    const char *end = body + (len > 65536 ? 65536 : len);
    const char *p = skip_prolog (body, end);
    if (p >= end || *p != '<')
        return FEED_NONE;
    p++;
    const char *name = p;
    while (p < end && !isspace ((unsigned char) *p) && *p != '>' && *p != '/')
        p++;
    size_t n = (size_t) (p - name);
    const char *colon = memchr (name, ':', n);
    const char *local = colon ? colon + 1 : name;
    size_t ln = n - (size_t) (local - name);
    if (ln == 3 && memcmp (local, "rss", 3) == 0)
        return FEED_RSS;
    if (ln == 3 && memcmp (local, "RDF", 3) == 0)
        return FEED_RDF;
    if (ln == 4 && memcmp (local, "feed", 4) == 0)
        return FEED_ATOM;
    return FEED_NONE;
}

bool
feed_parse_detect (const char *body, size_t len)
{
    return body && root_kind (body, len) != FEED_NONE;
}

/* ------------------------------------------------------------------ */
/* node helpers                                                        */

static bool
is_elem (const xmlNode *n, const char *local)
{
    return n->type == XML_ELEMENT_NODE && strcmp ((const char *) n->name, local) == 0;
}

static const xmlNode *
child_elem (const xmlNode *parent, const char *local)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_elem (c, local))
            return c;
    return NULL;
}

/* Child element LOCAL whose namespace href contains NS_PART. */
static const xmlNode *
child_elem_ns (const xmlNode *parent, const char *local, const char *ns_part)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_elem (c, local) && c->ns && c->ns->href
            && strstr ((const char *) c->ns->href, ns_part))
            return c;
    return NULL;
}

/* Child element LOCAL of an RSS item: one without namespace or in the RSS
 * 1.0 namespace is preferred (so media:title or atom:link do not win),
 * else any namespace. */
static const xmlNode *
child_rss (const xmlNode *parent, const char *local)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_elem (c, local) && (!c->ns || !c->ns->href
            || strcmp ((const char *) c->ns->href, "http://purl.org/rss/1.0/") == 0))
            return c;
    return child_elem (parent, local);
}

static vl_err_t
append_codepoint (buf_t *out, int cp)
{
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t n = utf8proc_encode_char (cp, enc);
    return n > 0 ? buf_append (out, enc, (size_t) n) : VL_OK;
}

/* Appends the text of an entity reference, resolved by hand (see top). */
static vl_err_t
append_entity (const xmlNode *n, buf_t *out)
{
    xmlEntityPtr ent = xmlGetDocEntity (n->doc, n->name);
    if (ent) {
        if (ent->etype == XML_INTERNAL_PREDEFINED_ENTITY)
            return ent->content ? buf_puts (out, (const char *) ent->content) : VL_OK;
        if (ent->etype != XML_INTERNAL_GENERAL_ENTITY)
            return VL_OK;
        const char *c = (const char *) ent->content;
        if (!c || strlen (c) > ENTITY_TEXT_MAX || strchr (c, '&') || strchr (c, '<'))
            return VL_OK;
        return buf_puts (out, c);
    }
    const htmlEntityDesc *h = htmlEntityLookup (n->name);
    return h ? append_codepoint (out, (int) h->value) : VL_OK;
}

/* Raw text of NODE's descendants: text, CDATA, resolved entity refs. */
static vl_err_t
raw_text (const xmlNode *node, buf_t *out, int depth)
{
    vl_err_t rc = VL_OK;
    if (depth > 64)
        return VL_OK;
    for (const xmlNode *c = node->children; c && !rc; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            rc = c->content ? buf_puts (out, (const char *) c->content) : VL_OK;
        else if (c->type == XML_ENTITY_REF_NODE)
            rc = append_entity (c, out);
        else if (c->type == XML_ELEMENT_NODE)
            rc = raw_text (c, out, depth + 1);
    }
    return rc == VL_ETOOBIG ? VL_OK : rc;   /* keep what fits */
}

typedef enum { TXT_PLAIN, TXT_HTML, TXT_XHTML } txt_kind_t;

/* Normalised text of NODE (NULL-safe). Caller frees. */
static char *
node_text (const xmlNode *node, txt_kind_t kind, bool multiline, size_t max)
{
    if (!node)
        return NULL;
    const xmlNode *only = node->children;
    if (kind != TXT_XHTML && only && !only->next && only->content
        && (only->type == XML_TEXT_NODE || only->type == XML_CDATA_SECTION_NODE)) {
        /* one text node (the usual case): read in place, what raw_text
         * would copy (nothing if it is longer than RAW_TEXT_MAX) */
        const char *d = (const char *) only->content;
        size_t len = strlen (d);
        if (len > RAW_TEXT_MAX)
            len = 0;
        return kind == TXT_HTML ? text_norm_html (d, len, multiline, max)
                                : text_norm_plain (d, len, multiline, max);
    }
    buf_t raw;
    buf_init (&raw, RAW_TEXT_MAX);
    vl_err_t rc;
    if (kind == TXT_XHTML)
        rc = text_norm_collect (node, &raw);
    else
        rc = raw_text (node, &raw, 0);
    char *res = NULL;
    if (rc == VL_OK || rc == VL_ETOOBIG) {
        const char *d = raw.data ? raw.data : "";
        res = kind == TXT_HTML ? text_norm_html (d, raw.len, multiline, max)
                               : text_norm_plain (d, raw.len, multiline, max);
    }
    buf_free (&raw);
    return res;
}

/* The summary of already normalised CONTENT: the same text on one line.
 * Normalised text only maps line breaks to spaces (one byte each), so a
 * prefix a little longer than the cap gives the same result as the whole
 * content, without scanning all of it. Caller frees. */
static char *
summary_of (const char *content)
{
    size_t len = strlen (content);
    len = util_utf8_cut (content, len, 2 * ITEM_MAX_SUMMARY + 64);
    return text_norm_plain (content, len, false, ITEM_MAX_SUMMARY);
}

/* Atom text construct: type="text" (default), "html" or "xhtml". */
static txt_kind_t
atom_kind (const xmlNode *node)
{
    xmlChar *t = xmlGetProp (node, (const xmlChar *) "type");
    txt_kind_t k = TXT_PLAIN;
    if (t && (strcasecmp ((char *) t, "html") == 0 || strcasecmp ((char *) t, "text/html") == 0))
        k = TXT_HTML;
    else if (t && strstr ((char *) t, "xhtml"))
        k = TXT_XHTML;
    xmlFree (t);
    return k;
}

/* Resolves HREF against NODE's base (xml:base chain, then the document
 * URL); see item_resolve_link. Caller frees. */
static char *
resolve_link (const xmlNode *node, const char *href)
{
    if (!href)
        return NULL;
    xmlChar *base = xmlNodeGetBase (node->doc, node);
    char *res = item_resolve_link (href, (const char *) base);
    xmlFree (base);
    return res;
}

static char *
link_from_text (const xmlNode *node)
{
    if (!node)
        return NULL;
    buf_t raw;
    buf_init (&raw, 8192);
    raw_text (node, &raw, 0);
    char *res = resolve_link (node, raw.data);
    buf_free (&raw);
    return res;
}

static bool
node_date (const xmlNode *node, int64_t *out)
{
    if (!node)
        return false;
    char *s = node_text (node, TXT_PLAIN, false, 256);
    bool ok = s && feed_date_parse (s, out);
    free (s);
    return ok;
}

/* Number of complete entries when the document is cut short (no closing
 * root tag at the end): the count of closing ENTRY tags; SIZE_MAX when the
 * document is complete. */
static size_t
complete_entries (const char *body, size_t len, feed_kind_t kind)
{
    size_t tail = len > 64 ? 64 : len;
    const char *close = kind == FEED_ATOM ? "feed>" : kind == FEED_RDF ? "RDF>" : "rss>";
    if (memmem (body + len - tail, tail, close, strlen (close)))
        return SIZE_MAX;
    const char *tag = kind == FEED_ATOM ? "entry>" : "item>";
    size_t count = 0, tl = strlen (tag);
    const char *p = body, *end = body + len;
    while ((p = memmem (p, (size_t) (end - p), "</", 2)) != NULL) {
        p += 2;
        const char *gt = memchr (p, '>', (size_t) (end - p));
        if (!gt)
            break;
        /* local name, any prefix */
        const char *colon = memchr (p, ':', (size_t) (gt - p));
        const char *local = colon ? colon + 1 : p;
        if ((size_t) (gt + 1 - local) == tl && memcmp (local, tag, tl) == 0)
            count++;
        p = gt;
    }
    return count;
}

/* ------------------------------------------------------------------ */
/* items                                                               */

typedef struct {
    const xmlNode *title, *link, *id, *summary, *content, *date, *date2;
    txt_kind_t     title_kind, summary_kind, content_kind;
    char          *link_url;   /* already resolved (Atom link/@href, rdf:about) */
    char          *about;      /* RDF identity */
} fields_t;

/* Fills ITEM from F; returns VL_ENOMEM on OOM. */
static vl_err_t
fill_item (parsed_item_t *item, const fields_t *f)
{
    item->title = node_text (f->title, f->title_kind, false, ITEM_MAX_TITLE);
    if (f->link_url)
        item->link = strdup (f->link_url);
    else if (f->link && f->link->ns && f->link->ns->href
             && strstr ((const char *) f->link->ns->href, "Atom")) {
        xmlChar *href = xmlGetProp (f->link, (const xmlChar *) "href");   /* atom:link */
        item->link = href ? resolve_link (f->link, (const char *) href) : NULL;
        xmlFree (href);
    }
    else
        item->link = link_from_text (f->link);
    if (f->about)
        item->identity = strdup (f->about);
    else if (f->id) {
        item->identity = node_text (f->id, TXT_PLAIN, false, IDENTITY_MAX);
        if (item->identity && !*item->identity) {
            free (item->identity);
            item->identity = NULL;
        }
    }
    const xmlNode *body = f->content ? f->content : f->summary;
    txt_kind_t bkind = f->content ? f->content_kind : f->summary_kind;
    item->content = node_text (body, bkind, true, ITEM_MAX_CONTENT);
    if (f->summary && f->summary != body)
        item->summary = node_text (f->summary, f->summary_kind, false, ITEM_MAX_SUMMARY);
    else if (item->content)   /* same text on one line, without a second parse */
        item->summary = summary_of (item->content);
    int64_t t;
    if (node_date (f->date, &t) || node_date (f->date2, &t)) {
        item->published = t;
        item->has_published = true;
    }
    if (!item->title)
        item->title = strdup ("");
    if (!item->content)
        item->content = strdup ("");
    if (!item->summary)
        item->summary = strdup ("");
    if (!item->title || !item->content || !item->summary)
        return VL_ENOMEM;
    return VL_OK;
}

static void
rss_fields (const xmlNode *n, fields_t *f)
{
    f->title = child_rss (n, "title");
    f->link = child_rss (n, "link");
    f->id = child_rss (n, "guid");
    f->summary = child_rss (n, "description");
    f->content = child_elem_ns (n, "encoded", "purl.org/rss/1.0/modules/content");
    f->title_kind = f->summary_kind = f->content_kind = TXT_HTML;
    f->date = child_rss (n, "pubDate");
    f->date2 = child_elem (n, "date");   /* dc:date */
    if (!f->date2)
        f->date2 = child_elem (n, "published");
    /* a permalink guid that is an absolute http(s) URL doubles as the link */
    if (!f->link && f->id) {
        xmlChar *perma = xmlGetProp (f->id, (const xmlChar *) "isPermaLink");
        xmlChar *text = xmlNodeGetContent (f->id);
        const char *t = text ? (const char *) text : "";
        while (isspace ((unsigned char) *t))
            t++;
        if ((!perma || strcmp ((char *) perma, "false") != 0)
            && (strncasecmp (t, "http://", 7) == 0 || strncasecmp (t, "https://", 8) == 0))
            f->link = f->id;
        xmlFree (text);
        xmlFree (perma);
    }
}

static void
rdf_fields (const xmlNode *n, fields_t *f)
{
    rss_fields (n, f);
    xmlChar *about = xmlGetNsProp (n, (const xmlChar *) "about",
        (const xmlChar *) "http://www.w3.org/1999/02/22-rdf-syntax-ns#");
    if (!about)
        about = xmlGetProp (n, (const xmlChar *) "about");
    if (about && *about)
        f->about = resolve_link (n, (const char *) about);
    xmlFree (about);
}

/* Atom: the alternate link (rel absent or "alternate"), else the first. */
static char *
atom_link (const xmlNode *entry)
{
    const xmlNode *first = NULL, *alt = NULL;
    for (const xmlNode *c = entry->children; c; c = c->next) {
        if (!is_elem (c, "link"))
            continue;
        if (!first)
            first = c;
        xmlChar *rel = xmlGetProp (c, (const xmlChar *) "rel");
        bool is_alt = !rel || strcmp ((char *) rel, "alternate") == 0;
        xmlFree (rel);
        if (is_alt) {
            alt = c;
            break;
        }
    }
    const xmlNode *l = alt ? alt : first;
    if (!l)
        return NULL;
    xmlChar *href = xmlGetProp (l, (const xmlChar *) "href");
    char *res = NULL;
    if (href)
        res = resolve_link (l, (const char *) href);
    else
        res = link_from_text (l);    /* RSS-style <link>url</link> in Atom */
    xmlFree (href);
    return res;
}

static void
atom_fields (const xmlNode *n, fields_t *f)
{
    f->title = child_elem (n, "title");
    f->id = child_elem (n, "id");
    f->summary = child_elem (n, "summary");
    f->content = child_elem (n, "content");
    f->title_kind = f->title ? atom_kind (f->title) : TXT_PLAIN;
    f->summary_kind = f->summary ? atom_kind (f->summary) : TXT_PLAIN;
    f->content_kind = f->content ? atom_kind (f->content) : TXT_PLAIN;
    f->date = child_elem (n, "published");
    f->date2 = child_elem (n, "updated");
    f->link_url = atom_link (n);
}

/* Adds one entry; duplicates (same identity) are dropped. */
static vl_err_t
add_entry (const xmlNode *n, feed_kind_t kind, item_idset_t *seen, item_list_t *out)
{
    fields_t f;
    memset (&f, 0, sizeof f);
    if (kind == FEED_ATOM)
        atom_fields (n, &f);
    else if (kind == FEED_RDF)
        rdf_fields (n, &f);
    else
        rss_fields (n, &f);
    parsed_item_t *item = item_list_add (out);
    if (!item) {
        free (f.link_url);
        free (f.about);
        return out->n >= ITEM_MAX_ITEMS ? VL_ETOOBIG : VL_ENOMEM;
    }
    vl_err_t rc = fill_item (item, &f);
    free (f.link_url);
    free (f.about);
    if (rc) {
        item_list_pop (out);
        return rc;
    }
    item_finish (item);
    if (!item->identity) {
        item_list_pop (out);
        return VL_ENOMEM;
    }
    if (!item_idset_add (seen, item->identity)) {
        log_debug ("feed: duplicate entry %s dropped", item->identity);
        item_list_pop (out);
    }
    return VL_OK;
}

/* Walks the first LIMIT entries of the feed under ROOT. */
static vl_err_t
walk_entries (const xmlNode *root, feed_kind_t kind, size_t limit, item_list_t *out)
{
    item_idset_t seen = { 0 };
    size_t visited = 0;
    const char *entry = kind == FEED_ATOM ? "entry" : "item";
    const xmlNode *containers[2] = { root, NULL };
    if (kind == FEED_RSS) {
        containers[0] = child_elem (root, "channel");
        if (!containers[0])
            containers[0] = root;
    }
    else if (kind == FEED_RDF)
        containers[1] = child_elem (root, "channel");
    vl_err_t rc = VL_OK;
    for (size_t k = 0; k < 2 && !rc; k++) {
        if (!containers[k])
            continue;
        for (const xmlNode *c = containers[k]->children; c && !rc; c = c->next) {
            if (!is_elem (c, entry))
                continue;
            if (visited++ >= limit) {
                log_info ("feed: truncated document, %zu complete entries kept", limit);
                k = 2;
                break;
            }
            if (visited > ITEM_MAX_ENTRIES) {
                log_warn ("feed: more than %d entries, the rest is ignored", ITEM_MAX_ENTRIES);
                k = 2;
                break;
            }
            rc = add_entry (c, kind, &seen, out);
        }
    }
    item_idset_free (&seen);
    if (rc == VL_ETOOBIG) {
        log_warn ("feed: more than %d items, the rest is ignored", ITEM_MAX_ITEMS);
        rc = VL_OK;
    }
    return rc;
}

vl_err_t
feed_parse (const char *body, size_t len, const char *base_url, item_list_t *out)
{
    if (!body)
        return VL_EPARSE;
    if (len > FEED_MAX_BYTES)
        return VL_ETOOBIG;
    feed_kind_t kind = root_kind (body, len);
    if (kind == FEED_NONE)
        return VL_EPARSE;
    size_t fixed_len = 0;
    const char *prolog_end = skip_prolog (body, body + (len > 65536 ? 65536 : len));
    char *fixed = entity_fix (body, len, (size_t) (prolog_end - body), &fixed_len);
    if (fixed) {
        body = fixed;
        len = fixed_len;
    }
    size_t complete = complete_entries (body, len, kind);
    xmlDocPtr doc = xmlReadMemory (body, (int) len, base_url, "UTF-8",
        XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_NOERROR
        | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC);
    free (fixed);
    if (!doc) {
        log_warn ("feed: %s: not parseable as XML", base_url ? base_url : "(document)");
        return VL_EPARSE;
    }
    const xmlNode *root = xmlDocGetRootElement (doc);
    vl_err_t rc = VL_EPARSE;
    if (root) {
        size_t before = out->n;
        rc = walk_entries (root, kind, complete, out);
        if (rc) {
            while (out->n > before)
                item_list_pop (out);
        }
    }
    xmlFreeDoc (doc);
    return rc;
}
