/* fuzz_format: hostile event text through every formatter a sink uses;
 * what comes out must hold the promises of format.h and docs/security.md:
 *   - one-line alerts: valid UTF-8, no control or unsafe code point;
 *   - bodies: the same, but for '\n';
 *   - JSON lines: valid JSON, no raw control byte or unsafe code point;
 *   - mail headers (RFC 2047): printable ASCII, CRLF only as CRLF SP
 *     folding, no line over 76 characters;
 *   - chat text: every mention-starting '@' broken by U+200B, every
 *     markdown character escaped (FORMAT_MARKDOWN); a chat diff the same,
 *     each line in a "> " quote;
 *   - text lines with a diff: still one line (checked with the others);
 *   - HTML: no raw < > " ' but its own <br>, '&' only as an entity;
 *   - a URL accepted as a web link is http(s) without space or quote.
 * Input: fields separated by NUL bytes (title, summary, url, diff, tag),
 * made valid UTF-8 as event_decode guarantees to the sinks. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "format.h"
#include "format_mime.h"
#include "util.h"

#define FIELDS 5

/* Aborts unless S (LEN bytes) is valid UTF-8 whose only unsafe code point
 * is '\n' when NEWLINES. */
static void
check_clean (const char *s, size_t len, bool newlines)
{
    const unsigned char *p = (const unsigned char *) s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = util_utf8_decode (p + i, len - i, &cp);
        if (n == 0 || (util_cp_unsafe (cp) && !(newlines && cp == '\n')))
            abort ();
        i += n;
    }
}

static void
check_json_line (const buf_t *b)
{
    for (size_t i = 0; i < b->len; i++)
        if ((unsigned char) b->data[i] < 0x20)
            abort ();
    check_clean (b->data, b->len, false);
    json_t *j = json_loadb (b->data, b->len, 0, NULL);
    if (!j || !json_is_object (j))
        abort ();
    json_decref (j);
}

/* Header value after "Subject: " (9 characters on the first line). */
static void
check_header (const buf_t *b)
{
    size_t col = 9;
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char) b->data[i];
        if (c == '\r') {
            if (i + 2 >= b->len || b->data[i + 1] != '\n' || b->data[i + 2] != ' ')
                abort ();
            i += 2;
            col = 1;
            continue;
        }
        if (c < 0x20 || c >= 0x7f || ++col > 76)
            abort ();
    }
}

static bool
is_alnum (unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void
check_chat_text (const char *s, size_t len)
{
    unsigned char prev = ' ';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '\\' && i + 1 < len) {           /* an escaped character */
            prev = (unsigned char) s[++i];
            continue;
        }
        if (c && strchr ("`*_~[]()!<>|", c))
            abort ();                               /* markdown left active */
        if (c == '@' && !is_alnum (prev)
            && (len - i < 4 || memcmp (s + i + 1, "\xe2\x80\x8b", 3) != 0))
            abort ();                               /* a mention could start */
        prev = c;
    }
    check_clean (s, len, false);
}

static void
check_chat (const buf_t *b)
{
    check_chat_text (b->data, b->len);
}

/* A chat diff (FORMAT_MARKDOWN | FORMAT_QUOTE): non-empty lines, each "> "
 * and chat text; within MAX cleaned bytes (the escapes on top). */
static void
check_chat_diff (const buf_t *b, size_t max)
{
    size_t at = 0, text = 0;
    while (at < b->len) {
        const char *nl = memchr (b->data + at, '\n', b->len - at);
        size_t end = nl ? (size_t) (nl - b->data) : b->len;
        if (end - at < 3 || memcmp (b->data + at, "> ", 2) != 0)
            abort ();                               /* a line outside the quote */
        check_chat_text (b->data + at + 2, end - at - 2);
        text += end - at - 2;
        at = end + 1;
        if (nl && at == b->len)
            abort ();                               /* no newline at the end */
    }
    if (b->len && text > 4 * (max + 3))
        abort ();
}

static void
check_html (const buf_t *b)
{
    static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
    for (size_t i = 0; i < b->len; i++) {
        char c = b->data[i];
        if (c == '<' && strncmp (b->data + i, "<br>\n", 5) == 0) {
            i += 4;                                 /* the line breaks it writes */
            continue;
        }
        if (c == '<' || c == '>' || c == '"' || c == '\'')
            abort ();
        if (c != '&')
            continue;
        bool ok = false;
        for (size_t k = 0; k < VL_ARRAY_LEN (ents) && !ok; k++)
            ok = strncmp (b->data + i, ents[k], strlen (ents[k])) == 0;
        if (!ok)
            abort ();
    }
}

static void
check_url (const char *url)
{
    if (!format_url_is_web (url))
        return;
    if (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0
        && strncasecmp (url, "http", 4) != 0)
        abort ();
    if (strpbrk (url, " \"<>\\`\r\n\t"))
        abort ();
}

/* Splits DATA into FIELDS valid UTF-8 strings (caller frees each). */
static void
split_fields (const uint8_t *data, size_t size, char *out[FIELDS])
{
    size_t start = 0;
    for (int f = 0; f < FIELDS; f++) {
        size_t end = start;
        while (end < size && data[end] != 0)
            end++;
        buf_t b;
        buf_init (&b, 1 << 24);
        if (start < size)
            format_utf8_fix (&b, (const char *) data + start, end - start, 1 << 20);
        out[f] = b.data ? buf_steal (&b) : strdup ("");
        start = end < size ? end + 1 : size;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    char *f[FIELDS];
    split_fields (data, size, f);
    char id[] = "0123456789abcdef0123456789abcdef";
    char *tags[] = { f[4] };
    event_t ev = { .v = 1, .id = id, .type = (char *) "new", .source = (char *) "fuzz",
                   .topic = (char *) "fuzz.topic", .title = f[0], .summary = f[1],
                   .url = f[2], .diff = f[3], .tags = tags, .ntags = 1,
                   .detected = 1700000000000 };
    buf_t b;
    buf_init (&b, 1 << 24);
    if (format_text_line (&b, &ev, 7) == VL_OK)
        check_clean (b.data, b.len, false);
    buf_reset (&b);
    if (format_text_body (&b, &ev, 7) == VL_OK)
        check_clean (b.data, b.len, true);
    buf_reset (&b);
    if (format_json_line (&b, &ev, 7) == VL_OK)
        check_json_line (&b);
    buf_reset (&b);
    if (format_rfc2047 (&b, f[0], 9, 998) == VL_OK)
        check_header (&b);
    buf_reset (&b);
    if (format_chat (&b, f[0], strlen (f[0]), 4096, FORMAT_MARKDOWN) == VL_OK)
        check_chat (&b);
    buf_reset (&b);
    if (format_chat_diff (&b, f[3], strlen (f[3]), 1500, FORMAT_MARKDOWN | FORMAT_QUOTE)
        == VL_OK)
        check_chat_diff (&b, 1500);
    buf_reset (&b);
    if (format_html_escape (&b, f[1], 4096) == VL_OK)
        check_html (&b);
    check_url (f[2]);
    buf_free (&b);
    for (int i = 0; i < FIELDS; i++)
        free (f[i]);
    return 0;
}
