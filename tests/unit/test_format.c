/* test_format.c: text/JSON/RFC 2047 formatting of hostile events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include "format.h"
#include "format_mime.h"
#include "util.h"
#include "test_sub_hostile.h"

static void
text_line_is_one_clean_line_for_every_hostile_event (void **state)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        event_t ev;
        hostile_event (i, &ev);
        buf_t b;
        buf_init (&b, 1 << 24);
        assert_int_equal (format_text_line (&b, &ev, 42), VL_OK);
        assert_true (hostile_clean (b.data, b.len, ""));
        assert_null (memchr (b.data, '\x1b', b.len));
        assert_null (strstr (b.data, "\xe2\x80\xae"));      /* bidi override gone */
        assert_true (b.len < 4096);
        assert_non_null (strstr (b.data, " id=0123456789abcdef0123456789abcdef seq=42"));
        assert_non_null (strstr (b.data, "un.test new (src-1) "));
        buf_free (&b);
        event_clear (&ev);
    }
}

static void
chat_diff_quotes_lines_and_keeps_every_hostile_text_rule (void **state)
{
    const char *diff = "+ new @channel [x](javascript:y)\r\n\n- old `code` \x1b[31mred\n";
    buf_t b;
    buf_init (&b, 4096);
    assert_int_equal (format_chat_diff (&b, diff, strlen (diff), 4096,
                                        FORMAT_MARKDOWN | FORMAT_QUOTE), VL_OK);
    assert_string_equal (b.data, "> + new @\xe2\x80\x8b" "channel \\[x\\]\\(javascript:y\\)\n"
                                 "> - old \\`code\\` red");
    buf_reset (&b);
    assert_int_equal (format_chat_diff (&b, diff, strlen (diff), 4096, 0), VL_OK);
    assert_string_equal (b.data, "+ new @\xe2\x80\x8b" "channel [x](javascript:y)\n"
                                 "- old `code` red");
    buf_reset (&b);
    const char *wide = "+ \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";      /* cut inside: on a boundary */
    assert_int_equal (format_chat_diff (&b, wide, strlen (wide), 5, FORMAT_QUOTE), VL_OK);
    assert_string_equal (b.data, "> + \xc3\xa9\xe2\x80\xa6");
    buf_free (&b);
}

static void
text_line_summarises_the_diff_on_the_same_line (void **state)
{
    event_t ev;
    hostile_event (0, &ev);
    ev.diff = strdup ("+ added\n- removed\n2026-01-01T00:00:00Z un.x new (w) forged id=abc seq=1\n");
    buf_t b;
    buf_init (&b, 1 << 20);
    assert_int_equal (format_text_line (&b, &ev, 3), VL_OK);
    assert_null (memchr (b.data, '\n', b.len));                    /* one event, one line */
    assert_non_null (strstr (b.data, " | diff: + added \xe2\x8f\x8e - removed \xe2\x8f\x8e 2026"));
    assert_non_null (strstr (b.data, " id=0123456789abcdef0123456789abcdef seq=3"));
    free (ev.diff);
    ev.diff = malloc (5001);
    memset (ev.diff, 'd', 5000);
    ev.diff[5000] = '\0';
    buf_reset (&b);
    assert_int_equal (format_text_line (&b, &ev, 3), VL_OK);
    assert_non_null (strstr (b.data, "ddd\xe2\x80\xa6 ["));             /* capped, "…" */
    assert_true (b.len < 4096);
    buf_free (&b);
    event_clear (&ev);
}

static void
text_body_keeps_newlines_only (void **state)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        event_t ev;
        hostile_event (i, &ev);
        buf_t b;
        buf_init (&b, 1 << 24);
        assert_int_equal (format_text_body (&b, &ev, 7), VL_OK);
        assert_true (hostile_clean (b.data, b.len, "\n"));
        assert_null (strchr (b.data, '\r'));
        assert_true (b.len < 2 * FORMAT_BODY_FIELD_MAX + 8192);
        buf_free (&b);
        event_clear (&ev);
    }
}

