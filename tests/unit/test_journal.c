/* test_journal.c: journal contract: group commit, reopen, torn/corrupt
 * tails, seq continuity, segments, retention, disk full, indexed queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "crc32c.h"
#include "journal.h"
#include "log.h"
#include "util.h"
#include "test_tmpdir.h"

typedef struct {
    char dir[64];
} fx_t;

static int
setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    assert_int_equal (test_tmpdir_create (fx->dir, sizeof fx->dir, "vl-journal-"), 0);
    *state = fx;
    return 0;
}

static int
teardown (void **state)
{
    fx_t *fx = *state;
    test_tmpdir_remove (fx->dir);
    free (fx);
    return 0;
}

static journal_t *
s_open (const char *dir, const journal_opts_t *o)
{
    vl_err_t err;
    journal_t *j = journal_open (dir, o, &err);
    assert_non_null (j);
    assert_int_equal (err, VL_OK);
    return j;
}

/* Appends events "ev-<seq>" on TOPIC; commits every BATCH. */
static void
s_fill (journal_t *j, const char *topic, int n, int batch)
{
    for (int i = 0; i < n; i++) {
        char ev[64];
        uint64_t seq;
        int len = snprintf (ev, sizeof ev, "ev-%" PRIu64, journal_head (j) + 1 + (uint64_t) (i % batch));
        vl_err_t rc = journal_append (j, topic, strlen (topic), ev, (size_t) len, &seq);
        if (rc == VL_EAGAIN) {
            assert_int_equal (journal_commit (j), VL_OK);
            rc = journal_append (j, topic, strlen (topic), ev, (size_t) len, &seq);
        }
        assert_int_equal (rc, VL_OK);
        if ((i + 1) % batch == 0)
            assert_int_equal (journal_commit (j), VL_OK);
    }
    assert_int_equal (journal_commit (j), VL_OK);
}

typedef struct {
    uint64_t seqs[4096];
    char     topics[4096][32];
    size_t   n;
    size_t   stop_after;   /* 0 = never */
} collect_t;

static int
s_collect (void *arg, const journal_rec_t *rec)
{
    collect_t *c = arg;
    if (c->stop_after && c->n == c->stop_after)
        return 1;
    if (c->n < 4096) {
        c->seqs[c->n] = rec->seq;
        snprintf (c->topics[c->n], 32, "%.*s", (int) rec->topic_len, rec->topic);
    }
    c->n++;
    return 0;
}

/* Checks that (after, upto] holds exactly seqs after+1..upto, contents OK. */
static size_t
s_count_all (journal_t *j)
{
    journal_query_t q = { .after = 0, .upto = UINT64_MAX };
    journal_result_t res;
    assert_int_equal (journal_query (j, &q, NULL, NULL, &res), VL_OK);
    return res.count;
}

static char *
s_seg_path (const char *dir, uint64_t base)
{
    static char path[256];
    snprintf (path, sizeof path, "%s/%020" PRIu64 ".vlj", dir, base);
    return path;
}

static off_t
s_file_size (const char *path)
{
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    return st.st_size;
}

static void
crc32c_matches_reference (void **state)
{
    (void) state;
    assert_int_equal (crc32c (0, "123456789", 9), 0xE3069283u);
    /* incremental == one shot */
    const char *s = "The quick brown fox jumps over the lazy dog, twice over.";
    uint32_t one = crc32c (0, s, strlen (s));
    uint32_t two = crc32c (crc32c (0, s, 10), s + 10, strlen (s) - 10);
    assert_int_equal (one, two);
    assert_int_equal (crc32c (0, "", 0), 0);
    /* the accelerated and the portable paths agree, at every length and
     * alignment */
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char) (i * 7 + 3);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 13)
            assert_int_equal (crc32c (5, buf + off, len), crc32c_sw (5, buf + off, len));
    assert_int_equal (crc32c_sw (0, "123456789", 9), 0xE3069283u);
}

