/* test_auth: the broker's CURVE server setup and ZAP handler (broker/auth.h)
 * with real ZeroMQ sockets on loopback: authorised publisher/subscriber
 * keys get through, every other combination is refused, refusals are
 * logged once per peer, and the error paths of auth_new. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include <cmocka.h>
#include "auth.h"
#include "curve.h"
#include "log.h"
#include "util.h"
#include "test_tmpdir.h"

typedef struct {
    char dir[256];
    char pubs[300], subs[300], keys[300];
    char broker_key[320], broker_pub[320];
    void *ctx;
    auth_t *auth;
    void *socks[64];    /* every socket a test opens, closed by teardown if
                           a failed assertion skipped the test's own close */
} fx_t;

static fx_t *current;

/* Registers S for teardown. */
static void *
s_track (void *s)
{
    for (size_t i = 0; i < VL_ARRAY_LEN (current->socks); i++)
        if (!current->socks[i]) {
            current->socks[i] = s;
            break;
        }
    return s;
}

/* Closes S and forgets it. */
static void
s_zclose (void *s)
{
    for (size_t i = 0; i < VL_ARRAY_LEN (current->socks); i++)
        if (current->socks[i] == s)
            current->socks[i] = NULL;
    zmq_close (s);
}

static void
s_path (char *out, size_t cap, const char *dir, const char *name, const char *ext)
{
    snprintf (out, cap, "%s/%s.%s", dir, name, ext);
}

/* Keys: broker (server), pub1 (publisher), sub1 (subscriber), stranger
 * (in no list). */
static int
setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (test_tmpdir_create (fx->dir, sizeof fx->dir, "veille-auth-") != 0)
        return -1;
    snprintf (fx->pubs, sizeof fx->pubs, "%s/publishers", fx->dir);
    snprintf (fx->subs, sizeof fx->subs, "%s/subscribers", fx->dir);
    snprintf (fx->keys, sizeof fx->keys, "%s/keys", fx->dir);
    mkdir (fx->pubs, 0700);
    mkdir (fx->subs, 0700);
    mkdir (fx->keys, 0700);
    if (curve_keygen (fx->keys, "broker") != VL_OK || curve_keygen (fx->keys, "stranger") != VL_OK
        || curve_keygen (fx->keys, "pub1") != VL_OK || curve_keygen (fx->keys, "sub1") != VL_OK)
        return -1;
    char from[400], to[400];
    s_path (from, sizeof from, fx->keys, "pub1", "pub");
    s_path (to, sizeof to, fx->pubs, "pub1", "pub");
    if (link (from, to) != 0)
        return -1;
    s_path (from, sizeof from, fx->keys, "sub1", "pub");
    s_path (to, sizeof to, fx->subs, "sub1", "pub");
    if (link (from, to) != 0)
        return -1;
    s_path (fx->broker_key, sizeof fx->broker_key, fx->keys, "broker", "key");
    s_path (fx->broker_pub, sizeof fx->broker_pub, fx->keys, "broker", "pub");
    fx->ctx = zmq_ctx_new ();
    current = fx;
    *state = fx;
    return 0;
}

static int
teardown (void **state)
{
    fx_t *fx = *state;
    for (size_t i = 0; i < VL_ARRAY_LEN (fx->socks); i++)
        if (fx->socks[i])
            zmq_socket_monitor (fx->socks[i], NULL, 0);   /* see s_close */
    for (size_t i = 0; i < VL_ARRAY_LEN (fx->socks); i++)
        if (fx->socks[i])
            zmq_close (fx->socks[i]);
    auth_destroy (&fx->auth);
    zmq_ctx_term (fx->ctx);
    if (test_tmpdir_remove (fx->dir) != 0)
        return -1;
    free (fx);
    return 0;
}

static auth_t *
s_auth (fx_t *fx, int log_interval_ms)
{
    auth_opts_t o = { fx->broker_key, fx->pubs, fx->subs, log_interval_ms };
    vl_err_t err = VL_EINVAL;
    auth_t *a = auth_new (fx->ctx, &o, &err);
    assert_int_equal (err, VL_OK);
    assert_non_null (a);
    return a;
}

