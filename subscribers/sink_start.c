/* sink_start.c: the first cursor of a new sink (see sink_start.h). */
#include <string.h>
#include <zmq.h>
#include "event.h"
#include "mpack.h"
#include "mpread.h"
#include "sink_start.h"
#include "util.h"
#include "wire.h"

#define PROBE_MP_DEPTH 16

sink_start_mode_t
sink_start_mode (const char *name)
{
    if (name && strcmp (name, "all") == 0)
        return SINK_START_ALL;
    if (name && strcmp (name, "head") == 0)
        return SINK_START_HEAD;
    return SINK_START_AUTO;
}

uint64_t
sink_start_cursor (sink_start_mode_t mode, int64_t grace_ms,
                   const sink_start_journal_t *j, int64_t now_ms, const char **why)
{
    if (mode == SINK_START_ALL) {
        *why = "start = all: every event the journal holds";
        return 0;
    }
    if (mode == SINK_START_HEAD) {
        *why = "start = head: events stored from now on";
        return j->head;
    }
    if (j->head == 0) {
        *why = "start = auto, empty journal: every event from the first one";
        return 0;
    }
    if (j->has_oldest && j->oldest_detected_ms > 0 && j->oldest_detected_ms >= now_ms - grace_ms) {
        *why = "start = auto, new installation (the journal's oldest event is younger than "
               "start_grace_s): the whole journal";
        return j->first > 0 ? j->first - 1 : 0;
    }
    *why = "start = auto, running installation (the journal's oldest event is older than "
           "start_grace_s): events stored from now on";
    return j->head;
}

static bool
s_key_is (const char *k, size_t klen, const char *name)
{
    return klen == strlen (name) && memcmp (k, name, klen) == 0;
}

/* Reads head, first and epoch from an END body; head is required. */
static bool
s_parse_end (const void *data, size_t len, sink_start_journal_t *out)
{
    mpread_t r;
    uint32_t n;
    bool has_head = false;
    mpread_init (&r, data, len);
    if (!mpread_map (&r, &n))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t klen;
        if (!mpread_str (&r, &k, &klen))
            return false;
        bool ok;
        if (s_key_is (k, klen, "head"))
            ok = has_head = mpread_uint (&r, &out->head);
        else if (s_key_is (k, klen, "first"))
            ok = mpread_uint (&r, &out->first);
        else if (s_key_is (k, klen, "epoch"))
            ok = mpread_uint (&r, &out->epoch);
        else
            ok = mpread_skip (&r, PROBE_MP_DEPTH);
        if (!ok)
            return false;
    }
    return has_head && mpread_done (&r);
}

/* The `detected` of the event in frame DATA (0 if absent or undecodable). */
static int64_t
s_detected (const void *data, size_t len)
{
    event_t ev;
    int64_t t = event_decode (data, len, &ev) == VL_OK ? ev.detected : 0;
    event_clear (&ev);
    return t;
}

/* Reads one whole answer message into PARTS (at most 4 kept). Returns the
 * number of frames, 0 on a receive error. */
static size_t
s_recv (void *s, zmq_msg_t parts[4])
{
    size_t n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t extra, *m = n < 4 ? &parts[n] : &extra;
        zmq_msg_init (m);
        if (zmq_msg_recv (m, s, 0) < 0) {
            zmq_msg_close (m);
            break;
        }
        more = zmq_msg_more (m);
        if (m == &extra)
            zmq_msg_close (m);
        n++;
    }
    return n;
}

static bool
s_frame_is (zmq_msg_t *m, const char *s)
{
    return zmq_msg_size (m) == strlen (s) && memcmp (zmq_msg_data (m), s, strlen (s)) == 0;
}

/* Reads the answer to the probe on S into *OUT. */
static vl_err_t
s_read_answer (void *s, int timeout_ms, sink_start_journal_t *out)
{
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    for (;;) {
        if (zmq_poll (&it, 1, timeout_ms) <= 0)
            return VL_ETIMEOUT;
        zmq_msg_t parts[4];
        size_t n = s_recv (s, parts);
        vl_err_t rc = VL_EAGAIN;
        if (n == 4 && s_frame_is (&parts[0], WIRE_REPLAY_EVENT) && !out->has_oldest) {
            out->has_oldest = true;
            out->oldest_detected_ms = s_detected (zmq_msg_data (&parts[3]),
                                                  zmq_msg_size (&parts[3]));
        }
        else if (n == 2 && s_frame_is (&parts[0], WIRE_REPLAY_END))
            rc = s_parse_end (zmq_msg_data (&parts[1]), zmq_msg_size (&parts[1]), out)
               ? VL_OK : VL_EPROTO;
        else if (n >= 1 && s_frame_is (&parts[0], WIRE_REPLAY_ERR))
            rc = VL_EREMOTE;
        for (size_t i = 0; i < n && i < 4; i++)
            zmq_msg_close (&parts[i]);
        if (rc != VL_EAGAIN)
            return rc;
    }
}

vl_err_t
sink_start_probe (void *zmq_ctx, const char *ep, const curve_client_t *curve,
                  int timeout_ms, sink_start_journal_t *out)
{
    memset (out, 0, sizeof *out);
    void *s = zmq_socket (zmq_ctx, ZMQ_DEALER);
    if (!s)
        return VL_ENOMEM;
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    vl_err_t rc = curve ? curve_client_apply (s, curve) : VL_OK;
    if (rc == VL_OK && zmq_connect (s, ep) != 0)
        rc = VL_ENET;
    buf_t req;
    buf_init (&req, 256);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &req, mpack_buf_write);
    msgpack_pack_map (&pk, 3);
    mpack_kv_str (&pk, "op", WIRE_REPLAY_OP_REPLAY);
    mpack_kv_uint (&pk, "after", 0);
    mpack_kv_uint (&pk, "limit", 1);
    if (rc == VL_OK && zmq_send (s, req.data, req.len, 0) < 0)
        rc = VL_ENET;
    buf_free (&req);
    if (rc == VL_OK)
        rc = s_read_answer (s, timeout_ms, out);
    zmq_close (s);
    return rc;
}
