/* preview.c: --test and --preview (see preview.h). */
#include "preview.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "fetch.h"
#include "log.h"
#include "parse.h"
#include "state.h"
#include "util.h"
#include "watcher.h"

#define PREVIEW_FILE_MAX  (64 * 1024 * 1024)
#define TRACE_SHOWN       5     /* removed texts shown per ignore rule */
#define TRACE_TEXT_MAX    160   /* bytes of each shown */
#define TRACE_RULES_MAX   128   /* ignore rules traced (the rest: not shown) */

const source_t *preview_find (const watch_conf_t *conf, const char *id)
{
    for (size_t i = 0; i < conf->nsources; i++)
        if (strcmp (conf->sources[i].id, id) == 0)
            return &conf->sources[i];
    log_error ("no source with id '%s'", id);
    return NULL;
}

void preview_doc_clear (preview_doc_t *doc)
{
    free (doc->body);
    free (doc->base_url);
    free (doc->content_type);
    memset (doc, 0, sizeof *doc);
}

static vl_err_t doc_from_file (const source_t *src, const char *file, preview_doc_t *doc)
{
    vl_err_t e = util_read_file (file, PREVIEW_FILE_MAX, &doc->body, &doc->len);
    if (e != VL_OK) {
        snprintf (doc->what, sizeof doc->what, "cannot read %s: %s", file, vl_strerror (e));
        return e;
    }
    doc->base_url = source_url (src, util_now_ms ());
    snprintf (doc->what, sizeof doc->what, "file %s, %zu bytes", file, doc->len);
    return doc->base_url ? VL_OK : VL_ENOMEM;
}

static vl_err_t doc_from_url (const watch_conf_t *conf, const source_t *src, preview_doc_t *doc)
{
    fetch_opts_t fo = watcher_fetch_opts (conf);
    vl_err_t e;
    fetch_t *f = fetch_new (&fo, &e);
    if (!f) {
        snprintf (doc->what, sizeof doc->what, "cannot start the fetcher: %s", vl_strerror (e));
        return e;
    }
    fetch_result_t res;
    memset (&res, 0, sizeof res);
    e = fetch_one (f, src, NULL, NULL, &res);
    if (e == VL_OK && res.err != VL_OK)
        e = res.err;
    if (e != VL_OK)
        snprintf (doc->what, sizeof doc->what, "%s", res.error[0] ? res.error : vl_strerror (e));
    else {
        snprintf (doc->what, sizeof doc->what, "fetched %s, %zu bytes",
                  res.final_url ? res.final_url : src->url, res.len);
        doc->body = res.body;
        doc->len = res.len;
        doc->base_url = res.final_url ? res.final_url : source_url (src, util_now_ms ());
        doc->content_type = res.content_type;
        res.body = res.final_url = res.content_type = NULL;
        e = doc->base_url ? VL_OK : VL_ENOMEM;
    }
    fetch_result_clear (&res);
    fetch_destroy (&f);
    return e;
}

vl_err_t preview_doc_load (const watch_conf_t *conf, const source_t *src, const char *file,
                           preview_doc_t *doc)
{
    memset (doc, 0, sizeof *doc);
    vl_err_t e = file ? doc_from_file (src, file, doc) : doc_from_url (conf, src, doc);
    if (e != VL_OK) {
        free (doc->body);
        free (doc->base_url);
        free (doc->content_type);
        doc->body = doc->base_url = doc->content_type = NULL;
    }
    return e;
}

/* ---- what the ignore rules removed ----------------------------------------- */

typedef struct {
    const source_t *src;
    size_t          count[TRACE_RULES_MAX];
    char           *shown[TRACE_RULES_MAX][TRACE_SHOWN];
} trace_t;

