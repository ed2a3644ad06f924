/* watch_conf.c: key table and loader of the `watch` section. */
#include "watch_conf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "event.h"
#include "log.h"
#include "page_check.h"
#include "util.h"
#include "wire.h"

#define STR(n, d, fl, doc_) { .name = n, .type = CFG_T_STR, .def = d, .flags = fl, .doc = doc_ }
#define INT(n, d, lo, hi, doc_) { .name = n, .type = CFG_T_INT, .def = d, .min = lo, .max = hi, .doc = doc_ }
#define INT64(n, d, lo, hi, doc_) { .name = n, .type = CFG_T_INT64, .def = d, .min = lo, .max = hi, .doc = doc_ }
#define BOOL(n, d, doc_) { .name = n, .type = CFG_T_BOOL, .def = d, .doc = doc_ }
#define STRLIST(n, doc_) { .name = n, .type = CFG_T_STRLIST, .doc = doc_ }

static const cfg_key_t json_keys[] = {
    STR ("items", NULL, 0, "dotted path to the array of records, e.g. \"data.items\" (empty: the top level)"),
    STR ("id", NULL, 0, "dotted path, inside a record, of its stable identifier"),
    STR ("title", NULL, 0, "dotted path of the record's title"),
    STR ("link", NULL, 0, "dotted path of the record's URL (made absolute against the source URL)"),
    STR ("date", NULL, 0, "dotted path of the record's publication date (RFC 822, ISO 8601 or epoch seconds)"),
    STR ("summary", NULL, 0, "dotted path of the record's summary text"),
    { .name = NULL }
};

const cfg_key_t watch_conf_source_keys[] = {
    STR ("id", NULL, CFG_REQUIRED, "unique source id, [a-z0-9._-]; errors go to _sys.source.<id>"),
    STR ("topic", NULL, CFG_REQUIRED, "topic of the events, [a-z0-9._-], e.g. \"un.press\""),
    STR ("url", NULL, CFG_REQUIRED, "http://, https:// or file:// URL; {un_ga_session} is replaced at each fetch by the UN General Assembly session in progress"),
    { .name = "type", .type = CFG_T_ENUM, .def = "auto", .choices = "auto|feed|html|json",
      .doc = "document kind; auto detects feeds (RSS/RDF/Atom), JSON and HTML from the content" },
    INT ("interval", "300", 1, 7 * 86400, "poll interval in seconds (jittered by watch.jitter_percent)"),
    STR ("select", NULL, 0, "html: XPath or CSS selector of the watched region (default: the body)"),
    STR ("items", NULL, 0, "html: selector, inside the region, splitting it into one item per node"),
    STR ("item_title", NULL, 0, "html: per-item relative selector of the title"),
    STR ("item_link", NULL, 0, "html: per-item relative selector of the link (its @href is taken)"),
    STRLIST ("ignore", "noise removed before hashing: \"re:REGEX\" (text) or a selector (nodes); see docs/authoring.md and veille-watch --noise"),
    STRLIST ("include", "keywords; if given, at least one must match (accent- and case-insensitive, \"cyber*\" for a prefix)"),
    STRLIST ("exclude", "keywords; an item matching any of them is dropped"),
    STRLIST ("headers", "extra request headers, \"Name: value\""),
    STR ("auth_env", NULL, 0, "environment variable holding \"user:password\" for HTTP basic auth"),
    STR ("auth_file", NULL, 0, "file (mode 0600 or stricter) holding \"user:password\" for HTTP basic auth"),
    STR ("charset", NULL, 0, "force the document charset (overrides HTTP header, BOM and meta tags)"),
    { .name = "json", .type = CFG_T_GROUP, .children = json_keys,
      .doc = "json: where to find records and their fields (dotted paths)" },
    INT ("fail_threshold", NULL, 1, 1000, "consecutive failures before an error event (default: watch.fail_threshold)"),
    BOOL ("removed", "true", "publish `removed` when an item disappears while items listed after it remain, counting those the keywords drop (items falling off the end of a list are not news)"),
    { .name = NULL }
};

