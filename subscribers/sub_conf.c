/* sub_conf.c: the key table of the `sub` section. docs/configuration.md is
 * generated from it (`veille check --dump-keys`). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "sub_conf.h"
#include "util.h"
#include "wire.h"

static const cfg_key_t log_keys[] = {
    { .name = "file", .type = CFG_T_STR,
      .doc = "file to append to (absent = stdout); reopened on SIGHUP" },
    { .name = "format", .type = CFG_T_ENUM, .def = "text", .choices = "text|json",
      .doc = "text: one readable line per alert; json: one JSON object per line" },
    { .name = NULL }
};

static const cfg_key_t mail_keys[] = {
    { .name = "url", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "SMTP server: smtp://host:port or smtps://host:port" },
    { .name = "from", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "envelope and From: address" },
    { .name = "to", .type = CFG_T_STRLIST, .flags = CFG_REQUIRED,
      .doc = "recipients (envelope and To:)" },
    { .name = "username", .type = CFG_T_STR, .doc = "SMTP AUTH user name" },
    { .name = "password_env", .type = CFG_T_STR,
      .doc = "environment variable holding the SMTP password" },
    { .name = "password_file", .type = CFG_T_STR,
      .doc = "file holding the SMTP password (must not be readable by group/others)" },
    { .name = "starttls", .type = CFG_T_BOOL, .def = "false",
      .doc = "require STARTTLS on smtp:// (smtps:// is always TLS)" },
    { .name = "digest_minutes", .type = CFG_T_INT, .def = "0", .min = 0, .max = 10080,
      .doc = "0 = one message per alert; N = one digest message every N minutes" },
    { .name = "subject_prefix", .type = CFG_T_STR, .def = "[veille]",
      .doc = "prepended to every subject" },
    { .name = "html", .type = CFG_T_BOOL, .def = "false",
      .doc = "add a text/html alternative part" },
    { .name = "timeout_s", .type = CFG_T_INT, .def = "30", .min = 1, .max = 600,
      .doc = "whole SMTP transaction timeout" },
    { .name = "ca_file", .type = CFG_T_STR,
      .doc = "PEM file of the CA(s) to trust for TLS instead of the system store" },
    { .name = NULL }
};

static const cfg_key_t webhook_keys[] = {
    { .name = "url", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "endpoint (http:// or https://); for matrix the homeserver base URL, "
             "for telegram the Bot API base (https://api.telegram.org)" },
    { .name = "style", .type = CFG_T_ENUM, .def = "json",
      .choices = "json|slack|mattermost|discord|matrix|telegram|ntfy",
      .doc = "payload style" },
    { .name = "token_env", .type = CFG_T_STR,
      .doc = "environment variable holding the token (matrix access token, telegram bot token, ntfy/bearer token)" },
    { .name = "token_file", .type = CFG_T_STR,
      .doc = "file holding the token (must not be readable by group/others)" },
    { .name = "chat_id", .type = CFG_T_STR, .doc = "telegram: chat id" },
    { .name = "room", .type = CFG_T_STR, .doc = "matrix: room id (!abc:server)" },
    { .name = "priority", .type = CFG_T_INT, .def = "3", .min = 1, .max = 5,
      .doc = "ntfy: priority 1..5" },
    { .name = "ntfy_tags", .type = CFG_T_STRLIST, .doc = "ntfy: Tags header (emoji short codes)" },
    { .name = "timeout_s", .type = CFG_T_INT, .def = "15", .min = 1, .max = 600,
      .doc = "request timeout" },
    { .name = "ca_file", .type = CFG_T_STR,
      .doc = "PEM file of the CA(s) to trust for https instead of the system store" },
    { .name = NULL }
};

static const cfg_key_t pipe_keys[] = {
    { .name = "argv", .type = CFG_T_STRLIST, .flags = CFG_REQUIRED,
      .doc = "program and arguments (no shell); receives JSON lines on stdin" },
    { .name = "timeout_s", .type = CFG_T_INT, .def = "30", .min = 1, .max = 600,
      .doc = "a program that reads none of a line for this long is killed and the event retried" },
    { .name = NULL }
};

static const cfg_key_t nats_keys[] = {
    { .name = "url", .type = CFG_T_STR, .def = "nats://127.0.0.1:4222",
      .doc = "NATS server URL(s), comma-separated (nats:// or tls://)" },
    { .name = "subject_prefix", .type = CFG_T_STR, .def = "veille",
      .doc = "subject = <subject_prefix>.<topic>" },
    { .name = "stream", .type = CFG_T_STR, .def = "VEILLE",
      .doc = "JetStream stream, created over \"<subject_prefix>.>\" if missing; "
             "\"\" = publish to an existing stream without checking it" },
    { .name = "duplicate_window_s", .type = CFG_T_INT, .def = "120", .min = 1, .max = 604800,
      .doc = "duplicate window of a stream this sink creates (Nats-Msg-Id = event id)" },
    { .name = "payload", .type = CFG_T_ENUM, .def = "json", .choices = "json|msgpack",
      .doc = "message body: the event as JSON, or the broker's msgpack event" },
    { .name = "timeout_s", .type = CFG_T_INT, .def = "5", .min = 1, .max = 600,
      .doc = "connect and publish-ack timeout" },
    { .name = "token_env", .type = CFG_T_STR, .doc = "environment variable holding an auth token" },
    { .name = "token_file", .type = CFG_T_STR,
      .doc = "file holding an auth token (must not be readable by group/others)" },
    { .name = "username", .type = CFG_T_STR, .doc = "user name (with password_env/password_file)" },
    { .name = "password_env", .type = CFG_T_STR, .doc = "environment variable holding the password" },
    { .name = "password_file", .type = CFG_T_STR,
      .doc = "file holding the password (must not be readable by group/others)" },
    { .name = "creds_file", .type = CFG_T_STR, .doc = "NATS credentials file (JWT and NKey seed)" },
    { .name = NULL }
};

static const cfg_key_t mqtt_keys[] = {
    { .name = "host", .type = CFG_T_STR, .def = "127.0.0.1", .doc = "MQTT broker host" },
    { .name = "port", .type = CFG_T_INT, .def = "1883", .min = 1, .max = 65535,
      .doc = "MQTT broker port (8883 for TLS)" },
    { .name = "topic_prefix", .type = CFG_T_STR, .def = "veille",
      .doc = "MQTT topic = <topic_prefix>/<topic with dots as slashes>" },
    { .name = "client_id", .type = CFG_T_STR, .doc = "MQTT client id (absent = veille-<name>)" },
    { .name = "retain", .type = CFG_T_BOOL, .def = "false",
      .doc = "retain the last alert of each topic on the broker" },
    { .name = "keepalive_s", .type = CFG_T_INT, .def = "30", .min = 5, .max = 3600,
      .doc = "MQTT keepalive" },
    { .name = "timeout_s", .type = CFG_T_INT, .def = "5", .min = 1, .max = 600,
      .doc = "connect and PUBACK timeout" },
    { .name = "username", .type = CFG_T_STR, .doc = "MQTT user name" },
    { .name = "password_env", .type = CFG_T_STR, .doc = "environment variable holding the password" },
    { .name = "password_file", .type = CFG_T_STR,
      .doc = "file holding the password (must not be readable by group/others)" },
    { .name = "ca_file", .type = CFG_T_STR, .doc = "CA bundle; enables TLS" },
    { .name = NULL }
};

static const cfg_key_t atom_keys[] = {
    { .name = "file", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "Atom feed file, replaced atomically after each batch" },
    { .name = "entries", .type = CFG_T_INT, .def = "50", .min = 1, .max = 10000,
      .doc = "alerts kept in the feed (newest first)" },
    { .name = "title", .type = CFG_T_STR, .def = "veille alerts", .doc = "feed title" },
    { .name = "feed_id", .type = CFG_T_STR, .doc = "feed <id> (absent = urn:veille:feed:<name>)" },
    { .name = "self_url", .type = CFG_T_STR, .doc = "URL the feed is served at (<link rel=\"self\">)" },
    { .name = NULL }
};

static const cfg_variant_t sink_variants[] = {
    { .value = "log", .keys = log_keys },
    { .value = "mail", .keys = mail_keys },
    { .value = "webhook", .keys = webhook_keys },
    { .value = "pipe", .keys = pipe_keys },
    { .value = "nats", .keys = nats_keys },
    { .value = "mqtt", .keys = mqtt_keys },
    { .value = "atom", .keys = atom_keys },
    { .value = NULL }
};

static const cfg_key_t sink_keys[] = {
    { .name = "name", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "unique sink name (cursor, dead letters and --test-sink use it)" },
    { .name = "type", .type = CFG_T_ENUM, .flags = CFG_REQUIRED,
      .choices = "log|mail|webhook|pipe|nats|mqtt|atom", .doc = "sink type" },
    { .name = "topics", .type = CFG_T_STRLIST,
      .doc = "topic prefixes (byte prefix; \"un.\" with the dot); absent = [\"\"], everything" },
    { .name = "types", .type = CFG_T_STRLIST,
      .doc = "event types to deliver (new, changed, removed, error, ...); absent = all" },
    { .name = "sources", .type = CFG_T_STRLIST,
      .doc = "source ids to deliver; absent = all" },
    { .name = "keywords", .type = CFG_T_STRLIST,
      .doc = "deliver only events whose title, summary or tags contain one of these "
             "(accent- and case-insensitive, whole words, 'cyber*' = prefix)" },
    { .name = "tags", .type = CFG_T_STRLIST,
      .doc = "deliver only events carrying one of these tags (accent/case-insensitive); "
             "absent = all" },
    { .name = "min_interval_s", .type = CFG_T_INT, .def = "0", .min = 0, .max = 86400,
      .doc = "at least this many seconds between two deliveries (events wait, never dropped)" },
    { .name = "quiet_hours", .type = CFG_T_STR,
      .doc = "\"22:00-07:00\" local time: hold deliveries until the end of the window" },
    { .name = "retry_horizon_s", .type = CFG_T_INT, .def = "86400", .min = 0, .max = 2592000,
      .doc = "how long an outage (connection refused, timeout, SMTP 4xx, HTTP 5xx/408/429) "
             "is retried, from its first failure, before the event being retried and each "
             "next one that fails are parked as dead letters; 0 = no limit" },
    { .name = "redrive_dead", .type = CFG_T_BOOL, .def = "false",
      .doc = "when the sink is up again after an outage (and at start), deliver again the "
             "events it parked for an outage (retry_horizon_s, max_attempts); never those "
             "refused for good" },
    { .name = "max_attempts", .type = CFG_T_INT, .def = "0", .min = 0, .max = 1000000,
      .doc = "attempts of one event before it is parked, whatever the horizon; "
             "0 = no limit (retry_horizon_s decides)" },
    { .name = "backoff_initial_ms", .type = CFG_T_INT, .def = "500", .min = 1, .max = 3600000,
      .doc = "first retry delay (doubles each attempt, with jitter)" },
    { .name = "backoff_max_ms", .type = CFG_T_INT, .def = "60000", .min = 1, .max = 86400000,
      .doc = "retry delay cap" },
    { .name = "queue_bytes", .type = CFG_T_INT, .def = "67108864", .min = 1048576,
      .max = 2147483647, .doc = "cap on the encoded size of the events queued in memory" },
    { .name = "start", .type = CFG_T_ENUM, .def = "auto", .choices = "auto|all|head",
      .doc = "where a new sink (no cursor yet in the state file) starts, decided once "
             "and stored: head = after the events the broker holds when veille-sub "
             "first runs with the sink; all = every event the broker journal still "
             "holds; auto = head, except on a new installation (the oldest event in "
             "the journal was detected less than start_grace_s ago, or the journal is "
             "empty): all" },
    { .name = "start_grace_s", .type = CFG_T_INT, .def = "600", .min = 0, .max = 604800,
      .doc = "start = auto: a journal whose oldest event is younger than this is a new "
             "installation's, and a new sink gets all of it" },
    { .name = "queue", .type = CFG_T_INT, .def = "4096", .min = 16, .max = 1000000,
      .doc = "in-memory queue length; when full the sink catches up later by replay" },
    { .name = NULL }
};

const cfg_key_t sub_conf_keys[] = {
    { .name = "subscribe", .type = CFG_T_STR, .def = WIRE_DEFAULT_SUBSCRIBE,
      .doc = "broker fan-out (XPUB) endpoint" },
    { .name = "replay", .type = CFG_T_STR, .def = WIRE_DEFAULT_REPLAY,
      .doc = "broker replay endpoint" },
    { .name = "state", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "SQLite file for cursors, dedup window and dead letters" },
    { .name = "dedup_window", .type = CFG_T_INT, .def = "10000", .min = 0, .max = 10000000,
      .doc = "event ids remembered per sink for deduplication" },
    { .name = "request_timeout_ms", .type = CFG_T_INT, .def = "5000", .min = 100, .max = 600000,
      .doc = "replay request timeout" },
    { .name = "rcvhwm", .type = CFG_T_INT, .def = "0", .min = -1, .max = 10000000,
      .doc = "SUB receive high-water mark (0 = libzmq default, -1 = unlimited); "
             "dropped live messages are recovered by replay either way" },
    { .name = "metrics_listen", .type = CFG_T_STR,
      .doc = "serve Prometheus metrics on http://HOST:PORT/metrics (loopback address, "
             "e.g. \"127.0.0.1:9103\"); absent or \"\" = off" },
    { .name = "curve_secret_key", .type = CFG_T_STR,
      .doc = "CURVE: this subscriber's secret key file (veille keygen); enables CURVE" },
    { .name = "curve_server_key", .type = CFG_T_STR,
      .doc = "CURVE: the broker's public key file (required with curve_secret_key)" },
    { .name = "sinks", .type = CFG_T_LIST, .flags = CFG_REQUIRED,
      .children = sink_keys, .discriminator = "type", .variants = sink_variants,
      .doc = "delivery sinks" },
    { .name = NULL }
};

const cfg_section_t sub_conf_section = { "sub", sub_conf_keys, true };

const char *
sub_conf_sink_types (void)
{
    static char list[128];
    if (!list[0]) {
        const cfg_key_t *type = sink_keys;
        while (strcmp (type->name, "type") != 0)
            type++;
        size_t o = 0;
        for (const char *c = type->choices; *c && o + 3 < sizeof list; c++) {
            if (*c == '|') {
                list[o++] = ',';
                list[o++] = ' ';
            } else
                list[o++] = *c;
        }
        list[o] = '\0';
    }
    return list;
}

/* ---- checks beyond the key table (pure: no daemon code) ----------------- */

