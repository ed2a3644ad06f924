/* notify.c: sd_notify readiness and watchdog (see notify.h). */
#include "notify.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include "log.h"
#include "util.h"

static int64_t s_period_ms;     /* watchdog period / 3; 0 = no watchdog */
static int64_t s_last_ms;       /* monotonic time of the last WATCHDOG=1 */

/* Reads WATCHDOG_USEC (and WATCHDOG_PID) once; keeps the environment so
 * that a restart by exec would see it too. */
static void
s_watchdog_setup (void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0) {
        s_period_ms = (int64_t) (usec / 3000);
        if (s_period_ms < 1)
            s_period_ms = 1;
        log_info ("notify: watchdog every %lld ms (WatchdogSec=%llu ms)",
                  (long long) s_period_ms, (unsigned long long) (usec / 1000));
    }
}

void
notify_ready (const char *status)
{
    s_watchdog_setup ();
    s_last_ms = util_mono_ms ();
    char msg[512];
    snprintf (msg, sizeof msg, "READY=1\nSTATUS=%s\nWATCHDOG=1", status ? status : "ready");
    int rc = sd_notify (0, msg);
    if (rc < 0)
        log_warn ("notify: cannot tell the service manager we are ready: error %d", -rc);
}

long
notify_watchdog (void)
{
    if (s_period_ms <= 0)
        return -1;
    int64_t now = util_mono_ms ();
    if (now - s_last_ms >= s_period_ms) {
        sd_notify (0, "WATCHDOG=1");
        s_last_ms = now;
    }
    int64_t left = s_last_ms + s_period_ms - now;
    return (long) (left < 0 ? 0 : left);
}

long
notify_cap_wait (long wait)
{
    long due = notify_watchdog ();
    if (due < 0)
        return wait;
    return wait < 0 || due < wait ? due : wait;
}

void
notify_stopping (void)
{
    sd_notify (0, "STOPPING=1");
}