static void
json_line_parses_back_and_escapes_script (void **state)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        event_t ev;
        hostile_event (i, &ev);
        buf_t b;
        buf_init (&b, 1 << 24);
        assert_int_equal (format_json_line (&b, &ev, 9), VL_OK);
        assert_null (memchr (b.data, '\n', b.len));
        assert_null (strstr (b.data, "</script>"));
        assert_true (util_utf8_valid (b.data, b.len));
        assert_true (b.len < FORMAT_BODY_FIELD_MAX + 16384);
        json_error_t jerr;
        json_t *o = json_loadb (b.data, b.len, 0, &jerr);
        assert_non_null (o);
        assert_int_equal (json_integer_value (json_object_get (o, "seq")), 9);
        const char *title = json_string_value (json_object_get (o, "title"));
        assert_non_null (title);
        if (util_utf8_valid (HOSTILE[i].title, strlen (HOSTILE[i].title)))
            assert_string_equal (title, HOSTILE[i].title);   /* exact round trip */
        else
            assert_non_null (strstr (title, "\xef\xbf\xbd"));  /* U+FFFD */
        json_decref (o);
        buf_free (&b);
        event_clear (&ev);
    }
}

/* The old way of writing a JSON line: a jansson object, dumped. */
static void
old_json_line (buf_t *out, const event_t *ev, uint64_t seq)
{
    json_t *o = format_json_event (ev, seq);
    assert_non_null (o);
    assert_int_equal (format_json_dump (out, o), VL_OK);
    json_decref (o);
}

/* The jansson dump A with what format_json_line escapes on top of jansson
 * (DEL, C1 controls, bidi controls, line/paragraph separators, BOM,
 * noncharacters: util_cp_unsafe) written as \uXXXX, as it does. */
static void
escape_unsafe (buf_t *a)
{
    buf_t e;
    buf_init (&e, 1 << 24);
    for (size_t i = 0; i < a->len;) {
        uint32_t cp;
        size_t n = util_utf8_decode ((const unsigned char *) a->data + i, a->len - i, &cp);
        if ((n > 1 || cp == 0x7F) && util_cp_unsafe (cp)) {
            if (cp > 0xFFFF)
                buf_printf (&e, "\\u%04X\\u%04X", 0xD800 + ((cp - 0x10000) >> 10),
                            0xDC00 + ((cp - 0x10000) & 0x3FF));
            else
                buf_printf (&e, "\\u%04X", cp);
        } else
            buf_append (&e, a->data + i, n ? n : 1);
        i += n ? n : 1;
    }
    buf_reset (a);
    buf_append (a, e.data, e.len);
    buf_free (&e);
}

static void
assert_same_json (const event_t *ev, uint64_t seq)
{
    buf_t a, b;
    buf_init (&a, 1 << 24);
    buf_init (&b, 1 << 24);
    buf_puts (&b, "prefix ");
    old_json_line (&a, ev, seq);
    escape_unsafe (&a);
    assert_int_equal (format_json_line (&b, ev, seq), VL_OK);
    assert_int_equal (b.len, a.len + 7);
    if (memcmp (a.data, b.data + 7, a.len) != 0)
        fail_msg ("differ:\n old %s\n new %s", a.data, b.data + 7);
    assert_int_equal (b.data[b.len], '\0');
    buf_free (&a);
    buf_free (&b);
}

/* S made of N bytes drawn from POOL (NUL-free). */
static char *
random_string (uint32_t *rnd, size_t n, const char *pool, size_t npool)
{
    char *s = malloc (n + 1);
    for (size_t k = 0; k < n; k++) {
        *rnd = *rnd * 1103515245u + 12345u;
        s[k] = pool[(*rnd >> 8) % npool];
    }
    s[n] = '\0';
    return s;
}

static void
set_field (char **field, char *value)
{
    free (*field);
    *field = value;
}

