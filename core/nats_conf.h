/* nats_conf.h: the JetStream backbone's settings (the `nats` group of the
 * `watch` and `sub` sections, one key table for both), the connection they
 * describe, and the topic <-> subject mapping. Used by js_pub.c and
 * js_sub.c; see docs/operations.md (Choosing a backbone). */
#ifndef VL_NATS_CONF_H
#define VL_NATS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <nats/nats.h>
#include "config.h"
#include "vl_err.h"

/* Keys of the `nats` group (terminated by a NULL name). */
extern const cfg_key_t nats_conf_keys[];

/* Strings owned (nats_conf_free); NULL = not set. */
typedef struct {
    char *servers;          /* comma-separated nats:// or tls:// URLs */
    char *stream;           /* JetStream stream name */
    char *subject_prefix;   /* subject = <prefix>.<topic> */
    char *user;             /* user name (password from password_file/_env) */
    char *password;         /* read from password_file or password_env */
    char *creds_file;       /* JWT + NKey seed credentials file */
    char *tls_ca;           /* CA file; with tls:// URLs */
    char *tls_cert, *tls_key;   /* client certificate (mutual TLS) */
    int   timeout_ms;       /* connect, API and publish-ack timeout */
    int   replicas;         /* R of the stream the watcher creates */
    int   duplicate_window_s;   /* its duplicate window */
} nats_conf_t;

/* Fills *OUT from GRP (the `nats` group, NULL = every default). Reads the
 * password secret. VL_ECONFIG (logged with the place) or VL_ENOMEM; *OUT
 * freed on error. Caller frees with nats_conf_free. */
vl_err_t nats_conf_load (const config_setting_t *grp, nats_conf_t *out);

/* Frees (wiping the password) and zeroes *SELF. NULL-safe. */
void nats_conf_free (nats_conf_t *self);

/* Creates the file-backed stream STREAM over "<PREFIX>.>" in JS with
 * REPLICAS copies and a duplicate window of DUP_WINDOW_S seconds; the
 * subjects are written into SUBJ (CAP bytes) for the caller's log. On
 * NATS_OK the caller owns *SI (jsStreamInfo_Destroy). */
natsStatus nats_conf_add_stream (jsCtx *js, const char *stream, const char *prefix,
                                 int replicas, int dup_window_s, char *subj, size_t cap,
                                 jsStreamInfo **si);

/* Connects to C's servers (reconnecting forever afterwards) and makes a
 * JetStream context; WHO names the caller in logs. On NATS_OK the caller
 * owns *NC and *JS (nats_conf_disconnect). JO may be NULL (defaults, Wait
 * = timeout_ms); if not, its Wait is set to C's timeout. */
natsStatus nats_conf_connect (const nats_conf_t *c, const char *who, jsOptions *jo,
                              natsConnection **nc, jsCtx **js);

/* Destroys *JS and closes *NC; NULL-safe, sets both to NULL. */
void nats_conf_disconnect (natsConnection **nc, jsCtx **js);

/* Writes "<prefix>.<topic>" to OUT (CAP bytes): false if it does not fit
 * or is not a valid literal subject (empty token, wildcard, space). */
bool nats_conf_subject (const char *prefix, const char *topic, size_t topic_len,
                        char *out, size_t cap);

/* The topic of SUBJECT under PREFIX (a pointer into SUBJECT), or NULL. */
const char *nats_conf_topic (const char *prefix, const char *subject);

#endif
