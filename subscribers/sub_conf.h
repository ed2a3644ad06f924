/* sub_conf.h: the key table of the `sub` section (veille-sub), validated by
 * core/config.c; also linked by `veille check`. */
#ifndef VL_SUB_CONF_H
#define VL_SUB_CONF_H

#include "config.h"

/* Keys of the `sub` section, terminated by an entry with name == NULL.
 * Per-sink keys depend on the sink's `type` (cfg_variant_t). */
extern const cfg_key_t sub_conf_keys[];

/* The section descriptor for cfg_load: {"sub", sub_conf_keys, true}. */
extern const cfg_section_t sub_conf_section;

#endif
