/*
 * totals: `tallyfeed totals` and `tallyfeed composition` — the province's
 * figures per area of one level, computed in SQL (tallyfeed.totals,
 * tallyfeed.composition) from the stored rows at the moment of asking,
 * never from pre-summed figures.
 */
#include "console.h"
#include "db.h"
#include "log.h"
#include "query.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* One per-area report: its SQL function, its headings for people (in the
 * order of the function's columns), and its help. */
typedef struct {
	const char *command;
	query_report_t report;
	const char *const *headings;
	const char *help;
	int has_list;                   /* --outstanding lists the units */
	const char *const *list_headings;
} area_report_t;

/* Headings for people, in the order of tallyfeed.totals' columns. */
static const char *const s_totals_headings[] = {
	"代码", "名称", "应选单位",
	"村委应选", "村委已报", "居委应选", "居委已报", "党组织应选", "党组织已报",
	"登记选民", "参加投票", "参选率%", "党员应到", "党员实到",
	"有效选举", "无效选举", "待另行选举"
};

static const char *const s_composition_headings[] = {
	"代码", "名称", "委员会", "当选", "正职", "女性", "女性正职", "少数民族",
	"年龄已知", "平均年龄", "35岁以下", "60岁以上", "大专以上", "党员",
	"连任", "新任", "一肩挑", "两正职均选出", "交叉任职"
};

static const area_report_t s_totals = {
	"totals", REPORT_TOTALS, s_totals_headings,
	"Per area of the level: units expected and reported by committee type,\n"
	"registered voters, voters who took part, turnout, Party members expected\n"
	"and present, valid and invalid elections, runoffs still needed.\n"
	"Only the latest revision of each result counts.\n",
	0, NULL
};

static const area_report_t s_composition = {
	"composition", REPORT_COMPOSITION, s_composition_headings,
	"Per area of the level and committee, the make-up of those elected: members\n"
	"and heads (主任/书记), women and women heads, ethnic minorities, average age\n"
	"with the under-35 and over-60 counts (of those whose birth year is known),\n"
	"大专 and above, Party members, re-elected and new; for the villagers' and\n"
	"residents' committees also 一肩挑 (units whose chair is the Party secretary,\n"
	"of the units with both heads elected) and 交叉任职 (members also on the\n"
	"Party committee).  Only the latest revision of each result counts.\n",
	0, NULL
};

static const char *const s_progress_headings[] = {
	"代码", "名称", "委员会", "应选", "已报", "未报", "有效", "一次选成", "待另行选举", "无效"
};

static const char *const s_outstanding_headings[] = {
	"单位代码", "单位名称", "乡镇代码", "乡镇", "委员会"
};

static const area_report_t s_progress = {
	"progress", REPORT_PROGRESS, s_progress_headings,
	"Per area of the level and committee: units expected, reported (round 1\n"
	"stored), outstanding, valid elections, first-round successes (every seat\n"
	"filled in a valid round 1), runoffs pending, invalid elections.\n"
	"  --outstanding  instead, list the units (and committees) not yet reported\n",
	1, s_outstanding_headings
};

static void
s_usage(FILE *fp, const area_report_t *report)
{
	fprintf(fp,
	    "usage: tallyfeed %s --level province|prefecture|county|township\n"
	    "                 [--under CODE] [--format table|csv|json]%s\n"
	    "%s"
	    "  --level L      province, prefecture, county or township (required)\n"
	    "  --under CODE   only areas inside the area with this 12-digit code\n"
	    "  --format F     table (default, for people), csv or json (for programs)\n",
	    report->command, report->has_list ? " [--outstanding]" : "", report->help);
}

int
console_status(query_status_t status, const char *err)
{
	switch (status) {
	case QUERY_OK:
		return CONSOLE_OK;
	case QUERY_BAD_ARGUMENT:
	case QUERY_NOT_FOUND:
		log_warnx("%s", err);
		return CONSOLE_USAGE;
	case QUERY_FAILED:
		break;
	}
	log_warnx("%s", err);
	return CONSOLE_FAILED;
}

static int
s_area_report(console_db_t *db, int argc, char **argv, const area_report_t *report)
{
	static const struct option options[] = {
		{ "level", required_argument, NULL, 'l' },
		{ "under", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "outstanding", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *level = NULL, *under = NULL;
	table_format_t format = TABLE_TEXT;
	PGconn *conn;
	PGresult *res = NULL;
	query_status_t status;
	char err[1024];
	int ch, list = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'l':
			level = optarg;
			break;
		case 'u':
			under = optarg;
			break;
		case 'F':
			if (table_format_parse(optarg, &format) != 0)
				return CONSOLE_USAGE;
			break;
		case 'o':
			if (!report->has_list) {
				s_usage(stderr, report);
				return CONSOLE_USAGE;
			}
			list = 1;
			break;
		case 'h':
			s_usage(stdout, report);
			return CONSOLE_OK;
		default:
			s_usage(stderr, report);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc || (level == NULL && !list)) {
		s_usage(stderr, report);
		return CONSOLE_USAGE;
	}
	if (query_check_form(list ? NULL : level, under, err, sizeof err) != QUERY_OK) {
		log_warnx("%s", err);
		return CONSOLE_USAGE;
	}
	if ((conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	if (list)
		status = query_unit_list(conn, LIST_OUTSTANDING, under, &res, err, sizeof err);
	else
		status = query_area_report(conn, report->report, level, under, &res, err, sizeof err);
	if (status == QUERY_OK) {
		table_print(res, format != TABLE_TEXT ? NULL
		                 : list ? report->list_headings : report->headings, format);
		console_db_freshness(db, format);
	}
	PQclear(res);
	return console_status(status, err);
}

int
console_totals(console_db_t *db, int argc, char **argv)
{
	return s_area_report(db, argc, argv, &s_totals);
}

int
console_progress(console_db_t *db, int argc, char **argv)
{
	return s_area_report(db, argc, argv, &s_progress);
}

int
console_composition(console_db_t *db, int argc, char **argv)
{
	return s_area_report(db, argc, argv, &s_composition);
}