static void on_trace (void *arg, const char *rule, const char *removed)
{
    trace_t *t = arg;
    for (size_t i = 0; i < t->src->nignore && i < TRACE_RULES_MAX; i++)
        if (t->src->ignore[i] == rule) {
            if (t->count[i] < TRACE_SHOWN)
                t->shown[i][t->count[i]] = strndup (removed, TRACE_TEXT_MAX);
            t->count[i]++;
            return;
        }
}

static void trace_clear (trace_t *t)
{
    for (size_t i = 0; i < TRACE_RULES_MAX; i++)
        for (size_t k = 0; k < TRACE_SHOWN; k++)
            free (t->shown[i][k]);
}

/* Writes S on one line (newlines shown as " / "), quoted. */
static void put_oneline (FILE *out, const char *s)
{
    fputc ('"', out);
    for (; *s; s++)
        if (*s == '\n')
            fputs (" / ", out);
        else
            fputc (*s, out);
    fputc ('"', out);
}

/* Writes TEXT line by line, each after PREFIX. */
static void put_lines (FILE *out, const char *prefix, const char *text)
{
    while (text && *text) {
        size_t n = strcspn (text, "\n");
        fprintf (out, "%s%.*s\n", prefix, (int) n, text);
        text += n + (text[n] == '\n');
    }
}

static void report_ignores (FILE *out, const trace_t *t)
{
    const source_t *src = t->src;
    if (src->nignore == 0) {
        fprintf (out, "ignore rules: none\n");
        return;
    }
    fprintf (out, "ignore rules:\n");
    for (size_t i = 0; i < src->nignore && i < TRACE_RULES_MAX; i++) {
        fprintf (out, "  [%zu] ignore \"%s\": ", i + 1, src->ignore[i]);
        if (t->count[i] == 0) {
            fprintf (out, "removed nothing%s\n",
                     src->type == SOURCE_HTML || src->type == SOURCE_AUTO ? "" : " (not a page)");
            continue;
        }
        fprintf (out, "removed %zu %s\n", t->count[i],
                 src->ignore[i][0] == 'r' && strncmp (src->ignore[i], "re:", 3) == 0
                     ? (t->count[i] > 1 ? "lines" : "line")
                     : (t->count[i] > 1 ? "elements" : "element"));
        for (size_t k = 0; k < t->count[i] && k < TRACE_SHOWN; k++) {
            fputs ("        - ", out);
            put_oneline (out, t->shown[i][k] ? t->shown[i][k] : "");
            fputc ('\n', out);
        }
        if (t->count[i] > TRACE_SHOWN)
            fprintf (out, "        (%zu more)\n", t->count[i] - TRACE_SHOWN);
    }
}

static void report_items (FILE *out, const source_t *src, const item_list_t *items)
{
    vl_err_t e;
    keywords_t *kw = watcher_keywords (src, &e);
    fprintf (out, "items: %zu\n", items->n);
    for (size_t i = 0; i < items->n; i++) {
        const parsed_item_t *it = &items->items[i];
        bool kept = !kw || keywords_check (kw, it, NULL, NULL);
        fprintf (out, "--- item %zu/%zu%s\n", i + 1, items->n,
                 kept ? "" : " (dropped by include/exclude: never alerted)");
        fprintf (out, "  title:    %s\n", it->title ? it->title : "");
        fprintf (out, "  link:     %s\n", it->link ? it->link : "");
        fprintf (out, "  identity: %s\n", it->identity ? it->identity : "");
        fprintf (out, "  hash:     %s (of the title and the text below)\n", it->hash);
        fprintf (out, "  text compared:\n");
        put_lines (out, "    | ", it->content);
    }
    keywords_destroy (&kw);
}

/* ---- against the stored state ---------------------------------------------------- */

static void emit_json (void *arg, const event_t *ev)
{
    watcher_print_event (arg, ev);
}

