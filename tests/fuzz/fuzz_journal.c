/* fuzz_journal: the journal's record reader (scan, torn-tail cut and
 * indexed reads of journal_open / journal_query) on arbitrary segment
 * files.
 *
 * Byte 0 is a mode: bit 0 = the rest is a whole segment file (header
 * included), else a header with base seq 1 is prepended; bit 1 = fix the
 * CRC of every record whose length fits (so the fuzzer gets past the
 * checksum to the seq, topic and event checks); bit 2 = split the rest at
 * the first "SEG2" into two segment files. Checks: every record served
 * lies in [first, head] in increasing seq order with a 1..255-byte topic,
 * a count query agrees with the visit, and an append + commit after the
 * repair survives a reopen. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crc32c.h"
#include "journal.h"
#include "log.h"

static char dir[64];

static void
s_put_le (unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static uint32_t
s_get_le32 (const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Rewrites the CRC of each record of the segment body P (LEN bytes, after
 * the header) whose length fits; returns the records walked. */
static uint64_t
s_fix_crcs (unsigned char *p, size_t len)
{
    uint64_t n = 0;
    size_t off = 0;
    while (off + 8 <= len) {
        uint32_t rlen = s_get_le32 (p + off);
        if (rlen < 12 || rlen > len - off - 8)
            break;
        s_put_le (p + off + 4, crc32c (0, p + off + 8, rlen), 4);
        off += 8 + (size_t) rlen;
        n++;
    }
    return n;
}

static void
s_clean (void)
{
    DIR *d = opendir (dir);
    struct dirent *de;
    char path[384];
    while (d && (de = readdir (d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
        unlink (path);
    }
    if (d)
        closedir (d);
}

/* Writes one segment file: a header with BASE unless RAW, then BODY. */
static void
s_write_seg (uint64_t base, bool raw, const unsigned char *body, size_t len)
{
    char path[128];
    snprintf (path, sizeof path, "%s/%020llu.vlj", dir, (unsigned long long) base);
    FILE *fp = fopen (path, "wb");
    if (!fp)
        abort ();
    if (!raw) {
        unsigned char hdr[16];
        memcpy (hdr, "VLJOURN1", 8);
        s_put_le (hdr + 8, base, 8);
        fwrite (hdr, 1, sizeof hdr, fp);
    }
    fwrite (body, 1, len, fp);
    fclose (fp);
}

typedef struct {
    uint64_t last, first, head, count;
} visit_t;

static int
s_visit (void *arg, const journal_rec_t *rec)
{
    visit_t *v = arg;
    if (rec->seq <= v->last || rec->seq < v->first || rec->seq > v->head
        || rec->topic_len == 0 || rec->topic_len > 255 || !rec->topic
        || (rec->event_len && !rec->event))
        abort ();
    v->last = rec->seq;
    v->count++;
    return 0;
}

/* Reads everything in J; returns the count. */
static uint64_t
s_read_all (journal_t *j)
{
    visit_t v = { 0, journal_first (j), journal_head (j), 0 };
    journal_query_t q = { .after = 0, .upto = UINT64_MAX, .limit = 1000000 };
    journal_result_t res;
    if (journal_query (j, &q, s_visit, &v, &res) != VL_OK || res.count != v.count)
        abort ();
    journal_result_t cnt;
    if (journal_query (j, &q, NULL, NULL, &cnt) != VL_OK)
        abort ();
    /* a bad record is skipped while reading, not while counting */
    if (cnt.count < v.count)
        abort ();
    return v.count;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    log_set_level (LOG_LVL_OFF);
    if (!dir[0]) {
        snprintf (dir, sizeof dir, "/dev/shm/veille-fuzz-journal-%d", (int) getpid ());
        if (mkdir (dir, 0700) != 0) {
            snprintf (dir, sizeof dir, "/tmp/veille-fuzz-journal-%d", (int) getpid ());
            mkdir (dir, 0700);
        }
    }
    if (size < 1 || size > (1u << 20))
        return 0;
    unsigned mode = data[0];
    size_t len = size - 1;
    unsigned char *body = malloc (len + 1);
    if (!body)
        return 0;
    memcpy (body, data + 1, len);
    size_t len1 = len;
    unsigned char *seg2 = NULL;
    if (mode & 4) {
        unsigned char *m = memmem (body, len, "SEG2", 4);
        if (m) {
            len1 = (size_t) (m - body);
            seg2 = m + 4;
        }
    }
    bool raw = mode & 1;
    uint64_t n1 = 0;
    if (mode & 2)
        n1 = s_fix_crcs (body + (raw ? 16 : 0), len1 > 16 || !raw ? len1 - (raw ? 16 : 0) : 0);
    s_clean ();
    s_write_seg (1, raw, body, len1);
    if (seg2) {
        size_t len2 = (size_t) (body + len - seg2);
        if (mode & 2)
            s_fix_crcs (seg2, len2);
        s_write_seg (1 + n1, false, seg2, len2);
    }
    journal_opts_t o = journal_opts_default ();
    o.fsync = JOURNAL_FSYNC_NONE;
    o.batch_bytes = 64 * 1024;   /* smaller buffers: more runs per second */
    vl_err_t err;
    journal_t *j = journal_open (dir, &o, &err);
    if (j) {
        s_read_all (j);
        uint64_t seq, head = journal_head (j);
        if (journal_append (j, "fuzz.t", 6, "\x81\xa1v\x01", 4, &seq) == VL_OK
            && journal_commit (j) == VL_OK) {
            if (seq != head + 1 || journal_head (j) != seq)
                abort ();
            head = seq;
        }
        journal_destroy (&j);
        j = journal_open (dir, &o, &err);
        if (!j || journal_head (j) != head)
            abort ();
        s_read_all (j);
        journal_destroy (&j);
    }
    free (body);
    return 0;
}
