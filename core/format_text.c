/* format_text.c: cleaning hostile text and readable one-line / multi-line
 * renderings of events. */
#include <string.h>
#include <strings.h>
#include <time.h>
#include "format.h"
#include "util.h"

#define ELLIPSIS "\xe2\x80\xa6"
#define REPLACEMENT "\xef\xbf\xbd"

/* Length of the escape sequence starting with ESC at P (AVAIL bytes). */
static size_t
escape_len (const unsigned char *p, size_t avail)
{
    if (avail < 2)
        return 1;
    size_t i = 2;
    if (p[1] == '[') {                       /* CSI: params, final 0x40-0x7E */
        while (i < avail && !(p[i] >= 0x40 && p[i] <= 0x7E))
            i++;
        return i < avail ? i + 1 : avail;
    }
    if (p[1] == ']' || p[1] == 'P' || p[1] == '_' || p[1] == '^') {
        while (i < avail) {                  /* OSC/DCS: until BEL or ESC \ */
            if (p[i] == 0x07)
                return i + 1;
            if (p[i] == 0x1B && i + 1 < avail && p[i + 1] == '\\')
                return i + 2;
            i++;
        }
        return avail;
    }
    return 2;
}

/* Appends the cleaned form of one character CP (bytes P, N); returns
 * VL_OK or a buffer error. Sets *WROTE to the bytes appended. */
static vl_err_t
clean_char (buf_t *out, uint32_t cp, const unsigned char *p, size_t n,
            unsigned flags, size_t *wrote)
{
    *wrote = 0;
    if (cp == '\n' && (flags & FORMAT_KEEP_NEWLINES)) {
        *wrote = 1;
        return buf_putc (out, '\n');
    }
    if (cp == '\r' && (flags & FORMAT_KEEP_NEWLINES))
        return VL_OK;
    if (cp == '\n' || cp == '\r' || cp == '\t') {
        *wrote = 1;
        return buf_putc (out, ' ');
    }
    if (util_cp_unsafe (cp))
        return VL_OK;
    *wrote = n;
    return buf_append (out, p, n);
}

vl_err_t
format_clean (buf_t *out, const char *s, size_t len, size_t max, unsigned flags)
{
    if (!s)
        return VL_OK;
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, written = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = util_utf8_decode (p + i, len - i, &cp);
        const unsigned char *chr = p + i;
        if (n == 0) {                         /* invalid byte: U+FFFD */
            cp = 0xFFFD;
            chr = (const unsigned char *) REPLACEMENT;
            n = 3;
            i += 1;
        } else if (cp == 0x1B) {
            i += escape_len (p + i, len - i);
            continue;
        } else {
            i += n;
        }
        if (written + n > max)
            return buf_puts (out, ELLIPSIS);
        size_t w;
        vl_err_t rc = clean_char (out, cp, chr, n, flags, &w);
        if (rc != VL_OK)
            return rc;
        written += w;
    }
    return VL_OK;
}

char *
format_clean_str (const char *s, size_t max, unsigned flags)
{
    buf_t b;
    buf_init (&b, FORMAT_CLEAN_ROOM (max));
    if (format_clean (&b, s, s ? strlen (s) : 0, max, flags) != VL_OK) {
        buf_free (&b);
        return NULL;
    }
    return buf_steal (&b);
}

vl_err_t
format_utf8_fix (buf_t *out, const char *s, size_t len, size_t max)
{
    if (!s)
        return VL_OK;
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, run = 0, written = 0;
    vl_err_t rc = VL_OK;
    while (i < len) {
        uint32_t cp;
        size_t n = p[i] < 0x80 ? 1 : util_utf8_decode (p + i, len - i, &cp);
        bool bad = n == 0;
        if (written + (bad ? 3 : n) > max)
            break;
        if (!bad) {                    /* valid: copied with its run */
            i += n;
            written += n;
            continue;
        }
        if ((rc = buf_append (out, p + run, i - run)) != VL_OK
            || (rc = buf_puts (out, REPLACEMENT)) != VL_OK)
            return rc;
        i += 1;
        written += 3;
        run = i;
    }
    if ((rc = buf_append (out, p + run, i - run)) != VL_OK)
        return rc;
    return i < len ? buf_puts (out, ELLIPSIS) : VL_OK;
}

