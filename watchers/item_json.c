/* item_json.c: one item as a JSON line (jansson). */
#include <stdlib.h>
#include <jansson.h>
#include "item_json.h"

static int
set_str (json_t *obj, const char *key, const char *val)
{
    return json_object_set_new (obj, key, json_string (val ? val : ""));
}

char *
item_to_json (const parsed_item_t *item, bool with_content)
{
    json_t *obj = json_object ();
    if (!obj)
        return NULL;
    int bad = set_str (obj, "id", item->identity);
    bad |= set_str (obj, "title", item->title);
    bad |= set_str (obj, "link", item->link);
    if (item->has_published)
        bad |= json_object_set_new (obj, "published", json_integer (item->published));
    bad |= set_str (obj, "summary", item->summary);
    bad |= set_str (obj, "hash", item->hash);
    if (with_content)
        bad |= set_str (obj, "content", item->content);
    char *res = bad ? NULL : json_dumps (obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (obj);
    return res;
}
