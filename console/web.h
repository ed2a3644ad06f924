/* web.h: the console's HTTP server (libmicrohttpd, one thread per
 * connection, at most WEB_CONN_MAX). Read-only: GET and HEAD only.
 *
 *   /                 alerts, newest first; filters q, topic, source, type,
 *                     since, until (YYYY-MM-DD), before (older page)
 *   /alert/ID         one alert (ID = event id): fields, summary, diff
 *   /events?after=N   server-sent events (live.h): each alert stored after
 *                     row N that matches the same filters
 *   /feed.atom        Atom feed of the same search (newest 50)
 *   /sources          source health (watcher state) and archive counts
 *   /console.js, /console.css
 *
 * Every answer carries a strict Content-Security-Policy (only this
 * origin's script and style; no inline script, no frames, no other
 * origin), nosniff and no-referrer. A non-loopback address needs a token
 * (web_opts_t.token), given once as ?token= (kept in an HttpOnly,
 * SameSite=Strict cookie), or as "Authorization: Bearer TOKEN". Without
 * a token, a request whose Host header is not a loopback name (127.x,
 * localhost, [::1]) gets 403: no DNS rebinding. */
#ifndef VL_WEB_H
#define VL_WEB_H

#include <stdint.h>
#include "vl_err.h"

#define WEB_CONN_MAX      64        /* connections at once (live streams included) */
#define WEB_PAGE_MAX      (16u * 1024 * 1024)  /* bytes of one page */
#define WEB_TOKEN_MIN     16
#define WEB_TOKEN_MAX     256

typedef struct web web_t;

typedef struct {
    const char *listen;        /* "127.0.0.1:8470", "[::1]:0", "0.0.0.0:8470" */
    const char *archive;       /* archive path (opened read-only per request) */
    const char *token;         /* required when LISTEN is not loopback; NULL = none */
    const char *watch_state;   /* watcher state file, NULL = none */
} web_opts_t;

/* True if TOKEN is acceptable: WEB_TOKEN_MIN..WEB_TOKEN_MAX characters of
 * [A-Za-z0-9._~-]. */
bool web_token_valid (const char *token);

/* Starts serving. VL_EINVAL for a bad address, or a non-loopback one
 * without a token; VL_EIO if it cannot listen. Caller owns (web_stop). */
web_t *web_start (const web_opts_t *opts, vl_err_t *err);

/* The port listened on. */
int web_port (const web_t *self);

/* Tells the live streams that rows up to LAST_ID are stored. */
void web_notify (web_t *self, int64_t last_id);

/* Ends the live streams, stops the server, frees. NULL-safe. */
void web_stop (web_t **self_p);

#endif
