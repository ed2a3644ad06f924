/* filter.h: which events a sink wants (topic prefixes, types, sources, tags,
 * keywords) and when it may deliver them (minimum interval, quiet hours). */
#ifndef VL_FILTER_H
#define VL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "event.h"
#include "vl_err.h"

typedef struct filter filter_t;

/* Lists are NULL-terminated arrays of strings, or NULL for "no condition".
 * An empty topics list means every topic (prefix ""). */
typedef struct {
    char *const *topics;     /* byte prefixes */
    char *const *types;      /* exact event types */
    char *const *sources;    /* exact source ids */
    char *const *tags;       /* event must carry one (folded equality) */
    char *const *keywords;   /* title/summary/tags must contain one (fold_match) */
    int          min_interval_s;
    const char  *quiet_hours;  /* "HH:MM-HH:MM" local time, or NULL */
} filter_opts_t;

/* Builds a filter; copies everything from OPTS. VL_EINVAL (logged) for a
 * malformed quiet_hours or a keyword that folds to nothing. Caller owns. */
filter_t *filter_new (const filter_opts_t *opts, vl_err_t *err);
void filter_destroy (filter_t **self_p);

/* True if TOPIC (LEN bytes) starts with one of the filter's prefixes. */
bool filter_topic (const filter_t *self, const char *topic, size_t len);

/* True if EV passes every condition (topic, type, source, tags, keywords). */
bool filter_match (const filter_t *self, const event_t *ev);

/* The topic prefixes (NULL-terminated, owned by SELF; [""] if none given). */
char *const *filter_prefixes (const filter_t *self);

/* Minimum interval between two deliveries, in milliseconds (0 = none). */
int64_t filter_min_interval_ms (const filter_t *self);

/* Milliseconds to wait from local time NOW until quiet hours end; 0 if NOW
 * is outside quiet hours (or none are configured). */
int64_t filter_quiet_wait_ms (const filter_t *self, time_t now);

/* Parses "HH:MM-HH:MM" into minutes since midnight. VL_EINVAL if bad. */
vl_err_t filter_parse_quiet (const char *spec, int *start_min, int *end_min);

#endif