const cfg_key_t watch_conf_keys[] = {
    STR ("broker", WIRE_DEFAULT_PUBLISH, 0, "broker publish endpoint"),
    STR ("state", NULL, CFG_REQUIRED, "SQLite file holding the watcher state and outbox (created)"),
    STR ("user_agent", "veille/" VEILLE_VERSION, 0, "HTTP User-Agent"),
    STR ("log_file", NULL, 0, "log file (reopened on SIGHUP; a new value needs a restart); default stderr"),
    STR ("metrics_listen", NULL, 0, "serve Prometheus metrics on http://HOST:PORT/metrics "
         "(loopback address, e.g. \"127.0.0.1:9102\"); absent or \"\" = off"),
    STR ("curve_secret_key", NULL, 0, "CURVE: this watcher's secret key file (veille keygen); enables CURVE"),
    STR ("curve_server_key", NULL, 0, "CURVE: the broker's public key file (required with curve_secret_key)"),
    INT ("max_concurrency", "32", 1, 1024, "transfers in flight at once"),
    INT ("per_host_concurrency", "2", 1, 64, "transfers in flight at once per host"),
    INT ("per_host_interval_ms", "0", 0, 3600000, "minimum delay between two requests to the same host"),
    INT ("connect_timeout_s", "10", 1, 600, "connection timeout"),
    INT ("timeout_s", "30", 1, 3600, "whole transfer timeout"),
    INT64 ("max_body_bytes", "8388608", 1024, 1073741824LL, "cap on a body, downloaded and decompressed alike"),
    INT ("max_redirects", "5", 0, 50, "redirects followed (to http/https only)"),
    INT ("fail_threshold", "3", 1, 1000, "consecutive failures before a source's error event"),
    INT ("backoff_max_s", "3600", 1, 7 * 86400, "longest delay between retries of a failing source"),
    INT ("jitter_percent", "10", 0, 50, "random spread of poll intervals, +- percent"),
    BOOL ("publish_existing", "false", "publish the items found on a source's first poll (default: record them silently)"),
    INT ("drain_timeout_s", "30", 0, 3600, "--once: how long to wait for the broker to ack the outbox"),
    INT ("item_retention_days", "90", 0, 36500,
         "forget items absent from their document for this long (0 = never); one that comes back is `new` again"),
    { .name = "sources", .type = CFG_T_LIST, .children = watch_conf_source_keys,
      .doc = "the watched sources: a list of groups" },
    { .name = NULL }
};

bool watch_conf_url_ok (const char *s)
{
    if (!s)
        return false;
    static const char *const schemes[] = { "http://", "https://", "file://" };
    for (size_t i = 0; i < VL_ARRAY_LEN (schemes); i++) {
        size_t n = strlen (schemes[i]);
        if (strncasecmp (s, schemes[i], n) == 0 && s[n] != '\0')
            return true;
    }
    return false;
}

static bool id_valid (const char *id)
{
    return id && event_topic_valid (id, strlen (id));
}

/* Copies an optional string key; returns false on OOM. */
static bool copy_str (const config_setting_t *grp, const char *key, char **dst)
{
    const char *v = cfg_get_str (grp, key, NULL);
    if (!v || !*v) {
        *dst = NULL;
        return true;
    }
    *dst = strdup (v);
    return *dst != NULL;
}

static bool copy_list (const config_setting_t *grp, const char *key,
                       char ***dst, size_t *n)
{
    *dst = cfg_get_strlist (grp, key, n);
    return *dst != NULL;
}

static source_type_t parse_type (const char *t)
{
    if (t && strcmp (t, "feed") == 0)
        return SOURCE_FEED;
    if (t && strcmp (t, "html") == 0)
        return SOURCE_HTML;
    if (t && strcmp (t, "json") == 0)
        return SOURCE_JSON;
    return SOURCE_AUTO;
}

static bool load_json (const config_setting_t *grp, source_t *s)
{
    const config_setting_t *j = config_setting_get_member (grp, "json");
    if (!j)
        return true;
    return copy_str (j, "items", &s->json_items) && copy_str (j, "id", &s->json_id)
        && copy_str (j, "title", &s->json_title) && copy_str (j, "link", &s->json_link)
        && copy_str (j, "date", &s->json_date) && copy_str (j, "summary", &s->json_summary);
}

