/*
 * log: one-line diagnostics to stderr, with level and program name.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_progname = "tallyfeed";
static int s_verbose;

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

static void
s_vlog(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];

	vsnprintf(line, sizeof line, fmt, ap);
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
	s_vlog("warning", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_vlog("warning", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_vlog("info", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (s_verbose < 1)
		return;
	va_start(ap, fmt);
	s_vlog("debug", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	s_vlog("fatal", fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_vlog("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
