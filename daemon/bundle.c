/*
 * bundle: offline bundles of envelopes (see bundle.h).
 */
#include "bundle.h"
#include "atomicfile.h"
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
tf_bundle_read(const char *path, char *err, size_t errlen)
{
	tf_bundle_t *bundle = NULL;
	uint8_t *bytes = NULL;
	size_t len;
	struct stat st;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* Room for the file as it is (one byte more, to see it did not grow),
	 * never more than the ceiling: a small bundle costs little memory. */
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TF_BUNDLE_MAX) {
		snprintf(err, errlen, "%s: not a regular file, or over the %d-byte ceiling", path,
		         TF_BUNDLE_MAX);
		goto out;
	}
	bytes = malloc((size_t)st.st_size + 1);
	if (bytes == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	len = fread(bytes, 1, (size_t)st.st_size + 1, fp);
	if (ferror(fp) || len != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: unreadable, or changed while read", path);
		goto out;
	}
	bundle = tallyfeed__bundle__unpack(NULL, len, bytes);
	if (bundle == NULL)
		snprintf(err, errlen, "%s: not a tallyfeed bundle", path);
	else if (bundle->format_version != TF_BUNDLE_VERSION) {
		snprintf(err, errlen, "%s: bundle format %u, this program reads %d", path,
		         bundle->format_version, TF_BUNDLE_VERSION);
		tf_bundle_destroy(&bundle);
	}
out:
	free(bytes);
	fclose(fp);
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
