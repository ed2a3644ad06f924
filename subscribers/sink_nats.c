/* sink_nats.c: alerts to NATS JetStream through libnats, one acked publish
 * per event, Nats-Msg-Id = event id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nats/nats.h>
#include "format.h"
#include "config.h"
#include "log.h"
#include "nats_conf.h"
#include "sink_nats.h"
#include "util.h"

#define SUBJECT_MAX 512

typedef struct {
    sink_t          base;
    char           *url, *prefix, *stream, *token, *user, *password, *creds;
    int             dup_window_s, timeout_ms;
    bool            msgpack;
    natsConnection *nc;
    jsCtx          *js;
    bool            stream_ok;   /* stream checked/created on this connection */
    buf_t           payload;
} sink_nats_t;

static void
nats_disconnect (sink_nats_t *self)
{
    jsCtx_Destroy (self->js);
    self->js = NULL;
    if (self->nc) {
        natsConnection_Close (self->nc);
        natsConnection_Destroy (self->nc);
    }
    self->nc = NULL;
    self->stream_ok = false;
}

/* Gives libnats the servers of URL, a comma-separated list. */
static natsStatus
set_servers (natsOptions *o, const char *url)
{
    char *copy = strdup (url), *save = NULL;
    const char *servers[16];
    int n = 0;
    if (!copy)
        return NATS_NO_MEMORY;
    for (char *t = strtok_r (copy, ", ", &save); t && n < 16; t = strtok_r (NULL, ", ", &save))
        servers[n++] = t;
    natsStatus s = n ? natsOptions_SetServers (o, servers, n) : NATS_INVALID_ARG;
    free (copy);
    return s;
}

static natsStatus
nats_connect (sink_nats_t *self)
{
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create (&o);
    if (s == NATS_OK) s = set_servers (o, self->url);
    if (s == NATS_OK) s = natsOptions_SetTimeout (o, self->timeout_ms);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect (o, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait (o, 250);
    if (s == NATS_OK && self->token) s = natsOptions_SetToken (o, self->token);
    if (s == NATS_OK && self->user) s = natsOptions_SetUserInfo (o, self->user, self->password);
    if (s == NATS_OK && self->creds)
        s = natsOptions_SetUserCredentialsFromFiles (o, self->creds, NULL);
    if (s == NATS_OK) s = natsConnection_Connect (&self->nc, o);
    natsOptions_Destroy (o);
    if (s == NATS_OK) {
        jsOptions jo;
        jsOptions_Init (&jo);
        jo.Wait = self->timeout_ms;
        s = natsConnection_JetStream (&self->js, self->nc, &jo);
    }
    if (s != NATS_OK)
        nats_disconnect (self);
    else
        log_info ("sink %s: connected to NATS %s", self->base.name, self->url);
    return s;
}

/* Makes sure the stream exists (creating it over "<prefix>.>" if not). */
static natsStatus
ensure_stream (sink_nats_t *self)
{
    if (self->stream_ok || !*self->stream)
        return NATS_OK;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo (&si, self->js, self->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        char subj[SUBJECT_MAX];
        s = nats_conf_add_stream (self->js, self->stream, self->prefix, 1,
                                  (int) self->dup_window_s, subj, sizeof subj, &si);
        if (s == NATS_OK)
            log_info ("sink %s: created JetStream stream %s on %s", self->base.name,
                      self->stream, subj);
    }
    jsStreamInfo_Destroy (si);
    if (s == NATS_OK)
        self->stream_ok = true;
    else
        log_warn ("sink %s: stream %s: %s (%d)", self->base.name, self->stream,
                  natsStatus_GetText (s), (int) jerr);
    return s;
}

static void
nats_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_nats_t *self = (sink_nats_t *) base;
    char subject[SUBJECT_MAX];
    if (!nats_conf_subject (self->prefix, ev->topic, strlen (ev->topic), subject, sizeof subject)) {
        sink_result_set (res, SINK_FAILED, "topic %s is not a valid NATS subject", ev->topic);
        return;
    }
    buf_reset (&self->payload);
    vl_err_t rc = self->msgpack ? event_encode (ev, &self->payload)
                                : format_json_line (&self->payload, ev, seq);
    if (rc != VL_OK) {
        sink_result_set (res, SINK_FAILED, "cannot encode event: %s", vl_strerror (rc));
        return;
    }
    natsStatus s = self->nc ? NATS_OK : nats_connect (self);
    if (s == NATS_OK)
        s = ensure_stream (self);
    if (s != NATS_OK) {
        sink_result_set (res, SINK_RETRY, "NATS %s: %s", self->url, natsStatus_GetText (s));
        return;
    }
    jsPubOptions po;
    jsPubOptions_Init (&po);
    po.MsgId = ev->id;
    po.MaxWait = self->timeout_ms;
    if (*self->stream)
        po.ExpectStream = self->stream;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    s = js_Publish (&pa, self->js, subject, self->payload.data, (int) self->payload.len, &po, &jerr);
    if (s == NATS_OK) {
        sink_result_set (res, SINK_DELIVERED, "%s seq %llu%s", pa->Stream,
                         (unsigned long long) pa->Sequence, pa->Duplicate ? " (duplicate)" : "");
        jsPubAck_Destroy (pa);
        return;
    }
    if (s == NATS_MAX_PAYLOAD || s == NATS_INVALID_SUBJECT) {
        sink_result_set (res, SINK_FAILED, "NATS refused %s: %s", subject, natsStatus_GetText (s));
        return;
    }
    if (jerr != 0 || s == NATS_NO_RESPONDERS)
        self->stream_ok = false;     /* stream deleted? check it again next time */
    sink_result_set (res, SINK_RETRY, "NATS publish %s: %s (%d)", subject, natsStatus_GetText (s),
                     (int) jerr);
}

