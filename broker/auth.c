/* auth.c: the broker's CURVE setup and ZAP handler (see auth.h). */
#include "auth.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "util.h"

#define AUTH_ZAP_ENDPOINT   "inproc://zeromq.zap.01"
#define AUTH_PEERS          256      /* rate-limit table entries */
#define AUTH_NAME_MAX       64       /* key file stem, for the log */
#define AUTH_FRAME_MAX      1024     /* a ZAP request frame */
#define AUTH_ZAP_FRAMES     7        /* frames of a CURVE ZAP request */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93    /* DRAFT in libzmq 4.3 */
#endif

typedef struct {
    unsigned char key[32];
    char          name[AUTH_NAME_MAX];
} auth_key_t;

typedef struct {
    auth_key_t *v;
    size_t      n;
} auth_list_t;

typedef struct {
    char     peer[128];     /* "address|domain" */
    int64_t  last_ms;       /* when it was last logged */
    uint64_t suppressed;    /* refusals since, not logged */
    bool     used;
} auth_peer_t;

struct auth {
    void           *ctx;
    void           *zap;          /* REP on inproc://zeromq.zap.01 (thread) */
    void           *pipe_front;   /* PAIR, caller side */
    void           *pipe_back;    /* PAIR, thread side */
    char            pipe_ep[64];
    pthread_t       thread;
    bool            running;
    pthread_mutex_t lock;         /* lists, stats, refusal log */
    auth_list_t     pubs, subs;
    atomic_bool     pubs_shrunk;  /* a reload removed a publisher key */
    atomic_bool     subs_shrunk;  /* a reload removed a subscriber key */
    bool            lists_loaded;   /* the first auth_reload is done */
    char           *pub_dir, *sub_dir;
    char            secret[41], public_key[41];
    int             log_interval_ms;
    auth_stats_t    stats;
    /* under lock */
    auth_peer_t     peers[AUTH_PEERS];
    int64_t         window_ms;
    int             window_lines;
};

/* ---- allow-lists ------------------------------------------------------ */

static int
s_key_cmp (const void *a, const void *b)
{
    return memcmp (((const auth_key_t *) a)->key, ((const auth_key_t *) b)->key, 32);
}

static void
s_list_free (auth_list_t *list)
{
    free (list->v);
    list->v = NULL;
    list->n = 0;
}

/* Reads DIR/FILE (a NAME.pub) into *KEY. */
static vl_err_t
s_load_key (const char *dir, const char *file, auth_key_t *key)
{
    char path[4096];
    int n = snprintf (path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t) n >= sizeof path)
        return VL_EINVAL;
    char z85[41];
    vl_err_t rc = curve_read_public (path, z85);
    if (rc != VL_OK)
        return rc;
    if (!zmq_z85_decode (key->key, z85)) {
        log_error ("auth: %s is not a Z85 CURVE public key", path);
        return VL_EPARSE;
    }
    size_t stem = strlen (file) - 4;
    if (stem >= sizeof key->name)
        stem = util_utf8_cut (file, stem, sizeof key->name - 1);
    memcpy (key->name, file, stem);
    key->name[stem] = '\0';
    return VL_OK;
}

static bool
s_is_pub_file (const char *dir, const char *name)
{
    size_t len = strlen (name);
    if (name[0] == '.' || len <= 4 || strcmp (name + len - 4, ".pub") != 0)
        return false;
    char path[4096];
    struct stat st;
    int n = snprintf (path, sizeof path, "%s/%s", dir, name);
    return n > 0 && (size_t) n < sizeof path && stat (path, &st) == 0
        && S_ISREG (st.st_mode);
}

/* Loads every DIR/NAME.pub into a sorted list *OUT (caller frees with
 * s_list_free). */
