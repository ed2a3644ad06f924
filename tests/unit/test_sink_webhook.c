/* test_sink_webhook.c: payloads of every webhook style from hostile
 * events, limits, headers, and HTTP outcome classification. (Real HTTP:
 * integration tests 43-sub-webhook.py, 46-sub-blocked-sink.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <jansson.h>
#include "format.h"
#include "format_mime.h"
#include "sink_webhook.h"
#include "util.h"
#include "test_sub_hostile.h"

static char *const NTFY_TAGS[] = { "warning", "rotating_light", NULL };

static sink_webhook_opts_t
opts (webhook_style_t style)
{
    sink_webhook_opts_t o = {
        .name = "hook", .url = "http://127.0.0.1:9/hook", .style = style,
        .token = "tok\r\nX-Evil: 1", .chat_id = "-100123", .room = "!room:example.org",
        .priority = 4, .ntfy_tags = NTFY_TAGS, .timeout_s = 5,
    };
    return o;
}

static void
check_headers (const webhook_req_t *req)
{
    for (struct curl_slist *l = req->headers; l; l = l->next) {
        assert_true (hostile_clean (l->data, strlen (l->data), ""));
        assert_true (strncmp (l->data, "X-Evil", 6) != 0);
    }
}

static const char *
header (const webhook_req_t *req, const char *name)
{
    size_t n = strlen (name);
    for (struct curl_slist *l = req->headers; l; l = l->next)
        if (strncmp (l->data, name, n) == 0 && l->data[n] == ':')
            return l->data + n + 2;
    return NULL;
}

static json_t *
parse (const webhook_req_t *req)
{
    assert_null (strstr (req->body.data, "</script>"));
    json_error_t e;
    json_t *j = json_loadb (req->body.data, req->body.len, 0, &e);
    assert_non_null (j);
    return j;
}

static void
every_style_builds_valid_payloads_from_hostile_events (void **state)
{
    for (int style = WEBHOOK_JSON; style <= WEBHOOK_NTFY; style++) {
        sink_webhook_opts_t o = opts ((webhook_style_t) style);
        for (size_t i = 0; i < HOSTILE_N; i++) {
            event_t ev;
            hostile_event (i, &ev);
            webhook_req_t req;
            assert_int_equal (sink_webhook_build (&o, &ev, 5, &req), VL_OK);
            check_headers (&req);
            assert_true (util_utf8_valid (req.body.data, req.body.len));
            assert_true (req.body.len < FORMAT_BODY_FIELD_MAX + 32768);
            assert_string_equal (header (&req, "X-Veille-Event-Id"), ev.id);
            if (style != WEBHOOK_NTFY)
                json_decref (parse (&req));
            else
                assert_true (hostile_clean (req.body.data, req.body.len, "\n"));
            sink_webhook_req_free (&req);
            event_clear (&ev);
        }
    }
}

static void
json_style_is_the_event (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_JSON);
    event_t ev;
    hostile_event (1, &ev);                 /* quotes and backslashes */
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 77, &req);
    json_t *j = parse (&req);
    assert_string_equal (json_string_value (json_object_get (j, "title")), HOSTILE[1].title);
    assert_int_equal (json_integer_value (json_object_get (j, "seq")), 77);
    assert_string_equal (req.method, "POST");
    json_decref (j);
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static void
discord_is_cut_at_2000_code_points (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_DISCORD);
    event_t ev;
    hostile_event (4, &ev);                 /* emoji title */
    free (ev.summary);
    ev.summary = malloc (4 * 3000 + 1);
    for (int k = 0; k < 3000; k++)
        memcpy (ev.summary + 4 * k, "\xf0\x9f\x98\x80", 4);
    ev.summary[4 * 3000] = '\0';
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    json_t *j = parse (&req);
    const char *content = json_string_value (json_object_get (j, "content"));
    assert_true (format_utf8_count (content, strlen (content)) <= WEBHOOK_DISCORD_MAX);
    assert_true (util_utf8_valid (content, strlen (content)));
    assert_non_null (strstr (content, "\xe2\x80\xa6"));      /* ends with an ellipsis */
    json_t *am = json_object_get (json_object_get (j, "allowed_mentions"), "parse");
    assert_true (json_is_array (am) && json_array_size (am) == 0);   /* no @everyone */
    json_decref (j);
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static void
slack_escapes_control_characters (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_SLACK);
    event_t ev;
    hostile_event (6, &ev);                 /* </script> */
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    json_t *j = parse (&req);
    const char *text = json_string_value (json_object_get (j, "text"));
    assert_null (strchr (text, '<'));
    assert_non_null (strstr (text, "&lt;/script&gt;"));
    json_decref (j);
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static void
matrix_puts_to_the_room_with_the_event_id_as_txn (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_MATRIX);
    o.url = "https://matrix.example.org/";
    event_t ev;
    hostile_event (6, &ev);
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    assert_string_equal (req.method, "PUT");
    assert_string_equal (req.url, "https://matrix.example.org/_matrix/client/v3/rooms/"
                         "%21room%3Aexample.org/send/m.room.message/0123456789abcdef0123456789abcdef");
    json_t *j = parse (&req);
    assert_string_equal (json_string_value (json_object_get (j, "msgtype")), "m.text");
    assert_null (strstr (json_string_value (json_object_get (j, "formatted_body")), "<script"));
    assert_non_null (header (&req, "Authorization"));
    json_decref (j);
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static void
telegram_puts_the_token_in_the_path_and_chat_id_in_body (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_TELEGRAM);
    o.url = "https://api.telegram.org";
    o.token = "123:ABC";
    event_t ev;
    hostile_event (5, &ev);
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    assert_string_equal (req.url, "https://api.telegram.org/bot123:ABC/sendMessage");
    assert_null (header (&req, "Authorization"));
    json_t *j = parse (&req);
    assert_string_equal (json_string_value (json_object_get (j, "chat_id")), "-100123");
    json_decref (j);
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static void
ntfy_sets_title_tags_priority_click (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_NTFY);
    event_t ev;
    hostile_event (0, &ev);                 /* CR/LF title */
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    const char *title = header (&req, "Title");
    assert_non_null (title);
    assert_string_equal (title, "Line one  Bcc: evil@example.org  Subject: pwned  body");
    assert_string_equal (header (&req, "Tags"), "warning,rotating_light");
    assert_string_equal (header (&req, "Priority"), "4");
    assert_null (header (&req, "Click"));     /* a raw '"' is no URL: no link */
    assert_string_equal (header (&req, "Authorization"), "Bearer tok  X-Evil: 1");
    sink_webhook_req_free (&req);
    event_clear (&ev);
    hostile_event (4, &ev);                 /* emoji: RFC 2047 encoded */
    sink_webhook_build (&o, &ev, 1, &req);
    assert_memory_equal (header (&req, "Title"), "=?UTF-8?B?", 10);
    sink_webhook_req_free (&req);
    free (ev.url);
    ev.url = strdup ("https://example.org/a?b=1&c=%222%22");
    sink_webhook_build (&o, &ev, 1, &req);
    assert_string_equal (header (&req, "Click"), "https://example.org/a?b=1&c=%222%22");
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

