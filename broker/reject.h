/* reject.h: the publishes the broker answers REJECTED: one reason each
 * (its ack text and its metrics label), and a rate-limited log of them.
 * Every rejection is counted by reason (veille_broker_rejected_total);
 * the log shows the first rejection of each reason at once, then at most
 * one line per reason and interval, with the number left out since the
 * previous line, so a faulty or hostile publisher cannot flood the log. */
#ifndef VL_REJECT_H
#define VL_REJECT_H

#include <stdint.h>

#define REJECT_LOG_INTERVAL_MS 10000

typedef enum {
    REJECT_FRAMES,          /* not [token][topic][event] */
    REJECT_TOKEN,           /* token frame not 8 bytes */
    REJECT_TOPIC,           /* topic frame not 1..255 bytes of [a-z0-9._-] */
    REJECT_RESERVED,        /* _sys. topic other than _sys.source.<id> */
    REJECT_TOO_LARGE,       /* event frame over EVENT_MAX_BYTES */
    REJECT_MALFORMED,       /* event_validate: VL_EPARSE */
    REJECT_UTF8,            /* event_validate: VL_EUTF8 */
    REJECT_LIMIT,           /* event_validate: VL_ETOOBIG (tags, keys in a map) */
    REJECT_TOPIC_MISMATCH,  /* event topic != topic frame */
    REJECT_JOURNAL_LIMIT,   /* the journal refused the record's size */
    REJECT_COUNT,
    REJECT_NONE = REJECT_COUNT
} reject_reason_t;

/* The start of the ack's reason text for R (static; the broker may append
 * ": detail"). */
const char *reject_text (reject_reason_t r);

/* The metrics label of R ("too_large", ...; static). */
const char *reject_label (reject_reason_t r);

typedef struct {
    int      interval_ms;
    int64_t  next_ms[REJECT_COUNT];      /* mono ms before which R is not logged */
    uint64_t suppressed[REJECT_COUNT];   /* rejections not logged since the last line */
} reject_log_t;

/* Starts with nothing logged; INTERVAL_MS <= 0 means REJECT_LOG_INTERVAL_MS. */
void reject_log_init (reject_log_t *self, int interval_ms);

/* Logs (warn) a rejection for R with the full reason TEXT from PEER (an
 * address, NULL if unknown) and USER (the CURVE key name, NULL without
 * CURVE) at NOW_MS (monotonic), or counts it as suppressed when R was
 * logged less than the interval ago. */
void reject_log (reject_log_t *self, reject_reason_t r, const char *text, const char *peer,
                 const char *user, int64_t now_ms);

#endif
