/* noise.c: --noise, what changes between copies of a page (see noise.h). */
#include "noise.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "buf.h"
#include "charset.h"
#include "css_xpath.h"
#include "log.h"
#include "page_check.h"
#include "page_parse.h"
#include "parse.h"
#include "state.h"
#include "text_norm.h"
#include "util.h"

#define OWN_TEXT_MAX  400   /* bytes of an element's own text compared */
#define RE_TEXT_MAX   80    /* longer texts get no re: suggestion */
#define WALK_DEPTH_MAX 256  /* deeper elements are not compared (as text_norm.c) */

typedef struct {
    char      *path;   /* xmlGetNodePath */
    char      *text;   /* own text, normalised */
    xmlNodePtr node;
} elem_t;

typedef struct {
    preview_doc_t raw;
    xmlDocPtr     doc;
    elem_t       *el;
    size_t        n;
    bool          truncated;
} copy_t;

typedef struct {
    const elem_t *was, *now;   /* either may be NULL (appears / disappears) */
    char         *rule;        /* suggested ignore entry */
} noisy_t;

typedef struct {
    const source_t *src;
    regex_t         re[PAGE_CHECK_MAX_RE];   /* its "re:" rules: lines they drop are not noise */
    size_t          nre;
    copy_t          copies[NOISE_MAX_COPIES];
    size_t          ncopies;
    noisy_t         noisy[NOISE_MAX_REPORTED];
    size_t          nnoisy;
    bool            more;      /* more than NOISE_MAX_REPORTED */
    FILE           *out;
} noise_t;

/* ---- loading --------------------------------------------------------------- */

static void sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) != 0) {
    }
}

/* The element's own text (its direct text children), normalised; NULL if
 * none. Caller frees. */
static char *own_text (xmlNodePtr node)
{
    buf_t raw;
    buf_init (&raw, OWN_TEXT_MAX * 4);
    for (xmlNodePtr c = node->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            buf_puts (&raw, (const char *) c->content);
            buf_putc (&raw, ' ');
        }
    char *t = text_norm_plain (raw.data ? raw.data : "", raw.len, false, OWN_TEXT_MAX);
    buf_free (&raw);
    if (t && !*t) {
        free (t);
        t = NULL;
    }
    return t;
}

static bool skipped_element (xmlNodePtr n)
{
    static const char *const names[] = { "script", "style", "template", "noscript" };
    for (size_t i = 0; i < VL_ARRAY_LEN (names); i++)
        if (xmlStrcasecmp (n->name, (const xmlChar *) names[i]) == 0)
            return true;
    return false;
}

/* Records NODE and its descendants (DEPTH levels down so far) with their
 * own text into C. */
static vl_err_t collect (copy_t *c, xmlNodePtr node, size_t *cap, int depth)
{
    if (node->type != XML_ELEMENT_NODE || skipped_element (node) || depth > WALK_DEPTH_MAX)
        return VL_OK;
    char *t = own_text (node);
    if (t && c->n == NOISE_MAX_ELEMENTS) {
        c->truncated = true;
        free (t);
        t = NULL;
    }
    if (t) {
        if (c->n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 256;
            elem_t *el = realloc (c->el, ncap * sizeof *el);
            if (!el) {
                free (t);
                return VL_ENOMEM;
            }
            c->el = el;
            *cap = ncap;
        }
        xmlChar *path = xmlGetNodePath (node);
        c->el[c->n++] = (elem_t) { .path = (char *) path, .text = t, .node = node };
    }
    for (xmlNodePtr k = node->children; k; k = k->next) {
        vl_err_t e = collect (c, k, cap, depth + 1);
        if (e != VL_OK)
            return e;
    }
    return VL_OK;
}

