/* format_mime.h: header values safe for mail and HTTP (RFC 2047
 * encoded-words) and canonical CRLF line breaks for MIME text bodies. The
 * rest of the formatting (cleaning, text, JSON) is core/format.h. */
#ifndef VL_FORMAT_MIME_H
#define VL_FORMAT_MIME_H

#include <stddef.h>
#include "buf.h"

/* Appends TEXT (cleaned to one line: no CR/LF or controls) as an RFC 5322
 * header value: raw when it is short printable ASCII, otherwise as RFC 2047
 * encoded-words (=?UTF-8?B?...?=, base64 of whole UTF-8 characters) folded
 * with CRLF SP so that no line exceeds 76 characters. FIRST_USED is how
 * many characters of the first line the header name already takes
 * ("Subject: " = 9). The text is capped at MAX bytes. */
vl_err_t format_rfc2047 (buf_t *out, const char *text, size_t first_used, size_t max);

/* Appends S (LEN bytes) with every line break (LF, CRLF or a lone CR)
 * written as CRLF: the canonical form of a MIME text body, which the
 * quoted-printable encoder turns into real line breaks (a bare LF would be
 * encoded as "=0A"). */
vl_err_t format_crlf (buf_t *out, const char *s, size_t len);

#endif