static void
json_line_is_byte_identical_to_the_jansson_dump (void **state)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        event_t ev;
        hostile_event (i, &ev);
        assert_same_json (&ev, 9);
        ev.v = 0;
        ev.has_published = true;
        ev.published = -1234567;
        ev.hash = strdup ("h\"/\\");
        ev.diff = strdup (HOSTILE[(i + 1) % HOSTILE_N].title);
        assert_same_json (&ev, UINT64_MAX);       /* seq past INT64_MAX: as jansson prints it */
        free (ev.url);
        ev.url = NULL;
        ev.detected = 0;
        ev.ntags = 0;
        assert_same_json (&ev, 0);
        ev.ntags = 1;
        event_clear (&ev);
    }
    /* every byte alone and in context, in every field */
    for (int c = 1; c < 256; c++) {
        event_t ev;
        hostile_event (0, &ev);
        char one[2] = { (char) c, 0 }, ctx[16];
        snprintf (ctx, sizeof ctx, "a%cb%c", c, c);
        set_field (&ev.title, strdup (one));
        set_field (&ev.summary, strdup (ctx));
        set_field (&ev.id, strdup (ctx));
        set_field (&ev.tags[0], strdup (one));
        assert_same_json (&ev, (uint64_t) c);
        event_clear (&ev);
    }
    /* random hostile strings, of lengths around every cap */
    static const char pool[] = "ab /\"\\\x01\x1f\x7f\t\n\r\b\f\x1b"
                               "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80\xc0\xaf\xff\x80\xbf"
                               "\xc2\x9b\xe2\x80\xae\xe2\x80\xa8\xef\xbf\xbf\xf4\x8f\xbf\xbf";
    static const size_t lens[] = { 0, 1, 3, 250, 255, 256, 257, 260, 1020, 1024, 1030,
                                   8190, 8192, 8197, 65530, 65536, 65540, 70000 };
    uint32_t rnd = 42;
    for (int round = 0; round < 400; round++) {
        event_t ev;
        hostile_event (round % HOSTILE_N, &ev);
        size_t n = lens[(size_t) round % (sizeof lens / sizeof lens[0])];
        const char *p = round % 3 == 0 ? "abc" : pool;       /* plain runs too */
        size_t np = round % 3 == 0 ? 3 : sizeof pool - 1;
        set_field (&ev.id, random_string (&rnd, n, p, np));
        set_field (&ev.type, random_string (&rnd, n, pool, sizeof pool - 1));
        set_field (&ev.source, random_string (&rnd, n, p, np));
        set_field (&ev.topic, random_string (&rnd, n, pool, sizeof pool - 1));
        set_field (&ev.url, random_string (&rnd, n, p, np));
        set_field (&ev.title, random_string (&rnd, n, pool, sizeof pool - 1));
        set_field (&ev.summary, random_string (&rnd, n, pool, sizeof pool - 1));
        set_field (&ev.tags[0], random_string (&rnd, n, p, np));
        ev.prev_hash = random_string (&rnd, n, pool, sizeof pool - 1);
        ev.diff = random_string (&rnd, n, p, np);
        assert_same_json (&ev, (uint64_t) round);
        event_clear (&ev);
    }
}

static void
json_line_leaves_a_capped_buffer_unchanged (void **state)
{
    event_t ev;
    hostile_event (1, &ev);
    buf_t b;
    buf_init (&b, 64);
    buf_puts (&b, "kept");
    assert_int_equal (format_json_line (&b, &ev, 1), VL_ETOOBIG);
    assert_int_equal (b.len, 4);
    assert_string_equal (b.data, "kept");
    buf_free (&b);
    event_clear (&ev);
}

static void
clean_strips_escapes_and_caps_on_char_boundary (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    const char *s = "a\x1b[1;31mb\x1b]8;;http://x\x07" "c\td\xc3\xa9\xc3\xa9\xc3\xa9";
    assert_int_equal (format_clean (&b, s, strlen (s), 100, 0), VL_OK);
    assert_string_equal (b.data, "abc d\xc3\xa9\xc3\xa9\xc3\xa9");
    buf_reset (&b);
    assert_int_equal (format_clean (&b, s, strlen (s), 6, 0), VL_OK);
    assert_string_equal (b.data, "abc d\xe2\x80\xa6");   /* é does not fit: cut before it */
    buf_free (&b);
}

static void
json_line_escapes_what_a_terminal_would_obey (void **state)
{
    event_t ev;
    hostile_event (1, &ev);
    free (ev.title);
    ev.title = strdup ("a\xc2\x9b" "2J b\xe2\x80\xae" "exe.txt c\xe2\x80\xa8" "d\xc2\x85" "e\xef\xbf\xbf"
                       "f\x7f");
    buf_t b;
    buf_init (&b, 1 << 24);
    assert_int_equal (format_json_line (&b, &ev, 3), VL_OK);
    assert_true (hostile_clean (b.data, b.len, ""));
    assert_null (strstr (b.data, "\xe2\x80\xae"));
    assert_null (strstr (b.data, "\xe2\x80\xa8"));
    assert_non_null (strstr (b.data, "\"title\":\"a\\u009B2J b\\u202Eexe.txt c\\u2028d\\u0085e\\uFFFFf\\u007F\""));
    json_t *o = json_loadb (b.data, b.len, 0, NULL);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "title")), ev.title);  /* same text */
    json_decref (o);
    buf_free (&b);
    event_clear (&ev);
}

