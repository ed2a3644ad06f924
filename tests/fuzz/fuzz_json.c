/* fuzz_json: JSON API documents (json_parse). The first line of the input
 * is the `json_items` path; the rest the document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "items_check.h"
#include "json_parse.h"
#include "log.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    log_set_level (LOG_LVL_OFF);
    char path[65];
    size_t n = 0;
    while (n < size && n < sizeof path - 1 && data[n] != '\n' && data[n] != '\0')
        n++;
    memcpy (path, data, n);
    path[n] = '\0';
    if (n < size)
        n++;
    source_t src = { .id = "fuzz", .topic = "fuzz.json", .url = "https://api.example.org/v1/",
                     .type = SOURCE_JSON, .json_items = path[0] ? path : NULL };
    if (size & 1) {   /* odd sizes: custom field paths */
        src.json_id = "meta.uid";
        src.json_title = "attributes.title.fr";
        src.json_link = "links.0.href";
        src.json_date = "ts";
        src.json_summary = "body";
    }
    item_list_t list = { 0 };
    vl_err_t rc = json_parse (&src, (const char *) data + n, size - n, NULL, &list);
    if (rc != VL_OK && list.n != 0)
        abort ();
    items_check (&list);
    item_list_free (&list);
    return 0;
}