static void
journal_append_commit_reopen_keeps_records (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    assert_int_equal (journal_head (j), 0);
    assert_int_equal (journal_first (j), 1);
    uint64_t seq;
    assert_int_equal (journal_append (j, "un.a", 4, "x", 1, &seq), VL_OK);
    assert_int_equal (seq, 1);
    /* not committed: not visible */
    assert_int_equal (journal_head (j), 0);
    assert_int_equal (s_count_all (j), 0);
    assert_int_equal (journal_commit (j), VL_OK);
    assert_int_equal (journal_head (j), 1);
    s_fill (j, "gov.fr", 99, 10);
    assert_int_equal (journal_head (j), 100);
    journal_destroy (&j);
    assert_null (j);

    j = s_open (fx->dir, NULL);
    assert_int_equal (journal_head (j), 100);
    assert_int_equal (journal_first (j), 1);
    assert_int_equal (s_count_all (j), 100);
    collect_t *c = calloc (1, sizeof *c);
    journal_query_t q = { .after = 0, .upto = UINT64_MAX, .limit = 1000 };
    journal_result_t res;
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_OK);
    assert_int_equal (c->n, 100);
    for (size_t i = 0; i < c->n; i++)
        assert_int_equal (c->seqs[i], i + 1);
    assert_string_equal (c->topics[0], "un.a");
    assert_string_equal (c->topics[1], "gov.fr");
    assert_int_equal (res.next, 100);
    assert_false (res.more);
    free (c);
    assert_int_equal (journal_append (j, "un.a", 4, "y", 1, &seq), VL_OK);
    assert_int_equal (seq, 101);
    journal_destroy (&j);
}

/* Policy `interval`: commit never syncs; journal_tick hands the sync to
 * the background thread once the interval has passed, and reports clean
 * once it is over and nothing was committed since. */
static void
journal_interval_syncs_in_the_background (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.fsync = JOURNAL_FSYNC_INTERVAL;
    o.fsync_interval_ms = 100;
    journal_t *j = s_open (fx->dir, &o);
    int64_t now = util_mono_ms ();
    assert_int_equal (journal_tick (j, now), -1);          /* nothing to sync */
    s_fill (j, "t.a", 10, 10);
    int wait = journal_tick (j, now);                        /* not due yet */
    assert_true (wait > 0 && wait <= 100);
    wait = journal_tick (j, now + 1000);                     /* due: handed over */
    assert_true (wait > 0 && wait < 100);
    assert_int_equal (journal_sync (j), VL_OK);              /* waits for it */
    assert_int_equal (journal_tick (j, now + 1000), -1);     /* clean */
    /* a commit after the sync started keeps the journal dirty */
    s_fill (j, "t.a", 5, 5);
    assert_true (journal_tick (j, now + 3000) > 0);
    s_fill (j, "t.a", 5, 5);
    assert_int_equal (journal_sync (j), VL_OK);
    assert_int_equal (journal_tick (j, now + 3000), -1);
    assert_int_equal (journal_head (j), 20);
    journal_destroy (&j);
    j = s_open (fx->dir, &o);
    assert_int_equal (journal_head (j), 20);
    assert_int_equal (s_count_all (j), 20);
    journal_destroy (&j);
}

static void
journal_rollback_gives_seqs_again (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    s_fill (j, "a", 5, 5);
    uint64_t seq;
    assert_int_equal (journal_append (j, "a", 1, "x", 1, &seq), VL_OK);
    assert_int_equal (seq, 6);
    journal_rollback (j);
    assert_int_equal (journal_append (j, "a", 1, "x", 1, &seq), VL_OK);
    assert_int_equal (seq, 6);
    assert_int_equal (journal_commit (j), VL_OK);
    assert_int_equal (journal_head (j), 6);
    journal_destroy (&j);
}