/* The event types veille itself emits (watchers and veille-sub --test-sink). */
static const char *const known_types[] = { "new", "changed", "removed", "error", "recovered" };

typedef struct {
    int errors;
    int warnings;
} tally_t;


vl_err_t
sub_conf_parse_quiet (const char *spec, int *start_min, int *end_min)
{
    int h1, m1, h2, m2, used = 0;
    if (!spec || sscanf (spec, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &used) != 4
        || spec[used] != '\0' || h1 < 0 || h1 > 23 || h2 < 0 || h2 > 24
        || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 || (h2 == 24 && m2 != 0))
        return VL_EINVAL;
    *start_min = h1 * 60 + m1;
    *end_min = h2 * 60 + m2;
    return *start_min == *end_min ? VL_EINVAL : VL_OK;
}

/* An env/file secret pair of GRP: an env variable that is not set here,
 * without a file to fall back on, is a warning (the daemon's environment
 * may differ from this shell's). */
static void
s_check_secret (tally_t *t, const config_setting_t *grp, const char *env_key,
                const char *file_key)
{
    const char *env = cfg_get_str (grp, env_key, NULL);
    const char *file = cfg_get_str (grp, file_key, NULL);
    if (file)
        t->errors += !cfg_check_secret (grp, file_key, &t->warnings);
    else if (env && *env && !getenv (env)) {
        t->warnings++;
        log_warn ("%s: %s: environment variable %s is not set here; veille-sub refuses "
                  "to start without it", cfg_where (config_setting_get_member (grp, env_key)),
                  env_key, env);
    }
}

