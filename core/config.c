/* config.c: libconfig files validated against key tables.
 * Every problem is reported as "file:line: path: message"; unknown keys get
 * the nearest valid name; missing keys with a default are filled in so
 * readers find a value with plain libconfig lookups. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "buf.h"
#include "config.h"
#include "log.h"
#include "util.h"

#define CFG_MAX_ERRORS 50
#define CFG_PATH_MAX   256

static const char *const known_sections[] = { "broker", "watch", "sub" };

struct cfg {
    config_t lc;
    char    *path;
};

typedef struct {
    buf_t       errors;
    int         count;
    const char *file;   /* fallback when libconfig has no file name */
} report_t;

static void
report (report_t *r, const config_setting_t *s, const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
report (report_t *r, const config_setting_t *s, const char *path, const char *fmt, ...)
{
    if (++r->count > CFG_MAX_ERRORS)
        return;
    const char *file = s ? config_setting_source_file (s) : NULL;
    unsigned line = s ? config_setting_source_line (s) : 0;
    buf_printf (&r->errors, "%s:%u: %s: ", file ? file : r->file, line, path);
    va_list ap;
    va_start (ap, fmt);
    buf_vprintf (&r->errors, fmt, ap);
    va_end (ap);
    buf_putc (&r->errors, '\n');
}

/* ---- key lookup and suggestions ------------------------------------- */

static const cfg_key_t *
find_in (const cfg_key_t *keys, const char *name)
{
    for (; keys && keys->name; keys++)
        if (strcmp (keys->name, name) == 0)
            return keys;
    return NULL;
}

static const cfg_key_t *
variant_keys (const cfg_key_t *spec, const config_setting_t *grp)
{
    if (!spec->discriminator || !spec->variants)
        return NULL;
    const char *value = NULL;
    if (!config_setting_lookup_string (grp, spec->discriminator, &value))
        return NULL;
    for (const cfg_variant_t *v = spec->variants; v->value; v++)
        if (strcmp (v->value, value) == 0)
            return v->keys;
    return NULL;
}

static void
suggest_from (const cfg_key_t *keys, const char *name, const char **best, size_t *dist)
{
    for (; keys && keys->name; keys++) {
        size_t d = util_edit_distance (name, keys->name);
        if (d < *dist) {
            *dist = d;
            *best = keys->name;
        }
    }
}

/* Nearest valid name among the keys (and every variant's keys, so that a
 * mail key in a webhook sink is pointed at), or NULL if nothing is close. */
static const char *
suggest (const cfg_key_t *keys, const cfg_variant_t *variants, const char *name)
{
    const char *best = NULL;
    size_t dist = SIZE_MAX;
    suggest_from (keys, name, &best, &dist);
    for (; variants && variants->value; variants++)
        suggest_from (variants->keys, name, &best, &dist);
    size_t len = strlen (name);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    return dist <= limit ? best : NULL;
}

static const char *
variant_owner (const cfg_variant_t *variants, const char *name)
{
    for (; variants && variants->value; variants++)
        if (find_in (variants->keys, name))
            return variants->value;
    return NULL;
}

/* ---- validation ------------------------------------------------------ */

static void validate_group (report_t *r, config_setting_t *grp, const cfg_key_t *keys,
                            const cfg_key_t *owner, const char *path);

static bool
choice_ok (const char *choices, const char *value)
{
    size_t vlen = strlen (value);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr (p, '|');
        size_t n = bar ? (size_t) (bar - p) : strlen (p);
        if (n == vlen && strncmp (p, value, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static void
check_range (report_t *r, config_setting_t *s, const cfg_key_t *k, const char *path, int64_t v)
{
    if ((k->min || k->max) && (v < k->min || v > k->max))
        report (r, s, path, "%lld is out of range [%lld, %lld]", (long long) v,
                (long long) k->min, (long long) k->max);
}

static void
check_strlist (report_t *r, config_setting_t *s, const char *path)
{
    int t = config_setting_type (s);
    if (t == CONFIG_TYPE_STRING)
        return;
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        report (r, s, path, "expected a string or a list of strings");
        return;
    }
    for (int i = 0; i < config_setting_length (s); i++)
        if (config_setting_type (config_setting_get_elem (s, (unsigned) i)) != CONFIG_TYPE_STRING) {
            report (r, s, path, "element %d is not a string", i);
            return;
        }
}

static void
check_list (report_t *r, config_setting_t *s, const cfg_key_t *k, const char *path)
{
    if (config_setting_type (s) != CONFIG_TYPE_LIST) {
        report (r, s, path, "expected a list of groups: ( { ... }, { ... } )");
        return;
    }
    for (int i = 0; i < config_setting_length (s); i++) {
        config_setting_t *e = config_setting_get_elem (s, (unsigned) i);
        char sub[CFG_PATH_MAX];
        if (snprintf (sub, sizeof sub, "%s[%d]", path, i) >= (int) sizeof sub)
            sub[sizeof sub - 1] = '\0';   /* a path that long is cut in messages */
        if (config_setting_type (e) != CONFIG_TYPE_GROUP)
            report (r, e, sub, "expected a group { ... }");
        else
            validate_group (r, e, k->children, k, sub);
    }
}

static void
check_value (report_t *r, config_setting_t *s, const cfg_key_t *k, const char *path)
{
    int t = config_setting_type (s);
    switch (k->type) {
    case CFG_T_STR:
        if (t != CONFIG_TYPE_STRING)
            report (r, s, path, "expected a string (in double quotes)");
        break;
    case CFG_T_ENUM:
        if (t != CONFIG_TYPE_STRING)
            report (r, s, path, "expected one of %s (a string)", k->choices);
        else if (!choice_ok (k->choices, config_setting_get_string (s)))
            report (r, s, path, "'%s' is not one of %s", config_setting_get_string (s), k->choices);
        break;
    case CFG_T_INT:
        if (t != CONFIG_TYPE_INT)
            report (r, s, path, "expected an integer");
        else
            check_range (r, s, k, path, config_setting_get_int (s));
        break;
    case CFG_T_INT64:
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            report (r, s, path, "expected an integer (64-bit values need an L suffix)");
        else
            check_range (r, s, k, path, config_setting_get_int64 (s));
        break;
    case CFG_T_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            report (r, s, path, "expected true or false");
        break;
    case CFG_T_FLOAT:
        if (t != CONFIG_TYPE_FLOAT && t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            report (r, s, path, "expected a number");
        break;
    case CFG_T_STRLIST:
        check_strlist (r, s, path);
        break;
    case CFG_T_GROUP:
        if (t != CONFIG_TYPE_GROUP)
            report (r, s, path, "expected a group { ... }");
        else
            validate_group (r, s, k->children, k, path);
        break;
    case CFG_T_LIST:
        check_list (r, s, k, path);
        break;
    }
}

/* Adds the default of K to GRP (which lacks it). */
static void
add_default (config_setting_t *grp, const cfg_key_t *k)
{
    config_setting_t *s;
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_ENUM:
        if (k->def && (s = config_setting_add (grp, k->name, CONFIG_TYPE_STRING)))
            config_setting_set_string (s, k->def);
        break;
    case CFG_T_INT:
        if (k->def && (s = config_setting_add (grp, k->name, CONFIG_TYPE_INT)))
            config_setting_set_int (s, (int) strtol (k->def, NULL, 0));
        break;
    case CFG_T_INT64:
        if (k->def && (s = config_setting_add (grp, k->name, CONFIG_TYPE_INT64)))
            config_setting_set_int64 (s, strtoll (k->def, NULL, 0));
        break;
    case CFG_T_BOOL:
        if (k->def && (s = config_setting_add (grp, k->name, CONFIG_TYPE_BOOL)))
            config_setting_set_bool (s, strcmp (k->def, "true") == 0);
        break;
    case CFG_T_FLOAT:
        if (k->def && (s = config_setting_add (grp, k->name, CONFIG_TYPE_FLOAT)))
            config_setting_set_float (s, strtod (k->def, NULL));
        break;
    case CFG_T_STRLIST:
        if ((s = config_setting_add (grp, k->name, CONFIG_TYPE_ARRAY)) && k->def) {
            char *copy = strdup (k->def), *save = NULL;
            if (copy && !*copy)
                config_setting_set_string_elem (s, -1, "");
            for (char *t = copy ? strtok_r (copy, ",", &save) : NULL; t;
                 t = strtok_r (NULL, ",", &save))
                config_setting_set_string_elem (s, -1, t);
            free (copy);
        }
        break;
    case CFG_T_GROUP:
        if ((s = config_setting_add (grp, k->name, CONFIG_TYPE_GROUP)))
            validate_group (NULL, s, k->children, k, k->name);
        break;
    case CFG_T_LIST:
        config_setting_add (grp, k->name, CONFIG_TYPE_LIST);
        break;
    }
}

static void
unknown_key (report_t *r, config_setting_t *s, const cfg_key_t *owner,
             const cfg_key_t *keys, const char *path)
{
    const cfg_variant_t *variants = owner ? owner->variants : NULL;
    const char *name = config_setting_name (s);
    const char *kind = variant_owner (variants, name);
    if (kind)
        report (r, s, path, "key is only valid when %s = \"%s\"", owner->discriminator, kind);
    else {
        const char *near = suggest (keys, variants, name);
        if (near)
            report (r, s, path, "unknown key; did you mean '%s'?", near);
        else
            report (r, s, path, "unknown key");
    }
}

static void
fill_missing (report_t *r, config_setting_t *grp, const cfg_key_t *keys, const char *path)
{
    for (const cfg_key_t *k = keys; k && k->name; k++) {
        if (config_setting_get_member (grp, k->name))
            continue;
        if (k->flags & CFG_REQUIRED) {
            if (r)
                report (r, grp, path, "missing required key '%s'", k->name);
        }
        else
            add_default (grp, k);
    }
}

/* Validates GRP against KEYS (plus OWNER's variant keys); R NULL = only
 * fill defaults. */
static void
validate_group (report_t *r, config_setting_t *grp, const cfg_key_t *keys,
                const cfg_key_t *owner, const char *path)
{
    const cfg_key_t *extra = owner ? variant_keys (owner, grp) : NULL;
    if (r) {
        if (owner && owner->discriminator && owner->variants && !extra
            && config_setting_get_member (grp, owner->discriminator) == NULL)
            report (r, grp, path, "missing required key '%s'", owner->discriminator);
        for (int i = 0; i < config_setting_length (grp); i++) {
            config_setting_t *s = config_setting_get_elem (grp, (unsigned) i);
            const char *name = config_setting_name (s);
            char sub[CFG_PATH_MAX];
            if (snprintf (sub, sizeof sub, "%s.%s", path, name ? name : "?") >= (int) sizeof sub)
                sub[sizeof sub - 1] = '\0';
            const cfg_key_t *k = find_in (keys, name);
            if (!k)
                k = find_in (extra, name);
            if (!k)
                unknown_key (r, s, owner, keys, sub);
            else
                check_value (r, s, k, sub);
        }
    }
    fill_missing (r, grp, keys, path);
    if (extra)
        fill_missing (r, grp, extra, path);
}

static void
validate_root (report_t *r, config_t *lc, const cfg_section_t *sections, size_t n)
{
    config_setting_t *root = config_root_setting (lc);
    for (int i = 0; i < config_setting_length (root); i++) {
        config_setting_t *s = config_setting_get_elem (root, (unsigned) i);
        const char *name = config_setting_name (s);
        bool known = false;
        for (size_t j = 0; j < VL_ARRAY_LEN (known_sections); j++)
            known |= strcmp (name, known_sections[j]) == 0;
        if (!known) {
            cfg_key_t tops[] = { { .name = "broker" }, { .name = "watch" }, { .name = "sub" }, { 0 } };
            const char *near = suggest (tops, NULL, name);
            if (near)
                report (r, s, name, "unknown section; did you mean '%s'?", near);
            else
                report (r, s, name, "unknown section (expected broker, watch or sub)");
        }
    }
    for (size_t j = 0; j < n; j++) {
        config_setting_t *s = config_setting_get_member (root, sections[j].name);
        if (!s) {
            if (sections[j].required)
                report (r, root, sections[j].name, "missing section '%s { ... }'", sections[j].name);
            continue;
        }
        if (config_setting_type (s) != CONFIG_TYPE_GROUP)
            report (r, s, sections[j].name, "expected a group { ... }");
        else
            validate_group (r, s, sections[j].keys, NULL, sections[j].name);
    }
}

/* ---- loading --------------------------------------------------------- */

static cfg_t *
finish_load (cfg_t *self, int ok, const char *name, const cfg_section_t *sections,
             size_t n, vl_err_t *err, char **errors, bool keep)
{
    report_t r = { .file = name };
    buf_init (&r.errors, 64 * 1024);
    vl_err_t rc = VL_OK;
    if (!ok) {
        if (config_error_type (&self->lc) == CONFIG_ERR_FILE_IO) {
            buf_printf (&r.errors, "%s: cannot read: %s\n", name, strerror (errno));
            rc = VL_EIO;
        }
        else {
            const char *file = config_error_file (&self->lc);
            buf_printf (&r.errors, "%s:%d: %s\n", file ? file : name,
                        config_error_line (&self->lc), config_error_text (&self->lc));
            rc = VL_ECONFIG;
        }
    }
    else {
        validate_root (&r, &self->lc, sections, n);
        if (r.count > CFG_MAX_ERRORS)
            buf_printf (&r.errors, "%s: %d more errors not shown\n", name, r.count - CFG_MAX_ERRORS);
        if (r.count)
            rc = VL_ECONFIG;
    }
    if (err)
        *err = rc;
    if (errors)
        *errors = r.errors.len ? buf_steal (&r.errors) : NULL;
    buf_free (&r.errors);
    if (rc && !(keep && ok))
        cfg_destroy (&self);
    return self;
}

static cfg_t *
cfg_new (const char *name)
{
    cfg_t *self = calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (name))) {
        free (self);
        return NULL;
    }
    config_init (&self->lc);
    return self;
}

static cfg_t *
load_file (const char *path, const cfg_section_t *sections, size_t n,
           vl_err_t *err, char **errors, bool keep)
{
    if (errors)
        *errors = NULL;
    cfg_t *self = cfg_new (path);
    if (!self) {
        if (err)
            *err = VL_ENOMEM;
        return NULL;
    }
    char dir[PATH_MAX];
    snprintf (dir, sizeof dir, "%s", path);
    config_set_include_dir (&self->lc, dirname (dir));
    int ok = config_read_file (&self->lc, path);
    return finish_load (self, ok, path, sections, n, err, errors, keep);
}

cfg_t *
cfg_load (const char *path, const cfg_section_t *sections, size_t n,
          vl_err_t *err, char **errors)
{
    return load_file (path, sections, n, err, errors, false);
}

cfg_t *
cfg_load_checked (const char *path, const cfg_section_t *sections, size_t n,
                  vl_err_t *err, char **errors)
{
    return load_file (path, sections, n, err, errors, true);
}

cfg_t *
cfg_load_string (const char *text, const char *name, const cfg_section_t *sections,
                 size_t n, vl_err_t *err, char **errors)
{
    if (errors)
        *errors = NULL;
    cfg_t *self = cfg_new (name);
    if (!self) {
        if (err)
            *err = VL_ENOMEM;
        return NULL;
    }
    int ok = config_read_string (&self->lc, text);
    return finish_load (self, ok, name, sections, n, err, errors, false);
}

config_setting_t *
cfg_section (cfg_t *self, const char *name)
{
    return config_setting_get_member (config_root_setting (&self->lc), name);
}

const char *
cfg_path (const cfg_t *self)
{
    return self->path;
}

void
cfg_destroy (cfg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_destroy (&(*self_p)->lc);
    free ((*self_p)->path);
    free (*self_p);
    *self_p = NULL;
}

/* ---- accessors ------------------------------------------------------- */

const char *
cfg_get_str (const config_setting_t *grp, const char *key, const char *fallback)
{
    const char *v = NULL;
    return grp && config_setting_lookup_string (grp, key, &v) ? v : fallback;
}

int
cfg_get_int (const config_setting_t *grp, const char *key, int fallback)
{
    int v;
    return grp && config_setting_lookup_int (grp, key, &v) ? v : fallback;
}

int64_t
cfg_get_int64 (const config_setting_t *grp, const char *key, int64_t fallback)
{
    long long v;
    return grp && config_setting_lookup_int64 (grp, key, &v) ? (int64_t) v : fallback;
}

bool
cfg_get_bool (const config_setting_t *grp, const char *key, bool fallback)
{
    int v;
    return grp && config_setting_lookup_bool (grp, key, &v) ? v != 0 : fallback;
}

double
cfg_get_float (const config_setting_t *grp, const char *key, double fallback)
{
    double v;
    return grp && config_setting_lookup_float (grp, key, &v) ? v : fallback;
}

char **
cfg_get_strlist (const config_setting_t *grp, const char *key, size_t *n)
{
    config_setting_t *s = grp ? config_setting_get_member (grp, key) : NULL;
    int count = 0;
    if (s)
        count = config_setting_type (s) == CONFIG_TYPE_STRING ? 1 : config_setting_length (s);
    char **list = calloc ((size_t) count + 1, sizeof *list);
    if (!list)
        return NULL;
    for (int i = 0; i < count; i++) {
        const char *v = config_setting_type (s) == CONFIG_TYPE_STRING
                      ? config_setting_get_string (s)
                      : config_setting_get_string_elem (s, i);
        if (!(list[i] = strdup (v ? v : ""))) {
            cfg_strlist_free (list);
            return NULL;
        }
    }
    if (n)
        *n = (size_t) count;
    return list;
}

void
cfg_strlist_free (char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free (list[i]);
    free (list);
}

const char *
cfg_where (const config_setting_t *setting)
{
    static _Thread_local char where[PATH_MAX + 16];
    const char *file = setting ? config_setting_source_file (setting) : NULL;
    snprintf (where, sizeof where, "%s:%u", file ? file : "?",
              setting ? config_setting_source_line (setting) : 0);
    return where;
}

bool
cfg_check_path (const config_setting_t *grp, const char *key, bool dir)
{
    const config_setting_t *s = grp ? config_setting_get_member (grp, key) : NULL;
    const char *path = s ? config_setting_get_string (s) : NULL;
    if (!path)
        return true;
    struct stat st;
    if (stat (path, &st) != 0) {
        if (errno == EACCES) {
            log_warn ("%s: %s \"%s\": cannot look at it as this user (%s); check it as "
                      "the user the daemon runs as", cfg_where (s), key, path, strerror (errno));
            return true;
        }
        log_error ("%s: %s \"%s\": %s", cfg_where (s), key, path,
                   errno == ENOENT ? (dir ? "no such directory" : "no such file")
                                   : strerror (errno));
        return false;
    }
    if (dir ? S_ISDIR (st.st_mode) : S_ISREG (st.st_mode))
        return true;
    log_error ("%s: %s \"%s\": not a %s", cfg_where (s), key, path,
               dir ? "directory" : "regular file");
    return false;
}

bool
cfg_check_secret (const config_setting_t *grp, const char *key, int *warnings)
{
    const config_setting_t *s = grp ? config_setting_get_member (grp, key) : NULL;
    const char *path = s ? config_setting_get_string (s) : NULL;
    if (!path)
        return true;
    struct stat st;
    if (lstat (path, &st) != 0) {
        if (errno == EACCES) {
            if (warnings)
                (*warnings)++;
            log_warn ("%s: %s \"%s\": cannot look at it as this user (%s); "
                      "check it as the user the daemon runs as", cfg_where (s), key, path,
                      strerror (errno));
            return true;
        }
        log_error ("%s: %s \"%s\": %s", cfg_where (s), key, path,
                   errno == ENOENT ? "no such file" : strerror (errno));
        return false;
    }
    if (!S_ISREG (st.st_mode)) {
        log_error ("%s: %s \"%s\": not a regular file (symbolic links are refused)",
                   cfg_where (s), key, path);
        return false;
    }
    if (st.st_mode & 077) {
        log_error ("%s: %s \"%s\" is readable or writable by group or others (mode %04o): "
                   "it is refused; run chmod 600 %s", cfg_where (s), key, path,
                   (unsigned) (st.st_mode & 07777), path);
        return false;
    }
    return true;
}

/* ---- reference ------------------------------------------------------- */

static const char *const type_names[] = {
    [CFG_T_STR] = "string", [CFG_T_INT] = "int", [CFG_T_INT64] = "int64",
    [CFG_T_BOOL] = "bool", [CFG_T_FLOAT] = "float", [CFG_T_ENUM] = "enum",
    [CFG_T_STRLIST] = "list of strings", [CFG_T_GROUP] = "group",
    [CFG_T_LIST] = "list of groups",
};

static void
dump_key (FILE *fp, const cfg_key_t *k, const char *prefix, const char *when)
{
    char type[128], range[64] = "";
    if (k->type == CFG_T_ENUM) {
        /* A '|' splits a Markdown table cell even inside a code span. */
        size_t o = 0;
        type[o++] = '`';
        for (const char *c = k->choices; *c && o + 3 < sizeof type; c++) {
            if (*c == '|')
                type[o++] = '\\';
            type[o++] = *c;
        }
        type[o++] = '`';
        type[o] = '\0';
    }
    else
        snprintf (type, sizeof type, "%s", type_names[k->type]);
    if (k->min || k->max)
        snprintf (range, sizeof range, " (%lld..%lld)", (long long) k->min, (long long) k->max);
    fprintf (fp, "| `%s%s` | %s | %s | %s%s%s |\n", prefix, k->name, type,
             k->flags & CFG_REQUIRED ? "**required**" : k->def ? k->def : "",
             when ? when : "", k->doc ? k->doc : "", range);
}

static void
dump_keys (FILE *fp, const cfg_key_t *keys, const char *prefix, const char *when)
{
    for (const cfg_key_t *k = keys; k && k->name; k++) {
        dump_key (fp, k, prefix, when);
        if (k->type != CFG_T_GROUP && k->type != CFG_T_LIST)
            continue;
        char sub[CFG_PATH_MAX];
        if (snprintf (sub, sizeof sub, "%s%s%s.", prefix, k->name,
                      k->type == CFG_T_LIST ? "[]" : "") >= (int) sizeof sub)
            continue;
        dump_keys (fp, k->children, sub, NULL);
        for (const cfg_variant_t *v = k->variants; v && v->value; v++) {
            char cond[128];
            snprintf (cond, sizeof cond, "(%s = %s) ", k->discriminator, v->value);
            dump_keys (fp, v->keys, sub, cond);
        }
    }
}

void
cfg_dump_markdown (FILE *fp, const cfg_section_t *sections, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf (fp, "\n## `%s`\n\n| key | type | default | meaning |\n|---|---|---|---|\n",
                 sections[i].name);
        char prefix[CFG_PATH_MAX];
        snprintf (prefix, sizeof prefix, "%s.", sections[i].name);
        dump_keys (fp, sections[i].keys, prefix, NULL);
    }
}
