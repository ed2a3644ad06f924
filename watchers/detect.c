/* detect.c: new/changed detection against the stored items, events to the
 * outbox in the caller's transaction. */
#include "detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "buf.h"
#include "diff.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define DETECT_SEEN_RESOLUTION_MS (3600 * 1000)
#define DETECT_REMOVED_FLOOD      2     /* removals always believed, up to this */

vl_err_t detect_queue (state_t *st, const event_t *ev, int64_t now_ms)
{
    buf_t b;
    buf_init (&b, EVENT_MAX_BYTES);
    vl_err_t e = buf_reserve (&b, 2048);   /* most events: no regrowth */
    if (e == VL_OK)
        e = event_encode (ev, &b);
    if (e != VL_OK)
        log_error ("source %s: cannot encode a '%s' event: %s", ev->source, ev->type,
                   vl_strerror (e));
    else
        e = state_outbox_add (st, ev->topic, b.data, b.len, now_ms, NULL);
    buf_free (&b);
    return e;
}

/* Fills the fields common to item events. */
static vl_err_t item_event (const source_t *src, const parsed_item_t *it, const char *type,
                            int64_t now_ms, event_t *ev)
{
    memset (ev, 0, sizeof *ev);
    ev->v = EVENT_VERSION;
    ev->detected = now_ms;
    ev->published = it->published;
    ev->has_published = it->has_published;
    vl_err_t e = VL_OK;
    const char *url = it->link && *it->link ? it->link : src->url;
    if (event_set (&ev->type, type) || event_set (&ev->source, src->id)
        || event_set (&ev->topic, src->topic) || event_set (&ev->url, url)
        || event_set (&ev->title, it->title ? it->title : "")
        || event_set (&ev->hash, it->hash)
        || (it->summary && event_set (&ev->summary, it->summary)))
        e = VL_ENOMEM;
    return e;
}

/* Sets the stable id: (source, identity, type, [prev_hash ':'] hash). */
static vl_err_t set_id (event_t *ev, const char *identity, const char *prev_hash)
{
    char key[2 * EVENT_HASH_HEX + 2];
    snprintf (key, sizeof key, "%s%s%s", prev_hash ? prev_hash : "",
              prev_hash ? ":" : "", ev->hash);
    char id[EVENT_ID_HEX + 1];
    event_make_id (ev->source, identity, ev->type, key, id);
    return event_set (&ev->id, id);
}

/* The end of every event built here: when E (the building) is VL_OK,
 * queues EV in the outbox and reports it to EMIT; clears EV either way. */
static vl_err_t queue_and_emit (state_t *st, event_t *ev, vl_err_t e, int64_t now_ms,
                                detect_emit_fn emit, void *arg)
{
    if (e == VL_OK)
        e = detect_queue (st, ev, now_ms);
    if (e == VL_OK && emit)
        emit (arg, ev);
    event_clear (ev);
    return e;
}

static vl_err_t add_tags (event_t *ev, char **tags, size_t ntags)
{
    for (size_t i = 0; i < ntags; i++)
        if (event_add_tag (ev, tags[i]) != VL_OK)
            return VL_ENOMEM;
    return VL_OK;
}

vl_err_t detect_encode_new (const source_t *src, const parsed_item_t *it, int64_t now_ms,
                            buf_t *out)
{
    event_t ev;
    vl_err_t e = item_event (src, it, "new", now_ms, &ev);
    if (e == VL_OK)
        e = set_id (&ev, it->identity, NULL);
    if (e == VL_OK)
        e = event_encode (&ev, out);
    event_clear (&ev);
    return e;
}

/* Builds, queues and reports one event for item IT. OLD is the stored
 * version for `changed`, NULL for `new`. A `new` event without tags that
 * nobody watches (EMIT NULL) is queued from it->new_event when the parsing
 * thread encoded it already. */
static vl_err_t emit_item (state_t *st, const source_t *src, const parsed_item_t *it,
                           const state_item_t *old, char **tags, size_t ntags,
                           int64_t now_ms, detect_emit_fn emit, void *arg)
{
    if (!old && ntags == 0 && !emit && it->new_event)
        return state_outbox_add (st, src->topic, it->new_event, it->new_event_len,
                                 now_ms, NULL);
    event_t ev;
    vl_err_t e = item_event (src, it, old ? "changed" : "new", now_ms, &ev);
    if (e == VL_OK && old) {
        char *d = diff_lines (old->content, it->content, 0);
        if (!d || event_set (&ev.prev_hash, old->hash) || event_set (&ev.diff, d))
            e = VL_ENOMEM;
        free (d);
    }
    if (e == VL_OK)
        e = set_id (&ev, it->identity, old ? old->hash : NULL);
    if (e == VL_OK)
        e = add_tags (&ev, tags, ntags);
    return queue_and_emit (st, &ev, e, now_ms, emit, arg);
}

