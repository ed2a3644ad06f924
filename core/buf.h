/* buf.h: growable byte buffer with a hard maximum. Everything read from
 * outside goes through one, so every limit is explicit. */
#ifndef VL_BUF_H
#define VL_BUF_H

#include <stddef.h>
#include <stdarg.h>
#include "vl_err.h"

typedef struct {
    char  *data;  /* always NUL-terminated when non-NULL (terminator not counted in len) */
    size_t len;
    size_t cap;   /* allocated, excluding the terminator slot */
    size_t max;   /* hard limit on len (> 0) */
} buf_t;

/* Initialises an empty buffer that will never hold more than MAX bytes.
 * MAX must be > 0 (asserted): there is no unlimited buffer; every caller
 * names its bound (built without assertions, 0 makes every append fail). */
void buf_init (buf_t *self, size_t max);

/* Makes room for EXTRA more bytes. VL_ETOOBIG past max, VL_ENOMEM on OOM. */
vl_err_t buf_reserve (buf_t *self, size_t extra);

/* Appends LEN bytes. On error the buffer is unchanged. */
vl_err_t buf_append (buf_t *self, const void *data, size_t len);

/* Appends a NUL-terminated string. */
vl_err_t buf_puts (buf_t *self, const char *s);

/* Appends one byte. */
vl_err_t buf_putc (buf_t *self, char c);

/* printf-style append. */
vl_err_t buf_printf (buf_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
vl_err_t buf_vprintf (buf_t *self, const char *fmt, va_list ap);

/* Empties the buffer, keeping its memory. */
void buf_reset (buf_t *self);

/* Hands the data to the caller (who frees it) and resets the buffer.
 * Returns an empty string, not NULL, for an empty buffer; NULL on OOM. */
char *buf_steal (buf_t *self);

/* Frees the memory; the buffer can be reused after buf_init. */
void buf_free (buf_t *self);

#endif
