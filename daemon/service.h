/*
 * service: what a tallyfeed daemon tells systemd (Type=notify), through
 * libsystemd's sd_notify: READY once it serves, WATCHDOG=1 while its main
 * loop turns (at half the unit's WatchdogSec), RELOADING/READY around a
 * SIGHUP, STOPPING on the way out.  Outside systemd (no NOTIFY_SOCKET)
 * each call does nothing.
 */
#ifndef TF_SERVICE_H
#define TF_SERVICE_H

/* READY=1 with a one-line status for `systemctl status`. */
void tf_service_ready(const char *status);
/* From the main loop, as often as it likes: WATCHDOG=1, at most twice per
 * watchdog interval. */
void tf_service_alive(void);
/* Still starting, for a reason (STATUS=): systemd's start timeout is
 * pushed out by extend_ms (EXTEND_TIMEOUT_USEC) each call. */
void tf_service_starting(const char *status, int extend_ms);
void tf_service_reloading(void);
void tf_service_stopping(void);

#endif
