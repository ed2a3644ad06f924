/* sink_mail.c: SMTP delivery through libcurl. Headers are built here, with
 * every value cleaned to a single line; the subject is RFC 2047 encoded;
 * the body is a quoted-printable text/plain part (plus text/html). */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "format.h"
#include "format_mime.h"
#include "log.h"
#include "sink_mail.h"
#include "util.h"

#define DIGEST_MAX_BYTES (8 * 1024 * 1024)
/* one header line or subject: addresses are cut at 320 bytes each, the
 * subject at 900 before encoding; the rest comes from the configuration */
#define MAIL_HEADER_MAX  (1024 * 1024)

typedef struct {
    sink_t            base;
    sink_mail_opts_t  o;          /* strings owned */
    char            **to;
    CURL             *curl;
    /* digest */
    buf_t             dig_text, dig_html;
    size_t            dig_count;
    int64_t           dig_due;    /* mono ms, -1 if empty */
    char              dig_first_id[EVENT_ID_HEX + 1];
} sink_mail_t;

static vl_err_t
add_line (struct curl_slist **list, buf_t *line)
{
    struct curl_slist *l = curl_slist_append (*list, line->data);
    buf_reset (line);
    if (!l)
        return VL_ENOMEM;
    *list = l;
    return VL_OK;
}

static vl_err_t
put_address_list (buf_t *line, char *const *to)
{
    vl_err_t rc = VL_OK;
    for (size_t i = 0; to && to[i] && rc == VL_OK; i++) {
        if (i > 0)
            rc = buf_puts (line, ", ");
        if (rc == VL_OK)
            rc = format_clean (line, to[i], strlen (to[i]), 320, 0);
    }
    return rc;
}

/* The RFC 5322 date of NOW in UTC ("Sun, 06 Dec 2026 05:00:40 +0000")
 * into OUT. Day and month names are English whatever the process locale
 * (strftime_l in the "C" locale). VL_ENOMEM if that locale cannot be had. */
static vl_err_t
mail_date (time_t now, char *out, size_t size)
{
    struct tm tm;
    locale_t c = newlocale (LC_ALL_MASK, "C", (locale_t) 0);
    if (!c)
        return VL_ENOMEM;
    gmtime_r (&now, &tm);
    size_t n = strftime_l (out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm, c);
    freelocale (c);
    return n > 0 ? VL_OK : VL_ETOOBIG;
}

struct curl_slist *
sink_mail_headers (const sink_mail_opts_t *o, const char *subject, const char *msgid_seed)
{
    struct curl_slist *list = NULL;
    buf_t line;
    buf_init (&line, MAIL_HEADER_MAX);
    char date[64];
    vl_err_t rc = mail_date (time (NULL), date, sizeof date);
    if (rc == VL_OK) rc = buf_printf (&line, "Date: %s", date);
    if (rc == VL_OK) rc = add_line (&list, &line);
    if (rc == VL_OK) rc = buf_puts (&line, "From: ");
    if (rc == VL_OK) rc = format_clean (&line, o->from, strlen (o->from), 320, 0);
    if (rc == VL_OK) rc = add_line (&list, &line);
    if (rc == VL_OK) rc = buf_puts (&line, "To: ");
    if (rc == VL_OK) rc = put_address_list (&line, o->to);
    if (rc == VL_OK) rc = add_line (&list, &line);
    if (rc == VL_OK) rc = buf_puts (&line, "Subject: ");
    if (rc == VL_OK) rc = format_rfc2047 (&line, subject, 9, 900);
    if (rc == VL_OK) rc = add_line (&list, &line);
    if (rc == VL_OK) rc = buf_puts (&line, "Message-ID: <");
    if (rc == VL_OK) rc = format_clean (&line, msgid_seed, strlen (msgid_seed), 64, 0);
    if (rc == VL_OK) rc = buf_puts (&line, "@veille.invalid>");   /* same event, same id */
    if (rc == VL_OK) rc = add_line (&list, &line);
    if (rc == VL_OK) rc = buf_puts (&line, "X-Veille-Event-Id: ");
    if (rc == VL_OK) rc = format_clean (&line, msgid_seed, strlen (msgid_seed), 64, 0);
    if (rc == VL_OK) rc = add_line (&list, &line);
    buf_free (&line);
    if (rc != VL_OK) {
        curl_slist_free_all (list);
        return NULL;
    }
    return list;
}

