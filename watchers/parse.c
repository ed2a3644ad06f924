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

/* True if an <html or <!doctype html tag is in the first KiB of S. */
static bool
looks_like_html (const char *s, size_t len)
{
    static const char *const tags[] = { "<html", "<!doctype html" };
    size_t n = len < 1024 ? len : 1024;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; s[i] == '<' && t < 2; t++)
            if (n - i >= strlen (tags[t]) && strncasecmp (s + i, tags[t], strlen (tags[t])) == 0)
                return true;
    return false;
}

/* Says, in CTX->why, why a document of KIND did not parse (when the parser
 * itself said nothing). */
static void
explain_failure (const parse_ctx_t *ctx, source_type_t kind, const char *utf8, size_t len,
                 vl_err_t rc)
{
    if (!ctx || !ctx->why || !ctx->whylen || ctx->why[0])
        return;
    bool html = looks_like_html (utf8, len);
    const char *fix = html ? " (type = \"html\"?)" : "";
    if (kind == SOURCE_FEED && html)
        snprintf (ctx->why, ctx->whylen, "got an HTML page where a feed was expected%s", fix);
    else if (kind == SOURCE_JSON && html)
        snprintf (ctx->why, ctx->whylen, "got an HTML page where JSON was expected%s", fix);
    else if (kind == SOURCE_FEED)
        snprintf (ctx->why, ctx->whylen, "not a feed (RSS, RDF or Atom): %s", vl_strerror (rc));
    else if (kind == SOURCE_JSON)
        snprintf (ctx->why, ctx->whylen, "not the JSON expected (json.items = an array?): %s",
                  vl_strerror (rc));
    else
        snprintf (ctx->why, ctx->whylen, "cannot parse the page: %s", vl_strerror (rc));
}

vl_err_t
parse_document (const source_t *src, const parse_ctx_t *ctx,
                const char *body, size_t len, item_list_t *out)
{
    if (ctx && ctx->why && ctx->whylen)
        snprintf (ctx->why, ctx->whylen, "%s", body ? "" : "empty document");
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
        if (ctx && ctx->why && ctx->whylen)
            snprintf (ctx->why, ctx->whylen, "charset conversion failed (charset = ?): %s",
                      vl_strerror (rc));
        return rc;
    }
    source_type_t kind = detect_kind (src, utf8, ulen, ct);
    page_hooks_t hooks = { 0 };
    if (ctx)
        hooks = (page_hooks_t) { .why = ctx->why, .whylen = ctx->whylen,
                                 .trace = ctx->trace, .arg = ctx->trace_arg };
    switch (kind) {
    case SOURCE_FEED:
        rc = feed_parse (utf8, ulen, base, out);
        break;
    case SOURCE_JSON:
        rc = json_parse (src, utf8, ulen, base, out);
        break;
    default:
        rc = page_parse_ex (src, utf8, ulen, base, out, &hooks);
        break;
    }
    if (rc != VL_OK)
        explain_failure (ctx, kind, utf8, ulen, rc);
    free (utf8);
    return rc;
}
