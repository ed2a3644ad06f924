/* auth.h: CURVE security of the broker's endpoints, with its own ZAP
 * handler (RFC 27) and separate allow-lists for publishers and subscribers.
 *
 * When the broker has a secret key configured, every endpoint is a CURVE
 * server, and each handshake is checked by the ZAP handler that auth_new()
 * binds on inproc://zeromq.zap.01 in the broker's ZeroMQ context and serves
 * in a thread of its own. Each endpoint carries a ZAP domain:
 *   "publish"   (ROUTER)  client key must be in publishers_dir
 *   "subscribe" (XPUB)    client key must be in subscribers_dir
 *   "replay"    (ROUTER)  client key must be in subscribers_dir
 * so a subscriber key cannot publish and a publisher key cannot read.
 * An allow-list dir holds one NAME.pub file per client (`veille keygen`
 * writes them). The ZAP user id (ZeroMQ "User-Id" metadata of every
 * message) is the client's public key in Z85 (40 characters), so that a
 * message can be checked against the allow-list of the moment.
 * Anything other than CURVE reaching the handler is refused.
 *
 * Revocation: auth_reload() (SIGHUP) refuses new handshakes of a removed
 * key at once. Connections already made are the caller's part: on the
 * ROUTER endpoints it checks every message with auth_msg_allowed() and
 * drops those of removed keys; on the XPUB endpoint (no per-peer send) it
 * re-binds the endpoint when auth_reload reports removed subscriber keys,
 * so every subscriber reconnects through ZAP.
 *
 * Refusals are logged once per peer address and reason, then at most once
 * per log interval with the number of refusals suppressed in between, and
 * at most AUTH_LOG_BURST lines per interval in all (a flood of addresses
 * cannot flood the log). A plaintext client on a CURVE endpoint never
 * reaches ZAP (the greeting fails first): those handshake failures are seen
 * through a socket monitor on each endpoint and logged per endpoint, with
 * the same rate limit.
 *
 * libzmq 4.3 without the DRAFT API has no ZMQ_ZAP_ENFORCE_DOMAIN, and a
 * CURVE server with no ZAP handler lets every key in. auth_apply_server()
 * sets the option when the library knows it, and in any case the handler is
 * bound before any endpoint is configured and stays bound until
 * auth_destroy(), which must come after the endpoints are closed. */
#ifndef VL_AUTH_H
#define VL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "vl_err.h"

#define AUTH_DOMAIN_PUBLISH   "publish"
#define AUTH_DOMAIN_SUBSCRIBE "subscribe"
#define AUTH_DOMAIN_REPLAY    "replay"

#define AUTH_LOG_INTERVAL_MS  60000   /* default per-peer refusal log period */
#define AUTH_LOG_BURST        32      /* most refusal lines per interval */
#define AUTH_MAX_KEYS         100000  /* most keys in one allow-list */

typedef struct {
    const char *secret_key_file;   /* the broker's Z85 secret key (0600) */
    const char *publishers_dir;    /* NAME.pub files allowed to publish */
    const char *subscribers_dir;   /* NAME.pub files allowed to subscribe/replay */
    int         log_interval_ms;   /* 0 = AUTH_LOG_INTERVAL_MS */
} auth_opts_t;

typedef struct {
    uint64_t allowed;         /* handshakes accepted */
    uint64_t denied;          /* ZAP refusals (unknown key, wrong domain...) */
    uint64_t failed;          /* handshakes that failed before ZAP (plaintext...) */
    uint64_t logs_suppressed; /* refusal lines not written (rate limit) */
    uint64_t revoked;         /* messages dropped: key removed since its handshake */
    size_t   publishers;      /* keys in the publishers allow-list */
    size_t   subscribers;     /* keys in the subscribers allow-list */
} auth_stats_t;

typedef struct auth auth_t;

/* Reads the broker's secret key and both allow-lists, binds the ZAP
 * handler in ZMQ_CTX (borrowed; must outlive the result) and starts its
 * thread. Returns NULL and sets *ERR on failure: VL_EDENIED (secret key
 * file open to others), VL_ENOTFOUND / VL_EIO / VL_EPARSE (key files or
 * dirs), VL_EINVAL (a ZAP handler is already bound in ZMQ_CTX), VL_ENOMEM.
 * A missing allow-list dir is an error; an empty one allows nobody.
 * Caller owns the result. */
auth_t *auth_new (void *zmq_ctx, const auth_opts_t *opts, vl_err_t *err);

/* Stops the handler thread, unbinds it and destroys *self_p; sets it to
 * NULL; NULL-safe. Close the endpoints first. */
void auth_destroy (auth_t **self_p);

/* Makes SOCKET (not yet bound) a CURVE server with the broker's key, ZAP
 * domain DOMAIN (one of AUTH_DOMAIN_*) and ZMQ_ZAP_ENFORCE_DOMAIN when
 * available. Call it from the thread that owns SOCKET, before zmq_bind.
 * VL_EINVAL for an unknown domain or a socket option libzmq refuses
 * (logged). Failed handshakes are seen by the socket's one monitor (libzmq
 * keeps a single monitor per socket: the broker's connlimit), which reports
 * them with auth_handshake_failed. */
vl_err_t auth_apply_server (auth_t *self, void *socket, const char *domain);

/* Logs (rate-limited, like every refusal) and counts a failed handshake
 * on an endpoint of DOMAIN: EVENT is ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
 * or _NO_DETAIL with its VALUE, ADDR the peer's address (may be NULL).
 * Thread-safe. */
void auth_handshake_failed (auth_t *self, const char *domain, uint16_t event, uint32_t value,
                            const char *addr);

/* What a reload changed: keys added to / removed from each list. */
typedef struct {
    size_t publishers_added, publishers_removed;
    size_t subscribers_added, subscribers_removed;
} auth_change_t;

/* Re-reads both allow-list dirs (SIGHUP) and logs what changed; fills
 * *CHANGE (NULL = not wanted). On error the old lists stay, *CHANGE is all
 * zero and the error is returned (as auth_new). Keys removed are refused
 * at once by new handshakes and by auth_msg_allowed(); connections already
 * made on an XPUB endpoint are the caller's (re-bind it when
 * subscribers_removed > 0). */
vl_err_t auth_reload (auth_t *self, auth_change_t *change);

/* Whether MSG (any frame received on an endpoint of DOMAIN, as set by
 * auth_apply_server) comes from a key that is still in DOMAIN's
 * allow-list, judged by its "User-Id" property. True for a NULL SELF
 * (no CURVE). Costs nothing until a reload has removed a key from that
 * list; after that, a lookup per call. A refusal is counted (revoked) and
 * logged once per key and domain per log interval (rate-limited as the
 * handshake refusals). Callable from any thread. */
bool auth_msg_allowed (auth_t *self, const zmq_msg_t *msg, const char *domain);

/* The broker's public key, Z85 (40 characters); owned by SELF. */
const char *auth_public_key (const auth_t *self);

/* Fills *OUT with the current counters. */
void auth_stats (auth_t *self, auth_stats_t *out);

/* For an ipc:// ENDPOINT (as bound; other transports are left alone),
 * restricts the socket file to owner and group (0660). Call after
 * zmq_bind. VL_EIO if chmod fails (logged). */
vl_err_t auth_restrict_ipc (const char *endpoint);

#endif
