/* page_parse.h: HTML pages watched through selectors (source.h fields
 * select, items, item_title, item_link, ignore).
 *   - whole-page mode (no `items`): the text of the nodes matched by
 *     `select` (default: body) is one item whose identity is the page URL;
 *   - items mode: one item per node matched by `items` (inside `select` if
 *     given); its title from `item_title` (relative; default: first
 *     heading or link text), link from `item_link` (relative; its @href,
 *     default: first a/@href), identity = link, else hash of title+link;
 *   - `ignore` entries: "re:REGEX" is a POSIX extended regex applied to each
 *     line of the normalised text (matching lines are removed before
 *     hashing); anything else is a selector (XPath or CSS) whose nodes are
 *     removed from the document before any text is extracted.
 * Selectors and patterns are checked without a document by page_check.h.
 * libxml2 HTML parser with HTML_PARSE_NONET|NOERROR|NOWARNING|RECOVER. */
#ifndef VL_PAGE_PARSE_H
#define VL_PAGE_PARSE_H

#include <stddef.h>
#include "item.h"
#include "source.h"
#include "vl_err.h"

#define PAGE_MAX_BYTES (16 * 1024 * 1024)

/* Parses UTF-8 BODY (LEN bytes) fetched from BASE_URL for SRC; appends to
 * OUT. VL_EINVAL for a bad selector or regex (logged), VL_EPARSE when the
 * document cannot be parsed or `select` matches nothing, VL_ETOOBIG. */
vl_err_t page_parse (const source_t *src, const char *body, size_t len,
                     const char *base_url, item_list_t *out);

/* Optional observers of page_parse_ex (every field may be NULL/0). */
typedef struct {
    char  *why;      /* on failure: one sentence saying what is wrong, e.g.
                      * selector matched nothing (select = "main") */
    size_t whylen;
    /* called once per piece of text an ignore rule removed: RULE is the
     * `ignore` entry, REMOVED the normalised text (a node's text, capped
     * at 400 bytes, or a dropped line) */
    void (*trace) (void *arg, const char *rule, const char *removed);
    void  *arg;
} page_hooks_t;

/* page_parse, telling HOOKS (NULL: none) why it failed and what each
 * ignore rule removed. */
vl_err_t page_parse_ex (const source_t *src, const char *body, size_t len,
                        const char *base_url, item_list_t *out, const page_hooks_t *hooks);

/* Parses BODY for SRC and removes the nodes of its `ignore` selectors, for
 * tools that walk the page themselves (noise.h). Caller frees the result
 * with xmlFreeDoc; NULL with *ERR set (VL_EPARSE, VL_EINVAL, VL_ENOMEM). */
struct _xmlDoc *page_parse_doc (const source_t *src, const char *body, size_t len,
                                const char *base_url, vl_err_t *err);

#endif
