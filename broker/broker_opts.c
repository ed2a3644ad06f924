/* broker_opts.c: the validated `broker` section turned into broker_opts_t
 * (see broker_opts.h). */
#include "broker_opts.h"
#include <string.h>
#include "broker_conf.h"
#include "replay.h"
#include "util.h"
#include "wire.h"

vl_err_t
broker_opts_read (const config_setting_t *sec, broker_opts_t *out)
{
    memset (out, 0, sizeof *out);
    out->publish = util_strdup (cfg_get_str (sec, "publish", WIRE_DEFAULT_PUBLISH));
    out->subscribe = util_strdup (cfg_get_str (sec, "subscribe", WIRE_DEFAULT_SUBSCRIBE));
    out->replay = util_strdup (cfg_get_str (sec, "replay", WIRE_DEFAULT_REPLAY));
    out->journal_dir = util_strdup (cfg_get_str (sec, "journal_dir", "journal"));
    const char *curve[3] = { cfg_get_str (sec, "curve_secret_key", NULL),
                             cfg_get_str (sec, "curve_publishers", NULL),
                             cfg_get_str (sec, "curve_subscribers", NULL) };
    out->curve_secret_key = util_strdup (curve[0]);
    out->curve_publishers = util_strdup (curve[1]);
    out->curve_subscribers = util_strdup (curve[2]);
    if (!out->publish || !out->subscribe || !out->replay || !out->journal_dir
        || (curve[0] && !out->curve_secret_key) || (curve[1] && !out->curve_publishers)
        || (curve[2] && !out->curve_subscribers)) {
        broker_opts_clear (out);
        return VL_ENOMEM;
    }
    if (broker_conf_check (sec) != VL_OK) {
        broker_opts_clear (out);
        return VL_ECONFIG;
    }
    journal_opts_t *j = &out->journal;
    *j = journal_opts_default ();
    int fsync = journal_fsync_parse (cfg_get_str (sec, "fsync", "batch"));
    if (fsync < 0) {
        broker_opts_clear (out);
        return VL_ECONFIG;
    }
    j->fsync = (journal_fsync_t) fsync;
    j->fsync_interval_ms = cfg_get_int (sec, "fsync_interval_ms", 100);
    j->segment_bytes = cfg_get_int64 (sec, "segment_bytes", INT64_C (64) << 20);
    j->retention_ms = (int64_t) cfg_get_int (sec, "retention_hours", 168) * 3600 * 1000;
    j->retention_bytes = cfg_get_int64 (sec, "retention_bytes", 0);
    out->dedup_window = (size_t) cfg_get_int (sec, "dedup_window", 1000000);
    out->heartbeat_ms = cfg_get_int (sec, "heartbeat_ms", 1000);
    out->stats_interval_s = cfg_get_int (sec, "stats_interval_s", 10);
    out->sndhwm = cfg_get_int (sec, "sndhwm", 100000);
    out->max_batch = cfg_get_int (sec, "max_batch", 1024);
    out->replay_client_bytes = cfg_get_int64 (sec, "replay_client_bytes", REPLAY_DEFAULT_CLIENT_BYTES);
    out->replay_total_bytes = cfg_get_int64 (sec, "replay_total_bytes", REPLAY_DEFAULT_TOTAL_BYTES);
    out->replay_client_requests = cfg_get_int (sec, "replay_client_requests",
                                               REPLAY_DEFAULT_CLIENT_REQUESTS);
    out->replay_connections = cfg_get_int (sec, "replay_connections", REPLAY_DEFAULT_CONNECTIONS);
    out->publish_connections = cfg_get_int (sec, "publish_connections",
                                            PUBLISH_DEFAULT_CONNECTIONS);
    out->subscribe_connections = cfg_get_int (sec, "subscribe_connections",
                                              SUBSCRIBE_DEFAULT_CONNECTIONS);
    const char *ml = cfg_get_str (sec, "metrics_listen", NULL);
    if (ml && !(out->metrics_listen = util_strdup (ml))) {
        broker_opts_clear (out);
        return VL_ENOMEM;
    }
    return VL_OK;
}
