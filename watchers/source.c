/* source.c: lifetime of a configured source. */
#include "source.h"

#include <stdlib.h>
#include <string.h>

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
