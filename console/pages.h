/* pages.h: the console's HTML, rendered on the server. Every text that
 * came from outside (events, source ids, the search form's values) is
 * cleaned and HTML-escaped (format_html_escape); links to alerts' pages
 * are only http(s) URLs (format_url_is_web). No inline script or style:
 * the pages load /console.js and /console.css (assets.h). */
#ifndef VL_PAGES_H
#define VL_PAGES_H

#include "archive.h"
#include "buf.h"
#include "health.h"

/* The filters of the list, the feed and the live stream, as read from the
 * URL's query (web.c). Strings borrowed. */
typedef struct {
    const char *q, *topic, *source, *type, *since, *until;  /* as typed */
    int64_t     before;          /* older page: ids below this */
} pages_filter_t;

/* Fills *Q from F (dates "YYYY-MM-DD", UTC; a bad date is ignored). */
void pages_query (const pages_filter_t *f, archive_query_t *q);

/* Appends F as URL query parameters ("q=...&topic=...", percent-encoded,
 * without before), for links that keep the search. */
vl_err_t pages_filter_params (buf_t *out, const pages_filter_t *f);

/* Appends the alerts page: the search form, the alerts matching F newest
 * first, the live stream's address (data attribute read by console.js),
 * the Atom feed of the same search and a link to older alerts. */
vl_err_t pages_list (buf_t *out, archive_t *ar, const pages_filter_t *f);

/* Appends the page of the alert whose event id is EID; false (nothing
 * appended) when there is none. */
bool pages_alert (buf_t *out, archive_t *ar, const char *eid, vl_err_t *rc);

/* Appends the sources page: for each source its health from the watcher
 * state (H, may have no rows) and what the archive holds of it. */
vl_err_t pages_sources (buf_t *out, archive_t *ar, const health_t *h);

/* Appends a short error page with MSG (static text). */
vl_err_t pages_error (buf_t *out, const char *msg);

/* Appends the side-by-side table of DIFF ("- old" / "+ new" lines, as
 * watchers/diff.h writes them): each run of removed lines faces the run of
 * added lines that follows it; any other line shows on both sides. */
vl_err_t pages_diff (buf_t *out, const char *diff);

#endif
