/* sink_webhook.c: chat and JSON webhooks. Payloads are built with jansson
 * (the event itself by format_json_line, the same text) so any content is
 * escaped; HTTP header values are cleaned to one line; chat text mentions
 * nobody and carries no markup from the event (format_chat). */
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "format_mime.h"
#include "log.h"
#include "sink_webhook.h"
#include "util.h"

#define REPLY_MAX 4096
/* a URL, request path or header line, made of configuration values (URL,
 * token, room, tags), an event id and a title cut at 500 bytes */
#define WEBHOOK_LINE_MAX (64 * 1024)

static const char *const STYLE_NAMES[] = {
    "json", "slack", "mattermost", "discord", "matrix", "telegram", "ntfy", NULL
};

typedef struct {
    sink_t              base;
    sink_webhook_opts_t o;        /* strings owned */
    char              **tags;     /* owned copy of o.ntfy_tags */
    CURL               *curl;
    buf_t               reply;
} sink_webhook_t;

int
sink_webhook_style_parse (const char *name)
{
    for (int i = 0; name && STYLE_NAMES[i]; i++)
        if (strcmp (name, STYLE_NAMES[i]) == 0)
            return i;
    return -1;
}

void
sink_webhook_req_free (webhook_req_t *req)
{
    free (req->url);
    curl_slist_free_all (req->headers);
    buf_free (&req->body);
    memset (req, 0, sizeof *req);
}

/* Adds "NAME: VALUE" with VALUE cleaned to one line (capped). */
static vl_err_t
add_header (webhook_req_t *req, const char *name, const char *value)
{
    buf_t h;
    buf_init (&h, WEBHOOK_LINE_MAX);
    vl_err_t rc = buf_printf (&h, "%s: ", name);
    if (rc == VL_OK)
        rc = format_clean (&h, value, value ? strlen (value) : 0, 2048, 0);
    struct curl_slist *l = rc == VL_OK ? curl_slist_append (req->headers, h.data) : NULL;
    buf_free (&h);
    if (!l)
        return rc == VL_OK ? VL_ENOMEM : rc;
    req->headers = l;
    return VL_OK;
}

/* Slack mrkdwn control characters: & < > must be entities. */
static vl_err_t
put_slack_escaped (buf_t *out, const char *s, size_t len)
{
    vl_err_t rc = VL_OK;
    for (size_t i = 0; i < len && rc == VL_OK; i++) {
        switch (s[i]) {
        case '&': rc = buf_puts (out, "&amp;"); break;
        case '<': rc = buf_puts (out, "&lt;"); break;
        case '>': rc = buf_puts (out, "&gt;"); break;
        default:  rc = buf_putc (out, s[i]);
        }
    }
    return rc;
}

/* Cuts valid UTF-8 TEXT to MAXCP code points, ending with "…" when cut. */
static void
cut_codepoints (buf_t *text, size_t maxcp)
{
    if (format_utf8_count (text->data, text->len) <= maxcp)
        return;
    size_t keep = format_utf8_prefix_cp (text->data, text->len, maxcp - 1);
    text->len = keep;
    text->data[keep] = '\0';
    buf_puts (text, "\xe2\x80\xa6");
}

/* Cuts valid UTF-8 TEXT to at most MAXBYTES bytes on a character boundary,
 * ending with "…" when cut. */
static void
cut_bytes (buf_t *text, size_t maxbytes)
{
    if (text->len <= maxbytes)
        return;
    size_t keep = maxbytes - 3;                      /* room for "…" */
    while (keep > 0 && ((unsigned char) text->data[keep] & 0xC0) == 0x80)
        keep--;                                       /* not inside a character */
    text->len = keep;
    text->data[keep] = '\0';
    buf_puts (text, "\xe2\x80\xa6");
}

/* How long a chat message of a style may be, in code points or bytes. */
typedef struct {
    size_t max;
    bool   bytes;
} chat_limit_t;

static chat_limit_t
chat_limit (webhook_style_t style)
{
    switch (style) {
    case WEBHOOK_SLACK:      return (chat_limit_t) { WEBHOOK_SLACK_MAX, false };
    case WEBHOOK_MATTERMOST: return (chat_limit_t) { WEBHOOK_MATTERMOST_MAX, false };
    case WEBHOOK_DISCORD:    return (chat_limit_t) { WEBHOOK_DISCORD_MAX, false };
    case WEBHOOK_TELEGRAM:   return (chat_limit_t) { WEBHOOK_TELEGRAM_MAX, false };
    case WEBHOOK_NTFY:       return (chat_limit_t) { WEBHOOK_NTFY_MAX, true };
    default:                 return (chat_limit_t) { WEBHOOK_MATRIX_MAX, true };
    }
}

