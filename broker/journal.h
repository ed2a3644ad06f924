/* journal.h: append-only, checksummed event journal with group commit.
 *
 * On disk: JOURNAL_DIR holds segment files named by the seq of their first
 * record, zero-padded to 20 digits: 00000000000000000001.vlj. Only the last
 * segment (the active one) is ever written. A LOCK file (flock) keeps a
 * second broker out of the directory. EPOCH holds the journal's epoch
 * (journal_epoch below).
 *
 * Segment layout, every integer LITTLE-endian:
 *   header (16 bytes): magic "VLJOURN1" (8) | u64 base seq (same as name)
 *   records, back to back:
 *     u32 len      bytes that follow the crc field (10 + topic + event)
 *     u32 crc      CRC-32C (crc32c.h) of those len bytes
 *     u64 seq      base + index of the record in the segment (contiguous)
 *     u16 tlen     topic length, 1..255
 *     topic        tlen bytes
 *     event        len - 10 - tlen bytes (the msgpack event, as received)
 *
 * Crash safety: appends go to a user-space buffer; journal_commit() writes
 * the whole batch with one pwrite() and, for fsync policy `batch`, one
 * fdatasync() before returning, so the caller acks only what is on disk.
 * On open, every segment is scanned and indexed (jindex.h); in the LAST
 * segment a short record, a bad length, a bad CRC or a seq that is not the
 * next one marks a torn or corrupt tail: the file is truncated there with a
 * warning naming file, offset and bytes cut; nothing after it is served.
 * Corruption inside an older segment is logged as an error and the rest of
 * that segment is not served (the file is left as it is).
 * Seqs are never reused: the next seq is one past the last intact record,
 * or the base of the (empty) active segment, whichever is larger.
 *
 * Disk full: if the write or the fsync of a commit fails (ENOSPC, EDQUOT,
 * EFBIG past RLIMIT_FSIZE, EIO), the file is truncated back to its last
 * committed size, the uncommitted appends are dropped (their seqs will be
 * given again) and the error returned; the journal stays usable.
 *
 * Not thread-safe: one thread owns a journal.
 *
 * ---- Considered, not implemented ----
 *
 * Overlapping fdatasync with the next batch (policy `batch`): a writer
 * thread would sync batch N while the main thread receives, checks and
 * appends batch N+1 into a second buffer, acking and fanning out only
 * what the writer reports durable (`acked => durable` unchanged). Not
 * done, because the figures of `make bench` show nothing for it to win:
 *   - throughput: at full speed the group commits are large (~400 events
 *     of 512 B per commit) and `batch` runs as fast as `none` (169k/s
 *     both, 1->1, session 2 full run); the bound is CPU, not the disk;
 *   - latency: an event that arrives during a sync waits for the rest of
 *     it and then for its own sync with or without overlap (the batch N+1
 *     could only be written after N is durable); overlap saves only the
 *     check + append time of the batch, microseconds against the disk's
 *     fdatasync p50 of 0.2-0.3 ms. The bench prints that floor (the p99 of
 *     "rest of a sync in progress + one more" drawn from the disk's own
 *     samples) next to the batch p99.
 *
 * Journal epoch: DONE on the broker side (journal_epoch(); heartbeat,
 * stats and END carry `epoch`; client_sub resyncs when it changes). The
 * original design: a random 64-bit id created with a NEW
 * journal (randombytes_buf) and stored in DIR/EPOCH (16 hex digits + "\n",
 * written to EPOCH.tmp, fsynced, renamed, dir fsynced) when the directory
 * holds no segment; an existing journal without EPOCH (older version) gets
 * one too on open. journal_epoch() returns it. The broker adds `epoch`
 * (uint) to heartbeat and `_sys.stats` bodies and to the replay END map.
 * client_sub parses the heartbeat body (today it only reads the seq frame)
 * and END: the first epoch seen is remembered; a different one later =
 * the journal was replaced: warn and resync from 0 (as s_reset does now;
 * the id dedup window keeps old events from repeating). The "head went
 * below the cursor" test stays as the fallback for brokers without epoch.
 * This also catches the case the head heuristic misses: the new journal's
 * head already passed the old cursor before the subscriber saw a
 * heartbeat (events 1..cursor of the new journal silently skipped).
 * veille-sub should persist the epoch next to its cursors (state db) so a
 * restarted subscriber detects a reset that happened while it was down;
 * sub_app's loop_reset already reacts to client_sub's resets counter. */
