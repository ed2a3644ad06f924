/* sink_atom.c: the last N alerts as an Atom 1.0 feed file, replaced
 * atomically once per batch (deliver holds, flush writes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "format.h"
#include "config.h"
#include "log.h"
#include "sink_atom.h"
#include "util.h"

#define ATOM_FILE_MAX   (256u * 1024 * 1024)
#define ATOM_TITLE_MAX  1024
#define ATOM_TEXT_MAX   (16 * 1024)
#define ATOM_ID_PREFIX  "urn:veille:event:"

typedef struct {
    char *id;      /* event id */
    char *xml;     /* the <entry> element */
} entry_t;

typedef struct {
    sink_t   base;
    char    *path, *title, *feed_id, *self_url;
    int      count;
    entry_t *entries;     /* newest first, at most count */
    size_t   n;
    entry_t *pending;     /* held since the last flush, oldest first */
    size_t   npending, cap_pending;
    int64_t  held_since;  /* mono ms of the first pending entry */
} sink_atom_t;

/* Appends S cleaned (one line unless NL) and XML-escaped. */
static vl_err_t
xml_text (buf_t *out, const char *s, size_t max, bool nl)
{
    buf_t tmp;
    buf_init (&tmp, FORMAT_CLEAN_ROOM (max));
    vl_err_t rc = format_clean (&tmp, s, s ? strlen (s) : 0, max, nl ? FORMAT_KEEP_NEWLINES : 0);
    for (size_t i = 0; rc == VL_OK && i < tmp.len; i++) {
        char c = tmp.data[i];
        rc = c == '&' ? buf_puts (out, "&amp;") : c == '<' ? buf_puts (out, "&lt;")
           : c == '>' ? buf_puts (out, "&gt;") : c == '"' ? buf_puts (out, "&quot;")
           : buf_putc (out, c);
    }
    buf_free (&tmp);
    return rc;
}

static vl_err_t
xml_elem (buf_t *out, const char *name, const char *s, size_t max, bool nl)
{
    vl_err_t rc = buf_printf (out, "    <%s>", name);
    if (rc == VL_OK) rc = xml_text (out, s, max, nl);
    if (rc == VL_OK) rc = buf_printf (out, "</%s>\n", name);
    return rc;
}

static vl_err_t
xml_category (buf_t *out, const char *term, const char *scheme)
{
    vl_err_t rc = buf_puts (out, "    <category term=\"");
    if (rc == VL_OK) rc = xml_text (out, term, 256, false);
    if (rc == VL_OK) rc = buf_printf (out, "\" scheme=\"urn:veille:%s\"/>\n", scheme);
    return rc;
}

vl_err_t
sink_atom_entry (buf_t *out, const event_t *ev)
{
    char updated[32], published[32];
    format_time_iso (ev->detected, updated);
    const char *title = ev->title && *ev->title ? ev->title : ev->url ? ev->url : ev->type;
    vl_err_t rc = buf_puts (out, "  <entry>\n");
    if (rc == VL_OK) rc = xml_elem (out, "title", title, ATOM_TITLE_MAX, false);
    if (rc == VL_OK) rc = buf_printf (out, "    <id>" ATOM_ID_PREFIX "%s</id>\n", ev->id);
    if (rc == VL_OK && format_url_is_web (ev->url)) {      /* no javascript:, data: */
        rc = buf_puts (out, "    <link rel=\"alternate\" href=\"");
        if (rc == VL_OK) rc = xml_text (out, ev->url, 8192, false);
        if (rc == VL_OK) rc = buf_puts (out, "\"/>\n");
    }
    if (rc == VL_OK) rc = xml_elem (out, "updated", updated, 32, false);
    if (rc == VL_OK && ev->has_published) {
        format_time_iso (ev->published > 0 ? ev->published * 1000 : 1, published);
        rc = xml_elem (out, "published", published, 32, false);
    }
    if (rc == VL_OK) rc = buf_puts (out, "    <author>\n  ");
    if (rc == VL_OK) rc = xml_elem (out, "name", ev->source, 256, false);
    if (rc == VL_OK) rc = buf_puts (out, "    </author>\n");
    if (rc == VL_OK) rc = xml_category (out, ev->topic, "topic");
    if (rc == VL_OK) rc = xml_category (out, ev->type, "type");
    for (size_t i = 0; rc == VL_OK && i < ev->ntags; i++)
        rc = xml_category (out, ev->tags[i], "tag");
    if (rc == VL_OK && ev->summary && *ev->summary)
        rc = xml_elem (out, "summary", ev->summary, ATOM_TEXT_MAX, true);
    if (rc == VL_OK && ev->diff && *ev->diff) {
        rc = buf_puts (out, "    <content type=\"text\">");
        if (rc == VL_OK) rc = xml_text (out, ev->diff, ATOM_TEXT_MAX, true);
        if (rc == VL_OK) rc = buf_puts (out, "</content>\n");
    }
    if (rc == VL_OK) rc = buf_puts (out, "  </entry>\n");
    return rc;
}

