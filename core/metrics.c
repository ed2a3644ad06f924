/* metrics.c: Prometheus counters, gauges and histograms; GET /metrics over
 * libmicrohttpd on a loopback address. */
#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "metrics.h"

#define MAX_LABELS     4
#define MAX_COLLECTORS 16
#define RENDER_MAX     (8u * 1024 * 1024)

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype_t;

typedef struct family family_t;

struct metric {
    family_t            *family;
    char                *labels;     /* rendered: k="v",k2="v2" ("" if none) */
    atomic_uint_fast64_t value;      /* counter: integer; gauge: double bits */
    atomic_uint_fast64_t sum;        /* histogram: double bits */
    atomic_uint_fast64_t buckets[METRICS_MAX_BUCKETS + 1];
    metric_t            *next;
};

struct family {
    char      *name, *help;
    mtype_t    type;
    double     bounds[METRICS_MAX_BUCKETS];
    size_t     nbounds;
    metric_t  *first, *last;
    family_t  *next;
};

typedef struct {
    void (*fn) (void *arg, metrics_t *m);
    void *arg;
} collector_t;

struct metrics {
    pthread_mutex_t     mu;
    family_t           *first, *last;
    collector_t         collectors[MAX_COLLECTORS];
    size_t              ncollectors;
    struct MHD_Daemon  *httpd;
    int                 port;
};

const double metrics_latency_buckets[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
const size_t metrics_latency_nbuckets =
    sizeof metrics_latency_buckets / sizeof metrics_latency_buckets[0];

static uint64_t
dbits (double v)
{
    uint64_t u;
    memcpy (&u, &v, sizeof u);
    return u;
}

static double
bitsd (uint64_t u)
{
    double v;
    memcpy (&v, &u, sizeof v);
    return v;
}

metrics_t *
metrics_new (void)
{
    metrics_t *self = calloc (1, sizeof *self);
    if (self)
        pthread_mutex_init (&self->mu, NULL);
    return self;
}

static bool
name_valid (const char *s, bool colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '_' || (colon && *s == ':')))
            return false;
    return true;
}

/* Renders the label pairs of AP into OUT; false on a bad key or OOM. */
static bool
labels_render (buf_t *out, va_list ap)
{
    int n = 0;
    for (const char *k; (k = va_arg (ap, const char *)) != NULL; n++) {
        const char *v = va_arg (ap, const char *);
        if (n >= MAX_LABELS || !name_valid (k, false) || strcmp (k, "le") == 0)
            return false;
        if (!v)
            v = "";
        if ((n && buf_putc (out, ',') != VL_OK) || buf_printf (out, "%s=\"", k) != VL_OK)
            return false;
        for (; *v; v++) {
            const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
            if ((esc ? buf_puts (out, esc) : buf_putc (out, *v)) != VL_OK)
                return false;
        }
        if (buf_putc (out, '"') != VL_OK)
            return false;
    }
    return true;
}