/* A server socket of TYPE with domain DOMAIN bound on an ephemeral port;
 * its endpoint goes to EP. */
static void *
s_server (fx_t *fx, int type, const char *domain, char ep[64])
{
    void *s = s_track (zmq_socket (fx->ctx, type));
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal (auth_apply_server (fx->auth, s, domain), VL_OK);
    assert_int_equal (zmq_bind (s, "tcp://127.0.0.1:*"), 0);
    size_t len = 64;
    zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len);
    return s;
}

/* A client socket of TYPE with key pair NAME (NULL = plaintext) that
 * trusts SERVER_PUB; monitored on MON (a PAIR) for handshake events. */
static void *
s_client (fx_t *fx, int type, const char *name, const char *server_pub, const char *ep,
          void **mon)
{
    void *s = s_track (zmq_socket (fx->ctx, type));
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    if (name) {
        curve_client_t keys;
        char sec[400];
        s_path (sec, sizeof sec, fx->keys, name, "key");
        assert_int_equal (curve_client_load (&keys, sec, server_pub), VL_OK);
        assert_int_equal (curve_client_apply (s, &keys), VL_OK);
    }
    static int n;
    char mep[64];
    snprintf (mep, sizeof mep, "inproc://test-mon-%d", n++);
    assert_int_equal (zmq_socket_monitor (s, mep, ZMQ_EVENT_ALL), 0);
    *mon = s_track (zmq_socket (fx->ctx, ZMQ_PAIR));
    zmq_setsockopt (*mon, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal (zmq_connect (*mon, mep), 0);
    assert_int_equal (zmq_connect (s, ep), 0);
    return s;
}

/* Waits (30 s at most: the machine may be loaded) for a handshake outcome on MON; returns the event
 * (ZMQ_EVENT_HANDSHAKE_SUCCEEDED or one of the failures) or 0. */
static int
s_handshake (void *mon)
{
    int64_t end = util_mono_ms () + 30000;
    while (util_mono_ms () < end) {
        zmq_pollitem_t it = { mon, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&it, 1, 100) <= 0)
            continue;
        zmq_msg_t m1, m2;
        zmq_msg_init (&m1);
        zmq_msg_init (&m2);
        zmq_msg_recv (&m1, mon, 0);
        zmq_msg_recv (&m2, mon, 0);
        uint16_t ev = 0;
        if (zmq_msg_size (&m1) >= 2)
            memcpy (&ev, zmq_msg_data (&m1), 2);
        zmq_msg_close (&m1);
        zmq_msg_close (&m2);
        if (ev & (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                  | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                  | ZMQ_EVENT_DISCONNECTED))
            return ev;
    }
    return 0;
}

/* Closes client socket *A and its monitor reader *B. The monitor is
 * stopped first: libzmq 4.3 sends monitor events with a blocking send from
 * its I/O thread, so an event for a reader already closed would stall
 * every socket of the context. */
static void
s_close (void **a, void **b)
{
    zmq_socket_monitor (*a, NULL, 0);
    s_zclose (*a);
    s_zclose (*b);
}

/* Receives one message on S within MS; returns its size or -1. Copies the
 * "User-Id" property (if any) into USER. */
static int
s_recv_within (void *s, int ms, char *user, size_t ucap)
{
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&it, 1, ms) <= 0)
        return -1;
    int size = -1;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        zmq_msg_recv (&m, s, 0);
        const char *uid = zmq_msg_gets (&m, "User-Id");
        if (user && uid)
            snprintf (user, ucap, "%s", uid);
        size = (int) zmq_msg_size (&m);
        more = zmq_msg_more (&m);
        zmq_msg_close (&m);
    }
    return size;
}

/* The Z85 public key of key pair NAME into Z85. */
static void
s_public_z85 (fx_t *fx, const char *name, char z85[41])
{
    char path[400];
    s_path (path, sizeof path, fx->keys, name, "pub");
    assert_int_equal (curve_read_public (path, z85), VL_OK);
}

