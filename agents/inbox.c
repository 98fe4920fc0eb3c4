/*
 * inbox: result files dropped by township staff (see inbox.h).
 */
#include "inbox.h"
#include "log.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INBOX_FILES_MAX 1000    /* files taken in per look */

struct _tf_inbox_t {
	spool_t *spool;
	const forwarder_config_t *config;      /* the caller's; a reload rewrites it */
};

tf_inbox_t *
tf_inbox_new(spool_t *spool, const forwarder_config_t *config)
{
	tf_inbox_t *self;

	assert(spool != NULL && config != NULL);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->spool = spool;
	self->config = config;
	return self;
}

void
tf_inbox_destroy(tf_inbox_t **self_p)
{
	assert(self_p != NULL);
	free(*self_p);
	*self_p = NULL;
}

int
tf_inbox_queue_file(spool_t *spool, const forwarder_config_t *config, const char *path,
                    int64_t *sequence, bool *existed, int *reason, char *err, size_t errlen)
{
	uint8_t digest[crypto_hash_sha256_BYTES], message_id[TF_MESSAGE_ID_LEN];
	tf_report_t *report = NULL;
	tf_check_t check;
	char *json = NULL;
	int rc = -1;

	*reason = 0;
	report = tf_report_from_file(path, err, errlen);
	if (report == NULL)
		return -1;
	if (tf_rules_check(&config->rules, report, config->registry, config->township, &check) != 0) {
		*reason = check.reason;
		snprintf(err, errlen, "%s: %s", tf_reason_name(check.reason), check.detail);
		goto out;
	}
	/* The same content queued twice is one message: a file moved back into
	 * the inbox, or a crash between queueing and moving it, sends nothing new. */
	json = tf_report_to_json(report, 0);
	if (json == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	crypto_hash_sha256(digest, (const uint8_t *)json, strlen(json));
	rc = spool_enqueue(spool, config->agent_id, config->identity, report, path, digest,
	                   sequence, message_id, existed, err, errlen);
out:
	free(json);
	tf_report_destroy(&report);
	return rc;
}

/* Move inbox/NAME to inbox/SUBDIR/NAME; for refused files, say why beside it. */
static void
s_move(const char *inbox, const char *name, const char *subdir, const char *why)
{
	char dir[4096], from[4096], to[8192];

	snprintf(dir, sizeof dir, "%s/%s", inbox, subdir);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		log_warn("inbox: %s", dir);
	snprintf(from, sizeof from, "%s/%s", inbox, name);
	snprintf(to, sizeof to, "%s/%s", dir, name);
	if (why != NULL) {
		char whypath[8200];
		FILE *fp;

		snprintf(whypath, sizeof whypath, "%s.why", to);
		fp = fopen(whypath, "w");
		if (fp != NULL) {
			fprintf(fp, "%s\n", why);
			fclose(fp);
		}
	}
	if (rename(from, to) != 0)
		log_warn("inbox: could not move %s to %s", from, to);
}

static int
s_name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Oldest name first. */
void
tf_inbox_scan(tf_inbox_t *self)
{
	const char *inbox = self->config->inbox;
	char *names[INBOX_FILES_MAX];
	size_t count = 0;
	struct dirent *entry;
	DIR *dp;

	assert(self != NULL);
	dp = opendir(inbox);
	if (dp == NULL) {
		log_warn("inbox %s", inbox);
		return;
	}
	while ((entry = readdir(dp)) != NULL && count < INBOX_FILES_MAX) {
		size_t len = strlen(entry->d_name);
		/* Staff (or their tools) write NAME.json.tmp and rename: only
		 * finished .json files are read. */
		if (entry->d_name[0] == '.' || len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0)
			continue;
		names[count] = strdup(entry->d_name);
		if (names[count] != NULL)
			count++;
	}
	closedir(dp);
	qsort(names, count, sizeof names[0], s_name_compare);
	for (size_t i = 0; i < count; i++) {
		char path[4096], err[1024];
		int64_t sequence;
		bool existed;
		int reason;

		snprintf(path, sizeof path, "%s/%s", inbox, names[i]);
		if (tf_inbox_queue_file(self->spool, self->config, path, &sequence, &existed, &reason,
		                        err, sizeof err) != 0) {
			/* A spool that cannot be written is not the file's fault:
			 * leave it for the next look. */
			if (strncmp(err, "spool", 5) == 0 || strncmp(err, "out of memory", 13) == 0)
				log_warnx("inbox: %s: %s", names[i], err);
			else {
				log_info("inbox: %s refused: %s", names[i], err);
				s_move(inbox, names[i], "refused", err);
			}
		} else {
			log_info("inbox: %s %s as message %lld", names[i],
			         existed ? "was queued already" : "queued", (long long)sequence);
			s_move(inbox, names[i], "queued", NULL);
		}
		free(names[i]);
	}
}