/* Decodes the RFC 2047 base64 encoded-words of header value V (as
 * format_rfc2047 writes them, separated by spaces) into OUT. */
static void
rfc2047_decode (const char *v, char *out, size_t cap)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (const char *w = strstr (v, "=?UTF-8?B?"); w; w = strstr (w, "=?UTF-8?B?")) {
        w += 10;
        unsigned acc = 0, bits = 0;
        for (; *w && *w != '?'; w++) {
            const char *p = *w == '=' ? NULL : strchr (B64, *w);
            if (!p)
                continue;
            acc = (acc << 6) | (unsigned) (p - B64);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                assert_true (n + 1 < cap);
                out[n++] = (char) ((acc >> bits) & 0xff);
            }
        }
    }
    out[n] = '\0';
}

static void
ntfy_body_is_cut_at_4096_bytes_and_title_mentions_nobody (void **state)
{
    sink_webhook_opts_t o = opts (WEBHOOK_NTFY);
    event_t ev;
    hostile_event (1, &ev);
    free (ev.title);                 /* the watcher's own caps: title ~1 KiB, summary 4,000 */
    ev.title = malloc (1025);
    memset (ev.title, 'T', 1024);
    memcpy (ev.title, "@channel ", 9);
    ev.title[1024] = '\0';
    free (ev.summary);
    ev.summary = malloc (4001);
    ev.summary[0] = 'x';             /* then 3-byte characters: the cut falls inside one */
    for (int k = 0; k < 1333; k++)
        memcpy (ev.summary + 1 + 3 * k, "\xe2\x82\xac", 3);
    ev.summary[4000] = '\0';
    webhook_req_t req;
    assert_int_equal (sink_webhook_build (&o, &ev, 1, &req), VL_OK);
    assert_true (req.body.len <= WEBHOOK_NTFY_MAX);
    assert_true (req.body.len > WEBHOOK_NTFY_MAX - 8);
    assert_true (util_utf8_valid (req.body.data, req.body.len));
    assert_memory_equal (req.body.data + req.body.len - 3, "\xe2\x80\xa6", 3);   /* "…" */
    const char *title = header (&req, "Title");
    assert_non_null (title);
    assert_null (strstr (title, "@channel"));
    char plain[4096];
    rfc2047_decode (title, plain, sizeof plain);
    assert_memory_equal (plain, "@\xe2\x80\x8b" "channel TTT", 14);   /* U+200B ends it */
    sink_webhook_req_free (&req);
    free (ev.summary);               /* short bodies are not touched */
    ev.summary = strdup ("short");
    assert_int_equal (sink_webhook_build (&o, &ev, 1, &req), VL_OK);
    assert_true (req.body.len > 7);
    assert_string_equal (req.body.data + req.body.len - 7, "\n\nshort");
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

/* The human text of a chat request (Slack/Mattermost/Telegram "text",
 * Discord "content", Matrix "body", ntfy the body); caller frees. With
 * HTML, the Matrix formatted_body instead. */
static char *
chat_text_of (webhook_style_t style, const event_t *ev, bool html)
{
    sink_webhook_opts_t o = opts (style);
    webhook_req_t req;
    assert_int_equal (sink_webhook_build (&o, ev, 1, &req), VL_OK);
    char *text;
    if (style == WEBHOOK_NTFY)
        text = strdup (req.body.data);
    else {
        json_t *j = parse (&req);
        const char *key = style == WEBHOOK_DISCORD ? "content"
                        : style == WEBHOOK_MATRIX ? (html ? "formatted_body" : "body") : "text";
        text = strdup (json_string_value (json_object_get (j, key)));
        json_decref (j);
    }
    sink_webhook_req_free (&req);
    return text;
}

static void
chat_messages_mention_nobody (void **state)
{
    static const char *const MENTIONS[] = {
        "@channel", "@here", "@all", "@everyone", "@room", "@someone", "@123", "@&456", NULL
    };
    event_t ev;
    hostile_event (1, &ev);
    free (ev.title);
    ev.title = strdup ("@channel @here hi @all (@everyone) <@123> <@&456> <!channel> foo@bar.org");
    free (ev.summary);
    ev.summary = strdup ("@room ping\n@someone");
    free (ev.url);
    ev.url = strdup ("https://medium.example/@writer/post");
    for (int style = WEBHOOK_SLACK; style <= WEBHOOK_NTFY; style++) {
        for (int html = 0; html <= (style == WEBHOOK_MATRIX); html++) {
            char *text = chat_text_of ((webhook_style_t) style, &ev, html);
            for (size_t k = 0; MENTIONS[k]; k++)
                if (strstr (text, MENTIONS[k]))
                    fail_msg ("style %d: %s in %s", style, MENTIONS[k], text);
            assert_non_null (strstr (text, "foo@bar.org"));          /* addresses kept */
            assert_non_null (strstr (text, "medium.example/%40writer/post"));   /* link works */
            free (text);
        }
    }
    /* Matrix: an empty m.mentions turns off the body-based push rules
       (display names, @room) */
    sink_webhook_opts_t o = opts (WEBHOOK_MATRIX);
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    json_t *j = parse (&req);
    json_t *m = json_object_get (j, "m.mentions");
    assert_true (json_is_object (m) && json_object_size (m) == 0);
    json_decref (j);
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static void
markdown_styles_make_links_and_images_inert (void **state)
{
    event_t ev;
    hostile_event (1, &ev);
    free (ev.title);
    ev.title = strdup ("[Your bank](https://evil.example/login) ![](https://track.example/p.png)");
    free (ev.summary);
    ev.summary = strdup ("[ref]: https://evil.example\n<https://evil.example> **b** `c` ~s~ _i_");
    free (ev.url);
    ev.url = strdup ("javascript:alert(1)");
    for (int style = WEBHOOK_MATTERMOST; style <= WEBHOOK_DISCORD; style++) {
        char *text = chat_text_of ((webhook_style_t) style, &ev, false);
        assert_non_null (strstr (text, "\\[Your bank\\]\\(https://evil.example/login\\)"));
        assert_non_null (strstr (text, "\\!\\[\\]\\(https://track.example/p.png\\)"));
        assert_non_null (strstr (text, "\\[ref\\]: https://evil.example"));
        assert_non_null (strstr (text, "\\<https://evil.example\\> \\*\\*b\\*\\* \\`c\\` "
                                       "\\~s\\~ \\_i\\_"));
        assert_non_null (strstr (text, "\njavascript:alert\\(1\\)\n"));   /* text, no link */
        free (text);
    }
    free (ev.url);
    ev.url = strdup ("https://example.org/wiki/A_(b)");      /* a web URL: an autolink */
    for (int style = WEBHOOK_MATTERMOST; style <= WEBHOOK_DISCORD; style++) {
        char *text = chat_text_of ((webhook_style_t) style, &ev, false);
        assert_non_null (strstr (text, "\n<https://example.org/wiki/A_(b)>\n"));
        free (text);
    }
    char *text = chat_text_of (WEBHOOK_SLACK, &ev, false);    /* Slack: no markdown */
    assert_non_null (strstr (text, "[Your bank](https://evil.example/login)"));
    assert_non_null (strstr (text, "\nhttps://example.org/wiki/A_(b)\n"));
    free (text);
    event_clear (&ev);
}

static void
clickable_links_are_web_urls_only (void **state)
{
    static const char *const BAD[] = {
        "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>x</script>",
        "file:///etc/passwd", "intent://x#Intent;end", "https://a.example/ b", NULL
    };
    sink_webhook_opts_t o = opts (WEBHOOK_NTFY);
    event_t ev;
    hostile_event (1, &ev);
    for (size_t k = 0; BAD[k]; k++) {
        free (ev.url);
        ev.url = strdup (BAD[k]);
        webhook_req_t req;
        assert_int_equal (sink_webhook_build (&o, &ev, 1, &req), VL_OK);
        if (header (&req, "Click"))
            fail_msg ("Click: %s", header (&req, "Click"));
        sink_webhook_req_free (&req);
    }
    free (ev.url);
    ev.url = strdup ("HTTPS://ok.example/x");
    webhook_req_t req;
    sink_webhook_build (&o, &ev, 1, &req);
    assert_string_equal (header (&req, "Click"), "HTTPS://ok.example/x");
    sink_webhook_req_free (&req);
    event_clear (&ev);
}

static const webhook_style_t CHAT_STYLES[] = {
    WEBHOOK_SLACK, WEBHOOK_MATTERMOST, WEBHOOK_DISCORD, WEBHOOK_MATRIX, WEBHOOK_TELEGRAM,
    WEBHOOK_NTFY,
};

static void
changed_event (event_t *ev, const char *diff)
{
    hostile_event (0, ev);
    free (ev->type);
    ev->type = strdup ("changed");
    free (ev->title);
    ev->title = strdup ("KEEP-TITLE");
    free (ev->summary);
    ev->summary = strdup ("KEEP-SUMMARY");
    ev->diff = strdup (diff);
}

static void
changed_events_carry_their_diff_in_every_chat_style (void **state)
{
    event_t ev;
    changed_event (&ev, "+ added @here [x](javascript:alert(1))\n\n- removed <b>");
    for (size_t i = 0; i < VL_ARRAY_LEN (CHAT_STYLES); i++) {
        webhook_style_t style = CHAT_STYLES[i];
        char *text = chat_text_of (style, &ev, false);
        assert_non_null (strstr (text, "KEEP-SUMMARY\n\n"));
        assert_non_null (strstr (text, "+ added @\xe2\x80\x8bhere"));   /* mention broken */
        const char *quote = style == WEBHOOK_SLACK ? "\n&gt; + added" : "\n> + added";
        bool quoted = style == WEBHOOK_SLACK || style == WEBHOOK_MATTERMOST
                   || style == WEBHOOK_DISCORD;
        assert_true ((strstr (text, quote) != NULL) == quoted);
        if (style == WEBHOOK_MATTERMOST || style == WEBHOOK_DISCORD) {
            assert_non_null (strstr (text, "\\[x\\]\\(javascript:alert\\(1\\)\\)"));
            assert_non_null (strstr (text, "\n> - removed \\<b\\>"));  /* empty line gone */
        } else if (style == WEBHOOK_SLACK)
            assert_non_null (strstr (text, "\n&gt; - removed &lt;b&gt;"));
        else
            assert_non_null (strstr (text, "(1))\n- removed <b>"));
        assert_true (hostile_clean (text, strlen (text), "\n"));
        free (text);
    }
    event_clear (&ev);
}

/* The diff is cut, on a character boundary and with "…", so that the
 * message fits the service; what comes before it is whole. */
static void
long_diffs_are_cut_within_each_style_limit (void **state)
{
    static const struct { webhook_style_t style; size_t max; bool bytes; } LIM[] = {
        { WEBHOOK_SLACK, WEBHOOK_SLACK_MAX * 5, false },
        { WEBHOOK_MATTERMOST, WEBHOOK_MATTERMOST_MAX, false },
        { WEBHOOK_DISCORD, WEBHOOK_DISCORD_MAX, false },
        { WEBHOOK_MATRIX, WEBHOOK_MATRIX_MAX, true },
        { WEBHOOK_TELEGRAM, WEBHOOK_TELEGRAM_MAX, false },
        { WEBHOOK_NTFY, WEBHOOK_NTFY_MAX, true },
    };
    buf_t diff;
    buf_init (&diff, 1 << 20);
    for (int k = 0; k < 2000; k++)
        buf_puts (&diff, k % 2 ? "- \xc3\xa9t\xc3\xa9 @all\n" : "+ \xe2\x82\xac\xf0\x9f\x9a\xa8\n");
    for (size_t i = 0; i < VL_ARRAY_LEN (LIM); i++) {
        event_t ev;
        changed_event (&ev, diff.data);
        size_t n = LIM[i].style == WEBHOOK_DISCORD ? 1900 : 3990;   /* leaves a little room */
        free (ev.summary);
        ev.summary = malloc (n + 1);
        memset (ev.summary, 's', n);
        ev.summary[n] = '\0';
        char *text = chat_text_of (LIM[i].style, &ev, false);
        size_t len = strlen (text);
        size_t used = LIM[i].bytes ? len : format_utf8_count (text, len);
        assert_true (used <= LIM[i].max);
        assert_true (util_utf8_valid (text, len));
        assert_true (len > 3 && strcmp (text + len - 3, "\xe2\x80\xa6") == 0);  /* "…" */
        assert_non_null (strstr (text, "KEEP-TITLE"));
        assert_non_null (strstr (text, ev.summary));                  /* the summary whole */
        assert_non_null (strstr (text, "\n\n"));
        free (text);
        event_clear (&ev);
    }
    buf_free (&diff);
}

static void
http_outcomes_are_classified (void **state)
{
    sink_result_t r;
    sink_webhook_classify (CURLE_OK, 204, 0, "", &r);
    assert_int_equal (r.status, SINK_DELIVERED);
    sink_webhook_classify (CURLE_OK, 429, 7, "slow down", &r);
    assert_int_equal (r.status, SINK_RETRY);
    assert_int_equal (r.retry_after_ms, 7000);
    sink_webhook_classify (CURLE_OK, 503, 0, "", &r);
    assert_int_equal (r.status, SINK_RETRY);
    assert_int_equal (r.retry_after_ms, 0);
    sink_webhook_classify (CURLE_OK, 503, 30, "maintenance", &r);   /* Retry-After on 503 too */
    assert_int_equal (r.status, SINK_RETRY);
    assert_int_equal (r.retry_after_ms, 30000);
    sink_webhook_classify (CURLE_OK, 408, 0, "", &r);
    assert_int_equal (r.status, SINK_RETRY);
    sink_webhook_classify (CURLE_OPERATION_TIMEDOUT, 0, 0, NULL, &r);
    assert_int_equal (r.status, SINK_RETRY);
    sink_webhook_classify (CURLE_OK, 400, 0, "bad \x1b[31m request", &r);
    assert_int_equal (r.status, SINK_FAILED);
    assert_null (strchr (r.detail, '\x1b'));
    sink_webhook_classify (CURLE_OK, 404, 0, "", &r);
    assert_int_equal (r.status, SINK_FAILED);
}

static void
style_names_parse (void **state)
{
    assert_int_equal (sink_webhook_style_parse ("discord"), WEBHOOK_DISCORD);
    assert_int_equal (sink_webhook_style_parse ("ntfy"), WEBHOOK_NTFY);
    assert_int_equal (sink_webhook_style_parse ("irc"), -1);
    sink_webhook_opts_t o = opts (WEBHOOK_MATRIX);
    o.room = NULL;
    vl_err_t err;
    assert_null (sink_webhook_new (&o, &err));
    assert_int_equal (err, VL_EINVAL);
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (every_style_builds_valid_payloads_from_hostile_events),
        cmocka_unit_test (json_style_is_the_event),
        cmocka_unit_test (discord_is_cut_at_2000_code_points),
        cmocka_unit_test (slack_escapes_control_characters),
        cmocka_unit_test (matrix_puts_to_the_room_with_the_event_id_as_txn),
        cmocka_unit_test (telegram_puts_the_token_in_the_path_and_chat_id_in_body),
        cmocka_unit_test (ntfy_sets_title_tags_priority_click),
        cmocka_unit_test (ntfy_body_is_cut_at_4096_bytes_and_title_mentions_nobody),
        cmocka_unit_test (chat_messages_mention_nobody),
        cmocka_unit_test (markdown_styles_make_links_and_images_inert),
        cmocka_unit_test (clickable_links_are_web_urls_only),
        cmocka_unit_test (changed_events_carry_their_diff_in_every_chat_style),
        cmocka_unit_test (long_diffs_are_cut_within_each_style_limit),
        cmocka_unit_test (http_outcomes_are_classified),
        cmocka_unit_test (style_names_parse),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return rc;
}
