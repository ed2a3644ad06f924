/* mpread.h: a small strict msgpack reader over a byte range: the one
 * reader of hostile msgpack (events, in event_validate and event_decode;
 * replay requests and their END answers, heartbeat bodies, the id of an
 * event). msgpack-c is for encoding (and for the CLI's JSON display of
 * the broker's stats replies, whose structure mpread_skip checks first).
 * No allocation: strings point into the input; every length and count is
 * checked against the bytes left before it is trusted. Unit tests:
 * tests/unit/test_mpread.c. */
#ifndef VL_MPREAD_H
#define VL_MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const unsigned char *p;
    size_t               left;
} mpread_t;

/* Starts reading DATA (LEN bytes). */
void mpread_init (mpread_t *self, const void *data, size_t len);

/* Reads a map header; *N gets the number of pairs. */
bool mpread_map (mpread_t *self, uint32_t *n);

/* Reads an array header; *N gets the number of elements. */
bool mpread_array (mpread_t *self, uint32_t *n);

/* Reads a string (str only, not bin); *S points into the input. */
bool mpread_str (mpread_t *self, const char **s, size_t *len);

/* Reads a non-negative integer (any msgpack int format). */
bool mpread_uint (mpread_t *self, uint64_t *v);

/* Reads any msgpack integer that fits in int64_t (a uint64 above
 * INT64_MAX is refused). */
bool mpread_int (mpread_t *self, int64_t *v);

/* Consumes a nil and returns true if the next value is nil; else reads
 * nothing and returns false. */
bool mpread_nil (mpread_t *self);

/* Reads a boolean into *V; false (nothing read) if the next value is not
 * one. */
bool mpread_bool (mpread_t *self, bool *v);

/* Skips one value of any type, nested at most DEPTH levels. */
bool mpread_skip (mpread_t *self, int depth);

/* True when every byte has been read. */
bool mpread_done (const mpread_t *self);

/* True when the string K (KLEN bytes, as mpread_str gives it) is the
 * NUL-terminated NAME. */
bool mpread_key_is (const char *k, size_t klen, const char *name);

/* Reads a map header and its pairs up to the (string) key KEY, skipping
 * the values before it (nested at most DEPTH levels): true with SELF at
 * KEY's value; false if there is no map, no such key, a key that is not
 * a string before it, or a value that cannot be skipped. */
bool mpread_find (mpread_t *self, const char *key, int depth);

/* Finds the string value of top-level key "id" in the event map DATA.
 * Returns false if DATA is not a map or has no string "id". */
bool mpread_event_id (const void *data, size_t len, const char **id, size_t *idlen);

#endif
