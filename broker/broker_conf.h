/* broker_conf.h: the key table of the `broker` section of a veille config
 * and the rules on it that need no broker code. Data and pure validation
 * only: used by veille-broker (cfg_load, broker_opts_read) and by
 * `veille check` / --dump-keys, which link it without the broker. */
#ifndef VL_BROKER_CONF_H
#define VL_BROKER_CONF_H

#include "config.h"
#include "vl_err.h"

/* Keys of the `broker` section, terminated by an entry with name == NULL. */
extern const cfg_key_t broker_conf_keys[];

/* Checks what the key table cannot in the validated `broker` section SEC
 * (defaults filled in by cfg_load): without CURVE (no curve_secret_key), a
 * plaintext network endpoint (anything but ipc:// and inproc://) lets any
 * local process publish or read alerts. Each one is refused (logged with
 * file:line) unless allow_plaintext_tcp is true, in which case each is
 * logged as a warning. The CURVE key file and allow-list directories
 * must exist (cfg_check_path). Returns VL_ECONFIG when one was refused. */
vl_err_t broker_conf_check (const config_setting_t *sec);

#endif
