/* charset.h: find the character set of a fetched body and convert it to
 * valid UTF-8 (iconv). Priority, highest first:
 *   1. a forced charset from the source configuration (`charset = "..."`);
 *   2. a byte-order mark (UTF-8, UTF-16LE/BE);
 *   3. the HTTP Content-Type `charset=` parameter;
 *   4. the XML declaration `<?xml ... encoding="..."?>` (an XML declaration
 *      without encoding means UTF-8, and then no meta sniffing);
 *   5. an HTML `<meta charset>` or `<meta http-equiv="Content-Type"
 *      content="...; charset=...">` within the first 4 KiB;
 *   6. UTF-8.
 * latin-1/ISO-8859-1/US-ASCII labels are decoded as windows-1252 (as the
 * WHATWG encoding standard does). If the chosen charset is UTF-8 but the
 * bytes are not valid UTF-8 (a wrong declaration), the body is decoded as
 * windows-1252 instead. Any byte that still cannot be decoded becomes
 * U+FFFD: the output is always valid UTF-8. */
#ifndef VL_CHARSET_H
#define VL_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include "vl_err.h"

#define CHARSET_NAME_MAX 40

/* Detects the charset of BODY (LEN bytes) following the priority above
 * (FORCED and CONTENT_TYPE may be NULL). Writes the lower-case label into
 * NAME (CHARSET_NAME_MAX bytes), e.g. "utf-8", "windows-1252". Sets *BOM_LEN
 * to the length of a byte-order mark to skip (0 if none). */
void charset_detect (const char *body, size_t len, const char *content_type,
                     const char *forced, char name[CHARSET_NAME_MAX],
                     size_t *bom_len);

/* Converts BODY to UTF-8 (detection as charset_detect). On success *OUT is
 * a new NUL-terminated valid UTF-8 string of *OUT_LEN bytes (caller frees),
 * without a BOM. VL_ETOOBIG if the output would exceed MAX bytes (0 = no
 * cap), VL_ENOMEM. Unknown charset labels are treated as windows-1252. */
vl_err_t charset_to_utf8 (const char *body, size_t len, const char *content_type,
                          const char *forced, size_t max, char **out,
                          size_t *out_len);

/* Returns a new string: S (LEN bytes) with every invalid UTF-8 sequence
 * replaced by U+FFFD, NUL bytes dropped. Caller frees; NULL on OOM. */
char *charset_utf8_repair (const char *s, size_t len, size_t *out_len);

/* Extracts the charset parameter of a Content-Type value into NAME
 * (lower case). Returns false if there is none. */
bool charset_from_content_type (const char *content_type,
                                char name[CHARSET_NAME_MAX]);

#endif
