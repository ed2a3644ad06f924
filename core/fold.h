/* fold.h: accent- and case-insensitive keyword matching (utf8proc), shared
 * by the watchers (tags) and the subscribers (filters), so "cybersecurite"
 * matches "Cybersécurité" everywhere in the same way. */
#ifndef VL_FOLD_H
#define VL_FOLD_H

#include <stdbool.h>
#include <stddef.h>

/* Returns a new string: S case-folded, decomposed, with combining marks
 * removed, and punctuation other than letters/digits turned into single
 * spaces, trimmed. Caller frees. NULL on OOM or invalid UTF-8. */
char *fold_text (const char *s, size_t len);

/* True if folded TERM occurs in folded TEXT as whole words (a phrase
 * "chiffrement de bout en bout" matches across single spaces; "cyber" does
 * not match inside "cybersecurite"). A TERM ending in '*' matches as a word
 * prefix ("cyber*" matches "cybersecurite"). Both must be fold_text outputs. */
bool fold_match (const char *folded_text, const char *folded_term);

#endif