/* Checks what the key table cannot; logs each problem. */
static bool source_checks (const config_setting_t *grp, const source_t *s)
{
    bool ok = true;
    if (!id_valid (s->id)) {
        log_error ("%s: source id '%s': use 1..255 bytes of [a-z0-9._-]",
                   cfg_where (grp), s->id ? s->id : "");
        ok = false;
    }
    if (!s->topic || !event_topic_valid (s->topic, strlen (s->topic))) {
        log_error ("%s: source '%s': topic '%s': use 1..255 bytes of [a-z0-9._-]",
                   cfg_where (grp), s->id ? s->id : "", s->topic ? s->topic : "");
        ok = false;
    } else if (strncmp (s->topic, WIRE_TOPIC_SYS, strlen (WIRE_TOPIC_SYS)) == 0) {
        log_error ("%s: source '%s': topic '%s': '_sys.' is reserved",
                   cfg_where (grp), s->id, s->topic);
        ok = false;
    }
    if (!watch_conf_url_ok (s->url)) {
        log_error ("%s: source '%s': url '%s': only http://, https:// and file:// URLs",
                   cfg_where (grp), s->id ? s->id : "", s->url ? s->url : "");
        ok = false;
    }
    if (s->auth_env && s->auth_file) {
        log_error ("%s: source '%s': auth_env and auth_file are exclusive",
                   cfg_where (grp), s->id ? s->id : "");
        ok = false;
    }
    for (size_t i = 0; i < s->nheaders; i++) {
        const char *h = s->headers[i];
        if (!strchr (h, ':') || strpbrk (h, "\r\n") || h[0] == ':') {
            log_error ("%s: source '%s': header '%s': expected \"Name: value\"",
                       cfg_where (grp), s->id ? s->id : "", h);
            ok = false;
        }
    }
    /* the selectors and regexes are checked even when something above is
     * wrong, so that `veille check` reports every layer in one run */
    if (s->select || s->items || s->item_title || s->item_link || s->nignore) {
        char why[256] = "";
        if (page_check (s, why, sizeof why) != VL_OK) {
            log_error ("%s: source '%s': %s", cfg_where (grp), s->id ? s->id : "",
                       why[0] ? why : "bad selector");
            ok = false;
        }
    }
    return ok;
}

vl_err_t watch_conf_source (const config_setting_t *grp, int default_fail,
                            source_t *out)
{
    memset (out, 0, sizeof *out);
    source_t *s = out;
    bool mem = copy_str (grp, "id", &s->id) && copy_str (grp, "topic", &s->topic)
        && copy_str (grp, "url", &s->url) && copy_str (grp, "select", &s->select)
        && copy_str (grp, "items", &s->items) && copy_str (grp, "item_title", &s->item_title)
        && copy_str (grp, "item_link", &s->item_link)
        && copy_list (grp, "ignore", &s->ignore, &s->nignore)
        && copy_list (grp, "include", &s->include, &s->ninclude)
        && copy_list (grp, "exclude", &s->exclude, &s->nexclude)
        && copy_list (grp, "headers", &s->headers, &s->nheaders)
        && copy_str (grp, "auth_env", &s->auth_env) && copy_str (grp, "auth_file", &s->auth_file)
        && copy_str (grp, "charset", &s->charset) && load_json (grp, s);
    if (!mem) {
        source_free (s);
        memset (s, 0, sizeof *s);
        return VL_ENOMEM;
    }
    s->type = parse_type (cfg_get_str (grp, "type", "auto"));
    s->interval_s = cfg_get_int (grp, "interval", 300);
    s->fail_threshold = cfg_get_int (grp, "fail_threshold", default_fail);
    s->removed = cfg_get_bool (grp, "removed", true);
    if (s->fail_threshold < 1)
        s->fail_threshold = default_fail > 0 ? default_fail : 3;
    if (!source_checks (grp, s)) {
        source_free (s);
        memset (s, 0, sizeof *s);
        return VL_ECONFIG;
    }
    return VL_OK;
}

