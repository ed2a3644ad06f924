/* fuzz_replay: the replay request parser (replay_parse) on arbitrary
 * bytes. Whatever it accepts must respect the documented bounds; whatever
 * it refuses must come with a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "replay.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    log_set_level (LOG_LVL_OFF);
    replay_req_t req;
    const char *why = NULL;
    vl_err_t rc = replay_parse (data, size, &req, &why);
    if (rc != VL_OK) {
        if (!why || (rc != VL_EPARSE && rc != VL_ETOOBIG))
            abort ();
        return 0;
    }
    if (size > WIRE_REPLAY_MAX_REQUEST || req.nprefixes > WIRE_REPLAY_MAX_PREFIXES
        || req.limit > WIRE_REPLAY_MAX_LIMIT
        || (req.op != REPLAY_OP_REPLAY && req.op != REPLAY_OP_COUNT))
        abort ();
    for (size_t i = 0; i < req.nprefixes; i++) {
        const char *s = req.prefixes[i].s;
        size_t len = req.prefixes[i].len;
        if (len > 255 || (len && (s < (const char *) data || s + len > (const char *) data + size)))
            abort ();
        for (size_t k = 0; k < len; k++) {
            char ch = s[k];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.'
                  || ch == '_' || ch == '-'))
                abort ();
        }
    }
    return 0;
}
