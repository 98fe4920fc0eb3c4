/*
 * public: `tallyfeed check URL` — the province's public check of a posting
 * sheet (公示) on the command line: what /check answers a villager who
 * scans the sheet's QR code (check.h), for the same URL.
 */
#include "check.h"
#include "config.h"
#include "console.h"
#include "freshness.h"
#include "log.h"
#include "utf8.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed check URL [--collector-certs DIR]\n"
	    "Check a posting sheet (公示): URL is what its QR code holds (the province's\n"
	    "check page and its query; the query alone will do).  Says, from the\n"
	    "database and the collectors' public keys, one of: counted (exactly as\n"
	    "posted), superseded (by revision N, and when), altered (the receipt is\n"
	    "genuine and the sheet's figures are not the counted ones: which), not_known\n"
	    "(no such result stored), forged (the receipt is no collector's).  It shows\n"
	    "no figure the sheet does not carry.  Counted (or superseded), it lists below\n"
	    "what the genuine sheet printed that the QR code does not carry: the date and\n"
	    "each candidate's name, position and the position won, to compare with the\n"
	    "paper.\n"
	    "  --collector-certs DIR  the collectors' public NAME.cert files (console/\n"
	    "                collector_certs in the configuration)\n"
	    "Exit status: 0 counted as posted, 1 any other answer (or the check could not\n"
	    "run), 2 bad arguments (a URL that is not a sheet's).\n");
}

/* Counted or superseded: what the genuine sheet printed beside its QR
 * code's figures, to set beside the paper. */
static void
s_print_posted(const tf_posting_t *posting, const check_answer_t *answer)
{
	const tf_report_t *r = answer->posted;

	if (r == NULL)
		return;
	if (r->held_on != NULL && r->held_on[0] != '\0')
		printf("  选举日期 %s\n", r->held_on);
	for (size_t i = 0; i < posting->candidates && i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		char *name = tf_text_escape_dup(c->name != NULL ? c->name : "");

		printf("  %s  %s  %u票%s%s\n", name != NULL ? name : "?",
		       tf_position_name_zh(posting->committee, c->position), posting->votes[i],
		       posting->elected[i] ? "  当选" : "",
		       posting->elected[i] ? tf_position_name_zh(posting->committee, c->position_won)
		                           : "");
		free(name);
	}
}

int
console_check(console_db_t *db, zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "collector-certs", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = tf_config_str(config, "console", "collector_certs", NULL);
	tf_enrolment_t *collectors = NULL;
	check_answer_t answer = { 0 };
	tf_posting_t posting;
	char err[1024], text[1024];
	query_status_t status;
	PGconn *conn;
	int ch, rc = CONSOLE_FAILED;

	optind = 0;     /* glibc: scan this argv afresh, options anywhere */
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc - 1) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if (dir == NULL) {
		log_warnx("check needs the collectors' certificates (--collector-certs DIR or "
		          "console/collector_certs)");
		return CONSOLE_USAGE;
	}
	if (tf_posting_parse(argv[optind], &posting, err, sizeof err) != 0) {
		log_warnx("check: not a posting sheet's URL: %s", err);
		return CONSOLE_USAGE;
	}
	if (sodium_init() < 0)
		return CONSOLE_FAILED;
	if ((collectors = tf_enrolment_load_collectors(dir, err, sizeof err)) == NULL) {
		log_warnx("check: %s", err);
		return CONSOLE_FAILED;
	}
	if (tf_enrolment_size(collectors) == 0) {
		log_warnx("check: %s holds no collector's certificate", dir);
		goto out;
	}
	if ((conn = console_db_conn(db)) == NULL)
		goto out;
	/* As /api/v1/check: a standby behind its primary would answer "not
	 * known" or "counted" for what the primary has since changed. */
	switch (tf_freshness_wait_replayed(conn, 2000, err, sizeof err)) {
	case 0:
		break;
	case 1:
		log_warnx("check: the standby read is not up to date now (behind its primary, or not "
		          "streaming): try again, or ask the primary (-d with "
		          "target_session_attrs=primary)");
		goto out;
	default:
		log_warnx("check: %s", err);
		goto out;
	}
	status = check_posting(conn, collectors, &posting, &answer, err, sizeof err);
	if (status != QUERY_OK) {
		log_warnx("%s", err);
		goto out;
	}
	check_answer_text(&posting, &answer, text, sizeof text);
	printf("%s: %s\n", check_verdict_word(answer.verdict), text);
	s_print_posted(&posting, &answer);
	console_db_freshness(db, TABLE_TEXT);
	rc = answer.verdict == CHECK_COUNTED ? CONSOLE_OK : CONSOLE_FAILED;
out:
	check_answer_clear(&answer);
	tf_enrolment_destroy(&collectors);
	return rc;
}