/* Nodes matched by selector SEL in DOC (caller frees), or NULL. */
static xmlXPathObjectPtr select_nodes (xmlDocPtr doc, const char *sel)
{
    vl_err_t e;
    char *expr = css_xpath (sel, false, &e);
    if (!expr)
        return NULL;
    xmlXPathContextPtr xp = xmlXPathNewContext (doc);
    xmlXPathObjectPtr obj = NULL;
    if (xp) {
        xp->error = page_check_silent_error;
        obj = xmlXPathEvalExpression ((const xmlChar *) expr, xp);
        xmlXPathFreeContext (xp);
    }
    free (expr);
    if (obj && (obj->type != XPATH_NODESET || !obj->nodesetval)) {
        xmlXPathFreeObject (obj);
        obj = NULL;
    }
    return obj;
}

/* Loads copy I (file I, or a fetch), parses it, applies the ignore rules
 * and records the elements of the region. */
static vl_err_t load_copy (noise_t *self, const watch_conf_t *conf, const char *file, copy_t *c)
{
    const source_t *src = self->src;
    vl_err_t e = preview_doc_load (conf, src, file, &c->raw);
    if (e != VL_OK) {
        log_error ("source %s: %s", src->id, c->raw.what);
        return e;
    }
    char *utf8 = NULL;
    size_t ulen = 0;
    e = charset_to_utf8 (c->raw.body, c->raw.len, c->raw.content_type, src->charset,
                         3 * (size_t) PAGE_MAX_BYTES, &utf8, &ulen);
    if (e == VL_OK && !(c->doc = page_parse_doc (src, utf8, ulen, c->raw.base_url, &e)))
        log_error ("source %s: %s: not parseable as HTML: %s", src->id, c->raw.what,
                   vl_strerror (e));
    free (utf8);
    if (!c->doc)
        return e;
    size_t cap = 0;
    xmlXPathObjectPtr region = src->select ? select_nodes (c->doc, src->select) : NULL;
    if (src->select && (!region || region->nodesetval->nodeNr == 0)) {
        log_error ("source %s: %s: selector matched nothing (select = \"%s\")", src->id,
                   c->raw.what, src->select);
        xmlXPathFreeObject (region);
        return VL_EPARSE;
    }
    if (region)
        for (int k = 0; e == VL_OK && k < region->nodesetval->nodeNr; k++)
            e = collect (c, region->nodesetval->nodeTab[k], &cap, 0);
    else if (xmlDocGetRootElement (c->doc))
        e = collect (c, xmlDocGetRootElement (c->doc), &cap, 0);
    xmlXPathFreeObject (region);
    return e;
}

static void copy_clear (copy_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        xmlFree (c->el[i].path);
        free (c->el[i].text);
    }
    free (c->el);
    xmlFreeDoc (c->doc);
    preview_doc_clear (&c->raw);
    memset (c, 0, sizeof *c);
}

/* ---- comparing --------------------------------------------------------------------------- */

static const elem_t *find_path (const copy_t *c, const char *path, size_t hint)
{
    if (hint < c->n && strcmp (c->el[hint].path, path) == 0)
        return &c->el[hint];
    for (size_t i = 0; i < c->n; i++)
        if (strcmp (c->el[i].path, path) == 0)
            return &c->el[i];
    return NULL;
}

static bool already (const noise_t *self, const char *path)
{
    for (size_t i = 0; i < self->nnoisy; i++) {
        const elem_t *e = self->noisy[i].was ? self->noisy[i].was : self->noisy[i].now;
        if (strcmp (e->path, path) == 0)
            return true;
    }
    return false;
}

static void add_noisy (noise_t *self, const elem_t *was, const elem_t *now)
{
    if (already (self, (was ? was : now)->path))
        return;
    if (self->nnoisy == NOISE_MAX_REPORTED) {
        self->more = true;
        return;
    }
    self->noisy[self->nnoisy++] = (noisy_t) { .was = was, .now = now };
}

/* True if E (may be NULL) is a line a "re:" rule of the source drops. */
static bool dropped (const noise_t *self, const elem_t *e)
{
    for (size_t i = 0; e && i < self->nre; i++)
        if (regexec (&self->re[i], e->text, 0, NULL, 0) == 0)
            return true;
    return false;
}

