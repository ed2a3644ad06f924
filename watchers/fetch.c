/* fetch.c: libcurl multi fetcher with caps, validators and per-host limits. */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#define FETCH_MAX_VALIDATOR 1024   /* bytes of an ETag / Last-Modified kept */

typedef struct host {
    char   *name;
    int     running;
    int64_t last_start;    /* monotonic ms; 0 = never */
    size_t  queued;        /* requests (not file://) waiting in the queue */
    unsigned scan;         /* start_ready pass that found it full */
} host_t;

typedef struct req {
    struct req        *next;
    const source_t    *src;
    char              *etag, *last_modified;
    void              *tag;
    char              *host;
    char              *url;         /* src->url at this fetch (source_url) */
    size_t             host_i;      /* index in fetch.hosts */
    bool               is_file;
    CURL              *easy;
    struct curl_slist *headers;
    buf_t              body;
    bool               too_big;
    int64_t            started;
    char               errbuf[CURL_ERROR_SIZE];
    fetch_result_t     res;
} req_t;

typedef struct {
    req_t *head, *tail;
    size_t n;
} req_queue_t;

struct fetch {
    fetch_opts_t o;
    char        *user_agent;
    CURLM       *multi;
    req_queue_t  queued, done, inflight;
    size_t       running;
    host_t      *hosts;
    size_t       nhosts, caphosts;
    int64_t      next_slot;   /* monotonic ms when a host interval ends; 0 = none */
    unsigned     scan;        /* start_ready pass counter */
    CURL       **spare;       /* finished easy handles kept for reuse (reset) */
    size_t       nspare, capspare;
};

static void queue_push (req_queue_t *q, req_t *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->n++;
}

static req_t *queue_pop (req_queue_t *q)
{
    req_t *r = q->head;
    if (!r)
        return NULL;
    q->head = r->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    r->next = NULL;
    return r;
}

/* Removes R whose predecessor is PREV (NULL for the head). */
static void queue_unlink (req_queue_t *q, req_t *prev, req_t *r)
{
    if (prev)
        prev->next = r->next;
    else
        q->head = r->next;
    if (q->tail == r)
        q->tail = prev;
    q->n--;
    r->next = NULL;
}

void fetch_result_clear (fetch_result_t *self)
{
    if (!self)
        return;
    free (self->body);
    free (self->final_url);
    free (self->content_type);
    free (self->etag);
    free (self->last_modified);
    memset (self, 0, sizeof *self);
}

static void req_free (req_t *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup (r->easy);
    curl_slist_free_all (r->headers);
    buf_free (&r->body);
    free (r->etag);
    free (r->last_modified);
    free (r->host);
    free (r->url);
    fetch_result_clear (&r->res);
    free (r);
}

static void opts_defaults (fetch_opts_t *o)
{
    if (o->max_concurrency <= 0)
        o->max_concurrency = 32;
    if (o->per_host_concurrency <= 0)
        o->per_host_concurrency = 2;
    if (o->per_host_interval_ms < 0)
        o->per_host_interval_ms = 0;
    if (o->connect_timeout_s <= 0)
        o->connect_timeout_s = 10;
    if (o->timeout_s <= 0)
        o->timeout_s = 30;
    if (o->max_body_bytes <= 0)
        o->max_body_bytes = 8 * 1024 * 1024;
    if (o->max_redirects < 0)
        o->max_redirects = 5;
}

fetch_t *fetch_new (const fetch_opts_t *opts, vl_err_t *err)
{
    fetch_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    if (opts)
        self->o = *opts;
    opts_defaults (&self->o);
    self->user_agent = strdup (self->o.user_agent ? self->o.user_agent : "veille/" VEILLE_VERSION);
    self->o.user_agent = self->user_agent;
    self->multi = curl_multi_init ();
    if (!self->user_agent || !self->multi) {
        fetch_destroy (&self);
        *err = VL_ENOMEM;
        return NULL;
    }
    curl_multi_setopt (self->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) self->o.max_concurrency);
    /* Connections (and the DNS cache) belong to the multi handle and are
     * reused across transfers: keep one idle connection per slot. */
    curl_multi_setopt (self->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                       (long) self->o.per_host_concurrency);
    curl_multi_setopt (self->multi, CURLMOPT_MAXCONNECTS, (long) self->o.max_concurrency);
    self->capspare = (size_t) self->o.max_concurrency;
    self->spare = calloc (self->capspare ? self->capspare : 1, sizeof *self->spare);
    if (!self->spare) {
        fetch_destroy (&self);
        *err = VL_ENOMEM;
        return NULL;
    }
    *err = VL_OK;
    return self;
}

