/* parse.c: body -> UTF-8 -> feed/html/json parser (see parse.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/parser.h>
#include "charset.h"
#include "feed_parse.h"
#include "json_parse.h"
#include "log.h"
#include "page_parse.h"
#include "parse.h"

#define PARSE_UTF8_MAX (3 * PAGE_MAX_BYTES)

static bool
looks_like_json (const char *s, size_t len, const char *content_type)
{
    for (const char *c = content_type; c && *c; c++)
        if (strncasecmp (c, "json", 4) == 0)
            return true;
    size_t i = 0;
    while (i < len && isspace ((unsigned char) s[i]))
        i++;
    return i < len && (s[i] == '{' || s[i] == '[');
}

/* The kind to parse UTF8 as: the configured type, or detected for auto. */
static source_type_t
detect_kind (const source_t *src, const char *utf8, size_t len, const char *ct)
{
    if (src->type != SOURCE_AUTO)
        return src->type;
    if (feed_parse_detect (utf8, len))
        return SOURCE_FEED;
    if (looks_like_json (utf8, len, ct))
        return SOURCE_JSON;
    return SOURCE_HTML;
}

vl_err_t
parse_document (const source_t *src, const parse_ctx_t *ctx,
                const char *body, size_t len, item_list_t *out)
{
    if (!src || !body || !out)
        return VL_EINVAL;
    xmlInitParser ();
    const char *ct = ctx ? ctx->content_type : NULL;
    const char *base = ctx && ctx->base_url ? ctx->base_url : src->url;
    char *utf8 = NULL;
    size_t ulen = 0;
    vl_err_t rc = charset_to_utf8 (body, len, ct, src->charset, PARSE_UTF8_MAX,
                                   &utf8, &ulen);
    if (rc) {
        log_warn ("parse: %s: charset conversion failed: %s", src->id, vl_strerror (rc));
        return rc;
    }
    switch (detect_kind (src, utf8, ulen, ct)) {
    case SOURCE_FEED:
        rc = feed_parse (utf8, ulen, base, out);
        break;
    case SOURCE_JSON:
        rc = json_parse (src, utf8, ulen, base, out);
        break;
    default:
        rc = page_parse (src, utf8, ulen, base, out);
        break;
    }
    free (utf8);
    return rc;
}
