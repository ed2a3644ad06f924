/* web.c: the console's HTTP server (see web.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive.h"
#include "assets.h"
#include "format.h"
#include "health.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "pages.h"
#include "sink_atom.h"
#include "util.h"
#include "web.h"

#define COOKIE_NAME "veille_console"

static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct web {
    struct MHD_Daemon *httpd;
    int                port;
    char              *archive, *token, *watch_state;
    live_t            *live;        /* the live streams */
};

bool
web_token_valid (const char *t)
{
    size_t n = t ? strlen (t) : 0;
    if (n < WEB_TOKEN_MIN || n > WEB_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')
              || (t[i] >= '0' && t[i] <= '9') || strchr ("._~-", t[i])))
            return false;
    return true;
}

/* --- answers -------------------------------------------------------------- */

/* Queues BODY (LEN bytes, freed by MHD) with the security headers. */
static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, const char *ctype, char *body, size_t len,
       const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (r, "Content-Type", ctype);
    MHD_add_response_header (r, "Content-Security-Policy", CSP);
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (r, "X-Frame-Options", "DENY");
    MHD_add_response_header (r, "Cache-Control", "no-store");
    if (cookie)
        MHD_add_response_header (r, "Set-Cookie", cookie);
    if (status == 405)
        MHD_add_response_header (r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return ret;
}

/* Sends OUT (a rendered page) or, if RC says rendering failed, a 500. */
static enum MHD_Result
reply_buf (struct MHD_Connection *conn, unsigned status, const char *ctype, buf_t *out,
           vl_err_t rc, const char *cookie)
{
    if (rc != VL_OK || !out->data) {
        buf_free (out);
        return reply (conn, 500, "text/plain; charset=utf-8", strdup ("cannot render\n"), 14,
                      NULL);
    }
    size_t len = out->len;
    return reply (conn, status, ctype, buf_steal (out), len, cookie);
}

static enum MHD_Result
reply_error (struct MHD_Connection *conn, unsigned status, const char *msg)
{
    buf_t out;
    buf_init (&out, 64 * 1024);
    vl_err_t rc = pages_error (&out, msg);
    return reply_buf (conn, status, "text/html; charset=utf-8", &out, rc, NULL);
}

/* --- token ---------------------------------------------------------------- */

static bool
token_eq (const char *want, const char *got)
{
    size_t n = strlen (want);
    return got && strlen (got) == n && sodium_memcmp (want, got, n) == 0;
}

/* True if HOST (the Host header) names the loopback: "127.x.y.z",
 * "localhost" or "[::1]", with or without a port. Without a token this is
 * what stops DNS rebinding (a web page whose name resolves to 127.0.0.1
 * reading the console through the visitor's browser). */
static bool
host_is_loopback (const char *host)
{
    if (!host)
        return false;
    char name[128];
    size_t n = strlen (host);
    if (n >= sizeof name)
        return false;
    memcpy (name, host, n + 1);
    char *colon = strrchr (name, ':');
    if (colon && name[0] != '[')
        *colon = '\0';
    else if (name[0] == '[' && (colon = strstr (name, "]:")) != NULL)
        colon[1] = '\0';
    struct in_addr a4;
    if (strcmp (name, "localhost") == 0 || strcmp (name, "[::1]") == 0)
        return true;
    return inet_pton (AF_INET, name, &a4) == 1 && (ntohl (a4.s_addr) >> 24) == 127;
}

/* True if the request may be served: with a token, when it carries it
 * (*SET_COOKIE when it came as ?token=: the browser keeps it from then
 * on); without one, when its Host header is a loopback name. */
static bool
authorized (web_t *self, struct MHD_Connection *conn, bool *set_cookie)
{
    *set_cookie = false;
    if (!self->token)
        return host_is_loopback (MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Host"));
    const char *auth = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Authorization");
    if (auth && strncmp (auth, "Bearer ", 7) == 0 && token_eq (self->token, auth + 7))
        return true;
    if (token_eq (self->token, MHD_lookup_connection_value (conn, MHD_COOKIE_KIND, COOKIE_NAME)))
        return true;
    *set_cookie = token_eq (self->token,
                            MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, "token"));
    return *set_cookie;
}

/* --- the request's filters ------------------------------------------------ */

static const char *
arg (struct MHD_Connection *conn, const char *k)
{
    return MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, k);
}

static int64_t
arg_int (struct MHD_Connection *conn, const char *k)
{
    const char *v = arg (conn, k);
    char *end;
    errno = 0;
    long long n = v ? strtoll (v, &end, 10) : 0;
    return v && !errno && !*end && n > 0 ? n : 0;
}

static void
filter_read (struct MHD_Connection *conn, pages_filter_t *f)
{
    *f = (pages_filter_t) {
        .q = arg (conn, "q"), .topic = arg (conn, "topic"), .source = arg (conn, "source"),
        .type = arg (conn, "type"), .since = arg (conn, "since"), .until = arg (conn, "until"),
        .before = arg_int (conn, "before"),
    };
}

/* --- pages ------------------------------------------------------------------ */

typedef enum { PAGE_LIST, PAGE_ALERT, PAGE_SOURCES, PAGE_FEED } page_t;

