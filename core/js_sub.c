/* js_sub.c: an ordered JetStream consumer with a cursor; see js_sub.h. */
#include "js_sub.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "log.h"
#include "util.h"

#define JS_SUB_RETRY_MS  500    /* between connection / subscription attempts */
#define JS_SUB_CHECK_MS  2000   /* between stream checks while idle */
#define JS_SUB_WARN_MS   10000  /* between two warnings of an unreachable stream */
#define JS_SUBJECT_MAX   (EVENT_MAX_TOPIC + 256)

struct js_sub {
    js_sub_opts_t      opts;
    natsConnection    *nc;
    jsCtx             *js;
    natsSubscription  *sub;
    natsMsg           *cur;         /* the message *msg points into */
    uint64_t           cursor;      /* every sequence <= cursor returned */
    uint64_t           head, epoch;
    bool               mark;        /* a CURSOR mark is due */
    bool               ready, reset;
    int64_t            next_attempt, next_check, last_warn;
    uint64_t           cursor_at_check;   /* the cursor at the previous check */
    client_sub_stats_t st;
};

js_sub_t *js_sub_new (const js_sub_opts_t *opts, vl_err_t *err)
{
    js_sub_t *self = calloc (1, sizeof *self);
    *err = self ? VL_OK : VL_ENOMEM;
    if (!self)
        return NULL;
    self->opts = *opts;
    self->cursor = opts->from_seq;
    self->epoch = opts->epoch;
    return self;
}

static void drop_sub (js_sub_t *self)
{
    if (self->sub) {
        natsSubscription_Unsubscribe (self->sub);   /* deletes the consumer if it can */
        natsSubscription_Destroy (self->sub);
    }
    self->sub = NULL;
}

void js_sub_destroy (js_sub_t **self_p)
{
    js_sub_t *self = *self_p;
    if (!self)
        return;
    natsMsg_Destroy (self->cur);
    drop_sub (self);
    nats_conf_disconnect (&self->nc, &self->js);
    free (self);
    *self_p = NULL;
}

/* Reads the stream's head and epoch; notes a reset (another epoch than the
 * cursor's) and events gone before we read them. */
static natsStatus check_stream (js_sub_t *self)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo (&si, self->js, self->opts.conf->stream, NULL, &jerr);
    if (s != NATS_OK) {
        int64_t now = util_mono_ms ();
        if (now - self->last_warn >= JS_SUB_WARN_MS) {   /* retried every 0.5 s */
            self->last_warn = now;
            log_warn ("%s: JetStream stream %s: %s (%d)%s", self->opts.who,
                      self->opts.conf->stream, natsStatus_GetText (s), (int) jerr,
                      s == NATS_NOT_FOUND ? "; waiting for veille-watch to create it" : "");
        }
        return s;
    }
    uint64_t epoch = (uint64_t) si->Created;
    if (self->epoch && epoch != self->epoch && self->cursor != CLIENT_SUB_LIVE_ONLY
        && self->cursor > 0) {
        self->st.resets++;
        self->reset = true;
    }
    self->epoch = epoch;
    self->head = si->State.LastSeq;
    if (self->cursor == CLIENT_SUB_LIVE_ONLY)
        self->cursor = self->head;
    if (!self->reset && si->State.FirstSeq > self->cursor + 1 && si->State.Msgs > 0) {
        self->st.lost_retention += si->State.FirstSeq - 1 - self->cursor;
        log_warn ("%s: events %llu..%llu left the stream before they were read",
                  self->opts.who, (unsigned long long) self->cursor + 1,
                  (unsigned long long) si->State.FirstSeq - 1);
    }
    jsStreamInfo_Destroy (si);
    return NATS_OK;
}

