/*
 * log: one-line diagnostics to stderr, with level and program name.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static const char *s_progname = "tallyfeed";
static int s_verbose;
static int s_syslog;            /* lines go to syslog, not stderr */
static int s_journal = -1;      /* stderr is journald's: prefix each line's level */

void
log_init(const char *progname, int verbose)
{
	s_progname = progname;
	s_verbose = verbose;
}

void
log_setverbose(int verbose)
{
	s_verbose = verbose;
}

void
log_to_syslog(void)
{
	openlog(s_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	s_syslog = 1;
}

static void __attribute__((format(printf, 3, 0)))
s_vlog(int priority, const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];

	vsnprintf(line, sizeof line, fmt, ap);
	if (s_syslog) {
		syslog(priority, "%s: %s%s%s", level, line, suffix ? ": " : "", suffix ? suffix : "");
		return;
	}
	/* Under systemd, stderr goes to journald, which reads "<N>" as the
	 * line's priority (sd-daemon(3)). */
	if (s_journal < 0)
		s_journal = getenv("JOURNAL_STREAM") != NULL;
	if (s_journal)
		fprintf(stderr, "<%d>", priority);
	if (suffix != NULL)
		fprintf(stderr, "%s: %s: %s: %s\n", s_progname, level, line, suffix);
	else
		fprintf(stderr, "%s: %s: %s\n", s_progname, level, line);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	s_vlog(LOG_WARNING, "warning", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_vlog(LOG_WARNING, "warning", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_vlog(LOG_INFO, "info", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (s_verbose < 1)
		return;
	va_start(ap, fmt);
	s_vlog(LOG_DEBUG, "debug", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	s_vlog(LOG_CRIT, "fatal", fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_vlog(LOG_CRIT, "fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