/* URL of GRP's KEY starts with one of the SCHEMES (NULL-terminated). */
static void
s_check_scheme (tally_t *t, const config_setting_t *grp, const char *key,
                const char *const *schemes, const char *what)
{
    const config_setting_t *s = config_setting_get_member (grp, key);
    const char *url = s ? config_setting_get_string (s) : NULL;
    if (!url)
        return;
    for (const char *const *p = schemes; *p; p++)
        if (strncmp (url, *p, strlen (*p)) == 0 && url[strlen (*p)])
            return;
    t->errors++;
    log_error ("%s: %s \"%s\": expected %s", cfg_where (s), key, url, what);
}

/* Number of strings of a CFG_T_STRLIST setting S (a single string is one). */
static int
s_count (const config_setting_t *s)
{
    if (!s)
        return 0;
    if (config_setting_type (s) == CONFIG_TYPE_STRING)
        return 1;
    return config_setting_is_aggregate (s) ? config_setting_length (s) : 0;
}

/* String I of a CFG_T_STRLIST setting S, or NULL if it is not a string. */
static const char *
s_elem (const config_setting_t *s, int i)
{
    if (config_setting_type (s) == CONFIG_TYPE_STRING)
        return config_setting_get_string (s);
    return config_setting_get_string_elem (s, i);
}

