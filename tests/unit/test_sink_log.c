/* test_sink_log.c: the log sink (text/JSON lines, hostile content, SIGHUP
 * reopen, post-crash verification). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "sink_log.h"
#include "util.h"
#include "test_sub_hostile.h"
#include "test_tmpdir.h"

static char g_dir[64];
static char g_path[128];

static int
setup (void **state)
{
    if (test_tmpdir_create (g_dir, sizeof g_dir, "test_sink_log.") != 0)
        return -1;
    snprintf (g_path, sizeof g_path, "%s/alerts.log", g_dir);
    return 0;
}

static int
teardown (void **state)
{
    return test_tmpdir_remove (g_dir);
}

/* Reads the file and splits it into lines (modifies the buffer). */
static size_t
read_lines (const char *path, char **data, char **lines, size_t max)
{
    size_t len = 0;
    assert_int_equal (util_read_file (path, 64 * 1024 * 1024, data, &len), VL_OK);
    size_t n = 0;
    char *p = *data;
    while (*p && n < max) {
        char *nl = strchr (p, '\n');
        assert_non_null (nl);               /* every line is terminated */
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

static void
deliver_all (sink_t *s)
{
    for (size_t i = 0; i < HOSTILE_N; i++) {
        event_t ev;
        hostile_event (i, &ev);
        sink_result_t res;
        sink_deliver (s, &ev, 100 + i, &res);
        assert_int_equal (res.status, SINK_HELD);
        event_clear (&ev);
    }
    sink_result_t res;
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_DELIVERED);
    assert_int_equal (s->ops->flush_due (s), -1);
}

/* Delivers EV at SEQ and writes it out (deliver holds, flush writes). */
static void
deliver_flush (sink_t *s, const event_t *ev, uint64_t seq)
{
    sink_result_t res;
    sink_deliver (s, ev, seq, &res);
    assert_int_equal (res.status, SINK_HELD);
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_DELIVERED);
}

static void
text_file_gets_one_clean_line_per_hostile_event (void **state)
{
    sink_log_opts_t o = { .name = "log", .path = g_path, .json = false };
    vl_err_t err;
    sink_t *s = sink_log_new (&o, &err);
    assert_non_null (s);
    deliver_all (s);
    sink_destroy (&s);
    char *data, *lines[64];
    size_t n = read_lines (g_path, &data, lines, 64);
    assert_int_equal (n, HOSTILE_N);
    for (size_t i = 0; i < n; i++) {
        assert_true (hostile_clean (lines[i], strlen (lines[i]), ""));
        assert_true (strlen (lines[i]) < 4096);
        char want[64];
        snprintf (want, sizeof want, " seq=%zu", 100 + i);
        assert_non_null (strstr (lines[i], want));
    }
    assert_null (strstr (lines[0], "\nBcc"));
    free (data);
}

static void
json_file_gets_parseable_lines (void **state)
{
    sink_log_opts_t o = { .name = "log", .path = g_path, .json = true };
    sink_t *s = sink_log_new (&o, NULL);
    deliver_all (s);
    sink_destroy (&s);
    char *data, *lines[64];
    size_t n = read_lines (g_path, &data, lines, 64);
    assert_int_equal (n, HOSTILE_N);
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loads (lines[i], 0, NULL);
        assert_non_null (j);
        assert_int_equal (json_integer_value (json_object_get (j, "seq")), 100 + i);
        json_decref (j);
        assert_null (strstr (lines[i], "</script>"));
    }
    free (data);
}

static void
reopen_follows_logrotate (void **state)
{
    sink_log_opts_t o = { .name = "log", .path = g_path };
    sink_t *s = sink_log_new (&o, NULL);
    event_t ev;
    hostile_event (1, &ev);
    deliver_flush (s, &ev, 1);
    char rotated[160];
    snprintf (rotated, sizeof rotated, "%s.1", g_path);
    assert_int_equal (rename (g_path, rotated), 0);
    s->ops->reopen (s);
    deliver_flush (s, &ev, 2);
    sink_destroy (&s);
    char *data, *lines[4];
    assert_int_equal (read_lines (g_path, &data, lines, 4), 1);
    assert_non_null (strstr (lines[0], " seq=2"));
    free (data);
    assert_int_equal (read_lines (rotated, &data, lines, 4), 1);
    assert_non_null (strstr (lines[0], " seq=1"));
    free (data);
    event_clear (&ev);
}

