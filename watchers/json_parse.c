/* json_parse.c: JSON API documents to items (jansson); see json_parse.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "feed_date.h"
#include "json_parse.h"
#include "log.h"
#include "text_norm.h"

#define JSON_PATH_MAX 512

/* Follows dotted PATH from ROOT ("" or NULL = ROOT). Digits index arrays. */
static json_t *
json_path (json_t *root, const char *path)
{
    if (!path || !*path)
        return root;
    if (strlen (path) >= JSON_PATH_MAX)
        return NULL;
    char copy[JSON_PATH_MAX];
    strcpy (copy, path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r (copy, ".", &save); tok && cur;
         tok = strtok_r (NULL, ".", &save)) {
        if (json_is_object (cur))
            cur = json_object_get (cur, tok);
        else if (json_is_array (cur)) {
            char *end;
            unsigned long idx = strtoul (tok, &end, 10);
            cur = (*end || end == tok) ? NULL : json_array_get (cur, idx);
        }
        else
            cur = NULL;
    }
    return cur;
}

/* First of PATH, else the defaults (NULL-terminated) found in REC. */
static json_t *
field (json_t *rec, const char *path, const char *const *defaults)
{
    if (path && *path)
        return json_path (rec, path);
    for (; *defaults; defaults++) {
        json_t *v = json_path (rec, *defaults);
        if (v && !json_is_null (v))
            return v;
    }
    return NULL;
}

/* Scalar V as a new string (integers printed without decimals). */
static char *
scalar_text (json_t *v)
{
    char tmp[64];
    if (json_is_string (v))
        return strndup (json_string_value (v), json_string_length (v));
    if (json_is_integer (v)) {
        snprintf (tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value (v));
        return strdup (tmp);
    }
    if (json_is_real (v)) {
        snprintf (tmp, sizeof tmp, "%.17g", json_real_value (v));
        return strdup (tmp);
    }
    return NULL;
}

static char *
field_text (json_t *v, bool html, bool multiline, size_t max)
{
    char *raw = v ? scalar_text (v) : NULL;
    if (!raw)
        return NULL;
    char *res = html ? text_norm_html (raw, strlen (raw), multiline, max)
                     : text_norm_plain (raw, strlen (raw), multiline, max);
    free (raw);
    return res;
}

static bool
field_date (json_t *v, int64_t *out)
{
    if (json_is_string (v))
        return feed_date_parse (json_string_value (v), out);
    double d;
    if (json_is_integer (v))
        d = (double) json_integer_value (v);
    else if (json_is_real (v))
        d = json_real_value (v);
    else
        return false;
    if (d > 1e11)
        d /= 1000.0;      /* milliseconds */
    if (d < 0 || d > 253402300799.0)   /* up to 9999-12-31 */
        return false;
    *out = (int64_t) d;
    return true;
}

static const char *const ID_DEF[] = { "id", "guid", NULL };
static const char *const TITLE_DEF[] = { "title", "name", NULL };
static const char *const LINK_DEF[] = { "link", "url", NULL };
static const char *const DATE_DEF[] = { "date", "published", "updated", NULL };
static const char *const SUMMARY_DEF[] = { "summary", "description", "content", NULL };

static vl_err_t
add_record (const source_t *src, json_t *rec, const char *base_url, item_list_t *out)
{
    parsed_item_t *item = item_list_add (out);
    if (!item)
        return out->n >= ITEM_MAX_ITEMS ? VL_ETOOBIG : VL_ENOMEM;
    item->identity = field_text (field (rec, src->json_id, ID_DEF), false, false, 1024);
    if (item->identity && !*item->identity) {
        free (item->identity);
        item->identity = NULL;
    }
    item->title = field_text (field (rec, src->json_title, TITLE_DEF), true, false,
                              ITEM_MAX_TITLE);
    char *href = field_text (field (rec, src->json_link, LINK_DEF), false, false, 8192);
    item->link = href ? item_resolve_link (href, base_url) : NULL;
    free (href);
    json_t *sv = field (rec, src->json_summary, SUMMARY_DEF);
    item->summary = field_text (sv, true, false, ITEM_MAX_SUMMARY);
    item->content = field_text (sv, true, true, ITEM_MAX_CONTENT);
    int64_t t;
    if (field_date (field (rec, src->json_date, DATE_DEF), &t)) {
        item->published = t;
        item->has_published = true;
    }
    if (!item->title)
        item->title = strdup ("");
    if (!item->summary)
        item->summary = strdup ("");
    if (!item->content)
        item->content = strdup ("");
    return item_list_finish_last (out);
}

vl_err_t
json_parse (const source_t *src, const char *body, size_t len,
            const char *base_url, item_list_t *out)
{
    if (!body)
        return VL_EPARSE;
    if (len > JSON_MAX_BYTES)
        return VL_ETOOBIG;
    json_error_t jerr;
    json_t *root = json_loadb (body, len, 0, &jerr);
    if (!root) {
        log_warn ("json: %s: line %d: %s", src->id, jerr.line, jerr.text);
        return VL_EPARSE;
    }
    json_t *arr = json_path (root, src->json_items);
    if (!json_is_array (arr)) {
        log_warn ("json: %s: \"%s\" is not an array", src->id,
                  src->json_items ? src->json_items : "");
        json_decref (root);
        return VL_EPARSE;
    }
    if (!base_url)
        base_url = src->url;
    size_t first = out->n, i;
    item_idset_t seen = { 0 };
    json_t *rec;
    vl_err_t rc = VL_OK;
    json_array_foreach (arr, i, rec) {
        if (i >= ITEM_MAX_ENTRIES) {
            rc = VL_ETOOBIG;
            break;
        }
        if (!json_is_object (rec))
            continue;
        rc = add_record (src, rec, base_url, out);
        if (rc)
            break;
        if (!item_idset_add (&seen, out->items[out->n - 1].identity))
            item_list_pop (out);
    }
    item_idset_free (&seen);
    json_decref (root);
    if (rc == VL_ETOOBIG) {
        log_warn ("json: %s: more than %d items or %d records, the rest is ignored",
                  src->id, ITEM_MAX_ITEMS, ITEM_MAX_ENTRIES);
        rc = VL_OK;
    }
    if (rc)
        while (out->n > first)
            item_list_pop (out);
    return rc;
}
