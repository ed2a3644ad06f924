/* pages.c: the console's server-rendered HTML (see pages.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "format.h"
#include "pages.h"

#define TITLE_MAX    1024
#define TEXT_MAX     FORMAT_BODY_FIELD_MAX
#define FIELD_MAX    256      /* a source id, topic, type, tag, form value */
#define URL_MAX      8192
#define URL_PARAM_MAX 1024    /* bytes of a value put in a URL (an event id) */

/* Appends S escaped (cleaned, capped at MAX). */
static vl_err_t
esc (buf_t *out, const char *s, size_t max)
{
    return format_html_escape (out, s ? s : "", max);
}

/* Appends S percent-encoded for a URL query value. */
static vl_err_t
url_enc (buf_t *out, const char *s)
{
    vl_err_t rc = VL_OK;
    for (size_t i = 0; rc == VL_OK && s && s[i] && i < URL_PARAM_MAX; i++) {
        unsigned char c = (unsigned char) s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
            rc = buf_putc (out, (char) c);
        else
            rc = buf_printf (out, "%%%02X", c);
    }
    return rc;
}

/* Parses "YYYY-MM-DD" (UTC) into ms; 0 if S is not such a date. */
static int64_t
date_ms (const char *s)
{
    struct tm tm = { 0 };
    if (!s || !*s)
        return 0;
    const char *end = strptime (s, "%Y-%m-%d", &tm);
    if (!end || *end)
        return 0;
    return (int64_t) timegm (&tm) * 1000;
}

void
pages_query (const pages_filter_t *f, archive_query_t *q)
{
    memset (q, 0, sizeof *q);
    q->text = f->q;
    q->topic = f->topic;
    q->source = f->source;
    q->type = f->type;
    q->since_ms = date_ms (f->since);
    int64_t until = date_ms (f->until);
    q->until_ms = until ? until + 86400000 : 0;      /* the whole day */
    q->before_id = f->before;
}

vl_err_t
pages_filter_params (buf_t *out, const pages_filter_t *f)
{
    const char *k[] = { "q", "topic", "source", "type", "since", "until" };
    const char *v[] = { f->q, f->topic, f->source, f->type, f->since, f->until };
    vl_err_t rc = VL_OK;
    bool first = true;
    for (size_t i = 0; rc == VL_OK && i < 6; i++) {
        if (!v[i] || !*v[i])
            continue;
        rc = buf_printf (out, "%s%s=", first ? "" : "&", k[i]);
        if (rc == VL_OK) rc = url_enc (out, v[i]);
        first = false;
    }
    return rc;
}

/* Appends "&amp;"-separated params, escaped for an HTML attribute. */
static vl_err_t
params_attr (buf_t *out, const pages_filter_t *f)
{
    buf_t p;
    buf_init (&p, 16 * 1024);
    vl_err_t rc = buf_puts (&p, "");
    if (rc == VL_OK) rc = pages_filter_params (&p, f);
    if (rc == VL_OK) rc = esc (out, p.data, p.len);
    buf_free (&p);
    return rc;
}

static vl_err_t
head (buf_t *out, const char *title, const char *active)
{
    vl_err_t rc = buf_puts (out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<link rel=\"stylesheet\" href=\"/console.css\">\n"
        "<script src=\"/console.js\" defer></script>\n<title>");
    if (rc == VL_OK) rc = esc (out, title, TITLE_MAX);
    if (rc == VL_OK)
        rc = buf_printf (out, " · veille</title></head>\n<body>\n<header><nav>"
                         "<a href=\"/\"%s>Alerts</a> <a href=\"/sources\"%s>Sources</a>"
                         "</nav><span id=\"live\" class=\"live\"></span></header>\n<main>\n",
                         strcmp (active, "alerts") == 0 ? " class=\"on\"" : "",
                         strcmp (active, "sources") == 0 ? " class=\"on\"" : "");
    return rc;
}

static vl_err_t
foot (buf_t *out)
{
    return buf_puts (out, "</main>\n</body></html>\n");
}

