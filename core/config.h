/* config.h: one libconfig file format for every veille process.
 *
 * A file holds any of three top-level groups: `broker`, `watch`, `sub`.
 * Each module describes its keys with a table of cfg_key_t (type, default,
 * range, choices, doc). cfg_load() parses the file, validates the sections
 * asked for against their tables, reports every error as
 * "file:line: key: message" (with "did you mean ...?" for unknown keys),
 * and fills in defaults, so readers can use the plain libconfig lookups
 * afterwards and always find a value. docs/configuration.md is the human
 * version of these tables (`veille check --dump-keys` prints them). */
#ifndef VL_CONFIG_H
#define VL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <libconfig.h>
#include "vl_err.h"

typedef enum {
    CFG_T_STR,      /* string */
    CFG_T_INT,      /* 32-bit int; min/max checked */
    CFG_T_INT64,    /* 64-bit int (an int literal is accepted too) */
    CFG_T_BOOL,
    CFG_T_FLOAT,
    CFG_T_ENUM,     /* string, one of choices ("a|b|c") */
    CFG_T_STRLIST,  /* array or list of strings; a single string is accepted */
    CFG_T_GROUP,    /* group with keys `children` */
    CFG_T_LIST      /* list of groups, each validated against `children` */
} cfg_type_t;

#define CFG_REQUIRED 0x1u

typedef struct cfg_key cfg_key_t;

/* For groups whose allowed keys depend on a discriminating key (a sink's
 * `type`): when discriminator == value, `keys` are allowed as well. */
typedef struct {
    const char      *value;
    const cfg_key_t *keys;   /* terminated by an entry with name == NULL */
} cfg_variant_t;

struct cfg_key {
    const char          *name;
    cfg_type_t           type;
    const char          *def;       /* default, as text; NULL = no default */
    int64_t              min, max;  /* for ints; both 0 = unchecked */
    const char          *choices;   /* CFG_T_ENUM: "batch|interval|none" */
    unsigned             flags;     /* CFG_REQUIRED */
    const cfg_key_t     *children;  /* CFG_T_GROUP / CFG_T_LIST */
    const char          *discriminator;     /* key naming the variant */
    const cfg_variant_t *variants;          /* terminated by value == NULL */
    const char          *doc;
};

typedef struct cfg cfg_t;

/* Which sections cfg_load validates. */
typedef struct {
    const char      *name;      /* "broker", "watch", "sub" */
    const cfg_key_t *keys;
    bool             required;  /* error if the section is absent */
} cfg_section_t;

/* Parses PATH and validates SECTIONS (array of N). On success returns an
 * owned cfg_t. On failure returns NULL, sets *ERR (VL_ECONFIG, VL_EIO) and
 * writes every problem as "file:line: message\n" into *ERRORS (malloc'd,
 * caller frees; may be NULL). */
cfg_t *cfg_load (const char *path, const cfg_section_t *sections, size_t n,
                 vl_err_t *err, char **errors);

/* Like cfg_load, but a file that parses is returned even when some keys
 * fail validation (*ERR = VL_ECONFIG, *ERRORS filled, defaults filled in
 * where they could be), so that `veille check` can go on to the checks of
 * the next layer and report everything in one run. NULL only when the file
 * cannot be read or parsed (or on OOM). Caller owns the result. */
cfg_t *cfg_load_checked (const char *path, const cfg_section_t *sections, size_t n,
                         vl_err_t *err, char **errors);

/* Same, from a string (for tests); NAME is used in messages. */
cfg_t *cfg_load_string (const char *text, const char *name,
                        const cfg_section_t *sections, size_t n,
                        vl_err_t *err, char **errors);

/* The libconfig setting of section NAME, or NULL if absent. Valid while
 * SELF lives. */
config_setting_t *cfg_section (cfg_t *self, const char *name);

/* Path of the file loaded (valid while SELF lives). */
const char *cfg_path (const cfg_t *self);

void cfg_destroy (cfg_t **self_p);

/* Accessors on a validated group (defaults have been filled in, so these
 * only return the fallback for keys without a default). Strings returned
 * by cfg_get_str die with the cfg_t: copy them. */
const char *cfg_get_str (const config_setting_t *grp, const char *key, const char *fallback);
int         cfg_get_int (const config_setting_t *grp, const char *key, int fallback);
int64_t     cfg_get_int64 (const config_setting_t *grp, const char *key, int64_t fallback);
bool        cfg_get_bool (const config_setting_t *grp, const char *key, bool fallback);
double      cfg_get_float (const config_setting_t *grp, const char *key, double fallback);

/* Copies a CFG_T_STRLIST into a NULL-terminated malloc'd array of malloc'd
 * strings (caller frees with cfg_strlist_free); *N gets the count.
 * An absent key gives an empty list. NULL only on OOM. */
char **cfg_get_strlist (const config_setting_t *grp, const char *key, size_t *n);
void   cfg_strlist_free (char **list);

/* "file:line" of a setting, for messages about values that validate but
 * fail later (an unreachable URL, a bad XPath). Static buffer per thread. */
const char *cfg_where (const config_setting_t *setting);

/* Checks that the path named by KEY of GRP (absent key: fine) exists and
 * is a directory (DIR) or a regular file; logs "file:line: key \"path\":
 * why" otherwise and returns false. A path this user may not look at
 * (EACCES) is a warning and true: the daemon may run as another user.
 * For `veille check` and the daemons' loaders (key files, CA files). */
bool cfg_check_path (const config_setting_t *grp, const char *key, bool dir);

/* Checks the secret file (token_file, password_file, auth_file) named by
 * KEY of GRP (absent key: fine): it must exist, be a regular file (no
 * symbolic link) and not be readable or writable by group or others (the
 * daemons refuse it: the message says "chmod 600 PATH"). Logs each
 * problem with file:line and returns false. A file this user may not look
 * at is a warning (counted in *WARNINGS, may be NULL) and true. */
bool cfg_check_secret (const config_setting_t *grp, const char *key, int *warnings);

/* Writes the key tables as Markdown to FP (docs, `veille check --dump-keys`). */
#include <stdio.h>
void cfg_dump_markdown (FILE *fp, const cfg_section_t *sections, size_t n);

#endif
