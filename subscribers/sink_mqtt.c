/* sink_mqtt.c: alerts to MQTT through libmosquitto's network thread; the
 * worker waits for each PUBACK. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mosquitto.h>
#include "format.h"
#include "config.h"
#include "log.h"
#include "sink_mqtt.h"
#include "util.h"

#define TOPIC_MAX 1024
#define ACKED_RING 64

typedef struct {
    sink_t            base;
    char             *host, *prefix, *client_id, *username, *password, *cafile;
    int               port, keepalive_s, timeout_ms;
    bool              retain;
    struct mosquitto *mosq;
    bool              started;      /* network thread running */
    pthread_mutex_t   mu;
    pthread_cond_t    cv;
    bool              connected;    /* under mu */
    int               conn_rc;      /* last CONNACK code, under mu */
    int               acked[ACKED_RING];  /* recent PUBACK'd mids, under mu */
    size_t            nacked;
    buf_t             payload;
} sink_mqtt_t;

bool
sink_mqtt_topic (const char *prefix, const char *topic, char *out, size_t cap)
{
    int n = snprintf (out, cap, "%s/%s", prefix, topic);
    if (n < 0 || (size_t) n >= cap)
        return false;
    for (char *p = out + strlen (prefix) + 1; *p; p++)
        if (*p == '.')
            *p = '/';
    return strpbrk (out, "+#") == NULL;
}

static void
on_connect (struct mosquitto *m, void *arg, int rc)
{
    sink_mqtt_t *self = arg;
    pthread_mutex_lock (&self->mu);
    self->connected = rc == 0;
    self->conn_rc = rc;
    pthread_cond_broadcast (&self->cv);
    pthread_mutex_unlock (&self->mu);
    if (rc != 0)
        log_warn ("sink %s: MQTT broker refused the connection: %s", self->base.name,
                  mosquitto_connack_string (rc));
}

static void
on_disconnect (struct mosquitto *m, void *arg, int rc)
{
    sink_mqtt_t *self = arg;
    pthread_mutex_lock (&self->mu);
    self->connected = false;
    pthread_cond_broadcast (&self->cv);
    pthread_mutex_unlock (&self->mu);
}

static void
on_publish (struct mosquitto *m, void *arg, int mid)
{
    sink_mqtt_t *self = arg;
    pthread_mutex_lock (&self->mu);
    self->acked[self->nacked++ % ACKED_RING] = mid;
    pthread_cond_broadcast (&self->cv);
    pthread_mutex_unlock (&self->mu);
}

static bool
acked (const sink_mqtt_t *self, int mid)
{
    size_t n = self->nacked < ACKED_RING ? self->nacked : ACKED_RING;
    for (size_t i = 0; i < n; i++)
        if (self->acked[i] == mid)
            return true;
    return false;
}

/* Waits (mu held) until DONE(SELF, ARG) or the timeout. */
static bool
wait_for (sink_mqtt_t *self, bool (*done) (const sink_mqtt_t *, int), int arg)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    ts.tv_sec += self->timeout_ms / 1000;
    ts.tv_nsec += (long) (self->timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!done (self, arg))
        if (pthread_cond_timedwait (&self->cv, &self->mu, &ts) != 0)
            return done (self, arg);
    return true;
}

static bool
is_connected (const sink_mqtt_t *self, int unused)
{
    return self->connected;
}

static int
mqtt_start (sink_mqtt_t *self)
{
    int rc = mosquitto_connect_async (self->mosq, self->host, self->port, self->keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO)   /* ERRNO: refused now, retried */
        return rc;
    rc = mosquitto_loop_start (self->mosq);
    if (rc == MOSQ_ERR_SUCCESS)
        self->started = true;
    return rc;
}

static void
mqtt_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_mqtt_t *self = (sink_mqtt_t *) base;
    char topic[TOPIC_MAX];
    if (!sink_mqtt_topic (self->prefix, ev->topic, topic, sizeof topic)) {
        sink_result_set (res, SINK_FAILED, "topic %s is not a valid MQTT topic", ev->topic);
        return;
    }
    buf_reset (&self->payload);
    if (format_json_line (&self->payload, ev, seq) != VL_OK) {
        sink_result_set (res, SINK_FAILED, "cannot format event");
        return;
    }
    int rc = self->started ? MOSQ_ERR_SUCCESS : mqtt_start (self);
    if (rc != MOSQ_ERR_SUCCESS) {
        sink_result_set (res, SINK_RETRY, "MQTT %s:%d: %s", self->host, self->port,
                         mosquitto_strerror (rc));
        return;
    }
    pthread_mutex_lock (&self->mu);
    bool up = wait_for (self, is_connected, 0);
    int conn_rc = self->conn_rc;
    pthread_mutex_unlock (&self->mu);
    if (!up) {
        sink_result_set (res, SINK_RETRY, "MQTT %s:%d: not connected%s%s", self->host, self->port,
                         conn_rc ? ": " : "", conn_rc ? mosquitto_connack_string (conn_rc) : "");
        return;
    }
    int mid = 0;
    rc = mosquitto_publish (self->mosq, &mid, topic, (int) self->payload.len, self->payload.data,
                            1, self->retain);
    if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_OVERSIZE_PACKET) {
        sink_result_set (res, SINK_FAILED, "MQTT refused %s: %s", topic, mosquitto_strerror (rc));
        return;
    }
    pthread_mutex_lock (&self->mu);
    bool ok = rc == MOSQ_ERR_SUCCESS && wait_for (self, acked, mid);
    pthread_mutex_unlock (&self->mu);
    if (ok)
        sink_result_set (res, SINK_DELIVERED, "PUBACK for %s", topic);
    else
        sink_result_set (res, SINK_RETRY, "MQTT publish %s: %s", topic,
                         rc == MOSQ_ERR_SUCCESS ? "no PUBACK in time" : mosquitto_strerror (rc));
}