static void
journal_rejects_bad_sizes_and_asks_to_commit_when_full (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.batch_bytes = 200;
    journal_t *j = s_open (fx->dir, &o);
    uint64_t seq;
    assert_int_equal (journal_append (j, "", 0, "x", 1, &seq), VL_EINVAL);
    assert_int_equal (journal_append (j, "a", 1, "", 0, &seq), VL_EINVAL);
    char topic[300];
    memset (topic, 'a', sizeof topic);
    assert_int_equal (journal_append (j, topic, 256, "x", 1, &seq), VL_EINVAL);
    char ev[100];
    memset (ev, 'e', sizeof ev);
    assert_int_equal (journal_append (j, "a", 1, ev, sizeof ev, &seq), VL_OK);
    assert_int_equal (journal_append (j, "a", 1, ev, sizeof ev, &seq), VL_EAGAIN);
    assert_int_equal (journal_commit (j), VL_OK);
    assert_int_equal (journal_append (j, "a", 1, ev, sizeof ev, &seq), VL_OK);
    assert_int_equal (seq, 2);
    assert_int_equal (journal_commit (j), VL_OK);
    journal_destroy (&j);
}

/* The epoch is created with the journal, kept across reopens, new after
 * the directory is wiped; a damaged EPOCH file refuses the open. */
static void
journal_epoch_is_stable_and_new_after_a_wipe (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    uint64_t e1 = journal_epoch (j);
    assert_true (e1 != 0);
    s_fill (j, "t.a", 3, 3);
    journal_destroy (&j);
    j = s_open (fx->dir, NULL);
    assert_true (journal_epoch (j) == e1);
    journal_destroy (&j);

    test_tmpdir_remove (fx->dir);
    j = s_open (fx->dir, NULL);
    assert_true (journal_epoch (j) != 0 && journal_epoch (j) != e1);
    assert_int_equal (journal_head (j), 0);
    journal_destroy (&j);

    char path[128];
    snprintf (path, sizeof path, "%s/EPOCH", fx->dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs ("not-hex\n", f);
    fclose (f);
    vl_err_t err;
    assert_null (journal_open (fx->dir, NULL, &err));
    assert_int_equal (err, VL_ECORRUPT);
}

static void
journal_second_open_is_refused (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    vl_err_t err;
    journal_t *k = journal_open (fx->dir, NULL, &err);
    assert_null (k);
    assert_int_equal (err, VL_EAGAIN);
    journal_destroy (&j);
    k = s_open (fx->dir, NULL);
    journal_destroy (&k);
}

static void
journal_torn_tail_is_cut (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    s_fill (j, "un.x", 10, 10);
    journal_destroy (&j);
    const char *path = s_seg_path (fx->dir, 1);
    off_t good = s_file_size (path);
    /* half a record: a plausible header and a few body bytes */
    unsigned char half[] = { 40, 0, 0, 0, 1, 2, 3, 4, 11, 0, 0 };
    int fd = open (path, O_WRONLY | O_APPEND);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, half, sizeof half), (ssize_t) sizeof half);
    close (fd);

    j = s_open (fx->dir, NULL);
    assert_int_equal (journal_head (j), 10);
    assert_int_equal (s_count_all (j), 10);
    assert_int_equal (s_file_size (path), good);
    uint64_t seq;
    assert_int_equal (journal_append (j, "un.x", 4, "z", 1, &seq), VL_OK);
    assert_int_equal (seq, 11);
    assert_int_equal (journal_commit (j), VL_OK);
    journal_destroy (&j);
    j = s_open (fx->dir, NULL);
    assert_int_equal (s_count_all (j), 11);
    journal_destroy (&j);
}

static void
journal_garbage_tail_is_cut (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    s_fill (j, "un.x", 7, 3);
    journal_destroy (&j);
    const char *path = s_seg_path (fx->dir, 1);
    off_t good = s_file_size (path);
    int fd = open (path, O_WRONLY | O_APPEND);
    char junk[3000];
    memset (junk, 0xff, sizeof junk);
    assert_int_equal (write (fd, junk, sizeof junk), (ssize_t) sizeof junk);
    close (fd);
    j = s_open (fx->dir, NULL);
    assert_int_equal (journal_head (j), 7);
    assert_int_equal (s_file_size (path), good);
    journal_destroy (&j);
}

