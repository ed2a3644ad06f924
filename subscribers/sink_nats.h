/* sink_nats.h: publishes each alert to NATS JetStream on subject
 * "<prefix>.<topic>" (JSON or the msgpack event as payload) with the
 * header Nats-Msg-Id = event id, and counts it delivered only when the
 * stream's publish ack came back. A resend after a lost ack or a restart
 * carries the same Nats-Msg-Id, so JetStream drops it within the stream's
 * duplicate window: the stream holds each event once. */
#ifndef VL_SINK_NATS_H
#define VL_SINK_NATS_H

#include <stdbool.h>
#include "sink.h"

typedef struct {
    const char *name;
    const char *url;            /* "nats://127.0.0.1:4222" (comma-separated list allowed) */
    const char *subject_prefix; /* "veille" */
    const char *stream;         /* stream created if missing ("" = must exist, not managed) */
    int         duplicate_window_s; /* for a stream this sink creates */
    bool        msgpack;        /* payload: the msgpack event instead of JSON */
    int         timeout_ms;     /* connect and publish-ack timeout */
    const char *token;          /* auth token, or NULL */
    const char *user, *password;/* user/password, or NULL */
    const char *creds_file;     /* NATS .creds file (JWT + nkey), or NULL */
} sink_nats_opts_t;

/* Creates the sink; it connects at the first delivery and reconnects by
 * itself afterwards. VL_EINVAL for missing url/prefix. Caller owns. */
sink_t *sink_nats_new (const sink_nats_opts_t *opts, vl_err_t *err);

/* Builds the sink from its validated config group GRP (secrets read from
 * the *_env / *_file keys). Caller owns; NULL with *ERR on failure. */
sink_t *sink_nats_from_config (const config_setting_t *grp, const char *name, vl_err_t *err);

#endif
