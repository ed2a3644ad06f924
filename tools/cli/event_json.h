/* event_json.h: JSON <-> veille events for the CLI (jansson).
 * (Event -> JSON for output is core/format.h: format_json_event.) */
#ifndef VL_EVENT_JSON_H
#define VL_EVENT_JSON_H

#include <stddef.h>
#include <jansson.h>
#include "event.h"
#include "vl_err.h"

/* Fills *OUT (zeroed first; the caller frees it with event_clear, also
 * after an error) from the JSON object OBJ with the keys of the event
 * schema (docs/protocol.md). Unknown keys and "seq" are ignored. Wrong
 * types give VL_EINVAL with a message in ERR (ERRCAP bytes). Nothing is
 * filled in: required keys may still be missing. */
vl_err_t event_json_to_event (const json_t *obj, event_t *out, char *err, size_t errcap);

/* Returns a new JSON value for the msgpack object in DATA (LEN bytes, all
 * used), or NULL if it is malformed, nested deeper than 16, or has
 * non-string map keys. Binary values become strings of their bytes made
 * valid UTF-8 by jansson's rules (NULL if not valid UTF-8). Caller owns it. */
json_t *event_json_from_msgpack (const void *data, size_t len);

#endif