static bool
is_ascii_alnum (unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Markdown characters that make links, images, HTML, code or emphasis. */
static bool
is_markdown_special (unsigned char c)
{
    return c && strchr ("\\`*_~[]()!<>|", c) != NULL;
}

vl_err_t
format_chat (buf_t *out, const char *s, size_t len, size_t max, unsigned flags)
{
    buf_t tmp;
    buf_init (&tmp, FORMAT_CLEAN_ROOM (max));
    vl_err_t rc = format_clean (&tmp, s, len, max, flags & FORMAT_KEEP_NEWLINES);
    unsigned char prev = ' ';
    for (size_t i = 0; rc == VL_OK && i < tmp.len; i++) {
        unsigned char c = (unsigned char) tmp.data[i];
        if ((flags & FORMAT_MARKDOWN) && is_markdown_special (c))
            rc = buf_putc (out, '\\');
        if (rc == VL_OK)
            rc = buf_putc (out, (char) c);
        if (rc == VL_OK && c == '@' && !is_ascii_alnum (prev))
            rc = buf_puts (out, "\xe2\x80\x8b");       /* U+200B: ends the mention */
        prev = c;
    }
    buf_free (&tmp);
    return rc;
}

vl_err_t
format_chat_diff (buf_t *out, const char *diff, size_t len, size_t max, unsigned flags)
{
    buf_t tmp;
    buf_init (&tmp, FORMAT_CLEAN_ROOM (max));
    vl_err_t rc = format_clean (&tmp, diff, len, max, FORMAT_KEEP_NEWLINES);
    bool first = true;
    for (size_t at = 0; rc == VL_OK && at < tmp.len;) {
        const char *nl = memchr (tmp.data + at, '\n', tmp.len - at);
        size_t end = nl ? (size_t) (nl - tmp.data) : tmp.len;
        if (end > at) {
            if (!first)
                rc = buf_putc (out, '\n');
            if (rc == VL_OK && (flags & FORMAT_QUOTE))
                rc = buf_puts (out, "> ");
            if (rc == VL_OK)
                rc = format_chat (out, tmp.data + at, end - at, end - at,
                                  flags & FORMAT_MARKDOWN);
            first = false;
        }
        at = end + 1;
    }
    buf_free (&tmp);
    return rc;
}

/* Unicode space characters, which end a URL when a client linkifies it. */
static bool
is_unicode_space (uint32_t cp)
{
    return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F
        || cp == 0x205F || cp == 0x3000;
}

bool
format_url_is_web (const char *url)
{
    if (!url)
        return false;
    size_t skip;
    if (strncasecmp (url, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp (url, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (url[skip] == '\0' || url[skip] == '/')
        return false;                          /* no host */
    const unsigned char *p = (const unsigned char *) url;
    size_t len = strlen (url);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = util_utf8_decode (p + i, len - i, &cp);
        if (n == 0 || cp == ' ' || util_cp_unsafe (cp) || is_unicode_space (cp)
            || (cp < 0x80 && strchr ("\"<>\\`", (int) cp)))
            return false;
        i += n;
    }
    return true;
}

vl_err_t
format_chat_url (buf_t *out, const char *url, size_t max, unsigned flags)
{
    if (!url)
        return VL_OK;
    size_t len = strlen (url);
    if (len > max || !format_url_is_web (url))
        return format_chat (out, url, len, max, flags);
    bool md = (flags & FORMAT_MARKDOWN) != 0;
    vl_err_t rc = md ? buf_putc (out, '<') : VL_OK;
    size_t start = 0;
    for (size_t i = 0; rc == VL_OK && i < len; i++) {
        if (url[i] != '@' || (i > 0 && is_ascii_alnum ((unsigned char) url[i - 1])))
            continue;
        rc = buf_append (out, url + start, i - start);
        if (rc == VL_OK)
            rc = buf_puts (out, "%40");
        start = i + 1;
    }
    if (rc == VL_OK)
        rc = buf_append (out, url + start, len - start);
    return rc == VL_OK && md ? buf_putc (out, '>') : rc;
}

size_t
format_utf8_count (const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char) s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

size_t
format_utf8_prefix_cp (const char *s, size_t len, size_t maxcp)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char) s[i] & 0xC0) != 0x80) {
            if (n == maxcp)
                return i;
            n++;
        }
    }
    return len;
}

