/*
 * unit: `tallyfeed unit CODE` — every revision of every round of one
 * unit's results: which agent sent it and when, whether it counts, its
 * figures and flags, and its signature's status, checked here against
 * the agents' certificates when they are given (--certs or console/certs).
 */
#include "config.h"
#include "console.h"
#include "enrolment.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>

static const char *const s_headings[] = {
	"委员会", "轮次", "修订", "计入", "发送者", "序号", "生成时间", "接收时间", "消息",
	"登记", "参加", "有效票", "有效选举", "已选", "应选", "提示", "签名", "链", "环节"
};

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed unit CODE [--certs DIR] [--format table|csv|json]\n"
	    "Every revision of every round of the unit's results, oldest first: the\n"
	    "agent that sent it, its sequence number, when it was made and received,\n"
	    "its message id, whether it counts (the latest revision of its round), its\n"
	    "figures, its flags, its signature and its link in the collector's chain.\n"
	    "  --certs DIR   the agents' public certificates: check each signature\n"
	    "                (default: console/certs; without, the signature is only\n"
	    "                reported as stored)\n"
	    "  --format F    table (default), csv or json\n");
}

int
console_unit(console_db_t *db, zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "certs", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *certs = tf_config_str(config, "console", "certs", NULL), *code;
	table_format_t format = TABLE_TEXT;
	tf_enrolment_t *enrolment = NULL;
	PGconn *conn;
	PGresult *res = NULL;
	query_status_t status;
	char err[1024];
	int ch;

	/* 0, not 1: glibc then forgets main's "+" (stop at the first word), so
	 * the unit code may come before the options. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			certs = optarg;
			break;
		case 'F':
			if (table_format_parse(optarg, &format) != 0)
				return CONSOLE_USAGE;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (argc - optind != 1) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	code = argv[optind];
	if (query_check_form(NULL, code, err, sizeof err) != QUERY_OK) {
		log_warnx("%s", err);
		return CONSOLE_USAGE;
	}
	if (certs != NULL && (enrolment = tf_enrolment_load(certs, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return CONSOLE_FAILED;
	}
	if ((conn = console_db_conn(db)) == NULL) {
		tf_enrolment_destroy(&enrolment);
		return CONSOLE_FAILED;
	}
	status = query_unit_history(conn, code, enrolment, &res, err, sizeof err);
	if (status == QUERY_OK) {
		table_print(res, format == TABLE_TEXT ? s_headings : NULL, format);
		console_db_freshness(db, format);
	}
	PQclear(res);
	tf_enrolment_destroy(&enrolment);
	return console_status(status, err);
}