void
sink_mail_classify (CURLcode cc, long code, sink_result_t *res)
{
    res->retry_after_ms = 0;
    if (cc == CURLE_OK)
        sink_result_set (res, SINK_DELIVERED, "SMTP %ld", code);
    else if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL
             || cc == CURLE_LOGIN_DENIED || (code >= 500 && code < 600))
        sink_result_set (res, SINK_FAILED, "SMTP %ld: %s", code, curl_easy_strerror (cc));
    else
        sink_result_set (res, SINK_RETRY, "SMTP %ld: %s", code, curl_easy_strerror (cc));
}

/* Adds a quoted-printable text part holding BODY with CRLF line breaks
 * (libcurl's encoder keeps CRLF as real line breaks and folds lines with
 * soft breaks at 76 characters; a bare LF would become "=0A"). */
static void
add_text_part (curl_mime *mime, const buf_t *body, const char *type)
{
    buf_t crlf;
    buf_init (&crlf, 2 * body->len + 1);   /* each LF becomes CRLF */
    curl_mimepart *part = curl_mime_addpart (mime);
    if (format_crlf (&crlf, body->data, body->len) != VL_OK)
        buf_reset (&crlf);
    curl_mime_data (part, crlf.data ? crlf.data : "", crlf.len);   /* copied */
    curl_mime_type (part, type);
    curl_mime_encoder (part, "quoted-printable");
    buf_free (&crlf);
}

static curl_mime *
build_mime (CURL *c, const buf_t *text, const buf_t *html)
{
    curl_mime *mime = curl_mime_init (c);
    if (!mime)
        return NULL;
    if (html && html->len) {
        curl_mime *alt = curl_mime_init (c);
        add_text_part (alt, text, "text/plain; charset=utf-8");
        add_text_part (alt, html, "text/html; charset=utf-8");
        curl_mimepart *part = curl_mime_addpart (mime);
        curl_mime_subparts (part, alt);
        curl_mime_type (part, "multipart/alternative");
        return mime;
    }
    add_text_part (mime, text, "text/plain; charset=utf-8");
    return mime;
}

