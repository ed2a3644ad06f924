/* sink_mqtt.h: publishes each alert as JSON to an MQTT broker (libmosquitto)
 * at QoS 1 on topic "<prefix>/<topic with dots as slashes>", optionally
 * retained (a new subscriber then gets the last alert of each topic). An
 * alert counts as delivered when the broker's PUBACK came back. QoS 1 is
 * at least once: after a connection loss MQTT itself may repeat a message. */
#ifndef VL_SINK_MQTT_H
#define VL_SINK_MQTT_H

#include <stdbool.h>
#include "sink.h"

typedef struct {
    const char *name;
    const char *host;           /* broker host */
    int         port;           /* 1883, 8883 with TLS */
    const char *topic_prefix;   /* "veille" */
    const char *client_id;      /* NULL = "veille-<name>" */
    bool        retain;
    int         keepalive_s;
    int         timeout_ms;     /* connect and PUBACK timeout */
    const char *username, *password;  /* or NULL */
    const char *cafile;         /* enables TLS with this CA bundle, or NULL */
} sink_mqtt_opts_t;

/* Creates the sink; it connects at the first delivery and reconnects by
 * itself afterwards. VL_EINVAL for a bad host/prefix. Caller owns. */
sink_t *sink_mqtt_new (const sink_mqtt_opts_t *opts, vl_err_t *err);

/* Writes "<prefix>/<topic with '.' as '/'>" into OUT (CAP bytes); false if
 * it does not fit or contains an MQTT wildcard. */
bool sink_mqtt_topic (const char *prefix, const char *topic, char *out, size_t cap);

/* Builds the sink from its validated config group GRP (secrets read from
 * the *_env / *_file keys). Caller owns; NULL with *ERR on failure. */
sink_t *sink_mqtt_from_config (const config_setting_t *grp, const char *name, vl_err_t *err);

#endif
