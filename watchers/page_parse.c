/* page_parse.c: HTML pages watched through selectors (see page_parse.h). */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include "buf.h"
#include "css_xpath.h"
#include "log.h"
#include "page_check.h"
#include "page_parse.h"
#include "text_norm.h"

#define PAGE_RAW_MAX  (4 * ITEM_MAX_CONTENT)

static const char DEFAULT_TITLE_XP[] =
    "(.//h1|.//h2|.//h3|.//h4|.//h5|.//h6|.//a)[1]";
static const char DEFAULT_LINK_XP[] = "(self::a/@href|.//a/@href)[1]";

typedef struct {
    const source_t     *src;
    htmlDocPtr          doc;
    xmlXPathContextPtr  xp;
    regex_t             re[PAGE_CHECK_MAX_RE];
    size_t              re_rule[PAGE_CHECK_MAX_RE];  /* index in src->ignore */
    size_t              nre;
    const char         *base_url;
    const page_hooks_t *hooks;    /* never NULL (a zeroed one at least) */
} page_t;

#define PAGE_TRACE_MAX 400   /* bytes of a removed node's text traced */

/* Writes the reason of a failure for the hooks' owner (printf style). */
static void __attribute__ ((format (printf, 2, 3)))
say_why (const page_t *self, const char *fmt, ...)
{
    if (!self->hooks->why || self->hooks->whylen == 0)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->hooks->why, self->hooks->whylen, fmt, ap);
    va_end (ap);
}

/* Tells the hooks' owner that RULE removed NODE (its text, capped). */
static void
trace_node (const page_t *self, const char *rule, xmlNodePtr node)
{
    if (!self->hooks->trace)
        return;
    buf_t raw;
    buf_init (&raw, PAGE_TRACE_MAX * 4);
    text_norm_collect (node, &raw);
    char *t = text_norm_plain (raw.data ? raw.data : "", raw.len, false, PAGE_TRACE_MAX);
    if (t)
        self->hooks->trace (self->hooks->arg, rule, t);
    free (t);
    buf_free (&raw);
}

/* Evaluates selector SEL at CONTEXT (NULL = document). Returns the XPath
 * object (caller frees) or NULL with *ERR set (VL_EINVAL). */
static xmlXPathObjectPtr
eval_sel (page_t *self, const char *sel, bool relative, xmlNodePtr context,
          vl_err_t *err)
{
    char *expr = css_xpath (sel, relative, err);
    if (!expr) {
        log_warn ("page: %s: unsupported selector \"%s\"", self->src->id, sel);
        say_why (self, "unsupported selector \"%s\"", sel);
        return NULL;
    }
    self->xp->node = context ? context : (xmlNodePtr) self->doc;
    xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, self->xp);
    free (expr);
    if (!obj) {
        log_warn ("page: %s: invalid XPath \"%s\"", self->src->id, sel);
        say_why (self, "invalid selector \"%s\"", sel);
        *err = VL_EINVAL;
    }
    return obj;
}

/* Removes from the document every node matched by an ignore selector. */
static vl_err_t
remove_ignored (page_t *self)
{
    for (size_t i = 0; i < self->src->nignore; i++) {
        const char *e = self->src->ignore[i];
        if (!e || page_check_is_regex (e))
            continue;
        vl_err_t err = VL_OK;
        xmlXPathObjectPtr obj = eval_sel (self, e, false, NULL, &err);
        if (!obj)
            return err;
        xmlNodeSetPtr ns = obj->type == XPATH_NODESET ? obj->nodesetval : NULL;
        int n = ns ? ns->nodeNr : 0;
        /* unlink all first (a descendant unlinked from an unlinked ancestor
         * is detached from it), then free each */
        for (int k = 0; k < n; k++) {
            xmlNodePtr node = ns->nodeTab[k];
            if (node->type == XML_NAMESPACE_DECL || node->type == XML_DOCUMENT_NODE
                || node->type == XML_HTML_DOCUMENT_NODE)
                ns->nodeTab[k] = NULL;
            else {
                trace_node (self, e, node);
                xmlUnlinkNode (node);
            }
        }
        for (int k = 0; k < n; k++)
            if (ns->nodeTab[k]) {
                xmlFreeNode (ns->nodeTab[k]);
                ns->nodeTab[k] = NULL;
            }
        xmlXPathFreeObject (obj);
    }
    return VL_OK;
}

/* Drops lines of TEXT matched by an re: ignore pattern. Returns a new
 * string (caller frees) or NULL on OOM. */
