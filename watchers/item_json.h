/* item_json.h: one item as a JSON object (for `veille-watch --parse FILE`
 * and debugging): {"id","title","link","published"(int, absent if
 * unknown),"summary","hash"} plus "content" when WITH_CONTENT. */
#ifndef VL_ITEM_JSON_H
#define VL_ITEM_JSON_H

#include <stdbool.h>
#include "item.h"

/* Returns a new one-line JSON string (no trailing newline), properly
 * escaped. Caller frees; NULL on OOM. */
char *item_to_json (const parsed_item_t *item, bool with_content);

#endif