static void
journal_bad_crc_in_last_segment_cuts_from_there (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_open (fx->dir, NULL);
    s_fill (j, "topic.a", 20, 20);   /* each record: 8 + 10 + 7 + len("ev-N") */
    journal_destroy (&j);
    const char *path = s_seg_path (fx->dir, 1);
    /* records 1..9 have 4-byte events (29 bytes), 10..20 5-byte (30) */
    off_t rec6 = 16 + 5 * 29;
    int fd = open (path, O_RDWR);
    unsigned char b;
    assert_int_equal (pread (fd, &b, 1, rec6 + 20), 1);
    b ^= 0x40;
    assert_int_equal (pwrite (fd, &b, 1, rec6 + 20), 1);
    close (fd);
    j = s_open (fx->dir, NULL);
    assert_int_equal (journal_head (j), 5);
    assert_int_equal (s_count_all (j), 5);
    assert_int_equal (s_file_size (path), rec6);
    uint64_t seq;
    assert_int_equal (journal_append (j, "topic.a", 7, "new", 3, &seq), VL_OK);
    assert_int_equal (seq, 6);
    journal_destroy (&j);
}

static void
journal_seq_never_reused_after_reopen (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.segment_bytes = 4096;
    journal_t *j = s_open (fx->dir, &o);
    s_fill (j, "a.b", 300, 50);  /* several segments */
    journal_stats_t st;
    journal_stats (j, &st);
    assert_true (st.segments >= 2);
    assert_int_equal (st.records, 300);
    uint64_t head = journal_head (j);
    journal_destroy (&j);
    /* an empty active segment (the broker died just after a roll) names the
     * next seq: nothing before it may be reused even if older ones go. */
    int fd = open (s_seg_path (fx->dir, head + 1), O_RDWR | O_CREAT, 0640);
    unsigned char hdr[16] = "VLJOURN1";
    for (int i = 0; i < 8; i++)
        hdr[8 + i] = (unsigned char) ((head + 1) >> (8 * i));
    assert_int_equal (write (fd, hdr, 16), 16);
    close (fd);
    j = s_open (fx->dir, &o);
    assert_int_equal (journal_head (j), head);
    uint64_t seq;
    assert_int_equal (journal_append (j, "a.b", 3, "x", 1, &seq), VL_OK);
    assert_int_equal (seq, head + 1);
    assert_int_equal (journal_commit (j), VL_OK);
    journal_destroy (&j);
    /* a torn header of a new segment is repaired, seq continues */
    fd = open (s_seg_path (fx->dir, head + 2), O_RDWR | O_CREAT, 0640);
    assert_int_equal (write (fd, "VLJO", 4), 4);
    close (fd);
    j = s_open (fx->dir, &o);
    assert_int_equal (journal_append (j, "a.b", 3, "x", 1, &seq), VL_OK);
    assert_int_equal (seq, head + 2);
    assert_int_equal (journal_commit (j), VL_OK);
    assert_int_equal (s_count_all (j), 302);
    journal_destroy (&j);
}

static void
journal_corrupt_older_segment_serves_the_rest (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.segment_bytes = 1024;
    journal_t *j = s_open (fx->dir, &o);
    s_fill (j, "a", 100, 10);
    journal_destroy (&j);
    /* flip a byte in the 3rd record of the first segment */
    const char *path = s_seg_path (fx->dir, 1);
    off_t size = s_file_size (path);
    int fd = open (path, O_RDWR);
    unsigned char b = 0;
    assert_int_equal (pwrite (fd, &b, 1, 16 + 2 * 23 + 19), 1);   /* records are 23 bytes */
    close (fd);
    j = s_open (fx->dir, &o);
    assert_int_equal (journal_head (j), 100);
    assert_int_equal (s_file_size (path), size);   /* not the tail: left alone */
    journal_query_t q = { .after = 0, .upto = 100, .limit = 1000 };
    journal_result_t res;
    collect_t *c = calloc (1, sizeof *c);
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_OK);
    assert_int_equal (c->seqs[0], 1);
    assert_int_equal (c->seqs[1], 2);
    assert_true (c->seqs[2] > 3);
    assert_true (c->n < 100);
    assert_int_equal (c->seqs[c->n - 1], 100);
    free (c);
    journal_destroy (&j);
}