static vl_err_t
s_list_load (const char *dir, auth_list_t *out)
{
    out->v = NULL;
    out->n = 0;
    DIR *d = opendir (dir);
    if (!d) {
        log_error ("auth: cannot open allow-list dir %s: %s", dir, strerror (errno));
        return errno == ENOENT ? VL_ENOTFOUND : VL_EIO;
    }
    size_t cap = 0;
    vl_err_t rc = VL_OK;
    struct dirent *de;
    while (rc == VL_OK && (de = readdir (d))) {
        if (!s_is_pub_file (dir, de->d_name))
            continue;
        if (out->n == AUTH_MAX_KEYS) {
            log_error ("auth: %s holds more than %d keys", dir, AUTH_MAX_KEYS);
            rc = VL_ETOOBIG;
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            auth_key_t *v = realloc (out->v, ncap * sizeof *v);
            if (!v) {
                rc = VL_ENOMEM;
                break;
            }
            out->v = v;
            cap = ncap;
        }
        rc = s_load_key (dir, de->d_name, &out->v[out->n]);
        if (rc == VL_OK)
            out->n++;
    }
    closedir (d);
    if (rc != VL_OK)
        s_list_free (out);
    else if (out->n > 1)
        qsort (out->v, out->n, sizeof *out->v, s_key_cmp);
    return rc;
}

static const auth_key_t *
s_list_find (const auth_list_t *list, const unsigned char key[32])
{
    auth_key_t probe;
    memcpy (probe.key, key, 32);
    return list->n ? bsearch (&probe, list->v, list->n, sizeof *list->v, s_key_cmp) : NULL;
}

/* ---- rate-limited refusal log (under lock) ---------------------------- */

static auth_peer_t *
s_peer_slot (auth_t *self, const char *peer, bool *found)
{
    auth_peer_t *oldest = &self->peers[0];
    for (size_t i = 0; i < AUTH_PEERS; i++) {
        auth_peer_t *p = &self->peers[i];
        if (p->used && strcmp (p->peer, peer) == 0) {
            *found = true;
            return p;
        }
        if (!p->used || (oldest->used && p->last_ms < oldest->last_ms))
            oldest = p;
    }
    *found = false;
    return oldest;
}

/* Logs one refusal from PEER (address) on DOMAIN unless that peer was
 * logged less than an interval ago or the burst allowance is spent. Takes
 * the lock (the ZAP thread and auth_msg_allowed callers share the table). */
static void
s_refusal (auth_t *self, const char *peer, const char *domain, const char *why,
           const char *user)
{
    char keyname[128];
    snprintf (keyname, sizeof keyname, "%s|%s", peer, domain);
    int64_t now = util_mono_ms ();
    pthread_mutex_lock (&self->lock);
    bool found;
    auth_peer_t *p = s_peer_slot (self, keyname, &found);
    bool quiet = found && now - p->last_ms < self->log_interval_ms;
    if (!quiet && now - self->window_ms >= self->log_interval_ms) {
        self->window_ms = now;
        self->window_lines = 0;
    }
    if (!quiet && self->window_lines >= AUTH_LOG_BURST)
        quiet = true;
    if (quiet) {
        if (found)
            p->suppressed++;
        self->stats.logs_suppressed++;
        pthread_mutex_unlock (&self->lock);
        return;
    }
    uint64_t before = found ? p->suppressed : 0;
    self->window_lines++;
    if (!found)
        snprintf (p->peer, sizeof p->peer, "%s", keyname);
    p->used = true;
    p->last_ms = now;
    p->suppressed = 0;
    if (before)
        log_warn ("auth: refused %s on %s: %s%s%s (%llu more refused since the last line)",
                  peer, domain, why, user ? " " : "", user ? user : "",
                  (unsigned long long) before);
    else
        log_warn ("auth: refused %s on %s: %s%s%s (further refusals from it logged at "
                  "most every %d s)", peer, domain, why, user ? " " : "", user ? user : "",
                  self->log_interval_ms / 1000);
    pthread_mutex_unlock (&self->lock);
}

/* ---- ZAP -------------------------------------------------------------- */

/* Receives the rest of a multipart message into FRAMES (each capped at
 * AUTH_FRAME_MAX bytes and NUL-terminated); returns the number of frames,
 * or -1 on error. Extra frames are read and dropped. */
