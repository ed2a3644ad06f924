/* preview.h: see what veille sees, for one source of a configuration,
 * on its live URL or on saved copies of it; nothing is published and the
 * state is only read (a transaction rolled back):
 *   --test ID     the events it would publish now, as JSON lines;
 *   --preview ID  a report for people: each item as veille sees it (title,
 *                 link, identity, the text that is compared), what each
 *                 `ignore` rule removed, and the alerts (with their diff)
 *                 that would be sent against the stored state;
 *   --noise ID    the elements whose text changes between fetches (or
 *                 between saved copies), each with the ignore rule that
 *                 would silence it, and whether those rules make the
 *                 fetches give the same items (noise.h). */
#ifndef VL_PREVIEW_H
#define VL_PREVIEW_H

#include <stdbool.h>
#include <stdio.h>
#include "source.h"
#include "watch_conf.h"

typedef enum { PREVIEW_EVENTS, PREVIEW_REPORT } preview_mode_t;

typedef struct {
    char *const *files;   /* saved copies read instead of fetching the URL */
    size_t       nfiles;
    int          fetches; /* --noise without files: fetches of the URL (>= 2) */
    int          every_ms;/* --noise: pause between two fetches */
    bool         stored;  /* --noise: one copy against the items stored at the last poll */
} preview_opts_t;

/* One document of a source: fetched, or read from a file (its links then
 * resolve against the source's URL). */
typedef struct {
    char       *body;
    size_t      len;
    char       *base_url;      /* owned */
    char       *content_type;  /* owned, NULL for a file */
    char        what[320];     /* "HTTP 200, 1234 bytes" / "file F, 1234 bytes" / the error */
} preview_doc_t;

/* Fills *DOC from FILE, or (FILE NULL) by fetching SRC with CONF's fetch
 * settings. VL_OK, or an error with DOC->what saying why. Caller clears
 * *DOC with preview_doc_clear. */
vl_err_t preview_doc_load (const watch_conf_t *conf, const source_t *src, const char *file,
                           preview_doc_t *doc);
void preview_doc_clear (preview_doc_t *doc);

/* The source ID of CONF, or NULL (logged). */
const source_t *preview_find (const watch_conf_t *conf, const char *id);

/* --test / --preview: loads source ID (O->files[0] if given, else its URL)
 * and writes to OUT what MODE asks for; a one-line summary on stderr.
 * Returns the exit code: 0 ok, 1 fetch/parse failure, 2 unknown id. */
int preview_source (const watch_conf_t *conf, const char *id, preview_mode_t mode,
                    const preview_opts_t *o, FILE *out);

#endif