vl_err_t
pages_error (buf_t *out, const char *msg)
{
    vl_err_t rc = head (out, "error", "");
    if (rc == VL_OK) rc = buf_puts (out, "<p class=\"error\">");
    if (rc == VL_OK) rc = esc (out, msg, 1024);
    if (rc == VL_OK) rc = buf_puts (out, "</p>\n");
    if (rc == VL_OK) rc = foot (out);
    return rc;
}

/* Appends one form field NAME with value VAL. */
static vl_err_t
field (buf_t *out, const char *label, const char *name, const char *type, const char *val)
{
    vl_err_t rc = buf_printf (out, "<label>%s <input type=\"%s\" name=\"%s\" value=\"",
                              label, type, name);
    if (rc == VL_OK) rc = esc (out, val, FIELD_MAX);
    if (rc == VL_OK) rc = buf_puts (out, "\"></label>\n");
    return rc;
}

static vl_err_t
search_form (buf_t *out, const pages_filter_t *f)
{
    vl_err_t rc = buf_puts (out, "<form class=\"search\" method=\"get\" action=\"/\">\n");
    if (rc == VL_OK) rc = field (out, "Search", "q", "search", f->q);
    if (rc == VL_OK) rc = field (out, "Topic", "topic", "text", f->topic);
    if (rc == VL_OK) rc = field (out, "Source", "source", "text", f->source);
    if (rc == VL_OK) rc = field (out, "Type", "type", "text", f->type);
    if (rc == VL_OK) rc = field (out, "From", "since", "date", f->since);
    if (rc == VL_OK) rc = field (out, "To", "until", "date", f->until);
    if (rc == VL_OK) rc = buf_puts (out, "<button type=\"submit\">Search</button>\n</form>\n");
    return rc;
}

typedef struct {
    buf_t  *out;
    vl_err_t rc;
    int64_t min_id;
} list_ctx_t;

/* One alert of the list. console.js builds the same markup for live ones. */
static void
list_row (void *arg, const archive_row_t *r)
{
    list_ctx_t *c = arg;
    char when[32];
    format_time_iso (r->detected, when);
    buf_t *o = c->out;
    vl_err_t rc = c->rc;
    if (rc == VL_OK) rc = buf_printf (o, "<li class=\"alert t-%s\" data-id=\"%lld\">",
                                      strcmp (r->type, "changed") == 0 ? "changed"
                                      : strcmp (r->type, "new") == 0 ? "new" : "other",
                                      (long long) r->id);
    if (rc == VL_OK) rc = buf_printf (o, "<time>%s</time> <span class=\"type\">", when);
    if (rc == VL_OK) rc = esc (o, r->type, FIELD_MAX);
    if (rc == VL_OK) rc = buf_puts (o, "</span> <a class=\"title\" href=\"/alert/");
    if (rc == VL_OK) rc = url_enc (o, r->eid);
    if (rc == VL_OK) rc = buf_puts (o, "\">");
    if (rc == VL_OK) rc = esc (o, *r->title ? r->title : *r->url ? r->url : r->type, TITLE_MAX);
    if (rc == VL_OK) rc = buf_puts (o, "</a> <span class=\"source\">");
    if (rc == VL_OK) rc = esc (o, r->source, FIELD_MAX);
    if (rc == VL_OK) rc = buf_puts (o, "</span> <span class=\"topic\">");
    if (rc == VL_OK) rc = esc (o, r->topic, FIELD_MAX);
    if (rc == VL_OK) rc = buf_puts (o, "</span></li>\n");
    c->rc = rc;
    if (!c->min_id || r->id < c->min_id)
        c->min_id = r->id;
}