static int cmp_identity (const void *a, const void *b)
{
    const parsed_item_t *x = *(const parsed_item_t *const *) a;
    const parsed_item_t *y = *(const parsed_item_t *const *) b;
    int c = strcmp (x->identity, y->identity);
    if (c)
        return c;
    return x < y ? -1 : x > y;    /* document order among equals */
}

/* Marks in SKIP the items whose identity appeared earlier in the document
 * (or that have none). Returns false on OOM. */
static bool mark_duplicates (const item_list_t *items, bool *skip, size_t *ndup)
{
    const parsed_item_t **order = malloc ((items->n ? items->n : 1) * sizeof *order);
    if (!order)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < items->n; i++) {
        if (!items->items[i].identity || !*items->items[i].identity)
            skip[i] = true;
        else
            order[n++] = &items->items[i];
    }
    qsort (order, n, sizeof *order, cmp_identity);
    for (size_t i = 1; i < n; i++)
        if (strcmp (order[i]->identity, order[i - 1]->identity) == 0) {
            skip[order[i] - items->items] = true;
            (*ndup)++;
        }
    free (order);
    return true;
}

/* Handles one kept item: store, compare, queue. Only the stored hash is
 * read for the comparison; the stored text only when the item changed and
 * an event needs the diff. */
static vl_err_t detect_one (state_t *st, const source_t *src, const parsed_item_t *it,
                            int64_t pos, char **tags, size_t ntags, bool baseline,
                            bool fresh, int64_t now_ms, detect_emit_fn emit, void *arg,
                            detect_stats_t *s)
{
    char hash[33];
    int64_t last_seen = 0, old_pos = -1;
    vl_err_t e = fresh ? VL_ENOTFOUND
                       : state_item_peek (st, src->id, it->identity, hash, &last_seen, &old_pos);
    if (e == VL_ENOTFOUND) {
        e = state_item_put (st, src->id, it, pos, now_ms);
        if (baseline)
            s->recorded++;
        else
            s->new_items++;
        if (e == VL_OK && !baseline)
            e = emit_item (st, src, it, NULL, tags, ntags, now_ms, emit, arg);
        return e;
    }
    if (e != VL_OK)
        return e;
    if (strcmp (hash, it->hash) == 0) {
        s->unchanged++;
        /* last_seen is coarse (hourly) so that polling an unchanged
         * document does not rewrite every row; pos follows the document. */
        if (now_ms - last_seen >= DETECT_SEEN_RESOLUTION_MS || old_pos != pos)
            e = state_item_seen (st, src->id, it->identity, pos, now_ms);
        return e;
    }
    if (baseline) {
        s->recorded++;
        return state_item_put (st, src->id, it, pos, now_ms);
    }
    s->changed++;
    state_item_t old;
    e = state_item_get (st, src->id, it->identity, &old);
    if (e == VL_OK)
        e = state_item_put (st, src->id, it, pos, now_ms);
    if (e == VL_OK)
        e = emit_item (st, src, it, &old, tags, ntags, now_ms, emit, arg);
    state_item_clear (&old);
    return e;
}

/* Builds, queues and reports the `removed` event of stored item R. */
static vl_err_t emit_removed (state_t *st, const source_t *src, const state_item_ref_t *r,
                              int64_t now_ms, detect_emit_fn emit, void *arg)
{
    parsed_item_t it = { .identity = r->identity, .title = r->title, .link = r->link };
    memcpy (it.hash, r->hash, sizeof it.hash);
    event_t ev;
    vl_err_t e = item_event (src, &it, "removed", now_ms, &ev);
    if (e == VL_OK)
        e = set_id (&ev, r->identity, NULL);
    return queue_and_emit (st, &ev, e, now_ms, emit, arg);
}

/* ---- the previous document (state_source_t.doc_keys) ---- */

/* Key of an identity in doc_keys: SipHash-2-4 under a fixed key (a short
 * stable fingerprint, not a secret), never 0; 0 for an item without one. */
static uint64_t doc_key (const char *identity)
{
    static const unsigned char key[crypto_shorthash_KEYBYTES] = "veille-doc-keys";
    if (!identity)
        return 0;
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash (h, (const unsigned char *) identity, strlen (identity), key);
    uint64_t v;
    memcpy (&v, h, sizeof v);
    return v | 1;
}

/* A key and its position in a document, sorted by key for lookups. */
typedef struct {
    uint64_t key;
    size_t   pos;
} doc_ref_t;

