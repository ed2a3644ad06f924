/* item.c: item lists, fingerprints and identity fallback. */
#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <libxml/uri.h>
#include <string.h>
#include "buf.h"
#include "hset.h"
#include "item.h"
#include "util.h"

bool
item_idset_add (item_idset_t *self, const char *id)
{
    if (!id)
        return true;
    if (!self->set.slots && hset_init (&self->set, 64, ITEM_MAX_ENTRIES) != VL_OK)
        return true;
    if (item_idset_has (self, id))
        return false;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        const char **ids = realloc (self->ids, cap * sizeof *ids);
        if (!ids)
            return true;
        self->ids = ids;
        self->cap = cap;
    }
    if (hset_add (&self->set, hset_hash (&self->set, id, strlen (id)), (uint32_t) self->n)
        == VL_OK)
        self->ids[self->n++] = id;
    return true;
}

bool
item_idset_has (const item_idset_t *self, const char *id)
{
    if (!id || !self->set.slots)
        return false;
    uint32_t r;
    for (hset_probe_t p = hset_probe (&self->set, hset_hash (&self->set, id, strlen (id)));
         hset_next (&p, &r);)
        if (strcmp (self->ids[r], id) == 0)
            return true;
    return false;
}

void
item_idset_free (item_idset_t *self)
{
    hset_free (&self->set);
    free (self->ids);
    self->ids = NULL;
    self->cap = self->n = 0;
}

parsed_item_t *
item_list_add (item_list_t *self)
{
    if (self->n >= ITEM_MAX_ITEMS)
        return NULL;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        if (cap > ITEM_MAX_ITEMS)
            cap = ITEM_MAX_ITEMS;
        parsed_item_t *items = realloc (self->items, cap * sizeof *items);
        if (!items)
            return NULL;
        self->items = items;
        self->cap = cap;
    }
    parsed_item_t *item = &self->items[self->n++];
    memset (item, 0, sizeof *item);
    return item;
}

/* Hashes A '\n' B (either may be NULL = empty) into OUT. */
static void
hash_pair (const char *a, const char *b, char out[33])
{
    size_t la = a ? strlen (a) : 0, lb = b ? strlen (b) : 0;
    char *tmp = malloc (la + lb + 2);
    if (!tmp) {
        /* hash the parts separately; still deterministic */
        char h1[33];
        util_hash_hex (a ? a : "", la, h1);
        util_hash_hex (h1, 32, out);
        return;
    }
    if (la)
        memcpy (tmp, a, la);
    tmp[la] = '\n';
    if (lb)
        memcpy (tmp + la + 1, b, lb);
    util_hash_hex (tmp, la + 1 + lb, out);
    free (tmp);
}

void
item_finish (parsed_item_t *self)
{
    hash_pair (self->title, self->content, self->hash);
    if (self->identity && *self->identity)
        return;
    free (self->identity);
    self->identity = NULL;
    if (self->link && *self->link) {
        self->identity = strdup (self->link);
        return;
    }
    char h[33];
    hash_pair (self->title, self->link, h);
    self->identity = strdup (h);
}

static bool
allowed_scheme (const char *uri)
{
    static const char *const ok[] = { "http:", "https:", "ftp:", "file:" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncasecmp (uri, ok[i], strlen (ok[i])) == 0)
            return true;
    return false;
}

/* No control characters in a URL. */
static bool
has_control (const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

char *
item_resolve_link (const char *href, const char *base)
{
    if (!href)
        return NULL;
    while (isspace ((unsigned char) *href))
        href++;
    size_t n = strlen (href);
    while (n > 0 && isspace ((unsigned char) href[n - 1]))
        n--;
    if (n == 0 || n > 8192)
        return NULL;
    char *trimmed = strndup (href, n);
    if (!trimmed)
        return NULL;
    const xmlChar *b = (const xmlChar *) (base && *base ? base : NULL);
    xmlChar *abs = xmlBuildURI ((const xmlChar *) trimmed, b);
    if (!abs && !has_control (trimmed)) {
        /* not a URI as written: spaces or non-ASCII in a path ("Rapport
         * annuel 2016.pdf"), as pages often have; a browser percent-encodes
         * them (reserved characters and existing escapes kept) */
        xmlChar *esc = xmlURIEscapeStr ((const xmlChar *) trimmed,
                                        (const xmlChar *) ":/?#[]@!$&'()*+,;=%~");
        abs = esc ? xmlBuildURI (esc, b) : NULL;
        xmlFree (esc);
    }
    const char *cand = abs ? (const char *) abs : trimmed;
    char *res = NULL;
    if (!has_control (cand) && allowed_scheme (cand))
        res = strdup (cand);
    xmlFree (abs);
    free (trimmed);
    return res;
}

void
item_clear (parsed_item_t *self)
{
    free (self->identity);
    free (self->title);
    free (self->link);
    free (self->summary);
    free (self->content);
    free (self->new_event);
    memset (self, 0, sizeof *self);
}

void
item_list_pop (item_list_t *self)
{
    if (self->n == 0)
        return;
    item_clear (&self->items[--self->n]);
}

vl_err_t
item_list_finish_last (item_list_t *self)
{
    parsed_item_t *item = &self->items[self->n - 1];
    bool fields = item->title && item->summary && item->content;
    if (fields)
        item_finish (item);
    if (!fields || !item->identity) {
        item_list_pop (self);
        return VL_ENOMEM;
    }
    return VL_OK;
}

void
item_list_free (item_list_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        item_clear (&self->items[i]);
    free (self->items);
    self->items = NULL;
    self->n = self->cap = 0;
}