vl_err_t
pages_list (buf_t *out, archive_t *ar, const pages_filter_t *f)
{
    archive_query_t q;
    pages_query (f, &q);
    int64_t last = archive_last_id (ar);
    vl_err_t rc = head (out, f->q && *f->q ? f->q : "alerts", "alerts");
    if (rc == VL_OK) rc = search_form (out, f);
    if (rc == VL_OK) rc = buf_puts (out, "<p class=\"links\"><a id=\"feed\" href=\"/feed.atom?");
    if (rc == VL_OK) rc = params_attr (out, f);
    if (rc == VL_OK) rc = buf_puts (out, "\">Atom feed of this search</a></p>\n<ul id=\"alerts\"");
    if (rc == VL_OK && !f->before) {       /* only the newest page goes live */
        rc = buf_printf (out, " data-stream=\"/events?after=%lld&amp;", (long long) last);
        if (rc == VL_OK) rc = params_attr (out, f);
        if (rc == VL_OK) rc = buf_putc (out, '"');
    }
    if (rc == VL_OK) rc = buf_puts (out, ">\n");
    list_ctx_t c = { out, rc, 0 };
    int n = 0;
    vl_err_t frc = rc == VL_OK ? archive_find (ar, &q, list_row, &c, &n) : rc;
    rc = c.rc;
    if (rc == VL_OK) rc = buf_puts (out, "</ul>\n");
    if (rc == VL_OK && frc == VL_EINVAL)
        rc = buf_puts (out, "<p class=\"error\">This search cannot be run.</p>\n");
    else if (rc == VL_OK && n == 0)
        rc = buf_puts (out, "<p id=\"empty\">No alert.</p>\n");
    if (rc == VL_OK && n == (q.limit ? q.limit : 50)) {
        rc = buf_printf (out, "<p class=\"links\"><a id=\"older\" href=\"/?before=%lld&amp;",
                         (long long) c.min_id);
        if (rc == VL_OK) rc = params_attr (out, f);
        if (rc == VL_OK) rc = buf_puts (out, "\">Older alerts</a></p>\n");
    }
    if (rc == VL_OK) rc = foot (out);
    return rc;
}

/* Appends one "<tr><td>old</td><td>new</td></tr>" of the diff table. */
static vl_err_t
diff_row (buf_t *out, const char *l, size_t ll, const char *r, size_t rl, bool same)
{
    char *ls = l ? strndup (l, ll) : NULL, *rs = r ? strndup (r, rl) : NULL;
    if ((l && !ls) || (r && !rs)) {
        free (ls);
        return VL_ENOMEM;
    }
    vl_err_t rc = buf_printf (out, "<tr><td class=\"%s\">", same ? "ctx" : l ? "del" : "none");
    if (rc == VL_OK) rc = esc (out, ls, TEXT_MAX);
    if (rc == VL_OK) rc = buf_printf (out, "</td><td class=\"%s\">", same ? "ctx" : r ? "add" : "none");
    if (rc == VL_OK) rc = esc (out, rs, TEXT_MAX);
    if (rc == VL_OK) rc = buf_puts (out, "</td></tr>\n");
    free (ls);
    free (rs);
    return rc;
}

typedef struct {
    const char *s;
    size_t      len;
} span_t;

/* Lines of one run of removed (or added) lines paired side by side; a
 * longer run is shown in several blocks (nothing is dropped). */
#define DIFF_RUN_MAX 512

/* Emits the pending removed (DEL) and added (ADD) runs side by side. */
static vl_err_t
diff_flush (buf_t *out, span_t *del, size_t *nd, span_t *add, size_t *na)
{
    vl_err_t rc = VL_OK;
    size_t n = *nd > *na ? *nd : *na;
    for (size_t i = 0; rc == VL_OK && i < n; i++)
        rc = diff_row (out, i < *nd ? del[i].s : NULL, i < *nd ? del[i].len : 0,
                       i < *na ? add[i].s : NULL, i < *na ? add[i].len : 0, false);
    *nd = *na = 0;
    return rc;
}

/* Adds one line of DIFF (P, LEN bytes) to the table or to a pending run. */
static vl_err_t
diff_line (buf_t *out, const char *p, size_t len, span_t *del, size_t *nd, span_t *add,
           size_t *na)
{
    bool minus = len && p[0] == '-', plus = len && p[0] == '+';
    size_t skip = (minus || plus) ? (len > 1 && p[1] == ' ' ? 2 : 1) : 0;
    vl_err_t rc = VL_OK;
    if ((minus && *na) || *nd == DIFF_RUN_MAX || *na == DIFF_RUN_MAX || (!minus && !plus))
        rc = diff_flush (out, del, nd, add, na);      /* a new change, or a full run */
    if (rc == VL_OK && minus)
        del[(*nd)++] = (span_t) { p + skip, len - skip };
    else if (rc == VL_OK && plus)
        add[(*na)++] = (span_t) { p + skip, len - skip };
    else if (rc == VL_OK)
        rc = diff_row (out, p, len, p, len, true);
    return rc;
}

