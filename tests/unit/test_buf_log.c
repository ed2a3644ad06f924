/* test_buf_log: capped buffers, log sanitising, util helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "buf.h"
#include "charset.h"
#include "diff.h"
#include "feed_parse.h"
#include "fold.h"
#include "format.h"
#include "text_norm.h"
#include "log.h"
#include "util.h"

static void
buf_enforces_its_maximum (void **state)
{
    (void) state;
    buf_t b;
    buf_init (&b, 10);
    assert_int_equal (buf_puts (&b, "0123456789"), VL_OK);
    assert_int_equal (buf_putc (&b, 'x'), VL_ETOOBIG);
    assert_int_equal (b.len, 10);
    assert_string_equal (b.data, "0123456789");
    buf_reset (&b);
    assert_int_equal (buf_printf (&b, "%d-%s", 42, "abc"), VL_OK);
    assert_string_equal (b.data, "42-abc");
    assert_int_equal (buf_printf (&b, "%s", "too long for it"), VL_ETOOBIG);
    char *s = buf_steal (&b);
    assert_string_equal (s, "42-abc");
    free (s);
    assert_null (b.data);
    buf_free (&b);
}

/* Every buffer has a limit: the biggest is clamped (no overflow in the
 * terminator slot), the smallest holds exactly one byte. */
static void
buf_limits_at_the_edges (void **state)
{
    (void) state;
    buf_t b;
    buf_init (&b, SIZE_MAX);
    assert_true (b.max < SIZE_MAX);
    assert_int_equal (buf_puts (&b, "ok"), VL_OK);
    assert_int_equal (buf_reserve (&b, SIZE_MAX), VL_ETOOBIG);
    assert_string_equal (b.data, "ok");
    buf_free (&b);
    buf_init (&b, 1);
    assert_int_equal (buf_putc (&b, 'a'), VL_OK);
    assert_int_equal (buf_putc (&b, 'b'), VL_ETOOBIG);
    assert_int_equal (buf_printf (&b, "%s", ""), VL_OK);
    assert_string_equal (b.data, "a");
    buf_free (&b);
}

