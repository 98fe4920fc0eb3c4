/*
 * infile: bounded reads of files from outside, judged on their descriptor
 * (see infile.h).
 */
#include "infile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
tf_infile_kind(const struct stat *st)
{
	assert(st != NULL);
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return NULL;
	case S_IFLNK:
		return "a symbolic link";
	case S_IFIFO:
		return "a FIFO";
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
	case S_IFBLK:
		return "a device";
	case S_IFSOCK:
		return "a socket";
	}
	return "not a regular file";
}

/* 0, or -1 with err: the owner and mode flags asks for. */
static int
s_check_owner(const struct stat *st, int flags, char *err, size_t errlen)
{
	uid_t me = geteuid();

	if ((flags & TF_INFILE_PRIVATE) != 0) {
		if (st->st_uid != me) {
			snprintf(err, errlen, "owned by uid %lu, not by this user (uid %lu)",
			         (unsigned long)st->st_uid, (unsigned long)me);
			return -1;
		}
		if ((st->st_mode & 077) != 0) {
			snprintf(err, errlen, "open to group or others (mode %04o): a secret key "
			         "file must be readable by its owner only (chmod 600)",
			         (unsigned)(st->st_mode & 07777));
			return -1;
		}
	}
	if ((flags & TF_INFILE_OURS) != 0) {
		if (st->st_uid != me && st->st_uid != 0) {
			snprintf(err, errlen, "owned by uid %lu, neither this user (uid %lu) nor root",
			         (unsigned long)st->st_uid, (unsigned long)me);
			return -1;
		}
		if ((st->st_mode & S_IWOTH) != 0) {
			snprintf(err, errlen, "writable by others (mode %04o)",
			         (unsigned)(st->st_mode & 07777));
			return -1;
		}
	}
	return 0;
}

char *
tf_infile_read(int dirfd, const char *name, size_t max, int flags, size_t *len,
               struct stat *st, char *err, size_t errlen)
{
	struct stat own;
	char *text = NULL;
	size_t got = 0;
	int fd;

	assert(name != NULL && len != NULL && err != NULL);
	*len = 0;
	if (st == NULL)
		st = &own;
	/* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer;
	 * O_NOFOLLOW: a link is refused, not followed (ELOOP). */
	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
	            | ((flags & TF_INFILE_FOLLOW) != 0 ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "a symbolic link");
		else
			snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (tf_infile_kind(st) != NULL) {
		snprintf(err, errlen, "%s", tf_infile_kind(st));
		goto fail;
	}
	if (st->st_size < 0 || (unsigned long long)st->st_size > max) {
		snprintf(err, errlen, "larger than %zu bytes", max);
		goto fail;
	}
	if (s_check_owner(st, flags, err, errlen) != 0)
		goto fail;
	/* Room for the size fstat said and one byte more, to see it grew. */
	text = malloc((size_t)st->st_size + 2);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, text + got, (size_t)st->st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st->st_size) {
			snprintf(err, errlen, "grew while it was read");
			goto fail;
		}
	}
	close(fd);
	text[got] = '\0';
	*len = got;
	return text;
fail:
	if (text != NULL) {
		/* It may be a secret: leave nothing of it behind. */
		sodium_memzero(text, (size_t)st->st_size + 2);
		free(text);
	}
	close(fd);
	return NULL;
}