vl_err_t
pages_diff (buf_t *out, const char *diff)
{
    span_t *del = calloc (2 * DIFF_RUN_MAX, sizeof *del), *add = del + DIFF_RUN_MAX;
    size_t nd = 0, na = 0;
    if (!del)
        return VL_ENOMEM;
    vl_err_t rc = buf_puts (out, "<table class=\"diff\"><thead><tr><th>Before</th>"
                                 "<th>After</th></tr></thead><tbody>\n");
    for (const char *p = diff; rc == VL_OK && p && *p;) {
        const char *nl = strchr (p, '\n');
        size_t len = nl ? (size_t) (nl - p) : strlen (p);
        rc = diff_line (out, p, len, del, &nd, add, &na);
        p = nl ? nl + 1 : p + len;
    }
    if (rc == VL_OK) rc = diff_flush (out, del, &nd, add, &na);
    if (rc == VL_OK) rc = buf_puts (out, "</tbody></table>\n");
    free (del);
    return rc;
}

/* Appends a <dt>/<dd> pair with VAL escaped. */
static vl_err_t
dl_item (buf_t *out, const char *name, const char *val, size_t max)
{
    vl_err_t rc = buf_printf (out, "<dt>%s</dt><dd>", name);
    if (rc == VL_OK) rc = esc (out, val, max);
    if (rc == VL_OK) rc = buf_puts (out, "</dd>\n");
    return rc;
}

static vl_err_t
alert_tags (buf_t *out, const char *tags)
{
    vl_err_t rc = buf_puts (out, "<dt>Tags</dt><dd><ul class=\"tags\">");
    for (const char *p = tags; rc == VL_OK && *p;) {
        size_t len = strcspn (p, "\n");
        char *t = strndup (p, len);
        rc = t ? buf_puts (out, "<li>") : VL_ENOMEM;
        if (rc == VL_OK) rc = esc (out, t, FIELD_MAX);
        if (rc == VL_OK) rc = buf_puts (out, "</li>");
        free (t);
        p += len + (p[len] == '\n');
    }
    if (rc == VL_OK) rc = buf_puts (out, "</ul></dd>\n");
    return rc;
}

typedef struct {
    buf_t   *out;
    vl_err_t rc;
    bool     found;
} alert_ctx_t;

