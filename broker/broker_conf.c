/* broker_conf.c: the `broker` section key table and the rules on it that
 * need no broker code (see broker_conf.h). Linked by veille-broker and by
 * `veille check`. */
#include "broker_conf.h"
#include <string.h>
#include "log.h"
#include "wire.h"

const cfg_key_t broker_conf_keys[] = {
    { .name = "publish", .type = CFG_T_STR, .def = WIRE_DEFAULT_PUBLISH,
      .doc = "Endpoint (ROUTER) where publishers send [token][topic][event] "
             "and get acks. tcp://host:port, tcp://host:* (ephemeral port, "
             "printed in the ready line) or ipc://path." },
    { .name = "subscribe", .type = CFG_T_STR, .def = WIRE_DEFAULT_SUBSCRIBE,
      .doc = "Endpoint (XPUB) where subscribers receive [topic][seq][event], "
             "heartbeats and stats." },
    { .name = "replay", .type = CFG_T_STR, .def = WIRE_DEFAULT_REPLAY,
      .doc = "Endpoint (ROUTER) answering replay and count requests from the "
             "journal." },
    { .name = "journal_dir", .type = CFG_T_STR, .flags = CFG_REQUIRED,
      .doc = "Directory of the journal segments (created if missing). "
             "Everything acked STORED is in there." },
    { .name = "fsync", .type = CFG_T_ENUM, .def = "batch",
      .choices = "batch|interval|none",
      .doc = "When the journal is flushed to disk: `batch` fsyncs every "
             "batch before acking it (an ack means on disk; latency is at "
             "least one fdatasync); `interval` fsyncs every "
             "fsync_interval_ms in a background thread (an ack means written "
             "to the OS: survives a broker crash, not a power cut; the "
             "publish path never waits for the disk); `none` leaves it to "
             "the OS." },
    { .name = "fsync_interval_ms", .type = CFG_T_INT, .def = "100",
      .min = 1, .max = 60000,
      .doc = "Flush period for fsync = \"interval\", in milliseconds." },
    { .name = "segment_bytes", .type = CFG_T_INT64, .def = "67108864",
      .min = 4096, .max = INT64_C (1) << 31,
      .doc = "A journal segment is closed and a new one started past this "
             "size (bytes; default 64 MiB, at most 2 GiB). Retention deletes whole segments." },
    { .name = "retention_hours", .type = CFG_T_INT, .def = "168",
      .min = 0, .max = 24 * 365 * 100,
      .doc = "Segments whose newest record is older than this are deleted "
             "(0 = no age limit). The active segment is never deleted." },
    { .name = "retention_bytes", .type = CFG_T_INT64, .def = "0",
      .min = 0, .max = INT64_MAX,
      .doc = "Oldest segments are deleted while the journal is larger than "
             "this (bytes; 0 = unlimited). The active segment is never "
             "deleted." },
    { .name = "dedup_window", .type = CFG_T_INT, .def = "1000000",
      .min = 1, .max = 100000000,
      .doc = "How many of the most recent event ids are remembered to answer "
             "DUPLICATE to a resend (about 40 bytes each). Rebuilt from the "
             "journal on start." },
    { .name = "heartbeat_ms", .type = CFG_T_INT, .def = "1000",
      .min = 10, .max = 3600000,
      .doc = "Period of `_sys.heartbeat` messages (carry the head seq, so "
             "subscribers detect what they missed)." },
    { .name = "stats_interval_s", .type = CFG_T_INT, .def = "10",
      .min = 0, .max = 86400,
      .doc = "Period of `_sys.stats` messages and of the stats log line, in "
             "seconds (0 = never)." },
    { .name = "sndhwm", .type = CFG_T_INT, .def = "100000",
      .min = 1, .max = 100000000,
      .doc = "Send high-water mark (messages) per subscriber (and receive "
             "high-water mark of every endpoint). Past it a slow subscriber "
             "loses messages (it recovers them through replay): the broker "
             "never blocks. Replay answers have their own bound (one whole "
             "answer, 20000 messages) whatever this value." },
    { .name = "curve_secret_key", .type = CFG_T_STR,
      .doc = "CURVE: the broker's secret key file (`veille keygen`, mode "
             "0600). When set, every endpoint is encrypted and only the keys "
             "of the two directories below get in (the broker runs its own "
             "ZAP handler); plaintext clients are refused." },
    { .name = "curve_publishers", .type = CFG_T_STR,
      .doc = "CURVE: directory of the public keys (*.pub) allowed to publish. "
             "Read at start and re-read on SIGHUP." },
    { .name = "curve_subscribers", .type = CFG_T_STR,
      .doc = "CURVE: directory of the public keys (*.pub) allowed on the "
             "subscribe and replay endpoints." },
    { .name = "allow_plaintext_tcp", .type = CFG_T_BOOL, .def = "false",
      .doc = "Accept a plaintext network endpoint (tcp://, anything but "
             "ipc://) without CURVE. Without it the broker refuses to start "
             "on one (exit 2): any local process, whatever its user, could "
             "publish an alert that reaches the sinks, or read them. With "
             "it the broker starts and logs a warning per such endpoint. "
             "The default endpoints are unix sockets in /run/veille, which "
             "only the service group can enter (docs/security.md)." },
    { .name = "max_batch", .type = CFG_T_INT, .def = "1024",
      .min = 1, .max = 1000000,
      .doc = "Most publish messages taken per loop iteration and committed "
             "with one write + fsync (group commit). With fsync = \"batch\" "
             "the throughput is at most max_batch per fsync time: raise it "
             "on disks with slow fsync (publishers need a window at least "
             "as large to fill a batch)." },
    { .name = "replay_client_bytes", .type = CFG_T_INT64, .def = "16777216",
      .min = 2 << 20, .max = INT64_C (1) << 40,
      .doc = "Most bytes of replay answers the broker holds for one replay "
             "connection while the client has not taken them (bytes; default "
             "16 MiB, at least 2 MiB: one event of 1 MiB must fit). An answer "
             "stops early (END more = true) before an event that would pass it; "
             "a client that reads its answers has nothing held when it asks." },
    { .name = "replay_total_bytes", .type = CFG_T_INT64, .def = "268435456",
      .min = 2 << 20, .max = INT64_C (1) << 40,
      .doc = "Most bytes of replay answers held for all replay connections "
             "together (bytes; default 256 MiB). When it is full, a request "
             "whose answer cannot hold one event gets ERR \"busy\" and the "
             "client retries later." },
    { .name = "replay_client_requests", .type = CFG_T_INT, .def = "4",
      .min = 1, .max = 10000,
      .doc = "Most answers one replay connection may have in flight (sent by "
             "the broker, not yet taken by the connection). A request past it "
             "is dropped without answer (counted in "
             "veille_broker_replay_dropped_total). The protocol sends one "
             "request at a time." },
    { .name = "replay_connections", .type = CFG_T_INT, .def = "1024",
      .min = 1, .max = 1000000,
      .doc = "Most live connections to the replay endpoint; a new one past it "
             "is shut down at once (counted in "
             "veille_broker_replay_connections_refused_total). Each connection "
             "costs at most ~420 KiB of request frames and buffers. Every "
             "veille-sub and `veille tail` holds one." },
    { .name = "publish_connections", .type = CFG_T_INT, .def = "64",
      .min = 1, .max = 100000,
      .doc = "Most live connections to the publish endpoint; a new one past it "
             "is shut down at once (counted in "
             "veille_broker_publish_connections_refused_total). Each connection "
             "may hold one partial frame of up to 2 MiB (the publish frame cap), "
             "so the default bounds that to 128 MiB. Every veille-watch and every "
             "running `veille pub` holds one." },
    { .name = "subscribe_connections", .type = CFG_T_INT, .def = "1024",
      .min = 1, .max = 1000000,
      .doc = "Most live connections to the subscribe endpoint; a new one past "
             "it is shut down at once (counted in "
             "veille_broker_subscribe_connections_refused_total). A subscriber "
             "that stops reading holds at most `sndhwm` events in the broker "
             "(then it loses live events and recovers them by replay). Every "
             "veille-sub and `veille tail` holds one." },
    { .name = "metrics_listen", .type = CFG_T_STR,
      .doc = "serve Prometheus metrics on http://HOST:PORT/metrics (loopback address, "
             "e.g. \"127.0.0.1:9101\"); absent or \"\" = off" },
    { 0 }
};