/* Records every difference between copy 0 and copy K (but lines the
 * source's "re:" rules already drop). */
static void compare (noise_t *self, size_t k)
{
    const copy_t *a = &self->copies[0], *b = &self->copies[k];
    for (size_t i = 0; i < a->n; i++) {
        const elem_t *o = find_path (b, a->el[i].path, i);
        if ((!o || strcmp (o->text, a->el[i].text) != 0) && !dropped (self, &a->el[i])
            && !dropped (self, o))
            add_noisy (self, &a->el[i], o);
    }
    for (size_t i = 0; i < b->n; i++)
        if (!find_path (a, b->el[i].path, i) && !dropped (self, &b->el[i]))
            add_noisy (self, NULL, &b->el[i]);
}

/* ---- suggesting rules ---------------------------------------------------------------------- */

static bool css_name (const xmlChar *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* "#id" or "tag.class" for N, or NULL if it has neither (usable). */
static char *named_selector (xmlNodePtr n)
{
    char *res = NULL;
    xmlChar *id = xmlGetProp (n, (const xmlChar *) "id");
    if (id && css_name (id, strlen ((char *) id)) && asprintf (&res, "#%s", id) < 0)
        res = NULL;
    xmlFree (id);
    if (res)
        return res;
    xmlChar *cls = xmlGetProp (n, (const xmlChar *) "class");
    const xmlChar *p = cls;
    while (p && *p == ' ')
        p++;
    size_t len = p ? strcspn ((const char *) p, " \t\n") : 0;
    if (css_name (p, len) && asprintf (&res, "%s.%.*s", (const char *) n->name, (int) len, p) < 0)
        res = NULL;
    xmlFree (cls);
    return res;
}

static bool is_region_root (const source_t *src, xmlNodePtr n)
{
    if (!src->select)
        return n->parent == NULL || n->parent->type == XML_DOCUMENT_NODE
               || n->parent->type == XML_HTML_DOCUMENT_NODE
               || xmlStrcasecmp (n->name, (const xmlChar *) "body") == 0;
    xmlXPathObjectPtr r = select_nodes (n->doc, src->select);
    bool root = false;
    for (int k = 0; r && k < r->nodesetval->nodeNr && !root; k++)
        root = r->nodesetval->nodeTab[k] == n;
    xmlXPathFreeObject (r);
    return root;
}

/* The ignore rule for element E: the nearest of it and its ancestors
 * inside the region with an id or a class, else its XPath. */
static char *suggest (const source_t *src, const elem_t *e)
{
    for (xmlNodePtr n = e->node; n && n->type == XML_ELEMENT_NODE && !is_region_root (src, n);
         n = n->parent) {
        char *s = named_selector (n);
        if (s)
            return s;
    }
    return strdup (e->path);
}

/* A "re:" pattern matching TEXT with its digits generalised, or NULL. */
static char *line_pattern (const char *text)
{
    if (strlen (text) > RE_TEXT_MAX)
        return NULL;
    buf_t b;
    buf_init (&b, 16 * RE_TEXT_MAX);
    buf_puts (&b, "re:^");
    for (const char *p = text; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            while (p[1] >= '0' && p[1] <= '9')
                p++;
            buf_puts (&b, "[0-9]+");
        } else {
            if (strchr ("\\^$.|?*+()[]{}", *p))
                buf_putc (&b, '\\');
            buf_putc (&b, *p);
        }
    }
    buf_putc (&b, '$');
    return buf_steal (&b);
}

static int count_matches (xmlDocPtr doc, const char *sel)
{
    xmlXPathObjectPtr r = select_nodes (doc, sel);
    int n = r ? r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject (r);
    return n;
}

static void put_quoted (FILE *out, const char *s)
{
    fputc ('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc ('\\', out);
        fputc (*s, out);
    }
    fputc ('"', out);
}

