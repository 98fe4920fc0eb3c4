/*
 * submit: `tallyfeed-agent submit` and `template`, the township staff's
 * files queued in the spool (see submit.h).
 */
#include "submit.h"
#include "atomicfile.h"
#include "config.h"
#include "inbox.h"
#include "log.h"
#include "signals.h"
#include "spreadsheet.h"
#include "utf8.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILES_MAX 100000

/* A message `submit` queued, and what to call it when its answer comes. */
typedef struct {
	char *label;            /* the file, or FILE:ROW of a spreadsheet's election */
	int64_t sequence;       /* 0: not queued */
} submitted_t;

/* One more entry of *items (grown as needed); NULL out of memory. */
static submitted_t *
s_submitted_add(submitted_t **items, size_t *n, size_t *capacity)
{
	if (*n == *capacity) {
		size_t more = *capacity ? 2 * *capacity : 16;
		submitted_t *grown = realloc(*items, more * sizeof *grown);

		if (grown == NULL)
			return NULL;
		*items = grown;
		*capacity = more;
	}
	memset(&(*items)[*n], 0, sizeof **items);
	return &(*items)[(*n)++];
}

static bool
s_is_spreadsheet(const char *path)
{
	size_t len = strlen(path);

	return len > 4 && strcasecmp(path + len - 4, ".csv") == 0;
}

/* submit FILE.csv: every election of the spreadsheet queued, or none of
 * them (a refused cell, a rule broken, the spool failing): staff correct
 * the file and submit it whole again, and what an earlier submission of
 * it queued is recognised by its content.  0, or -1 (said on stdout). */
static int
s_submit_spreadsheet(const forwarder_config_t *fc, spool_t *spool, const char *path, bool quiet,
                     submitted_t **items, size_t *n, size_t *capacity)
{
	tf_spreadsheet_t *sheet = tf_spreadsheet_read(path);
	tf_spreadsheet_queued_t *queued = NULL;
	char *shown = tf_text_escape_dup(path), err[1024];
	size_t refused, count;
	int rc = -1;

	if (sheet == NULL || shown == NULL) {
		printf("%s: NOT QUEUED: out of memory\n", shown != NULL ? shown : "?");
		goto out;
	}
	/* Every election read is checked, even beside refused cells: staff
	 * see all that is wrong with the file at once. */
	tf_spreadsheet_check(sheet, &fc->rules, fc->registry, fc->township);
	count = tf_spreadsheet_size(sheet);
	if (tf_spreadsheet_encoding(sheet) != NULL)
		printf("%s: read as %s: %zu elections filled in, %zu left blank (skipped)\n", shown,
		       tf_spreadsheet_encoding(sheet), count, tf_spreadsheet_blank(sheet));
	refused = tf_spreadsheet_refused(sheet);
	if (refused > 0) {
		for (size_t i = 0; i < tf_spreadsheet_errors(sheet); i++)
			printf("%s\n", tf_spreadsheet_error(sheet, i));
		if (refused > tf_spreadsheet_errors(sheet))
			printf("%s: and %zu more\n", shown, refused - tf_spreadsheet_errors(sheet));
		printf("%s: NOT QUEUED: %zu refused; nothing of this file is queued (correct it "
		       "and submit it again)\n", shown, refused);
		goto out;
	}
	if (count == 0) {
		printf("%s: nothing to queue: every election in it is blank\n", shown);
		rc = 0;
		goto out;
	}
	if ((queued = calloc(count, sizeof *queued)) == NULL) {
		printf("%s: NOT QUEUED: out of memory\n", shown);
		goto out;
	}
	if (tf_spreadsheet_queue(sheet, spool, fc, queued, err, sizeof err) != 0) {
		printf("%s: NOT QUEUED: %s; nothing of this file is queued\n", shown, err);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const tf_report_t *r = tf_spreadsheet_report(sheet, i);
		submitted_t *item = s_submitted_add(items, n, capacity);

		if (item == NULL || asprintf(&item->label, "%s:%u: %s %s round %u revision %u",
		                             shown, tf_spreadsheet_row(sheet, i), r->unit_code,
		                             tf_committee_word(r->committee), r->round,
		                             queued[i].revision) < 0) {
			/* Queued all the same: only its answer will not be shown. */
			if (item != NULL)
				item->label = NULL;
			continue;
		}
		item->sequence = queued[i].sequence;
		if (!quiet)
			printf("%s: QUEUED%s as message %lld\n", item->label,
			       queued[i].existed ? " already" : "", (long long)queued[i].sequence);
	}
	rc = 0;
out:
	free(queued);
	free(shown);
	tf_spreadsheet_destroy(&sheet);
	return rc;
}