static size_t
chat_measure (const buf_t *text, chat_limit_t lim)
{
    return lim.bytes ? text->len : format_utf8_count (text->data, text->len);
}

/* Cuts TEXT to MAX (code points or bytes, as LIM counts) on a character
 * boundary, with "…" when cut. */
static void
chat_cut (buf_t *text, chat_limit_t lim, size_t max)
{
    if (lim.bytes)
        cut_bytes (text, max);
    else
        cut_codepoints (text, max);
}

/* Appends "\n\n" and the diff of EV to OUT, the diff cut to what is left
 * of LIM after OUT (nothing when too little is left). */
static vl_err_t
chat_diff (const event_t *ev, unsigned flags, chat_limit_t lim, buf_t *out)
{
    size_t used = chat_measure (out, lim) + 2;
    if (used + 8 > lim.max)
        return VL_OK;                                 /* no room worth a diff */
    buf_t d;
    buf_init (&d, FORMAT_EVENT_MAX);
    vl_err_t rc = format_chat_diff (&d, ev->diff, strlen (ev->diff), WEBHOOK_CHAT_DIFF, flags);
    if (rc == VL_OK && d.len) {
        chat_cut (&d, lim, lim.max - used);
        rc = buf_puts (out, "\n\n");
        if (rc == VL_OK) rc = buf_append (out, d.data, d.len);
    }
    buf_free (&d);
    return rc;
}

/* The human message shared by chat styles: "[topic] type: title\nurl\n\nsummary"
 * and, for an event with a diff, "\n\n" and the diff (a "> " quote in
 * Slack, Mattermost and Discord), written with format_chat (mentions ended;
 * markdown escaped in Mattermost and Discord) and the URL with
 * format_chat_url (a link only when it is http or https). Cut to the
 * style's limit (chat_limit) on a character boundary with "…": the diff,
 * last, is cut first, so the rest stays whole. OUT is empty on entry. */
static vl_err_t
chat_text (const event_t *ev, webhook_style_t style, buf_t *out)
{
    bool md = style == WEBHOOK_MATTERMOST || style == WEBHOOK_DISCORD;
    unsigned flags = md ? FORMAT_MARKDOWN : 0;        /* Slack: mrkdwn, & < > entities */
    chat_limit_t lim = chat_limit (style);
    vl_err_t rc = buf_putc (out, '[');
    if (rc == VL_OK) rc = format_chat (out, ev->topic, strlen (ev->topic), 255, flags);
    if (rc == VL_OK) rc = buf_puts (out, "] ");
    if (rc == VL_OK) rc = format_chat (out, ev->type, strlen (ev->type), 32, flags);
    if (rc == VL_OK) rc = buf_puts (out, ": ");
    const char *title = ev->title && *ev->title ? ev->title : "(no title)";
    if (rc == VL_OK) rc = format_chat (out, title, strlen (title), 500, flags);
    if (rc == VL_OK && ev->url && *ev->url) {
        rc = buf_putc (out, '\n');
        if (rc == VL_OK) rc = format_chat_url (out, ev->url, 2048, flags);
    }
    if (rc == VL_OK && ev->summary && *ev->summary) {
        rc = buf_puts (out, "\n\n");
        if (rc == VL_OK) rc = format_chat (out, ev->summary, strlen (ev->summary),
                                           WEBHOOK_CHAT_SUMMARY, flags | FORMAT_KEEP_NEWLINES);
    }
    if (rc != VL_OK)
        return rc;
    chat_cut (out, lim, lim.max);
    if (ev->diff && *ev->diff)
        rc = chat_diff (ev, flags | (style == WEBHOOK_SLACK || md ? FORMAT_QUOTE : 0), lim, out);
    return rc;
}

static vl_err_t
json_body (webhook_req_t *req, json_t *root)
{
    if (!root)
        return VL_ENOMEM;
    vl_err_t rc = format_json_dump (&req->body, root);
    json_decref (root);
    return rc;
}

