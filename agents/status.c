/*
 * status: `tallyfeed-agent status` and `export`, what the spool holds
 * (see status.h).
 */
#include "status.h"
#include "bundle.h"
#include "config.h"
#include "log.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_print_row(void *arg, int64_t sequence, const char *source, const char *key,
            spool_state_t state, int attempts, int64_t created_ms, const char *reason,
            const char *detail)
{
	/* The file's name and the collector's words, escaped for the terminal. */
	char *k = tf_text_escape_dup(key), *s = tf_text_escape_dup(source);
	char *r = tf_text_escape_dup(reason != NULL ? reason : "?");
	char *d = tf_text_escape_dup(detail != NULL ? detail : "");

	(void)arg;
	(void)created_ms;
	printf("%6lld  %-9s  %3d sends  %s  %s", (long long)sequence, spool_state_name(state),
	       attempts, k != NULL ? k : "?", s != NULL ? s : "?");
	if (state == SPOOL_REJECTED)
		printf("  %s: %s", r != NULL ? r : "?", d != NULL ? d : "?");
	putchar('\n');
	free(k);
	free(s);
	free(r);
	free(d);
}

static void
s_duration(char *out, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s < 120)
		snprintf(out, len, "%lld s", (long long)s);
	else if (s < 7200)
		snprintf(out, len, "%lld min", (long long)(s / 60));
	else
		snprintf(out, len, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

int
status_command(spool_t *spool, int argc, char **argv)
{
	spool_stats_t st;
	char age[64] = "-";
	bool all = argc > 1 && strcmp(argv[1], "--all") == 0;

	if (argc > 2 || (argc == 2 && !all)) {
		log_warnx("status takes only --all");
		return 2;
	}
	if (spool_stats(spool, &st) != 0)
		return 1;
	if (st.oldest_pending_ms != 0)
		s_duration(age, sizeof age, tf_now_ms() - st.oldest_pending_ms);
	printf("pending %lld, in flight %lld, accepted %lld, rejected %lld; oldest unanswered %s; "
	       "last answered message %lld\n", (long long)st.pending, (long long)st.in_flight,
	       (long long)st.accepted, (long long)st.rejected, age,
	       (long long)st.last_acked_sequence);
	if (all)
		return spool_foreach(spool, -1, s_print_row, NULL) == 0 ? 0 : 1;
	if (st.rejected > 0) {
		printf("rejected (correct the file and submit it as the next revision):\n");
		spool_foreach(spool, SPOOL_REJECTED, s_print_row, NULL);
	}
	return 0;
}

int
export_command(spool_t *spool, const char *agent_id, int argc, char **argv)
{
	zlist_t *frames = zlist_new();
	char err[1024];
	int rc = 1;

	if (argc != 3 || strcmp(argv[1], "--to") != 0) {
		log_warnx("usage: export --to FILE");
		zlist_destroy(&frames);
		return 2;
	}
	if (spool_unanswered_envelopes(spool, frames) != 0)
		goto out;
	if (tf_bundle_write(argv[2], agent_id, frames, err, sizeof err) != 0) {
		log_warnx("export: %s", err);
		goto out;
	}
	printf("exported %zu unanswered messages to %s\n", zlist_size(frames), argv[2]);
	rc = 0;
out:
	while (zlist_size(frames) > 0) {
		zframe_t *f = zlist_pop(frames);
		zframe_destroy(&f);
	}
	zlist_destroy(&frames);
	return rc;
}
