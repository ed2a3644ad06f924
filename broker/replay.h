/* replay.h: the replay endpoint. Clients (DEALER) send one frame, a
 * msgpack map:
 *   op       "replay" (default) or "count"
 *   after    uint, default 0: events with seq > after ...
 *   upto     uint, default head: ... and seq <= upto
 *   prefixes array of at most 64 str (topic byte prefixes, [a-z0-9._-],
 *            <= 255 bytes); absent or empty = every topic
 *   limit    uint, default 1000, clamped to 1..10000 (op "replay")
 * Strict: the request must be at most WIRE_REPLAY_MAX_REQUEST bytes, a map
 * with only these keys, each at most once, of these types, with no
 * trailing bytes. Otherwise the answer is ["ERR"][{error: text}].
 *
 * Answer to "replay": up to limit messages ["E"][topic][seq 8 B BE][event]
 * in seq order, then ["END"][{head, next, more, count, first, epoch}]:
 * epoch is journal_epoch (a new journal has a new one); next is
 * the `after` of the next request (the last seq sent when more is true,
 * else upto), more says matching events remain in (next, upto], count is
 * the number of "E" messages, first the oldest seq still journaled (a
 * client whose cursor is below first - 1 lost events to retention). One
 * answer also stops early (more = true) past REPLAY_MAX_REPLY_BYTES of
 * events. Answer to "count": just END with count = matching events in
 * (after, upto], next = upto, more = false.
 *
 * Memory: the bytes of answers still queued in libzmq are charged to the
 * client (routing id) until its connection takes them (rbudget.h). An
 * answer stops (END more = true) before an event that would pass the
 * client's budget or the total one; a request whose answer could not hold
 * a single event because the TOTAL is full gets ERR "busy" (the client
 * retries later), and a request from a client with client_answers answers
 * not yet taken is dropped without answer. A client that reads as the
 * protocol says (one request at a time) has nothing queued when it asks.
 *
 * A journal read error (EIO) ends the answer with ERR after the E messages
 * read so far (no END: its next would pass a record that may be intact);
 * a record proven corrupt (read, failed its CRC) is skipped and logged.
 *
 * The broker never blocks on a replay client: the ROUTER socket is
 * ZMQ_ROUTER_MANDATORY with its own send high-water mark REPLAY_SNDHWM
 * (room for one whole answer, independent of the broker's sndhwm, which
 * only bounds live subscribers), and when a send fails (EAGAIN: the client does not read fast enough; EHOSTUNREACH:
 * it is gone) the rest of that answer is abandoned. A client that gets no
 * END within its timeout asks again from its last seq. */
#ifndef VL_REPLAY_H
#define VL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "journal.h"
#include "rbudget.h"
#include "vl_err.h"
#include "wire.h"

#define REPLAY_MAX_REPLY_BYTES (16u << 20)
/* Defaults of broker.replay_client_bytes, replay_total_bytes and
 * replay_client_requests (rbudget_opts_t). */
#define REPLAY_DEFAULT_CLIENT_BYTES    (INT64_C (16) << 20)
#define REPLAY_DEFAULT_TOTAL_BYTES     (INT64_C (256) << 20)
#define REPLAY_DEFAULT_CLIENT_REQUESTS 4
#define REPLAY_DEFAULT_CONNECTIONS     1024
/* Receive side of the replay ROUTER: a request frame past REPLAY_MAXMSGSIZE
 * makes libzmq close the connection (no answer possible); up to it, a
 * request past WIRE_REPLAY_MAX_REQUEST gets ERR "request too large".
 * REPLAY_RCVHWM requests wait per connection. */
#define REPLAY_MAXMSGSIZE      (2 * WIRE_REPLAY_MAX_REQUEST)
#define REPLAY_RCVHWM          2
/* Send HWM (messages) of the replay ROUTER, per client: one full answer
 * (WIRE_REPLAY_MAX_LIMIT "E" + END) with room to spare. */
#define REPLAY_SNDHWM          (2 * WIRE_REPLAY_MAX_LIMIT)

typedef enum { REPLAY_OP_REPLAY, REPLAY_OP_COUNT } replay_op_t;

typedef struct {
    const char *s;     /* points into the request; not NUL-terminated */
    size_t      len;
} replay_prefix_t;

typedef struct {
    replay_op_t     op;
    uint64_t        after;
    uint64_t        upto;       /* UINT64_MAX when absent (= head) */
    size_t          limit;
    size_t          nprefixes;
    replay_prefix_t prefixes[WIRE_REPLAY_MAX_PREFIXES];
} replay_req_t;

/* Parses and validates request DATA (LEN bytes) into *OUT, whose prefixes
 * point into DATA. On error returns VL_EPARSE or VL_ETOOBIG and sets *WHY
 * to a static message for the ERR answer. */
vl_err_t replay_parse (const void *data, size_t len, replay_req_t *out,
                       const char **why);

typedef struct replay replay_t;

/* Creates the server side over JOURNAL (borrowed; must outlive it) with
 * the answer budget BUDGET (copied). Caller owns the result; NULL on OOM. */
replay_t *replay_new (journal_t *journal, const rbudget_opts_t *budget);

/* Destroys *self_p and sets it to NULL; NULL-safe. Only after the ROUTER
 * it served is closed and its context terminated (libzmq releases queued
 * answers into the budget until then). */
void replay_destroy (replay_t **self_p);

/* Decides whether a request may be answered, from its last frame MSG
 * (its metadata: "User-Id"...; an empty message when the request had no
 * frame after the routing id); ARG is replay_set_gate's. */
typedef bool (*replay_gate_fn) (void *arg, const zmq_msg_t *msg);

/* Makes replay_serve_one drop, unanswered and uncounted, every request
 * GATE refuses (the broker: keys revoked since they connected). NULL GATE
 * answers everyone (the default). ARG is borrowed. */
void replay_set_gate (replay_t *self, replay_gate_fn gate, void *arg);

/* Reads one request from ROUTER without waiting and answers it. Returns
 * VL_EAGAIN when there was nothing to read, VL_OK otherwise (a bad request
 * is answered with ERR; an abandoned answer is logged at debug level; a
 * request the gate refuses gets no answer). */
vl_err_t replay_serve_one (replay_t *self, void *router);

typedef struct {
    uint64_t requests;      /* read from the socket */
    uint64_t abandoned;     /* answers cut by a full queue or a gone client */
    uint64_t dropped;       /* requests not answered: client_answers reached */
    uint64_t busy;          /* ERR busy: the total budget was full */
    uint64_t read_errors;   /* ERR after a journal read error */
    size_t   queued_bytes;  /* answer bytes charged now (all clients) */
    size_t   clients;       /* clients with an entry in the budget */
    size_t   connections;   /* filled by the broker (connlimit.h): live ... */
    uint64_t refused;       /* ... and shut down past replay_connections */
} replay_stats_t;

/* Requests handled so far. */
uint64_t replay_requests (const replay_t *self);

/* Copies the counters and the budget figures. */
void replay_stats (const replay_t *self, replay_stats_t *out);

#endif