static void report_one (noise_t *self, noisy_t *z)
{
    FILE *out = self->out;
    const elem_t *e = z->was ? z->was : z->now;
    const copy_t *c = z->was ? &self->copies[0] : NULL;
    for (size_t k = 0; !c && k < self->ncopies; k++)
        if (z->now >= self->copies[k].el && z->now < self->copies[k].el + self->copies[k].n)
            c = &self->copies[k];
    if (z->was && z->now) {
        fprintf (out, "changed    %s: ", e->path);
        put_quoted (out, z->was->text);
        fputs (" -> ", out);
        put_quoted (out, z->now->text);
    } else {
        fprintf (out, "%s %s: ", z->was ? "disappears" : "appears   ", e->path);
        put_quoted (out, e->text);
    }
    fputc ('\n', out);
    z->rule = suggest (self->src, e);
    if (!z->rule)
        return;
    fputs ("    ignore ", out);
    put_quoted (out, z->rule);
    int n = c ? count_matches (c->doc, z->rule) : 0;
    fprintf (out, "   (matches %d element%s)\n", n, n == 1 ? "" : "s");
    char *re = line_pattern ((z->now ? z->now : z->was)->text);
    if (re) {
        fputs ("    or     ", out);
        put_quoted (out, re);
        fputs ("   (drops that line of text wherever it is)\n", out);
    }
    free (re);
}

/* ---- proving the rules ------------------------------------------------------------------------ */

/* True if every copy, parsed with SRC plus RULES, gives the same items as
 * copy 0. Says which items differ otherwise, if VERBOSE. */
static bool rules_silence (noise_t *self, char **rules, size_t nrules, bool verbose)
{
    const source_t *src = self->src;
    char **ign = calloc (src->nignore + nrules + 1, sizeof *ign);
    if (!ign)
        return false;
    for (size_t i = 0; i < src->nignore; i++)
        ign[i] = src->ignore[i];
    for (size_t i = 0; i < nrules; i++)
        ign[src->nignore + i] = rules[i];
    source_t with = *src;
    with.ignore = ign;
    with.nignore = src->nignore + nrules;
    item_list_t first = { 0 };
    bool same = true;
    for (size_t k = 0; k < self->ncopies; k++) {
        const preview_doc_t *d = &self->copies[k].raw;
        char why[300];
        parse_ctx_t ctx = { .base_url = d->base_url, .content_type = d->content_type,
                            .why = why, .whylen = sizeof why };
        item_list_t l = { 0 };
        if (parse_document (&with, &ctx, d->body, d->len, k ? &l : &first) != VL_OK) {
            if (verbose)
                fprintf (self->out, "  copy %zu: %s\n", k + 1, why);
            same = false;
        }
        for (size_t i = 0; k && i < l.n; i++)
            if (i >= first.n || strcmp (l.items[i].hash, first.items[i].hash) != 0) {
                if (verbose)
                    fprintf (self->out, "  copy %zu: item \"%s\" still differs\n", k + 1,
                             l.items[i].title ? l.items[i].title : "");
                same = false;
            }
        if (k && l.n != first.n)
            same = false;
        item_list_free (&l);
    }
    item_list_free (&first);
    free (ign);
    return same;
}

/* Prints the source's ignore list with RULES (N) added, to paste. */
static void print_paste (noise_t *self, char **rules, size_t n)
{
    FILE *out = self->out;
    fputs ("add to the source:\n  ignore = [ ", out);
    for (size_t i = 0; i < self->src->nignore + n; i++) {
        put_quoted (out, i < self->src->nignore ? self->src->ignore[i]
                                                : rules[i - self->src->nignore]);
        fputs (i + 1 < self->src->nignore + n ? ", " : " ];\n", out);
    }
}