static int
s_recv_frames (void *socket, char frames[][AUTH_FRAME_MAX + 1], size_t lens[], int max)
{
    int n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, socket, 0) < 0) {
            zmq_msg_close (&msg);
            return -1;
        }
        if (n < max) {
            size_t len = zmq_msg_size (&msg);
            if (len > AUTH_FRAME_MAX)
                len = AUTH_FRAME_MAX;
            memcpy (frames[n], zmq_msg_data (&msg), len);
            frames[n][len] = '\0';
            lens[n] = len;
        }
        n++;
        more = zmq_msg_more (&msg);
        zmq_msg_close (&msg);
    }
    return n;
}

static void
s_zap_reply (void *zap, const char *reqid, size_t reqid_len, const char *code,
             const char *text, const char *user)
{
    zmq_send (zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (zap, reqid, reqid_len, ZMQ_SNDMORE);
    zmq_send (zap, code, strlen (code), ZMQ_SNDMORE);
    zmq_send (zap, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (zap, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (zap, "", 0, 0);
}

/* Decides one request. Returns NULL when allowed (NAME gets the key
 * file's stem) or the reason of the refusal. */
static const char *
s_zap_decide (auth_t *self, const char *domain, const char *mechanism,
              const char *cred, size_t cred_len, int nframes, char name[AUTH_NAME_MAX])
{
    if (strcmp (mechanism, "CURVE") != 0)
        return "mechanism is not CURVE";
    if (nframes != AUTH_ZAP_FRAMES || cred_len != 32)
        return "malformed CURVE credentials";
    const auth_list_t *list;
    if (strcmp (domain, AUTH_DOMAIN_PUBLISH) == 0)
        list = &self->pubs;
    else if (strcmp (domain, AUTH_DOMAIN_SUBSCRIBE) == 0
             || strcmp (domain, AUTH_DOMAIN_REPLAY) == 0)
        list = &self->subs;
    else
        return "unknown ZAP domain";
    pthread_mutex_lock (&self->lock);
    const auth_key_t *k = s_list_find (list, (const unsigned char *) cred);
    if (k)
        snprintf (name, AUTH_NAME_MAX, "%s", k->name);
    pthread_mutex_unlock (&self->lock);
    if (k)
        return NULL;
    bool other = false;
    if (list == &self->pubs) {
        pthread_mutex_lock (&self->lock);
        other = s_list_find (&self->subs, (const unsigned char *) cred) != NULL;
        pthread_mutex_unlock (&self->lock);
        return other ? "subscriber key may not publish" : "unknown key";
    }
    pthread_mutex_lock (&self->lock);
    other = s_list_find (&self->pubs, (const unsigned char *) cred) != NULL;
    pthread_mutex_unlock (&self->lock);
    return other ? "publisher key may not subscribe" : "unknown key";
}

/* Serves one ZAP request from the handler socket. */
static void
s_zap_serve (auth_t *self)
{
    char (*f)[AUTH_FRAME_MAX + 1] = calloc (AUTH_ZAP_FRAMES + 1, AUTH_FRAME_MAX + 1);
    size_t lens[AUTH_ZAP_FRAMES + 1] = { 0 };
    if (!f)
        return;
    int n = s_recv_frames (self->zap, f, lens, AUTH_ZAP_FRAMES + 1);
    if (n < 6) {
        /* Not even the header: answer so the REP socket stays in step. */
        if (n >= 0)
            s_zap_reply (self->zap, n > 1 ? f[1] : "", n > 1 ? lens[1] : 0,
                         "500", "malformed ZAP request", "");
        free (f);
        return;
    }
    /* 0 version, 1 request id, 2 domain, 3 address, 4 identity, 5 mechanism,
     * 6 credentials */
    char name[AUTH_NAME_MAX] = "";
    const char *why = strcmp (f[0], "1.0") != 0 ? "bad ZAP version"
        : s_zap_decide (self, f[2], f[5], f[6], lens[6], n, name);
    char z85[41] = "";   /* the user id when allowed */
    if (lens[6] == 32 && n == AUTH_ZAP_FRAMES)
        zmq_z85_encode (z85, (const uint8_t *) f[6], 32);
    /* counters and log first: once the reply is out the client knows */
    pthread_mutex_lock (&self->lock);
    if (why)
        self->stats.denied++;
    else
        self->stats.allowed++;
    pthread_mutex_unlock (&self->lock);
    if (why) {
        char keytext[64];
        snprintf (keytext, sizeof keytext, "(key %s)", z85[0] ? z85 : "none");
        s_refusal (self, f[3][0] ? f[3] : "(unknown address)", f[2], why, keytext);
        s_zap_reply (self->zap, f[1], lens[1], "400", why, "");
    }
    else {
        log_debug ("auth: %s on %s allowed as %s (key %s)", f[3], f[2], name, z85);
        s_zap_reply (self->zap, f[1], lens[1], "200", "OK", z85);
    }
    free (f);
}

/* ---- failed handshakes ------------------------------------------------ */

void
auth_handshake_failed (auth_t *self, const char *domain, uint16_t event, uint32_t value,
                       const char *addr)
{
    char why[96];
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        snprintf (why, sizeof why, "not a CURVE client (plaintext?)");
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        snprintf (why, sizeof why, "CURVE handshake failed (protocol error 0x%x; "
                  "wrong server key?)", (unsigned) value);
    else
        snprintf (why, sizeof why, "handshake failed (%s)", zmq_strerror ((int) value));
    pthread_mutex_lock (&self->lock);
    self->stats.failed++;
    pthread_mutex_unlock (&self->lock);
    char where[160];
    snprintf (where, sizeof where, "a peer of %.140s", addr && *addr ? addr : "(unknown address)");
    s_refusal (self, where, domain, why, NULL);
}

/* Handles a command from auth_destroy. Returns false on TERM. */
static bool
s_command (auth_t *self)
{
    char f[1][AUTH_FRAME_MAX + 1];
    size_t lens[1] = { 0 };
    int n = s_recv_frames (self->pipe_back, f, lens, 1);
    return !(n >= 1 && strcmp (f[0], "TERM") == 0);
}

static void *
s_thread (void *arg)
{
    auth_t *self = arg;
    for (;;) {
        zmq_pollitem_t items[2] = {
            { self->pipe_back, 0, ZMQ_POLLIN, 0 },
            { self->zap, 0, ZMQ_POLLIN, 0 },
        };
        int rc = zmq_poll (items, 2, -1);
        if (rc < 0) {
            if (zmq_errno () == EINTR)
                continue;
            log_error ("auth: zmq_poll failed: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        if ((items[1].revents & ZMQ_POLLIN))
            s_zap_serve (self);
        if ((items[0].revents & ZMQ_POLLIN) && !s_command (self))
            break;
    }
    zmq_close (self->zap);
    zmq_close (self->pipe_back);
    self->zap = self->pipe_back = NULL;
    return NULL;
}

/* ---- public ----------------------------------------------------------- */

static void *
s_socket (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0;
    if (s)
        zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    return s;
}

/* Loads the keys of OPTS into SELF. */
static vl_err_t
s_load (auth_t *self, const auth_opts_t *opts)
{
    if (!opts->secret_key_file || !opts->publishers_dir || !opts->subscribers_dir) {
        log_error ("auth: secret key file, publishers dir and subscribers dir are all needed");
        return VL_EINVAL;
    }
    vl_err_t rc = curve_read_secret (opts->secret_key_file, self->secret);
    if (rc == VL_OK && zmq_curve_public (self->public_key, self->secret) != 0) {
        log_error ("auth: %s: cannot derive the public key", opts->secret_key_file);
        rc = VL_EPARSE;
    }
    self->pub_dir = util_strdup (opts->publishers_dir);
    self->sub_dir = util_strdup (opts->subscribers_dir);
    if (rc == VL_OK && (!self->pub_dir || !self->sub_dir))
        rc = VL_ENOMEM;
    if (rc == VL_OK)
        rc = auth_reload (self, NULL);
    return rc;
}

/* Binds the ZAP handler and the command pipe, starts the thread. */
static vl_err_t
s_start (auth_t *self)
{
    self->zap = s_socket (self->ctx, ZMQ_REP);
    if (!self->zap || zmq_bind (self->zap, AUTH_ZAP_ENDPOINT) != 0) {
        log_error ("auth: cannot bind the ZAP handler: %s", zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    snprintf (self->pipe_ep, sizeof self->pipe_ep, "inproc://veille-auth-%p", (void *) self);
    self->pipe_back = s_socket (self->ctx, ZMQ_PAIR);
    self->pipe_front = s_socket (self->ctx, ZMQ_PAIR);
    if (!self->pipe_back || !self->pipe_front || zmq_bind (self->pipe_back, self->pipe_ep) != 0
        || zmq_connect (self->pipe_front, self->pipe_ep) != 0) {
        log_error ("auth: cannot make the command pipe: %s", zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0)
        return VL_ENOMEM;
    self->running = true;
    return VL_OK;
}

auth_t *
auth_new (void *zmq_ctx, const auth_opts_t *opts, vl_err_t *err)
{
    vl_err_t dummy;
    if (!err)
        err = &dummy;
    if (!zmq_ctx || !opts) {
        *err = VL_EINVAL;
        return NULL;
    }
    auth_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    self->ctx = zmq_ctx;
    pthread_mutex_init (&self->lock, NULL);
    self->log_interval_ms = opts->log_interval_ms > 0 ? opts->log_interval_ms
                                                      : AUTH_LOG_INTERVAL_MS;
    self->window_ms = util_mono_ms () - self->log_interval_ms;
    *err = s_load (self, opts);
    if (*err == VL_OK)
        *err = s_start (self);
    if (*err != VL_OK) {
        auth_destroy (&self);
        return NULL;
    }
    log_info ("auth: CURVE on; broker public key %s; %zu publisher and %zu subscriber "
              "keys allowed", self->public_key, self->pubs.n, self->subs.n);
    return self;
}

void
auth_destroy (auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    auth_t *self = *self_p;
    if (self->running) {
        zmq_send (self->pipe_front, "TERM", 4, 0);
        pthread_join (self->thread, NULL);
    }
    else {
        if (self->zap)
            zmq_close (self->zap);
        if (self->pipe_back)
            zmq_close (self->pipe_back);
    }
    if (self->pipe_front)
        zmq_close (self->pipe_front);
    s_list_free (&self->pubs);
    s_list_free (&self->subs);
    free (self->pub_dir);
    free (self->sub_dir);
    memset (self->secret, 0, sizeof self->secret);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

vl_err_t
auth_apply_server (auth_t *self, void *socket, const char *domain)
{
    if (!self || !socket || !domain
        || (strcmp (domain, AUTH_DOMAIN_PUBLISH) != 0
            && strcmp (domain, AUTH_DOMAIN_SUBSCRIBE) != 0
            && strcmp (domain, AUTH_DOMAIN_REPLAY) != 0))
        return VL_EINVAL;
    int one = 1;
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, self->secret, 41) != 0
        || zmq_setsockopt (socket, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) != 0) {
        log_error ("auth: cannot make a CURVE server socket: %s", zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    if (zmq_setsockopt (socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        log_debug ("auth: ZMQ_ZAP_ENFORCE_DOMAIN unavailable (libzmq without DRAFT); "
                   "the ZAP handler stays bound for the broker's lifetime");
    return VL_OK;
}

/* Number of keys of A that are not in B (both sorted). */
static size_t
s_list_missing (const auth_list_t *a, const auth_list_t *b)
{
    size_t i = 0, j = 0, missing = 0;
    while (i < a->n) {
        int c = j < b->n ? memcmp (a->v[i].key, b->v[j].key, 32) : -1;
        if (c < 0) {
            missing++;
            i++;
        }
        else {
            j++;
            i += c == 0;
        }
    }
    return missing;
}

vl_err_t
auth_reload (auth_t *self, auth_change_t *change)
{
    auth_change_t dummy;
    if (!change)
        change = &dummy;
    memset (change, 0, sizeof *change);
    if (!self)
        return VL_EINVAL;
    auth_list_t pubs, subs;
    vl_err_t rc = s_list_load (self->pub_dir, &pubs);
    if (rc != VL_OK)
        return rc;
    rc = s_list_load (self->sub_dir, &subs);
    if (rc != VL_OK) {
        s_list_free (&pubs);
        return rc;
    }
    pthread_mutex_lock (&self->lock);
    bool first = !self->lists_loaded;
    change->publishers_added = s_list_missing (&pubs, &self->pubs);
    change->publishers_removed = s_list_missing (&self->pubs, &pubs);
    change->subscribers_added = s_list_missing (&subs, &self->subs);
    change->subscribers_removed = s_list_missing (&self->subs, &subs);
    s_list_free (&self->pubs);
    s_list_free (&self->subs);
    self->pubs = pubs;
    self->subs = subs;
    self->lists_loaded = true;
    /* before the unlock: a message checked after it sees the new lists */
    if (change->publishers_removed)
        atomic_store (&self->pubs_shrunk, true);
    if (change->subscribers_removed)
        atomic_store (&self->subs_shrunk, true);
    self->stats.publishers = pubs.n;
    self->stats.subscribers = subs.n;
    pthread_mutex_unlock (&self->lock);
    if (!first)
        log_info ("auth: allow-lists re-read: publishers %zu (+%zu -%zu), subscribers %zu "
                  "(+%zu -%zu)", pubs.n, change->publishers_added, change->publishers_removed,
                  subs.n, change->subscribers_added, change->subscribers_removed);
    if (pubs.n == 0)
        log_warn ("auth: no publisher key in %s: nobody can publish", self->pub_dir);
    if (subs.n == 0)
        log_warn ("auth: no subscriber key in %s: nobody can subscribe", self->sub_dir);
    return VL_OK;
}

bool
auth_msg_allowed (auth_t *self, const zmq_msg_t *msg, const char *domain)
{
    if (!self)
        return true;
    bool publish = strcmp (domain, AUTH_DOMAIN_PUBLISH) == 0;
    if (!atomic_load (publish ? &self->pubs_shrunk : &self->subs_shrunk))
        return true;   /* every key that got in is still listed */
    const char *user = zmq_msg_gets (msg, "User-Id");
    unsigned char key[32];
    bool ok = user && strlen (user) == 40 && zmq_z85_decode (key, user);
    pthread_mutex_lock (&self->lock);
    ok = ok && s_list_find (publish ? &self->pubs : &self->subs, key) != NULL;
    if (!ok)
        self->stats.revoked++;
    pthread_mutex_unlock (&self->lock);
    if (ok)
        return true;
    const char *addr = zmq_msg_gets (msg, "Peer-Address");
    char who[128];
    snprintf (who, sizeof who, "key %.40s (%.64s)", user ? user : "(none)",
              addr && addr[0] ? addr : "unknown address");
    s_refusal (self, who, domain, "key no longer allowed (removed at a reload): "
               "message dropped", NULL);
    return false;
}

const char *
auth_public_key (const auth_t *self)
{
    return self ? self->public_key : NULL;
}

void
auth_stats (auth_t *self, auth_stats_t *out)
{
    memset (out, 0, sizeof *out);
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    *out = self->stats;
    pthread_mutex_unlock (&self->lock);
}

vl_err_t
auth_restrict_ipc (const char *endpoint)
{
    if (!endpoint || strncmp (endpoint, "ipc://", 6) != 0)
        return VL_OK;
    const char *path = endpoint + 6;
    if (path[0] == '@')   /* abstract namespace: no file */
        return VL_OK;
    if (chmod (path, 0660) != 0) {
        log_error ("auth: cannot restrict %s to 0660: %s", path, strerror (errno));
        return VL_EIO;
    }
    return VL_OK;
}