static vl_err_t
build_chat (const sink_webhook_opts_t *o, const event_t *ev, webhook_req_t *req)
{
    buf_t text;
    buf_init (&text, FORMAT_EVENT_MAX);
    vl_err_t rc = chat_text (ev, o->style, &text);
    json_t *root = NULL;
    if (rc == VL_OK && o->style == WEBHOOK_SLACK) {
        buf_t esc;
        buf_init (&esc, FORMAT_EVENT_MAX);
        rc = put_slack_escaped (&esc, text.data, text.len);
        root = json_pack ("{s:s%}", "text", esc.data ? esc.data : "", esc.len);
        buf_free (&esc);
    } else if (rc == VL_OK && o->style == WEBHOOK_MATTERMOST) {
        root = json_pack ("{s:s%, s:s}", "text", text.data, text.len, "username", "veille");
    } else if (rc == VL_OK) {                 /* discord */
        root = json_pack ("{s:s%, s:{s:[]}}", "content", text.data, text.len,
                          "allowed_mentions", "parse");
    }
    if (rc == VL_OK)
        rc = json_body (req, root);
    buf_free (&text);
    return rc;
}

static char *
url_join (const char *base, const char *path)
{
    buf_t u;
    buf_init (&u, WEBHOOK_LINE_MAX);
    size_t n = strlen (base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (buf_append (&u, base, n) != VL_OK || buf_puts (&u, path) != VL_OK) {
        buf_free (&u);
        return NULL;
    }
    return buf_steal (&u);
}

static vl_err_t
build_matrix (const sink_webhook_opts_t *o, const event_t *ev, webhook_req_t *req)
{
    if (!o->room || !o->token)
        return VL_EINVAL;
    char *room = curl_easy_escape (NULL, o->room, 0);
    char *txn = curl_easy_escape (NULL, ev->id, 0);
    buf_t path, text, html;
    buf_init (&path, WEBHOOK_LINE_MAX);
    buf_init (&text, FORMAT_EVENT_MAX);
    buf_init (&html, FORMAT_EVENT_MAX);
    vl_err_t rc = room && txn ? VL_OK : VL_ENOMEM;
    if (rc == VL_OK) rc = buf_printf (&path, "/_matrix/client/v3/rooms/%s/send/m.room.message/%s",
                                      room, txn);
    if (rc == VL_OK) rc = chat_text (ev, WEBHOOK_MATRIX, &text);
    if (rc == VL_OK) rc = format_html_escape (&html, text.data, text.len + 1);
    if (rc == VL_OK && !(req->url = url_join (o->url, path.data)))
        rc = VL_ENOMEM;
    if (rc == VL_OK)
        rc = json_body (req, json_pack ("{s:s, s:s%, s:s, s:s%, s:{}}", "msgtype", "m.text",
                                        "body", text.data, text.len,
                                        "format", "org.matrix.custom.html",
                                        "formatted_body", html.data ? html.data : "", html.len,
                                        /* intentional mentions, none: turns off the
                                           push rules on the body (@room, names) */
                                        "m.mentions"));
    req->method = "PUT";
    curl_free (room);
    curl_free (txn);
    buf_free (&path);
    buf_free (&text);
    buf_free (&html);
    return rc;
}

static vl_err_t
build_telegram (const sink_webhook_opts_t *o, const event_t *ev, webhook_req_t *req)
{
    if (!o->token || !o->chat_id)
        return VL_EINVAL;
    buf_t path, text;
    buf_init (&path, WEBHOOK_LINE_MAX);
    buf_init (&text, FORMAT_EVENT_MAX);
    vl_err_t rc = buf_printf (&path, "/bot%s/sendMessage", o->token);
    if (rc == VL_OK) rc = chat_text (ev, WEBHOOK_TELEGRAM, &text);   /* no parse_mode */
    if (rc == VL_OK && !(req->url = url_join (o->url, path.data)))
        rc = VL_ENOMEM;
    if (rc == VL_OK)
        rc = json_body (req, json_pack ("{s:s, s:s%, s:b}", "chat_id", o->chat_id,
                                        "text", text.data, text.len,
                                        "disable_web_page_preview", 1));
    buf_free (&path);
    buf_free (&text);
    return rc;
}

static vl_err_t
build_ntfy (const sink_webhook_opts_t *o, const event_t *ev, webhook_req_t *req)
{
    buf_t chat, title, tags;
    buf_init (&chat, WEBHOOK_LINE_MAX);
    buf_init (&title, WEBHOOK_LINE_MAX);
    buf_init (&tags, WEBHOOK_LINE_MAX);
    const char *t = ev->title && *ev->title ? ev->title : "(no title)";
    /* the title is shown as the notification's heading: mentions end there too */
    vl_err_t rc = format_chat (&chat, t, strlen (t), 500, 0);
    if (rc == VL_OK) rc = format_rfc2047 (&title, chat.data, 7, 1000);   /* "Title: " */
    for (size_t i = 0; rc == VL_OK && o->ntfy_tags && o->ntfy_tags[i]; i++)
        rc = buf_printf (&tags, "%s%s", i ? "," : "", o->ntfy_tags[i]);
    /* Title is already encoded: add it without a second cleaning pass that
       would drop the folding; encoded-words never contain CR/LF otherwise. */
    if (rc == VL_OK) {
        for (size_t i = 0; i < title.len; i++)
            if (title.data[i] == '\r' || title.data[i] == '\n')
                title.data[i] = ' ';
        rc = add_header (req, "Title", title.data);
    }
    if (rc == VL_OK && tags.len) rc = add_header (req, "Tags", tags.data);
    if (rc == VL_OK && o->priority > 0) {
        char p[16];
        snprintf (p, sizeof p, "%d", o->priority);
        rc = add_header (req, "Priority", p);
    }
    if (rc == VL_OK && format_url_is_web (ev->url) && strlen (ev->url) <= 2048)
        rc = add_header (req, "Click", ev->url);            /* no javascript:, intent: ... */
    if (rc == VL_OK) rc = add_header (req, "Content-Type", "text/plain; charset=utf-8");
    if (rc == VL_OK) rc = chat_text (ev, WEBHOOK_NTFY, &req->body);
    if (rc == VL_OK && !(req->url = strdup (o->url)))
        rc = VL_ENOMEM;
    buf_free (&chat);
    buf_free (&title);
    buf_free (&tags);
    return rc;
}

static vl_err_t
build_body (const sink_webhook_opts_t *o, const event_t *ev, uint64_t seq, webhook_req_t *req)
{
    switch (o->style) {
    case WEBHOOK_SLACK: case WEBHOOK_MATTERMOST: case WEBHOOK_DISCORD:
        return build_chat (o, ev, req);
    case WEBHOOK_MATRIX:   return build_matrix (o, ev, req);
    case WEBHOOK_TELEGRAM: return build_telegram (o, ev, req);
    case WEBHOOK_NTFY:     return build_ntfy (o, ev, req);
    default:               return format_json_line (&req->body, ev, seq);  /* the event */
    }
}

vl_err_t
sink_webhook_build (const sink_webhook_opts_t *o, const event_t *ev, uint64_t seq,
                    webhook_req_t *req)
{
    memset (req, 0, sizeof *req);
    buf_init (&req->body, FORMAT_EVENT_MAX);
    req->method = "POST";
    vl_err_t rc = build_body (o, ev, seq, req);
    if (rc == VL_OK && !req->url && !(req->url = strdup (o->url)))
        rc = VL_ENOMEM;
    if (rc == VL_OK && o->style != WEBHOOK_NTFY)
        rc = add_header (req, "Content-Type", "application/json; charset=utf-8");
    if (rc == VL_OK) rc = add_header (req, "X-Veille-Event-Id", ev->id);
    if (rc == VL_OK) rc = add_header (req, "Idempotency-Key", ev->id);
    if (rc == VL_OK && o->token && o->style != WEBHOOK_TELEGRAM) {
        buf_t auth;
        buf_init (&auth, WEBHOOK_LINE_MAX);
        rc = buf_printf (&auth, "Bearer %s", o->token);
        if (rc == VL_OK) rc = add_header (req, "Authorization", auth.data);
        buf_free (&auth);
    }
    if (rc == VL_OK) rc = add_header (req, "Expect", "");
    return rc;
}

void
sink_webhook_classify (CURLcode cc, long status, long retry_after_s, const char *reply,
                       sink_result_t *res)
{
    char clean[160];
    log_sanitize (clean, sizeof clean, reply ? reply : "", reply ? strlen (reply) : 0);
    res->retry_after_ms = 0;
    if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
        sink_result_set (res, SINK_FAILED, "bad url: %s", curl_easy_strerror (cc));
    else if (cc != CURLE_OK)
        sink_result_set (res, SINK_RETRY, "transport: %s", curl_easy_strerror (cc));
    else if (status >= 200 && status < 300)
        sink_result_set (res, SINK_DELIVERED, "HTTP %ld", status);
    else if (status == 429 || status == 408 || status >= 500) {
        if (retry_after_s > 0)
            sink_result_set (res, SINK_RETRY, "HTTP %ld, retry after %lds %s", status,
                             retry_after_s, clean);
        else
            sink_result_set (res, SINK_RETRY, "HTTP %ld %s", status, clean);
        res->retry_after_ms = retry_after_s > 0 ? retry_after_s * 1000 : 0;
    } else
        sink_result_set (res, SINK_FAILED, "HTTP %ld %s", status, clean);
}

static size_t
on_reply (char *data, size_t size, size_t nmemb, void *arg)
{
    buf_t *b = arg;
    size_t n = size * nmemb;
    if (b->len < REPLY_MAX)
        buf_append (b, data, n < REPLY_MAX - b->len ? n : REPLY_MAX - b->len);
    return n;
}

static void
webhook_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_webhook_t *self = (sink_webhook_t *) base;
    webhook_req_t req;
    vl_err_t rc = sink_webhook_build (&self->o, ev, seq, &req);
    if (rc != VL_OK) {
        sink_result_set (res, SINK_FAILED, "cannot build request: %s", vl_strerror (rc));
        sink_webhook_req_free (&req);
        return;
    }
    buf_reset (&self->reply);
    CURL *c = self->curl;
    curl_easy_setopt (c, CURLOPT_URL, req.url);
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, strcmp (req.method, "POST") ? req.method : NULL);
    curl_easy_setopt (c, CURLOPT_POST, 1L);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, req.body.data ? req.body.data : "");
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req.body.len);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, req.headers);
    CURLcode cc = curl_easy_perform (c);
    long status = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo (c, CURLINFO_RETRY_AFTER, &retry_after);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
    sink_webhook_classify (cc, status, (long) retry_after, self->reply.data, res);
    sink_webhook_req_free (&req);
}

