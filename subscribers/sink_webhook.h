/* sink_webhook.h: HTTP POST (or PUT for Matrix) of alerts to chat services
 * and JSON endpoints, over one reused curl handle (keep-alive). */
#ifndef VL_SINK_WEBHOOK_H
#define VL_SINK_WEBHOOK_H

#include <curl/curl.h>
#include "buf.h"
#include "sink.h"

typedef enum {
    WEBHOOK_JSON, WEBHOOK_SLACK, WEBHOOK_MATTERMOST, WEBHOOK_DISCORD,
    WEBHOOK_MATRIX, WEBHOOK_TELEGRAM, WEBHOOK_NTFY
} webhook_style_t;

#define WEBHOOK_DISCORD_MAX   2000   /* code points */
#define WEBHOOK_TELEGRAM_MAX  4096   /* code points */
#define WEBHOOK_NTFY_MAX      4096   /* bytes: a longer ntfy body becomes an attachment */
#define WEBHOOK_CHAT_SUMMARY  4000   /* bytes of summary in chat messages */
#define WEBHOOK_CHAT_DIFF     1500   /* bytes of a `changed` event's diff in chat messages */
#define WEBHOOK_SLACK_MAX     8000   /* code points before & < > become entities (5 bytes
                                        at most each): under Slack's 40000 */
#define WEBHOOK_MATTERMOST_MAX 16383 /* code points: Mattermost's post limit */
#define WEBHOOK_MATRIX_MAX    8000   /* bytes of body: with its HTML twin (6 bytes per
                                        byte at most) well under Matrix's 64 KiB event */

typedef struct {
    const char     *name;
    const char     *url;
    webhook_style_t style;
    const char     *token;      /* matrix/telegram/ntfy/bearer; may be NULL */
    const char     *chat_id;    /* telegram */
    const char     *room;       /* matrix */
    int             priority;   /* ntfy 1..5 (0 = default) */
    char *const    *ntfy_tags;  /* NULL-terminated or NULL */
    int             timeout_s;
    const char     *ca_file;    /* NULL = system CA store */
} sink_webhook_opts_t;

/* One request, as built for an event (for the sink and for tests). */
typedef struct {
    const char        *method;   /* "POST" or "PUT" (static) */
    char              *url;      /* owned */
    struct curl_slist *headers;  /* owned */
    buf_t              body;
} webhook_req_t;

/* Parses a style name ("json", "slack", ...); -1 if unknown. */
int sink_webhook_style_parse (const char *name);

/* Builds the request for EV in OPTS's style into *REQ (zeroed first;
 * caller frees with sink_webhook_req_free, also after an error). */
vl_err_t sink_webhook_build (const sink_webhook_opts_t *opts, const event_t *ev,
                             uint64_t seq, webhook_req_t *req);
void sink_webhook_req_free (webhook_req_t *req);

/* Creates the sink (copies OPTS). Caller owns. */
sink_t *sink_webhook_new (const sink_webhook_opts_t *opts, vl_err_t *err);

/* Maps a transfer outcome to a sink result (exposed for tests):
 * 2xx delivered; 429, 408, 5xx and transport errors retry (RETRY_AFTER_S,
 * the Retry-After header in seconds, honoured); other statuses fail
 * permanently. */
void sink_webhook_classify (CURLcode cc, long status, long retry_after_s,
                            const char *reply, sink_result_t *res);

#endif