int
submit_command(spool_t *spool, const forwarder_config_t *fc, int argc, char **argv)
{
	static const struct option options[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	submitted_t *items = NULL;
	size_t nitems = 0, capacity = 0;
	long wait_s = -1;
	int ch, nfiles, refused = 0, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ch != 'w')
			return 2;
		if (tf_parse_long(optarg, 0, 30 * 86400, &wait_s) != 0) {
			log_warnx("--wait takes seconds (0 to 2592000)");
			return 2;
		}
	}
	nfiles = argc - optind;
	if (nfiles < 1 || nfiles > FILES_MAX) {
		log_warnx("submit: give 1 to %d result files", FILES_MAX);
		return 2;
	}
	for (int i = 0; i < nfiles; i++) {
		const char *path = argv[optind + i];
		char err[1024];
		bool existed;
		int reason;
		submitted_t *item;

		if (s_is_spreadsheet(path)) {
			if (s_submit_spreadsheet(fc, spool, path, wait_s >= 0, &items, &nitems,
			                         &capacity) != 0)
				refused++;
			continue;
		}
		if ((item = s_submitted_add(&items, &nitems, &capacity)) == NULL
		    || (item->label = strdup(path)) == NULL) {
			log_warnx("out of memory");
			goto out;
		}
		if (tf_inbox_queue_file(spool, fc, path, &item->sequence, &existed, &reason,
		                        err, sizeof err) != 0) {
			printf("%s: NOT QUEUED: %s\n", path, err);
			item->sequence = 0;
			refused++;
		} else if (wait_s < 0)
			printf("%s: QUEUED%s as message %lld\n", path, existed ? " already" : "",
			       (long long)item->sequence);
	}
	if (wait_s < 0) {
		rc = refused ? 1 : 0;
		goto out;
	}
	/* Wait for the running agent to hear the collector's answers. */
	int64_t deadline = zclock_mono() + wait_s * 1000;
	int bad = refused;
	for (size_t i = 0; i < nitems; i++) {
		spool_state_t state = SPOOL_PENDING;
		char reason[64] = "", detail[TF_DETAIL_MAX] = "";
		char shown[TF_TEXT_ESCAPED_MAX(TF_DETAIL_MAX)];    /* the collector's words, escaped */
		const char *label = items[i].label;

		if (items[i].sequence == 0 || label == NULL)
			continue;
		for (;;) {
			if (spool_get(spool, items[i].sequence, &state, reason, sizeof reason, detail,
			              sizeof detail) != 0 || state != SPOOL_PENDING
			    || zclock_mono() >= deadline || tf_stop_requested)
				break;
			zclock_sleep(100);
		}
		switch (state) {
		case SPOOL_ACCEPTED:
			printf("%s: ACCEPTED\n", label);
			break;
		case SPOOL_DUPLICATE:
			tf_text_escape(shown, sizeof shown, detail, strlen(detail));
			printf("%s: DUPLICATE: %s\n", label, shown);
			break;
		case SPOOL_REJECTED:
			tf_text_escape(shown, sizeof shown, reason, strlen(reason));
			printf("%s: REJECTED: %s", label, shown);
			tf_text_escape(shown, sizeof shown, detail, strlen(detail));
			printf(": %s\n", shown);
			bad++;
			break;
		case SPOOL_PENDING:
			printf("%s: UNANSWERED (queued as message %lld; still in the spool)\n",
			       label, (long long)items[i].sequence);
			bad++;
			break;
		}
	}
	rc = bad ? 1 : 0;
out:
	for (size_t i = 0; i < nitems; i++)
		free(items[i].label);
	free(items);
	return rc;
}

/* template --out FILE.csv: the township's spreadsheet, written whole,
 * never over a file that exists (it may be the one staff filled in). */
int
template_command(const tf_registry_t *registry, const char *township_code, int argc, char **argv)
{
	const tf_area_t *township;
	size_t len, elections, skipped;
	char err[1024], *text;
	int rc = 1;

	if (argc != 3 || strcmp(argv[1], "--out") != 0) {
		log_warnx("usage: template --out FILE.csv");
		return 2;
	}
	if (registry == NULL || township_code == NULL) {
		log_warnx("template needs the registry (-r or agent/registry) and the township "
		          "(-t, agent/township or the key's)");
		return 2;
	}
	township = tf_registry_find(registry, TF_LEVEL_TOWNSHIP, township_code);
	text = tf_spreadsheet_template(registry, township_code, &len, &elections,
	                               &skipped, err, sizeof err);
	if (text == NULL) {
		log_warnx("template: %s", err);
		return 1;
	}
	if (tf_atomicfile_write(argv[2], text, len, 0644, TF_ATOMICFILE_NOREPLACE, err,
	                        sizeof err) != 0) {
		if (errno == EEXIST)
			log_warnx("template: %s exists: not overwritten (it may be filled in already); "
			          "remove it or name another file", argv[2]);
		else
			log_warnx("template: %s", err);
		goto out;
	}
	printf("wrote %s: %zu elections of township %s %s%s; fill it in with WPS or Excel, save "
	       "it as CSV, then: tallyfeed-agent submit %s\n", argv[2], elections,
	       township_code, township != NULL ? township->name : "",
	       skipped ? " (units whose code maps to no committee type left out: see the log)" : "",
	       argv[2]);
	rc = 0;
out:
	free(text);
	return rc;
}