static family_t *
family_get (metrics_t *self, const char *name, const char *help, mtype_t type,
            const double *bounds, size_t nbounds)
{
    for (family_t *f = self->first; f; f = f->next)
        if (strcmp (f->name, name) == 0)
            return f->type == type ? f : NULL;
    family_t *f = calloc (1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup (name);
    f->help = strdup (help ? help : "");
    if (!f->name || !f->help) {
        free (f->name);
        free (f->help);
        free (f);
        return NULL;
    }
    f->type = type;
    f->nbounds = nbounds;
    if (nbounds)
        memcpy (f->bounds, bounds, nbounds * sizeof *bounds);
    if (self->last)
        self->last->next = f;
    else
        self->first = f;
    self->last = f;
    return f;
}

static metric_t *
series_get (family_t *f, char *labels)
{
    for (metric_t *m = f->first; m; m = m->next)
        if (strcmp (m->labels, labels) == 0) {
            free (labels);
            return m;
        }
    metric_t *m = calloc (1, sizeof *m);
    if (!m) {
        free (labels);
        return NULL;
    }
    m->family = f;
    m->labels = labels;
    if (f->type == M_GAUGE)
        atomic_store (&m->value, dbits (0.0));
    atomic_store (&m->sum, dbits (0.0));
    if (f->last)
        f->last->next = m;
    else
        f->first = m;
    f->last = m;
    return m;
}

static metric_t *
lookup (metrics_t *self, const char *name, const char *help, mtype_t type,
        const double *bounds, size_t nbounds, va_list ap)
{
    if (!self || !name_valid (name, true) || nbounds > METRICS_MAX_BUCKETS)
        return NULL;
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    buf_t lb;
    buf_init (&lb, 4096);
    if (buf_puts (&lb, "") != VL_OK || !labels_render (&lb, ap)) {
        buf_free (&lb);
        return NULL;
    }
    char *labels = buf_steal (&lb);
    if (!labels)
        return NULL;
    pthread_mutex_lock (&self->mu);
    family_t *f = family_get (self, name, help, type, bounds, nbounds);
    metric_t *m = f ? series_get (f, labels) : (free (labels), NULL);
    pthread_mutex_unlock (&self->mu);
    return m;
}

metric_t *
metrics_counter (metrics_t *self, const char *name, const char *help, ...)
{
    va_list ap;
    va_start (ap, help);
    metric_t *m = lookup (self, name, help, M_COUNTER, NULL, 0, ap);
    va_end (ap);
    return m;
}

metric_t *
metrics_gauge (metrics_t *self, const char *name, const char *help, ...)
{
    va_list ap;
    va_start (ap, help);
    metric_t *m = lookup (self, name, help, M_GAUGE, NULL, 0, ap);
    va_end (ap);
    return m;
}

metric_t *
metrics_histogram (metrics_t *self, const char *name, const char *help,
                   const double *bounds, size_t n, ...)
{
    va_list ap;
    va_start (ap, n);
    metric_t *m = lookup (self, name, help, M_HISTOGRAM, bounds, n, ap);
    va_end (ap);
    return m;
}

void
metric_add (metric_t *m, uint64_t n)
{
    if (m && m->family->type == M_COUNTER)
        atomic_fetch_add (&m->value, n);
}

void
metric_inc (metric_t *m)
{
    metric_add (m, 1);
}

void
metric_set (metric_t *m, double v)
{
    if (!m || m->family->type == M_HISTOGRAM || isnan (v))
        return;
    if (m->family->type == M_COUNTER)
        atomic_store (&m->value, v <= 0 ? 0 : (uint64_t) v);
    else
        atomic_store (&m->value, dbits (v));
}

void
metric_observe (metric_t *m, double v)
{
    if (!m || m->family->type != M_HISTOGRAM || isnan (v))
        return;
    size_t i = 0;
    while (i < m->family->nbounds && v > m->family->bounds[i])
        i++;
    atomic_fetch_add (&m->buckets[i], 1);
    atomic_fetch_add (&m->value, 1);
    uint_fast64_t old = atomic_load (&m->sum);
    while (!atomic_compare_exchange_weak (&m->sum, &old, dbits (bitsd (old) + v)))
        ;
}

double
metric_value (const metric_t *m)
{
    if (!m)
        return 0;
    uint64_t u = atomic_load (&((metric_t *) m)->value);
    return m->family->type == M_GAUGE ? bitsd (u) : (double) u;
}

vl_err_t
metrics_add_collector (metrics_t *self, void (*fn) (void *arg, metrics_t *m), void *arg)
{
    pthread_mutex_lock (&self->mu);
    vl_err_t rc = self->ncollectors < MAX_COLLECTORS ? VL_OK : VL_ETOOBIG;
    if (rc == VL_OK)
        self->collectors[self->ncollectors++] = (collector_t) { fn, arg };
    pthread_mutex_unlock (&self->mu);
    return rc;
}

/* Writes V the way Prometheus reads it (+Inf, -Inf, NaN, integers plain). */
static vl_err_t
put_value (buf_t *out, double v)
{
    if (isinf (v))
        return buf_puts (out, v > 0 ? "+Inf" : "-Inf");
    if (v == (double) (int64_t) v && fabs (v) < 9e15)
        return buf_printf (out, "%lld", (long long) v);
    return buf_printf (out, "%.17g", v);
}

static vl_err_t
render_series (buf_t *out, const family_t *f, metric_t *m)
{
    const char *sep = *m->labels ? "," : "";
    vl_err_t rc = VL_OK;
    if (f->type != M_HISTOGRAM) {
        rc = buf_printf (out, "%s%s%s%s ", f->name, *m->labels ? "{" : "", m->labels,
                         *m->labels ? "}" : "");
        if (rc == VL_OK) rc = put_value (out, metric_value (m));
        return rc == VL_OK ? buf_putc (out, '\n') : rc;
    }
    uint64_t cum = 0;
    for (size_t i = 0; rc == VL_OK && i <= f->nbounds; i++) {
        cum += atomic_load (&m->buckets[i]);
        if (i < f->nbounds)
            rc = buf_printf (out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, m->labels, sep,
                             f->bounds[i], (unsigned long long) cum);
        else
            rc = buf_printf (out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, m->labels,
                             sep, (unsigned long long) cum);
    }
    const char *lo = *m->labels ? "{" : "", *lc = *m->labels ? "}" : "";
    if (rc == VL_OK) rc = buf_printf (out, "%s_sum%s%s%s ", f->name, lo, m->labels, lc);
    if (rc == VL_OK) rc = put_value (out, bitsd (atomic_load (&m->sum)));
    if (rc == VL_OK) rc = buf_putc (out, '\n');
    if (rc == VL_OK) rc = buf_printf (out, "%s_count%s%s%s ", f->name, lo, m->labels, lc);
    if (rc == VL_OK) rc = buf_printf (out, "%llu\n", (unsigned long long) cum);
    return rc;
}

vl_err_t
metrics_render (metrics_t *self, buf_t *out)
{
    static const char *TYPES[] = { "counter", "gauge", "histogram" };
    pthread_mutex_lock (&self->mu);
    size_t nc = self->ncollectors;
    collector_t col[MAX_COLLECTORS];
    memcpy (col, self->collectors, nc * sizeof *col);
    pthread_mutex_unlock (&self->mu);
    for (size_t i = 0; i < nc; i++)
        col[i].fn (col[i].arg, self);

    vl_err_t rc = VL_OK;
    pthread_mutex_lock (&self->mu);
    for (family_t *f = self->first; rc == VL_OK && f; f = f->next) {
        if (!f->first)
            continue;
        rc = buf_printf (out, "# HELP %s ", f->name);
        for (const char *h = f->help; rc == VL_OK && *h; h++)
            rc = *h == '\\' ? buf_puts (out, "\\\\") : *h == '\n' ? buf_puts (out, "\\n")
                                                               : buf_putc (out, *h);
        if (rc == VL_OK)
            rc = buf_printf (out, "\n# TYPE %s %s\n", f->name, TYPES[f->type]);
        for (metric_t *m = f->first; rc == VL_OK && m; m = m->next)
            rc = render_series (out, f, m);
    }
    pthread_mutex_unlock (&self->mu);
    return rc;
}

/* --- HTTP endpoint -------------------------------------------------------- */

static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, const char *ctype, char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer (len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return ret;
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    metrics_t *self = cls;
    if (!*state) {             /* first call: headers only */
        *state = self;
        return MHD_YES;
    }
    if (*upload_size) {        /* ignore any body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return reply (conn, 405, "text/plain", strdup ("method not allowed\n"), 19);
    if (strcmp (url, "/metrics") != 0)
        return reply (conn, 404, "text/plain", strdup ("not found: try /metrics\n"), 24);
    buf_t out;
    buf_init (&out, RENDER_MAX);
    vl_err_t rc = buf_puts (&out, "");
    if (rc == VL_OK)
        rc = metrics_render (self, &out);
    if (rc != VL_OK) {
        buf_free (&out);
        return reply (conn, 500, "text/plain", strdup ("cannot render\n"), 14);
    }
    size_t len = out.len;
    char *body = buf_steal (&out);
    return body ? reply (conn, 200, "text/plain; version=0.0.4; charset=utf-8", body, len) : MHD_NO;
}

vl_err_t
metrics_parse_address (const char *listen, struct sockaddr_storage *ss, bool *v6,
                       bool *loopback)
{
    char host[64];
    const char *colon = strrchr (listen, ':');
    if (!colon || (size_t) (colon - listen) >= sizeof host)
        return VL_EINVAL;
    memcpy (host, listen, (size_t) (colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol (colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port < 0 || port > 65535)
        return VL_EINVAL;
    memset (ss, 0, sizeof *ss);
    size_t hl = strlen (host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons ((uint16_t) port);
        *v6 = true;
        if (inet_pton (AF_INET6, host + 1, &a->sin6_addr) != 1)
            return VL_EINVAL;
        *loopback = IN6_IS_ADDR_LOOPBACK (&a->sin6_addr);
        return VL_OK;
    }
    struct sockaddr_in *a = (struct sockaddr_in *) ss;
    a->sin_family = AF_INET;
    a->sin_port = htons ((uint16_t) port);
    *v6 = false;
    if (strcmp (host, "localhost") == 0)
        strcpy (host, "127.0.0.1");
    if (inet_pton (AF_INET, host, &a->sin_addr) != 1)
        return VL_EINVAL;
    *loopback = (ntohl (a->sin_addr.s_addr) >> 24) == 127;
    return VL_OK;
}

vl_err_t
metrics_parse_listen (const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    bool loopback = false;
    vl_err_t rc = metrics_parse_address (listen, ss, v6, &loopback);
    return rc == VL_OK && !loopback ? VL_EINVAL : rc;
}

vl_err_t
metrics_serve (metrics_t *self, const char *listen)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (!listen || metrics_parse_listen (listen, &ss, &v6) != VL_OK) {
        log_error ("metrics: %s is not a loopback host:port (the endpoint has no "
                   "authentication)", listen ? listen : "(null)");
        return VL_EINVAL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0);
    self->httpd = MHD_start_daemon (flags, 0, NULL, NULL, on_request, self,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                    MHD_OPTION_CONNECTION_LIMIT, 16u,
                                    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                    MHD_OPTION_END);
    if (!self->httpd) {
        log_error ("metrics: cannot listen on %s", listen);
        return VL_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->httpd, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : 0;
    log_info ("metrics: serving http://%.*s:%d/metrics", (int) (strrchr (listen, ':') - listen),
              listen, self->port);
    return VL_OK;
}

int
metrics_port (const metrics_t *self)
{
    return self ? self->port : 0;
}

void
metrics_destroy (metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    if (self->httpd)
        MHD_stop_daemon (self->httpd);
    for (family_t *f = self->first, *fn; f; f = fn) {
        fn = f->next;
        for (metric_t *m = f->first, *mn; m; m = mn) {
            mn = m->next;
            free (m->labels);
            free (m);
        }
        free (f->name);
        free (f->help);
        free (f);
    }
    pthread_mutex_destroy (&self->mu);
    free (self);
    *self_p = NULL;
}
