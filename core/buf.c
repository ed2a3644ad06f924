/* buf.c: growable byte buffer with a hard maximum. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "buf.h"

void
buf_init (buf_t *self, size_t max)
{
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
    assert (max > 0 && "every buffer has a limit");
    self->max = max < SIZE_MAX - 1 ? max : SIZE_MAX - 1;
}

vl_err_t
buf_reserve (buf_t *self, size_t extra)
{
    if (extra > self->max || self->len > self->max - extra)
        return VL_ETOOBIG;
    size_t need = self->len + extra;
    if (need <= self->cap && self->data)
        return VL_OK;
    size_t cap = self->cap ? self->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > self->max)
        cap = self->max;
    char *data = realloc (self->data, cap + 1);
    if (!data)
        return VL_ENOMEM;
    self->data = data;
    self->cap = cap;
    self->data[self->len] = '\0';
    return VL_OK;
}

vl_err_t
buf_append (buf_t *self, const void *data, size_t len)
{
    if (self->data && len <= self->cap - self->len) {   /* fits: cap <= max */
        memcpy (self->data + self->len, data, len);
        self->len += len;
        self->data[self->len] = '\0';
        return VL_OK;
    }
    vl_err_t rc = buf_reserve (self, len);
    if (rc)
        return rc;
    if (len)
        memcpy (self->data + self->len, data, len);
    self->len += len;
    self->data[self->len] = '\0';
    return VL_OK;
}

vl_err_t
buf_puts (buf_t *self, const char *s)
{
    return buf_append (self, s, strlen (s));
}

vl_err_t
buf_putc (buf_t *self, char c)
{
    if (self->data && self->len < self->cap) {
        self->data[self->len++] = c;
        self->data[self->len] = '\0';
        return VL_OK;
    }
    return buf_append (self, &c, 1);
}

vl_err_t
buf_vprintf (buf_t *self, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy (copy, ap);
    int n = vsnprintf (NULL, 0, fmt, copy);
    va_end (copy);
    if (n < 0)
        return VL_EINVAL;
    vl_err_t rc = buf_reserve (self, (size_t) n);
    if (rc)
        return rc;
    vsnprintf (self->data + self->len, (size_t) n + 1, fmt, ap);
    self->len += (size_t) n;
    return VL_OK;
}

vl_err_t
buf_printf (buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vl_err_t rc = buf_vprintf (self, fmt, ap);
    va_end (ap);
    return rc;
}

void
buf_reset (buf_t *self)
{
    self->len = 0;
    if (self->data)
        self->data[0] = '\0';
}

char *
buf_steal (buf_t *self)
{
    char *data = self->data;
    if (!data)
        data = calloc (1, 1);
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
    return data;
}

void
buf_free (buf_t *self)
{
    free (self->data);
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
}
