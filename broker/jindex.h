/* jindex.h: the in-memory index of the journal.
 *
 * Every stored record costs 8 bytes of memory: (topic id, file offset) in
 * its segment's vector (record i of a segment has seq = segment base + i).
 * Topics are interned once (a table of the distinct topic names, ~64 bytes
 * each plus the name). A journal of 10 million records therefore needs
 * about 80 MB of index. With it a replay for a rare prefix scans the 8-byte
 * entries, tests the topic id against a per-request bitmap and reads only
 * the matching records from disk. */
#ifndef VL_JINDEX_H
#define VL_JINDEX_H

#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

typedef struct {
    uint32_t tid;   /* interned topic id */
    uint32_t off;   /* offset of the record in its segment file */
} jindex_entry_t;

/* A growable vector of entries (one per segment). Zero-initialise it. */
typedef struct {
    jindex_entry_t *v;
    size_t          n, cap;
} jindex_vec_t;

/* Appends one entry, doubling the capacity when needed. VL_ENOMEM on OOM
 * (the vector is unchanged). */
vl_err_t jindex_vec_push (jindex_vec_t *self, uint32_t tid, uint32_t off);

/* Frees the entries and zeroes the vector. */
void jindex_vec_free (jindex_vec_t *self);

typedef struct jindex_topics jindex_topics_t;

/* Creates an empty topic table. Caller owns it; NULL on OOM. */
jindex_topics_t *jindex_topics_new (void);

/* Destroys *self_p and sets it to NULL; NULL-safe. */
void jindex_topics_destroy (jindex_topics_t **self_p);

/* Finds or adds TOPIC (LEN bytes, not NUL-terminated) and stores its id in
 * *TID. Ids are dense: 0, 1, 2... in order of first appearance. VL_ENOMEM,
 * or VL_ETOOBIG past HSET_MAX_ENTRIES (2^30) topics. */
vl_err_t jindex_topics_intern (jindex_topics_t *self, const char *topic,
                               size_t len, uint32_t *tid);

/* Number of distinct topics interned so far. */
size_t jindex_topics_count (const jindex_topics_t *self);

/* Name of topic TID (NUL-terminated, owned by the table); *LEN gets its
 * length. NULL if TID is out of range. */
const char *jindex_topics_name (const jindex_topics_t *self, uint32_t tid,
                                size_t *len);

/* Bytes of memory held by the table (for stats). */
size_t jindex_topics_memory (const jindex_topics_t *self);

#endif
