/* broker_conf.h: the key table of the `broker` section of a veille config.
 * Used by veille-broker (cfg_load) and by `veille check` / --dump-keys. */
#ifndef VL_BROKER_CONF_H
#define VL_BROKER_CONF_H

#include "broker.h"
#include "config.h"

/* Keys of the `broker` section, terminated by an entry with name == NULL. */
extern const cfg_key_t broker_conf_keys[];

/* Fills *OUT from the validated `broker` section SEC (defaults already
 * filled in by cfg_load). The strings are copies: free them with
 * broker_opts_clear. VL_ENOMEM, or VL_ECONFIG for an unknown fsync policy
 * or a plaintext network endpoint without allow_plaintext_tcp (logged with
 * file:line; with it, each such endpoint is logged as a warning). */
vl_err_t broker_conf_read (const config_setting_t *sec, broker_opts_t *out);

#endif