#ifndef VL_JOURNAL_H
#define VL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vl_err.h"

typedef enum {
    JOURNAL_FSYNC_BATCH,     /* fdatasync in every journal_commit */
    JOURNAL_FSYNC_INTERVAL,  /* every fsync_interval_ms, in a background thread */
    JOURNAL_FSYNC_NONE       /* never (the OS decides); still on close */
} journal_fsync_t;

typedef struct {
    journal_fsync_t fsync;
    int      fsync_interval_ms;  /* JOURNAL_FSYNC_INTERVAL; default 100 */
    int64_t  segment_bytes;      /* roll past this; default 64 MiB, max 2 GiB */
    int64_t  retention_ms;       /* age limit of a closed segment; 0 = none */
    int64_t  retention_bytes;    /* total size limit; 0 = unlimited */
    size_t   batch_bytes;        /* most bytes buffered before a commit is
                                    required (VL_EAGAIN); default 8 MiB */
} journal_opts_t;

typedef struct journal journal_t;

/* Returns the options with every default filled in. */
journal_opts_t journal_opts_default (void);

/* Parses "batch|interval|none"; -1 on anything else. */
int journal_fsync_parse (const char *name);

/* Opens (creating if needed) the journal in DIR, scans and indexes every
 * segment, cuts a torn tail. OPTS NULL = defaults. Returns NULL and sets
 * *ERR on failure (VL_EIO, VL_ECORRUPT for a foreign or inconsistent file,
 * VL_EAGAIN if another process holds the directory lock, VL_ENOMEM). Caller
 * owns the result. */
journal_t *journal_open (const char *dir, const journal_opts_t *opts, vl_err_t *err);

/* Syncs what was committed and destroys *self_p (uncommitted appends are
 * dropped); sets it to NULL; NULL-safe. */
void journal_destroy (journal_t **self_p);

/* Appends one record (TOPIC of TLEN bytes, EVENT of ELEN bytes, both
 * copied) to the commit buffer and gives it the next seq in *SEQ_OUT. It is
 * durable (and readable) only after the next successful journal_commit().
 * Returns VL_EAGAIN when the buffer or the active segment is full: commit,
 * then append again. VL_EINVAL / VL_ETOOBIG for bad sizes; VL_ENOSPC or
 * VL_EIO if a new segment cannot be created. */
vl_err_t journal_append (journal_t *self, const char *topic, size_t tlen,
                         const void *event, size_t elen, uint64_t *seq_out);

/* Writes the buffered appends with one pwrite() and syncs them according to
 * the fsync policy. On failure (VL_ENOSPC, VL_EIO) the appends since the
 * last commit are dropped and the file is truncated back. */
vl_err_t journal_commit (journal_t *self);

/* Drops the appends since the last commit (their seqs are given again). */
void journal_rollback (journal_t *self);

/* fdatasync now if anything committed is not yet synced (after waiting
 * for a background sync in flight). */
vl_err_t journal_sync (journal_t *self);

/* Housekeeping for policy `interval`: when the interval has passed since
 * the last sync and something was committed since, hands an fdatasync to
 * the journal's background thread (syncer.h: the caller never waits for
 * the disk); takes the outcome of the previous one (errors are logged and
 * the sync is tried again next interval). Returns the milliseconds until
 * it wants to be called again (-1 = no need). NOW_MONO is util_mono_ms(). */
