/* reject.c: reasons of REJECTED publishes and their rate-limited log. */
#include <inttypes.h>
#include "event.h"
#include "log.h"
#include "reject.h"

/* The ack text names the limit; keep the two in step. */
_Static_assert (EVENT_MAX_BYTES == 1048576, "update the too-large text");

static const struct {
    const char *text, *label;
} reasons[REJECT_COUNT] = {
    [REJECT_FRAMES]         = { "expected 3 frames: token, topic, event", "frames" },
    [REJECT_TOKEN]          = { "token must be 8 bytes", "token" },
    [REJECT_TOPIC]          = { "invalid topic (1..255 bytes of [a-z0-9._-])", "topic" },
    [REJECT_RESERVED]       = { "reserved topic (publishers may use _sys.source.<id> only)",
                                "reserved_topic" },
    [REJECT_TOO_LARGE]      = { "too large (limit 1048576 bytes)", "too_large" },
    [REJECT_MALFORMED]      = { "invalid event", "malformed" },
    [REJECT_UTF8]           = { "invalid event", "utf8" },
    [REJECT_LIMIT]          = { "invalid event", "limit" },
    [REJECT_TOPIC_MISMATCH] = { "event topic differs from the topic frame", "topic_mismatch" },
    [REJECT_JOURNAL_LIMIT]  = { "event or topic size out of range", "journal_limit" },
};

const char *
reject_text (reject_reason_t r)
{
    return r < REJECT_COUNT ? reasons[r].text : "";
}

const char *
reject_label (reject_reason_t r)
{
    return r < REJECT_COUNT ? reasons[r].label : "";
}

void
reject_log_init (reject_log_t *self, int interval_ms)
{
    *self = (reject_log_t) { .interval_ms = interval_ms > 0 ? interval_ms
                                                           : REJECT_LOG_INTERVAL_MS };
}

void
reject_log (reject_log_t *self, reject_reason_t r, const char *text, const char *peer,
            const char *user, int64_t now_ms)
{
    if (r >= REJECT_COUNT)
        return;
    if (self->next_ms[r] && now_ms < self->next_ms[r]) {
        self->suppressed[r]++;
        return;
    }
    if (self->suppressed[r])
        log_warn ("broker: publish rejected from %s%s%s: %s (%" PRIu64 " more rejected "
                  "for this reason since the last such line)", peer ? peer : "?",
                  user ? " key " : "", user ? user : "", text, self->suppressed[r]);
    else
        log_warn ("broker: publish rejected from %s%s%s: %s", peer ? peer : "?",
                  user ? " key " : "", user ? user : "", text);
    self->suppressed[r] = 0;
    self->next_ms[r] = now_ms + self->interval_ms;
}
