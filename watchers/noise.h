/* noise.h: `veille-watch --noise ID`: finds what makes a page source raise
 * false `changed` alerts. Loads the page several times (fetches of its URL
 * a pause apart, or saved copies), applies its current `ignore` rules,
 * and lists the elements (inside `select`) whose own text differs between
 * the copies, or that appear in only some of them, each with an ignore
 * rule that would silence it: the nearest element (itself or an ancestor
 * inside the region) with an id ("#clock") or a class ("div.counter"),
 * else its XPath; and, for a short text, a "re:" line pattern (digits
 * generalised). It then parses every copy again with those rules added
 * and says whether all give the same items: the proof that they silence
 * the noise without hiding the rest.
 *
 * Output (OUT), one block per element, then the rules to paste:
 *   changed  /html/body/div[1]/p[2]: "12:01" -> "12:05"
 *       ignore "p.stamp"   (removes 1 element, 1 line of text)
 *       or     "re:^[0-9]+:[0-9]+$"
 *   ...
 *   ignore = [ "p.stamp", ... ];
 *   with these rules the 3 copies give the same items: yes
 * With --stored, one copy (a fetch, or --file) is compared with the items
 * stored at the source's last poll: for each item whose hash differs, the
 * lines that went ("was") and came ("now"), each new line with the rule
 * of the element that holds it and a "re:" pattern (not proved: one copy).
 * HTML sources only (feeds and JSON carry per-item ids: use --preview). */
#ifndef VL_NOISE_H
#define VL_NOISE_H

#include <stdio.h>
#include "preview.h"

#define NOISE_MAX_COPIES   16     /* copies compared */
#define NOISE_MAX_ELEMENTS 20000  /* text-bearing elements per copy */
#define NOISE_MAX_REPORTED 100    /* elements listed */

/* Returns the exit code: 0 done (noise found or not), 1 a copy could not
 * be loaded or parsed, 2 unknown id or not an html source. */
int noise_source (const watch_conf_t *conf, const char *id, const preview_opts_t *o,
                  FILE *out);

#endif
