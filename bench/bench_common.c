/* bench_common.c: see bench_common.h. */
#include "bench_common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buf.h"
#include "event.h"
#include "util.h"

uint64_t bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void bench_sleep_until (uint64_t abs_ns)
{
    struct timespec ts = { .tv_sec = (time_t) (abs_ns / 1000000000u),
                           .tv_nsec = (long) (abs_ns % 1000000000u) };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- text from the seeds ---- */

static const char FALLBACK_TEXT[] =
    "La lutte contre l'utilisation d'Internet à des fins terroristes : "
    "l'Équipe spéciale coordonne les efforts aux échelles internationale et "
    "régionale, dans le respect des droits de l'homme. ";

/* Returns a malloc'd string of the seed texts, white space folded, at least
 * MIN bytes long (the text is repeated). */
static char *seed_text (const char *dir, size_t min)
{
    buf_t all;
    buf_init (&all, (64u << 20) + min + sizeof FALLBACK_TEXT);   /* 64 files of 1 MiB */
    DIR *d = dir ? opendir (dir) : NULL;
    if (d) {
        struct dirent *de;
        char *names[64];
        size_t n = 0;
        while ((de = readdir (d)) && n < 64)
            if (strstr (de->d_name, ".txt"))
                names[n++] = strdup (de->d_name);
        closedir (d);
        for (size_t i = 0; i < n; i++) {
            char path[4096], *data = NULL;
            size_t len = 0;
            snprintf (path, sizeof path, "%s/%s", dir, names[i]);
            if (util_read_file (path, 1 << 20, &data, &len) == VL_OK
                && util_utf8_valid (data, len)) {
                bool space = true;
                for (size_t k = 0; k < len; k++) {
                    unsigned char c = (unsigned char) data[k];
                    if (c < 0x20 || c == ' ') {
                        if (!space)
                            buf_putc (&all, ' ');
                        space = true;
                    } else {
                        buf_putc (&all, (char) c);
                        space = false;
                    }
                }
            }
            free (data);
            free (names[i]);
        }
    }
    if (all.len == 0)
        buf_puts (&all, FALLBACK_TEXT);
    size_t base = all.len;
    buf_reserve (&all, min > base ? min - base : 0);   /* all.data stays put below */
    while (all.len < min)
        buf_append (&all, all.data, base < min - all.len ? base : min - all.len);
    return buf_steal (&all);
}

/* Copies exactly N bytes of valid UTF-8 from TEXT (padding with '.'). */
static char *text_exact (const char *text, size_t n)
{
    char *s = malloc (n + 1);
    if (!s)
        return NULL;
    size_t cut = util_utf8_cut (text, strlen (text), n);
    memcpy (s, text, cut);
    memset (s + cut, '.', n - cut);
    s[n] = '\0';
    return s;
}

static bool encode (const event_t *e, buf_t *out)
{
    buf_reset (out);
    return event_encode (e, out) == VL_OK;
}

bool bench_event_make (bench_event_t *self, const char *topic, size_t size,
                       const char *seeds_dir)
{
    memset (self, 0, sizeof *self);
    char *text = seed_text (seeds_dir, size + 4096);
    if (!text)
        return false;
    event_t e = { .v = EVENT_VERSION, .detected = 1700000000000, .has_published = true,
                  .published = 1700000000 };
    bool ok = event_set (&e.id, "ffffffffffffffffeeeeeeeeeeeeeeee") == VL_OK
        && event_set (&e.type, "new") == VL_OK
        && event_set (&e.source, "bench") == VL_OK
        && event_set (&e.topic, topic) == VL_OK
        && event_set (&e.url, "https://www.un.org/fr/terrorism/ctitf/bench/item") == VL_OK
        && event_set (&e.hash, "0123456789abcdef0123456789abcdef") == VL_OK;
    char *title = ok ? text_exact (text, 60) : NULL;
    ok = ok && title && event_set (&e.title, title) == VL_OK;
    free (title);
    buf_t out;
    buf_init (&out, EVENT_MAX_BYTES);
    size_t want = 0;
    /* Grow the summary until the encoding has exactly SIZE bytes (the
     * msgpack string header grows by steps, hence the loop). */
    for (int round = 0; ok && round < 8; round++) {
        char *summary = text_exact (text + 61, want);
        ok = summary && event_set (&e.summary, want ? summary : NULL) == VL_OK
             && encode (&e, &out);
        free (summary);
        if (!ok || out.len == size || (out.len > size && want == 0))
            break;
        want = out.len < size ? want + (size - out.len) : want - (out.len - size);
    }
    free (text);
    event_clear (&e);
    if (!ok) {
        buf_free (&out);
        return false;
    }
    self->len = out.len;
    self->data = (unsigned char *) buf_steal (&out);
    unsigned char *p = memmem (self->data, self->len, "ffffffffffffffffeeeeeeeeeeeeeeee", 32);
    if (!p) {
        bench_event_free (self);
        return false;
    }
    self->id_off = (size_t) (p - self->data);
    return true;
}

static void put_hex (unsigned char *out, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = (unsigned char) hex[v & 15];
        v >>= 4;
    }
}

void bench_event_stamp (bench_event_t *self, uint64_t ts_ns, unsigned nonce,
                        unsigned pub, uint64_t counter)
{
    unsigned char *p = self->data + self->id_off;
    put_hex (p, ts_ns, 16);
    put_hex (p + 16, nonce, 4);
    put_hex (p + 20, pub, 2);
    put_hex (p + 22, counter, 10);
}

