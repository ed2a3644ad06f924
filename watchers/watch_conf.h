/* watch_conf.h: the `watch` section of the configuration: its key table
 * (validated by core/config.c, printed by `veille check --dump-keys`) and
 * the loader that turns the validated section into watcher options and an
 * array of source_t. */
#ifndef VL_WATCH_CONF_H
#define VL_WATCH_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "source.h"
#include "vl_err.h"

/* Keys of the `watch` section (terminated by a NULL name). */
extern const cfg_key_t watch_conf_keys[];

/* Keys of one entry of `watch.sources` (terminated by a NULL name). */
extern const cfg_key_t watch_conf_source_keys[];

/* Process-wide watcher options. Strings owned (freed by watch_conf_free). */
typedef struct {
    char    *broker;               /* publish endpoint */
    char    *state;                /* SQLite path */
    char    *user_agent;
    char    *log_file;             /* NULL = stderr */
    char    *metrics_listen;       /* "127.0.0.1:9102"; NULL or "" = no metrics */
    char    *curve_secret_key;     /* client secret key file, or NULL */
    char    *curve_server_key;     /* broker public key file, or NULL */
    int      max_concurrency;
    int      per_host_concurrency;
    int      per_host_interval_ms;
    int      connect_timeout_s;
    int      timeout_s;
    int64_t  max_body_bytes;
    int      max_redirects;
    int      fail_threshold;       /* default for sources */
    int      backoff_max_s;
    int      jitter_percent;
    bool     publish_existing;
    int      drain_timeout_s;      /* --once: wait this long for acks */
    int      item_retention_days;  /* 0 = keep items forever */
    source_t *sources;             /* array of nsources */
    size_t   nsources;
} watch_conf_t;

/* Fills *OUT from the validated `watch` section of CFG (cfg_load with
 * watch_conf_keys). Checks what the key table cannot: unique source ids,
 * ids and topics made of [a-z0-9._-] (event_topic_valid), topics not under
 * "_sys.", URLs with http, https or file scheme. Every problem is logged as
 * "file:line: message". Returns VL_ECONFIG on any problem (*OUT freed),
 * VL_ENOMEM on OOM. Caller frees with watch_conf_free. */
vl_err_t watch_conf_load (cfg_t *cfg, watch_conf_t *out);

/* Reads PATH (cfg_load with watch_conf_keys, then watch_conf_load) into
 * *OUT. Every problem is logged as "file:line: message" (log_error).
 * VL_ECONFIG, VL_EIO or VL_ENOMEM (*OUT zeroed); caller frees with
 * watch_conf_free. */
vl_err_t watch_conf_read (const char *path, watch_conf_t *out);

/* Loads one source from a validated group of `watch.sources` into *OUT
 * (zeroed first). DEFAULT_FAIL is used when the source has no
 * fail_threshold. VL_ECONFIG (logged) or VL_ENOMEM; *OUT freed on error. */
vl_err_t watch_conf_source (const config_setting_t *grp, int default_fail,
                            source_t *out);

/* Frees every string and source of *SELF and zeroes it. NULL-safe. */
void watch_conf_free (watch_conf_t *self);

/* Writes to OUT (33 bytes, hex) a fingerprint of what in SRC shapes its
 * items: url, type, selectors, ignore, json paths, keywords, charset. The
 * watcher re-records a source silently when it changes, so that editing a
 * selector does not turn every item into a `changed` event. */
void watch_conf_source_hash (const source_t *src, char out[33]);

/* True if S (NUL-terminated) is an http://, https:// or file:// URL. */
bool watch_conf_url_ok (const char *s);

#endif
