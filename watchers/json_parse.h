/* json_parse.h: JSON API documents to items (jansson).
 * source.h fields: json_items = dotted path to the array of records ("" or
 * NULL: the document itself must be an array; digits select an array index,
 * "data.items.0.list"); json_id/title/link/date/summary = dotted paths
 * inside each record (defaults: id, title, link|url, date|published,
 * summary|description). Dates: RFC 3339 strings or epoch seconds (numbers,
 * or milliseconds when > 1e11). Numbers for id are printed as integers. */
#ifndef VL_JSON_PARSE_H
#define VL_JSON_PARSE_H

#include <stddef.h>
#include "item.h"
#include "source.h"
#include "vl_err.h"

#define JSON_MAX_BYTES  (16 * 1024 * 1024)
#define JSON_MAX_DEPTH  2048   /* jansson's own nesting limit (documentation) */

/* Parses UTF-8 BODY (LEN bytes) for SRC, links resolved against BASE_URL;
 * appends to OUT. VL_EPARSE for invalid JSON or a path that does not lead
 * to an array, VL_ETOOBIG past JSON_MAX_BYTES. */
vl_err_t json_parse (const source_t *src, const char *body, size_t len,
                     const char *base_url, item_list_t *out);

#endif