static void
mqtt_destroy (sink_t *base)
{
    sink_mqtt_t *self = (sink_mqtt_t *) base;
    if (self->mosq) {
        if (self->started) {
            mosquitto_disconnect (self->mosq);
            mosquitto_loop_stop (self->mosq, false);
        }
        mosquitto_destroy (self->mosq);
        mosquitto_lib_cleanup ();
    }
    pthread_mutex_destroy (&self->mu);
    pthread_cond_destroy (&self->cv);
    buf_free (&self->payload);
    if (self->password)
        memset (self->password, 0, strlen (self->password));
    free (self->host);
    free (self->prefix);
    free (self->client_id);
    free (self->username);
    free (self->password);
    free (self->cafile);
    free (self->base.name);
    free (self);
}

static const sink_ops_t MQTT_OPS = {
    .type = "mqtt", .deliver = mqtt_deliver, .destroy = mqtt_destroy,
};

static bool
dup_opt (char **dst, const char *src)
{
    *dst = src ? strdup (src) : NULL;
    return !src || *dst;
}

/* Creates the libmosquitto client with credentials, TLS and callbacks. */
static vl_err_t
mqtt_client (sink_mqtt_t *self)
{
    mosquitto_lib_init ();
    self->mosq = mosquitto_new (self->client_id, true, self);
    if (!self->mosq) {
        mosquitto_lib_cleanup ();
        return VL_ENOMEM;
    }
    mosquitto_int_option (self->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_reconnect_delay_set (self->mosq, 1, 10, true);
    mosquitto_connect_callback_set (self->mosq, on_connect);
    mosquitto_disconnect_callback_set (self->mosq, on_disconnect);
    mosquitto_publish_callback_set (self->mosq, on_publish);
    if (self->username
        && mosquitto_username_pw_set (self->mosq, self->username, self->password) != MOSQ_ERR_SUCCESS)
        return VL_EINVAL;
    if (self->cafile
        && mosquitto_tls_set (self->mosq, self->cafile, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        log_error ("sink %s: cannot use CA file %s", self->base.name, self->cafile);
        return VL_EINVAL;
    }
    return VL_OK;
}

sink_t *
sink_mqtt_new (const sink_mqtt_opts_t *opts, vl_err_t *err)
{
    bool ok = opts->host && *opts->host && opts->topic_prefix && *opts->topic_prefix
           && !strpbrk (opts->topic_prefix, "+#") && opts->port > 0 && opts->port < 65536;
    sink_mqtt_t *self = ok ? calloc (1, sizeof *self) : NULL;
    vl_err_t rc = ok ? VL_ENOMEM : VL_EINVAL;
    if (self) {
        self->base.ops = &MQTT_OPS;
        pthread_mutex_init (&self->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init (&ca);
        pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
        pthread_cond_init (&self->cv, &ca);
        pthread_condattr_destroy (&ca);
        buf_init (&self->payload, EVENT_MAX_BYTES * 2);
        self->port = opts->port;
        self->retain = opts->retain;
        self->keepalive_s = opts->keepalive_s >= 5 ? opts->keepalive_s : 30;
        self->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
        const char *name = opts->name ? opts->name : "mqtt";
        char cid[128];
        snprintf (cid, sizeof cid, "veille-%s", name);
        if (dup_opt (&self->base.name, name) && dup_opt (&self->host, opts->host)
            && dup_opt (&self->prefix, opts->topic_prefix)
            && dup_opt (&self->client_id, opts->client_id ? opts->client_id : cid)
            && dup_opt (&self->username, opts->username)
            && dup_opt (&self->password, opts->password) && dup_opt (&self->cafile, opts->cafile))
            rc = mqtt_client (self);
    }
    if (rc != VL_OK && self) {
        mqtt_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}

sink_t *
sink_mqtt_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    char *password = NULL;
    const char *env = cfg_get_str (grp, "password_env", NULL);
    const char *file = cfg_get_str (grp, "password_file", NULL);
    if ((env || file) && util_read_secret (env, file, &password) != VL_OK) {
        log_error ("%s: cannot read the MQTT password (%s / %s)", cfg_where (grp),
                   env ? env : "-", file ? file : "-");
        *err = VL_ECONFIG;
        return NULL;
    }
    sink_mqtt_opts_t o = {
        .name = name, .host = cfg_get_str (grp, "host", "127.0.0.1"),
        .port = cfg_get_int (grp, "port", 1883),
        .topic_prefix = cfg_get_str (grp, "topic_prefix", "veille"),
        .client_id = cfg_get_str (grp, "client_id", NULL),
        .retain = cfg_get_bool (grp, "retain", false),
        .keepalive_s = cfg_get_int (grp, "keepalive_s", 30),
        .timeout_ms = cfg_get_int (grp, "timeout_s", 5) * 1000,
        .username = cfg_get_str (grp, "username", NULL), .password = password,
        .cafile = cfg_get_str (grp, "ca_file", NULL),
    };
    sink_t *s = sink_mqtt_new (&o, err);
    if (password) {
        memset (password, 0, strlen (password));
        free (password);
    }
    return s;
}