static char *
filter_lines (const page_t *self, const char *text)
{
    buf_t out;
    buf_init (&out, strlen (text) + 1);   /* lines are only dropped */
    const char *p = text;
    vl_err_t rc = VL_OK;
    char *line = NULL;
    while (*p && !rc) {
        const char *nl = strchr (p, '\n');
        size_t n = nl ? (size_t) (nl - p) : strlen (p);
        line = strndup (p, n);
        if (!line) {
            rc = VL_ENOMEM;
            break;
        }
        bool drop = false;
        for (size_t i = 0; i < self->nre && !drop; i++)
            if ((drop = regexec (&self->re[i], line, 0, NULL, 0) == 0) && self->hooks->trace)
                self->hooks->trace (self->hooks->arg, self->src->ignore[self->re_rule[i]], line);
        if (!drop) {
            if (out.len)
                rc = buf_putc (&out, '\n');
            if (!rc)
                rc = buf_append (&out, line, n);
        }
        free (line);
        p += n + (nl ? 1 : 0);
    }
    if (rc) {
        buf_free (&out);
        return NULL;
    }
    return buf_steal (&out);
}

/* Normalised, filtered text of the nodes in NS (or of NODE if NS NULL). */
static char *
nodes_text (const page_t *self, xmlNodeSetPtr ns, xmlNodePtr node)
{
    buf_t raw;
    buf_init (&raw, PAGE_RAW_MAX);
    vl_err_t rc = VL_OK;
    if (ns) {
        for (int k = 0; k < ns->nodeNr && !rc; k++) {
            rc = text_norm_collect (ns->nodeTab[k], &raw);
            if (!rc)
                rc = buf_putc (&raw, '\n');
        }
    }
    else
        rc = text_norm_collect (node, &raw);
    char *res = NULL;
    if (rc == VL_OK || rc == VL_ETOOBIG) {
        char *norm = text_norm_plain (raw.data ? raw.data : "", raw.len, true, 0);
        if (norm && self->nre) {
            res = filter_lines (self, norm);
            free (norm);
        }
        else
            res = norm;
        if (res && strlen (res) > ITEM_MAX_CONTENT) {
            char *capped = text_norm_plain (res, strlen (res), true, ITEM_MAX_CONTENT);
            free (res);
            res = capped;
        }
    }
    buf_free (&raw);
    return res;
}

/* First text found by SEL at CONTEXT (node set: its first node; string:
 * the string), normalised on one line. NULL if nothing. */
static char *
sel_text (page_t *self, const char *sel, bool relative, xmlNodePtr context,
          vl_err_t *err)
{
    xmlXPathObjectPtr obj = eval_sel (self, sel, relative, context, err);
    if (!obj)
        return NULL;
    char *res = NULL;
    if (obj->type == XPATH_NODESET && obj->nodesetval && obj->nodesetval->nodeNr > 0) {
        buf_t raw;
        buf_init (&raw, ITEM_MAX_CONTENT);
        text_norm_collect (obj->nodesetval->nodeTab[0], &raw);
        res = text_norm_plain (raw.data ? raw.data : "", raw.len, false, ITEM_MAX_TITLE);
        buf_free (&raw);
    }
    else if (obj->type == XPATH_STRING && obj->stringval)
        res = text_norm_plain ((char *) obj->stringval, strlen ((char *) obj->stringval),
                               false, ITEM_MAX_TITLE);
    xmlXPathFreeObject (obj);
    if (res && !*res) {
        free (res);
        res = NULL;
    }
    return res;
}

/* Link found by SEL at CONTEXT: an attribute's value, an element's
 * @href/@src, or a string; resolved against the node's base. */
static char *
sel_link (page_t *self, const char *sel, xmlNodePtr context, vl_err_t *err)
{
    xmlXPathObjectPtr obj = eval_sel (self, sel, true, context, err);
    if (!obj)
        return NULL;
    xmlChar *href = NULL;
    xmlNodePtr at = context;
    if (obj->type == XPATH_NODESET && obj->nodesetval && obj->nodesetval->nodeNr > 0) {
        xmlNodePtr n = obj->nodesetval->nodeTab[0];
        at = n;
        if (n->type == XML_ATTRIBUTE_NODE || n->type == XML_TEXT_NODE)
            href = xmlNodeGetContent (n);
        else if (n->type == XML_ELEMENT_NODE) {
            href = xmlGetProp (n, (const xmlChar *) "href");
            if (!href)
                href = xmlGetProp (n, (const xmlChar *) "src");
        }
        if (at->type == XML_ATTRIBUTE_NODE)
            at = at->parent;
    }
    else if (obj->type == XPATH_STRING && obj->stringval)
        href = xmlStrdup (obj->stringval);
    xmlXPathFreeObject (obj);
    char *res = NULL;
    if (href) {
        xmlChar *base = xmlNodeGetBase (self->doc, at);
        res = item_resolve_link ((char *) href,
                                 base ? (char *) base : self->base_url);
        xmlFree (base);
        xmlFree (href);
    }
    return res;
}