static void
authorised_publisher_gets_through_with_its_key_as_user_id (void **state)
{
    fx_t *fx = *state;
    fx->auth = s_auth (fx, 0);
    char ep[64];
    void *router = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_PUBLISH, ep);
    void *mon;
    void *dealer = s_client (fx, ZMQ_DEALER, "pub1", fx->broker_pub, ep, &mon);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    assert_int_equal (zmq_send (dealer, "hello", 5, 0), 5);
    char user[64] = "";
    assert_int_equal (s_recv_within (router, 30000, user, sizeof user), 5);
    char z85[41];
    s_public_z85 (fx, "pub1", z85);
    assert_string_equal (user, z85);
    auth_stats_t st;
    auth_stats (fx->auth, &st);
    assert_int_equal (st.allowed, 1);
    assert_int_equal (st.denied, 0);
    assert_int_equal (st.publishers, 1);
    assert_int_equal (st.subscribers, 1);
    s_close (&dealer, &mon);
    s_zclose (router);
}

/* On the publish endpoint: subscriber key, unknown key, plaintext and a
 * client that trusts the wrong server key are all refused, and the
 * router receives nothing. */
static void
every_unauthorised_publisher_is_refused (void **state)
{
    fx_t *fx = *state;
    fx->auth = s_auth (fx, 0);
    char ep[64];
    void *router = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_PUBLISH, ep);
    char stranger_pub[400];
    s_path (stranger_pub, sizeof stranger_pub, fx->keys, "stranger", "pub");
    struct { const char *key; const char *server; int expect; } cases[] = {
        { "sub1", fx->broker_pub, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH },
        { "stranger", fx->broker_pub, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH },
        { NULL, NULL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL },
    };
    for (size_t i = 0; i < VL_ARRAY_LEN (cases); i++) {
        void *mon;
        void *dealer = s_client (fx, ZMQ_DEALER, cases[i].key, cases[i].server, ep, &mon);
        assert_int_equal (s_handshake (mon), cases[i].expect);
        zmq_send (dealer, "evil", 4, ZMQ_DONTWAIT);
        s_close (&dealer, &mon);
    }
    /* Wrong server key: the server cannot open the client's HELLO. */
    void *mon;
    void *dealer = s_client (fx, ZMQ_DEALER, "pub1", stranger_pub, ep, &mon);
    zmq_send (dealer, "evil", 4, ZMQ_DONTWAIT);
    assert_int_not_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    s_close (&dealer, &mon);
    assert_int_equal (s_recv_within (router, 300, NULL, 0), -1);
    auth_stats_t st;
    auth_stats (fx->auth, &st);
    assert_int_equal (st.allowed, 0);
    assert_true (st.denied >= 2);
    /* The plaintext and wrong-key failures reach the broker's log through
     * its socket monitor when the server side sees the failure first
     * (best effort: if the client hangs up first the server sees only a
     * disconnect), so st.failed is not asserted here. */
    s_zclose (router);
}

static void
subscribe_and_replay_domains_take_subscriber_keys_only (void **state)
{
    fx_t *fx = *state;
    fx->auth = s_auth (fx, 0);
    char ep[64], rep_ep[64];
    void *xpub = s_server (fx, ZMQ_XPUB, AUTH_DOMAIN_SUBSCRIBE, ep);
    void *replay = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_REPLAY, rep_ep);
    void *mon;
    void *sub = s_client (fx, ZMQ_SUB, "sub1", fx->broker_pub, ep, &mon);
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "un.", 3);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    assert_int_equal (s_recv_within (xpub, 30000, NULL, 0), 4);   /* "\1un." */
    zmq_send (xpub, "un.x", 4, 0);
    assert_int_equal (s_recv_within (sub, 30000, NULL, 0), 4);
    s_close (&sub, &mon);

    void *bad = s_client (fx, ZMQ_SUB, "pub1", fx->broker_pub, ep, &mon);
    zmq_setsockopt (bad, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    zmq_send (xpub, "un.y", 4, 0);
    assert_int_equal (s_recv_within (bad, 200, NULL, 0), -1);
    s_close (&bad, &mon);

    void *dealer = s_client (fx, ZMQ_DEALER, "sub1", fx->broker_pub, rep_ep, &mon);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    zmq_send (dealer, "req", 3, 0);
    assert_int_equal (s_recv_within (replay, 30000, NULL, 0), 3);
    s_close (&dealer, &mon);
    dealer = s_client (fx, ZMQ_DEALER, "pub1", fx->broker_pub, rep_ep, &mon);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    s_close (&dealer, &mon);
    s_zclose (xpub);
    s_zclose (replay);
}

