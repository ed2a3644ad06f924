/* sub_reload.h: what a SIGHUP reload changes in veille-sub: the sinks of
 * the new `sub` section compared with the running one, by name and by
 * every setting of their groups. Settings outside `sinks` (endpoints,
 * keys, state file...) are not reloaded: a change there refuses the
 * reload, and the running configuration stays. */
#ifndef VL_SUB_RELOAD_H
#define VL_SUB_RELOAD_H

#include <stddef.h>
#include "config.h"
#include "vl_err.h"

typedef struct {
    char  **added;      /* names in NEW only */
    char  **removed;    /* names in OLD only */
    char  **changed;    /* names in both whose groups differ */
    size_t  nadded, nremoved, nchanged;
} sub_reload_plan_t;

/* Fills PLAN (arrays owned by it: sub_reload_plan_free) with the sink
 * changes from section OLD to section NEW. VL_ECONFIG (logged, with the
 * setting's file:line) when a setting outside `sinks` differs or two sinks
 * of NEW share a name; VL_ENOMEM. */
vl_err_t sub_reload_plan (const config_setting_t *old, const config_setting_t *new,
                          sub_reload_plan_t *plan);

/* Frees PLAN's arrays and zeroes it. */
void sub_reload_plan_free (sub_reload_plan_t *plan);

#endif
