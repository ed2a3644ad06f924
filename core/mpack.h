/* mpack.h: writing msgpack with msgpack-c, the companion of mpread.h: packer
 * callbacks that append to a capped buf_t, and key/value shorthands
 * for the string-keyed maps of the protocol. */
#ifndef VL_MPACK_H
#define VL_MPACK_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "buf.h"

/* msgpack_packer write callback: DATA is a buf_t *; fails (-1) past its
 * maximum. Use: msgpack_packer_init (&pk, &buf, mpack_buf_write). */
int mpack_buf_write (void *data, const char *bytes, size_t len);

/* A packer's output that remembers the first write error: once one write
 * failed (the buffer's maximum, or no memory), every later one fails too,
 * so a value that did not fit cannot leave a spliced, shorter encoding
 * behind. Use: mpack_out_t o = { &buf, VL_OK };
 * msgpack_packer_init (&pk, &o, mpack_out_write); ...; then check o.rc. */
typedef struct {
    buf_t   *out;
    vl_err_t rc;
} mpack_out_t;

/* msgpack_packer write callback: DATA is an mpack_out_t *. */
int mpack_out_write (void *data, const char *bytes, size_t len);

/* Packs the NUL-terminated string S. */
void mpack_str (msgpack_packer *pk, const char *s);

/* Packs KEY then a string / unsigned integer value. */
void mpack_kv_str (msgpack_packer *pk, const char *key, const char *value);
void mpack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value);

#endif