static void
alert_row (void *arg, const archive_row_t *r)
{
    alert_ctx_t *c = arg;
    buf_t *o = c->out;
    char when[32], pub[32];
    format_time_iso (r->detected, when);
    format_time_iso (r->published > 0 ? r->published * 1000 : 1, pub);
    c->found = true;
    vl_err_t rc = head (o, *r->title ? r->title : r->type, "alerts");
    if (rc == VL_OK) rc = buf_puts (o, "<article class=\"alert-page\"><h1 id=\"title\">");
    if (rc == VL_OK) rc = esc (o, *r->title ? r->title : r->type, TITLE_MAX);
    if (rc == VL_OK) rc = buf_puts (o, "</h1>\n<dl>\n");
    if (rc == VL_OK && format_url_is_web (r->url)) {
        rc = buf_puts (o, "<dt>Link</dt><dd><a id=\"link\" rel=\"noopener noreferrer\" href=\"");
        if (rc == VL_OK) rc = esc (o, r->url, URL_MAX);
        if (rc == VL_OK) rc = buf_puts (o, "\">");
        if (rc == VL_OK) rc = esc (o, r->url, URL_MAX);
        if (rc == VL_OK) rc = buf_puts (o, "</a></dd>\n");
    }
    else if (rc == VL_OK && *r->url)
        rc = dl_item (o, "Link (not a web address)", r->url, URL_MAX);
    if (rc == VL_OK) rc = dl_item (o, "Type", r->type, FIELD_MAX);
    if (rc == VL_OK) rc = dl_item (o, "Source", r->source, FIELD_MAX);
    if (rc == VL_OK) rc = dl_item (o, "Topic", r->topic, FIELD_MAX);
    if (rc == VL_OK) rc = dl_item (o, "Detected", when, 32);
    if (rc == VL_OK && r->published) rc = dl_item (o, "Published", pub, 32);
    if (rc == VL_OK && *r->tags) rc = alert_tags (o, r->tags);
    if (rc == VL_OK) rc = buf_puts (o, "<dt>Event id</dt><dd><a id=\"permalink\" href=\"/alert/");
    if (rc == VL_OK) rc = url_enc (o, r->eid);
    if (rc == VL_OK) rc = buf_puts (o, "\">");
    if (rc == VL_OK) rc = esc (o, r->eid, FIELD_MAX);
    if (rc == VL_OK) rc = buf_printf (o, "</a> (seq %llu)</dd>\n</dl>\n",
                                      (unsigned long long) r->seq);
    if (rc == VL_OK && *r->summary) {
        rc = buf_puts (o, "<section class=\"summary\"><h2>Summary</h2><p>");
        if (rc == VL_OK) rc = esc (o, r->summary, TEXT_MAX);
        if (rc == VL_OK) rc = buf_puts (o, "</p></section>\n");
    }
    if (rc == VL_OK && *r->diff) {
        rc = buf_puts (o, "<section><h2>Changes</h2>\n");
        if (rc == VL_OK) rc = pages_diff (o, r->diff);
        if (rc == VL_OK) rc = buf_puts (o, "</section>\n");
    }
    if (rc == VL_OK) rc = buf_puts (o, "</article>\n");
    if (rc == VL_OK) rc = foot (o);
    c->rc = rc;
}

bool
pages_alert (buf_t *out, archive_t *ar, const char *eid, vl_err_t *rc)
{
    alert_ctx_t c = { out, VL_OK, false };
    archive_query_t q = { .eid = eid, .limit = 1 };
    *rc = archive_find (ar, &q, alert_row, &c, NULL);
    if (*rc == VL_OK)
        *rc = c.rc;
    return c.found;
}

/* Appends a table cell with the time MS (or "never" for 0). */
static vl_err_t
time_cell (buf_t *out, int64_t ms)
{
    char t[32];
    if (!ms)
        return buf_puts (out, "<td>never</td>");
    format_time_iso (ms, t);
    return buf_printf (out, "<td><time>%s</time></td>", t);
}

typedef struct {
    buf_t   *out;
    vl_err_t rc;
} src_ctx_t;

static void
archive_source_row (void *arg, const archive_source_t *s)
{
    src_ctx_t *c = arg;
    vl_err_t rc = c->rc;
    if (rc == VL_OK) rc = buf_puts (c->out, "<tr><td><a href=\"/?source=");
    if (rc == VL_OK) rc = url_enc (c->out, s->source);
    if (rc == VL_OK) rc = buf_puts (c->out, "\">");
    if (rc == VL_OK) rc = esc (c->out, s->source, FIELD_MAX);
    if (rc == VL_OK) rc = buf_printf (c->out, "</a></td><td>%lld</td>", (long long) s->alerts);
    if (rc == VL_OK) rc = time_cell (c->out, s->last_ms);
    if (rc == VL_OK) rc = buf_puts (c->out, "<td>");
    if (rc == VL_OK) rc = esc (c->out, s->last_type, FIELD_MAX);
    if (rc == VL_OK) rc = buf_printf (c->out, "</td><td>%lld</td>", (long long) s->errors);
    if (rc == VL_OK) rc = time_cell (c->out, s->last_error_ms);
    if (rc == VL_OK) rc = buf_puts (c->out, "</tr>\n");
    c->rc = rc;
}