static bool copy_opts (const config_setting_t *w, watch_conf_t *c)
{
    if (!copy_str (w, "broker", &c->broker) || !copy_str (w, "state", &c->state)
        || !copy_str (w, "user_agent", &c->user_agent)
        || !copy_str (w, "log_file", &c->log_file)
        || !copy_str (w, "metrics_listen", &c->metrics_listen)
        || !copy_str (w, "curve_secret_key", &c->curve_secret_key)
        || !copy_str (w, "curve_server_key", &c->curve_server_key))
        return false;
    c->max_concurrency = cfg_get_int (w, "max_concurrency", 32);
    c->per_host_concurrency = cfg_get_int (w, "per_host_concurrency", 2);
    c->per_host_interval_ms = cfg_get_int (w, "per_host_interval_ms", 0);
    c->connect_timeout_s = cfg_get_int (w, "connect_timeout_s", 10);
    c->timeout_s = cfg_get_int (w, "timeout_s", 30);
    c->max_body_bytes = cfg_get_int64 (w, "max_body_bytes", 8 * 1024 * 1024);
    c->max_redirects = cfg_get_int (w, "max_redirects", 5);
    c->fail_threshold = cfg_get_int (w, "fail_threshold", 3);
    c->backoff_max_s = cfg_get_int (w, "backoff_max_s", 3600);
    c->jitter_percent = cfg_get_int (w, "jitter_percent", 10);
    c->publish_existing = cfg_get_bool (w, "publish_existing", false);
    c->drain_timeout_s = cfg_get_int (w, "drain_timeout_s", 30);
    c->item_retention_days = cfg_get_int (w, "item_retention_days", 90);
    return true;
}

/* Orders indexes into IDS (an array of strings) by id, then by position. */
static int cmp_by_id (const void *a, const void *b, void *ids)
{
    const char *const *v = ids;
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    int c = strcmp (v[x], v[y]);
    return c ? c : (x > y) - (x < y);
}

/* Logs every entry of LIST whose id an earlier entry already uses, read
 * from the configuration (so also among sources that failed other checks;
 * sorted ids: 10,000 sources compared in n log n, not n^2 / 2). */
static bool unique_ids (const config_setting_t *list)
{
    size_t n = (size_t) config_setting_length (list);
    if (n < 2)
        return true;
    size_t *order = malloc (n * sizeof *order);
    const char **ids = calloc (n, sizeof *ids);
    if (!order || !ids) {
        free (order);
        free (ids);
        log_error ("%s: out of memory", cfg_where (list));
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        ids[i] = cfg_get_str (config_setting_get_elem (list, (unsigned) i), "id", "");
    }
    qsort_r (order, n, sizeof *order, cmp_by_id, (void *) ids);
    bool ok = true;
    for (size_t k = 1; k < n; k++)
        if (*ids[order[k]] && strcmp (ids[order[k]], ids[order[k - 1]]) == 0) {
            const config_setting_t *g = config_setting_get_elem (list, (unsigned) order[k]);
            log_error ("%s: source id '%s' is used twice", cfg_where (g ? g : list),
                       ids[order[k]]);
            ok = false;
        }
    free (order);
    free (ids);
    return ok;
}

static vl_err_t load_sources (const config_setting_t *w, watch_conf_t *c)
{
    const config_setting_t *list = config_setting_get_member (w, "sources");
    if (!list)
        return VL_OK;
    int n = config_setting_length (list);
    if (n <= 0)
        return VL_OK;
    c->sources = calloc ((size_t) n, sizeof *c->sources);
    if (!c->sources)
        return VL_ENOMEM;
    vl_err_t first = VL_OK;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem (list, (unsigned) i);
        vl_err_t e = watch_conf_source (g, c->fail_threshold, &c->sources[c->nsources]);
        if (e == VL_OK)
            c->nsources++;
        else if (first == VL_OK || e == VL_ENOMEM)
            first = e;
    }
    if (!unique_ids (list) && first == VL_OK)
        first = VL_ECONFIG;
    return first;
}

