/* test_sink_mail.c: mail headers from hostile content and SMTP outcome
 * classification. (Delivery to a real SMTP server: integration test
 * 42-sub-mail.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include "sink_mail.h"
#include "util.h"
#include "test_sub_hostile.h"

static char *const TO[] = { "desk@example.org", "ops@example.org\r\nBcc: x@evil", NULL };

static const sink_mail_opts_t OPTS = {
    .name = "mail", .url = "smtp://127.0.0.1:1", .from = "veille@example.org", .to = TO,
    .subject_prefix = "[veille]",
};

static void
headers_are_single_lines_whatever_the_subject (void **state)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        const char *subject = HOSTILE[i].big_summary ? "big" : HOSTILE[i].title;
        struct curl_slist *h = sink_mail_headers (&OPTS, subject, "0123abcd");
        assert_non_null (h);
        size_t n = 0;
        bool has_subject = false;
        for (struct curl_slist *l = h; l; l = l->next, n++) {
            const char *s = l->data;
            /* the only CR/LF allowed is the "\r\n " folding of the subject */
            for (const char *p = s; *p; p++) {
                if (*p == '\r') {
                    assert_int_equal (p[1], '\n');
                    assert_int_equal (p[2], ' ');
                    assert_memory_equal (s, "Subject: ", 9);
                } else if (*p == '\n')
                    assert_int_equal (p[-1], '\r');
                else
                    assert_true ((unsigned char) *p >= 0x20 && *p != 0x7f);
            }
            assert_true (strncmp (s, "Bcc", 3) != 0);
            if (strncmp (s, "Subject: ", 9) == 0) {
                has_subject = true;
                assert_null (strstr (s, "\r\nBcc"));   /* CR/LF never starts a header */
            }
        }
        assert_true (has_subject);
        assert_int_equal (n, 6);   /* Date From To Subject Message-ID X-Veille-Event-Id */
        curl_slist_free_all (h);
    }
}

static void
bodies_are_clean_and_capped_for_every_hostile_event (void **state)
{
    sink_mail_opts_t o = OPTS;
    o.html = true;
    for (size_t i = 0; i < HOSTILE_N; i++) {
        event_t ev;
        hostile_event (i, &ev);
        buf_t text, html;
        buf_init (&text, 1 << 24);
        buf_init (&html, 1 << 24);
        assert_int_equal (sink_mail_body (&o, &ev, 3, &text, &html), VL_OK);
        assert_true (hostile_clean (text.data, text.len, "\n"));
        assert_true (hostile_clean (html.data, html.len, "\n"));
        assert_true (text.len < 200 * 1024);           /* 10 MB summary capped */
        assert_null (strstr (html.data, "<script"));
        assert_non_null (strstr (text.data, "id 0123456789abcdef0123456789abcdef seq 3"));
        buf_free (&text);
        buf_free (&html);
        event_clear (&ev);
    }
}

/* Date: RFC 5322, English names, UTC, the time the headers were built. */
static void
date_header_is_rfc5322_now (void **state)
{
    static const char *const DAYS = "Sun Mon Tue Wed Thu Fri Sat";
    static const char *const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
    time_t before = time (NULL);
    struct curl_slist *h = sink_mail_headers (&OPTS, "x", "id");
    time_t after = time (NULL);
    assert_non_null (h);
    const char *d = h->data;
    assert_memory_equal (d, "Date: ", 6);
    d += 6;
    char day[4], mon[4];
    int md, y, hh, mm, ss, n = 0;
    assert_int_equal (sscanf (d, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d +0000%n",
                              day, &md, mon, &y, &hh, &mm, &ss, &n), 7);
    assert_int_equal ((size_t) n, strlen (d));
    assert_int_equal (strlen (d), strlen ("Sun, 06 Dec 2026 05:00:40 +0000"));
    assert_non_null (strstr (DAYS, day));
    assert_non_null (strstr (MONTHS, mon));
    time_t t = curl_getdate (d, NULL);
    assert_true (t >= before && t <= after);
    curl_slist_free_all (h);
}

