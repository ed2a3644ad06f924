/* mpack.c: msgpack writing helpers (see mpack.h). */
#include <string.h>
#include "mpack.h"

int
mpack_buf_write (void *data, const char *bytes, size_t len)
{
    return buf_append ((buf_t *) data, bytes, len) == VL_OK ? 0 : -1;
}

int
mpack_out_write (void *data, const char *bytes, size_t len)
{
    mpack_out_t *o = data;
    if (o->rc == VL_OK)
        o->rc = buf_append (o->out, bytes, len);
    return o->rc == VL_OK ? 0 : -1;
}

void
mpack_str (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

void
mpack_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    mpack_str (pk, key);
    mpack_str (pk, value);
}

void
mpack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    mpack_str (pk, key);
    msgpack_pack_uint64 (pk, value);
}