void
format_time_iso (int64_t ms, char out[32])
{
    if (ms <= 0)
        ms = util_now_ms ();
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static vl_err_t
put_clean (buf_t *out, const char *s, size_t max)
{
    return format_clean (out, s, s ? strlen (s) : 0, max, 0);
}

/* Appends " | diff: " and DIFF on one line: cleaned, capped at
 * FORMAT_LINE_DIFF_MAX, its lines joined by " ⏎ " (format_text_line). */
static vl_err_t
put_diff_inline (buf_t *out, const char *diff)
{
    buf_t tmp;
    buf_init (&tmp, FORMAT_CLEAN_ROOM (FORMAT_LINE_DIFF_MAX));
    vl_err_t rc = format_clean (&tmp, diff, strlen (diff), FORMAT_LINE_DIFF_MAX,
                                FORMAT_KEEP_NEWLINES);
    size_t end = tmp.len;
    while (end > 0 && tmp.data[end - 1] == '\n')
        end--;
    if (rc == VL_OK)
        rc = buf_puts (out, " | diff: ");
    for (size_t i = 0; rc == VL_OK && i < end; i++)
        rc = tmp.data[i] == '\n' ? buf_puts (out, " \xe2\x8f\x8e ") : buf_putc (out, tmp.data[i]);
    buf_free (&tmp);
    return rc;
}

static vl_err_t
put_tags (buf_t *out, const event_t *ev)
{
    vl_err_t rc = VL_OK;
    if (ev->ntags == 0)
        return rc;
    rc = buf_puts (out, " [");
    for (size_t i = 0; i < ev->ntags && rc == VL_OK; i++) {
        if (i > 0)
            rc = buf_puts (out, ", ");
        if (rc == VL_OK)
            rc = put_clean (out, ev->tags[i], 100);
    }
    return rc == VL_OK ? buf_putc (out, ']') : rc;
}

vl_err_t
format_text_line (buf_t *out, const event_t *ev, uint64_t seq)
{
    char when[32];
    format_time_iso (ev->detected, when);
    vl_err_t rc = buf_printf (out, "%s ", when);
    if (rc == VL_OK) rc = put_clean (out, ev->topic, 255);
    if (rc == VL_OK) rc = buf_putc (out, ' ');
    if (rc == VL_OK) rc = put_clean (out, ev->type, 32);
    if (rc == VL_OK) rc = buf_puts (out, " (");
    if (rc == VL_OK) rc = put_clean (out, ev->source, 128);
    if (rc == VL_OK) rc = buf_puts (out, ") ");
    if (rc == VL_OK) rc = put_clean (out, ev->title && *ev->title ? ev->title : "(no title)",
                                     FORMAT_LINE_TITLE_MAX);
    if (rc == VL_OK && ev->summary && *ev->summary) {
        rc = buf_puts (out, " | ");
        if (rc == VL_OK) rc = put_clean (out, ev->summary, FORMAT_LINE_SUMMARY_MAX);
    }
    if (rc == VL_OK && ev->url && *ev->url) {
        rc = buf_puts (out, " | ");
        if (rc == VL_OK) rc = put_clean (out, ev->url, 2048);
    }
    if (rc == VL_OK && ev->diff && *ev->diff)
        rc = put_diff_inline (out, ev->diff);
    if (rc == VL_OK) rc = put_tags (out, ev);
    if (rc == VL_OK) rc = buf_puts (out, " id=");
    if (rc == VL_OK) rc = put_clean (out, ev->id, 64);
    if (rc == VL_OK) rc = buf_printf (out, " seq=%llu", (unsigned long long) seq);
    return rc;
}

static vl_err_t
put_block (buf_t *out, const char *label, const char *s)
{
    if (!s || !*s)
        return VL_OK;
    vl_err_t rc = buf_puts (out, "\n");
    if (rc == VL_OK && label) rc = buf_puts (out, label);
    if (rc == VL_OK) rc = format_clean (out, s, strlen (s), FORMAT_BODY_FIELD_MAX,
                                        FORMAT_KEEP_NEWLINES);
    return rc == VL_OK ? buf_puts (out, "\n") : rc;
}

vl_err_t
format_text_body (buf_t *out, const event_t *ev, uint64_t seq)
{
    char when[32];
    format_time_iso (ev->detected, when);
    vl_err_t rc = put_clean (out, ev->title && *ev->title ? ev->title : "(no title)", 2000);
    if (rc == VL_OK) rc = buf_puts (out, "\n");
    if (rc == VL_OK && ev->url && *ev->url) {
        rc = put_clean (out, ev->url, 4096);
        if (rc == VL_OK) rc = buf_puts (out, "\n");
    }
    if (rc == VL_OK) rc = put_block (out, NULL, ev->summary);
    if (rc == VL_OK) rc = put_block (out, "Changes:\n", ev->diff);
    if (rc == VL_OK) rc = buf_puts (out, "\n-- \n");
    if (rc == VL_OK) rc = put_clean (out, ev->type, 32);
    if (rc == VL_OK) rc = buf_puts (out, " on ");
    if (rc == VL_OK) rc = put_clean (out, ev->topic, 255);
    if (rc == VL_OK) rc = buf_puts (out, " from ");
    if (rc == VL_OK) rc = put_clean (out, ev->source, 128);
    if (rc == VL_OK) rc = buf_printf (out, " at %s", when);
    if (rc == VL_OK) rc = put_tags (out, ev);
    if (rc == VL_OK) rc = buf_puts (out, "\nid ");
    if (rc == VL_OK) rc = put_clean (out, ev->id, 64);
    if (rc == VL_OK) rc = buf_printf (out, " seq %llu\n", (unsigned long long) seq);
    return rc;
}

vl_err_t
format_html_escape (buf_t *out, const char *s, size_t max)
{
    buf_t tmp;
    buf_init (&tmp, FORMAT_CLEAN_ROOM (max));
    vl_err_t rc = format_clean (&tmp, s, s ? strlen (s) : 0, max, FORMAT_KEEP_NEWLINES);
    for (size_t i = 0; rc == VL_OK && i < tmp.len; i++) {
        switch (tmp.data[i]) {
        case '&':  rc = buf_puts (out, "&amp;"); break;
        case '<':  rc = buf_puts (out, "&lt;"); break;
        case '>':  rc = buf_puts (out, "&gt;"); break;
        case '"':  rc = buf_puts (out, "&quot;"); break;
        case '\'': rc = buf_puts (out, "&#39;"); break;
        case '\n': rc = buf_puts (out, "<br>\n"); break;
        default:   rc = buf_putc (out, tmp.data[i]);
        }
    }
    buf_free (&tmp);
    return rc;
}