/* Connects if needed, checks the stream and subscribes after the cursor. */
static void subscribe (js_sub_t *self)
{
    int64_t now = util_mono_ms ();
    if (now < self->next_attempt)
        return;
    self->next_attempt = now + JS_SUB_RETRY_MS;
    if (!self->nc && nats_conf_connect (self->opts.conf, self->opts.who, NULL, &self->nc,
                                        &self->js) != NATS_OK)
        return;
    if (check_stream (self) != NATS_OK || self->reset)
        return;
    char subj[JS_SUBJECT_MAX];
    snprintf (subj, sizeof subj, "%s.>", self->opts.conf->subject_prefix);
    jsSubOptions so;
    jsSubOptions_Init (&so);
    so.Stream = self->opts.conf->stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = self->cursor + 1;
    jsErrCode jerr = 0;
    natsStatus s = js_SubscribeSync (&self->sub, self->js, subj, NULL, &so, &jerr);
    if (s != NATS_OK) {
        log_warn ("%s: cannot consume %s from seq %llu: %s (%d)", self->opts.who,
                  self->opts.conf->stream, (unsigned long long) self->cursor + 1,
                  natsStatus_GetText (s), (int) jerr);
        self->sub = NULL;
        return;
    }
    self->st.replays++;
    self->next_check = now + JS_SUB_CHECK_MS;
    self->cursor_at_check = self->cursor;
    log_info ("%s: consuming stream %s from seq %llu (head %llu)", self->opts.who,
              self->opts.conf->stream, (unsigned long long) self->cursor + 1,
              (unsigned long long) self->head);
}

/* While idle: reads the head; a subscription that made no progress over a
 * whole check period while the stream holds more is made again. */
static void idle_check (js_sub_t *self)
{
    int64_t now = util_mono_ms ();
    if (now < self->next_check)
        return;
    self->next_check = now + JS_SUB_CHECK_MS;
    if (check_stream (self) != NATS_OK)
        return;
    if (self->head <= self->cursor) {
        self->ready = true;
        self->cursor_at_check = self->cursor;
        return;
    }
    if (self->cursor == self->cursor_at_check) {
        log_warn ("%s: consumer stalled at seq %llu (head %llu): subscribing again",
                  self->opts.who, (unsigned long long) self->cursor,
                  (unsigned long long) self->head);
        self->st.gaps++;
        drop_sub (self);
    }
    self->cursor_at_check = self->cursor;
}

/* Fills *MSG from the consumer's message M (kept as self->cur). */
static bool take_message (js_sub_t *self, natsMsg *m, client_msg_t *msg)
{
    jsMsgMetaData *meta = NULL;
    const char *topic = nats_conf_topic (self->opts.conf->subject_prefix, natsMsg_GetSubject (m));
    if (natsMsg_GetMetaData (&meta, m) != NATS_OK || !topic) {
        jsMsgMetaData_Destroy (meta);
        natsMsg_Destroy (m);
        return false;
    }
    uint64_t seq = meta->Sequence.Stream;
    if (meta->NumPending == 0)
        self->ready = true;
    jsMsgMetaData_Destroy (meta);
    if (seq <= self->cursor) {
        self->st.dup_seq++;
        natsMsg_Destroy (m);
        return false;
    }
    self->cursor = seq;
    if (seq > self->head)
        self->head = seq;
    self->mark = true;
    event_view_t v;
    const void *data = natsMsg_GetData (m);
    size_t len = (size_t) natsMsg_GetDataLength (m);
    if (event_validate (data, len, &v) == VL_OK
        && (v.topic_len != strlen (topic) || memcmp (v.topic, topic, v.topic_len) != 0)) {
        /* publish permissions are per subject: a topic must not claim another one */
        log_warn ("%s: seq %llu: the event's topic is not its subject's (%s): skipped",
                  self->opts.who, (unsigned long long) seq, natsMsg_GetSubject (m));
        natsMsg_Destroy (m);
        return false;   /* the mark of SEQ still comes */
    }
    self->cur = m;
    self->st.live++;
    *msg = (client_msg_t) {
        .kind = CLIENT_MSG_EVENT, .topic = topic, .topic_len = strlen (topic), .seq = seq,
        .data = data, .len = len,
    };
    return true;
}

