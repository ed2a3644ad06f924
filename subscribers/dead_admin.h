/* dead_admin.h: veille-sub's dead-letter commands and --purge-sink,
 * one-shot, on the state file of a validated `sub` section (the parked
 * events themselves are stored by dispatch.c through cursor.c). */
#ifndef VL_DEAD_ADMIN_H
#define VL_DEAD_ADMIN_H

#include <stdio.h>
#include "config.h"

/* Prints the dead letters (of SINK, or all) on OUT. 0 ok, 1 error. */
int dead_admin_list (config_setting_t *section, const char *sink, FILE *out);

/* Delivers the dead letters (of SINK, or all) again, with the sink's retry
 * policy; removes those delivered. 0 if all were delivered, 1 otherwise,
 * 2 for an unknown sink. */
int dead_admin_retry (config_setting_t *section, const char *sink, FILE *out);

/* Forgets everything the state file holds for SINK, a sink removed from
 * the configuration (its cursor, id window, dead letters): cursor_purge.
 * 0 done, 1 error, 2 if SINK is still in SECTION (remove it first: a
 * running veille-sub would write it again) or has nothing stored. */
int dead_admin_purge_sink (config_setting_t *section, const char *sink, FILE *out);

#endif