static int cmp_ref (const void *a, const void *b)
{
    uint64_t x = ((const doc_ref_t *) a)->key, y = ((const doc_ref_t *) b)->key;
    return x < y ? -1 : x > y;
}

/* N keys sorted with their positions; NULL on OOM. Caller frees. */
static doc_ref_t *doc_index (const uint64_t *keys, size_t n)
{
    doc_ref_t *r = malloc ((n ? n : 1) * sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++)
        r[i] = (doc_ref_t) { keys[i], i };
    qsort (r, n, sizeof *r, cmp_ref);
    return r;
}

/* Position of KEY in the document indexed by IX (N entries), or -1. */
static int64_t doc_find (const doc_ref_t *ix, size_t n, uint64_t key)
{
    doc_ref_t want = { key, 0 };
    const doc_ref_t *r = key ? bsearch (&want, ix, n, sizeof *ix, cmp_ref) : NULL;
    return r ? (int64_t) r->pos : -1;
}

/* What removal detection compares: the previous document (PREV keys in
 * order, or NULL when none was kept) and the current one (CUR, indexed). */
typedef struct {
    const uint64_t  *prev;
    size_t           nprev;
    const doc_ref_t *cur;
    size_t           ncur;
} doc_pair_t;

/* Largest position in the previous document of an item still in the
 * current one, from the kept keys (-1 if none). */
static int64_t last_kept_by_keys (const doc_pair_t *d)
{
    for (size_t j = d->nprev; j-- > 0;)
        if (doc_find (d->cur, d->ncur, d->prev[j]) >= 0)
            return (int64_t) j;
    return -1;
}

/* The stored items of SRC that are gone from the document while an item
 * listed after them in the previous document is still there: removed,
 * not fallen off the end of a list. With the previous document's keys,
 * every item of it counts (also those the keyword filter dropped) and a
 * stored item counts only if it was in it; without (a database from
 * before doc_keys), the stored positions of the stored items. Marks them
 * in GONE (by index in ROWS); returns how many. */
static size_t find_removed (const state_item_ref_t *rows, size_t n,
                            const item_idset_t *present, const doc_pair_t *d,
                            const doc_ref_t *prev_ix, bool *gone)
{
    int64_t last_kept = -1;    /* largest previous pos still in the document */
    if (d->prev)
        last_kept = last_kept_by_keys (d);
    else
        for (size_t i = 0; i < n; i++)
            if (item_idset_has (present, rows[i].identity) && rows[i].pos > last_kept)
                last_kept = rows[i].pos;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t pos = d->prev ? doc_find (prev_ix, d->nprev, doc_key (rows[i].identity))
                              : rows[i].pos;
        gone[i] = pos >= 0 && pos < last_kept && !item_idset_has (present, rows[i].identity);
        k += gone[i];
    }
    return k;
}

/* Emits `removed` for the items found by find_removed and forgets them.
 * When more than half of a list (and more than DETECT_REMOVED_FLOOD items)
 * vanish at once, it is taken for a layout change or a broken page, not
 * deletions: a warning, no event, nothing forgotten. */
static vl_err_t detect_removed (state_t *st, const source_t *src, const item_list_t *items,
                                const doc_pair_t *d, int64_t now_ms, detect_emit_fn emit,
                                void *arg, detect_stats_t *s)
{
    state_item_ref_t *rows = NULL;
    size_t n = 0;
    vl_err_t e = state_items_list (st, src->id, &rows, &n);
    item_idset_t present = { 0 };
    bool *gone = calloc (n ? n : 1, sizeof *gone);
    doc_ref_t *prev_ix = d->prev ? doc_index (d->prev, d->nprev) : NULL;
    if (e == VL_OK && (!gone || (d->prev && !prev_ix)))
        e = VL_ENOMEM;
    for (size_t i = 0; e == VL_OK && i < items->n; i++)
        if (items->items[i].identity)
            item_idset_add (&present, items->items[i].identity);
    for (size_t i = 0; e == VL_OK && i < items->n; i++)   /* the set drops on OOM */
        if (items->items[i].identity && !item_idset_has (&present, items->items[i].identity))
            e = VL_ENOMEM;
    size_t k = e == VL_OK ? find_removed (rows, n, &present, d, prev_ix, gone) : 0;
    if (k > DETECT_REMOVED_FLOOD && 2 * k > n) {
        log_warn ("source %s: %zu of its %zu items vanished at once: page layout changed? "
                  "no `removed` events", src->id, k, n);
        k = 0;
    }
    for (size_t i = 0; e == VL_OK && k > 0 && i < n; i++) {
        if (!gone[i])
            continue;
        e = emit_removed (st, src, &rows[i], now_ms, emit, arg);
        if (e == VL_OK)
            e = state_item_forget (st, src->id, rows[i].identity);
        s->removed += e == VL_OK;
    }
    item_idset_free (&present);
    free (prev_ix);
    free (gone);
    state_item_refs_free (rows, n);
    return e;
}

