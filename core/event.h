/* event.h: the veille event, its msgpack codec and its stable id.
 * The schema is documented in docs/protocol.md. */
#ifndef VL_EVENT_H
#define VL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "vl_err.h"

#define EVENT_VERSION       1
#define EVENT_MAX_BYTES     (1024 * 1024) /* whole encoded event */
#define EVENT_MAX_TOPIC     255           /* bytes */
#define EVENT_MAX_TAGS      64
#define EVENT_MAX_DEPTH     8             /* nesting allowed inside unknown keys */
#define EVENT_MAX_KEYS      64            /* pairs in one map (the event, or a map inside) */
#define EVENT_ID_HEX        32            /* 16-byte BLAKE2b, hex */
#define EVENT_HASH_HEX      32

/* Every string is owned by the event, NUL-terminated and valid UTF-8.
 * Optional strings are NULL when absent. */
typedef struct {
    uint32_t v;           /* schema version (EVENT_VERSION) */
    char    *id;          /* required */
    char    *type;        /* required: new, changed, removed, error, recovered, ... */
    char    *source;      /* required */
    char    *topic;       /* required */
    char    *url;
    char    *title;
    char    *summary;
    char    *hash;
    char    *prev_hash;
    char    *diff;
    int64_t  published;   /* seconds since epoch; valid if has_published */
    bool     has_published;
    int64_t  detected;    /* milliseconds since epoch; 0 if absent */
    char   **tags;
    size_t   ntags;
} event_t;

/* Frees every field and zeroes the struct. NULL-safe. */
void event_clear (event_t *self);

/* Deep copy of SRC into *DST (which is overwritten, not freed). */
vl_err_t event_copy (event_t *dst, const event_t *src);

/* Sets *FIELD (one of the char * members) to a copy of VALUE (NULL clears). */
vl_err_t event_set (char **field, const char *value);

/* Appends a copy of TAG to the tags array (ignored past EVENT_MAX_TAGS). */
vl_err_t event_add_tag (event_t *self, const char *tag);

/* Appends the msgpack encoding of SELF to OUT. Checks required fields,
 * topic length and UTF-8; VL_EINVAL if the event would not decode.
 * VL_ETOOBIG when the encoding is over EVENT_MAX_BYTES or does not fit
 * in OUT's maximum (VL_ENOMEM when OUT cannot grow); on any error OUT is
 * left as it was. */
vl_err_t event_encode (const event_t *self, buf_t *out);

/* Strict, hostile-safe decode of DATA (LEN bytes) into *OUT (zeroed first;
 * the caller frees it with event_clear, also after an error).
 * Rejects: more than EVENT_MAX_BYTES, truncated or trailing bytes, non-map
 * top level, wrong value types, missing required keys, containers whose
 * counts exceed the bytes left, nesting deeper than EVENT_MAX_DEPTH, and
 * at every level (inside unknown keys too): a map key that is not a str
 * or comes twice in its map, a str (key or value) with a NUL or invalid
 * UTF-8 (VL_EUTF8), a map of more than EVENT_MAX_KEYS pairs (VL_ETOOBIG),
 * any ext value. Unknown keys are otherwise skipped (not copied).
 * It is event_validate's walk (core/mpread.h, no msgpack-c) followed by
 * copies of the known fields, so the two always give the same verdict. */
vl_err_t event_decode (const void *data, size_t len, event_t *out);

/* A validated event, read in place: every pointer points into the bytes
 * given to event_validate (valid as long as they are), NOT NUL-terminated;
 * NULL/0 for an absent optional field. */
typedef struct {
    uint32_t    v;
    const char *id;     size_t id_len;      /* required, EVENT_ID_HEX bytes */
    const char *type;   size_t type_len;    /* required */
    const char *source; size_t source_len;  /* required */
    const char *topic;  size_t topic_len;   /* required */
    size_t      ntags;
} event_view_t;

/* Same checks and the same result as event_decode (accept/reject and error
 * code, VL_ENOMEM aside) on DATA (LEN bytes): the same one walk over the
 * bytes, without allocating. On VL_OK *OUT (zeroed first) describes the
 * event; its pointers borrow DATA. */
vl_err_t event_validate (const void *data, size_t len, event_view_t *out);

/* Checks that a topic is acceptable: 1..EVENT_MAX_TOPIC bytes of
 * [a-z0-9._-]. Topics starting with "_sys." are reserved for the system. */
bool event_topic_valid (const char *topic, size_t len);

/* Writes the stable event id for (SOURCE, IDENTITY, TYPE, HASH) to OUT:
 * BLAKE2b-128 in lower-case hex, NUL-terminated. The same detection always
 * gives the same id, so a resend is recognised as a duplicate. */
void event_make_id (const char *source, const char *identity, const char *type,
                    const char *hash, char out[EVENT_ID_HEX + 1]);

#endif