int journal_tick (journal_t *self, int64_t now_mono);

/* Deletes the oldest closed segments that are older than retention_ms
 * (by the file's mtime, i.e. its last record) or while the journal is
 * larger than retention_bytes. Never deletes the active segment. NOW_MS is
 * util_now_ms(). Returns the number of segments deleted. */
size_t journal_retain (journal_t *self, int64_t now_ms);

/* Last committed seq (0 for a journal that never stored anything). */
uint64_t journal_head (const journal_t *self);

/* Oldest seq held (head + 1 when the journal holds no record). */
uint64_t journal_first (const journal_t *self);

/* The journal's epoch: a random non-zero 64-bit id created with the
 * journal (DIR/EPOCH, 16 hex digits + "\n"; also created on opening a
 * journal that has none). A wiped or replaced journal has a new epoch, so
 * clients tell "seq restarted" from "same journal". */
uint64_t journal_epoch (const journal_t *self);

typedef struct {
    uint64_t first, head;
    uint64_t bytes;          /* sum of segment sizes */
    size_t   segments;
    uint64_t records;        /* indexed records */
    size_t   topics;
    size_t   index_bytes;    /* memory of the index */
} journal_stats_t;

/* Fills *OUT with the current figures. */
void journal_stats (const journal_t *self, journal_stats_t *out);

/* Interned topics, for building a per-request match bitmap: ids are
 * 0..journal_topic_count()-1; names are owned by the journal. */
size_t      journal_topic_count (const journal_t *self);
const char *journal_topic_name (const journal_t *self, uint32_t tid, size_t *len);

/* A record as visited by journal_query: pointers valid during the call. */
typedef struct {
    uint64_t    seq;
    const char *topic;
    size_t      topic_len;
    const void *event;
    size_t      event_len;
} journal_rec_t;

/* Called for each matching record; return 0 to go on, nonzero to stop. */
typedef int (*journal_visit_fn) (void *arg, const journal_rec_t *rec);

typedef struct {
    uint64_t       after;    /* records with seq > after ... */
    uint64_t       upto;     /* ... and seq <= upto (clamped to head) */
    const uint8_t *match;    /* match[tid] != 0: wanted; NULL = every topic */
    size_t         nmatch;   /* entries in match; larger tids do not match */
    size_t         limit;    /* most records visited (ignored when counting) */
} journal_query_t;

typedef struct {
    uint64_t next;   /* `after` for the next query */
    bool     more;   /* matching records remain after next (within upto) */
    size_t   count;  /* records visited (or counted) */
    uint64_t head;   /* head at the time of the query */
    uint64_t first;  /* oldest seq held */
} journal_result_t;

/* Visits (in seq order) up to limit committed records in (after, upto]
 * whose topic matches, reading them from disk (one pread per run of nearby
 * matches). A record that was read and fails its check (length, CRC, seq,
 * topic length) is proven corrupt: it is logged and skipped. With FN NULL
 * only counts, without reading. If FN asks to stop, returns VL_EINTR; if a
 * read fails (EIO, or the file ends before the index says), stops there
 * and returns VL_EIO (logged): the record may be intact and is NOT
 * skipped. In both cases *RES describes what was visited: more is true and
 * next the last seq visited (after if none), never past an unread record.
 * Otherwise VL_OK; next = the last seq visited when more is true, else upto
 * (or after if after >= upto). */
vl_err_t journal_query (journal_t *self, const journal_query_t *q,
                        journal_visit_fn fn, void *arg, journal_result_t *res);

/* Test seam: the read function of journal_query (same contract as
 * pread(2)); NULL restores pread. Lets unit tests inject EIO. */
typedef ssize_t (*journal_pread_fn) (int fd, void *buf, size_t n, off_t off);
void journal_set_pread (journal_t *self, journal_pread_fn fn);

#endif