/* True if TERM has a letter or a digit (or any non-ASCII byte). */
static bool
s_has_word (const char *term)
{
    for (const unsigned char *c = (const unsigned char *) term; *c; c++)
        if (isalnum (*c) || *c >= 0x80)
            return true;
    return false;
}

static void
s_check_lists (tally_t *t, const config_setting_t *grp)
{
    static const char *const worded[] = { "keywords", "tags" };
    for (size_t k = 0; k < 2; k++) {
        const config_setting_t *s = config_setting_get_member (grp, worded[k]);
        for (int i = 0; i < s_count (s); i++) {
            const char *v = s_elem (s, i);
            if (v && !s_has_word (v)) {
                t->errors++;
                log_error ("%s: %s: \"%s\" has no letter or digit", cfg_where (s), worded[k], v);
            }
        }
    }
    const config_setting_t *types = config_setting_get_member (grp, "types");
    for (int i = 0; i < s_count (types); i++) {
        const char *v = s_elem (types, i);
        if (!v)
            continue;
        const char *near = NULL;
        size_t best = 3;
        bool known = false;
        for (size_t j = 0; j < VL_ARRAY_LEN (known_types); j++) {
            size_t d = util_edit_distance (v, known_types[j]);
            known |= d == 0;
            if (d < best) {
                best = d;
                near = known_types[j];
            }
        }
        if (known)
            continue;
        if (near) {
            t->errors++;
            log_error ("%s: types: \"%s\" is no event type (the sink would never deliver "
                       "it); did you mean \"%s\"?", cfg_where (types), v, near);
        } else {
            t->warnings++;
            log_warn ("%s: types: \"%s\" is not a type veille emits (new, changed, removed, "
                      "error, recovered): only events published with it will match",
                      cfg_where (types), v);
        }
    }
    const config_setting_t *topics = config_setting_get_member (grp, "topics");
    for (int i = 0; i < s_count (topics); i++) {
        const char *v = s_elem (topics, i);
        size_t n = v ? strlen (v) : 0;
        if (n && v[n - 1] != '.') {
            t->warnings++;
            log_warn ("%s: topics: prefix \"%s\" has no final dot: it also matches "
                      "\"%sx...\"; write \"%s.\" for the topic and those under it",
                      cfg_where (topics), v, v, v);
        }
    }
}

