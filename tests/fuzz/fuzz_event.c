/* fuzz_event: the msgpack event decoder on arbitrary bytes; whatever
 * decodes must re-encode and decode to the same event, and event_validate
 * (in place, no allocation) must give exactly the verdict of event_decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "event.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    event_t e, again;
    event_view_t v;
    vl_err_t rc = event_decode (data, size, &e);
    if (rc != VL_ENOMEM && event_validate (data, size, &v) != rc)
        abort ();
    if (rc == VL_OK && (v.id_len != strlen (e.id) || memcmp (v.id, e.id, v.id_len) != 0
                        || v.topic_len != strlen (e.topic)
                        || memcmp (v.topic, e.topic, v.topic_len) != 0))
        abort ();
    if (rc == VL_OK) {
        buf_t b;
        buf_init (&b, 1 << 24);
        if (event_encode (&e, &b) != VL_OK || event_decode (b.data, b.len, &again) != VL_OK
            || strcmp (e.id, again.id) != 0 || e.ntags != again.ntags)
            abort ();
        event_clear (&again);
        buf_free (&b);
    }
    event_clear (&e);
    return 0;
}
