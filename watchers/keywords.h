/* keywords.h: per-source include/exclude keyword filter (core/fold.h
 * semantics: case- and accent-insensitive, whole words, phrases, "cyber*"
 * word-prefix). An item is kept if (no include term, or at least one
 * matches) and no exclude term matches. Matched text: title, summary and
 * content of the item. */
#ifndef VL_KEYWORDS_H
#define VL_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>
#include "item.h"
#include "vl_err.h"

typedef struct keywords keywords_t;

/* Builds a filter from INCLUDE (NINCLUDE terms) and EXCLUDE (NEXCLUDE);
 * terms are kept as configured for tags and folded for matching. Returns
 * NULL with *ERR = VL_EINVAL for a term that folds to nothing or is not
 * valid UTF-8, VL_ENOMEM.
 * Caller owns the result (keywords_destroy). */
keywords_t *keywords_new (char *const *include, size_t ninclude,
                          char *const *exclude, size_t nexclude, vl_err_t *err);

/* True if ITEM passes the filter. If TAGS is not NULL, *TAGS receives a new
 * array of the matched include terms, as configured (caller frees with
 * keywords_tags_free), and *NTAGS its length (0 and NULL when none). */
bool keywords_check (const keywords_t *self, const parsed_item_t *item,
                     char ***tags, size_t *ntags);

/* Same on raw TEXT (LEN bytes, UTF-8). */
bool keywords_check_text (const keywords_t *self, const char *text, size_t len,
                          char ***tags, size_t *ntags);

/* Frees an array returned by keywords_check; NULL-safe. */
void keywords_tags_free (char **tags, size_t ntags);

/* Destroys *SELF_P and sets it to NULL; NULL-safe. */
void keywords_destroy (keywords_t **self_p);

#endif
