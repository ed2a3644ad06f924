/* text_norm.h: turn HTML or raw text into normalised plain text.
 * Rules (every output is valid NFC UTF-8):
 *   - HTML: entities decoded, tags stripped, <script>/<style>/<noscript>/
 *     <template> dropped with their content, block elements (p, div, li,
 *     h1-h6, br, tr, ...) end a line;
 *   - white space: runs of ASCII spaces/tabs fold into one space, CR/LF
 *     into one line break (blank lines dropped), each line trimmed;
 *     U+00A0 NO-BREAK SPACE and U+202F NARROW NO-BREAK SPACE are KEPT as
 *     they are (French typography: "« texte »", "10 %"), but a line made
 *     only of them is dropped as blank;
 *   - typographic quotes, apostrophes and dashes are kept unchanged;
 *   - C0/C1 control characters (other than the line breaks we produce),
 *     DEL, U+FEFF, soft hyphen, zero-width space, bidi embedding/override/
 *     isolate controls (U+202A-202E, U+2066-2069) and noncharacters are
 *     removed;
 *   - invalid UTF-8 becomes U+FFFD;
 *   - the result is capped at MAX bytes on a character boundary. */
#ifndef VL_TEXT_NORM_H
#define VL_TEXT_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <libxml/tree.h>
#include "buf.h"
#include "vl_err.h"

/* Normalises plain text S (LEN bytes). MULTILINE false folds line breaks
 * into spaces too (titles, summaries). Returns a new string capped at MAX
 * bytes (0 = no cap). Caller frees; NULL on OOM. */
char *text_norm_plain (const char *s, size_t len, bool multiline, size_t max);

/* Parses S (LEN bytes, UTF-8) as an HTML fragment and returns its
 * normalised text, capped at MAX bytes. Text without any '<' or '&' is
 * handled as plain text. Caller frees; NULL on OOM. */
char *text_norm_html (const char *s, size_t len, bool multiline, size_t max);

/* Appends the raw (not yet normalised) text of NODE and its descendants
 * to OUT, with block elements ending lines and script/style dropped.
 * Feed it to text_norm_plain afterwards. VL_ETOOBIG past OUT's max. */
vl_err_t text_norm_collect (const xmlNode *node, buf_t *out);

#endif