/* Sends one message; fills RES. */
static void
mail_send (sink_mail_t *self, const char *subject, const char *seed, const buf_t *text,
           const buf_t *html, sink_result_t *res)
{
    struct curl_slist *headers = sink_mail_headers (&self->o, subject, seed);
    struct curl_slist *rcpt = NULL;
    for (size_t i = 0; self->to[i]; i++) {
        char addr[400];
        char *clean = format_clean_str (self->to[i], 320, 0);
        snprintf (addr, sizeof addr, "<%s>", clean ? clean : "");
        free (clean);
        struct curl_slist *l = curl_slist_append (rcpt, addr);
        if (l)
            rcpt = l;
    }
    curl_mime *mime = build_mime (self->curl, text, html);
    if (!headers || !rcpt || !mime) {
        sink_result_set (res, SINK_RETRY, "out of memory");
    } else {
        char from[400];
        char *clean = format_clean_str (self->o.from, 320, 0);
        snprintf (from, sizeof from, "<%s>", clean ? clean : "");
        free (clean);
        CURL *c = self->curl;
        curl_easy_setopt (c, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt (c, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt (c, CURLOPT_MIMEPOST, mime);
        CURLcode cc = curl_easy_perform (c);
        long code = 0;
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_setopt (c, CURLOPT_MIMEPOST, NULL);
        curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt (c, CURLOPT_MAIL_RCPT, NULL);
        sink_mail_classify (cc, code, res);
    }
    curl_mime_free (mime);
    curl_slist_free_all (headers);
    curl_slist_free_all (rcpt);
}

static char *
subject_for (sink_mail_t *self, const event_t *ev)
{
    buf_t s;
    buf_init (&s, MAIL_HEADER_MAX);
    vl_err_t rc = VL_OK;
    if (self->o.subject_prefix && *self->o.subject_prefix)
        rc = buf_printf (&s, "%s ", self->o.subject_prefix);
    if (rc == VL_OK && ev) {
        rc = buf_printf (&s, "%s: ", ev->type);
        const char *t = ev->title && *ev->title ? ev->title : "(no title)";
        if (rc == VL_OK) rc = format_clean (&s, t, strlen (t), 400, 0);
    }
    if (rc != VL_OK) {
        buf_free (&s);
        return NULL;
    }
    return buf_steal (&s);
}

static void
html_of (const event_t *ev, uint64_t seq, buf_t *html)
{
    buf_t text;
    buf_init (&text, FORMAT_EVENT_MAX);
    if (format_text_body (&text, ev, seq) == VL_OK) {
        buf_puts (html, "<div>");
        format_html_escape (html, text.data, FORMAT_BODY_FIELD_MAX * 2);
        buf_puts (html, "</div>\n");
    }
    buf_free (&text);
}

vl_err_t
sink_mail_body (const sink_mail_opts_t *opts, const event_t *ev, uint64_t seq, buf_t *text,
                buf_t *html)
{
    vl_err_t rc = format_text_body (text, ev, seq);
    if (rc == VL_OK && opts->html)
        html_of (ev, seq, html);
    return rc;
}

static void
digest_hold (sink_mail_t *self, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    if (self->dig_count == 0) {
        self->dig_due = util_mono_ms () + (int64_t) self->o.digest_minutes * 60000;
        snprintf (self->dig_first_id, sizeof self->dig_first_id, "%s", ev->id);
    }
    vl_err_t rc = buf_puts (&self->dig_text, "\n========================================\n");
    if (rc == VL_OK)
        rc = format_text_body (&self->dig_text, ev, seq);
    if (rc == VL_OK && self->o.html)
        html_of (ev, seq, &self->dig_html);
    if (rc != VL_OK) {
        sink_result_set (res, SINK_FAILED, "digest too large: %s", vl_strerror (rc));
        return;
    }
    self->dig_count++;
    sink_result_set (res, SINK_HELD, "held for digest (%zu)", self->dig_count);
}

static void
mail_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_mail_t *self = (sink_mail_t *) base;
    if (self->o.digest_minutes > 0) {
        digest_hold (self, ev, seq, res);
        return;
    }
    buf_t text, html;
    buf_init (&text, FORMAT_EVENT_MAX);
    buf_init (&html, FORMAT_EVENT_MAX);
    char *subject = subject_for (self, ev);
    vl_err_t rc = subject ? sink_mail_body (&self->o, ev, seq, &text, &html) : VL_ENOMEM;
    if (rc == VL_OK)
        mail_send (self, subject, ev->id, &text, &html, res);
    else
        sink_result_set (res, SINK_FAILED, "format: %s", vl_strerror (rc));
    free (subject);
    buf_free (&text);
    buf_free (&html);
}

static void
mail_discard (sink_t *base)
{
    sink_mail_t *self = (sink_mail_t *) base;
    buf_reset (&self->dig_text);
    buf_reset (&self->dig_html);
    self->dig_count = 0;
    self->dig_due = -1;
}

static void
mail_flush (sink_t *base, sink_result_t *res)
{
    sink_mail_t *self = (sink_mail_t *) base;
    if (self->dig_count == 0) {
        sink_result_set (res, SINK_DELIVERED, "nothing held");
        return;
    }
    buf_t subject;
    buf_init (&subject, MAIL_HEADER_MAX);
    buf_printf (&subject, "%s%s%zu alert%s", self->o.subject_prefix ? self->o.subject_prefix : "",
                self->o.subject_prefix && *self->o.subject_prefix ? " " : "",
                self->dig_count, self->dig_count > 1 ? "s" : "");
    char seed[EVENT_ID_HEX + 32];
    snprintf (seed, sizeof seed, "%s.digest%zu", self->dig_first_id, self->dig_count);
    mail_send (self, subject.data, seed, &self->dig_text, &self->dig_html, res);
    buf_free (&subject);
    if (res->status == SINK_DELIVERED)
        mail_discard (base);
}

static int64_t
mail_flush_due (sink_t *base)
{
    sink_mail_t *self = (sink_mail_t *) base;
    return self->dig_count ? self->dig_due : -1;
}

static void
mail_destroy (sink_t *base)
{
    sink_mail_t *self = (sink_mail_t *) base;
    if (self->curl)
        curl_easy_cleanup (self->curl);
    buf_free (&self->dig_text);
    buf_free (&self->dig_html);
    free ((char *) self->o.url);
    free ((char *) self->o.from);
    free ((char *) self->o.username);
    if (self->o.password) {
        memset ((char *) self->o.password, 0, strlen (self->o.password));
        free ((char *) self->o.password);
    }
    free ((char *) self->o.subject_prefix);
    free ((char *) self->o.ca_file);
    if (self->to)
        for (char **p = self->to; *p; p++)
            free (*p);
    free (self->to);
    free (self->base.name);
    free (self);
}

static const sink_ops_t MAIL_OPS = {
    .type = "mail", .deliver = mail_deliver, .flush = mail_flush, .discard = mail_discard,
    .flush_due = mail_flush_due, .destroy = mail_destroy,
};

static vl_err_t
mail_copy (sink_mail_t *self, const sink_mail_opts_t *o)
{
    size_t n = 0;
    while (o->to && o->to[n])
        n++;
    if (n == 0 || !o->url || !o->from)
        return VL_EINVAL;
    self->to = calloc (n + 1, sizeof (char *));
    if (!self->to)
        return VL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(self->to[i] = strdup (o->to[i])))
            return VL_ENOMEM;
    self->o = *o;
    self->o.to = self->to;
    self->o.url = util_strdup (o->url);
    self->o.from = util_strdup (o->from);
    self->o.username = util_strdup (o->username);
    self->o.password = util_strdup (o->password);
    self->o.subject_prefix = util_strdup (o->subject_prefix);
    self->o.ca_file = util_strdup (o->ca_file);
    self->base.name = strdup (o->name ? o->name : "mail");
    return self->o.url && self->o.from && self->base.name ? VL_OK : VL_ENOMEM;
}