static void
webhook_destroy (sink_t *base)
{
    sink_webhook_t *self = (sink_webhook_t *) base;
    if (self->curl)
        curl_easy_cleanup (self->curl);
    buf_free (&self->reply);
    free ((char *) self->o.url);
    free ((char *) self->o.token);
    free ((char *) self->o.chat_id);
    free ((char *) self->o.room);
    free ((char *) self->o.ca_file);
    if (self->tags)
        for (char **p = self->tags; *p; p++)
            free (*p);
    free (self->tags);
    free (self->base.name);
    free (self);
}

static const sink_ops_t WEBHOOK_OPS = {
    .type = "webhook", .deliver = webhook_deliver, .destroy = webhook_destroy,
};

static vl_err_t
copy_tags (sink_webhook_t *self, char *const *tags)
{
    size_t n = 0;
    while (tags && tags[n])
        n++;
    if (n == 0)
        return VL_OK;
    self->tags = calloc (n + 1, sizeof (char *));
    if (!self->tags)
        return VL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(self->tags[i] = strdup (tags[i])))
            return VL_ENOMEM;
    self->o.ntfy_tags = self->tags;
    return VL_OK;
}

static void
setup_curl (sink_webhook_t *self)
{
    CURL *c = self->curl;
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_TIMEOUT, (long) (self->o.timeout_s > 0 ? self->o.timeout_s : 15));
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt (c, CURLOPT_USERAGENT, "veille/" VEILLE_VERSION);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, &self->reply);
    if (self->o.ca_file)
        curl_easy_setopt (c, CURLOPT_CAINFO, self->o.ca_file);
}