static void emit_report (void *arg, const event_t *ev)
{
    FILE *out = arg;
    fprintf (out, "  %s: %s\n", ev->type, ev->title ? ev->title : "");
    if (ev->url)
        fprintf (out, "    url: %s\n", ev->url);
    if (ev->ntags) {
        fprintf (out, "    tags:");
        for (size_t i = 0; i < ev->ntags; i++)
            fprintf (out, " %s", ev->tags[i]);
        fputc ('\n', out);
    }
    if (ev->diff && *ev->diff) {
        fprintf (out, "    diff:\n");
        put_lines (out, "      ", ev->diff);
    }
}

/* Compares ITEMS with the state in a transaction that is rolled back;
 * EMIT is told each event that would be published. */
static vl_err_t dry_detect (const watch_conf_t *conf, const source_t *src,
                            const item_list_t *items, detect_emit_fn emit, void *arg,
                            detect_stats_t *ds)
{
    vl_err_t e;
    state_t *st = state_open (access (conf->state, F_OK) == 0 ? conf->state : ":memory:", &e);
    if (!st)
        return e;
    keywords_t *kw = watcher_keywords (src, &e);
    if (e == VL_OK)
        e = state_begin (st);
    if (e == VL_OK) {
        state_source_t ss;   /* the previous document, for `removed` */
        vl_err_t g = state_source_get (st, src->id, &ss);
        e = g == VL_ENOTFOUND ? VL_OK : g;
        if (e == VL_OK)
            e = detect_items (st, src, kw, items, &ss, false, util_now_ms (), emit, arg, ds);
        state_source_clear (&ss);
        state_rollback (st);
    }
    keywords_destroy (&kw);
    state_destroy (&st);
    return e;
}

/* ---- the commands ------------------------------------------------------------------------ */

static const char *type_name (source_type_t t)
{
    static const char *const names[] = { "auto", "feed", "html", "json" };
    return names[t];
}

int preview_source (const watch_conf_t *conf, const char *id, preview_mode_t mode,
                    const preview_opts_t *o, FILE *out)
{
    const source_t *src = preview_find (conf, id);
    if (!src)
        return 2;
    preview_doc_t doc;
    const char *file = o && o->nfiles ? o->files[0] : NULL;
    if (preview_doc_load (conf, src, file, &doc) != VL_OK) {
        log_error ("source %s: %s", src->id, doc.what);
        return 1;
    }
    bool report = mode == PREVIEW_REPORT;
    if (report)
        fprintf (out, "source %s (type = \"%s\", topic %s)\n  %s\n  document: %s\n", src->id,
                 type_name (src->type), src->topic, src->url, doc.what);
    char why[300] = "";
    trace_t trace = { .src = src };
    parse_ctx_t ctx = { .base_url = doc.base_url, .content_type = doc.content_type,
                        .why = why, .whylen = sizeof why,
                        .trace = report ? on_trace : NULL, .trace_arg = &trace };
    item_list_t items = { 0 };
    int rc = 1;
    vl_err_t e = parse_document (src, &ctx, doc.body, doc.len, &items);
    if (e != VL_OK)
        log_error ("source %s: %s", src->id, why);
    if (e == VL_OK && report) {
        report_ignores (out, &trace);
        report_items (out, src, &items);
        fprintf (out, "alerts that would be sent now (against the state in %s):\n", conf->state);
    }
    detect_stats_t ds = { 0 };
    if (e == VL_OK)
        e = dry_detect (conf, src, &items, report ? emit_report : emit_json, out, &ds);
    if (e == VL_OK) {
        if (report && ds.new_items + ds.changed + ds.removed == 0)
            fprintf (out, "  none\n");
        fflush (out);
        fprintf (stderr, "veille-watch: test source=%s items=%zu filtered=%zu new=%zu "
                 "changed=%zu removed=%zu unchanged=%zu (nothing published)\n", src->id,
                 ds.items, ds.filtered, ds.new_items, ds.changed, ds.removed, ds.unchanged);
        rc = 0;
    }
    trace_clear (&trace);
    item_list_free (&items);
    preview_doc_clear (&doc);
    return rc;
}