static size_t
s_count_lines (const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    if (util_read_file (path, 1 << 20, &text, &len) != VL_OK)
        return 0;
    for (const char *p = text; (p = strstr (p, needle)); p++)
        n++;
    free (text);
    return n;
}

/* Six refusals from one address: one log line, the rest counted. */
static void
refusals_are_logged_once_per_peer (void **state)
{
    fx_t *fx = *state;
    char logpath[400];
    snprintf (logpath, sizeof logpath, "%s/auth.log", fx->dir);
    assert_int_equal (log_setup ("test_auth", LOG_LVL_INFO, false, logpath), VL_OK);
    fx->auth = s_auth (fx, 0);
    char ep[64];
    void *router = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_PUBLISH, ep);
    /* libzmq does not reconnect after a refusal: six separate attempts */
    auth_stats_t st = { 0 };
    for (int i = 0; i < 6; i++) {
        void *mon;
        void *dealer = s_client (fx, ZMQ_DEALER, "stranger", fx->broker_pub, ep, &mon);
        int ev = s_handshake (mon);
        s_close (&dealer, &mon);
        assert_int_equal (ev, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    }
    auth_stats (fx->auth, &st);
    assert_true (st.denied >= 6);
    assert_true (st.logs_suppressed >= 5);
    s_zclose (router);
    auth_destroy (&fx->auth);
    log_setup ("test_auth", LOG_LVL_INFO, false, NULL);
    assert_int_equal (s_count_lines (logpath, "auth: refused"), 1);
    assert_int_equal (s_count_lines (logpath, "unknown key"), 1);
}

static void
reload_picks_up_new_keys (void **state)
{
    fx_t *fx = *state;
    fx->auth = s_auth (fx, 0);
    char ep[64];
    void *router = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_PUBLISH, ep);
    void *mon;
    void *dealer = s_client (fx, ZMQ_DEALER, "stranger", fx->broker_pub, ep, &mon);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    s_close (&dealer, &mon);
    char from[400], to[400];
    s_path (from, sizeof from, fx->keys, "stranger", "pub");
    s_path (to, sizeof to, fx->pubs, "stranger", "pub");
    assert_int_equal (link (from, to), 0);
    auth_change_t ch;
    assert_int_equal (auth_reload (fx->auth, &ch), VL_OK);
    assert_int_equal (ch.publishers_added, 1);
    assert_int_equal (ch.publishers_removed + ch.subscribers_added + ch.subscribers_removed, 0);
    dealer = s_client (fx, ZMQ_DEALER, "stranger", fx->broker_pub, ep, &mon);
    assert_int_equal (s_handshake (mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    s_close (&dealer, &mon);
    /* a broken key file makes reload fail and keeps the old lists */
    char bad[400];
    s_path (bad, sizeof bad, fx->pubs, "broken", "pub");
    FILE *fp = fopen (bad, "w");
    fputs ("not a key\n", fp);
    fclose (fp);
    assert_int_equal (auth_reload (fx->auth, &ch), VL_EPARSE);
    assert_int_equal (ch.publishers_added, 0);
    auth_stats_t st;
    auth_stats (fx->auth, &st);
    assert_int_equal (st.publishers, 2);
    unlink (bad);
    unlink (to);
    s_zclose (router);
}

/* Receives one whole message on S within 30 s and returns its last frame
 * (with its metadata) in *MSG (caller closes it). After a zmq_poll, libzmq
 * 4.3.4 gives a ROUTER's routing id frame no metadata: the frames after
 * it carry the User-Id. */
static void
s_recv_last (void *s, zmq_msg_t *msg)
{
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&it, 1, 30000), 1);
    zmq_msg_init (msg);
    assert_true (zmq_msg_recv (msg, s, 0) >= 0);
    while (zmq_msg_more (msg)) {
        zmq_msg_close (msg);
        zmq_msg_init (msg);
        zmq_msg_recv (msg, s, 0);
    }
}

