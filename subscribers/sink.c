/* sink.c: building sinks from their configuration group; helpers shared by
 * every sink. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "log.h"
#include "sink.h"
#include "sink_log.h"
#include "sink_mail.h"
#include "sink_atom.h"
#include "sink_mqtt.h"
#include "sink_nats.h"
#include "sink_pipe.h"
#include "sink_webhook.h"
#include "util.h"

void
sink_result_set (sink_result_t *res, sink_status_t status, const char *fmt, ...)
{
    res->status = status;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (res->detail, sizeof res->detail, fmt, ap);
    va_end (ap);
}

void
sink_deliver (sink_t *self, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    res->retry_after_ms = 0;
    res->blocked = false;
    res->detail[0] = '\0';
    self->ops->deliver (self, ev, seq, res);
}

void
sink_flush (sink_t *self, sink_result_t *res)
{
    res->retry_after_ms = 0;
    res->blocked = false;
    res->detail[0] = '\0';
    self->ops->flush (self, res);
}

void
sink_destroy (sink_t **self_p)
{
    if (self_p && *self_p) {
        (*self_p)->ops->destroy (*self_p);
        *self_p = NULL;
    }
}

vl_err_t
sink_sample_event (event_t *ev)
{
    memset (ev, 0, sizeof *ev);
    ev->v = EVENT_VERSION;
    vl_err_t rc = event_set (&ev->id, "00000000000000000000000000000000");
    if (rc == VL_OK) rc = event_set (&ev->type, "new");
    if (rc == VL_OK) rc = event_set (&ev->source, "veille-test");
    if (rc == VL_OK) rc = event_set (&ev->topic, "test.sample");
    if (rc == VL_OK) rc = event_set (&ev->url, "https://example.org/veille/test");
    if (rc == VL_OK) rc = event_set (&ev->title, "veille test alert: Cybers\xc3\xa9" "curit\xc3\xa9 \xe2\x9c\x85");
    if (rc == VL_OK) rc = event_set (&ev->summary, "This is a sample alert sent by veille-sub --test-sink.");
    if (rc == VL_OK) rc = event_add_tag (ev, "test");
    ev->detected = util_now_ms ();
    char id[EVENT_ID_HEX + 1];
    char ident[32];
    snprintf (ident, sizeof ident, "%lld", (long long) ev->detected);
    event_make_id ("veille-test", ident, "new", "", id);
    if (rc == VL_OK) rc = event_set (&ev->id, id);
    return rc;
}

/* Reads the secret named by ENV_KEY / FILE_KEY of GRP, if either is set. */
static vl_err_t
read_secret (const config_setting_t *grp, const char *env_key, const char *file_key,
             char **out)
{
    *out = NULL;
    const char *env = cfg_get_str (grp, env_key, NULL);
    const char *file = cfg_get_str (grp, file_key, NULL);
    if (!env && !file)
        return VL_OK;
    vl_err_t rc = util_read_secret (env, file, out);
    if (rc != VL_OK)
        log_error ("%s: cannot read secret (%s / %s): %s", cfg_where (grp),
                   env ? env : "-", file ? file : "-", vl_strerror (rc));
    return rc == VL_OK ? VL_OK : VL_ECONFIG;
}

static sink_t *
log_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    sink_log_opts_t o = {
        .name = name,
        .path = cfg_get_str (grp, "file", NULL),
        .json = strcmp (cfg_get_str (grp, "format", "text"), "json") == 0,
    };
    return sink_log_new (&o, err);
}