static void
entry_free (entry_t *e)
{
    free (e->id);
    free (e->xml);
    e->id = e->xml = NULL;
}

static bool
has_id (const entry_t *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (list[i].id, id) == 0)
            return true;
    return false;
}

/* Loads the entries of an existing feed written by this sink: each
 * "<entry>...</entry>" with an <id>urn:veille:event:ID</id>. Escaped text
 * never contains '<', so the markers cannot occur inside content. */
static void
load_existing (sink_atom_t *self)
{
    char *data = NULL;
    size_t len = 0;
    if (util_read_file (self->path, ATOM_FILE_MAX, &data, &len) != VL_OK)
        return;
    const char *p = data;
    while (self->n < (size_t) self->count && (p = strstr (p, "  <entry>\n")) != NULL) {
        const char *end = strstr (p, "  </entry>\n");
        const char *id = strstr (p, "<id>" ATOM_ID_PREFIX);
        if (!end || !id || id > end)
            break;
        end += strlen ("  </entry>\n");
        id += strlen ("<id>" ATOM_ID_PREFIX);
        const char *idend = strchr (id, '<');
        entry_t e = { .id = idend ? strndup (id, (size_t) (idend - id)) : NULL,
                      .xml = strndup (p, (size_t) (end - p)) };
        if (!e.id || !e.xml || has_id (self->entries, self->n, e.id))
            entry_free (&e);
        else
            self->entries[self->n++] = e;
        p = end;
    }
    free (data);
    if (self->n)
        log_info ("sink %s: %zu entries kept from %s", self->base.name, self->n, self->path);
}

