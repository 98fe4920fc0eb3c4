/*
 * password: `tallyfeed-agent password`, the entry desk's password (see
 * password.h).
 */
#include "password.h"
#include "config.h"
#include "log.h"
#include "login.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* One line of at most size - 1 bytes from fd, without its newline, into
 * buf.  0, or -1 if longer or unreadable. */
static int
s_read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t got = read(fd, &c, 1);

		if (got < 0)
			return -1;
		if (got == 0 || c == '\n')
			break;
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

/* Ask for a line on the terminal, not echoed (or read a line from stdin). */
static int
s_ask(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	int rc;

	fputs(prompt, stderr);
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = s_read_line(STDIN_FILENO, buf, size);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

int
password_command(const char *spool_dir, int argc, char **argv)
{
	char first[LOGIN_PASSWORD_MAX + 2] = "", again[LOGIN_PASSWORD_MAX + 2] = "";
	char path[4096], err[1024];
	long fd = -1;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--fd") == 0) {
		if (tf_parse_long(argv[2], 0, 1023, &fd) != 0) {
			log_warnx("--fd takes a descriptor number");
			return 2;
		}
	} else if (argc != 1) {
		log_warnx("usage: password [--fd N]");
		return 2;
	}
	snprintf(path, sizeof path, "%s/%s", spool_dir, LOGIN_FILE);
	if (fd >= 0) {
		if (s_read_line((int)fd, first, sizeof first) != 0) {
			log_warnx("password: no line of at most %d bytes on descriptor %ld",
			          LOGIN_PASSWORD_MAX, fd);
			goto out;
		}
	} else if (s_ask("new password for the entry desk: ", first, sizeof first) != 0
	           || s_ask("the same again: ", again, sizeof again) != 0) {
		log_warnx("password: not read (at most %d bytes)", LOGIN_PASSWORD_MAX);
		goto out;
	} else if (strcmp(first, again) != 0) {
		log_warnx("password: the two differ; nothing changed");
		goto out;
	}
	if (login_password_set(path, first, err, sizeof err) != 0) {
		log_warnx("password: %s", err);
		goto out;
	}
	printf("password set in %s (a running agent takes it when restarted)\n", path);
	rc = 0;
out:
	sodium_memzero(first, sizeof first);
	sodium_memzero(again, sizeof again);
	return rc;
}