vl_err_t watch_conf_load (cfg_t *cfg, watch_conf_t *out)
{
    memset (out, 0, sizeof *out);
    config_setting_t *w = cfg_section (cfg, "watch");
    if (!w) {
        log_error ("%s: no 'watch' section", cfg_path (cfg));
        return VL_ECONFIG;
    }
    vl_err_t e = copy_opts (w, out) ? VL_OK : VL_ENOMEM;
    if (e == VL_OK && (out->curve_secret_key != NULL) != (out->curve_server_key != NULL)) {
        log_error ("%s: curve_secret_key and curve_server_key go together", cfg_where (w));
        e = VL_ECONFIG;
    }
    if (e == VL_OK && (!cfg_check_path (w, "curve_secret_key", false)
                       | !cfg_check_path (w, "curve_server_key", false)))
        e = VL_ECONFIG;
    if (e != VL_ENOMEM && !out->state) {
        log_error ("%s: state: required", cfg_where (w));
        e = VL_ECONFIG;
    }
    if (e != VL_ENOMEM) {
        vl_err_t es = load_sources (w, out);
        if (e == VL_OK || es == VL_ENOMEM)
            e = es;
    }
    if (e != VL_OK)
        watch_conf_free (out);
    return e;
}

vl_err_t watch_conf_read (const char *path, watch_conf_t *out)
{
    memset (out, 0, sizeof *out);
    const cfg_section_t sections[] = { { "watch", watch_conf_keys, true } };
    vl_err_t e;
    char *errors = NULL;
    cfg_t *cfg = cfg_load (path, sections, 1, &e, &errors);
    for (char *line = errors, *nl; line && *line; line = nl ? nl + 1 : line + strlen (line)) {
        nl = strchr (line, '\n');
        log_error ("%.*s", nl ? (int) (nl - line) : (int) strlen (line), line);
    }
    if (!cfg && !errors)
        log_error ("%s: cannot load the configuration: %s", path, vl_strerror (e));
    free (errors);
    if (!cfg)
        return e;
    e = watch_conf_load (cfg, out);
    cfg_destroy (&cfg);
    return e;
}

static void hash_str (buf_t *b, const char *s)
{
    /* A NULL and an empty string differ; 0x1f separates fields. */
    buf_puts (b, s ? "+" : "-");
    if (s)
        buf_puts (b, s);
    buf_putc (b, '\x1f');
}

static void hash_list (buf_t *b, char **l, size_t n)
{
    buf_printf (b, "%zu", n);
    for (size_t i = 0; i < n; i++)
        hash_str (b, l[i]);
}

/* the settings of one source, from the configuration file */
#define SOURCE_HASH_TEXT_MAX (16u << 20)

void watch_conf_source_hash (const source_t *src, char out[33])
{
    buf_t b;
    buf_init (&b, SOURCE_HASH_TEXT_MAX);
    buf_printf (&b, "v1 %d", (int) src->type);
    const char *fields[] = { src->url, src->select, src->items, src->item_title,
                             src->item_link, src->json_items, src->json_id, src->json_title,
                             src->json_link, src->json_date, src->json_summary, src->charset };
    for (size_t i = 0; i < VL_ARRAY_LEN (fields); i++)
        hash_str (&b, fields[i]);
    hash_list (&b, src->ignore, src->nignore);
    hash_list (&b, src->include, src->ninclude);
    hash_list (&b, src->exclude, src->nexclude);
    util_hash_hex (b.data ? b.data : "", b.len, out);
    buf_free (&b);
}

void watch_conf_free (watch_conf_t *self)
{
    if (!self)
        return;
    free (self->broker);
    free (self->state);
    free (self->user_agent);
    free (self->log_file);
    free (self->metrics_listen);
    free (self->curve_secret_key);
    free (self->curve_server_key);
    for (size_t i = 0; i < self->nsources; i++)
        source_free (&self->sources[i]);
    free (self->sources);
    memset (self, 0, sizeof *self);
}
