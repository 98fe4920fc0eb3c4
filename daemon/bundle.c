/*
 * bundle: offline bundles of envelopes (see bundle.h).
 */
#include "bundle.h"
#include "atomicfile.h"
#include "budget.h"
#include "envelope.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
tf_bundle_write(const char *path, const char *agent_id, zlist_t *frames, char *err,
                size_t errlen)
{
	Tallyfeed__Bundle bundle = TALLYFEED__BUNDLE__INIT;
	uint8_t *bytes = NULL;
	size_t len, i = 0;
	int rc = -1;

	bundle.format_version = TF_BUNDLE_VERSION;
	bundle.agent_id = (char *)agent_id;
	bundle.created_unix_ms = tf_now_ms();
	bundle.n_envelopes = zlist_size(frames);
	bundle.envelopes = calloc(bundle.n_envelopes + 1, sizeof *bundle.envelopes);
	if (bundle.envelopes == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (zframe_t *f = zlist_first(frames); f != NULL; f = zlist_next(frames), i++) {
		bundle.envelopes[i].data = zframe_data(f);
		bundle.envelopes[i].len = zframe_size(f);
	}
	len = tallyfeed__bundle__get_packed_size(&bundle);
	if (len > TF_BUNDLE_MAX) {
		snprintf(err, errlen, "bundle would be %zu bytes, over the %d-byte ceiling", len,
		         TF_BUNDLE_MAX);
		goto out;
	}
	bytes = malloc(len ? len : 1);
	if (bytes == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	tallyfeed__bundle__pack(&bundle, bytes);
	/* On the stick before we say it is, and never half of it. */
	if (tf_atomicfile_write(path, bytes, len, 0640, 0, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(bytes);
	free(bundle.envelopes);
	return rc;
}

tf_bundle_t *
tf_bundle_decode(const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	tf_budget_t *budget = NULL;
	tf_bundle_t *bundle = NULL;

	if (len > TF_BUNDLE_MAX) {
		snprintf(err, errlen, "%zu bytes, over the %d MiB a bundle may hold", len,
		         TF_BUNDLE_MAX / (1024 * 1024));
		return NULL;
	}
	budget = tf_budget_new(TF_BUNDLE_DECODE_MAX(len), NULL);
	if (budget == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	bundle = tallyfeed__bundle__unpack(tf_budget_allocator(budget), len, bytes);
	if (bundle == NULL && tf_budget_exceeded(budget))
		snprintf(err, errlen, "decoded, it would take more than %zu bytes of memory "
		         "(unknown fields, empty envelopes?); not a bundle an agent wrote",
		         tf_budget_limit(budget));
	else if (bundle == NULL)
		snprintf(err, errlen, "not a tallyfeed bundle");
	else if (bundle->format_version != TF_BUNDLE_VERSION) {
		snprintf(err, errlen, "bundle format %u, this program reads %d",
		         bundle->format_version, TF_BUNDLE_VERSION);
		tf_bundle_destroy(&bundle);
	}
	tf_budget_destroy(&budget);
	return bundle;
}

tf_bundle_t *
tf_bundle_read(const char *path, char *err, size_t errlen)
{
	tf_bundle_t *bundle = NULL;
	uint8_t *bytes = NULL;
	char why[256];
	size_t len = 0;
	struct stat st;
	int fd;

	/* Not through a symlink, not blocking on a FIFO; then what the open
	 * descriptor is, before a byte is read or allocated for. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
		         errno == ELOOP ? "a symbolic link; give the bundle itself" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > TF_BUNDLE_MAX) {
		snprintf(err, errlen, "%s: %lld bytes, over the %d MiB a bundle may hold; split it "
		         "(export fewer messages at a time)", path, (long long)st.st_size,
		         TF_BUNDLE_MAX / (1024 * 1024));
		goto out;
	}
	/* Room for the file as it is, one byte more to see it did not grow. */
	bytes = malloc((size_t)st.st_size + 1);
	if (bytes == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, bytes + len, (size_t)st.st_size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size)
			break;
	}
	if (len != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: changed while read", path);
		goto out;
	}
	bundle = tf_bundle_decode(bytes, len, why, sizeof why);
	if (bundle == NULL)
		snprintf(err, errlen, "%s: %s", path, why);
out:
	free(bytes);
	close(fd);
	return bundle;
}

void
tf_bundle_destroy(tf_bundle_t **bundle_p)
{
	assert(bundle_p != NULL);
	if (*bundle_p != NULL)
		tallyfeed__bundle__free_unpacked(*bundle_p, NULL);
	*bundle_p = NULL;
}