/* The keys of ITEMS in document order into a new array *KEYS and, indexed,
 * into *IX. Caller frees both. */
static vl_err_t doc_keys_of (const item_list_t *items, uint64_t **keys, doc_ref_t **ix)
{
    *keys = malloc ((items->n ? items->n : 1) * sizeof **keys);
    *ix = NULL;
    if (!*keys)
        return VL_ENOMEM;
    for (size_t i = 0; i < items->n; i++)
        (*keys)[i] = doc_key (items->items[i].identity);
    *ix = doc_index (*keys, items->n);
    return *ix ? VL_OK : VL_ENOMEM;
}

vl_err_t detect_items (state_t *st, const source_t *src, const keywords_t *kw,
                       const item_list_t *items, state_source_t *ss, bool baseline,
                       int64_t now_ms, detect_emit_fn emit, void *arg, detect_stats_t *stats)
{
    detect_stats_t local = { 0 };
    detect_stats_t *s = stats ? stats : &local;
    bool *skip = calloc (items->n ? items->n : 1, sizeof *skip);
    if (!skip || !mark_duplicates (items, skip, &s->duplicates)) {
        free (skip);
        return VL_ENOMEM;
    }
    s->items += items->n;
    /* A source without stored items (its first poll): every item is new,
     * no need to look each one up. */
    int64_t stored = 0;
    vl_err_t e = items->n ? state_item_count (st, src->id, &stored) : VL_OK;
    bool fresh = stored == 0;
    uint64_t *keys = NULL;
    doc_ref_t *ix = NULL;
    if (e == VL_OK && ss)
        e = doc_keys_of (items, &keys, &ix);
    if (e == VL_OK && !fresh && !baseline && src->removed && items->n > 0) {
        doc_pair_t d = { ss ? ss->doc_keys : NULL, ss ? ss->ndoc_keys : 0, ix, items->n };
        e = detect_removed (st, src, items, &d, now_ms, emit, arg, s);
    }
    for (size_t i = 0; e == VL_OK && i < items->n; i++) {
        if (skip[i])
            continue;
        const parsed_item_t *it = &items->items[i];
        char **tags = NULL;
        size_t ntags = 0;
        if (kw && !keywords_check (kw, it, &tags, &ntags)) {
            s->filtered++;
            keywords_tags_free (tags, ntags);
            continue;
        }
        e = detect_one (st, src, it, (int64_t) i, tags, ntags, baseline, fresh, now_ms,
                        emit, arg, s);
        keywords_tags_free (tags, ntags);
    }
    if (e == VL_OK && ss) {     /* this document is the previous one next time */
        free (ss->doc_keys);
        ss->doc_keys = keys;
        ss->ndoc_keys = items->n;
        keys = NULL;
    }
    free (keys);
    free (ix);
    free (skip);
    return e;
}

vl_err_t detect_source_event (const source_t *src, const char *type, const char *what,
                              int64_t now_ms, event_t *out)
{
    memset (out, 0, sizeof *out);
    out->v = EVENT_VERSION;
    out->detected = now_ms;
    char topic[EVENT_MAX_TOPIC + 1];
    int n = snprintf (topic, sizeof topic, "%s%s", WIRE_TOPIC_SOURCE, src->id);
    if (n < 0 || (size_t) n >= sizeof topic) {
        log_error ("source %s: id too long for a _sys.source topic", src->id);
        return VL_EINVAL;
    }
    /* the title (a mail's subject) names the source: "source ID: what" */
    char title[EVENT_MAX_TOPIC + 512];
    snprintf (title, sizeof title, "source %s: %s", src->id,
              what && *what ? what : strcmp (type, "recovered") == 0 ? "polled again" : type);
    char stamp[32], hash[EVENT_HASH_HEX + 1], id[EVENT_ID_HEX + 1];
    snprintf (stamp, sizeof stamp, "%lld", (long long) now_ms);
    util_hash_hex (stamp, strlen (stamp), hash);
    event_make_id (src->id, WIRE_TOPIC_SOURCE, type, hash, id);
    if (event_set (&out->id, id) || event_set (&out->type, type)
        || event_set (&out->source, src->id) || event_set (&out->topic, topic)
        || event_set (&out->url, src->url) || event_set (&out->title, title)
        || event_set (&out->hash, hash)) {
        event_clear (out);
        return VL_ENOMEM;
    }
    return VL_OK;
}