static void
verify_finds_only_written_ids (void **state)
{
    for (int json = 0; json < 2; json++) {
        sink_log_opts_t o = { .name = "log", .path = g_path, .json = json };
        sink_t *s = sink_log_new (&o, NULL);
        event_t ev;
        hostile_event (0, &ev);
        sink_result_t res;
        sink_deliver (s, &ev, 1, &res);
        assert_false (s->ops->verify (s, "0123456789abcdef0123456789abcdef"));  /* held */
        s->ops->flush (s, &res);
        assert_int_equal (res.status, SINK_DELIVERED);
        assert_true (s->ops->verify (s, "0123456789abcdef0123456789abcdef"));
        assert_false (s->ops->verify (s, "ffffffffffffffffffffffffffffffff"));
        sink_destroy (&s);
        event_clear (&ev);
        unlink (g_path);
    }
}

static void
held_lines_are_written_together_at_flush (void **state)
{
    sink_log_opts_t o = { .name = "log", .path = g_path, .json = true };
    sink_t *s = sink_log_new (&o, NULL);
    assert_int_equal (s->ops->flush_due (s), -1);
    event_t ev;
    hostile_event (1, &ev);
    sink_result_t res;
    for (uint64_t seq = 1; seq <= 3; seq++) {
        sink_deliver (s, &ev, seq, &res);
        assert_int_equal (res.status, SINK_HELD);
    }
    assert_true (s->ops->flush_due (s) >= 0);
    char *data, *lines[8];
    assert_int_equal (read_lines (g_path, &data, lines, 8), 0);      /* nothing yet */
    free (data);
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_DELIVERED);
    assert_int_equal (read_lines (g_path, &data, lines, 8), 3);
    for (size_t i = 0; i < 3; i++) {
        char want[16];
        snprintf (want, sizeof want, "\"seq\":%zu,", i + 1);
        assert_non_null (strstr (lines[i], want));
    }
    free (data);
    s->ops->flush (s, &res);                    /* nothing held: nothing written */
    assert_int_equal (res.status, SINK_DELIVERED);
    assert_int_equal (read_lines (g_path, &data, lines, 8), 3);
    free (data);
    sink_destroy (&s);
    event_clear (&ev);
}

static void
failed_write_is_retried_then_discarded (void **state)
{
    sink_log_opts_t o = { .name = "log", .path = "/dev/full" };
    sink_t *s = sink_log_new (&o, NULL);
    assert_non_null (s);
    event_t ev;
    hostile_event (1, &ev);
    sink_result_t res;
    sink_deliver (s, &ev, 1, &res);
    assert_int_equal (res.status, SINK_HELD);
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_RETRY);           /* ENOSPC */
    assert_non_null (strstr (res.detail, "write"));
    assert_true (s->ops->flush_due (s) >= 0);            /* still held */
    s->ops->discard (s);
    assert_int_equal (s->ops->flush_due (s), -1);
    s->ops->flush (s, &res);
    assert_int_equal (res.status, SINK_DELIVERED);       /* nothing left to write */
    sink_destroy (&s);
    event_clear (&ev);
}

static void
stdout_sink_cannot_verify (void **state)
{
    sink_log_opts_t o = { .name = "out" };
    sink_t *s = sink_log_new (&o, NULL);
    assert_non_null (s);
    assert_false (s->ops->verify (s, "0123456789abcdef0123456789abcdef"));
    sink_destroy (&s);
}

static void
unopenable_file_is_a_setup_error (void **state)
{
    sink_log_opts_t o = { .name = "log", .path = "/nonexistent-dir/a.log" };
    vl_err_t err = VL_OK;
    assert_null (sink_log_new (&o, &err));
    assert_int_not_equal (err, VL_OK);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (text_file_gets_one_clean_line_per_hostile_event, setup, teardown),
        cmocka_unit_test_setup_teardown (json_file_gets_parseable_lines, setup, teardown),
        cmocka_unit_test_setup_teardown (reopen_follows_logrotate, setup, teardown),
        cmocka_unit_test_setup_teardown (verify_finds_only_written_ids, setup, teardown),
        cmocka_unit_test_setup_teardown (held_lines_are_written_together_at_flush, setup, teardown),
        cmocka_unit_test (failed_write_is_retried_then_discarded),
        cmocka_unit_test (stdout_sink_cannot_verify),
        cmocka_unit_test (unopenable_file_is_a_setup_error),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
