/* wire.h: frame layouts and constants of the veille protocol.
 * docs/protocol.md is the normative description; keep the two in step.
 *
 * Publish   (publisher DEALER -> broker ROUTER)
 *   request: [token 8 B][topic][event msgpack]
 *   reply:   [token 8 B][status 1 B][seq 8 B big-endian][reason (optional)]
 *   or an ack batch: ONE frame of n >= 1 records of WIRE_ACK_RECORD_LEN bytes
 *            [token 8 B][status 1 B][seq 8 B big-endian] (STORED/DUPLICATE)
 * Fan-out   (broker XPUB -> SUB)
 *   [topic][seq 8 B big-endian][event msgpack]
 *   _sys.heartbeat / _sys.stats: seq frame = broker head, body = msgpack map
 *     (both carry `epoch`: random 64-bit id of the journal; a new epoch
 *     means a new journal whose seqs restarted: clients resync from 0)
 * Replay    (client DEALER -> broker ROUTER)
 *   request: [msgpack map {op, after, upto, prefixes, limit}]
 *   reply:   zero or more [ "E" ][topic][seq 8 B][event], then
 *            [ "END" ][msgpack map {head, next, more, count, first, epoch}] or
 *            [ "ERR" ][msgpack map {error}]
 */
#ifndef VL_WIRE_H
#define VL_WIRE_H

#define WIRE_TOKEN_LEN        8
#define WIRE_SEQ_LEN          8

/* One record of an ack batch: token, status, seq. */
#define WIRE_ACK_RECORD_LEN   (WIRE_TOKEN_LEN + 1 + WIRE_SEQ_LEN)

/* Publish reply status byte. */
#define WIRE_ACK_STORED       0   /* journaled; seq assigned */
#define WIRE_ACK_DUPLICATE    1   /* id already stored; seq = original */
#define WIRE_ACK_REJECTED     2   /* invalid; never resend */
#define WIRE_ACK_UNAVAILABLE  3   /* cannot store now (disk full...); resend later */

#define WIRE_TOPIC_HEARTBEAT  "_sys.heartbeat"
#define WIRE_TOPIC_STATS      "_sys.stats"
#define WIRE_TOPIC_SYS        "_sys."
#define WIRE_TOPIC_SOURCE     "_sys.source."   /* watcher error/recovery events */

#define WIRE_REPLAY_EVENT     "E"
#define WIRE_REPLAY_END       "END"
#define WIRE_REPLAY_ERR       "ERR"
#define WIRE_REPLAY_OP_REPLAY "replay"
#define WIRE_REPLAY_OP_COUNT  "count"
#define WIRE_REPLAY_DEFAULT_LIMIT 1000
#define WIRE_REPLAY_MAX_LIMIT     10000
#define WIRE_REPLAY_MAX_PREFIXES  64
#define WIRE_REPLAY_MAX_REQUEST   (64 * 1024)

/* Default endpoints: unix sockets in the runtime directory of the
 * packaged services (/run/veille, mode 0750, owner veille:veille: only
 * the service group can enter it, so only its members can publish or
 * subscribe; docs/security.md). The broker, the daemons and the CLI all
 * find them there. A plaintext tcp endpoint needs allow_plaintext_tcp. */
#define WIRE_RUNTIME_DIR       "/run/veille"
#define WIRE_DEFAULT_PUBLISH   "ipc://" WIRE_RUNTIME_DIR "/publish.sock"
#define WIRE_DEFAULT_SUBSCRIBE "ipc://" WIRE_RUNTIME_DIR "/subscribe.sock"
#define WIRE_DEFAULT_REPLAY    "ipc://" WIRE_RUNTIME_DIR "/replay.sock"

#endif
