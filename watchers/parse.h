/* parse.h: turn a fetched body into normalised items, whatever its kind.
 * Detects the kind from the content when the source says `auto` (feed:
 * <rss>, <rdf:RDF>, <feed>; json: '{' or '['; else html), converts the
 * charset to UTF-8, applies the source's selectors, `ignore` patterns and
 * length caps, and resolves links against BASE_URL. */
#ifndef VL_PARSE_H
#define VL_PARSE_H

#include <stddef.h>
#include "item.h"
#include "source.h"
#include "vl_err.h"

typedef struct {
    const char *base_url;      /* document URL after redirects (for relative links) */
    const char *content_type;  /* HTTP Content-Type header value, or NULL */
    /* optional outputs (NULL/0: none) */
    char       *why;           /* on failure, what is wrong, in one sentence: */
    size_t      whylen;        /* 'selector matched nothing (select = "main")' */
    /* html: told what each `ignore` rule removed (page_parse.h) */
    void      (*trace) (void *arg, const char *rule, const char *removed);
    void       *trace_arg;
} parse_ctx_t;

/* Parses BODY (LEN bytes) for SRC into OUT (appending; caller frees with
 * item_list_free). VL_EPARSE for a document that cannot be parsed at all
 * (nothing appended), VL_EINVAL for a bad selector in SRC. On failure
 * CTX->why says what is wrong (always filled when given). */
vl_err_t parse_document (const source_t *src, const parse_ctx_t *ctx,
                         const char *body, size_t len, item_list_t *out);

#endif
