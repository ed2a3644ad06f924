/* broker_opts.h: the validated `broker` section turned into the options of
 * the broker (broker_opts_t). The key table itself is broker_conf.h. */
#ifndef VL_BROKER_OPTS_H
#define VL_BROKER_OPTS_H

#include "broker.h"
#include "config.h"

/* Fills *OUT from the validated `broker` section SEC (defaults already
 * filled in by cfg_load). The strings are copies: free them with
 * broker_opts_clear. VL_ENOMEM, or VL_ECONFIG for an unknown fsync policy
 * or what broker_conf_check refuses (logged with file:line). */
vl_err_t broker_opts_read (const config_setting_t *sec, broker_opts_t *out);

#endif