static void
journal_retention_by_size_keeps_the_active_segment (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.segment_bytes = 2048;
    o.retention_bytes = 5000;
    journal_t *j = s_open (fx->dir, &o);
    s_fill (j, "a", 500, 20);
    journal_stats_t before, after;
    journal_stats (j, &before);
    assert_true (before.bytes > 5000);
    size_t deleted = journal_retain (j, util_now_ms ());
    journal_stats (j, &after);
    assert_true (deleted > 0);
    assert_int_equal (after.segments, before.segments - deleted);
    assert_true (after.bytes <= 5000);
    assert_true (after.first > 1);
    assert_int_equal (after.head, 500);
    assert_int_equal (s_count_all (j), after.head - after.first + 1);
    /* a replay from 0 starts at first */
    journal_query_t q = { .after = 0, .upto = UINT64_MAX, .limit = 1 };
    journal_result_t res;
    collect_t *c = calloc (1, sizeof *c);
    journal_query (j, &q, s_collect, c, &res);
    assert_int_equal (c->seqs[0], after.first);
    assert_true (res.more);
    assert_int_equal (res.first, after.first);
    free (c);
    journal_destroy (&j);
    /* the limit holds after reopen too, and seqs go on */
    j = s_open (fx->dir, &o);
    assert_int_equal (journal_first (j), after.first);
    assert_int_equal (journal_head (j), 500);
    journal_destroy (&j);
}

static void
journal_retention_by_age_deletes_old_segments (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.segment_bytes = 1024;
    o.retention_ms = 3600 * 1000;
    journal_t *j = s_open (fx->dir, &o);
    s_fill (j, "a", 100, 10);
    journal_destroy (&j);
    /* age the first two segments by two hours */
    struct timeval old[2];
    gettimeofday (&old[0], NULL);
    old[0].tv_sec -= 7200;
    old[1] = old[0];
    char first2[2][256];
    snprintf (first2[0], 256, "%s", s_seg_path (fx->dir, 1));
    j = s_open (fx->dir, &o);
    journal_stats_t st;
    journal_stats (j, &st);
    size_t nseg = st.segments;
    assert_true (nseg >= 3);
    journal_destroy (&j);
    assert_int_equal (utimes (first2[0], old), 0);
    j = s_open (fx->dir, &o);
    assert_int_equal (journal_retain (j, util_now_ms ()), 1);
    journal_stats (j, &st);
    assert_int_equal (st.segments, nseg - 1);
    assert_true (journal_first (j) > 1);
    assert_int_equal (access (first2[0], F_OK), -1);
    /* nothing else is old */
    assert_int_equal (journal_retain (j, util_now_ms ()), 0);
    journal_destroy (&j);
}

