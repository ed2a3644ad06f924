/* format.h: turning events into text for people and JSON for machines.
 * Shared by every sink and by `veille tail`, so hostile content is
 * cleaned in one place: invalid UTF-8 becomes U+FFFD, control characters,
 * terminal escape sequences and bidi overrides are removed, sizes capped. */
#ifndef VL_FORMAT_H
#define VL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "buf.h"
#include "event.h"

#define FORMAT_KEEP_NEWLINES 0x1u  /* keep '\n' (CR dropped, TAB -> space) */
#define FORMAT_MARKDOWN      0x2u  /* format_chat: backslash-escape markdown */
#define FORMAT_QUOTE         0x4u  /* format_chat_diff: each line a "> " quote */

#define FORMAT_LINE_TITLE_MAX   300   /* bytes of title in a one-line alert */
#define FORMAT_LINE_SUMMARY_MAX 300   /* bytes of summary in a one-line alert */
#define FORMAT_LINE_DIFF_MAX    300   /* bytes of diff in a one-line alert */
#define FORMAT_BODY_FIELD_MAX   (64 * 1024)  /* summary/diff in bodies and JSON */
/* Room that format_clean / format_utf8_fix capped at MAX need: the text, "…". */
#define FORMAT_CLEAN_ROOM(max)  ((size_t) (max) + 3)
/* Most bytes one event becomes once formatted (text, JSON, HTML, XML): an
 * event is at most EVENT_MAX_BYTES and escaping turns a byte into at most 6
 * ("\u0000", "&quot;"). Caps each buffer that holds one formatted event. */
#define FORMAT_EVENT_MAX        (8 * (size_t) EVENT_MAX_BYTES)

/* Appends S (LEN bytes) to OUT, cleaned for display: invalid UTF-8 bytes
 * become U+FFFD; C0/C1 controls, DEL, ESC/CSI/OSC sequences and Unicode
 * bidi embedding/override/isolate controls are removed; CR, LF and TAB
 * become one space (LF kept with FORMAT_KEEP_NEWLINES); runs of spaces are
 * kept. At most MAX bytes of S's cleaned text are written, cut on a
 * character boundary, followed by "…" when cut. S may be NULL. */
vl_err_t format_clean (buf_t *out, const char *s, size_t len, size_t max, unsigned flags);

/* Same, returning a new NUL-terminated string (caller frees); NULL on OOM. */
char *format_clean_str (const char *s, size_t max, unsigned flags);

/* Appends S cleaned as format_clean does, for a chat message that people
 * read and a chat server parses: an '@' that is not preceded by an ASCII
 * letter or digit (so could start "@channel", "@here", "@all", "@everyone",
 * "@room", "@user", "<@id>") is followed by U+200B ZERO WIDTH SPACE, which
 * ends the mention, so nobody is notified (e-mail addresses stay as they
 * are). With FORMAT_MARKDOWN the characters that make links, images, HTML,
 * code and emphasis (\ ` * _ ~ [ ] ( ) ! < > |) are backslash-escaped. MAX
 * caps the cleaned text as in format_clean; the escapes come on top. */
vl_err_t format_chat (buf_t *out, const char *s, size_t len, size_t max, unsigned flags);

/* Appends DIFF (LEN bytes: a `changed` event's "+ " and "- " lines) for a
 * chat message: cleaned (newlines kept, at most MAX bytes, cut on a
 * character boundary with "…"), empty lines dropped, each line written by
 * format_chat with FLAGS (mentions ended; markdown escaped with
 * FORMAT_MARKDOWN) and, with FORMAT_QUOTE, preceded by "> " (a quote
 * block: the diff cannot open a code block or close one). Lines are joined
 * by '\n', no newline at the end. */
vl_err_t format_chat_diff (buf_t *out, const char *diff, size_t len, size_t max, unsigned flags);

/* True if URL is an absolute http:// or https:// URL (scheme in any case)
 * with a host, and no space, control, bidi or Unicode space character, and
 * none of " < > \ `: safe as a link target (ntfy Click, Atom link, a
 * markdown autolink). NULL is not. */
bool format_url_is_web (const char *url);

/* Appends URL for a chat message. A web URL (format_url_is_web, at most MAX
 * bytes) stays a working link: an '@' that could start a mention becomes
 * %40, and with FORMAT_MARKDOWN it is written as an autolink "<URL>". Any
 * other URL (javascript:, data:, ...) is only text: format_chat. */
vl_err_t format_chat_url (buf_t *out, const char *url, size_t max, unsigned flags);

/* Appends Unicode-correct text with invalid UTF-8 replaced by U+FFFD but
 * controls kept (for JSON, where the encoder escapes them). Capped at MAX
 * bytes on a character boundary, "…" appended when cut. */
vl_err_t format_utf8_fix (buf_t *out, const char *s, size_t len, size_t max);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" for MS (epoch milliseconds; 0 = now). */
void format_time_iso (int64_t ms, char out[32]);

/* Appends one readable line (no newline) for EV at SEQ:
 * "2026-11-25T00:34:12Z un.ctitf new (source) Title | summary | url
 * | diff: + added ⏎ - removed [tags] id=...". Every field is cleaned and
 * capped; the diff (when the event has one) is summarised on the same
 * line: its first FORMAT_LINE_DIFF_MAX bytes, its lines joined by " ⏎ "
 * (U+23CE), so one event stays one line and no text of the event can start
 * a line of its own. */
vl_err_t format_text_line (buf_t *out, const event_t *ev, uint64_t seq);

/* Appends a multi-line plain-text body (title, url, summary, diff, meta),
 * cleaned, newlines kept in summary and diff, fields capped at
 * FORMAT_BODY_FIELD_MAX. */
vl_err_t format_text_body (buf_t *out, const event_t *ev, uint64_t seq);

/* Appends S HTML-escaped (& < > " ') after cleaning, capped at MAX. */
vl_err_t format_html_escape (buf_t *out, const char *s, size_t max);

/* Returns a new JSON object for EV (all schema fields present in EV, plus
 * "seq"), strings made valid UTF-8 and capped at FORMAT_BODY_FIELD_MAX.
 * Caller owns the reference (json_decref). NULL on OOM. */
json_t *format_json_event (const event_t *ev, uint64_t seq);

/* Appends the compact JSON text of ROOT ("/" escaped, so "</script>" cannot
 * close a script element): json_out_write with JSON_OUT_SLASH. On error OUT
 * is unchanged: VL_ETOOBIG past its max, VL_ENOMEM. */
vl_err_t format_json_dump (buf_t *out, const json_t *root);

/* Appends one JSON line (no newline) for EV at SEQ: format_json_event (EV,
 * SEQ) written by json_out_write with JSON_OUT_SLASH | JSON_OUT_SAFE: the
 * same text as format_json_dump but that the code points util_cp_unsafe
 * names are \uXXXX escapes (nothing in the line drives a terminal). On error OUT is unchanged: VL_ETOOBIG
 * past its max, VL_ENOMEM. */
vl_err_t format_json_line (buf_t *out, const event_t *ev, uint64_t seq);

/* Number of Unicode code points in valid UTF-8 S. */
size_t format_utf8_count (const char *s, size_t len);

/* Byte length of the longest prefix of S (valid UTF-8, LEN bytes) holding
 * at most MAXCP code points. */
size_t format_utf8_prefix_cp (const char *s, size_t len, size_t maxcp);

#endif