/* A connected DEALER with key NAME on EP sends one message; returns
 * whether auth_msg_allowed lets it through on ROUTER (domain DOMAIN). */
static bool
s_send_checked (fx_t *fx, void *dealer, void *router, const char *domain)
{
    assert_int_equal (zmq_send (dealer, "m", 1, 0), 1);
    zmq_msg_t msg;
    s_recv_last (router, &msg);
    bool ok = auth_msg_allowed (fx->auth, &msg, domain);
    zmq_msg_close (&msg);
    return ok;
}

/* pub1 and pub2 publish, sub1 asks replay on open connections; pub1 and
 * sub1 are removed and the lists reloaded: their very next messages are
 * refused (counted, logged once per key and endpoint), pub2's still pass. */
static void
removed_keys_are_refused_on_open_connections (void **state)
{
    fx_t *fx = *state;
    char logpath[400], from[400], to[400];
    snprintf (logpath, sizeof logpath, "%s/auth.log", fx->dir);
    assert_int_equal (log_setup ("test_auth", LOG_LVL_INFO, false, logpath), VL_OK);
    assert_int_equal (curve_keygen (fx->keys, "pub2"), VL_OK);
    s_path (from, sizeof from, fx->keys, "pub2", "pub");
    s_path (to, sizeof to, fx->pubs, "pub2", "pub");
    assert_int_equal (link (from, to), 0);
    fx->auth = s_auth (fx, 0);
    char ep[64], rep_ep[64];
    void *router = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_PUBLISH, ep);
    void *replay = s_server (fx, ZMQ_ROUTER, AUTH_DOMAIN_REPLAY, rep_ep);
    void *mon1, *mon2, *mon3;
    void *pub1 = s_client (fx, ZMQ_DEALER, "pub1", fx->broker_pub, ep, &mon1);
    void *pub2 = s_client (fx, ZMQ_DEALER, "pub2", fx->broker_pub, ep, &mon2);
    void *sub1 = s_client (fx, ZMQ_DEALER, "sub1", fx->broker_pub, rep_ep, &mon3);
    assert_true (s_send_checked (fx, pub1, router, AUTH_DOMAIN_PUBLISH));
    assert_true (s_send_checked (fx, pub2, router, AUTH_DOMAIN_PUBLISH));
    assert_true (s_send_checked (fx, sub1, replay, AUTH_DOMAIN_REPLAY));
    /* nothing removed yet: no lookup at all, even without a User-Id */
    zmq_msg_t bare;
    zmq_msg_init (&bare);
    assert_true (auth_msg_allowed (fx->auth, &bare, AUTH_DOMAIN_PUBLISH));

    s_path (to, sizeof to, fx->pubs, "pub1", "pub");
    assert_int_equal (unlink (to), 0);
    s_path (to, sizeof to, fx->subs, "sub1", "pub");
    assert_int_equal (unlink (to), 0);
    auth_change_t ch;
    assert_int_equal (auth_reload (fx->auth, &ch), VL_OK);
    assert_int_equal (ch.publishers_removed, 1);
    assert_int_equal (ch.subscribers_removed, 1);
    assert_int_equal (ch.publishers_added + ch.subscribers_added, 0);
    for (int i = 0; i < 3; i++) {
        assert_false (s_send_checked (fx, pub1, router, AUTH_DOMAIN_PUBLISH));
        assert_true (s_send_checked (fx, pub2, router, AUTH_DOMAIN_PUBLISH));
        assert_false (s_send_checked (fx, sub1, replay, AUTH_DOMAIN_REPLAY));
    }
    assert_false (auth_msg_allowed (fx->auth, &bare, AUTH_DOMAIN_PUBLISH));
    zmq_msg_close (&bare);
    assert_true (auth_msg_allowed (NULL, &bare, AUTH_DOMAIN_PUBLISH));   /* no CURVE */
    auth_stats_t st;
    auth_stats (fx->auth, &st);
    assert_int_equal (st.revoked, 7);
    assert_int_equal (st.publishers, 1);
    assert_int_equal (st.subscribers, 0);
    s_close (&pub1, &mon1);
    s_close (&pub2, &mon2);
    s_close (&sub1, &mon3);
    s_zclose (router);
    s_zclose (replay);
    auth_destroy (&fx->auth);
    log_setup ("test_auth", LOG_LVL_INFO, false, NULL);
    char z85[41];
    s_public_z85 (fx, "pub1", z85);
    assert_int_equal (s_count_lines (logpath, "no longer allowed"), 3);   /* pub1, sub1, bare */
    assert_int_equal (s_count_lines (logpath, z85), 1);
    assert_int_equal (s_count_lines (logpath, "publishers 1 (+0 -1), subscribers 0 (+0 -1)"), 1);
}