static vl_err_t
render_feed (sink_atom_t *self, const entry_t *list, size_t n, buf_t *out)
{
    char now[32];
    format_time_iso (0, now);
    vl_err_t rc = buf_puts (out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                                 "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    if (rc == VL_OK) rc = xml_elem (out, "title", self->title, ATOM_TITLE_MAX, false);
    if (rc == VL_OK) rc = xml_elem (out, "id", self->feed_id, 1024, false);
    if (rc == VL_OK) rc = xml_elem (out, "updated", now, 32, false);
    if (rc == VL_OK && self->self_url) {
        rc = buf_puts (out, "    <link rel=\"self\" href=\"");
        if (rc == VL_OK) rc = xml_text (out, self->self_url, 8192, false);
        if (rc == VL_OK) rc = buf_puts (out, "\"/>\n");
    }
    if (rc == VL_OK)
        rc = buf_puts (out, "    <generator version=\"" VEILLE_VERSION "\">veille</generator>\n");
    for (size_t i = 0; rc == VL_OK && i < n; i++)
        rc = buf_puts (out, list[i].xml);
    if (rc == VL_OK) rc = buf_puts (out, "</feed>\n");
    return rc;
}

/* Writes DATA to PATH through a temporary file, fsync and rename. */
static vl_err_t
replace_file (const char *path, const char *data, size_t len)
{
    char tmp[4096];
    if (snprintf (tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid ()) >= (int) sizeof tmp)
        return VL_EINVAL;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vl_err_from_errno (errno);
    vl_err_t rc = VL_OK;
    for (size_t off = 0; rc == VL_OK && off < len;) {
        ssize_t w = write (fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            rc = vl_err_from_errno (errno);
        else if (w > 0)
            off += (size_t) w;
    }
    if (rc == VL_OK && fsync (fd) != 0)
        rc = vl_err_from_errno (errno);
    if (close (fd) != 0 && rc == VL_OK)
        rc = vl_err_from_errno (errno);
    if (rc == VL_OK && rename (tmp, path) != 0)
        rc = vl_err_from_errno (errno);
    if (rc != VL_OK)
        unlink (tmp);
    return rc;
}

static void
atom_deliver (sink_t *base, const event_t *ev, uint64_t seq, sink_result_t *res)
{
    sink_atom_t *self = (sink_atom_t *) base;
    if (has_id (self->entries, self->n, ev->id) || has_id (self->pending, self->npending, ev->id)) {
        sink_result_set (res, SINK_DELIVERED, "already in the feed");
        return;
    }
    if (self->npending == self->cap_pending) {
        size_t cap = self->cap_pending ? self->cap_pending * 2 : 16;
        entry_t *g = realloc (self->pending, cap * sizeof *g);
        if (!g) {
            sink_result_set (res, SINK_RETRY, "out of memory");
            return;
        }
        self->pending = g;
        self->cap_pending = cap;
    }
    buf_t x;
    buf_init (&x, FORMAT_EVENT_MAX);
    entry_t e = { .id = strdup (ev->id) };
    if (!e.id || sink_atom_entry (&x, ev) != VL_OK || !(e.xml = buf_steal (&x))) {
        buf_free (&x);
        entry_free (&e);
        sink_result_set (res, SINK_FAILED, "cannot format entry");
        return;
    }
    if (self->npending == 0)
        self->held_since = util_mono_ms ();
    self->pending[self->npending++] = e;
    sink_result_set (res, SINK_HELD, "queued for the next feed write");
}

/* The feed as it will be after the flush: pending (newest first), then
 * the current entries, cut at count. Borrowed pointers. */
static size_t
merged (sink_atom_t *self, entry_t *out)
{
    size_t n = 0;
    for (size_t i = self->npending; i > 0 && n < (size_t) self->count; i--)
        out[n++] = self->pending[i - 1];
    for (size_t i = 0; i < self->n && n < (size_t) self->count; i++)
        out[n++] = self->entries[i];
    return n;
}

static void
atom_flush (sink_t *base, sink_result_t *res)
{
    sink_atom_t *self = (sink_atom_t *) base;
    entry_t *list = calloc ((size_t) self->count, sizeof *list);
    buf_t out;
    buf_init (&out, ATOM_FILE_MAX);
    vl_err_t rc = list ? VL_OK : VL_ENOMEM;
    size_t n = list ? merged (self, list) : 0;
    if (rc == VL_OK) rc = render_feed (self, list, n, &out);
    if (rc == VL_OK) rc = replace_file (self->path, out.data, out.len);
    buf_free (&out);
    if (rc != VL_OK) {
        free (list);
        res->blocked = rc == VL_ENOSPC;
        sink_result_set (res, SINK_RETRY, "cannot write %s: %s", self->path, vl_strerror (rc));
        return;
    }
    /* keep what is in the file; free what fell off the end */
    for (size_t i = 0; i < self->npending; i++)
        if (!has_id (list, n, self->pending[i].id))
            entry_free (&self->pending[i]);
    for (size_t i = 0; i < self->n; i++)
        if (!has_id (list, n, self->entries[i].id))
            entry_free (&self->entries[i]);
    memcpy (self->entries, list, n * sizeof *list);
    self->n = n;
    self->npending = 0;
    free (list);
    sink_result_set (res, SINK_DELIVERED, "feed written (%zu entries)", n);
}

static void
atom_discard (sink_t *base)
{
    sink_atom_t *self = (sink_atom_t *) base;
    for (size_t i = 0; i < self->npending; i++)
        entry_free (&self->pending[i]);
    self->npending = 0;
}

static int64_t
atom_flush_due (sink_t *base)
{
    sink_atom_t *self = (sink_atom_t *) base;
    return self->npending ? self->held_since : -1;
}

static void
atom_destroy (sink_t *base)
{
    sink_atom_t *self = (sink_atom_t *) base;
    atom_discard (base);
    for (size_t i = 0; i < self->n; i++)
        entry_free (&self->entries[i]);
    free (self->entries);
    free (self->pending);
    free (self->path);
    free (self->title);
    free (self->feed_id);
    free (self->self_url);
    free (self->base.name);
    free (self);
}

static const sink_ops_t ATOM_OPS = {
    .type = "atom", .deliver = atom_deliver, .flush = atom_flush, .discard = atom_discard,
    .flush_due = atom_flush_due, .destroy = atom_destroy,
};

sink_t *
sink_atom_new (const sink_atom_opts_t *opts, vl_err_t *err)
{
    bool ok = opts->path && *opts->path && opts->count >= 1;
    sink_atom_t *self = ok ? calloc (1, sizeof *self) : NULL;
    vl_err_t rc = ok ? VL_ENOMEM : VL_EINVAL;
    if (self) {
        self->base.ops = &ATOM_OPS;
        self->count = opts->count;
        const char *name = opts->name ? opts->name : "atom";
        self->base.name = strdup (name);
        self->path = strdup (opts->path);
        self->title = strdup (opts->title ? opts->title : "veille alerts");
        if (opts->feed_id)
            self->feed_id = strdup (opts->feed_id);
        else if (asprintf (&self->feed_id, "urn:veille:feed:%s", name) < 0)
            self->feed_id = NULL;
        self->self_url = opts->self_url ? strdup (opts->self_url) : NULL;
        self->entries = calloc ((size_t) self->count, sizeof *self->entries);
        if (self->base.name && self->path && self->title && self->feed_id && self->entries
            && (self->self_url || !opts->self_url))
            rc = VL_OK;
    }
    if (rc == VL_OK)
        load_existing (self);
    else if (self) {
        atom_destroy (&self->base);
        self = NULL;
    }
    if (err)
        *err = rc;
    return self ? &self->base : NULL;
}

sink_t *
sink_atom_from_config (const config_setting_t *grp, const char *name, vl_err_t *err)
{
    sink_atom_opts_t o = {
        .name = name, .path = cfg_get_str (grp, "file", NULL),
        .count = cfg_get_int (grp, "entries", 50),
        .title = cfg_get_str (grp, "title", NULL),
        .feed_id = cfg_get_str (grp, "feed_id", NULL),
        .self_url = cfg_get_str (grp, "self_url", NULL),
    };
    return sink_atom_new (&o, err);
}
