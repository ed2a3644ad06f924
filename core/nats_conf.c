/* nats_conf.c: the `nats` group's key table and loader, the connection it
 * describes, and the topic <-> subject mapping. */
#include "nats_conf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define NATS_MAX_SERVERS 16
#define NATS_ERR_LOG_MS  10000

const cfg_key_t nats_conf_keys[] = {
    { .name = "servers", .type = CFG_T_STR, .def = "nats://127.0.0.1:4222",
      .doc = "NATS server URLs, comma-separated (nats:// or tls://); give several "
             "members of the cluster so a lost host is not a lost connection" },
    { .name = "stream", .type = CFG_T_STR, .def = "VEILLE",
      .doc = "JetStream stream holding the events (veille-watch creates it if missing)" },
    { .name = "subject_prefix", .type = CFG_T_STR, .def = "veille",
      .doc = "subject of an event = <subject_prefix>.<topic>; the stream covers \"<subject_prefix>.>\"" },
    { .name = "replicas", .type = CFG_T_INT, .def = "1", .min = 1, .max = 5,
      .doc = "replicas of the stream veille-watch creates (3 on a 3-node cluster)" },
    { .name = "duplicate_window_s", .type = CFG_T_INT, .def = "86400", .min = 60, .max = 604800,
      .doc = "duplicate window of the stream veille-watch creates (Nats-Msg-Id = event id); "
             "must cover how long an outbox row may wait for its PubAck" },
    { .name = "timeout_ms", .type = CFG_T_INT, .def = "5000", .min = 100, .max = 600000,
      .doc = "connect, JetStream API and PubAck timeout (a publish without PubAck is resent)" },
    { .name = "username", .type = CFG_T_STR, .doc = "user name (with password_env/password_file)" },
    { .name = "password_env", .type = CFG_T_STR, .doc = "environment variable holding the password" },
    { .name = "password_file", .type = CFG_T_STR,
      .doc = "file holding the password (must not be readable by group/others)" },
    { .name = "creds_file", .type = CFG_T_STR, .doc = "NATS credentials file (JWT and NKey seed)" },
    { .name = "tls_ca", .type = CFG_T_STR, .doc = "PEM CA file to trust for tls:// servers" },
    { .name = "tls_cert", .type = CFG_T_STR, .doc = "PEM client certificate (mutual TLS; with tls_key)" },
    { .name = "tls_key", .type = CFG_T_STR, .doc = "PEM client private key (with tls_cert)" },
    { .name = NULL }
};

/* Copies GRP's string KEY (default FALLBACK) into *DST; false on OOM. */
static bool copy_key (const config_setting_t *grp, const char *key, const char *fallback,
                      char **dst)
{
    const char *v = grp ? cfg_get_str (grp, key, fallback) : fallback;
    *dst = v && *v ? strdup (v) : NULL;
    return !(v && *v) || *dst;
}

vl_err_t nats_conf_load (const config_setting_t *grp, nats_conf_t *out)
{
    memset (out, 0, sizeof *out);
    bool ok = copy_key (grp, "servers", "nats://127.0.0.1:4222", &out->servers)
        && copy_key (grp, "stream", "VEILLE", &out->stream)
        && copy_key (grp, "subject_prefix", "veille", &out->subject_prefix)
        && copy_key (grp, "username", NULL, &out->user)
        && copy_key (grp, "creds_file", NULL, &out->creds_file)
        && copy_key (grp, "tls_ca", NULL, &out->tls_ca)
        && copy_key (grp, "tls_cert", NULL, &out->tls_cert)
        && copy_key (grp, "tls_key", NULL, &out->tls_key);
    out->timeout_ms = grp ? cfg_get_int (grp, "timeout_ms", 5000) : 5000;
    out->replicas = grp ? cfg_get_int (grp, "replicas", 1) : 1;
    out->duplicate_window_s = grp ? cfg_get_int (grp, "duplicate_window_s", 86400) : 86400;
    if (!ok) {
        nats_conf_free (out);
        return VL_ENOMEM;
    }
    const char *where = grp ? cfg_where (grp) : "nats";
    vl_err_t e = VL_OK;
    const char *penv = grp ? cfg_get_str (grp, "password_env", NULL) : NULL;
    const char *pfile = grp ? cfg_get_str (grp, "password_file", NULL) : NULL;
    if (penv || pfile) {
        e = util_read_secret (penv, pfile, &out->password);
        if (e != VL_OK)
            log_error ("%s: cannot read the NATS password: %s", where, vl_strerror (e));
    }
    if (e == VL_OK && (out->password != NULL) != (out->user != NULL)) {
        log_error ("%s: username and password_env/password_file go together", where);
        e = VL_ECONFIG;
    }
    if (e == VL_OK && (out->tls_cert != NULL) != (out->tls_key != NULL)) {
        log_error ("%s: tls_cert and tls_key go together", where);
        e = VL_ECONFIG;
    }
    if (e == VL_OK && (!out->subject_prefix || !out->servers || !out->stream)) {
        log_error ("%s: servers, stream and subject_prefix must not be empty", where);
        e = VL_ECONFIG;
    }
    if (e != VL_OK) {
        nats_conf_free (out);
        return e == VL_ENOMEM ? e : VL_ECONFIG;
    }
    return VL_OK;
}