static void
s_check_sink_type (tally_t *t, const config_setting_t *grp, const char *type)
{
    static const char *const http[] = { "http://", "https://", NULL };
    static const char *const smtp[] = { "smtp://", "smtps://", NULL };
    if (strcmp (type, "webhook") == 0) {
        s_check_scheme (t, grp, "url", http, "an http:// or https:// URL");
        s_check_secret (t, grp, "token_env", "token_file");
        const char *style = cfg_get_str (grp, "style", "json");
        bool token = cfg_get_str (grp, "token_env", NULL) || cfg_get_str (grp, "token_file", NULL);
        if (strcmp (style, "matrix") == 0 && (!cfg_get_str (grp, "room", NULL) || !token)) {
            t->errors++;
            log_error ("%s: style matrix needs room and token_env or token_file", cfg_where (grp));
        }
        if (strcmp (style, "telegram") == 0 && (!cfg_get_str (grp, "chat_id", NULL) || !token)) {
            t->errors++;
            log_error ("%s: style telegram needs chat_id and token_env or token_file",
                       cfg_where (grp));
        }
    } else if (strcmp (type, "mail") == 0) {
        s_check_scheme (t, grp, "url", smtp, "an smtp:// or smtps:// URL");
        s_check_secret (t, grp, "password_env", "password_file");
    } else if (strcmp (type, "nats") == 0) {
        s_check_secret (t, grp, "token_env", "token_file");
        s_check_secret (t, grp, "password_env", "password_file");
    } else if (strcmp (type, "mqtt") == 0)
        s_check_secret (t, grp, "password_env", "password_file");
    else if (strcmp (type, "pipe") == 0) {
        const config_setting_t *a = config_setting_get_member (grp, "argv");
        if (a && config_setting_type (a) != CONFIG_TYPE_STRING && config_setting_length (a) == 0) {
            t->errors++;
            log_error ("%s: argv: give the program to run", cfg_where (a));
        }
    }
}