static sink_t *
mail_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    char *password = NULL;
    size_t nto = 0;
    char **to = cfg_get_strlist (grp, "to", &nto);
    sink_t *s = NULL;
    *err = read_secret (grp, "password_env", "password_file", &password);
    if (*err == VL_OK && to) {
        sink_mail_opts_t o = {
            .name = name, .url = cfg_get_str (grp, "url", NULL),
            .from = cfg_get_str (grp, "from", NULL), .to = to,
            .username = cfg_get_str (grp, "username", NULL), .password = password,
            .starttls = cfg_get_bool (grp, "starttls", false),
            .digest_minutes = cfg_get_int (grp, "digest_minutes", 0),
            .subject_prefix = cfg_get_str (grp, "subject_prefix", "[veille]"),
            .html = cfg_get_bool (grp, "html", false),
            .timeout_s = cfg_get_int (grp, "timeout_s", 30),
            .ca_file = cfg_get_str (grp, "ca_file", NULL),
        };
        s = sink_mail_new (&o, err);
    } else if (*err == VL_OK)
        *err = VL_ENOMEM;
    if (password) {
        memset (password, 0, strlen (password));
        free (password);
    }
    cfg_strlist_free (to);
    return s;
}

static sink_t *
webhook_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    char *token = NULL;
    size_t ntags = 0;
    char **tags = cfg_get_strlist (grp, "ntfy_tags", &ntags);
    sink_t *s = NULL;
    int style = sink_webhook_style_parse (cfg_get_str (grp, "style", "json"));
    *err = read_secret (grp, "token_env", "token_file", &token);
    if (*err == VL_OK && tags && style >= 0) {
        sink_webhook_opts_t o = {
            .name = name, .url = cfg_get_str (grp, "url", NULL),
            .style = (webhook_style_t) style, .token = token,
            .chat_id = cfg_get_str (grp, "chat_id", NULL),
            .room = cfg_get_str (grp, "room", NULL),
            .priority = cfg_get_int (grp, "priority", 3), .ntfy_tags = tags,
            .timeout_s = cfg_get_int (grp, "timeout_s", 15),
            .ca_file = cfg_get_str (grp, "ca_file", NULL),
        };
        s = sink_webhook_new (&o, err);
        if (*err == VL_EINVAL)
            *err = VL_ECONFIG;
    } else if (*err == VL_OK)
        *err = tags ? VL_ECONFIG : VL_ENOMEM;
    if (token) {
        memset (token, 0, strlen (token));
        free (token);
    }
    cfg_strlist_free (tags);
    return s;
}

static sink_t *
pipe_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    size_t n = 0;
    char **argv = cfg_get_strlist (grp, "argv", &n);
    sink_t *s = NULL;
    if (!argv)
        *err = VL_ENOMEM;
    else if (n == 0)
        *err = VL_ECONFIG;
    else {
        sink_pipe_opts_t o = { .name = name, .argv = argv,
                               .timeout_s = cfg_get_int (grp, "timeout_s", 30) };
        s = sink_pipe_new (&o, err);
    }
    cfg_strlist_free (argv);
    return s;
}

sink_t *
sink_new_from_config (const config_setting_t *grp, vl_err_t *err)
{
    const char *type = cfg_get_str (grp, "type", "");
    const char *name = cfg_get_str (grp, "name", "?");
    vl_err_t rc = VL_ECONFIG;
    sink_t *s = NULL;
    if (strcmp (type, "log") == 0)
        s = log_from_config (grp, name, &rc);
    else if (strcmp (type, "mail") == 0)
        s = mail_from_config (grp, name, &rc);
    else if (strcmp (type, "webhook") == 0)
        s = webhook_from_config (grp, name, &rc);
    else if (strcmp (type, "pipe") == 0)
        s = pipe_from_config (grp, name, &rc);
    else if (strcmp (type, "nats") == 0)
        s = sink_nats_from_config (grp, name, &rc);
    else if (strcmp (type, "mqtt") == 0)
        s = sink_mqtt_from_config (grp, name, &rc);
    else if (strcmp (type, "atom") == 0)
        s = sink_atom_from_config (grp, name, &rc);
    if (!s) {
        log_error ("%s: sink %s (%s) cannot be set up: %s", cfg_where (grp), name, type,
                   vl_strerror (rc));
        rc = rc == VL_ENOMEM ? rc : VL_ECONFIG;
    }
    if (err)
        *err = s ? VL_OK : rc;
    return s;
}