static void
log_sanitize_neutralises_hostile_text (void **state)
{
    (void) state;
    char out[256];
    const char evil[] = "title\r\nFAKE: line\x1b[31mred\x1b]0;pwn\x07 \xe2\x80\xae" "cba \xff ok";
    log_sanitize (out, sizeof out, evil, sizeof evil - 1);
    assert_null (strchr (out, '\r'));
    assert_null (strchr (out, '\n'));
    assert_null (strchr (out, '\x1b'));
    assert_null (strchr (out, '\x07'));
    assert_null (strstr (out, "\xe2\x80\xae"));   /* RTL override */
    assert_non_null (strstr (out, "\\x0D\\x0A"));
    assert_non_null (strstr (out, "\\u202E"));
    assert_non_null (strstr (out, "\\xFF ok"));
    /* bidi marks, BOM and noncharacters: the list format_clean uses too */
    log_sanitize (out, sizeof out, "a\xe2\x80\x8f" "b\xef\xbb\xbf" "c\xef\xbf\xbf", 12);
    assert_string_equal (out, "a\\u200Fb\\uFEFFc\\uFFFF");
    const char fr[] = "Cybers\xc3\xa9" "curit\xc3\xa9 \xc2\xab ok \xc2\xbb \xf0\x9f\x94\x92";
    log_sanitize (out, sizeof out, fr, sizeof fr - 1);
    assert_string_equal (out, fr);   /* accents, quotes, emoji untouched */
    char small[8];
    log_sanitize (small, sizeof small, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
    assert_true (util_utf8_valid (small, strlen (small)));   /* cut on a boundary */
}

static void
log_lines_cannot_be_forged (void **state)
{
    (void) state;
    char path[] = "/tmp/veille-test-log-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    assert_int_equal (log_setup ("test", LOG_LVL_INFO, false, path), VL_OK);
    log_info ("got %s", "a\nerror forged: line");
    log_debug ("not shown");
    assert_int_equal (log_setup ("test", LOG_LVL_INFO, true, path), VL_OK);
    log_warn ("json \"quoted\" %s", "x\x1b[2J");
    log_setup ("test", LOG_LVL_INFO, false, NULL);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal (util_read_file (path, 1 << 20, &text, &len), VL_OK);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal (lines, 2);
    assert_non_null (strstr (text, "info test: got a\\x0Aerror forged: line"));
    assert_non_null (strstr (text, "\"msg\":\"json \\\"quoted\\\" x\\\\x1B[2J\""));
    assert_null (strstr (text, "not shown"));
    free (text);
    unlink (path);
}

/* --log-json lines come from the project's JSON writer (format.h): every
 * line parses, whatever the message (quotes, backslashes, slashes, UTF-8,
 * bidi controls, a message past the log's cap), and carries ts, level,
 * prog and msg in that order. */
static void
log_json_lines_always_parse (void **state)
{
    (void) state;
    char path[] = "/tmp/veille-test-logjson-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    char *big = malloc (20000);
    assert_non_null (big);
    for (size_t i = 0; i < 19999; i++)
        big[i] = "\"\\/é\x7f"[i % 5];
    big[19999] = '\0';
    assert_int_equal (log_setup ("test", LOG_LVL_INFO, true, path), VL_OK);
    log_info ("a \"q\" b\\c d/e %s", "caf\xc3\xa9 \xe2\x80\xae" "evil \xff");
    log_error ("%s", big);
    log_setup ("test", LOG_LVL_INFO, false, NULL);
    free (big);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal (util_read_file (path, 1 << 20, &text, &len), VL_OK);
    unlink (path);
    char *save = NULL, *line = strtok_r (text, "\n", &save);
    const char *levels[] = { "info", "error" };
    int n = 0;
    for (; line; line = strtok_r (NULL, "\n", &save), n++) {
        assert_true (n < 2);
        assert_true (strlen (line) < 6 * 4096 + 1024);
        assert_true (strncmp (line, "{\"ts\":\"", 7) == 0);
        json_error_t jerr;
        json_t *o = json_loads (line, 0, &jerr);
        if (!o)
            fail_msg ("not JSON (%s): %s", jerr.text, line);
        assert_string_equal (json_string_value (json_object_get (o, "level")), levels[n]);
        assert_string_equal (json_string_value (json_object_get (o, "prog")), "test");
        const char *msg = json_string_value (json_object_get (o, "msg"));
        assert_non_null (msg);
        if (n == 0)      /* escaped as in text logs, then carried as is */
            assert_string_equal (msg, "a \"q\" b\\c d/e caf\xc3\xa9 \\u202Eevil \\xFF");
        else             /* cut at the log's cap, on a character boundary */
            assert_true (strlen (msg) < 4096 && strlen (msg) > 3000);
        json_decref (o);
    }
    assert_int_equal (n, 2);
    free (text);
}

static void
util_utf8_and_hex (void **state)
{
    (void) state;
    assert_true (util_utf8_valid ("\xc3\xa9", 2));
    assert_false (util_utf8_valid ("\xc0\xaf", 2));          /* overlong */
    assert_false (util_utf8_valid ("\xed\xa0\x80", 3));      /* surrogate */
    assert_false (util_utf8_valid ("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
    assert_false (util_utf8_valid ("\xe2\x82", 2));          /* truncated */
    char *cut = util_strndup_utf8 ("\xc3\xa9t\xc3\xa9", 4);
    assert_string_equal (cut, "\xc3\xa9t");
    free (cut);
    unsigned char be[8];
    util_put_be64 (be, 0x0102030405060708ULL);
    assert_int_equal (be[0], 1);
    assert_int_equal (util_get_be64 (be), 0x0102030405060708ULL);
    char hex[33];
    util_hash_hex ("abc", 3, hex);
    assert_int_equal (strlen (hex), 32);
    assert_int_equal (util_edit_distance ("fsync", "fsnyc"), 2);
}

static void
util_secret_file_must_be_private (void **state)
{
    (void) state;
    char path[] = "/tmp/veille-test-secret-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "s3cret\n", 7), 7);
    close (fd);
    char *secret = NULL;
    chmod (path, 0644);
    assert_int_equal (util_read_secret (NULL, path, &secret), VL_EDENIED);
    chmod (path, 0600);
    assert_int_equal (util_read_secret (NULL, path, &secret), VL_OK);
    assert_string_equal (secret, "s3cret");
    free (secret);
    setenv ("VEILLE_TEST_SECRET", "fromenv", 1);
    assert_int_equal (util_read_secret ("VEILLE_TEST_SECRET", path, &secret), VL_OK);
    assert_string_equal (secret, "fromenv");
    free (secret);
    assert_int_equal (util_read_secret (NULL, NULL, &secret), VL_ENOTFOUND);
    unlink (path);
}

/* Writes LEN bytes of 'a' to a fresh temp file; PATH receives its name. */
static void
write_temp (char *path, size_t len)
{
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    char chunk[1000];
    memset (chunk, 'a', sizeof chunk);
    for (size_t done = 0; done < len; ) {
        size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
        assert_int_equal (write (fd, chunk, n), (ssize_t) n);
        done += n;
    }
    close (fd);
}

/* Reads a LEN-byte file with maximum MAX: VL_OK and LEN bytes, or
 * VL_ETOOBIG and nothing. */
static vl_err_t
read_sized (size_t len, size_t max, size_t *got)
{
    char path[] = "/tmp/veille-test-readfile-XXXXXX";
    write_temp (path, len);
    char *text = (char *) "untouched";
    *got = 12345;
    vl_err_t rc = util_read_file (path, max, &text, got);
    unlink (path);
    if (rc == VL_OK) {
        assert_int_equal (strlen (text), *got);   /* NUL-terminated */
        free (text);
    }
    else {
        assert_null (text);
        assert_int_equal (*got, 0);
    }
    return rc;
}

static void
util_read_file_never_returns_more_than_max (void **state)
{
    (void) state;
    size_t got;
    /* under the 4096-byte read chunk: 100 bytes asked with max 64 */
    assert_int_equal (read_sized (100, 64, &got), VL_ETOOBIG);
    assert_int_equal (read_sized (64, 64, &got), VL_OK);
    assert_int_equal (got, 64);
    assert_int_equal (read_sized (65, 64, &got), VL_ETOOBIG);
    assert_int_equal (read_sized (63, 64, &got), VL_OK);
    assert_int_equal (got, 63);
    assert_int_equal (read_sized (0, 64, &got), VL_OK);
    assert_int_equal (got, 0);
    assert_int_equal (read_sized (1, 1, &got), VL_OK);
    assert_int_equal (read_sized (2, 1, &got), VL_ETOOBIG);
    /* over it, exactly and one past, and across chunk boundaries */
    assert_int_equal (read_sized (10000, 10000, &got), VL_OK);
    assert_int_equal (got, 10000);
    assert_int_equal (read_sized (10001, 10000, &got), VL_ETOOBIG);
    assert_int_equal (read_sized (8192, 8192, &got), VL_OK);
    assert_int_equal (read_sized (8193, 8192, &got), VL_ETOOBIG);
    assert_int_equal (read_sized (4096, 4096, &got), VL_OK);
    assert_int_equal (read_sized (4097, 4096, &got), VL_ETOOBIG);
    assert_int_equal (read_sized (5000, 1 << 20, &got), VL_OK);
    assert_int_equal (got, 5000);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal (util_read_file ("/nonexistent/veille", 64, &text, &len),
                      VL_ENOTFOUND);
    assert_null (text);
}

static void
util_secret_refuses_symlinks (void **state)
{
    (void) state;
    char path[] = "/tmp/veille-test-secret-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "tok\r\n", 5), 5);
    close (fd);
    char link[sizeof path + 8];
    snprintf (link, sizeof link, "%s.link", path);
    assert_int_equal (symlink (path, link), 0);
    char *secret = (char *) "untouched";
    /* the target is private and regular: only the symlink is refused */
    assert_int_equal (util_read_secret (NULL, link, &secret), VL_EDENIED);
    assert_null (secret);
    assert_int_equal (util_read_secret (NULL, path, &secret), VL_OK);
    assert_string_equal (secret, "tok");
    free (secret);
    /* a directory is not a regular file */
    assert_int_equal (util_read_secret (NULL, "/tmp", &secret), VL_EDENIED);
    /* bigger than 64 KiB: refused, not cut */
    char big[] = "/tmp/veille-test-secret-big-XXXXXX";
    write_temp (big, 64 * 1024 + 1);
    assert_int_equal (util_read_secret (NULL, big, &secret), VL_ETOOBIG);
    assert_null (secret);
    unlink (big);
    unlink (link);
    unlink (path);
}

/* The bounds derived from an input's size hold at the worst expansion the
 * transform can make: nothing is refused or cut short by the buffer. */
static void
derived_bounds_fit_the_worst_case (void **state)
{
    (void) state;
    enum { N = 5000 };
    char *in = malloc (8 * N);
    assert_non_null (in);
    size_t n;
    /* every byte invalid: each becomes U+FFFD (x3) */
    memset (in, 0xFF, N);
    char *out = charset_utf8_repair (in, N, &n);
    assert_non_null (out);
    assert_int_equal (n, 3 * N);
    free (out);
    /* windows-1252 0x80 is U+20AC (3 bytes), no cap given */
    memset (in, 0x80, N);
    assert_int_equal (charset_to_utf8 (in, N, "text/html; charset=windows-1252", NULL, 0,
                                       &out, &n), VL_OK);
    assert_int_equal (n, 3 * N);
    free (out);
    /* cleaned text at its cap, then the ellipsis */
    memset (in, 'a', N);
    in[N] = '\0';
    out = format_clean_str (in, 100, 0);
    assert_non_null (out);
    assert_int_equal (strlen (out), 103);
    free (out);
    /* HTML: a block element per 7 bytes adds two newlines */
    for (size_t i = 0; i < N; i++)
        memcpy (in + 7 * i, "<p></p>", 7);
    out = text_norm_html (in, 7 * N, true, 1 << 20);
    assert_non_null (out);
    free (out);
    /* a diff whose only line is far longer than its cap: cut, not lost */
    memset (in, 'b', N);
    in[N] = '\0';
    out = diff_lines ("a", in, 64);
    assert_non_null (out);
    assert_true (strlen (out) <= 64);
    free (out);
    /* fold: every code point a word character or a gap */
    for (size_t i = 0; i < N; i++)
        memcpy (in + 2 * i, i % 2 ? "\xc5\x93" : " .", 2);   /* œ and gaps */
    out = fold_text (in, 2 * N);
    assert_non_null (out);
    free (out);
    /* a feed full of bare '&' (each becomes "&amp;", x5) */
    buf_t doc;
    buf_init (&doc, 1 << 20);
    assert_int_equal (buf_puts (&doc, "<rss><channel><item><guid>g</guid><title>"), VL_OK);
    for (size_t i = 0; i < N; i++)
        assert_int_equal (buf_putc (&doc, '&'), VL_OK);
    assert_int_equal (buf_puts (&doc, "</title></item></channel></rss>"), VL_OK);
    item_list_t l = { 0 };
    assert_int_equal (feed_parse (doc.data, doc.len, NULL, &l), VL_OK);
    assert_int_equal (l.n, 1);
    assert_non_null (l.items[0].title);
    assert_int_equal (l.items[0].title[0], '&');
    item_list_free (&l);
    buf_free (&doc);
    free (in);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (buf_enforces_its_maximum),
        cmocka_unit_test (buf_limits_at_the_edges),
        cmocka_unit_test (log_sanitize_neutralises_hostile_text),
        cmocka_unit_test (log_lines_cannot_be_forged),
        cmocka_unit_test (log_json_lines_always_parse),
        cmocka_unit_test (util_utf8_and_hex),
        cmocka_unit_test (util_secret_file_must_be_private),
        cmocka_unit_test (util_read_file_never_returns_more_than_max),
        cmocka_unit_test (util_secret_refuses_symlinks),
        cmocka_unit_test (derived_bounds_fit_the_worst_case),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