static void
journal_disk_full_keeps_it_consistent (void **state)
{
    fx_t *fx = *state;
    signal (SIGXFSZ, SIG_IGN);
    journal_t *j = s_open (fx->dir, NULL);
    s_fill (j, "a", 10, 10);
    off_t size = s_file_size (s_seg_path (fx->dir, 1));
    struct rlimit old, lim;
    getrlimit (RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t) size + 40;   /* room for one record and a bit */
    assert_int_equal (setrlimit (RLIMIT_FSIZE, &lim), 0);
    uint64_t seq;
    for (int i = 0; i < 5; i++)
        assert_int_equal (journal_append (j, "a", 1, "0123456789", 10, &seq), VL_OK);
    vl_err_t rc = journal_commit (j);
    setrlimit (RLIMIT_FSIZE, &old);
    assert_int_equal (rc, VL_ENOSPC);
    assert_int_equal (journal_head (j), 10);
    assert_int_equal (s_file_size (s_seg_path (fx->dir, 1)), size);
    /* space is back: the same seqs are given again and stored */
    assert_int_equal (journal_append (j, "a", 1, "0123456789", 10, &seq), VL_OK);
    assert_int_equal (seq, 11);
    assert_int_equal (journal_commit (j), VL_OK);
    journal_destroy (&j);
    j = s_open (fx->dir, NULL);
    assert_int_equal (journal_head (j), 11);
    assert_int_equal (s_count_all (j), 11);
    journal_destroy (&j);
}

static void
journal_query_filters_limits_and_pages (void **state)
{
    fx_t *fx = *state;
    journal_opts_t o = journal_opts_default ();
    o.segment_bytes = 4096;
    journal_t *j = s_open (fx->dir, &o);
    /* 1000 events: every 100th on the rare topic */
    for (int i = 1; i <= 1000; i++) {
        const char *t = i % 100 == 0 ? "rare.topic" : (i % 2 ? "un.odd" : "gov.even");
        uint64_t seq;
        vl_err_t rc = journal_append (j, t, strlen (t), "e", 1, &seq);
        if (rc == VL_EAGAIN) {
            journal_commit (j);
            rc = journal_append (j, t, strlen (t), "e", 1, &seq);
        }
        assert_int_equal (rc, VL_OK);
        if (i % 64 == 0)
            journal_commit (j);
    }
    journal_commit (j);
    uint8_t match[16] = { 0 };
    size_t nt = journal_topic_count (j);
    assert_int_equal (nt, 3);
    for (uint32_t t = 0; t < nt; t++)
        match[t] = strncmp (journal_topic_name (j, t, NULL), "rare.", 5) == 0;
    journal_query_t q = { .after = 0, .upto = UINT64_MAX, .match = match, .nmatch = nt, .limit = 4 };
    journal_result_t res;
    collect_t *c = calloc (1, sizeof *c);
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_OK);
    assert_int_equal (c->n, 4);
    assert_int_equal (c->seqs[0], 100);
    assert_int_equal (c->seqs[3], 400);
    assert_true (res.more);
    assert_int_equal (res.next, 400);
    /* next page */
    c->n = 0;
    q.after = res.next;
    q.limit = 100;
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_OK);
    assert_int_equal (c->n, 6);
    assert_int_equal (c->seqs[5], 1000);
    assert_false (res.more);
    assert_int_equal (res.next, 1000);
    /* exact page end: more is false when nothing matches beyond */
    c->n = 0;
    q.after = 0;
    q.upto = 1000;
    q.limit = 10;
    journal_query (j, &q, s_collect, c, &res);
    assert_int_equal (c->n, 10);
    assert_false (res.more);
    /* count with a range */
    q.after = 150;
    q.upto = 650;
    assert_int_equal (journal_query (j, &q, NULL, NULL, &res), VL_OK);
    assert_int_equal (res.count, 5);
    assert_int_equal (res.next, 650);
    /* all topics, range and stop by the visitor */
    c->n = 0;
    c->stop_after = 7;
    journal_query_t all = { .after = 10, .upto = 500, .limit = 1000 };
    assert_int_equal (journal_query (j, &all, s_collect, c, &res), VL_EINTR);
    assert_int_equal (res.count, 7);
    assert_int_equal (res.next, 17);
    /* after beyond head */
    all.after = 5000;
    assert_int_equal (journal_query (j, &all, s_collect, c, &res), VL_OK);
    assert_int_equal (res.count, 0);
    assert_int_equal (res.next, 5000);
    assert_false (res.more);
    free (c);
    journal_destroy (&j);
}