static char *
dup_or_empty (const char *s)
{
    return strdup (s ? s : "");
}

/* Whole-page mode: the selected region is one item. */
static vl_err_t
whole_page (page_t *self, xmlNodeSetPtr region, item_list_t *out)
{
    vl_err_t err = VL_OK;
    char *content = nodes_text (self, region, NULL);
    if (!content)
        return VL_ENOMEM;
    char *title = NULL;
    if (self->src->item_title)
        title = sel_text (self, self->src->item_title, false, NULL, &err);
    else
        title = sel_text (self, "//title", false, NULL, &err);
    if (err) {
        free (content);
        free (title);
        return err;
    }
    parsed_item_t *item = item_list_add (out);
    if (!item) {
        free (content);
        free (title);
        return VL_ENOMEM;
    }
    const char *url = self->base_url ? self->base_url : self->src->url;
    item->content = content;
    item->title = title ? title : dup_or_empty ("");
    item->summary = text_norm_plain (content, strlen (content), false, ITEM_MAX_SUMMARY);
    item->link = dup_or_empty (url);
    item->identity = dup_or_empty (url);
    if (!item->title || !item->summary || !item->link || !item->identity) {
        item_list_pop (out);
        return VL_ENOMEM;
    }
    item_finish (item);
    return VL_OK;
}

/* One item from NODE (items mode). */
static vl_err_t
one_item (page_t *self, xmlNodePtr node, item_idset_t *seen, item_list_t *out)
{
    vl_err_t err = VL_OK;
    const char *tsel = self->src->item_title ? self->src->item_title : DEFAULT_TITLE_XP;
    const char *lsel = self->src->item_link ? self->src->item_link : DEFAULT_LINK_XP;
    char *title = sel_text (self, tsel, true, node, &err);
    char *link = err ? NULL : sel_link (self, lsel, node, &err);
    char *content = err ? NULL : nodes_text (self, NULL, node);
    if (err || !content || (!*content && !title && !link)) {
        free (title);
        free (link);
        free (content);
        return err ? err : (content ? VL_OK : VL_ENOMEM);
    }
    parsed_item_t *item = item_list_add (out);
    if (!item) {
        free (title);
        free (link);
        free (content);
        return out->n >= ITEM_MAX_ITEMS ? VL_ETOOBIG : VL_ENOMEM;
    }
    if (!title) {   /* first line of the text */
        size_t n = strcspn (content, "\n");
        title = text_norm_plain (content, n, false, ITEM_MAX_TITLE);
    }
    item->title = title;
    item->link = link;
    item->content = content;
    item->summary = text_norm_plain (content, strlen (content), false, ITEM_MAX_SUMMARY);
    vl_err_t rc = item_list_finish_last (out);
    if (rc != VL_OK)
        return rc;
    if (!item_idset_add (seen, item->identity))
        item_list_pop (out);
    return VL_OK;
}

/* Items mode: one item per node matched by `items` in each region node. */
static vl_err_t
items_mode (page_t *self, xmlNodeSetPtr region, item_list_t *out)
{
    size_t first = out->n;
    item_idset_t seen = { 0 };
    size_t visited = 0;
    vl_err_t err = VL_OK;
    int nreg = region ? region->nodeNr : 1;
    for (int r = 0; r < nreg && !err; r++) {
        xmlNodePtr ctx = region ? region->nodeTab[r] : NULL;
        xmlXPathObjectPtr obj = eval_sel (self, self->src->items, ctx != NULL, ctx, &err);
        if (!obj)
            break;
        if (obj->type != XPATH_NODESET) {
            log_warn ("page: %s: items selector does not select nodes", self->src->id);
            say_why (self, "selector selects no elements (items = \"%s\")", self->src->items);
            err = VL_EINVAL;
        }
        xmlNodeSetPtr ns = obj->nodesetval;
        for (int k = 0; !err && ns && k < ns->nodeNr; k++) {
            if (++visited > ITEM_MAX_ENTRIES) {
                err = VL_ETOOBIG;
                break;
            }
            err = one_item (self, ns->nodeTab[k], &seen, out);
        }
        xmlXPathFreeObject (obj);
    }
    item_idset_free (&seen);
    if (err == VL_ETOOBIG) {
        log_warn ("page: %s: more than %d items or %d nodes, the rest is ignored",
                  self->src->id, ITEM_MAX_ITEMS, ITEM_MAX_ENTRIES);
        err = VL_OK;
    }
    if (err)
        while (out->n > first)
            item_list_pop (out);
    return err;
}

