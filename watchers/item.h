/* item.h: one item found in a fetched document (a feed entry, a page block,
 * a JSON record), after normalisation: parsed_item_t (the row stored for it
 * is state.h's state_item_t). Produced by the parsers
 * (feed_parse, page_parse, json_parse), consumed by the change detector. */
#ifndef VL_ITEM_H
#define VL_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hset.h"
#include "vl_err.h"

#define ITEM_MAX_TITLE    1024    /* bytes, after normalisation */
#define ITEM_MAX_SUMMARY  4096
#define ITEM_MAX_CONTENT  (256 * 1024)  /* text hashed for change detection */
#define ITEM_MAX_ITEMS    2000    /* per document */
#define ITEM_MAX_ENTRIES  (4 * ITEM_MAX_ITEMS)  /* entries/nodes/records examined
                                                   per document (duplicates included) */

/* Every string is owned, NUL-terminated, valid NFC UTF-8, or NULL. */
typedef struct {
    char   *identity;   /* guid/id, else absolute link, else hash of title+link */
    char   *title;
    char   *link;       /* absolute */
    char   *summary;    /* plain text, capped at ITEM_MAX_SUMMARY */
    char   *content;    /* normalised text the hash is computed over (after
                           `ignore`); lines separated by '\n' for diffs */
    int64_t published;  /* seconds since epoch */
    bool    has_published;
    char    hash[33];   /* util_hash_hex of title '\n' content */
    void   *new_event;  /* its `new` event already encoded (detect_encode_new,
                           on the parsing thread) or NULL; never set by parsers */
    size_t  new_event_len;
} parsed_item_t;

typedef struct {
    parsed_item_t *items;
    size_t         n, cap;
} item_list_t;

/* Set of identities already seen in one document (duplicate guids: the
 * first is kept), up to ITEM_MAX_ENTRIES. Zero-initialise; free with
 * item_idset_free. */
typedef struct {
    hset_t       set;     /* identity -> index in IDS */
    const char **ids;     /* borrowed identity strings */
    size_t       cap, n;
} item_idset_t;

/* Adds ID (borrowed: it must outlive the set). Returns false if ID was
 * already in the set; true if added (or on OOM or past ITEM_MAX_ENTRIES:
 * never drops an item). */
bool item_idset_add (item_idset_t *self, const char *id);

/* True if ID is in the set. */
bool item_idset_has (const item_idset_t *self, const char *id);

/* Frees the set's memory (not the identities). */
void item_idset_free (item_idset_t *self);

/* Appends an empty item and returns it (owned by the list); NULL on OOM
 * or past ITEM_MAX_ITEMS. */
parsed_item_t *item_list_add (item_list_t *self);

/* Computes item->hash, and item->identity when the parser found none
 * (link, else hash of title+link). Call once the fields are final. */
void item_finish (parsed_item_t *self);

/* Resolves HREF (trimmed) against BASE (may be NULL) and returns a new
 * absolute URL if its scheme is http, https, ftp or file; NULL otherwise
 * (javascript:, data:, unresolvable relative links) or on OOM. Caller frees. */
char *item_resolve_link (const char *href, const char *base);

/* Frees the strings of one item and zeroes it. */
void item_clear (parsed_item_t *self);

/* Removes (and clears) the last item of the list; no-op when empty. */
void item_list_pop (item_list_t *self);

/* Finishes the last item of the list (item_finish) once a parser has set
 * its fields. VL_ENOMEM, the item removed, when its title, summary or
 * content (NULL: a failed allocation) or its identity is missing. */
vl_err_t item_list_finish_last (item_list_t *self);

/* Frees every item and the array; the list is empty and reusable. */
void item_list_free (item_list_t *self);

#endif