static void
clean_drops_noncharacters (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    const char *s = "a\xef\xbf\xbe" "b\xef\xbf\xbf" "c\xef\xb7\x90" "d\xf4\x8f\xbf\xbf" "e\xef\xbf\xbd";
    assert_int_equal (format_clean (&b, s, strlen (s), 100, 0), VL_OK);
    assert_string_equal (b.data, "abcde\xef\xbf\xbd");       /* U+FFFD is kept */
    buf_free (&b);
}

static void
url_is_web_takes_http_and_https_only (void **state)
{
    assert_true (format_url_is_web ("https://example.org/a?b=1&c=2#x"));
    assert_true (format_url_is_web ("HTTP://example.org"));
    assert_true (format_url_is_web ("https://example.org/wiki/A_(b)"));
    static const char *const BAD[] = {
        NULL, "", "https://", "http:/x", "javascript:alert(1)", "data:text/html,x",
        "file:///etc/passwd", "ftp://example.org/x", " https://example.org", "https://a b",
        "https://a\"b", "https://a<b", "https://a>b", "https://a\nb", "https://a\x7f",
        "https://a\\b", "https://a`b", "https://a\xe2\x80\xae" "b", "https://a\xc2\xa0" "b",
        "//example.org", NULL
    };
    for (size_t k = 1; BAD[k]; k++)
        if (format_url_is_web (BAD[k]))
            fail_msg ("accepted %s", BAD[k]);
    assert_false (format_url_is_web (BAD[0]));
}

static void
utf8_prefix_counts_code_points (void **state)
{
    const char *s = "\xc3\xa9t\xc3\xa9";   /* été */
    assert_int_equal (format_utf8_count (s, strlen (s)), 3);
    assert_int_equal (format_utf8_prefix_cp (s, strlen (s), 2), 3);
    assert_int_equal (format_utf8_prefix_cp (s, strlen (s), 5), strlen (s));
}

/* Decodes one "=?UTF-8?B?...?=" word at P into OUT; returns bytes used. */
static size_t
decode_word (const char *p, buf_t *out)
{
    assert_memory_equal (p, "=?UTF-8?B?", 10);
    const char *end = strstr (p + 10, "?=");
    assert_non_null (end);
    unsigned char bin[256];
    size_t n = 0;
    assert_int_equal (sodium_base642bin (bin, sizeof bin, p + 10, (size_t) (end - p - 10), NULL,
                                         &n, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    assert_true (util_utf8_valid (bin, n));   /* words never split a character */
    buf_append (out, bin, n);
    return (size_t) (end + 2 - p);
}

static void
rfc2047_words_fold_under_76_and_decode_back (void **state)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        if (HOSTILE[i].big_summary)
            continue;
        buf_t b, dec, want;
        buf_init (&b, 1 << 24);
        buf_init (&dec, 1 << 24);
        buf_init (&want, 1 << 24);
        assert_int_equal (buf_puts (&b, "Subject: "), VL_OK);
        assert_int_equal (format_rfc2047 (&b, HOSTILE[i].title, 9, 900), VL_OK);
        format_clean (&want, HOSTILE[i].title, strlen (HOSTILE[i].title), 900, 0);
        /* lines: split on CRLF; each <= 76; continuation starts with a space */
        const char *line = b.data;
        bool first = true;
        while (line) {
            const char *crlf = strstr (line, "\r\n");
            size_t len = crlf ? (size_t) (crlf - line) : strlen (line);
            assert_true (len <= 76);
            assert_null (memchr (line, '\n', len));
            assert_null (memchr (line, '\r', len));
            const char *p = line + (first ? 9 : 1);
            if (!first)
                assert_int_equal (line[0], ' ');
            if (strncmp (p, "=?UTF-8?B?", 10) == 0)
                decode_word (p, &dec);
            else
                buf_append (&dec, p, len - (size_t) (p - line));
            first = false;
            line = crlf ? crlf + 2 : NULL;
        }
        assert_int_equal (dec.len, want.len);
        assert_memory_equal (dec.data, want.data, want.len);
        buf_free (&b);
        buf_free (&dec);
        buf_free (&want);
    }
}

