/* sink_mail.h: alerts by mail through libcurl SMTP (smtp/smtps, STARTTLS,
 * AUTH), one message per alert or a digest every N minutes. */
#ifndef VL_SINK_MAIL_H
#define VL_SINK_MAIL_H

#include <curl/curl.h>
#include "buf.h"
#include "sink.h"

typedef struct {
    const char  *name;
    const char  *url;          /* smtp://host:port or smtps://host:port */
    const char  *from;
    char *const *to;           /* NULL-terminated, at least one */
    const char  *username;     /* NULL = no AUTH */
    const char  *password;
    bool         starttls;     /* require STARTTLS on smtp:// */
    int          digest_minutes;  /* 0 = one message per alert */
    const char  *subject_prefix;
    bool         html;         /* add a text/html alternative */
    int          timeout_s;
    const char  *ca_file;      /* NULL = system CA store */
} sink_mail_opts_t;

/* Creates the sink (copies OPTS). Caller owns. */
sink_t *sink_mail_new (const sink_mail_opts_t *opts, vl_err_t *err);

/* Builds the RFC 5322 header list (Date, From, To, Subject as RFC 2047
 * encoded-words, Message-ID, X-Veille-Event-Id) for a message with SUBJECT
 * (raw, cleaned here). Every value is one line: content cannot add a
 * header. MSGID_SEED makes the Message-ID, <seed@veille.invalid>, so a
 * message sent again for the same event has the same Message-ID.
 * Caller frees the list with curl_slist_free_all. NULL on OOM. */
struct curl_slist *sink_mail_headers (const sink_mail_opts_t *opts, const char *subject,
                                      const char *msgid_seed);

/* Builds the text/plain body (and the text/html one when OPTS->html) of the
 * message for EV into TEXT and HTML (appended; caller frees both). Cleaned
 * and capped like every rendering (format.h). */
vl_err_t sink_mail_body (const sink_mail_opts_t *opts, const event_t *ev, uint64_t seq,
                         buf_t *text, buf_t *html);

/* Maps a curl SMTP outcome to a sink result: 5xx replies fail for good,
 * 4xx and transport errors are retried. */
void sink_mail_classify (CURLcode cc, long smtp_code, sink_result_t *res);

#endif
