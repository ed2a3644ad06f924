/* test_sub_hostile.h: a table of hostile events shared by the subscriber
 * formatting tests (log, mail, webhook, JSON). */
#ifndef TEST_SUB_HOSTILE_H
#define TEST_SUB_HOSTILE_H

#include <stdlib.h>
#include <string.h>
#include "event.h"

typedef struct {
    const char *name;
    const char *title;
    const char *summary;     /* NULL: see big_summary */
    bool        big_summary; /* 10 MB summary */
} hostile_t;

static const hostile_t HOSTILE[] = {
    { "crlf", "Line one\r\nBcc: evil@example.org\r\nSubject: pwned\n\nbody", "a\r\nb", false },
    { "quotes", "He said \"hi\" \\ \\\" \\n '", "back\\slash \"q\"", false },
    { "big", "Large summary", NULL, true },
    { "bad-utf8", "bad \xff\xfe bytes \xc3 end \xed\xa0\x80", "\xc0\xaf overlong", false },
    { "emoji", "\xf0\x9f\x9a\xa8 Alerte \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 "
               "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
      "\xf0\x9f\x98\x80 ok", false },
    { "rtl", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xe2\x80\xae" "evil.exe\xe2\x80\xac",
      "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", false },
    { "script", "</script><script>alert(1)</script>", "<b>&amp;</b>", false },
    { "ansi", "\x1b[31mred\x1b[0m \x1b]0;owned\x07 tail\x7f\x01", "\x9b" "2J", false },
};

#define HOSTILE_N (sizeof HOSTILE / sizeof HOSTILE[0])
#define HOSTILE_BIG (10u * 1024u * 1024u)

/* Fills EV for row I (strings set directly: invalid UTF-8 reaches the
 * formatters as if a buggy codec had let it through). Free with event_clear. */
static inline void
hostile_event (size_t i, event_t *ev)
{
    memset (ev, 0, sizeof *ev);
    ev->v = 1;
    ev->id = strdup ("0123456789abcdef0123456789abcdef");
    ev->type = strdup ("new");
    ev->source = strdup ("src-1");
    ev->topic = strdup ("un.test");
    ev->url = strdup ("https://example.org/a?b=1&c=\"2\"");
    ev->title = strdup (HOSTILE[i].title);
    if (HOSTILE[i].big_summary) {
        ev->summary = malloc (HOSTILE_BIG + 1);
        for (size_t k = 0; k < HOSTILE_BIG; k++)
            ev->summary[k] = (char) ('a' + k % 26);
        memcpy (ev->summary + 1000, "\xc3\xa9\xe2\x82\xac", 5);
        ev->summary[HOSTILE_BIG] = '\0';
    } else
        ev->summary = strdup (HOSTILE[i].summary);
    ev->detected = 1764030000000LL;
    ev->tags = calloc (2, sizeof (char *));
    ev->tags[0] = strdup ("cyber\r\nx");
    ev->ntags = 1;
}

/* True if S (LEN bytes) has no C0 control other than those in ALLOWED, no
 * DEL, no C1 control, and is valid UTF-8. */
static inline bool
hostile_clean (const char *s, size_t len, const char *allowed)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if ((c < 0x20 && !strchr (allowed, c)) || c == 0x7f)
            return false;
        if (c == 0xc2 && i + 1 < len && (unsigned char) s[i + 1] >= 0x80
            && (unsigned char) s[i + 1] < 0xa0)
            return false;   /* U+0080..U+009F */
    }
    return util_utf8_valid (s, len);
}

#endif
