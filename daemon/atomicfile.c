/*
 * atomicfile: write a temporary name, fsync, rename, fsync the directory
 * (see atomicfile.h).
 */
#include "atomicfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMP_TRIES 16            /* fresh names tried before giving up */

/* Open a fresh hidden temporary name beside name; fd, or -1 with errno. */
static int
s_open_temporary(int dirfd, const char *name, mode_t mode, char *tmp, size_t tmplen)
{
	for (int i = 0; i < TMP_TRIES; i++) {
		int fd;

		/* Hidden (a leading dot), so that no directory scanner of ours
		 * takes it for a finished file. */
		snprintf(tmp, tmplen, ".%.200s.%08x.tmp", name, randombytes_random());
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int
tf_atomicfile_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                       int flags, char *err, size_t errlen)
{
	const unsigned char *bytes = data;
	char tmp[256];
	int fd = -1, rc = -1, error = 0;
	bool created = false;

	assert(name != NULL && (data != NULL || len == 0) && err != NULL);
	if (strchr(name, '/') != NULL || name[0] == '\0') {
		snprintf(err, errlen, "%s: not a file name", name);
		errno = EINVAL;
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "%s: libsodium would not start", name);
		errno = ENOMEM;
		return -1;
	}
	fd = s_open_temporary(dirfd, name, mode, tmp, sizeof tmp);
	if (fd < 0) {
		error = errno;
		snprintf(err, errlen, "%s: could not create a temporary file beside it: %s", name,
		         strerror(error));
		errno = error;
		return -1;
	}
	created = true;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, bytes + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = errno;
			snprintf(err, errlen, "%s: %s", name, strerror(error));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		error = errno;
		snprintf(err, errlen, "%s: fsync: %s", name, strerror(error));
		goto out;
	}
	if (close(fd) != 0) {
		error = errno;
		fd = -1;
		snprintf(err, errlen, "%s: %s", name, strerror(error));
		goto out;
	}
	fd = -1;
	if ((flags & TF_ATOMICFILE_NOREPLACE) != 0
	    ? renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) != 0
	    : renameat(dirfd, tmp, dirfd, name) != 0) {
		error = errno;
		snprintf(err, errlen, "%s: %s", name, strerror(error));
		goto out;
	}
	created = false;
	/* The rename is on disk only once the directory is. */
	if (fsync(dirfd) != 0) {
		error = errno;
		snprintf(err, errlen, "%s: fsync of its directory: %s", name, strerror(error));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlinkat(dirfd, tmp, 0);
	if (rc != 0)
		errno = error;
	return rc;
}

int
tf_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode, int flags,
                    char *err, size_t errlen)
{
	char *dcopy = NULL, *bcopy = NULL;
	const char *base;
	int dirfd = -1, rc = -1, error = ENOMEM;

	assert(path != NULL);
	dcopy = strdup(path);
	bcopy = strdup(path);
	if (dcopy == NULL || bcopy == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	base = basename(bcopy);
	dirfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		error = errno;
		snprintf(err, errlen, "%s: its directory: %s", path, strerror(error));
		goto out;
	}
	if (tf_atomicfile_write_at(dirfd, base, data, len, mode, flags, err, errlen) != 0) {
		/* The name alone says less than the path the caller gave. */
		char why[1024];

		error = errno;
		snprintf(why, sizeof why, "%s", err);
		if (strncmp(why, base, strlen(base)) == 0)
			snprintf(err, errlen, "%s%s", path, why + strlen(base));
		goto out;
	}
	rc = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(dcopy);
	free(bcopy);
	if (rc != 0)
		errno = error;
	return rc;
}
