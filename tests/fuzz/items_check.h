/* items_check.h: invariants every parser's output must hold, whatever the
 * input (shared by the fuzz targets; header-only, static functions). */
#ifndef VL_FUZZ_ITEMS_CHECK_H
#define VL_FUZZ_ITEMS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "item.h"
#include "util.h"

/* Aborts (a crash for libFuzzer) if S is not NULL-or-valid UTF-8 of at most
 * MAX bytes (0 = no cap) without NUL inside. */
static void
items_check_str (const char *what, const char *s, size_t max)
{
    if (!s)
        return;
    size_t len = strlen (s);
    if ((max && len > max) || !util_utf8_valid (s, len)) {
        fprintf (stderr, "items_check: %s: %zu bytes (max %zu), valid UTF-8: %d: \"%.200s\"\n",
                 what, len, max, (int) util_utf8_valid (s, len), s);
        abort ();
    }
}

/* Aborts if an item list breaks the item.h contract. */
static void
items_check (const item_list_t *list)
{
    if (list->n > ITEM_MAX_ITEMS || list->n > list->cap)
        abort ();
    for (size_t i = 0; i < list->n; i++) {
        const parsed_item_t *it = &list->items[i];
        if (!it->identity || strlen (it->hash) != 32) {
            fprintf (stderr, "items_check: item %zu without identity or hash\n", i);
            abort ();
        }
        items_check_str ("identity", it->identity, 0);
        items_check_str ("title", it->title, ITEM_MAX_TITLE);
        items_check_str ("summary", it->summary, ITEM_MAX_SUMMARY);
        items_check_str ("content", it->content, ITEM_MAX_CONTENT);
        items_check_str ("link", it->link, 0);
        if (it->link && strncasecmp (it->link, "http:", 5) != 0
            && strncasecmp (it->link, "https:", 6) != 0 && strncasecmp (it->link, "ftp:", 4) != 0
            && strncasecmp (it->link, "file:", 5) != 0) {
            fprintf (stderr, "items_check: link scheme: %.200s\n", it->link);
            abort ();
        }
    }
}

#endif