/* One row of the watcher's view: what `veille status` shows for S. */
static vl_err_t
health_row (buf_t *out, const status_source_t *s)
{
    vl_err_t rc = buf_printf (out, "<tr class=\"%s\"><td>", s->failures ? "failing" : "ok");
    if (rc == VL_OK) rc = esc (out, s->id, FIELD_MAX);
    if (rc == VL_OK) rc = buf_printf (out, "</td><td>%s</td>", s->failures ? "failing" : "ok");
    if (rc == VL_OK) rc = time_cell (out, s->poll_at);
    if (rc == VL_OK && s->http_status)
        rc = buf_printf (out, "<td class=\"http\">%d</td>", s->http_status);
    else if (rc == VL_OK)
        rc = buf_puts (out, "<td class=\"http\"></td>");
    if (rc == VL_OK) rc = time_cell (out, s->change_at);
    if (rc == VL_OK) rc = buf_printf (out, "<td class=\"failures\">%d</td>", s->failures);
    if (rc == VL_OK) rc = buf_puts (out, "<td class=\"last-error\">");
    if (rc == VL_OK && s->last_error && s->error_at) {
        char t[32];
        format_time_iso (s->error_at, t);
        rc = buf_printf (out, "<time>%s</time> ", t);
    }
    if (rc == VL_OK && s->last_error) rc = esc (out, s->last_error, 1024);
    if (rc == VL_OK) rc = buf_puts (out, "</td>");
    if (rc == VL_OK) rc = time_cell (out, s->next_due);
    if (rc == VL_OK) rc = buf_puts (out, "</tr>\n");
    return rc;
}

/* The watcher's view: one row per source of the state file, failing first. */
static vl_err_t
health_table (buf_t *out, const health_t *h)
{
    vl_err_t rc = buf_puts (out, "<h2>Watcher</h2>\n");
    if (rc == VL_OK && h->error) {
        rc = buf_puts (out, "<p class=\"error\">");
        if (rc == VL_OK) rc = esc (out, h->error, 1024);
        return rc == VL_OK ? buf_puts (out, "</p>\n") : rc;
    }
    if (rc == VL_OK && !h->n)
        return buf_puts (out, "<p>No watcher state (veille-console --watch-state).</p>\n");
    if (rc == VL_OK && h->note) {
        rc = buf_puts (out, "<p class=\"note\">");
        if (rc == VL_OK) rc = esc (out, h->note, 1024);
        if (rc == VL_OK) rc = buf_puts (out, "</p>\n");
    }
    if (rc == VL_OK)
        rc = buf_puts (out, "<table id=\"health\"><thead><tr><th>Source</th><th>Status</th>"
                            "<th>Last poll</th><th>HTTP</th><th>Last change</th>"
                            "<th>Failures in a row</th><th>Last error</th><th>Next poll</th>"
                            "</tr></thead><tbody>\n");
    for (size_t i = 0; rc == VL_OK && i < h->n; i++)
        rc = health_row (out, &h->src[i]);
    if (rc == VL_OK) rc = buf_puts (out, "</tbody></table>\n");
    return rc;
}

vl_err_t
pages_sources (buf_t *out, archive_t *ar, const health_t *h)
{
    vl_err_t rc = head (out, "sources", "sources");
    if (rc == VL_OK) rc = buf_puts (out, "<h1>Sources</h1>\n");
    if (rc == VL_OK) rc = health_table (out, h);
    if (rc == VL_OK)
        rc = buf_puts (out, "<h2>Archive</h2>\n<table id=\"archived\"><thead><tr><th>Source</th>"
                            "<th>Alerts</th><th>Last alert</th><th>Its type</th><th>Errors</th>"
                            "<th>Last error</th></tr></thead><tbody>\n");
    src_ctx_t c = { out, rc };
    if (rc == VL_OK && archive_sources (ar, archive_source_row, &c) != VL_OK && c.rc == VL_OK)
        c.rc = buf_puts (out, "<tr><td colspan=\"6\">cannot read the archive</td></tr>\n");
    rc = c.rc;
    if (rc == VL_OK) rc = buf_puts (out, "</tbody></table>\n");
    if (rc == VL_OK) rc = foot (out);
    return rc;
}
