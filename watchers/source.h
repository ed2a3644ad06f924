/* source.h: one watched source, as configured in `watch.sources`.
 * Filled by watch_conf.c from the validated config; read by the fetcher,
 * the parsers and the change detector. */
#ifndef VL_SOURCE_H
#define VL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SOURCE_AUTO,   /* detect feed vs html vs json from the content */
    SOURCE_FEED,   /* RSS 2.0, RSS 1.0/RDF, Atom 1.0 (detected) */
    SOURCE_HTML,   /* page watched through selectors */
    SOURCE_JSON    /* JSON API */
} source_type_t;

/* All strings owned by the source (freed by source_free). */
typedef struct {
    char          *id;         /* unique, [a-z0-9._-] */
    char          *topic;      /* event topic */
    char          *url;        /* http, https or file */
    source_type_t  type;
    int            interval_s; /* poll interval */
    /* html */
    char          *select;     /* XPath or CSS selector of the watched region */
    char          *items;      /* optional: split into one item per node */
    char          *item_title; /* per-item sub-selector (relative) */
    char          *item_link;  /* per-item sub-selector (relative, @href taken) */
    char         **ignore;     /* regex (re:...) or selector of noise removed before hashing */
    size_t         nignore;
    /* json */
    char          *json_items; /* dotted path to the item array, e.g. "data.items" */
    char          *json_id, *json_title, *json_link, *json_date, *json_summary;
    /* keywords */
    char         **include;    /* at least one must match (if any given) */
    size_t         ninclude;
    char         **exclude;    /* none may match */
    size_t         nexclude;
    /* fetch */
    char         **headers;    /* "Name: value" */
    size_t         nheaders;
    char          *auth_env;   /* env var holding "user:password" */
    char          *auth_file;  /* owner-only file holding "user:password" */
    char          *charset;    /* force a charset (overrides detection) */
    int            fail_threshold; /* consecutive failures before an error event */
    bool           removed;    /* publish `removed` events (detect.h) */
} source_t;

void source_free (source_t *self);

/* Placeholder of a source url replaced, at each fetch, by the number of
 * the UN General Assembly session in progress, so that a url such as
 * https://www.un.org/en/ga/{un_ga_session}/resolutions.shtml follows the
 * sessions. */
#define SOURCE_UN_GA_SESSION "{un_ga_session}"

/* The UN General Assembly session in progress at NOW_MS (Unix ms, UTC):
 * session N opens in September of 1945 + N (between the 5th and the 17th);
 * it is counted from 20 September, once the new session's pages exist. */
int source_un_ga_session (int64_t now_ms);

/* The URL to fetch for SRC at NOW_MS: its url with SOURCE_UN_GA_SESSION
 * replaced. Caller frees; NULL on OOM. */
char *source_url (const source_t *src, int64_t now_ms);

#endif
