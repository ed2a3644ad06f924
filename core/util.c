/* util.c: time, hashing, hex, UTF-8, files, secrets, signals. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "buf.h"
#include "util.h"

/* a secret file (password, token) larger than this is a mistake */
#define SECRET_MAX_BYTES (64 * 1024)

int64_t
util_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_hex (const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

void
util_hash_hex (const void *data, size_t len, char out[33])
{
    unsigned char digest[16];
    crypto_generichash (digest, sizeof digest, data, len, NULL, 0);
    util_hex (digest, sizeof digest, out);
}

size_t
util_utf8_decode (const void *at, size_t avail, uint32_t *cp)
{
    const unsigned char *p = at;
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF)      { n = 2; v = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; }
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF))
        || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

bool
util_cp_unsafe (uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)
        || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)
        || cp == 0x200E || cp == 0x200F || cp == 0x061C
        || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF
        || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

bool
util_utf8_valid (const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) {   /* ASCII fast path: 8 bytes, no high bit set */
            uint64_t w;
            memcpy (&w, p + i, sizeof w);
            if (!(w & UINT64_C (0x8080808080808080))) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = util_utf8_decode (p + i, len - i, &cp);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

size_t
util_utf8_cut (const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char) s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

char *
util_strndup_utf8 (const char *s, size_t max)
{
    size_t len = strlen (s);
    size_t cut = util_utf8_cut (s, len, max);
    char *out = malloc (cut + 1);
    if (!out)
        return NULL;
    memcpy (out, s, cut);
    out[cut] = '\0';
    return out;
}

void
util_put_be64 (unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char) (v & 0xFF);
        v >>= 8;
    }
}

uint64_t
util_get_be64 (const unsigned char in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

char *
util_strdup (const char *s)
{
    return s ? strdup (s) : NULL;
}

/* Reads FD to its end into a buffer capped at MAX bytes (at most MAX + 1
 * bytes are read, enough to tell "exactly MAX" from "too big"). Caller frees
 * *OUT; the descriptor stays open. */
static vl_err_t
read_fd (int fd, size_t max, char **out, size_t *len)
{
    buf_t b;
    buf_init (&b, max);
    char chunk[4096];
    vl_err_t rc = VL_OK;
    for (;;) {
        ssize_t got = read (fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = VL_EIO;
            break;
        }
        if (got == 0)
            break;
        rc = buf_append (&b, chunk, (size_t) got);
        if (rc)
            break;
    }
    if (rc == VL_OK) {
        *len = b.len;
        *out = buf_steal (&b);
        rc = *out ? VL_OK : VL_ENOMEM;
    }
    buf_free (&b);
    return rc;
}

vl_err_t
util_read_file (const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vl_err_from_errno (errno);
    size_t n = 0;
    vl_err_t rc = read_fd (fd, max, out, &n);
    close (fd);
    if (rc == VL_OK && len)
        *len = n;
    return rc;
}

vl_err_t
util_mkdirs (const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen (dir);
    if (len == 0 || len >= sizeof path)
        return VL_EINVAL;
    memcpy (path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir (path, 0750) != 0 && errno != EEXIST)
            return vl_err_from_errno (errno);
        *p = '/';
    }
    if (mkdir (path, 0750) != 0 && errno != EEXIST)
        return vl_err_from_errno (errno);
    return VL_OK;
}

size_t
util_edit_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 64 || lb > 64)
        return la > lb ? la : lb;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void
strip_newline (char *s)
{
    size_t n = strlen (s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

vl_err_t
util_read_secret (const char *env_name, const char *file_path, char **out)
{
    *out = NULL;
    const char *env = env_name && *env_name ? getenv (env_name) : NULL;
    if (env) {
        *out = strdup (env);
        return *out ? VL_OK : VL_ENOMEM;
    }
    if (!file_path || !*file_path)
        return VL_ENOTFOUND;
    /* O_NONBLOCK: a FIFO planted at the path must not hang the open */
    int fd = open (file_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ELOOP ? VL_EDENIED : vl_err_from_errno (errno);
    struct stat st;
    vl_err_t rc = VL_EDENIED;
    size_t len;
    /* read through the descriptor that was checked: a reopen by path would
     * race with a rename and undo O_NOFOLLOW */
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && !(st.st_mode & 077))
        rc = read_fd (fd, SECRET_MAX_BYTES, out, &len);
    close (fd);
    if (rc == VL_OK)
        strip_newline (*out);
    return rc;
}

#define HUGE_PAGE (2u << 20)

void *
util_table_calloc (size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return calloc (1, bytes ? bytes : 1);
    void *p = NULL;
    if (bytes > SIZE_MAX - HUGE_PAGE)
        return NULL;
    bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (posix_memalign (&p, HUGE_PAGE, bytes) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise (p, bytes, MADV_HUGEPAGE);
#endif
    memset (p, 0, bytes);
    return p;
}

void
util_signals (void (*stop) (int), void (*hup) (int))
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sigemptyset (&sa.sa_mask);
    sa.sa_handler = stop;
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    if (hup) {
        sa.sa_handler = hup;
        sigaction (SIGHUP, &sa, NULL);
    }
    sa.sa_handler = SIG_IGN;
    sigaction (SIGPIPE, &sa, NULL);
}