/* True for an endpoint on the network (tcp://, ws://...): anything but
 * a unix socket (ipc://) or in-process (inproc://). */
static bool
s_is_network (const char *ep)
{
    return strncmp (ep, "ipc://", 6) != 0 && strncmp (ep, "inproc://", 9) != 0;
}

vl_err_t
broker_conf_check (const config_setting_t *sec)
{
    bool curve = cfg_get_str (sec, "curve_secret_key", NULL) != NULL;
    static const char *const keys[] = { "publish", "subscribe", "replay" };
    bool allow = cfg_get_bool (sec, "allow_plaintext_tcp", false);
    vl_err_t rc = VL_OK;
    for (size_t i = 0; !curve && i < 3; i++) {
        const char *ep = cfg_get_str (sec, keys[i], "");
        if (!s_is_network (ep))
            continue;
        const char *what = i == 0 ? "publish alerts" : "read alerts";
        const char *where = cfg_where (config_setting_get_member (sec, keys[i]));
        if (allow) {
            log_warn ("%s: broker.%s = \"%s\" is plaintext (allow_plaintext_tcp = true): "
                      "any local process can %s", where, keys[i], ep, what);
            continue;
        }
        log_error ("%s: broker.%s = \"%s\" is plaintext tcp: any local process could %s; "
                   "use ipc:// (the default) or CURVE, or set allow_plaintext_tcp = true "
                   "to accept it (docs/security.md)", where, keys[i], ep, what);
        rc = VL_ECONFIG;
    }
    if (!cfg_check_path (sec, "curve_secret_key", false)
        | !cfg_check_path (sec, "curve_publishers", true)
        | !cfg_check_path (sec, "curve_subscribers", true))
        rc = VL_ECONFIG;
    return rc;
}
