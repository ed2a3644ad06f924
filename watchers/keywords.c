/* keywords.c: per-source include/exclude keyword filter (core/fold). */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "fold.h"
#include "keywords.h"
#include "log.h"
#include "util.h"

typedef struct {
    char *as_configured;
    char *folded;
} term_t;

struct keywords {
    term_t *include;
    size_t  ninclude;
    term_t *exclude;
    size_t  nexclude;
};

static void
free_terms (term_t *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free (t[i].as_configured);
        free (t[i].folded);
    }
    free (t);
}

static vl_err_t
load_terms (char *const *in, size_t n, term_t **out)
{
    *out = NULL;
    if (n == 0)
        return VL_OK;
    term_t *t = calloc (n, sizeof *t);
    if (!t)
        return VL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s = in[i] ? in[i] : "";
        t[i].as_configured = strdup (s);
        t[i].folded = fold_text (s, strlen (s));
        if (!t[i].as_configured || !t[i].folded) {
            bool bad = t[i].as_configured && !util_utf8_valid (s, strlen (s));
            if (bad)
                log_warn ("keywords: term is not valid UTF-8");
            free_terms (t, n);
            return bad ? VL_EINVAL : VL_ENOMEM;
        }
        if (!*t[i].folded || strcmp (t[i].folded, "*") == 0) {
            log_warn ("keywords: term \"%s\" has no letters or digits", s);
            free_terms (t, n);
            return VL_EINVAL;
        }
    }
    *out = t;
    return VL_OK;
}

keywords_t *
keywords_new (char *const *include, size_t ninclude,
              char *const *exclude, size_t nexclude, vl_err_t *err)
{
    vl_err_t dummy;
    if (!err)
        err = &dummy;
    keywords_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    *err = load_terms (include, ninclude, &self->include);
    if (!*err) {
        self->ninclude = ninclude;
        *err = load_terms (exclude, nexclude, &self->exclude);
    }
    if (*err) {
        keywords_destroy (&self);
        return NULL;
    }
    self->nexclude = nexclude;
    return self;
}

void
keywords_tags_free (char **tags, size_t ntags)
{
    for (size_t i = 0; tags && i < ntags; i++)
        free (tags[i]);
    free (tags);
}

bool
keywords_check_text (const keywords_t *self, const char *text, size_t len,
                     char ***tags, size_t *ntags)
{
    if (tags) {
        *tags = NULL;
        *ntags = 0;
    }
    if (!self || (self->ninclude == 0 && self->nexclude == 0))
        return true;
    /* folded text; invalid UTF-8 (never from the parsers) matches nothing */
    char *folded = fold_text (text ? text : "", text ? len : 0);
    if (!folded)
        return self->ninclude == 0;
    bool keep = true;
    for (size_t i = 0; i < self->nexclude && keep; i++)
        if (fold_match (folded, self->exclude[i].folded))
            keep = false;
    size_t matched = 0;
    char **out = NULL;
    if (keep && self->ninclude) {
        out = tags ? calloc (self->ninclude, sizeof *out) : NULL;
        for (size_t i = 0; i < self->ninclude; i++) {
            if (!fold_match (folded, self->include[i].folded))
                continue;
            if (out)
                out[matched] = strdup (self->include[i].as_configured);
            if (out && !out[matched])
                continue;   /* OOM: tag lost, decision unchanged */
            matched++;
        }
        keep = matched > 0;
    }
    free (folded);
    if (tags && keep && matched && out) {
        *tags = out;
        *ntags = matched;
    }
    else
        keywords_tags_free (out, matched);
    return keep;
}

bool
keywords_check (const keywords_t *self, const parsed_item_t *item,
                char ***tags, size_t *ntags)
{
    if (tags) {
        *tags = NULL;
        *ntags = 0;
    }
    if (!self || (self->ninclude == 0 && self->nexclude == 0))
        return true;
    buf_t text;
    const char *parts[] = { item->title, item->summary, item->content };
    buf_init (&text, 4 + strlen (parts[0] ? parts[0] : "") + strlen (parts[1] ? parts[1] : "")
                     + strlen (parts[2] ? parts[2] : ""));   /* the three and newlines */
    for (size_t i = 0; i < 3; i++)
        if (parts[i] && (buf_puts (&text, parts[i]) || buf_putc (&text, '\n'))) {
            buf_free (&text);
            return self->ninclude == 0;    /* OOM: no tags */
        }
    bool keep = keywords_check_text (self, text.data ? text.data : "", text.len,
                                     tags, ntags);
    buf_free (&text);
    return keep;
}

void
keywords_destroy (keywords_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    keywords_t *self = *self_p;
    free_terms (self->include, self->ninclude);
    free_terms (self->exclude, self->nexclude);
    free (self);
    *self_p = NULL;
}