void bench_event_free (bench_event_t *self)
{
    free (self->data);
    memset (self, 0, sizeof *self);
}

bool bench_event_ts (const void *data, size_t len, uint64_t *ts_ns)
{
    /* msgpack: fixstr "id" = a2 69 64, then str8 of 32 bytes = d9 20 */
    const unsigned char *p = memmem (data, len, "\xa2id\xd9\x20", 5);
    if (!p || (size_t) (p - (const unsigned char *) data) + 5 + 32 > len)
        return false;
    p += 5;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        unsigned char c = p[i];
        unsigned d = c >= 'a' ? (unsigned) (c - 'a' + 10) : (unsigned) (c - '0');
        v = (v << 4) | (d & 15);
    }
    *ts_ns = v;
    return true;
}

/* ---- histogram ---- */

void bench_hist_add (bench_hist_t *self, uint64_t v)
{
    unsigned e = 0;
    uint64_t m = v;
    while (m >= 2 * BENCH_HIST_SUB) {
        m >>= 1;
        e++;
    }
    /* v in [0, 128) -> e = 0, sub = v/2 ... keep 64 linear sub-buckets */
    unsigned sub = (unsigned) (m >= BENCH_HIST_SUB ? m - BENCH_HIST_SUB : m);
    unsigned row = m >= BENCH_HIST_SUB ? e + 1 : 0;
    if (row >= BENCH_HIST_EXP)
        row = BENCH_HIST_EXP - 1, sub = BENCH_HIST_SUB - 1;
    self->b[row][sub]++;
    self->count++;
    if (v > self->max)
        self->max = v;
}

void bench_hist_merge (bench_hist_t *dst, const bench_hist_t *src)
{
    for (int r = 0; r < BENCH_HIST_EXP; r++)
        for (int s = 0; s < BENCH_HIST_SUB; s++)
            dst->b[r][s] += src->b[r][s];
    dst->count += src->count;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* Upper bound of bucket (ROW, SUB). */
static uint64_t bucket_top (unsigned row, unsigned sub)
{
    if (row == 0)
        return sub;
    return ((uint64_t) (BENCH_HIST_SUB + sub + 1) << (row - 1)) - 1;
}

uint64_t bench_hist_q (const bench_hist_t *self, double q)
{
    if (self->count == 0)
        return 0;
    uint64_t rank = (uint64_t) ceil (q * (double) self->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned r = 0; r < BENCH_HIST_EXP; r++)
        for (unsigned s = 0; s < BENCH_HIST_SUB; s++) {
            seen += self->b[r][s];
            if (seen >= rank) {
                uint64_t top = bucket_top (r, s);
                return top < self->max ? top : self->max;
            }
        }
    return self->max;
}

/* ---- command line ---- */

const char *bench_arg (int argc, char **argv, const char *name, const char *def)
{
    size_t n = strlen (name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp (a, "--", 2) != 0 || strncmp (a + 2, name, n) != 0)
            continue;
        if (a[2 + n] == '=')
            return a + 3 + n;
        if (a[2 + n] == '\0' && i + 1 < argc)
            return argv[i + 1];
    }
    return def;
}

long long bench_arg_ll (int argc, char **argv, const char *name, long long def)
{
    const char *v = bench_arg (argc, argv, name, NULL);
    return v ? strtoll (v, NULL, 10) : def;
}

double bench_arg_d (int argc, char **argv, const char *name, double def)
{
    const char *v = bench_arg (argc, argv, name, NULL);
    return v ? strtod (v, NULL) : def;
}

double bench_cpu_s (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void bench_result_print (const bench_result_t *r)
{
    double e2e = r->e2e_s > 0 ? r->e2e_s : 1e-9;
    printf ("RESULT system=%s pubs=%d subs=%d size=%zu rate=%.0f sent=%llu "
            "expected=%llu received_min=%llu received_sum=%llu replayed=%llu acked=%llu nacked=%llu "
            "send_s=%.4f e2e_s=%.4f eps=%.0f deliveries_ps=%.0f",
            r->system, r->pubs, r->subs, r->size, r->rate,
            (unsigned long long) r->sent, (unsigned long long) r->expected,
            (unsigned long long) r->received_min, (unsigned long long) r->received_sum,
            (unsigned long long) r->replayed, (unsigned long long) r->acked, (unsigned long long) r->nacked,
            r->send_s, r->e2e_s, (double) r->received_min / e2e,
            (double) r->received_sum / e2e);
    if (r->lat && r->lat->count)
        printf (" lat_n=%llu lat_p50_us=%.1f lat_p99_us=%.1f lat_p999_us=%.1f lat_max_us=%.1f",
                (unsigned long long) r->lat->count,
                bench_hist_q (r->lat, 0.5) / 1e3, bench_hist_q (r->lat, 0.99) / 1e3,
                bench_hist_q (r->lat, 0.999) / 1e3, r->lat->max / 1e3);
    if (r->ack && r->ack->count)
        printf (" ack_n=%llu ack_p50_us=%.1f ack_p99_us=%.1f ack_p999_us=%.1f",
                (unsigned long long) r->ack->count,
                bench_hist_q (r->ack, 0.5) / 1e3, bench_hist_q (r->ack, 0.99) / 1e3,
                bench_hist_q (r->ack, 0.999) / 1e3);
    if (r->sent)
        printf (" client_cpu_us=%.2f", r->client_cpu_s * 1e6 / (double) r->sent);
    printf ("\n");
    fflush (stdout);
}