/* ---- read faults: EIO stops, proven corruption skips ---- */

static int s_fault_call;      /* the call of s_faulty_pread that fails; 0 = none */
static int s_fault_calls;
static bool s_fault_corrupt;  /* corrupt the data read instead of EIO */

static ssize_t
s_faulty_pread (int fd, void *buf, size_t n, off_t off)
{
    if (++s_fault_calls == s_fault_call && !s_fault_corrupt) {
        errno = EIO;
        return -1;
    }
    ssize_t r = pread (fd, buf, n, off);
    if (s_fault_calls == s_fault_call && r > 40)
        ((unsigned char *) buf)[30] ^= 0xff;   /* inside the first record's event */
    return r;
}

/* 100 records of 20 kB (two read windows); the second pread fails. */
static journal_t *
s_fault_journal (const char *dir, bool corrupt)
{
    journal_t *j = s_open (dir, NULL);
    static char ev[20000];
    memset (ev, 'e', sizeof ev);
    for (int i = 0; i < 100; i++) {
        uint64_t seq;
        assert_int_equal (journal_append (j, "un.a", 4, ev, sizeof ev, &seq), VL_OK);
    }
    assert_int_equal (journal_commit (j), VL_OK);
    s_fault_calls = 0;
    s_fault_call = 2;
    s_fault_corrupt = corrupt;
    journal_set_pread (j, s_faulty_pread);
    return j;
}

static void
journal_query_stops_at_a_read_error_without_skipping (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_fault_journal (fx->dir, false);
    journal_query_t q = { .after = 0, .upto = UINT64_MAX, .limit = 1000 };
    journal_result_t res;
    collect_t *c = calloc (1, sizeof *c);
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_EIO);
    assert_true (c->n > 0 && c->n < 100);
    for (size_t i = 0; i < c->n; i++)
        assert_int_equal (c->seqs[i], i + 1);
    /* next = the last record read: the unread one after it is not passed */
    assert_int_equal (res.next, c->n);
    assert_true (res.more);
    assert_int_equal (res.count, c->n);
    /* the disk recovers: the query from next brings the rest, no gap */
    journal_set_pread (j, NULL);
    size_t before = c->n;
    q.after = res.next;
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_OK);
    assert_int_equal (c->n, 100);
    for (size_t i = before; i < c->n; i++)
        assert_int_equal (c->seqs[i], i + 1);
    assert_int_equal (res.next, 100);
    free (c);
    journal_destroy (&j);
}

static void
journal_query_skips_a_record_proven_corrupt (void **state)
{
    fx_t *fx = *state;
    journal_t *j = s_fault_journal (fx->dir, true);
    journal_query_t q = { .after = 0, .upto = UINT64_MAX, .limit = 1000 };
    journal_result_t res;
    collect_t *c = calloc (1, sizeof *c);
    assert_int_equal (journal_query (j, &q, s_collect, c, &res), VL_OK);
    assert_int_equal (c->n, 99);   /* the one that failed its CRC */
    assert_int_equal (res.next, 100);
    assert_false (res.more);
    free (c);
    journal_destroy (&j);
}

int
main (void)
{
    log_setup ("test_journal", LOG_LVL_WARN, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (crc32c_matches_reference),
        cmocka_unit_test_setup_teardown (journal_append_commit_reopen_keeps_records, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_rollback_gives_seqs_again, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_interval_syncs_in_the_background, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_epoch_is_stable_and_new_after_a_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_rejects_bad_sizes_and_asks_to_commit_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_second_open_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_garbage_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_bad_crc_in_last_segment_cuts_from_there, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_seq_never_reused_after_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_corrupt_older_segment_serves_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_retention_by_size_keeps_the_active_segment, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_retention_by_age_deletes_old_segments, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_disk_full_keeps_it_consistent, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_query_filters_limits_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown (journal_query_stops_at_a_read_error_without_skipping,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (journal_query_skips_a_record_proven_corrupt,
                                         setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