static void free_queue (req_queue_t *q)
{
    req_t *r;
    while ((r = queue_pop (q)))
        req_free (r);
}

void fetch_destroy (fetch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fetch_t *self = *self_p;
    if (self->multi) {
        req_t *r;
        while ((r = queue_pop (&self->inflight))) {
            curl_multi_remove_handle (self->multi, r->easy);
            req_free (r);
        }
        curl_multi_cleanup (self->multi);
    }
    free_queue (&self->queued);
    free_queue (&self->done);
    for (size_t i = 0; i < self->nspare; i++)
        curl_easy_cleanup (self->spare[i]);
    free (self->spare);
    for (size_t i = 0; i < self->nhosts; i++)
        free (self->hosts[i].name);
    free (self->hosts);
    free (self->user_agent);
    free (self);
    *self_p = NULL;
}

/* Host part of URL (lower case), "" for file://. Caller frees; NULL on error. */
static char *url_host (const char *url, bool *is_file)
{
    *is_file = strncasecmp (url, "file:", 5) == 0;
    if (*is_file)
        return strdup ("");
    CURLU *u = curl_url ();
    if (!u)
        return NULL;
    char *host = NULL, *out = NULL;
    if (curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK
        && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        out = strdup (host);
        for (char *p = out; p && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char) (*p - 'A' + 'a');
    }
    curl_free (host);
    curl_url_cleanup (u);
    return out;
}

static host_t *host_get (fetch_t *self, const char *name)
{
    for (size_t i = 0; i < self->nhosts; i++)
        if (strcmp (self->hosts[i].name, name) == 0)
            return &self->hosts[i];
    if (self->nhosts == self->caphosts) {
        size_t cap = self->caphosts ? self->caphosts * 2 : 16;
        host_t *h = realloc (self->hosts, cap * sizeof *h);
        if (!h)
            return NULL;
        self->hosts = h;
        self->caphosts = cap;
    }
    host_t *h = &self->hosts[self->nhosts];
    h->name = strdup (name);
    if (!h->name)
        return NULL;
    h->running = 0;
    h->last_start = 0;
    h->queued = 0;
    h->scan = 0;
    self->nhosts++;
    return h;
}

vl_err_t fetch_add (fetch_t *self, const source_t *src, const char *etag,
                    const char *last_modified, void *tag)
{
    req_t *r = calloc (1, sizeof *r);
    if (!r)
        return VL_ENOMEM;
    r->src = src;
    r->tag = tag;
    r->url = source_url (src, util_now_ms ());
    r->host = r->url ? url_host (r->url, &r->is_file) : NULL;
    if (!r->host) {
        log_warn ("source %s: cannot parse URL '%s'", src->id, src->url);
        req_free (r);
        return VL_EINVAL;
    }
    r->etag = util_strdup (etag);
    r->last_modified = util_strdup (last_modified);
    if ((etag && !r->etag) || (last_modified && !r->last_modified)) {
        req_free (r);
        return VL_ENOMEM;
    }
    host_t *h = host_get (self, r->host);
    if (!h) {
        req_free (r);
        return VL_ENOMEM;
    }
    r->host_i = (size_t) (h - self->hosts);
    if (!r->is_file)
        h->queued++;
    queue_push (&self->queued, r);
    return VL_OK;
}

/* ---- callbacks ---------------------------------------------------------- */

static size_t on_write (char *data, size_t size, size_t nmemb, void *arg)
{
    req_t *r = arg;
    size_t n = size * nmemb;
    vl_err_t e = buf_append (&r->body, data, n);
    if (e == VL_ETOOBIG)
        r->too_big = true;
    return e == VL_OK ? n : 0;   /* 0 aborts the transfer */
}

static int on_progress (void *arg, curl_off_t dltotal, curl_off_t dlnow,
                        curl_off_t ultotal, curl_off_t ulnow)
{
    req_t *r = arg;
    /* Raw (possibly compressed) bytes; the decompressed ones are counted
     * in on_write. */
    if (dlnow > (curl_off_t) r->body.max) {
        r->too_big = true;
        return 1;
    }
    return 0;
}

/* ---- starting a transfer ------------------------------------------------ */

