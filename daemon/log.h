/*
 * log: one-line diagnostics for every tallyfeed program, in the OpenBSD
 * style.  Lines go to stderr (journald picks them up); each carries the
 * program name and a level; or to syslog.  log_warn() appends strerror(errno).
 */
#ifndef TF_LOG_H
#define TF_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

/* Set the program name and verbosity (0 = info and up, 1+ = debug too). */
void log_init(const char *progname, int verbose);
void log_setverbose(int verbose);
/* From now on, to syslog (facility daemon) instead of stderr.  (On stderr
 * under systemd each line carries its level for journald.) */
void log_to_syslog(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1).  fatal() appends strerror(errno), fatalx() does not. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