static void
rfc2047_keeps_short_ascii_raw_and_encodes_lookalike_words (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    format_rfc2047 (&b, "Plain subject", 9, 900);
    assert_string_equal (b.data, "Plain subject");
    buf_reset (&b);
    format_rfc2047 (&b, "=?UTF-8?B?ZXZpbA==?=", 9, 900);
    assert_memory_equal (b.data, "=?UTF-8?B?", 10);
    assert_null (strstr (b.data, "ZXZpbA==?="));   /* encoded again, not passed raw */
    buf_free (&b);
}

/* format_utf8_fix: valid text copied as is, an invalid byte becomes U+FFFD
 * (3 bytes, counted against MAX), controls kept, the cut on a character
 * boundary followed by "…". */
static void
utf8_fix_replaces_and_caps (void **state)
{
    (void) state;
    static const struct { const char *in; size_t max; const char *out; } cases[] = {
        { "plain \x01 text", 100, "plain \x01 text" },
        { "a\xff" "b", 100, "a\xef\xbf\xbd" "b" },
        { "\xc3", 100, "\xef\xbf\xbd" },
        { "caf\xc3\xa9", 4, "caf\xe2\x80\xa6" },          /* é does not fit */
        { "caf\xc3\xa9", 5, "caf\xc3\xa9" },
        { "ab\xff", 4, "ab\xe2\x80\xa6" },                 /* U+FFFD does not fit */
        { "ab\xff", 5, "ab\xef\xbf\xbd" },
        { "", 0, "" },
        { "x", 0, "\xe2\x80\xa6" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t b;
        buf_init (&b, 64);
        assert_int_equal (buf_puts (&b, "<"), VL_OK);
        assert_int_equal (format_utf8_fix (&b, cases[i].in, strlen (cases[i].in),
                                           cases[i].max), VL_OK);
        if (strcmp (b.data + 1, cases[i].out) != 0)
            fail_msg ("case %zu: got '%s', want '%s'", i, b.data + 1, cases[i].out);
        buf_free (&b);
    }
    buf_t b;
    buf_init (&b, 4);
    assert_int_equal (format_utf8_fix (&b, NULL, 3, 10), VL_OK);
    assert_int_equal (b.len, 0);
    assert_int_equal (format_utf8_fix (&b, "abcdef", 6, 10), VL_ETOOBIG);
    buf_free (&b);
}

static void
html_escape_neutralises_markup (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    format_html_escape (&b, "</script><a href='x'>&\"", 100);
    assert_string_equal (b.data, "&lt;/script&gt;&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
    buf_free (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (text_line_is_one_clean_line_for_every_hostile_event),
        cmocka_unit_test (text_body_keeps_newlines_only),
        cmocka_unit_test (json_line_parses_back_and_escapes_script),
        cmocka_unit_test (json_line_is_byte_identical_to_the_jansson_dump),
        cmocka_unit_test (json_line_leaves_a_capped_buffer_unchanged),
        cmocka_unit_test (clean_strips_escapes_and_caps_on_char_boundary),
        cmocka_unit_test (json_line_escapes_what_a_terminal_would_obey),
        cmocka_unit_test (clean_drops_noncharacters),
        cmocka_unit_test (url_is_web_takes_http_and_https_only),
        cmocka_unit_test (utf8_prefix_counts_code_points),
        cmocka_unit_test (rfc2047_words_fold_under_76_and_decode_back),
        cmocka_unit_test (rfc2047_keeps_short_ascii_raw_and_encodes_lookalike_words),
        cmocka_unit_test (html_escape_neutralises_markup),
        cmocka_unit_test (utf8_fix_replaces_and_caps),
        cmocka_unit_test (chat_diff_quotes_lines_and_keeps_every_hostile_text_rule),
        cmocka_unit_test (text_line_summarises_the_diff_on_the_same_line),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