/* Prints the rules (each once) as a line to paste and proves them. */
static void report_rules (noise_t *self)
{
    char *rules[NOISE_MAX_REPORTED];
    size_t n = 0;
    for (size_t i = 0; i < self->nnoisy; i++) {
        bool dup = !self->noisy[i].rule;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp (rules[k], self->noisy[i].rule) == 0;
        if (!dup)
            rules[n++] = self->noisy[i].rule;
    }
    FILE *out = self->out;
    if (self->ncopies < 2) {
        print_paste (self, rules, n);
        fputs ("check them with --preview (a saved copy: --file), or with --noise on fresh "
               "fetches\n", out);
        return;
    }
    fprintf (out, "\nwith its current rules, the %zu copies give the same items: ",
             self->ncopies);
    bool now_same = rules_silence (self, NULL, 0, false);
    fprintf (out, "%s\n", now_same ? "yes (what changed is outside the text compared)" : "no");
    print_paste (self, rules, n);
    bool same = rules_silence (self, rules, n, true);
    fprintf (out, "with these rules the %zu copies give the same items: %s\n", self->ncopies,
             same ? "yes" : "no (check the elements above: some text may be real news)");
}

/* ---- against the stored copy ------------------------------------------------------------------ */

/* True if LINE is one of the lines of TEXT. */
static bool has_line (const char *text, const char *line, size_t n)
{
    for (const char *p = text; p && *p;) {
        size_t k = strcspn (p, "\n");
        if (k == n && memcmp (p, line, n) == 0)
            return true;
        p += k + (p[k] == '\n');
    }
    return false;
}

/* The element of copy 0 with the longest own text found in LINE (N
 * bytes), or NULL. */
static const elem_t *element_of_line (const noise_t *self, const char *line, size_t n)
{
    const copy_t *c = &self->copies[0];
    const elem_t *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t k = strlen (c->el[i].text);
        for (size_t at = 0; k > best_len && at + k <= n; at++)
            if (memcmp (line + at, c->el[i].text, k) == 0) {
                best = &c->el[i];
                best_len = k;
            }
    }
    return best;
}

/* Lists the lines of NOW missing from WAS (prefix "now") or the reverse. */
static void stored_lines (noise_t *self, const char *was, const char *now)
{
    FILE *out = self->out;
    for (const char *p = was; *p;) {
        size_t k = strcspn (p, "\n");
        if (!has_line (now, p, k))
            fprintf (out, "  was: \"%.*s\"\n", (int) k, p);
        p += k + (p[k] == '\n');
    }
    for (const char *p = now; *p;) {
        size_t k = strcspn (p, "\n");
        if (!has_line (was, p, k)) {
            fprintf (out, "  now: \"%.*s\"\n", (int) k, p);
            const elem_t *e = element_of_line (self, p, k);
            if (e && !already (self, e->path) && self->nnoisy < NOISE_MAX_REPORTED) {
                noisy_t *z = &self->noisy[self->nnoisy++];
                *z = (noisy_t) { .now = e, .rule = suggest (self->src, e) };
                int m = z->rule ? count_matches (self->copies[0].doc, z->rule) : 0;
                fputs ("    ignore ", out);
                put_quoted (out, z->rule ? z->rule : "");
                fprintf (out, "   (matches %d element%s)\n", m, m == 1 ? "" : "s");
            }
            char *line = strndup (p, k), *re = line ? line_pattern (line) : NULL;
            if (re) {
                fputs ("    or     ", out);
                put_quoted (out, re);
                fputc ('\n', out);
            }
            free (re);
            free (line);
        }
        p += k + (p[k] == '\n');
    }
}

/* --noise --stored: the page now (copy 0) against the items stored at
 * the last poll. */
