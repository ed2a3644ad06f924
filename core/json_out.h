/* json_out.h: the project's one JSON writer for what goes out to people
 * and programs: sink payloads and lines, `veille tail --json` and the
 * --log-json lines are jansson values written here into a capped buffer
 * (buf.h), never text escaped by hand. Event JSON is built by format.h
 * (format_json_event, format_json_line). */
#ifndef VL_JSON_OUT_H
#define VL_JSON_OUT_H

#include <jansson.h>
#include "buf.h"
#include "vl_err.h"

#define JSON_OUT_SLASH 0x1u  /* "/" as "\/": "</script>" cannot close a script element */
#define JSON_OUT_SAFE  0x2u  /* unsafe code points as \uXXXX (see json_out_write) */

/* Appends the compact JSON text of ROOT (any value; jansson, keys in
 * insertion order). With JSON_OUT_SAFE the code points util_cp_unsafe
 * (util.h) names that jansson leaves raw (DEL, C1 controls, bidi controls,
 * U+2028/2029, BOM, noncharacters) are written as \uXXXX escapes (a
 * surrogate pair past the BMP): the same JSON value, with nothing in it
 * that drives a terminal showing it. On error OUT is unchanged:
 * VL_ETOOBIG past its max, VL_ENOMEM. */
vl_err_t json_out_write (buf_t *out, const json_t *root, unsigned flags);

#endif
