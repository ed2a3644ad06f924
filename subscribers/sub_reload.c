/* sub_reload.c: comparing two `sub` sections for a reload (sub_reload.h). */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "log.h"
#include "sub_reload.h"
#include "util.h"

#define FINGERPRINT_MAX (4 * 1024 * 1024)   /* bytes of one setting, written out */

/* Appends a canonical text of setting S (name, type, value, members in
 * order) to OUT: two settings are the same when their texts are. */
static vl_err_t
put_setting (buf_t *out, const config_setting_t *s)
{
    const char *name = config_setting_name (s);
    int type = config_setting_type (s);
    vl_err_t rc = buf_printf (out, "%s=%d:", name ? name : "", type);
    switch (type) {
    case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64:
        return rc == VL_OK ? buf_printf (out, "%lld;", (long long) config_setting_get_int64 (s))
                           : rc;
    case CONFIG_TYPE_FLOAT:
        return rc == VL_OK ? buf_printf (out, "%.17g;", config_setting_get_float (s)) : rc;
    case CONFIG_TYPE_BOOL:
        return rc == VL_OK ? buf_printf (out, "%d;", config_setting_get_bool (s)) : rc;
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string (s);
        size_t n = v ? strlen (v) : 0;
        if (rc == VL_OK) rc = buf_printf (out, "%zu:", n);
        if (rc == VL_OK) rc = buf_append (out, v, n);
        return rc == VL_OK ? buf_putc (out, ';') : rc;
    }
    default:                                      /* group, array, list */
        if (rc == VL_OK) rc = buf_putc (out, '{');
        for (int i = 0; rc == VL_OK && i < config_setting_length (s); i++)
            rc = put_setting (out, config_setting_get_elem (s, (unsigned) i));
        return rc == VL_OK ? buf_putc (out, '}') : rc;
    }
}

/* True if A and B (either may be NULL) are the same setting. *ERR set on
 * failure (then false). */
static bool
same_setting (const config_setting_t *a, const config_setting_t *b, vl_err_t *err)
{
    if (!a || !b)
        return a == b;
    buf_t fa, fb;
    buf_init (&fa, FINGERPRINT_MAX);
    buf_init (&fb, FINGERPRINT_MAX);
    vl_err_t rc = put_setting (&fa, a);
    if (rc == VL_OK)
        rc = put_setting (&fb, b);
    bool same = rc == VL_OK && fa.len == fb.len && (fa.len == 0 || memcmp (fa.data, fb.data, fa.len) == 0);
    buf_free (&fa);
    buf_free (&fb);
    if (rc != VL_OK)
        *err = rc;
    return same;
}

/* VL_ECONFIG (logged) if a member of A other than `sinks` is not the same
 * in B; NEWER says which section A is, for the message. */
static vl_err_t
check_fixed (const config_setting_t *a, const config_setting_t *b, bool newer)
{
    vl_err_t rc = VL_OK;
    for (int i = 0; rc == VL_OK && i < config_setting_length (a); i++) {
        const config_setting_t *m = config_setting_get_elem (a, (unsigned) i);
        const char *name = config_setting_name (m);
        if (!name || strcmp (name, "sinks") == 0)
            continue;
        if (same_setting (m, config_setting_get_member (b, name), &rc) || rc != VL_OK)
            continue;
        log_error ("reload: %s: `%s` %s; only sinks are reloaded: restart veille-sub to "
                   "apply it (the running configuration stays)", cfg_where (m), name,
                   newer ? "changed or was added" : "was removed");
        rc = VL_ECONFIG;
    }
    return rc;
}

/* The group of sink NAME in SINKS (a list), or NULL. */
static const config_setting_t *
find_sink (const config_setting_t *sinks, const char *name)
{
    for (int i = 0; sinks && i < config_setting_length (sinks); i++) {
        const config_setting_t *g = config_setting_get_elem (sinks, (unsigned) i);
        if (strcmp (cfg_get_str (g, "name", ""), name) == 0)
            return g;
    }
    return NULL;
}

/* Appends a copy of NAME to the NULL-terminated *LIST of *N names. */
static vl_err_t
push_name (char ***list, size_t *n, const char *name)
{
    char **grown = realloc (*list, (*n + 2) * sizeof *grown);
    if (!grown)
        return VL_ENOMEM;
    *list = grown;
    if (!(grown[*n] = strdup (name)))
        return VL_ENOMEM;
    grown[++*n] = NULL;
    return VL_OK;
}

vl_err_t
sub_reload_plan (const config_setting_t *old, const config_setting_t *new,
                 sub_reload_plan_t *plan)
{
    memset (plan, 0, sizeof *plan);
    vl_err_t rc = check_fixed (new, old, true);
    if (rc == VL_OK)
        rc = check_fixed (old, new, false);
    const config_setting_t *os = config_setting_get_member (old, "sinks");
    const config_setting_t *ns = config_setting_get_member (new, "sinks");
    for (int i = 0; rc == VL_OK && ns && i < config_setting_length (ns); i++) {
        const config_setting_t *g = config_setting_get_elem (ns, (unsigned) i);
        const char *name = cfg_get_str (g, "name", "");
        const config_setting_t *was = find_sink (os, name);
        if (find_sink (ns, name) != g) {
            log_error ("reload: %s: sink name `%s` is not unique", cfg_where (g), name);
            rc = VL_ECONFIG;
        } else if (!was)
            rc = push_name (&plan->added, &plan->nadded, name);
        else if (!same_setting (was, g, &rc) && rc == VL_OK)
            rc = push_name (&plan->changed, &plan->nchanged, name);
    }
    for (int i = 0; rc == VL_OK && os && i < config_setting_length (os); i++) {
        const char *name = cfg_get_str (config_setting_get_elem (os, (unsigned) i), "name", "");
        if (!find_sink (ns, name))
            rc = push_name (&plan->removed, &plan->nremoved, name);
    }
    if (rc != VL_OK)
        sub_reload_plan_free (plan);
    return rc;
}

static void
free_names (char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free (list[i]);
    free (list);
}

void
sub_reload_plan_free (sub_reload_plan_t *plan)
{
    free_names (plan->added);
    free_names (plan->removed);
    free_names (plan->changed);
    memset (plan, 0, sizeof *plan);
}
