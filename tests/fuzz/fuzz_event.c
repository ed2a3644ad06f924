/* fuzz_event: the msgpack event decoder on arbitrary bytes; whatever
 * decodes must re-encode and decode to the same event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "event.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    event_t e, again;
    if (event_decode (data, size, &e) == VL_OK) {
        buf_t b;
        buf_init (&b, 0);
        if (event_encode (&e, &b) != VL_OK || event_decode (b.data, b.len, &again) != VL_OK
            || strcmp (e.id, again.id) != 0 || e.ntags != again.ntags)
            abort ();
        event_clear (&again);
        buf_free (&b);
    }
    event_clear (&e);
    return 0;
}