static void sleep_ms (int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
    nanosleep (&ts, NULL);
}

vl_err_t js_sub_recv (js_sub_t *self, client_msg_t *msg, int timeout_ms)
{
    natsMsg_Destroy (self->cur);
    self->cur = NULL;
    if (self->mark) {
        self->mark = false;
        *msg = (client_msg_t) { .kind = CLIENT_MSG_CURSOR, .seq = self->cursor };
        return VL_OK;
    }
    if (timeout_ms < 0)
        timeout_ms = 1000;
    if (self->nc && natsConnection_IsClosed (self->nc)) {
        drop_sub (self);
        nats_conf_disconnect (&self->nc, &self->js);
    }
    if (!self->sub && !self->reset)
        subscribe (self);
    if (!self->sub) {
        sleep_ms (timeout_ms < JS_SUB_RETRY_MS ? timeout_ms : JS_SUB_RETRY_MS);
        return VL_ETIMEOUT;
    }
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg (&m, self->sub, timeout_ms);
    if (s == NATS_OK)
        return take_message (self, m, msg) ? VL_OK : VL_ETIMEOUT;
    if (s == NATS_TIMEOUT) {
        idle_check (self);
        return VL_ETIMEOUT;
    }
    log_warn ("%s: consumer: %s; subscribing again from seq %llu", self->opts.who,
              natsStatus_GetText (s), (unsigned long long) self->cursor + 1);
    self->st.timeouts++;
    drop_sub (self);
    return VL_ETIMEOUT;
}

uint64_t js_sub_cursor (const js_sub_t *self) { return self->cursor; }
uint64_t js_sub_head (const js_sub_t *self) { return self->head; }
uint64_t js_sub_epoch (const js_sub_t *self) { return self->epoch; }
bool js_sub_ready (const js_sub_t *self) { return self->ready; }

void js_sub_get_stats (const js_sub_t *self, client_sub_stats_t *out)
{
    *out = self->st;
}

/* The `detected` of message SEQ of the stream, 0 if it cannot be read. */
static int64_t detected_of (jsCtx *js, const char *stream, uint64_t seq)
{
    natsMsg *m = NULL;
    int64_t t = 0;
    if (js_GetMsg (&m, js, stream, seq, NULL, NULL) == NATS_OK) {
        event_t ev;
        if (event_decode (natsMsg_GetData (m), (size_t) natsMsg_GetDataLength (m), &ev) == VL_OK)
            t = ev.detected;
        event_clear (&ev);
    }
    natsMsg_Destroy (m);
    return t;
}

vl_err_t js_sub_probe (const nats_conf_t *conf, int wait_ms, client_sub_journal_t *out)
{
    memset (out, 0, sizeof *out);
    int64_t deadline = util_mono_ms () + (wait_ms > 0 ? wait_ms : conf->timeout_ms);
    vl_err_t rc = VL_ETIMEOUT;
    do {
        natsConnection *nc = NULL;
        jsCtx *js = NULL;
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = nats_conf_connect (conf, "stream probe", NULL, &nc, &js);
        if (s == NATS_OK)
            s = js_GetStreamInfo (&si, js, conf->stream, NULL, &jerr);
        if (s == NATS_OK) {
            out->head = si->State.LastSeq;
            out->first = si->State.FirstSeq;
            out->epoch = (uint64_t) si->Created;
            out->has_oldest = si->State.Msgs > 0;
            if (out->has_oldest)
                out->oldest_detected_ms = detected_of (js, conf->stream, out->first);
            rc = VL_OK;
        } else if (s == NATS_NOT_FOUND) {
            rc = VL_OK;    /* no stream yet: empty, the watcher creates it */
        }
        jsStreamInfo_Destroy (si);
        nats_conf_disconnect (&nc, &js);
        if (rc != VL_OK)
            sleep_ms (JS_SUB_RETRY_MS);
    } while (rc != VL_OK && util_mono_ms () < deadline);
    return rc;
}
