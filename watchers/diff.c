/* diff.c: bounded line diff (see diff.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "diff.h"
#include "util.h"

#define DIFF_MAX_CELLS (1000u * 1000u)   /* LCS table cells (uint32 each) */

typedef struct {
    const char *s;
    size_t      len;
} line_t;

typedef struct {
    line_t *v;
    size_t  n;
} lines_t;

static bool
split_lines (const char *text, lines_t *out)
{
    out->v = NULL;
    out->n = 0;
    if (!text || !*text)
        return true;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    out->v = malloc (n * sizeof *out->v);
    if (!out->v)
        return false;
    const char *p = text;
    for (;;) {
        const char *nl = strchr (p, '\n');
        size_t len = nl ? (size_t) (nl - p) : strlen (p);
        out->v[out->n++] = (line_t) { p, len };
        if (!nl)
            break;
        p = nl + 1;
    }
    return true;
}

static bool
line_eq (const line_t *a, const line_t *b)
{
    return a->len == b->len && memcmp (a->s, b->s, a->len) == 0;
}

static int
line_cmp (const line_t *a, const line_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp (a->s, b->s, n);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Output writer that stops once past the cap. */
typedef struct {
    buf_t  out;
    size_t max;
    bool   full;
} writer_t;

static void
emit (writer_t *w, char sign, const line_t *l)
{
    if (w->full)
        return;
    if ((w->out.len && buf_putc (&w->out, '\n')) || buf_putc (&w->out, sign)
        || buf_putc (&w->out, ' ') || buf_append (&w->out, l->s, l->len))
        w->full = true;
    if (w->out.len > w->max)
        w->full = true;
}

/* LCS over A[0..n) and B[0..m); emits in order. */
static bool
lcs_diff (const line_t *a, size_t n, const line_t *b, size_t m, writer_t *w)
{
    uint32_t *t = calloc ((n + 1) * (m + 1), sizeof *t);
    if (!t)
        return false;
#define T(i, j) t[(size_t) (i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            T (i, j) = line_eq (&a[i], &b[j]) ? T (i + 1, j + 1) + 1
                     : (T (i + 1, j) >= T (i, j + 1) ? T (i + 1, j) : T (i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && line_eq (&a[i], &b[j])) {
            i++;
            j++;
        }
        else if (j >= m || (i < n && T (i + 1, j) >= T (i, j + 1)))
            emit (w, '-', &a[i++]);
        else
            emit (w, '+', &b[j++]);
    }
#undef T
    free (t);
    return true;
}

typedef struct {
    line_t line;
    size_t idx;
} sline_t;

static int
sline_cmp (const void *x, const void *y)
{
    const sline_t *a = x, *b = y;
    int c = line_cmp (&a->line, &b->line);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* V sorted by content (stable by index). Caller frees. */
static sline_t *
sorted_lines (const line_t *v, size_t n)
{
    sline_t *s = malloc ((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (sline_t) { v[i], i };
    qsort (s, n, sizeof *s, sline_cmp);
    return s;
}

/* Multiset difference for large inputs: removed lines then added lines,
 * each in their original order. */
static bool
set_diff (const line_t *a, size_t n, const line_t *b, size_t m, writer_t *w)
{
    sline_t *ia = sorted_lines (a, n), *ib = sorted_lines (b, m);
    bool *keep_a = calloc (n + 1, 1), *keep_b = calloc (m + 1, 1);
    bool ok = ia && ib && keep_a && keep_b;
    if (ok) {
        size_t i = 0, j = 0;
        while (i < n && j < m) {
            int c = line_cmp (&ia[i].line, &ib[j].line);
            if (c == 0) {
                keep_a[ia[i++].idx] = true;
                keep_b[ib[j++].idx] = true;
            }
            else if (c < 0)
                i++;
            else
                j++;
        }
        for (i = 0; i < n; i++)
            if (!keep_a[i])
                emit (w, '-', &a[i]);
        for (j = 0; j < m; j++)
            if (!keep_b[j])
                emit (w, '+', &b[j]);
    }
    free (ia);
    free (ib);
    free (keep_a);
    free (keep_b);
    return ok;
}

char *
diff_lines (const char *old_text, const char *new_text, size_t max)
{
    if (max == 0)
        max = DIFF_MAX_BYTES;
    if (max < 8)
        max = 8;
    lines_t a, b;
    if (!split_lines (old_text, &a) || !split_lines (new_text, &b)) {
        free (a.v);
        return NULL;
    }
    size_t pre = 0;
    while (pre < a.n && pre < b.n && line_eq (&a.v[pre], &b.v[pre]))
        pre++;
    size_t suf = 0;
    while (suf < a.n - pre && suf < b.n - pre
           && line_eq (&a.v[a.n - 1 - suf], &b.v[b.n - 1 - suf]))
        suf++;
    size_t n = a.n - pre - suf, m = b.n - pre - suf;
    writer_t w = { .max = max };
    /* emit() stops after the line that crosses MAX: at most one more line */
    buf_init (&w.out, max + 4 + strlen (old_text ? old_text : "")
                      + strlen (new_text ? new_text : ""));
    bool ok;
    if (n <= DIFF_MAX_LCS_LINES && m <= DIFF_MAX_LCS_LINES
        && (n + 1) * (m + 1) <= DIFF_MAX_CELLS)
        ok = lcs_diff (a.v + pre, n, b.v + pre, m, &w);
    else
        ok = false;
    if (!ok) {
        buf_reset (&w.out);
        w.full = false;
        ok = set_diff (a.v + pre, n, b.v + pre, m, &w);
    }
    free (a.v);
    free (b.v);
    if (!ok) {
        buf_free (&w.out);
        return NULL;
    }
    if (w.out.len > max) {
        static const char ELLIPSIS[] = "\xE2\x80\xA6";   /* … */
        size_t cut = util_utf8_cut (w.out.data, w.out.len, max - 3);
        w.out.len = cut;
        w.out.data[cut] = '\0';
        buf_puts (&w.out, ELLIPSIS);
    }
    return buf_steal (&w.out);
}