static bool header_set (const source_t *src, const char *name)
{
    size_t n = strlen (name);
    for (size_t i = 0; i < src->nheaders; i++)
        if (strncasecmp (src->headers[i], name, n) == 0 && src->headers[i][n] == ':')
            return true;
    return false;
}

static bool add_header (struct curl_slist **list, const char *name, const char *value)
{
    buf_t b;
    buf_init (&b, 4096);
    bool ok = buf_printf (&b, "%s: %s", name, value) == VL_OK;
    struct curl_slist *l = ok ? curl_slist_append (*list, b.data) : NULL;
    buf_free (&b);
    if (!l)
        return false;
    *list = l;
    return true;
}

static vl_err_t build_headers (req_t *r)
{
    const source_t *src = r->src;
    for (size_t i = 0; i < src->nheaders; i++) {
        struct curl_slist *l = curl_slist_append (r->headers, src->headers[i]);
        if (!l)
            return VL_ENOMEM;
        r->headers = l;
    }
    if (!header_set (src, "Accept")
        && !add_header (&r->headers, "Accept",
                        "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                        "text/xml;q=0.9, application/json;q=0.9, text/html;q=0.8, */*;q=0.5"))
        return VL_ENOMEM;
    if (r->etag && !add_header (&r->headers, "If-None-Match", r->etag))
        return VL_ENOMEM;
    if (r->last_modified && !add_header (&r->headers, "If-Modified-Since", r->last_modified))
        return VL_ENOMEM;
    return VL_OK;
}

static vl_err_t set_auth (req_t *r)
{
    const source_t *src = r->src;
    if (!src->auth_env && !src->auth_file)
        return VL_OK;
    char *secret = NULL;
    vl_err_t e = util_read_secret (src->auth_env, src->auth_file, &secret);
    if (e != VL_OK) {
        log_error ("source %s: cannot read the auth secret (%s): %s", src->id,
                   src->auth_env ? src->auth_env : src->auth_file, vl_strerror (e));
        return VL_EDENIED;
    }
    curl_easy_setopt (r->easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
    CURLcode c = curl_easy_setopt (r->easy, CURLOPT_USERPWD, secret);
    explicit_bzero (secret, strlen (secret));
    free (secret);
    return c == CURLE_OK ? VL_OK : VL_ENOMEM;
}

static vl_err_t setup_easy (fetch_t *self, req_t *r)
{
    const fetch_opts_t *o = &self->o;
    CURL *e = r->easy = self->nspare ? self->spare[--self->nspare] : curl_easy_init ();
    if (!e)
        return VL_ENOMEM;
    buf_init (&r->body, (size_t) o->max_body_bytes);
    curl_easy_setopt (e, CURLOPT_PRIVATE, (char *) r);
    curl_easy_setopt (e, CURLOPT_URL, r->url);
    curl_easy_setopt (e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt (e, CURLOPT_PIPEWAIT, 1L);   /* HTTP/2: share a connection */
    curl_easy_setopt (e, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt (e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt (e, CURLOPT_MAXREDIRS, (long) o->max_redirects);
    curl_easy_setopt (e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt (e, CURLOPT_CONNECTTIMEOUT, (long) o->connect_timeout_s);
    curl_easy_setopt (e, CURLOPT_TIMEOUT, (long) o->timeout_s);
    curl_easy_setopt (e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) o->max_body_bytes);
    curl_easy_setopt (e, CURLOPT_USERAGENT, o->user_agent);
    curl_easy_setopt (e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt (e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt (e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt (e, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt (e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt (e, CURLOPT_ERRORBUFFER, r->errbuf);
    vl_err_t err = build_headers (r);
    if (err == VL_OK)
        curl_easy_setopt (e, CURLOPT_HTTPHEADER, r->headers);
    if (err == VL_OK)
        err = set_auth (r);
    return err;
}

/* ---- finishing a transfer ----------------------------------------------- */

static void set_error (fetch_result_t *res, vl_err_t err, const char *what, const char *detail)
{
    res->err = err;
    /* Truncation is fine: a summary for logs and the error event title. */
    if (snprintf (res->error, sizeof res->error, "%s%s", what, detail ? detail : "") < 0)
        res->error[0] = '\0';
}

/* A validator worth keeping: short, printable ASCII. Caller frees. */
static char *validator (CURL *e, const char *name)
{
    struct curl_header *h = NULL;
    if (curl_easy_header (e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h || !h->value)
        return NULL;
    size_t n = strlen (h->value);
    if (n == 0 || n > FETCH_MAX_VALIDATOR)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) h->value[i] < 0x20 || (unsigned char) h->value[i] > 0x7e)
            return NULL;
    return strdup (h->value);
}

static void capture_info (req_t *r)
{
    fetch_result_t *res = &r->res;
    char *s = NULL;
    curl_easy_getinfo (r->easy, CURLINFO_RESPONSE_CODE, &res->status);
    if (curl_easy_getinfo (r->easy, CURLINFO_EFFECTIVE_URL, &s) == CURLE_OK && s)
        res->final_url = strdup (s);
    s = NULL;
    if (curl_easy_getinfo (r->easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s)
        res->content_type = util_strndup_utf8 (s, 256);
    if (!r->is_file) {
        res->etag = validator (r->easy, "ETag");
        res->last_modified = validator (r->easy, "Last-Modified");
    }
    res->elapsed_ms = util_mono_ms () - r->started;
}

static void classify_curl (req_t *r, CURLcode code)
{
    fetch_result_t *res = &r->res;
    const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror (code);
    if (r->too_big || code == CURLE_FILESIZE_EXCEEDED) {
        res->err = VL_ETOOBIG;
        snprintf (res->error, sizeof res->error, "too big (more than %zu bytes)", r->body.max);
    } else if (code == CURLE_OPERATION_TIMEDOUT)
        set_error (res, VL_ETIMEOUT, "timeout", NULL);
    else if (code == CURLE_UNSUPPORTED_PROTOCOL)
        set_error (res, VL_EDENIED, "redirect or protocol refused: ", detail);
    else if (code == CURLE_TOO_MANY_REDIRECTS)
        set_error (res, VL_EREMOTE, "too many redirects: ", detail);
    else if (code == CURLE_OUT_OF_MEMORY)
        set_error (res, VL_ENOMEM, "out of memory", NULL);
    else
        set_error (res, VL_ENET, "", detail);
}

static void classify_status (req_t *r)
{
    fetch_result_t *res = &r->res;
    long st = res->status;
    if (r->is_file || (st >= 200 && st < 300)) {
        res->err = VL_OK;
        res->len = r->body.len;
        res->body = buf_steal (&r->body);
        if (!res->body)
            set_error (res, VL_ENOMEM, "out of memory", NULL);
    } else if (st == 304) {
        res->err = VL_OK;
        res->not_modified = true;
    } else {
        res->err = VL_EREMOTE;
        snprintf (res->error, sizeof res->error, "HTTP %ld", st);
    }
}

static void finish (fetch_t *self, req_t *r, CURLcode code)
{
    capture_info (r);
    if (code == CURLE_OK && !r->too_big)
        classify_status (r);
    else
        classify_curl (r, code);
    if (r->res.err != VL_OK)
        log_debug ("source %s: fetch failed: %s", r->src->id, r->res.error);
    host_t *h = &self->hosts[r->host_i];
    if (h->running > 0)
        h->running--;
    self->running--;
    req_t *prev = NULL;
    for (req_t *x = self->inflight.head; x; prev = x, x = x->next)
        if (x == r) {
            queue_unlink (&self->inflight, prev, x);
            break;
        }
    curl_multi_remove_handle (self->multi, r->easy);
    if (self->nspare < self->capspare) {
        curl_easy_reset (r->easy);   /* options gone; caches stay with the multi */
        self->spare[self->nspare++] = r->easy;
    } else
        curl_easy_cleanup (r->easy);
    r->easy = NULL;
    queue_push (&self->done, r);
}

/* Fails R before it started (setup error): straight to the done queue. */
static void fail_early (fetch_t *self, req_t *r, vl_err_t err)
{
    r->res.err = err;
    snprintf (r->res.error, sizeof r->res.error, "%s",
              err == VL_EDENIED ? "auth secret unreadable" : vl_strerror (err));
    if (r->easy) {
        curl_easy_cleanup (r->easy);
        r->easy = NULL;
    }
    queue_push (&self->done, r);
}

/* True if R's host allows a start now; else notes when it may. */
static bool host_ready (fetch_t *self, host_t *h, bool is_file, int64_t now)
{
    if (is_file)
        return true;
    if (h->running >= self->o.per_host_concurrency)
        return false;
    int64_t gap = self->o.per_host_interval_ms;
    if (gap > 0 && h->last_start > 0 && now - h->last_start < gap) {
        int64_t at = h->last_start + gap;
        if (self->next_slot == 0 || at < self->next_slot)
            self->next_slot = at;
        return false;
    }
    return true;
}

static void start_one (fetch_t *self, req_t *r, host_t *h, int64_t now)
{
    vl_err_t e = setup_easy (self, r);
    if (e == VL_OK && curl_multi_add_handle (self->multi, r->easy) != CURLM_OK)
        e = VL_ENOMEM;
    if (e != VL_OK) {
        fail_early (self, r, e);
        return;
    }
    r->started = now;
    queue_push (&self->inflight, r);
    h->running++;
    h->last_start = now;
    self->running++;
}

/* Starts the queued requests the limits allow, in queue order. A host
 * found full is remembered for the rest of the pass, and the pass stops
 * once every queued request belongs to a full host: with thousands queued
 * behind one busy host, a pass costs no more than the requests it starts. */
static void start_ready (fetch_t *self)
{
    int64_t now = util_mono_ms ();
    self->next_slot = 0;
    unsigned scan = ++self->scan;
    size_t left = self->queued.n;   /* queued, not behind a full host */
    req_t *prev = NULL, *r = self->queued.head;
    while (r && left > 0 && self->running < (size_t) self->o.max_concurrency) {
        req_t *next = r->next;
        host_t *h = &self->hosts[r->host_i];
        if (!r->is_file && h->scan == scan)
            prev = r;                       /* counted out already */
        else if (host_ready (self, h, r->is_file, now)) {
            queue_unlink (&self->queued, prev, r);
            if (!r->is_file)
                h->queued--;
            left--;
            start_one (self, r, h, now);
        } else {
            h->scan = scan;
            left -= h->queued;
            prev = r;
        }
        r = next;
    }
}

vl_err_t fetch_perform (fetch_t *self)
{
    start_ready (self);
    int still = 0;
    CURLMcode mc = curl_multi_perform (self->multi, &still);
    if (mc != CURLM_OK) {
        log_error ("curl_multi_perform: %s", curl_multi_strerror (mc));
        return VL_ENET;
    }
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read (self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        req_t *r = NULL;
        curl_easy_getinfo (m->easy_handle, CURLINFO_PRIVATE, (char **) &r);
        finish (self, r, m->data.result);
    }
    /* Finished transfers may have freed slots. */
    if (self->queued.n > 0)
        start_ready (self);
    return VL_OK;
}

bool fetch_take (fetch_t *self, fetch_result_t *out, void **tag)
{
    req_t *r = queue_pop (&self->done);
    if (!r)
        return false;
    *out = r->res;
    memset (&r->res, 0, sizeof r->res);
    if (tag)
        *tag = r->tag;
    req_free (r);
    return true;
}

vl_err_t fetch_wait (fetch_t *self, struct curl_waitfd *extra, unsigned nextra,
                     int timeout_ms)
{
    if (self->done.n > 0)
        timeout_ms = 0;
    if (self->next_slot > 0) {
        int64_t left = self->next_slot - util_mono_ms ();
        if (left < 0)
            left = 0;
        if (left < timeout_ms)
            timeout_ms = (int) left;
    }
    if (timeout_ms < 0)
        timeout_ms = 0;
    CURLMcode mc = curl_multi_poll (self->multi, extra, nextra, timeout_ms, NULL);
    if (mc != CURLM_OK) {
        log_error ("curl_multi_poll: %s", curl_multi_strerror (mc));
        return VL_ENET;
    }
    return VL_OK;
}

void fetch_wakeup (fetch_t *self)
{
    curl_multi_wakeup (self->multi);
}

size_t fetch_active (const fetch_t *self)
{
    return self->queued.n + self->running + self->done.n;
}

vl_err_t fetch_one (fetch_t *self, const source_t *src, const char *etag,
                    const char *last_modified, fetch_result_t *out)
{
    memset (out, 0, sizeof *out);
    if (fetch_active (self) != 0)
        return VL_EAGAIN;
    vl_err_t e = fetch_add (self, src, etag, last_modified, NULL);
    if (e != VL_OK)
        return e;
    for (;;) {
        e = fetch_perform (self);
        if (e != VL_OK)
            return e;
        if (fetch_take (self, out, NULL))
            return VL_OK;
        e = fetch_wait (self, NULL, 0, 1000);
        if (e != VL_OK)
            return e;
    }
}