static void
to_header_lists_recipients_without_injection (void **state)
{
    struct curl_slist *h = sink_mail_headers (&OPTS, "x", "id");
    const char *to = NULL;
    for (struct curl_slist *l = h; l; l = l->next)
        if (strncmp (l->data, "To: ", 4) == 0)
            to = l->data;
    assert_non_null (to);
    assert_string_equal (to, "To: desk@example.org, ops@example.org  Bcc: x@evil");
    curl_slist_free_all (h);
}

static void
message_id_is_stable_per_event (void **state)
{
    struct curl_slist *h = sink_mail_headers (&OPTS, "x", "0123abcd");
    bool found = false;
    for (struct curl_slist *l = h; l; l = l->next)
        if (strncmp (l->data, "Message-ID: ", 12) == 0) {
            assert_string_equal (l->data, "Message-ID: <0123abcd@veille.invalid>");
            found = true;
        }
    assert_true (found);
    curl_slist_free_all (h);
}

static void
smtp_outcomes_are_classified (void **state)
{
    sink_result_t r;
    sink_mail_classify (CURLE_OK, 250, &r);
    assert_int_equal (r.status, SINK_DELIVERED);
    sink_mail_classify (CURLE_COULDNT_CONNECT, 0, &r);
    assert_int_equal (r.status, SINK_RETRY);
    sink_mail_classify (CURLE_SEND_ERROR, 451, &r);
    assert_int_equal (r.status, SINK_RETRY);
    sink_mail_classify (CURLE_SEND_ERROR, 550, &r);
    assert_int_equal (r.status, SINK_FAILED);
    sink_mail_classify (CURLE_LOGIN_DENIED, 535, &r);
    assert_int_equal (r.status, SINK_FAILED);
}

static void
dead_server_is_a_retry (void **state)
{
    vl_err_t err;
    sink_mail_opts_t o = OPTS;
    o.timeout_s = 5;
    sink_t *s = sink_mail_new (&o, &err);
    assert_non_null (s);
    event_t ev;
    hostile_event (0, &ev);
    sink_result_t res;
    sink_deliver (s, &ev, 1, &res);
    assert_int_equal (res.status, SINK_RETRY);
    event_clear (&ev);
    sink_destroy (&s);
}

static void
digest_holds_until_flush (void **state)
{
    sink_mail_opts_t o = OPTS;
    o.digest_minutes = 5;
    sink_t *s = sink_mail_new (&o, NULL);
    assert_int_equal (s->ops->flush_due (s), -1);
    event_t ev;
    hostile_event (4, &ev);
    sink_result_t res;
    sink_deliver (s, &ev, 1, &res);
    assert_int_equal (res.status, SINK_HELD);
    assert_true (s->ops->flush_due (s) > util_mono_ms () + 4 * 60000);
    s->ops->discard (s);
    assert_int_equal (s->ops->flush_due (s), -1);
    event_clear (&ev);
    sink_destroy (&s);
}

static void
missing_recipients_are_rejected (void **state)
{
    sink_mail_opts_t o = OPTS;
    char *const none[] = { NULL };
    o.to = none;
    vl_err_t err;
    assert_null (sink_mail_new (&o, &err));
    assert_int_equal (err, VL_EINVAL);
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (headers_are_single_lines_whatever_the_subject),
        cmocka_unit_test (bodies_are_clean_and_capped_for_every_hostile_event),
        cmocka_unit_test (date_header_is_rfc5322_now),
        cmocka_unit_test (to_header_lists_recipients_without_injection),
        cmocka_unit_test (message_id_is_stable_per_event),
        cmocka_unit_test (smtp_outcomes_are_classified),
        cmocka_unit_test (dead_server_is_a_retry),
        cmocka_unit_test (digest_holds_until_flush),
        cmocka_unit_test (missing_recipients_are_rejected),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return rc;
}