/* Renders PAGE into OUT with its own read-only archive handle. *STATUS
 * 404 for an unknown alert. */
static vl_err_t
render (web_t *self, struct MHD_Connection *conn, page_t page, const char *url, buf_t *out,
        unsigned *status);

static enum MHD_Result
serve_page (web_t *self, struct MHD_Connection *conn, page_t page, const char *url,
            bool set_cookie)
{
    char cookie[WEB_TOKEN_MAX + 128];
    if (set_cookie)
        snprintf (cookie, sizeof cookie, COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict",
                  self->token);
    buf_t out;
    buf_init (&out, WEB_PAGE_MAX);
    unsigned status = 200;
    vl_err_t rc = render (self, conn, page, url, &out, &status);
    const char *ctype = page == PAGE_FEED ? "application/atom+xml; charset=utf-8"
                                          : "text/html; charset=utf-8";
    if (status == 404) {
        buf_free (&out);
        return reply_error (conn, 404, "No such alert.");
    }
    return reply_buf (conn, status, ctype, &out, rc, set_cookie ? cookie : NULL);
}

/* Copies archive row R into *EV (owned strings) for sink_atom_entry. */
static vl_err_t
row_event (const archive_row_t *r, event_t *ev)
{
    memset (ev, 0, sizeof *ev);
    ev->v = EVENT_VERSION;
    ev->detected = r->detected;
    ev->published = r->published;
    ev->has_published = r->published != 0;
    vl_err_t rc = VL_OK;
    const char *src[] = { r->eid, r->type, r->source, r->topic, r->url, r->title, r->summary,
                          r->diff };
    char **dst[] = { &ev->id, &ev->type, &ev->source, &ev->topic, &ev->url, &ev->title,
                     &ev->summary, &ev->diff };
    for (size_t i = 0; rc == VL_OK && i < sizeof src / sizeof src[0]; i++)
        rc = event_set (dst[i], src[i]);
    for (const char *p = r->tags; rc == VL_OK && *p;) {
        size_t len = strcspn (p, "\n");
        char *t = strndup (p, len);
        rc = t ? event_add_tag (ev, t) : VL_ENOMEM;
        free (t);
        p += len + (p[len] == '\n');
    }
    return rc;
}

typedef struct {
    buf_t   *out;
    vl_err_t rc;
} feed_ctx_t;

static void
feed_row (void *arg, const archive_row_t *r)
{
    feed_ctx_t *c = arg;
    event_t ev;
    if (c->rc == VL_OK) c->rc = row_event (r, &ev);
    if (c->rc == VL_OK) c->rc = sink_atom_entry (c->out, &ev);
    event_clear (&ev);
}

/* The Atom feed of the search F: sink_atom_entry for each alert. */
static vl_err_t
render_feed (archive_t *ar, const pages_filter_t *f, buf_t *out)
{
    archive_query_t q;
    pages_query (f, &q);
    char now[32], id[33];
    format_time_iso (0, now);
    buf_t params, title;
    buf_init (&params, 16 * 1024);
    buf_init (&title, 4096);
    vl_err_t rc = buf_puts (&params, "");
    if (rc == VL_OK) rc = pages_filter_params (&params, f);
    if (rc == VL_OK) rc = buf_puts (&title, "veille alerts");
    if (rc == VL_OK && f->q && *f->q) rc = buf_puts (&title, ": ");
    if (rc == VL_OK && f->q && *f->q) rc = format_clean (&title, f->q, strlen (f->q), 256, 0);
    util_hash_hex (params.data ? params.data : "", params.len, id);
    if (rc == VL_OK) rc = buf_puts (out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                                         "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n    <title>");
    if (rc == VL_OK) rc = format_html_escape (out, title.data, 1024);
    if (rc == VL_OK)
        rc = buf_printf (out, "</title>\n    <id>urn:veille:console:%s</id>\n"
                              "    <updated>%s</updated>\n"
                              "    <generator version=\"" VEILLE_VERSION "\">veille</generator>\n",
                         id, now);
    feed_ctx_t c = { out, rc };
    if (rc == VL_OK && archive_find (ar, &q, feed_row, &c, NULL) == VL_EDB && c.rc == VL_OK)
        c.rc = VL_EDB;
    rc = c.rc;
    if (rc == VL_OK) rc = buf_puts (out, "</feed>\n");
    buf_free (&params);
    buf_free (&title);
    return rc;
}

static vl_err_t
render (web_t *self, struct MHD_Connection *conn, page_t page, const char *url, buf_t *out,
        unsigned *status)
{
    vl_err_t rc;
    archive_t *ar = archive_open (self->archive, false, &rc);
    if (!ar)
        return rc;
    pages_filter_t f;
    filter_read (conn, &f);
    if (page == PAGE_LIST)
        rc = pages_list (out, ar, &f);
    else if (page == PAGE_FEED)
        rc = render_feed (ar, &f, out);
    else if (page == PAGE_ALERT) {
        if (!pages_alert (out, ar, url + strlen ("/alert/"), &rc) && rc == VL_OK)
            *status = 404;
    }
    else {
        health_t h;
        health_read (self->watch_state, &h);
        rc = pages_sources (out, ar, &h);
        health_free (&h);
    }
    archive_close (&ar);
    return rc;
}

