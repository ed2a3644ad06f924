/* journal.c: segment files, scan and repair on open, group commit,
 * retention and indexed queries. Format and guarantees: journal.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "crc32c.h"
#include "event.h"
#include "jindex.h"
#include "journal.h"
#include "log.h"
#include "syncer.h"
#include "util.h"

#define SEG_MAGIC     "VLJOURN1"
#define SEG_HDR       16u                 /* magic + base */
#define REC_HDR       8u                  /* len + crc */
#define REC_FIXED     10u                 /* seq + tlen */
#define REC_MIN_LEN   (REC_FIXED + 2u)    /* one topic byte, one event byte */
#define REC_MAX_LEN   (REC_FIXED + EVENT_MAX_TOPIC + EVENT_MAX_BYTES)
#define READ_WINDOW   (1u << 20)          /* most bytes read by one pread */
#define SEG_MAX_BYTES (INT64_C (1) << 31) /* offsets are u32 in the index */
#define SEG_NAME_LEN  24                  /* 20 digits + ".vlj" */
#define SYNC_POLL_MS  5                   /* tick period while a sync runs */

typedef struct {
    uint64_t     base;      /* seq of the first record (and the file name) */
    jindex_vec_t idx;       /* record i has seq base + i */
    uint64_t     size;      /* committed bytes in the file */
    int64_t      mtime_ms;  /* last write */
    int          fd;
    char        *path;
} seg_t;

struct journal {
    char            *dir;
    journal_opts_t   opts;
    int              lock_fd;
    seg_t          **segs;          /* oldest first; the last is active */
    size_t           nsegs, segs_cap;
    jindex_topics_t *topics;
    uint64_t         next_seq;      /* seq the next append gets */
    uint64_t         head;          /* last committed seq */
    size_t           committed_n;   /* committed entries of the active segment */
    uint64_t         total_bytes;   /* committed bytes of all segments */
    unsigned char   *wbuf;          /* commit buffer */
    size_t           wlen, wcap;
    bool             dirty;         /* committed, not yet synced */
    int64_t          last_sync_mono;
    uint64_t         commits;       /* journal_commit calls that wrote */
    syncer_t        *syncer;        /* policy `interval`: background fsync */
    unsigned char   *rbuf;          /* read window of queries */
    size_t           rcap;
    const seg_t     *rseg;          /* segment the window holds, or NULL */
    uint64_t         roff, rlen;
    uint64_t         epoch;         /* DIR/EPOCH, never 0 */
    journal_pread_fn pread_fn;      /* reads of queries; NULL = pread */
};

/* ---- little-endian helpers ---- */

static void
s_put_le16 (unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
}

