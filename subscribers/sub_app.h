/* sub_app.h: veille-sub as a library: build the sinks and the dispatcher
 * from a validated `sub` section, run the subscription loop, and
 * --test-sink (the dead-letter commands: dead_admin.h). main.c only parses
 * the command line. */
#ifndef VL_SUB_APP_H
#define VL_SUB_APP_H

#include <signal.h>
#include <stdio.h>
#include "config.h"
#include "dispatch.h"

/* Builds a dispatcher (not started) with every sink of SECTION. Returns
 * NULL with *ERR = VL_ECONFIG (logged) on a bad sink, VL_EDB... on state
 * errors. Caller owns. */
dispatch_t *sub_app_build (config_setting_t *section, vl_err_t *err);

/* Runs until *STOP is set: subscribes from the sinks' cursors, feeds the
 * dispatcher, re-subscribes when a suspended sink has drained. When *HUP
 * is set (it clears it): reopens files and, with CONF_PATH (the file
 * SECTION came from; may be NULL), reloads the sinks from it (added,
 * removed, changed; anything else needs a restart; a bad file keeps the
 * running sinks). Logs "ready" once the broker subscription is active.
 * Returns 0 on a clean stop, 1 on failure. */
int sub_app_run (config_setting_t *section, const char *conf_path,
                 volatile sig_atomic_t *stop, volatile sig_atomic_t *hup);

/* Sends one sample alert through sink NAME and prints the result on OUT.
 * 0 delivered, 1 failed, 2 no such sink / bad config. */
int sub_app_test_sink (config_setting_t *section, const char *name, FILE *out);

/* The group of sink NAME in SECTION (owned by the configuration), NULL if
 * there is none. */
config_setting_t *sub_app_find_sink (config_setting_t *section, const char *name);

#endif
