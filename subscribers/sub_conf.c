/* sub_conf.c: the key table of the `sub` section. docs/configuration.md is
 * generated from it (`veille check --dump-keys`). */
#include "sub_conf.h"
#include "backbone.h"
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
    { .name = "backbone", .type = CFG_T_ENUM, .def = "broker", .choices = BACKBONE_CHOICES,
      .doc = BACKBONE_DOC },
    { .name = "nats", .type = CFG_T_GROUP, .children = nats_conf_keys,
      .doc = "backbone = \"nats\": the JetStream stream to consume" },
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
