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

/* Checks what the key table cannot in the `sub` section SEC (validated by
 * cfg_load, or by cfg_load_checked for `veille check`): quiet_hours, unique
 * sink names, URL schemes (webhook http/https, mail smtp/smtps), secret
 * files (present, regular, chmod 600), event types (a near-miss of a known
 * type is an error), matrix/telegram requirements, keyword and tag terms,
 * CURVE keys together; topic prefixes without a final dot are warnings.
 * Every problem is logged as "file:line: ...", all of them in one call.
 * *WARNINGS (may be NULL) gets the number of warnings. Returns VL_ECONFIG
 * if any error was found. Reads the file system (stat), nothing else. */
vl_err_t sub_conf_check (const config_setting_t *sec, int *warnings);

/* The sink types, "log, mail, webhook, ..." (from the key table; static
 * storage, filled at the first call). */
const char *sub_conf_sink_types (void);

/* Parses quiet hours "HH:MM-HH:MM" into minutes after midnight (an end of
 * 24:00 allowed; start != end). VL_EINVAL otherwise. */
vl_err_t sub_conf_parse_quiet (const char *spec, int *start_min, int *end_min);

#endif
