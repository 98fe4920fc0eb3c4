/*
 * log: one-line diagnostics to stderr, with level and program name.  Every
 * line is escaped whole (tf_text_escape): what a message quotes from the
 * network or a file (a rejection's detail, an agent id, a unit name, a
 * file name) can neither end the line and forge the next one nor send a
 * terminal its control sequences.
 */
#include "log.h"
#include "utf8.h"

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
	char raw[2048], line[TF_TEXT_ESCAPED_MAX(sizeof raw)];
	int n;

	n = vsnprintf(raw, sizeof raw, fmt, ap);
	if (n < 0)
		n = 0;
	tf_text_escape(line, sizeof line, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1);
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
