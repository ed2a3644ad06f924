/* source.c: lifetime of a configured source. */
#include "source.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

void source_free (source_t *self)
{
    if (!self)
        return;
    free (self->id);
    free (self->topic);
    free (self->url);
    free (self->select);
    free (self->items);
    free (self->item_title);
    free (self->item_link);
    cfg_strlist_free (self->ignore);
    free (self->json_items);
    free (self->json_id);
    free (self->json_title);
    free (self->json_link);
    free (self->json_date);
    free (self->json_summary);
    cfg_strlist_free (self->include);
    cfg_strlist_free (self->exclude);
    cfg_strlist_free (self->headers);
    free (self->auth_env);
    free (self->auth_file);
    free (self->charset);
    memset (self, 0, sizeof *self);
}

int source_un_ga_session (int64_t now_ms)
{
    time_t t = (time_t) (now_ms / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    int year = tm.tm_year + 1900;
    bool opened = tm.tm_mon > 8 || (tm.tm_mon == 8 && tm.tm_mday >= 20);
    return year - 1945 - (opened ? 0 : 1);
}

char *source_url (const source_t *src, int64_t now_ms)
{
    const char *at = strstr (src->url, SOURCE_UN_GA_SESSION);
    if (!at)
        return strdup (src->url);
    size_t pre = (size_t) (at - src->url), plen = strlen (SOURCE_UN_GA_SESSION);
    size_t n = strlen (src->url) + 16;
    char *out = malloc (n);
    if (out)
        snprintf (out, n, "%.*s%d%s", (int) pre, src->url, source_un_ga_session (now_ms),
                  at + plen);
    return out;
}