static void
auth_new_error_paths (void **state)
{
    fx_t *fx = *state;
    vl_err_t err;
    auth_opts_t o = { fx->broker_key, fx->pubs, fx->subs, 0 };
    assert_null (auth_new (fx->ctx, NULL, &err));
    assert_int_equal (err, VL_EINVAL);
    auth_opts_t missing = { fx->broker_key, "/nonexistent/veille-pubs", fx->subs, 0 };
    assert_null (auth_new (fx->ctx, &missing, &err));
    assert_int_equal (err, VL_ENOTFOUND);
    auth_opts_t nodir = { fx->broker_key, NULL, fx->subs, 0 };
    assert_null (auth_new (fx->ctx, &nodir, &err));
    assert_int_equal (err, VL_EINVAL);
    chmod (fx->broker_key, 0644);
    assert_null (auth_new (fx->ctx, &o, &err));
    assert_int_equal (err, VL_EDENIED);
    chmod (fx->broker_key, 0600);
    /* a second handler in the same context */
    fx->auth = s_auth (fx, 0);
    assert_null (auth_new (fx->ctx, &o, &err));
    assert_int_equal (err, VL_EINVAL);
    void *s = s_track (zmq_socket (fx->ctx, ZMQ_ROUTER));
    assert_int_equal (auth_apply_server (fx->auth, s, "admin"), VL_EINVAL);
    assert_int_equal (auth_apply_server (fx->auth, s, NULL), VL_EINVAL);
    s_zclose (s);
    assert_int_equal (strlen (auth_public_key (fx->auth)), 40);
    auth_destroy (&fx->auth);
    auth_destroy (&fx->auth);   /* NULL-safe */
}

static void
ipc_endpoints_are_restricted_to_owner_and_group (void **state)
{
    fx_t *fx = *state;
    char ep[400];
    snprintf (ep, sizeof ep, "ipc://%s/pub.sock", fx->dir);
    void *s = s_track (zmq_socket (fx->ctx, ZMQ_ROUTER));
    assert_int_equal (zmq_bind (s, ep), 0);
    assert_int_equal (auth_restrict_ipc (ep), VL_OK);
    struct stat st;
    assert_int_equal (stat (ep + 6, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0660);
    assert_int_equal (auth_restrict_ipc ("tcp://127.0.0.1:1"), VL_OK);
    assert_int_equal (auth_restrict_ipc ("ipc:///nonexistent/x.sock"), VL_EIO);
    s_zclose (s);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (authorised_publisher_gets_through_with_its_key_as_user_id, setup, teardown),
        cmocka_unit_test_setup_teardown (every_unauthorised_publisher_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (subscribe_and_replay_domains_take_subscriber_keys_only, setup, teardown),
        cmocka_unit_test_setup_teardown (refusals_are_logged_once_per_peer, setup, teardown),
        cmocka_unit_test_setup_teardown (reload_picks_up_new_keys, setup, teardown),
        cmocka_unit_test_setup_teardown (removed_keys_are_refused_on_open_connections, setup, teardown),
        cmocka_unit_test_setup_teardown (auth_new_error_paths, setup, teardown),
        cmocka_unit_test_setup_teardown (ipc_endpoints_are_restricted_to_owner_and_group, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
