/*
 * service: systemd notification (see service.h).
 */
#include "service.h"

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static uint64_t
s_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
tf_service_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status != NULL ? status : "serving");
}

void
tf_service_alive(void)
{
	static bool asked;
	static uint64_t interval_us, last_us;
	uint64_t now;

	if (!asked) {
		asked = true;
		if (sd_watchdog_enabled(0, &interval_us) <= 0)
			interval_us = 0;
	}
	if (interval_us == 0)
		return;
	now = s_mono_us();
	if (now - last_us < interval_us / 2)
		return;
	last_us = now;
	sd_notify(0, "WATCHDOG=1");
}

void
tf_service_starting(const char *status, int extend_ms)
{
	sd_notifyf(0, "STATUS=%s\nEXTEND_TIMEOUT_USEC=%llu", status,
	           (unsigned long long)extend_ms * 1000u);
}

void
tf_service_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void
tf_service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
