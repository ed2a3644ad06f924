/* sink_atom.h: keeps an Atom 1.0 feed file with the last N alerts of the
 * sink's topics (newest first), for feed readers. The file is replaced
 * atomically (temporary file, fsync, rename) once per batch of deliveries,
 * so a reader never sees a half-written feed. At start the entries of an
 * existing file are read back, so a restart keeps the feed's history; an
 * event id already in the feed is not added twice. */
#ifndef VL_SINK_ATOM_H
#define VL_SINK_ATOM_H

#include "buf.h"
#include "sink.h"

typedef struct {
    const char *name;
    const char *path;       /* feed file (required) */
    int         count;      /* entries kept (>= 1) */
    const char *title;      /* feed title (NULL = "veille alerts") */
    const char *feed_id;    /* feed <id> (NULL = "urn:veille:feed:<name>") */
    const char *self_url;   /* <link rel="self"> (NULL = none) */
} sink_atom_opts_t;

/* Creates the sink and loads the entries of PATH if it exists (a file
 * that is not ours is left alone until the first write replaces it).
 * VL_EINVAL for missing options. Caller owns. */
sink_t *sink_atom_new (const sink_atom_opts_t *opts, vl_err_t *err);

/* Appends the <entry> element for EV (escaped, capped) to OUT. */
vl_err_t sink_atom_entry (buf_t *out, const event_t *ev);

/* Builds the sink from its validated config group GRP (secrets read from
 * the *_env / *_file keys). Caller owns; NULL with *ERR on failure. */
sink_t *sink_atom_from_config (const config_setting_t *grp, const char *name, vl_err_t *err);

#endif