void nats_conf_free (nats_conf_t *self)
{
    if (!self)
        return;
    if (self->password)
        memset (self->password, 0, strlen (self->password));
    char *all[] = { self->servers, self->stream, self->subject_prefix, self->user,
                    self->password, self->creds_file, self->tls_ca, self->tls_cert,
                    self->tls_key };
    for (size_t i = 0; i < VL_ARRAY_LEN (all); i++)
        free (all[i]);
    memset (self, 0, sizeof *self);
}

/* Gives libnats the servers of URLS, a comma-separated list. */
static natsStatus set_servers (natsOptions *o, const char *urls)
{
    char *copy = strdup (urls), *save = NULL;
    const char *servers[NATS_MAX_SERVERS];
    int n = 0;
    if (!copy)
        return NATS_NO_MEMORY;
    for (char *t = strtok_r (copy, ", ", &save); t && n < NATS_MAX_SERVERS;
         t = strtok_r (NULL, ", ", &save))
        servers[n++] = t;
    natsStatus s = n ? natsOptions_SetServers (o, servers, n) : NATS_INVALID_ARG;
    free (copy);
    return s;
}

/* libnats' thread: an asynchronous error (a permissions violation, a slow
 * consumer), logged at most once per NATS_ERR_LOG_MS. */
static void async_error (natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void) nc;
    (void) sub;
    (void) closure;
    static _Atomic int64_t last;
    int64_t now = util_mono_ms ();
    if (now - last < NATS_ERR_LOG_MS)
        return;
    last = now;
    log_warn ("NATS: %s (%s)", natsStatus_GetText (err),
              err == NATS_NOT_PERMITTED ? "these credentials lack a permission, "
              "docs/security.md, NATS permissions" : "retrying");
}

/* The options of C: servers, timeouts, endless reconnection, auth, TLS. */
static natsStatus make_options (const nats_conf_t *c, natsOptions **o)
{
    natsStatus s = natsOptions_Create (o);
    if (s == NATS_OK) s = set_servers (*o, c->servers);
    if (s == NATS_OK) s = natsOptions_SetTimeout (*o, c->timeout_ms);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect (*o, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait (*o, 250);
    if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect (*o, false, NULL, NULL);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler (*o, async_error, NULL);
    if (s == NATS_OK && c->user) s = natsOptions_SetUserInfo (*o, c->user, c->password);
    if (s == NATS_OK && c->creds_file)
        s = natsOptions_SetUserCredentialsFromFiles (*o, c->creds_file, NULL);
    if (s == NATS_OK && c->tls_ca) s = natsOptions_LoadCATrustedCertificates (*o, c->tls_ca);
    if (s == NATS_OK && c->tls_cert)
        s = natsOptions_LoadCertificatesChain (*o, c->tls_cert, c->tls_key);
    return s;
}

natsStatus nats_conf_connect (const nats_conf_t *c, const char *who, jsOptions *jo,
                              natsConnection **nc, jsCtx **js)
{
    natsOptions *o = NULL;
    *nc = NULL;
    *js = NULL;
    natsStatus s = make_options (c, &o);
    if (s == NATS_OK)
        s = natsConnection_Connect (nc, o);
    natsOptions_Destroy (o);
    jsOptions def;
    if (!jo) {
        jsOptions_Init (&def);
        jo = &def;
    }
    jo->Wait = c->timeout_ms;
    if (s == NATS_OK)
        s = natsConnection_JetStream (js, *nc, jo);
    if (s != NATS_OK) {
        log_warn ("%s: cannot connect to NATS %s: %s (%s)", who, c->servers,
                  natsStatus_GetText (s), nats_GetLastError (NULL));
        nats_conf_disconnect (nc, js);
    } else
        log_info ("%s: connected to NATS %s", who, c->servers);
    return s;
}

void nats_conf_disconnect (natsConnection **nc, jsCtx **js)
{
    if (js && *js)
        jsCtx_Destroy (*js);
    if (js)
        *js = NULL;
    if (nc && *nc) {
        natsConnection_Close (*nc);
        natsConnection_Destroy (*nc);
    }
    if (nc)
        *nc = NULL;
}

natsStatus nats_conf_add_stream (jsCtx *js, const char *stream, const char *prefix,
                                 int replicas, int dup_window_s, char *subj, size_t cap,
                                 jsStreamInfo **si)
{
    snprintf (subj, cap, "%s.>", prefix);
    const char *subjects[] = { subj };
    jsStreamConfig sc;
    jsStreamConfig_Init (&sc);
    sc.Name = stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = replicas;
    sc.Duplicates = (int64_t) dup_window_s * 1000000000LL;
    jsErrCode jerr = 0;
    return js_AddStream (si, js, &sc, NULL, &jerr);
}

bool nats_conf_subject (const char *prefix, const char *topic, size_t topic_len,
                        char *out, size_t cap)
{
    int n = snprintf (out, cap, "%s.%.*s", prefix, (int) topic_len, topic);
    if (n < 0 || (size_t) n >= cap)
        return false;
    bool empty = true;   /* tokens separated by '.', none empty, no wildcards or spaces */
    for (const char *p = out; *p; p++) {
        if (*p == '*' || *p == '>' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            return false;
        if (*p == '.') {
            if (empty)
                return false;
            empty = true;
        } else
            empty = false;
    }
    return !empty;
}

const char *nats_conf_topic (const char *prefix, const char *subject)
{
    size_t n = strlen (prefix);
    if (strncmp (subject, prefix, n) != 0 || subject[n] != '.' || !subject[n + 1])
        return NULL;
    return subject + n + 1;
}
