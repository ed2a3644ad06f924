/* notify.h: the service manager's readiness and watchdog protocol
 * (sd_notify, libsystemd). The units are Type=notify with WatchdogSec=:
 * each daemon says READY=1 once it serves and WATCHDOG=1 from its main
 * loop, so a loop that stalls is restarted. Every call is a no-op when the
 * process was not started by systemd (NOTIFY_SOCKET unset), so the
 * daemons behave the same from a shell or a test. Process-wide state,
 * like the logger; call from the main loop's thread only. */
#ifndef VL_NOTIFY_H
#define VL_NOTIFY_H

/* Tells the service manager that the daemon is ready, with STATUS (a short
 * line shown by `systemctl status`; may be NULL), and reads the watchdog
 * period (WATCHDOG_USEC) the first time. */
void notify_ready (const char *status);

/* Call at every turn of the main loop: sends WATCHDOG=1 when a third of
 * the watchdog period has gone by since the last one. Returns the
 * milliseconds until the next one is due (cap the loop's wait with it), or
 * -1 when there is no watchdog. */
long notify_watchdog (void);

/* Tells the service manager that the daemon is stopping (STOPPING=1). */
void notify_stopping (void);

/* Milliseconds: the smaller of WAIT and the watchdog's due time (WAIT when
 * there is no watchdog). For the loops' poll timeouts. */
long notify_cap_wait (long wait);

#endif
