/* fuzz_page: HTML pages through selectors (page_parse) and the document
 * dispatcher (parse_document: kind detection, charset, feed/json/html).
 * Byte 0 picks a source configuration; if its bit 7 is set, the first
 * line of the rest (at most 64 bytes) is a CSS or XPath `items` selector
 * of the fuzzer's own. The rest is the document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "items_check.h"
#include "log.h"
#include "page_check.h"
#include "page_parse.h"
#include "parse.h"

typedef struct {
    const char *select, *items, *item_title, *item_link, *ignore;
} conf_t;

static const conf_t confs[] = {
    { NULL, NULL, NULL, NULL, NULL },
    { "main", NULL, NULL, NULL, "re:^Mis à jour le" },
    { "#content", "article", "h2", "a", ".date" },
    { "//div[@class='list']", "./ul/li", ".//a", ".//a", "re:[0-9]+ (vues|views)" },
    { NULL, "li.item > a", NULL, NULL, "script" },
    { "body", "tr:nth-child(2n) td:first-child", "span.title", "a[href]", "//footer" },
    { "div.news, section#press", ".entry", "h3 a", "h3 a", "re:Aujourd'hui" },
    { "//*[contains(@class,'x')]", "//a", NULL, NULL, NULL },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    log_set_level (LOG_LVL_OFF);
    if (size < 1)
        return 0;
    const conf_t *c = &confs[data[0] % VL_ARRAY_LEN (confs)];
    const char *body = (const char *) data + 1;
    size_t len = size - 1;
    char own[65];
    char *ignore[1] = { (char *) c->ignore };
    source_t src = { .id = "fuzz", .topic = "fuzz.page", .url = "https://example.org/a/b.html",
                     .type = SOURCE_HTML, .select = (char *) c->select,
                     .items = (char *) c->items, .item_title = (char *) c->item_title,
                     .item_link = (char *) c->item_link, .ignore = c->ignore ? ignore : NULL,
                     .nignore = c->ignore ? 1 : 0 };
    if (data[0] & 0x80) {
        size_t n = 0;
        while (n < len && n < sizeof own - 1 && body[n] != '\n' && body[n] != '\0')
            n++;
        memcpy (own, body, n);
        own[n] = '\0';
        src.items = own;
        body += n;
        len -= n;
    }
    char errbuf[256];
    page_check (&src, errbuf, sizeof errbuf);
    item_list_t list = { 0 };
    vl_err_t rc = page_parse (&src, body, len, NULL, &list);
    if (rc != VL_OK && rc != VL_EPARSE && rc != VL_EINVAL && rc != VL_ETOOBIG && rc != VL_ENOMEM)
        abort ();
    items_check (&list);
    item_list_free (&list);
    if ((data[0] & 0x40) && !(data[0] & 0x80)) {
        src.type = SOURCE_AUTO;
        parse_ctx_t ctx = { .base_url = "https://example.org/a/",
                            .content_type = "text/html; charset=windows-1252" };
        parse_document (&src, &ctx, body, len, &list);
        items_check (&list);
        item_list_free (&list);
    }
    return 0;
}
