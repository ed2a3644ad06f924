/* feed_parse.h: RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 feeds to items.
 * The format is taken from the root element, never the URL. libxml2 runs
 * with XML_PARSE_NONET and without XML_PARSE_NOENT (entities are not
 * expanded: "billion laughs" stays harmless) and with XML_PARSE_RECOVER so
 * truncated feeds give the items before the break. Identity: guid/id, else
 * absolute link, else hash of title+link (item_finish). Links resolved
 * against xml:base and the document URL. Duplicate identities: first kept.
 * Dates that cannot be parsed strictly leave has_published false
 * (feed_date.h). */
#ifndef VL_FEED_PARSE_H
#define VL_FEED_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "item.h"
#include "vl_err.h"

#define FEED_MAX_BYTES (16 * 1024 * 1024)   /* refuse bigger documents */

/* True if BODY looks like a feed: its root element is rss, rdf:RDF or feed
 * (after an optional BOM, XML declaration, comments, doctype). */
bool feed_parse_detect (const char *body, size_t len);

/* Parses UTF-8 BODY (LEN bytes) fetched from BASE_URL (may be NULL) and
 * appends its items to OUT. VL_EPARSE if it is not a feed or nothing could
 * be parsed (OUT untouched), VL_ETOOBIG past FEED_MAX_BYTES. */
vl_err_t feed_parse (const char *body, size_t len, const char *base_url,
                     item_list_t *out);

#endif
