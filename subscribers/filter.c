/* filter.c: per-sink event selection and delivery schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "filter.h"
#include "sub_conf.h"
#include "fold.h"
#include "log.h"
#include "util.h"

struct filter {
    char  **topics;      /* never NULL: at least [""] */
    char  **types;       /* NULL = any */
    char  **sources;
    char  **tags;        /* folded */
    char  **keywords;    /* folded */
    int64_t min_interval_ms;
    bool    has_quiet;
    int     quiet_start, quiet_end;   /* minutes since midnight */
};

static void
list_free (char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free (*p);
    free (list);
}

static size_t
list_len (char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

/* Copies LIST (folding each entry when FOLD); *OUT = NULL for an absent or
 * empty list. Returns VL_EINVAL for an entry that folds to nothing. */
static vl_err_t
list_copy (char *const *list, bool fold, char ***out)
{
    *out = NULL;
    size_t n = list_len (list);
    if (n == 0)
        return VL_OK;
    char **copy = calloc (n + 1, sizeof *copy);
    if (!copy)
        return VL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        copy[i] = fold ? fold_text (list[i], strlen (list[i])) : strdup (list[i]);
        if (!copy[i] || (fold && !*copy[i])) {
            vl_err_t rc = copy[i] ? VL_EINVAL : VL_ENOMEM;
            if (rc == VL_EINVAL)
                log_error ("filter: term '%s' has no letters or digits", list[i]);
            list_free (copy);
            return rc;
        }
    }
    *out = copy;
    return VL_OK;
}

vl_err_t
filter_parse_quiet (const char *spec, int *start_min, int *end_min)
{
    return sub_conf_parse_quiet (spec, start_min, end_min);
}

static vl_err_t
filter_fill (filter_t *self, const filter_opts_t *opts)
{
    vl_err_t rc = list_copy (opts->topics, false, &self->topics);
    if (rc == VL_OK && !self->topics) {
        self->topics = calloc (2, sizeof (char *));
        if (!self->topics || !(self->topics[0] = strdup ("")))
            rc = VL_ENOMEM;
    }
    if (rc == VL_OK) rc = list_copy (opts->types, false, &self->types);
    if (rc == VL_OK) rc = list_copy (opts->sources, false, &self->sources);
    if (rc == VL_OK) rc = list_copy (opts->tags, true, &self->tags);
    if (rc == VL_OK) rc = list_copy (opts->keywords, true, &self->keywords);
    if (rc == VL_OK && opts->quiet_hours && *opts->quiet_hours) {
        rc = filter_parse_quiet (opts->quiet_hours, &self->quiet_start, &self->quiet_end);
        if (rc != VL_OK)
            log_error ("filter: quiet_hours '%s' is not HH:MM-HH:MM", opts->quiet_hours);
        self->has_quiet = true;
    }
    self->min_interval_ms = (int64_t) opts->min_interval_s * 1000;
    return rc;
}

filter_t *
filter_new (const filter_opts_t *opts, vl_err_t *err)
{
    filter_t *self = calloc (1, sizeof *self);
    vl_err_t rc = self ? filter_fill (self, opts) : VL_ENOMEM;
    if (rc != VL_OK)
        filter_destroy (&self);
    if (err)
        *err = rc;
    return self;
}

void
filter_destroy (filter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    filter_t *self = *self_p;
    list_free (self->topics);
    list_free (self->types);
    list_free (self->sources);
    list_free (self->tags);
    list_free (self->keywords);
    free (self);
    *self_p = NULL;
}

bool
filter_topic (const filter_t *self, const char *topic, size_t len)
{
    for (char **p = self->topics; *p; p++) {
        size_t n = strlen (*p);
        if (n <= len && memcmp (topic, *p, n) == 0)
            return true;
    }
    return false;
}

static bool
list_has (char **list, const char *s)
{
    if (!list)
        return true;
    for (; *list; list++)
        if (s && strcmp (*list, s) == 0)
            return true;
    return false;
}

static bool
tags_match (const filter_t *self, const event_t *ev)
{
    if (!self->tags)
        return true;
    for (size_t i = 0; i < ev->ntags; i++) {
        char *f = fold_text (ev->tags[i], strlen (ev->tags[i]));
        bool hit = f && *f && list_has (self->tags, f);
        free (f);
        if (hit)
            return true;
    }
    return false;
}

static bool
keywords_match (const filter_t *self, const event_t *ev)
{
    if (!self->keywords)
        return true;
    char *fields[3] = { ev->title, ev->summary, NULL };
    bool hit = false;
    for (int i = 0; i < 2 && !hit; i++) {
        if (!fields[i])
            continue;
        char *f = fold_text (fields[i], strlen (fields[i]));
        for (char **k = self->keywords; f && *k && !hit; k++)
            hit = fold_match (f, *k);
        free (f);
    }
    for (size_t t = 0; t < ev->ntags && !hit; t++) {
        char *f = fold_text (ev->tags[t], strlen (ev->tags[t]));
        for (char **k = self->keywords; f && *k && !hit; k++)
            hit = fold_match (f, *k);
        free (f);
    }
    return hit;
}

bool
filter_match (const filter_t *self, const event_t *ev)
{
    return ev->topic && filter_topic (self, ev->topic, strlen (ev->topic))
        && list_has (self->types, ev->type)
        && list_has (self->sources, ev->source)
        && tags_match (self, ev)
        && keywords_match (self, ev);
}

char *const *
filter_prefixes (const filter_t *self)
{
    return self->topics;
}

int64_t
filter_min_interval_ms (const filter_t *self)
{
    return self->min_interval_ms;
}

int64_t
filter_quiet_wait_ms (const filter_t *self, time_t now)
{
    if (!self->has_quiet)
        return 0;
    struct tm tm;
    localtime_r (&now, &tm);
    int cur = tm.tm_hour * 60 + tm.tm_min;
    int s = self->quiet_start, e = self->quiet_end;
    bool quiet = s < e ? (cur >= s && cur < e) : (cur >= s || cur < e);
    if (!quiet)
        return 0;
    int mins = e > cur ? e - cur : e + 1440 - cur;
    return ((int64_t) mins * 60 - tm.tm_sec) * 1000;
}