static void
s_put_le32 (unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static void
s_put_le64 (unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static uint16_t
s_get_le16 (const unsigned char *p)
{
    return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t
s_get_le32 (const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}

static uint64_t
s_get_le64 (const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- options ---- */

journal_opts_t
journal_opts_default (void)
{
    journal_opts_t o = {
        .fsync = JOURNAL_FSYNC_BATCH,
        .fsync_interval_ms = 100,
        .segment_bytes = INT64_C (64) << 20,
        .retention_ms = 0,
        .retention_bytes = 0,
        .batch_bytes = 8u << 20,
    };
    return o;
}

int
journal_fsync_parse (const char *name)
{
    if (!name)
        return -1;
    if (strcmp (name, "batch") == 0)
        return JOURNAL_FSYNC_BATCH;
    if (strcmp (name, "interval") == 0)
        return JOURNAL_FSYNC_INTERVAL;
    if (strcmp (name, "none") == 0)
        return JOURNAL_FSYNC_NONE;
    return -1;
}

static void
s_opts_fix (journal_opts_t *o)
{
    if (o->fsync_interval_ms <= 0)
        o->fsync_interval_ms = 100;
    if (o->segment_bytes <= 0)
        o->segment_bytes = INT64_C (64) << 20;
    if (o->segment_bytes > SEG_MAX_BYTES)
        o->segment_bytes = SEG_MAX_BYTES;
    if (o->segment_bytes < (int64_t) SEG_HDR + 64)
        o->segment_bytes = SEG_HDR + 64;
    if (o->batch_bytes == 0)
        o->batch_bytes = 8u << 20;
}

/* ---- errors ---- */

/* Disk-full flavours all become VL_ENOSPC: the broker answers UNAVAILABLE. */
static vl_err_t
s_err_from_errno (int errnum)
{
    if (errnum == ENOSPC || errnum == EDQUOT || errnum == EFBIG)
        return VL_ENOSPC;
    if (errnum == ENOMEM)
        return VL_ENOMEM;
    return VL_EIO;
}

static int64_t
s_mtime_ms (const struct stat *st)
{
    return (int64_t) st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* ---- segments ---- */

static void
s_seg_free (seg_t *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close (s->fd);
    jindex_vec_free (&s->idx);
    free (s->path);
    free (s);
}

static seg_t *
s_seg_alloc (const char *dir, uint64_t base)
{
    seg_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = -1;
    s->base = base;
    size_t n = strlen (dir) + SEG_NAME_LEN + 2;
    s->path = malloc (n);
    if (!s->path) {
        free (s);
        return NULL;
    }
    snprintf (s->path, n, "%s/%020" PRIu64 ".vlj", dir, base);
    return s;
}

static vl_err_t
s_segs_push (journal_t *self, seg_t *s)
{
    if (self->nsegs == self->segs_cap) {
        size_t cap = self->segs_cap ? self->segs_cap * 2 : 16;
        seg_t **segs = realloc (self->segs, cap * sizeof *segs);
        if (!segs)
            return VL_ENOMEM;
        self->segs = segs;
        self->segs_cap = cap;
    }
    self->segs[self->nsegs++] = s;
    return VL_OK;
}

static seg_t *
s_active (const journal_t *self)
{
    return self->segs[self->nsegs - 1];
}

static int
s_fsync_dir (const char *dir)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

static int
s_pwrite_all (int fd, const void *data, size_t len, uint64_t off)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = pwrite (fd, p, len, (off_t) off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t) n;
        off += (uint64_t) n;
    }
    return 0;
}

static void
s_seg_header (unsigned char hdr[SEG_HDR], uint64_t base)
{
    memcpy (hdr, SEG_MAGIC, 8);
    s_put_le64 (hdr + 8, base);
}

/* Writes the header of an empty segment file and syncs it (unless the
 * policy is `none`). Returns 0 or -1 with errno. */
static int
s_seg_write_header (const journal_t *self, seg_t *s)
{
    unsigned char hdr[SEG_HDR];
    s_seg_header (hdr, s->base);
    if (ftruncate (s->fd, 0) < 0 || s_pwrite_all (s->fd, hdr, SEG_HDR, 0) < 0)
        return -1;
    if (self->opts.fsync != JOURNAL_FSYNC_NONE
        && (fdatasync (s->fd) < 0 || s_fsync_dir (self->dir) < 0))
        return -1;
    s->size = SEG_HDR;
    s->mtime_ms = util_now_ms ();
    return 0;
}

/* Creates the segment whose first record will be BASE. */
static seg_t *
s_seg_create (journal_t *self, uint64_t base, vl_err_t *err)
{
    seg_t *s = s_seg_alloc (self->dir, base);
    if (!s) {
        *err = VL_ENOMEM;
        return NULL;
    }
    s->fd = open (s->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (s->fd < 0 || s_seg_write_header (self, s) < 0) {
        int e = errno;
        log_error ("journal: cannot create segment %s: %s", s->path, strerror (e));
        if (s->fd >= 0)
            unlink (s->path);
        s_seg_free (s);
        *err = s_err_from_errno (e);
        return NULL;
    }
    return s;
}

/* ---- scan on open ---- */

/* Checks the record at P (AVAIL bytes available) expected to carry seq
 * WANT. Returns NULL if valid (and sets *TOTAL, *TOPIC, *TLEN), else the
 * reason it is not. */
static const char *
s_rec_check (const unsigned char *p, uint64_t avail, uint64_t want,
             uint64_t *total, const char **topic, size_t *tlen)
{
    if (avail < REC_HDR)
        return "short record header";
    uint32_t len = s_get_le32 (p);
    if (len < REC_MIN_LEN || len > REC_MAX_LEN)
        return "bad record length";
    if (avail - REC_HDR < len)
        return "short record";
    if (crc32c (0, p + REC_HDR, len) != s_get_le32 (p + 4))
        return "bad CRC";
    if (s_get_le64 (p + 8) != want)
        return "unexpected seq";
    size_t tl = s_get_le16 (p + 16);
    if (tl == 0 || tl > EVENT_MAX_TOPIC || REC_FIXED + tl >= len)
        return "bad topic length";
    *total = REC_HDR + len;
    *topic = (const char *) p + REC_HDR + REC_FIXED;
    *tlen = tl;
    return NULL;
}

/* Indexes the records of S mapped at MAP (FSIZE bytes). Returns the offset
 * where the valid records end; *WHY gets the reason if that is not FSIZE. */
static vl_err_t
s_seg_index (journal_t *self, seg_t *s, const unsigned char *map,
             uint64_t fsize, uint64_t *end, const char **why)
{
    uint64_t off = SEG_HDR;
    *why = NULL;
    while (off < fsize) {
        uint64_t total;
        const char *topic;
        size_t tlen;
        *why = s_rec_check (map + off, fsize - off, s->base + s->idx.n,
                            &total, &topic, &tlen);
        if (!*why && off > UINT32_MAX)
            *why = "segment too large";
        if (*why)
            break;
        uint32_t tid;
        vl_err_t rc = jindex_topics_intern (self->topics, topic, tlen, &tid);
        if (rc == VL_OK)
            rc = jindex_vec_push (&s->idx, tid, (uint32_t) off);
        if (rc != VL_OK)
            return rc;
        off += total;
    }
    *end = off;
    return VL_OK;
}

/* Last segment shorter than its header (crash while creating it): writes
 * the header again if what is there is a prefix of it. */
static vl_err_t
s_seg_repair_header (journal_t *self, seg_t *s, uint64_t fsize)
{
    unsigned char hdr[SEG_HDR];
    s_seg_header (hdr, s->base);
    if (fsize > 0) {
        unsigned char got[SEG_HDR];
        if (pread (s->fd, got, fsize, 0) != (ssize_t) fsize
            || memcmp (got, hdr, fsize) != 0) {
            log_error ("journal: %s: not a veille journal segment", s->path);
            return VL_ECORRUPT;
        }
    }
    log_warn ("journal: %s: torn segment header (%" PRIu64 " bytes): rewritten",
              s->path, fsize);
    if (s_seg_write_header (self, s) < 0)
        return s_err_from_errno (errno);
    return VL_OK;
}

/* What to do with the bytes after the last valid record of S. */
static vl_err_t
s_seg_cut_tail (seg_t *s, bool last, uint64_t end, uint64_t fsize, const char *why)
{
    if (!last) {
        log_error ("journal: %s: corrupt record at offset %" PRIu64 " (%s): "
                   "the %" PRIu64 " bytes after it are not served",
                   s->path, end, why, fsize - end);
        return VL_OK;
    }
    log_warn ("journal: %s: torn or corrupt tail at offset %" PRIu64 " (%s): "
              "cut %" PRIu64 " bytes", s->path, end, why, fsize - end);
    if (ftruncate (s->fd, (off_t) end) < 0 || fdatasync (s->fd) < 0) {
        log_error ("journal: %s: cannot cut the tail: %s", s->path, strerror (errno));
        return s_err_from_errno (errno);
    }
    return VL_OK;
}

static vl_err_t
s_seg_scan (journal_t *self, seg_t *s, bool last)
{
    struct stat st;
    if (fstat (s->fd, &st) < 0)
        return VL_EIO;
    uint64_t fsize = (uint64_t) st.st_size;
    s->mtime_ms = s_mtime_ms (&st);
    if (fsize < SEG_HDR) {
        if (last)
            return s_seg_repair_header (self, s, fsize);
        log_error ("journal: %s: truncated segment header; ignored", s->path);
        s->size = fsize;
        return VL_OK;
    }
    unsigned char *map = mmap (NULL, fsize, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (map == MAP_FAILED) {
        log_error ("journal: %s: mmap: %s", s->path, strerror (errno));
        return VL_EIO;
    }
    unsigned char hdr[SEG_HDR];
    s_seg_header (hdr, s->base);
    if (memcmp (map, hdr, SEG_HDR) != 0) {
        munmap (map, fsize);
        log_error ("journal: %s: not a veille journal segment (bad header)", s->path);
        return VL_ECORRUPT;
    }
    uint64_t end;
    const char *why;
    vl_err_t rc = s_seg_index (self, s, map, fsize, &end, &why);
    munmap (map, fsize);
    if (rc != VL_OK)
        return rc;
    s->size = end;
    return end < fsize ? s_seg_cut_tail (s, last, end, fsize, why) : VL_OK;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* True if NAME is a segment file name; *BASE gets its seq. */
static bool
s_seg_name (const char *name, uint64_t *base)
{
    if (strlen (name) != SEG_NAME_LEN || strcmp (name + 20, ".vlj") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t) (name[i] - '0');
    }
    *base = v;
    return v > 0;
}

/* Sorted bases of the segment files in DIR (malloc'd into *OUT). */
static vl_err_t
s_list_segments (const char *dir, uint64_t **out, size_t *n)
{
    DIR *d = opendir (dir);
    if (!d) {
        log_error ("journal: %s: %s", dir, strerror (errno));
        return VL_EIO;
    }
    uint64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir (d)) != NULL) {
        uint64_t base;
        if (!s_seg_name (de->d_name, &base))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc (v, cap * sizeof *nv);
            if (!nv) {
                free (v);
                closedir (d);
                return VL_ENOMEM;
            }
            v = nv;
        }
        v[cnt++] = base;
    }
    closedir (d);
    if (cnt)
        qsort (v, cnt, sizeof *v, s_cmp_u64);
    *out = v;
    *n = cnt;
    return VL_OK;
}

static vl_err_t
s_lock_dir (journal_t *self)
{
    size_t n = strlen (self->dir) + 8;
    char *path = malloc (n);
    if (!path)
        return VL_ENOMEM;
    snprintf (path, n, "%s/LOCK", self->dir);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    vl_err_t rc = VL_OK;
    if (self->lock_fd < 0) {
        log_error ("journal: %s: %s", path, strerror (errno));
        rc = VL_EIO;
    }
    else if (flock (self->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        log_error ("journal: %s is in use by another process", self->dir);
        rc = VL_EAGAIN;
    }
    free (path);
    return rc;
}

static vl_err_t
s_load_segments (journal_t *self)
{
    uint64_t *bases;
    size_t n;
    vl_err_t rc = s_list_segments (self->dir, &bases, &n);
    if (rc != VL_OK)
        return rc;
    for (size_t i = 0; i < n && rc == VL_OK; i++) {
        seg_t *s = s_seg_alloc (self->dir, bases[i]);
        if (!s) {
            rc = VL_ENOMEM;
            break;
        }
        s->fd = open (s->path, O_RDWR | O_CLOEXEC);
        if (s->fd < 0) {
            log_error ("journal: %s: %s", s->path, strerror (errno));
            s_seg_free (s);
            rc = VL_EIO;
            break;
        }
        rc = s_segs_push (self, s);
        if (rc != VL_OK) {
            s_seg_free (s);
            break;
        }
        rc = s_seg_scan (self, s, i == n - 1);
        if (rc == VL_OK && i > 0) {
            const seg_t *prev = self->segs[i - 1];
            if (s->base < prev->base + prev->idx.n) {
                log_error ("journal: %s overlaps %s", s->path, prev->path);
                rc = VL_ECORRUPT;
            }
        }
    }
    free (bases);
    return rc;
}

/* Writes a fresh random epoch to DIR/EPOCH (tmp file, fsync, rename,
 * fsync of the directory). */
static vl_err_t
s_epoch_create (journal_t *self, const char *path)
{
    do
        randombytes_buf (&self->epoch, sizeof self->epoch);
    while (self->epoch == 0);
    char tmp[PATH_MAX + 8], text[24];
    int n = snprintf (text, sizeof text, "%016" PRIx64 "\n", self->epoch);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return VL_EIO;
    bool ok = write (fd, text, (size_t) n) == n && fsync (fd) == 0;
    ok = close (fd) == 0 && ok;
    if (!ok || rename (tmp, path) < 0) {
        unlink (tmp);
        return VL_EIO;
    }
    int dfd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
    }
    log_info ("journal: new epoch %016" PRIx64, self->epoch);
    return VL_OK;
}

/* Reads DIR/EPOCH, or creates it (a new journal, or one from a version
 * without epochs). */
static vl_err_t
s_epoch_load (journal_t *self)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/EPOCH", self->dir);
    char *text = NULL;
    size_t len = 0;
    vl_err_t rc = util_read_file (path, 64, &text, &len);
    if (rc == VL_ENOTFOUND)
        return s_epoch_create (self, path);
    if (rc != VL_OK) {
        log_error ("journal: cannot read %s: %s", path, vl_strerror (rc));
        return rc == VL_ETOOBIG ? VL_ECORRUPT : rc;
    }
    char *end = NULL;
    self->epoch = strtoull (text, &end, 16);
    bool ok = len == 17 && end == text + 16 && *end == '\n' && self->epoch != 0;
    free (text);
    if (!ok) {
        log_error ("journal: %s is not 16 hex digits", path);
        return VL_ECORRUPT;
    }
    return VL_OK;
}

uint64_t
journal_epoch (const journal_t *self)
{
    return self->epoch;
}

static vl_err_t
s_open (journal_t *self, const char *dir)
{
    self->dir = util_strdup (dir);
    self->topics = jindex_topics_new ();
    self->wcap = self->opts.batch_bytes > REC_HDR + REC_MAX_LEN
                 ? self->opts.batch_bytes : REC_HDR + REC_MAX_LEN;
    self->wbuf = malloc (self->wcap);
    self->rcap = READ_WINDOW > REC_HDR + REC_MAX_LEN ? READ_WINDOW : REC_HDR + REC_MAX_LEN;
    self->rbuf = malloc (self->rcap);
    if (self->opts.fsync == JOURNAL_FSYNC_INTERVAL)
        self->syncer = syncer_new ();
    if (!self->dir || !self->topics || !self->wbuf || !self->rbuf
        || (self->opts.fsync == JOURNAL_FSYNC_INTERVAL && !self->syncer))
        return VL_ENOMEM;
    vl_err_t rc = util_mkdirs (dir);
    if (rc != VL_OK) {
        log_error ("journal: cannot create %s: %s", dir, vl_strerror (rc));
        return rc;
    }
    if ((rc = s_lock_dir (self)) != VL_OK || (rc = s_load_segments (self)) != VL_OK
        || (rc = s_epoch_load (self)) != VL_OK)
        return rc;
    if (self->nsegs == 0) {
        seg_t *s = s_seg_create (self, 1, &rc);
        if (!s)
            return rc;
        if ((rc = s_segs_push (self, s)) != VL_OK) {
            s_seg_free (s);
            return rc;
        }
    }
    seg_t *a = s_active (self);
    self->committed_n = a->idx.n;
    self->next_seq = a->base + a->idx.n;
    self->head = self->next_seq - 1;
    for (size_t i = 0; i < self->nsegs; i++)
        self->total_bytes += self->segs[i]->size;
    self->last_sync_mono = util_mono_ms ();
    return VL_OK;
}

journal_t *
journal_open (const char *dir, const journal_opts_t *opts, vl_err_t *err)
{
    journal_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = VL_ENOMEM;
        return NULL;
    }
    self->lock_fd = -1;
    self->opts = opts ? *opts : journal_opts_default ();
    s_opts_fix (&self->opts);
    vl_err_t rc = s_open (self, dir);
    if (rc != VL_OK) {
        journal_destroy (&self);
        *err = rc;
        return NULL;
    }
    journal_stats_t st;
    journal_stats (self, &st);
    log_info ("journal: %s: %zu segments, %" PRIu64 " records (first %" PRIu64
              ", head %" PRIu64 "), %" PRIu64 " bytes", dir, st.segments, st.records,
              st.first, st.head, st.bytes);
    *err = VL_OK;
    return self;
}