/* Reports the sinks of SINKS whose name an earlier sink already uses. */
static void
s_check_names (tally_t *t, const config_setting_t *sinks)
{
    int n = config_setting_length (sinks);
    for (int i = 1; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem (sinks, (unsigned) i);
        const char *name = cfg_get_str (g, "name", NULL);
        for (int j = 0; name && j < i; j++) {
            const config_setting_t *h = config_setting_get_elem (sinks, (unsigned) j);
            const char *other = cfg_get_str (h, "name", NULL);
            if (other && strcmp (name, other) == 0) {
                char first[64];
                snprintf (first, sizeof first, "%s", cfg_where (h));
                t->errors++;
                log_error ("%s: sink name \"%s\" is used twice (first at %s): names key "
                           "the cursors and dead letters", cfg_where (g), name, first);
                break;
            }
        }
    }
}

vl_err_t
sub_conf_check (const config_setting_t *sec, int *warnings)
{
    tally_t t = { 0, 0 };
    const char *secret = cfg_get_str (sec, "curve_secret_key", NULL);
    const char *server = cfg_get_str (sec, "curve_server_key", NULL);
    if ((secret != NULL) != (server != NULL)) {
        t.errors++;
        log_error ("%s: curve_secret_key and curve_server_key go together", cfg_where (sec));
    }
    t.errors += !cfg_check_path (sec, "curve_secret_key", false);
    t.errors += !cfg_check_path (sec, "curve_server_key", false);
    const config_setting_t *sinks = config_setting_get_member (sec, "sinks");
    int n = sinks && config_setting_is_aggregate (sinks) ? config_setting_length (sinks) : 0;
    if (sinks && n == 0) {
        t.errors++;
        log_error ("%s: sinks: no sinks configured", cfg_where (sinks));
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem (sinks, (unsigned) i);
        if (config_setting_type (g) != CONFIG_TYPE_GROUP)
            continue;
        const config_setting_t *q = config_setting_get_member (g, "quiet_hours");
        const char *qs = q ? config_setting_get_string (q) : NULL;
        int a, b;
        if (qs && *qs && sub_conf_parse_quiet (qs, &a, &b) != VL_OK) {
            t.errors++;
            log_error ("%s: quiet_hours \"%s\": expected \"HH:MM-HH:MM\" local time "
                       "(hours 00..23, an end of 24:00 allowed, start != end)",
                       cfg_where (q), qs);
        }
        s_check_lists (&t, g);
        t.errors += !cfg_check_path (g, "ca_file", false);
        t.errors += !cfg_check_path (g, "creds_file", false);
        s_check_sink_type (&t, g, cfg_get_str (g, "type", ""));
    }
    if (n > 1)
        s_check_names (&t, sinks);
    if (warnings)
        *warnings = t.warnings;
    return t.errors ? VL_ECONFIG : VL_OK;
}
