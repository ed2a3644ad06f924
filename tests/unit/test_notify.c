/* test_notify.c: the sd_notify readiness and watchdog protocol (core/notify.c),
 * against a datagram socket standing for systemd's NOTIFY_SOCKET. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "notify.h"
#include "test_tmpdir.h"

/* Receives one datagram into BUF within 2 s; returns its length or -1. */
static ssize_t
s_recv (int fd, char *buf, size_t cap)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll (&p, 1, 2000) != 1)
        return -1;
    ssize_t n = recv (fd, buf, cap - 1, 0);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

static void
without_systemd_every_call_is_a_no_op (void **state)
{
    unsetenv ("NOTIFY_SOCKET");
    unsetenv ("WATCHDOG_USEC");
    notify_ready ("x");
    assert_int_equal (notify_watchdog (), -1);
    assert_int_equal (notify_cap_wait (500), 500);
    assert_int_equal (notify_cap_wait (-1), -1);
    notify_stopping ();
}

static void
ready_then_watchdog_then_stopping_reach_the_socket (void **state)
{
    char path[64];
    assert_int_equal (test_tmpdir_create (path, sizeof path, "vl-notify-"), 0);
    char sock[sizeof path + 16];
    snprintf (sock, sizeof sock, "%s/n.sock", path);
    int fd = socket (AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", sock);
    assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
    setenv ("NOTIFY_SOCKET", sock, 1);
    setenv ("WATCHDOG_USEC", "300000", 1);   /* WATCHDOG=1 every 100 ms */
    unsetenv ("WATCHDOG_PID");

    char buf[512];
    notify_ready ("serving");
    assert_true (s_recv (fd, buf, sizeof buf) > 0);
    assert_non_null (strstr (buf, "READY=1"));
    assert_non_null (strstr (buf, "STATUS=serving"));
    long due = notify_cap_wait (5000);        /* the wait is capped */
    assert_true (due >= 0 && due <= 100);
    assert_int_equal (notify_cap_wait (0), 0);
    usleep (150 * 1000);
    long next = notify_watchdog ();           /* due: sent, next in ~100 ms */
    assert_true (next > 50 && next <= 100);
    assert_true (s_recv (fd, buf, sizeof buf) > 0);
    assert_string_equal (buf, "WATCHDOG=1");
    notify_stopping ();
    assert_true (s_recv (fd, buf, sizeof buf) > 0);
    assert_string_equal (buf, "STOPPING=1");

    unsetenv ("NOTIFY_SOCKET");
    unsetenv ("WATCHDOG_USEC");
    close (fd);
    assert_int_equal (test_tmpdir_remove (path), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (without_systemd_every_call_is_a_no_op),
        cmocka_unit_test (ready_then_watchdog_then_stopping_reach_the_socket),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