static vl_err_t
run (page_t *self, item_list_t *out)
{
    vl_err_t err = remove_ignored (self);
    if (err)
        return err;
    xmlXPathObjectPtr region = NULL;
    const char *sel = self->src->select;
    if (!sel && !self->src->items)
        sel = "//body";
    if (sel) {
        region = eval_sel (self, sel, false, NULL, &err);
        if (!region)
            return err;
        if (region->type != XPATH_NODESET) {
            log_warn ("page: %s: select does not select nodes", self->src->id);
            say_why (self, "selector selects no elements (select = \"%s\")", sel);
            xmlXPathFreeObject (region);
            return VL_EINVAL;
        }
        if (!region->nodesetval || region->nodesetval->nodeNr == 0) {
            log_warn ("page: %s: select \"%s\" matches nothing", self->src->id, sel);
            say_why (self, "selector matched nothing (select = \"%s\")", sel);
            xmlXPathFreeObject (region);
            return VL_EPARSE;
        }
    }
    xmlNodeSetPtr ns = region ? region->nodesetval : NULL;
    if (self->src->items)
        err = items_mode (self, ns, out);
    else
        err = whole_page (self, ns, out);
    xmlXPathFreeObject (region);
    return err;
}

/* Maps each compiled regex of SELF to its `ignore` entry. */
static void
map_regex_rules (page_t *self)
{
    size_t k = 0;
    for (size_t i = 0; i < self->src->nignore && k < self->nre; i++)
        if (self->src->ignore[i] && page_check_is_regex (self->src->ignore[i]))
            self->re_rule[k++] = i;
}

/* Compiles SRC's regexes and parses BODY into SELF (doc and XPath context,
 * ignore selectors not yet applied). On error nothing is left to free. */
static vl_err_t
page_open (page_t *self, const source_t *src, const char *body, size_t len,
           const char *base_url, const page_hooks_t *hooks)
{
    static const page_hooks_t none;
    memset (self, 0, sizeof *self);
    self->src = src;
    self->hooks = hooks ? hooks : &none;
    self->base_url = base_url ? base_url : src->url;
    if (!body)
        return VL_EPARSE;
    if (len > PAGE_MAX_BYTES) {
        say_why (self, "page larger than %d bytes", PAGE_MAX_BYTES);
        return VL_ETOOBIG;
    }
    char errbuf[256];
    if (page_check_regexes (src, self->re, &self->nre, errbuf, sizeof errbuf)) {
        log_warn ("page: %s: %s", src->id, errbuf);
        say_why (self, "%s", errbuf);
        return VL_EINVAL;
    }
    map_regex_rules (self);
    self->doc = htmlReadMemory (body, (int) len, self->base_url, "UTF-8",
        HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING
        | HTML_PARSE_RECOVER | HTML_PARSE_IGNORE_ENC);
    if (self->doc && !(self->xp = xmlXPathNewContext (self->doc))) {
        xmlFreeDoc (self->doc);
        self->doc = NULL;
        return VL_ENOMEM;
    }
    if (!self->doc) {
        log_warn ("page: %s: not parseable as HTML", src->id);
        say_why (self, "not parseable as HTML");
        for (size_t i = 0; i < self->nre; i++)
            regfree (&self->re[i]);
        return VL_EPARSE;
    }
    self->xp->error = page_check_silent_error;
    return VL_OK;
}

/* Frees what page_open made, except the document when KEEP_DOC. */
static void
page_close (page_t *self, bool keep_doc)
{
    xmlXPathFreeContext (self->xp);
    if (!keep_doc)
        xmlFreeDoc (self->doc);
    for (size_t i = 0; i < self->nre; i++)
        regfree (&self->re[i]);
}

vl_err_t
page_parse_ex (const source_t *src, const char *body, size_t len,
               const char *base_url, item_list_t *out, const page_hooks_t *hooks)
{
    page_t self;
    vl_err_t err = page_open (&self, src, body, len, base_url, hooks);
    if (err)
        return err;
    err = run (&self, out);
    page_close (&self, false);
    return err;
}

vl_err_t
page_parse (const source_t *src, const char *body, size_t len,
            const char *base_url, item_list_t *out)
{
    return page_parse_ex (src, body, len, base_url, out, NULL);
}

struct _xmlDoc *
page_parse_doc (const source_t *src, const char *body, size_t len,
                const char *base_url, vl_err_t *err)
{
    page_t self;
    *err = page_open (&self, src, body, len, base_url, NULL);
    if (*err)
        return NULL;
    *err = remove_ignored (&self);
    page_close (&self, *err == VL_OK);
    return *err == VL_OK ? self.doc : NULL;
}
