/* diff.h: bounded line diff between two versions of an item's content.
 * Common leading and trailing lines are trimmed, then an LCS over the
 * remaining lines (when both sides have at most DIFF_MAX_LCS_LINES lines)
 * or else a multiset difference gives "- removed" and "+ added" lines in
 * order. Output capped at MAX bytes on a UTF-8 boundary, ending with "…"
 * when cut. */
#ifndef VL_DIFF_H
#define VL_DIFF_H

#include <stddef.h>

#define DIFF_MAX_BYTES      4096
#define DIFF_MAX_LCS_LINES  2000

/* Returns a new string with the diff of OLD_TEXT -> NEW_TEXT (either may be
 * NULL = empty), lines "- x" / "+ x" separated by '\n', no trailing
 * newline, "" when equal; at most MAX bytes (0 = DIFF_MAX_BYTES).
 * Caller frees; NULL on OOM. */
char *diff_lines (const char *old_text, const char *new_text, size_t max);

#endif