static int compare_stored (noise_t *self, const watch_conf_t *conf)
{
    const source_t *src = self->src;
    const preview_doc_t *d = &self->copies[0].raw;
    char why[300];
    parse_ctx_t ctx = { .base_url = d->base_url, .content_type = d->content_type,
                        .why = why, .whylen = sizeof why };
    item_list_t items = { 0 };
    vl_err_t e = parse_document (src, &ctx, d->body, d->len, &items);
    state_t *st = NULL;
    if (e != VL_OK)
        log_error ("source %s: %s", src->id, why);
    else if (!(st = state_open (conf->state, &e)))
        log_error ("cannot open the state %s: %s", conf->state, vl_strerror (e));
    fprintf (self->out, "noise: source %s, the page now (%s) against its stored copy:\n\n",
             src->id, d->what);
    size_t differ = 0, known = 0;
    for (size_t i = 0; st && i < items.n; i++) {
        state_item_t si;
        if (state_item_get (st, src->id, items.items[i].identity, &si) != VL_OK)
            continue;
        known++;
        if (strcmp (si.hash, items.items[i].hash) != 0) {
            differ++;
            fprintf (self->out, "item \"%s\" differs:\n", items.items[i].title);
            stored_lines (self, si.content ? si.content : "", items.items[i].content);
        }
        state_item_clear (&si);
    }
    if (st && known == 0)
        fprintf (self->out, "nothing stored for these items yet: poll the source first\n");
    else if (st && differ == 0)
        fprintf (self->out, "every item is as stored: nothing to ignore\n");
    else if (st && self->nnoisy)
        report_rules (self);
    state_destroy (&st);
    item_list_free (&items);
    return e == VL_OK ? 0 : 1;
}

/* ---- the command ------------------------------------------------------------------------------ */

static vl_err_t load_all (noise_t *self, const watch_conf_t *conf, const preview_opts_t *o)
{
    size_t n = o->nfiles ? o->nfiles : o->stored ? 1 : (size_t) (o->fetches > 0 ? o->fetches : 3);
    if (n > NOISE_MAX_COPIES)
        n = NOISE_MAX_COPIES;
    vl_err_t e = VL_OK;
    for (size_t k = 0; k < n && e == VL_OK; k++) {
        if (k && !o->nfiles && o->every_ms > 0)
            sleep_ms (o->every_ms);
        e = load_copy (self, conf, o->nfiles ? o->files[k] : NULL, &self->copies[k]);
        self->ncopies = k + 1;
    }
    return e;
}

int noise_source (const watch_conf_t *conf, const char *id, const preview_opts_t *o,
                  FILE *out)
{
    const source_t *src = preview_find (conf, id);
    if (!src)
        return 2;
    if (src->type == SOURCE_FEED || src->type == SOURCE_JSON) {
        log_error ("source %s: --noise is for html pages (a feed's items carry their own ids: "
                   "see --preview)", id);
        return 2;
    }
    if (o->nfiles == 1 && !o->stored) {
        log_error ("--noise: give two copies or more (--file A --file B), or none (fetches)");
        return 2;
    }
    noise_t *self = calloc (1, sizeof *self);
    if (!self)
        return 1;
    self->src = src;
    self->out = out;
    char errbuf[256];
    int rc = page_check_regexes (src, self->re, &self->nre, errbuf, sizeof errbuf) == VL_OK
             && load_all (self, conf, o) == VL_OK ? 0 : 1;
    if (rc == 0 && o->stored)
        rc = compare_stored (self, conf);
    else if (rc == 0) {
        fprintf (out, "noise: source %s, %zu copies:\n", src->id, self->ncopies);
        for (size_t k = 0; k < self->ncopies; k++)
            fprintf (out, "  %zu. %s%s\n", k + 1, self->copies[k].raw.what,
                     self->copies[k].truncated ? " (elements after the first 20000 not compared)"
                                               : "");
        for (size_t k = 1; k < self->ncopies; k++)
            compare (self, k);
        fputc ('\n', out);
        for (size_t i = 0; i < self->nnoisy; i++)
            report_one (self, &self->noisy[i]);
        if (self->more)
            fprintf (out, "(more than %d elements differ: only the first are listed)\n",
                     NOISE_MAX_REPORTED);
        if (self->nnoisy == 0)
            fprintf (out, "no element changed between the copies: nothing to ignore\n");
        else
            report_rules (self);
    }
    for (size_t i = 0; i < self->nnoisy; i++)
        free (self->noisy[i].rule);
    for (size_t k = 0; k < self->ncopies; k++)
        copy_clear (&self->copies[k]);
    for (size_t i = 0; i < self->nre; i++)
        regfree (&self->re[i]);
    free (self);
    return rc;
}
