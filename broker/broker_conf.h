/* broker_conf.h: the key table of the `broker` section of a veille config.
 * Used by veille-broker (cfg_load) and by `veille check` / --dump-keys. */
#ifndef VL_BROKER_CONF_H
#define VL_BROKER_CONF_H

#include "config.h"

/* Keys of the `broker` section, terminated by an entry with name == NULL. */
extern const cfg_key_t broker_conf_keys[];

#endif