static void
mail_setup_curl (sink_mail_t *self)
{
    CURL *c = self->curl;
    curl_easy_setopt (c, CURLOPT_URL, self->o.url);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt (c, CURLOPT_TIMEOUT, (long) (self->o.timeout_s > 0 ? self->o.timeout_s : 30));
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt (c, CURLOPT_USE_SSL, self->o.starttls ? (long) CURLUSESSL_ALL
                                                           : (long) CURLUSESSL_NONE);
    if (self->o.ca_file)
        curl_easy_setopt (c, CURLOPT_CAINFO, self->o.ca_file);
    if (self->o.username) {
        curl_easy_setopt (c, CURLOPT_USERNAME, self->o.username);
        curl_easy_setopt (c, CURLOPT_PASSWORD, self->o.password ? self->o.password : "");
    }
}

sink_t *
sink_mail_new (const sink_mail_opts_t *opts, vl_err_t *err)
{
    sink_mail_t *self = calloc (1, sizeof *self);
    vl_err_t rc = self ? mail_copy (self, opts) : VL_ENOMEM;
    if (self) {
        buf_init (&self->dig_text, DIGEST_MAX_BYTES);
        buf_init (&self->dig_html, DIGEST_MAX_BYTES * 2);
        self->dig_due = -1;
        self->base.ops = &MAIL_OPS;
    }
    if (rc == VL_OK && !(self->curl = curl_easy_init ()))
        rc = VL_ENOMEM;
    if (rc == VL_OK)
        mail_setup_curl (self);
    else if (self) {
        mail_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}
