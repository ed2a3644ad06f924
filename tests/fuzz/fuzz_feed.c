/* fuzz_feed: RSS/RDF/Atom parsing (feed_parse) and the date parsers on
 * arbitrary bytes. feed_parse takes UTF-8 (parse_document converts first),
 * so input that is not valid UTF-8 goes through charset_to_utf8 as in the
 * watcher. The output must keep the item contract (valid UTF-8, capped
 * lengths, an identity, only http/https/ftp/file links). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "charset.h"
#include "feed_date.h"
#include "feed_parse.h"
#include "items_check.h"
#include "log.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    log_set_level (LOG_LVL_OFF);
    const char *body = (const char *) data;
    size_t len = size;
    char *conv = NULL;
    if (!util_utf8_valid (data, size)) {
        if (charset_to_utf8 (body, size, NULL, NULL, 4u << 20, &conv, &len) != VL_OK)
            return 0;
        body = conv;
    }
    item_list_t list = { 0 };
    bool is_feed = feed_parse_detect (body, len);
    vl_err_t rc = feed_parse (body, len, "https://example.org/news/feed.xml", &list);
    if (rc != VL_OK && list.n != 0)
        abort ();
    (void) is_feed;   /* feed_parse may accept what detect rejects (BOM, junk) */
    items_check (&list);
    item_list_free (&list);
    free (conv);
    /* the first line as a date */
    char line[128];
    size_t n = 0;
    while (n < size && n < sizeof line - 1 && data[n] != '\n')
        n++;
    memcpy (line, data, n);
    line[n] = '\0';
    int64_t t;
    feed_date_parse (line, &t);
    return 0;
}