/* --- live stream ------------------------------------------------------------ */

/* /events: resumes after Last-Event-ID, else after ?after=, else from now. */
static enum MHD_Result
serve_events (web_t *self, struct MHD_Connection *conn)
{
    pages_filter_t f;
    filter_read (conn, &f);
    const char *resume = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Last-Event-ID");
    const char *after = resume ? resume : arg (conn, "after");
    char *end;
    long long n = after ? strtoll (after, &end, 10) : -1;
    struct MHD_Response *r = live_response (self->live, self->archive, &f,
                                            after && !*end && n >= 0 ? n : -1);
    if (!r)
        return reply_error (conn, 500, "The archive cannot be read.");
    MHD_add_response_header (r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header (r, "Cache-Control", "no-store");
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (r, "Content-Security-Policy", CSP);
    enum MHD_Result ret = MHD_queue_response (conn, 200, r);
    MHD_destroy_response (r);
    return ret;
}


static enum MHD_Result
serve_asset (struct MHD_Connection *conn, const asset_t *a)
{
    char *copy = malloc (a->len + 1);
    if (!copy)
        return MHD_NO;
    memcpy (copy, a->data, a->len);
    return reply (conn, 200, a->ctype, copy, a->len, NULL);
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    web_t *self = cls;
    if (!*state) {             /* first call: headers only */
        *state = self;
        return MHD_YES;
    }
    if (*upload_size) {        /* no request has a body: ignored */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return reply (conn, 405, "text/plain; charset=utf-8", strdup ("read-only console\n"),
                      18, NULL);
    bool set_cookie;
    if (!authorized (self, conn, &set_cookie))
        return reply_error (conn, self->token ? 401 : 403,
                            self->token ? "This console needs its token: open it with ?token=..."
                                        : "This console answers to a loopback host name only.");
    const asset_t *a = assets_find (url);
    if (a)
        return serve_asset (conn, a);
    if (strcmp (url, "/") == 0)
        return serve_page (self, conn, PAGE_LIST, url, set_cookie);
    if (strncmp (url, "/alert/", 7) == 0 && url[7])
        return serve_page (self, conn, PAGE_ALERT, url, set_cookie);
    if (strcmp (url, "/sources") == 0)
        return serve_page (self, conn, PAGE_SOURCES, url, set_cookie);
    if (strcmp (url, "/feed.atom") == 0)
        return serve_page (self, conn, PAGE_FEED, url, set_cookie);
    if (strcmp (url, "/events") == 0)
        return serve_events (self, conn);
    return reply_error (conn, 404, "No such page.");
}

/* --- start and stop --------------------------------------------------------- */

web_t *
web_start (const web_opts_t *opts, vl_err_t *err)
{
    struct sockaddr_storage ss;
    bool v6 = false, loopback = false;
    *err = VL_EINVAL;
    if (!opts->listen || metrics_parse_address (opts->listen, &ss, &v6, &loopback) != VL_OK) {
        log_error ("console: listen = %s is not host:port", opts->listen ? opts->listen : "");
        return NULL;
    }
    if (opts->token && !web_token_valid (opts->token)) {
        log_error ("console: the token must be %d to %d characters of A-Z a-z 0-9 . _ ~ -",
                   WEB_TOKEN_MIN, WEB_TOKEN_MAX);
        return NULL;
    }
    if (!loopback && !opts->token) {
        log_error ("console: %s is not a loopback address: a token is required "
                   "(--token-file or --token-env)", opts->listen);
        return NULL;
    }
    web_t *self = calloc (1, sizeof *self);
    *err = VL_ENOMEM;
    if (!self)
        return NULL;
    self->live = live_new ();
    self->archive = util_strdup (opts->archive);
    self->token = opts->token ? util_strdup (opts->token) : NULL;
    self->watch_state = opts->watch_state ? util_strdup (opts->watch_state) : NULL;
    if (!self->live || !self->archive || (opts->token && !self->token)
        || (opts->watch_state && !self->watch_state)) {
        web_stop (&self);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
                   | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0);
    self->httpd = MHD_start_daemon (flags, 0, NULL, NULL, on_request, self,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned) WEB_CONN_MAX,
                                    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                                    MHD_OPTION_END);
    if (!self->httpd) {
        log_error ("console: cannot listen on %s", opts->listen);
        *err = VL_EIO;
        web_stop (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->httpd,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : 0;
    *err = VL_OK;
    return self;
}

int
web_port (const web_t *self)
{
    return self ? self->port : 0;
}

void
web_notify (web_t *self, int64_t last_id)
{
    live_notify (self->live, last_id);
}

void
web_stop (web_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    web_t *self = *self_p;
    if (self->live)
        live_stop (self->live);
    if (self->httpd)
        MHD_stop_daemon (self->httpd);
    live_destroy (&self->live);
    free (self->archive);
    free (self->token);
    free (self->watch_state);
    free (self);
    *self_p = NULL;
}
