/*
 * status: `tallyfeed status` — for each township, its agent: last heartbeat
 * and whether it is connected, spool depth and oldest pending age (from the
 * heartbeats), results accepted and rejected, last result.  Silent ones
 * first, flagged when silent longer than a limit.
 */
#include "config.h"
#include "console.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>

#define DEFAULT_SILENT_S 300

static const char *const s_headings[] = {
	"乡镇代码", "乡镇", "代理", "状态", "在线", "最后心跳", "心跳距今(秒)", "待发",
	"最久待发(秒)", "已接受", "已拒绝", "最后结果"
};

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed status [--county CODE] [--silent-after SECONDS]\n"
	    "                        [--format table|csv|json]\n"
	    "Each township's agent, silent ones first: state (SILENT when no heartbeat\n"
	    "for longer than the limit, \"no heartbeat\" when results came but no\n"
	    "heartbeat, \"never heard\" when nothing at all), connected (a\n"
	    "heartbeat in the last %d s), last heartbeat and its age, spool depth and\n"
	    "oldest pending age as the agent last reported them, results accepted and\n"
	    "rejected, and when its last result arrived.\n"
	    "  --county CODE         only the townships of this county (or prefecture)\n"
	    "  --silent-after S      seconds without a heartbeat before a township is\n"
	    "                        flagged SILENT (console/silent_after_s; default %d)\n"
	    "  --format F            table (default), csv or json\n",
	    QUERY_CONNECTED_S, DEFAULT_SILENT_S);
}

int
console_township_status(console_db_t *db, zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "county", required_argument, NULL, 'c' },
		{ "silent-after", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *county = NULL;
	table_format_t format = TABLE_TEXT;
	PGconn *conn;
	PGresult *res = NULL;
	query_status_t status;
	long silent;
	char err[1024];
	int ch;

	if (tf_config_int(config, "console", "silent_after_s", DEFAULT_SILENT_S, 1, 86400 * 30,
	                  &silent, err, sizeof err) != 0) {
		log_warnx("%s", err);
		return CONSOLE_FAILED;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			county = optarg;
			break;
		case 's':
			if (tf_parse_long(optarg, 1, 86400 * 30, &silent) != 0) {
				log_warnx("--silent-after: \"%s\" is not a number of seconds from 1",
				          optarg);
				return CONSOLE_USAGE;
			}
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
	if (optind != argc) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if (query_check_form(NULL, county, err, sizeof err) != QUERY_OK) {
		log_warnx("%s", err);
		return CONSOLE_USAGE;
	}
	if ((conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	status = query_township_status(conn, county, silent, &res, err, sizeof err);
	if (status == QUERY_OK) {
		table_print(res, format == TABLE_TEXT ? s_headings : NULL, format);
		console_db_freshness(db, format);
	}
	PQclear(res);
	return console_status(status, err);
}