sink_t *
sink_webhook_new (const sink_webhook_opts_t *opts, vl_err_t *err)
{
    sink_webhook_t *self = calloc (1, sizeof *self);
    vl_err_t rc = VL_ENOMEM;
    if (self) {
        self->base.ops = &WEBHOOK_OPS;
        self->o = *opts;
        self->o.ntfy_tags = NULL;
        self->base.name = strdup (opts->name ? opts->name : "webhook");
        self->o.url = util_strdup (opts->url);
        self->o.token = util_strdup (opts->token);
        self->o.chat_id = util_strdup (opts->chat_id);
        self->o.room = util_strdup (opts->room);
        self->o.ca_file = util_strdup (opts->ca_file);
        buf_init (&self->reply, REPLY_MAX);
        self->curl = curl_easy_init ();
        rc = self->base.name && self->o.url && self->curl ? copy_tags (self, opts->ntfy_tags)
                                                          : VL_ENOMEM;
        if (rc == VL_OK && opts->style == WEBHOOK_MATRIX && (!opts->room || !opts->token))
            rc = VL_EINVAL;
        if (rc == VL_OK && opts->style == WEBHOOK_TELEGRAM && (!opts->chat_id || !opts->token))
            rc = VL_EINVAL;
        if (rc == VL_EINVAL)
            log_error ("sink %s: matrix needs room and a token, telegram chat_id and a token",
                       self->base.name ? self->base.name : "?");
    }
    if (rc == VL_OK)
        setup_curl (self);
    else if (self) {
        webhook_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}