void
journal_destroy (journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    journal_t *self = *self_p;
    if (self->nsegs > 0) {
        journal_rollback (self);
        journal_sync (self);
    }
    syncer_destroy (&self->syncer);
    for (size_t i = 0; i < self->nsegs; i++)
        s_seg_free (self->segs[i]);
    free (self->segs);
    jindex_topics_destroy (&self->topics);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    free (self->wbuf);
    free (self->rbuf);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/* ---- writing ---- */

/* Closes the active segment (synced) and starts one at next_seq. */
static vl_err_t
s_roll (journal_t *self)
{
    vl_err_t rc = journal_sync (self);
    if (rc != VL_OK)
        return rc;
    seg_t *s = s_seg_create (self, self->next_seq, &rc);
    if (!s)
        return rc;
    if ((rc = s_segs_push (self, s)) != VL_OK) {
        unlink (s->path);
        s_seg_free (s);
        return rc;
    }
    self->committed_n = 0;
    self->total_bytes += s->size;
    log_info ("journal: new segment %s", s->path);
    return VL_OK;
}

vl_err_t
journal_append (journal_t *self, const char *topic, size_t tlen,
                const void *event, size_t elen, uint64_t *seq_out)
{
    if (tlen == 0 || tlen > EVENT_MAX_TOPIC || elen == 0)
        return VL_EINVAL;
    if (elen > EVENT_MAX_BYTES)
        return VL_ETOOBIG;
    size_t len = REC_FIXED + tlen + elen, total = REC_HDR + len;
    seg_t *a = s_active (self);
    uint64_t seg_max = (uint64_t) self->opts.segment_bytes;
    if (self->wlen > 0 && (self->wlen + total > self->opts.batch_bytes
                           || a->size + self->wlen + total > seg_max))
        return VL_EAGAIN;
    if (self->wlen == 0 && a->idx.n > 0 && a->size + total > seg_max) {
        vl_err_t rc = s_roll (self);
        if (rc != VL_OK)
            return rc;
        a = s_active (self);
    }
    uint32_t tid;
    vl_err_t rc = jindex_topics_intern (self->topics, topic, tlen, &tid);
    if (rc == VL_OK)
        rc = jindex_vec_push (&a->idx, tid, (uint32_t) (a->size + self->wlen));
    if (rc != VL_OK)
        return rc;
    unsigned char *p = self->wbuf + self->wlen;
    s_put_le32 (p, (uint32_t) len);
    s_put_le64 (p + 8, self->next_seq);
    s_put_le16 (p + 16, (uint16_t) tlen);
    memcpy (p + REC_HDR + REC_FIXED, topic, tlen);
    memcpy (p + REC_HDR + REC_FIXED + tlen, event, elen);
    s_put_le32 (p + 4, crc32c (0, p + REC_HDR, len));
    self->wlen += total;
    *seq_out = self->next_seq++;
    return VL_OK;
}

void
journal_rollback (journal_t *self)
{
    seg_t *a = s_active (self);
    a->idx.n = self->committed_n;
    self->next_seq = a->base + self->committed_n;
    self->wlen = 0;
}

/* A commit failed with ERRNUM: forget the batch, cut the file back. */
static vl_err_t
s_commit_failed (journal_t *self, const char *what, int errnum)
{
    seg_t *a = s_active (self);
    log_debug ("journal: %s %s: %s", what, a->path, strerror (errnum));
    if (ftruncate (a->fd, (off_t) a->size) < 0)
        log_error ("journal: %s: cannot truncate back to %" PRIu64 ": %s",
                   a->path, a->size, strerror (errno));
    journal_rollback (self);
    return s_err_from_errno (errnum);
}

vl_err_t
journal_commit (journal_t *self)
{
    if (self->wlen == 0)
        return VL_OK;
    seg_t *a = s_active (self);
    if (s_pwrite_all (a->fd, self->wbuf, self->wlen, a->size) < 0)
        return s_commit_failed (self, "write", errno);
    bool sync = self->opts.fsync == JOURNAL_FSYNC_BATCH;
    if (sync) {
        if (fdatasync (a->fd) < 0)
            return s_commit_failed (self, "fsync", errno);
        self->last_sync_mono = util_mono_ms ();
    }
    self->dirty = !sync;
    self->commits++;
    a->size += self->wlen;
    a->mtime_ms = util_now_ms ();
    self->total_bytes += self->wlen;
    self->committed_n = a->idx.n;
    self->head = self->next_seq - 1;
    self->wlen = 0;
    return VL_OK;
}

/* Takes the outcome of a background sync that is over, if any. */
static void
s_sync_collect (journal_t *self)
{
    uint64_t gen;
    int errnum;
    if (!self->syncer || !syncer_poll (self->syncer, &gen, &errnum))
        return;
    if (errnum != 0)
        log_error ("journal: fsync %s: %s", s_active (self)->path, strerror (errnum));
    else if (gen == self->commits)
        self->dirty = false;    /* nothing was written since it started */
}

vl_err_t
journal_sync (journal_t *self)
{
    if (self->syncer) {
        syncer_wait (self->syncer);
        s_sync_collect (self);
    }
    if (!self->dirty)
        return VL_OK;
    seg_t *a = s_active (self);
    if (fdatasync (a->fd) < 0) {
        log_error ("journal: fsync %s: %s", a->path, strerror (errno));
        return s_err_from_errno (errno);
    }
    self->dirty = false;
    self->last_sync_mono = util_mono_ms ();
    return VL_OK;
}

int
journal_tick (journal_t *self, int64_t now_mono)
{
    if (!self->syncer)
        return -1;
    s_sync_collect (self);
    if (!self->dirty)
        return -1;
    if (syncer_busy (self->syncer))
        return SYNC_POLL_MS;
    int64_t due = self->last_sync_mono + self->opts.fsync_interval_ms;
    if (now_mono < due)
        return (int) (due - now_mono);
    syncer_request (self->syncer, s_active (self)->fd, self->commits);
    self->last_sync_mono = now_mono;
    return SYNC_POLL_MS;
}

static bool
s_should_delete (const journal_t *self, const seg_t *s, int64_t now_ms)
{
    if (self->opts.retention_bytes > 0
        && self->total_bytes > (uint64_t) self->opts.retention_bytes)
        return true;
    return self->opts.retention_ms > 0 && s->mtime_ms < now_ms - self->opts.retention_ms;
}

size_t
journal_retain (journal_t *self, int64_t now_ms)
{
    size_t deleted = 0;
    while (self->nsegs > 1 && s_should_delete (self, self->segs[0], now_ms)) {
        seg_t *s = self->segs[0];
        if (unlink (s->path) < 0) {
            log_error ("journal: cannot delete %s: %s", s->path, strerror (errno));
            break;
        }
        log_info ("journal: retention deleted %s (%zu records, %" PRIu64 " bytes)",
                  s->path, s->idx.n, s->size);
        self->total_bytes -= s->size;
        if (self->rseg == s)
            self->rseg = NULL;
        s_seg_free (s);
        memmove (self->segs, self->segs + 1, --self->nsegs * sizeof *self->segs);
        deleted++;
    }
    return deleted;
}

/* ---- reading ---- */

uint64_t
journal_head (const journal_t *self)
{
    return self->head;
}

uint64_t
journal_first (const journal_t *self)
{
    for (size_t i = 0; i < self->nsegs; i++) {
        const seg_t *s = self->segs[i];
        size_t n = i + 1 == self->nsegs ? self->committed_n : s->idx.n;
        if (n > 0)
            return s->base;
    }
    return self->head + 1;
}

void
journal_stats (const journal_t *self, journal_stats_t *out)
{
    memset (out, 0, sizeof *out);
    out->first = journal_first (self);
    out->head = self->head;
    out->bytes = self->total_bytes;
    out->segments = self->nsegs;
    out->topics = jindex_topics_count (self->topics);
    out->index_bytes = jindex_topics_memory (self->topics);
    for (size_t i = 0; i < self->nsegs; i++) {
        out->records += self->segs[i]->idx.n;
        out->index_bytes += self->segs[i]->idx.cap * sizeof (jindex_entry_t);
    }
    out->records -= s_active (self)->idx.n - self->committed_n;
}

size_t
journal_topic_count (const journal_t *self)
{
    return jindex_topics_count (self->topics);
}

const char *
journal_topic_name (const journal_t *self, uint32_t tid, size_t *len)
{
    return jindex_topics_name (self->topics, tid, len);
}

/* Committed entries of segment I. */
static size_t
s_seg_count (const journal_t *self, size_t i)
{
    return i + 1 == self->nsegs ? self->committed_n : self->segs[i]->idx.n;
}

/* Index of the first segment holding a committed seq > AFTER. */
static size_t
s_seg_find (const journal_t *self, uint64_t after)
{
    size_t lo = 0, hi = self->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->segs[mid]->base + s_seg_count (self, mid) <= after + 1)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool
s_match (const journal_query_t *q, uint32_t tid)
{
    return !q->match || (tid < q->nmatch && q->match[tid]);
}

/* End offset of entry I of S (N committed entries). */
static uint64_t
s_rec_end (const seg_t *s, size_t i, size_t n)
{
    return i + 1 < n ? s->idx.v[i + 1].off : s->size;
}

/* Makes entry I of S readable in the window: one pread covering the run
 * of matching entries that follow it, up to the window size. */
static vl_err_t
s_window_load (journal_t *self, const seg_t *s, size_t i, size_t iend,
               size_t n, const journal_query_t *q)
{
    uint64_t off = s->idx.v[i].off, end = s_rec_end (s, i, n);
    if (self->rseg == s && off >= self->roff && end <= self->roff + self->rlen)
        return VL_OK;
    if (end - off > self->rcap)
        return VL_ECORRUPT;
    for (size_t k = i + 1; k < iend && s_match (q, s->idx.v[k].tid); k++) {
        uint64_t e = s_rec_end (s, k, n);
        if (e - off > self->rcap)
            break;
        end = e;
    }
    self->rseg = NULL;
    size_t want = (size_t) (end - off), got = 0;
    while (got < want) {
        ssize_t r = (self->pread_fn ? self->pread_fn : pread) (
            s->fd, self->rbuf + got, want - got, (off_t) (off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            log_error ("journal: read %s at %" PRIu64 ": %s (query stopped before "
                       "seq %" PRIu64 ")", s->path, off + got,
                       r < 0 ? strerror (errno) : "unexpected end of file",
                       s->base + i);
            return VL_EIO;
        }
        got += (size_t) r;
    }
    self->rseg = s;
    self->roff = off;
    self->rlen = want;
    return VL_OK;
}

/* Reads entry I of S into *REC. VL_ECORRUPT (logged): the record was read
 * and failed its check, skip it; VL_EIO (logged): it could not be read,
 * stop (it may be intact). */
static vl_err_t
s_read_rec (journal_t *self, const seg_t *s, size_t i, size_t iend, size_t n,
            const journal_query_t *q, journal_rec_t *rec)
{
    vl_err_t rc = s_window_load (self, s, i, iend, n, q);
    if (rc != VL_OK)
        return rc;
    uint64_t off = s->idx.v[i].off, end = s_rec_end (s, i, n), total;
    const unsigned char *p = self->rbuf + (off - self->roff);
    const char *topic;
    size_t tlen;
    const char *why = s_rec_check (p, end - off, s->base + i, &total, &topic, &tlen);
    if (why || total != end - off) {
        log_error ("journal: %s: record at offset %" PRIu64 " failed its check "
                   "on read (%s); skipped", s->path, off, why ? why : "length");
        return VL_ECORRUPT;
    }
    rec->seq = s->base + i;
    rec->topic = topic;
    rec->topic_len = tlen;
    rec->event = topic + tlen;
    rec->event_len = total - REC_HDR - REC_FIXED - tlen;
    return VL_OK;
}

/* Scans segment SI over (after, upto]; see journal_query. Returns 1 when
 * the query is finished (limit reached or FN stopped), else 0. */
static int
s_query_seg (journal_t *self, size_t si, const journal_query_t *q, uint64_t upto,
             journal_visit_fn fn, void *arg, journal_result_t *res, vl_err_t *rc)
{
    const seg_t *s = self->segs[si];
    size_t n = s_seg_count (self, si);
    size_t i = q->after + 1 > s->base ? (size_t) (q->after + 1 - s->base) : 0;
    size_t iend = upto - s->base + 1 < n ? (size_t) (upto - s->base + 1) : n;
    for (; i < iend; i++) {
        if (!s_match (q, s->idx.v[i].tid))
            continue;
        if (!fn) {
            res->count++;
            continue;
        }
        if (res->count >= q->limit) {
            res->more = true;
            return 1;
        }
        journal_rec_t rec;
        vl_err_t rrc = s_read_rec (self, s, i, iend, n, q, &rec);
        if (rrc == VL_ECORRUPT)
            continue;
        if (rrc != VL_OK) {
            *rc = rrc;
            res->more = true;
            return 1;
        }
        if (fn (arg, &rec) != 0) {
            *rc = VL_EINTR;
            return 1;
        }
        res->count++;
        res->next = rec.seq;
    }
    return 0;
}

void
journal_set_pread (journal_t *self, journal_pread_fn fn)
{
    self->pread_fn = fn;
}

vl_err_t
journal_query (journal_t *self, const journal_query_t *q, journal_visit_fn fn,
               void *arg, journal_result_t *res)
{
    memset (res, 0, sizeof *res);
    res->head = self->head;
    res->first = journal_first (self);
    uint64_t upto = q->upto < self->head ? q->upto : self->head;
    res->next = q->after;
    if (q->after >= upto)
        return VL_OK;
    self->rseg = NULL;
    vl_err_t rc = VL_OK;
    for (size_t si = s_seg_find (self, q->after); si < self->nsegs; si++) {
        if (self->segs[si]->base > upto)
            break;
        if (s_query_seg (self, si, q, upto, fn, arg, res, &rc))
            return rc;
    }
    res->next = upto;
    return VL_OK;
}