static void
nats_destroy (sink_t *base)
{
    sink_nats_t *self = (sink_nats_t *) base;
    nats_disconnect (self);
    buf_free (&self->payload);
    if (self->password)
        memset (self->password, 0, strlen (self->password));
    if (self->token)
        memset (self->token, 0, strlen (self->token));
    free (self->url);
    free (self->prefix);
    free (self->stream);
    free (self->token);
    free (self->user);
    free (self->password);
    free (self->creds);
    free (self->base.name);
    free (self);
}

static const sink_ops_t NATS_OPS = {
    .type = "nats", .deliver = nats_deliver, .destroy = nats_destroy,
};

static bool
dup_opt (char **dst, const char *src)
{
    *dst = src ? strdup (src) : NULL;
    return !src || *dst;
}

sink_t *
sink_nats_new (const sink_nats_opts_t *opts, vl_err_t *err)
{
    bool ok = opts->url && *opts->url && opts->subject_prefix && *opts->subject_prefix;
    char probe[SUBJECT_MAX];
    if (ok && !nats_conf_subject (opts->subject_prefix, "x", 1, probe, sizeof probe))
        ok = false;
    sink_nats_t *self = ok ? calloc (1, sizeof *self) : NULL;
    vl_err_t rc = ok ? VL_ENOMEM : VL_EINVAL;
    if (self) {
        self->base.ops = &NATS_OPS;
        buf_init (&self->payload, EVENT_MAX_BYTES * 2);
        self->dup_window_s = opts->duplicate_window_s > 0 ? opts->duplicate_window_s : 120;
        self->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
        self->msgpack = opts->msgpack;
        if (dup_opt (&self->base.name, opts->name ? opts->name : "nats")
            && dup_opt (&self->url, opts->url) && dup_opt (&self->prefix, opts->subject_prefix)
            && dup_opt (&self->stream, opts->stream ? opts->stream : "")
            && dup_opt (&self->token, opts->token) && dup_opt (&self->user, opts->user)
            && dup_opt (&self->password, opts->password ? opts->password : (opts->user ? "" : NULL))
            && dup_opt (&self->creds, opts->creds_file))
            rc = VL_OK;
    }
    if (rc != VL_OK && self) {
        nats_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}

/* Reads the secret named by the ENV_KEY / FILE_KEY keys of GRP into *OUT
 * (NULL when neither is set). */
static vl_err_t
secret_from_config (const config_setting_t *grp, const char *env_key, const char *file_key,
                    char **out)
{
    *out = NULL;
    const char *env = cfg_get_str (grp, env_key, NULL);
    const char *file = cfg_get_str (grp, file_key, NULL);
    if (!env && !file)
        return VL_OK;
    if (util_read_secret (env, file, out) == VL_OK)
        return VL_OK;
    log_error ("%s: cannot read secret (%s / %s)", cfg_where (grp), env ? env : "-",
               file ? file : "-");
    return VL_ECONFIG;
}

static void
secret_free (char *s)
{
    if (s) {
        memset (s, 0, strlen (s));
        free (s);
    }
}

sink_t *
sink_nats_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    char *token = NULL, *password = NULL;
    sink_t *s = NULL;
    *err = secret_from_config (grp, "token_env", "token_file", &token);
    if (*err == VL_OK)
        *err = secret_from_config (grp, "password_env", "password_file", &password);
    if (*err == VL_OK) {
        sink_nats_opts_t o = {
            .name = name, .url = cfg_get_str (grp, "url", "nats://127.0.0.1:4222"),
            .subject_prefix = cfg_get_str (grp, "subject_prefix", "veille"),
            .stream = cfg_get_str (grp, "stream", "VEILLE"),
            .duplicate_window_s = cfg_get_int (grp, "duplicate_window_s", 120),
            .msgpack = strcmp (cfg_get_str (grp, "payload", "json"), "msgpack") == 0,
            .timeout_ms = cfg_get_int (grp, "timeout_s", 5) * 1000,
            .token = token, .user = cfg_get_str (grp, "username", NULL), .password = password,
            .creds_file = cfg_get_str (grp, "creds_file", NULL),
        };
        s = sink_nats_new (&o, err);
    }
    secret_free (token);
    secret_free (password);
    return s;
}
