/*
 * totals: `tallyfeed totals` and `tallyfeed composition` — the province's
 * figures per area of one level, computed in SQL (tallyfeed.totals,
 * tallyfeed.composition) from the stored rows at the moment of asking,
 * never from pre-summed figures.
 */
#include "console.h"
#include "db.h"
#include "log.h"
#include "registry.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* One per-area report: its SQL function, its headings for people (in the
 * order of the function's columns), and its help. */
typedef struct {
	const char *command;
	const char *function;
	const char *const *headings;
	const char *help;
	const char *list_sql;           /* --outstanding: the units, $1 = --under or NULL */
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
	"totals", "totals", s_totals_headings,
	"Per area of the level: units expected and reported by committee type,\n"
	"registered voters, voters who took part, turnout, Party members expected\n"
	"and present, valid and invalid elections, runoffs still needed.\n"
	"Only the latest revision of each result counts.\n",
	NULL, NULL
};

static const area_report_t s_composition = {
	"composition", "composition", s_composition_headings,
	"Per area of the level and committee, the make-up of those elected: members\n"
	"and heads (主任/书记), women and women heads, ethnic minorities, average age\n"
	"with the under-35 and over-60 counts (of those whose birth year is known),\n"
	"大专 and above, Party members, re-elected and new; for the villagers' and\n"
	"residents' committees also 一肩挑 (units whose chair is the Party secretary,\n"
	"of the units with both heads elected) and 交叉任职 (members also on the\n"
	"Party committee).  Only the latest revision of each result counts.\n",
	NULL, NULL
};

static const char *const s_progress_headings[] = {
	"代码", "名称", "委员会", "应选", "已报", "未报", "有效", "一次选成", "待另行选举", "无效"
};

static const char *const s_outstanding_headings[] = {
	"单位代码", "单位名称", "乡镇代码", "乡镇", "委员会"
};

static const area_report_t s_progress = {
	"progress", "progress", s_progress_headings,
	"Per area of the level and committee: units expected, reported (round 1\n"
	"stored), outstanding, valid elections, first-round successes (every seat\n"
	"filled in a valid round 1), runoffs pending, invalid elections.\n"
	"  --outstanding  instead, list the units (and committees) not yet reported\n",
	"SELECT unit_code, unit_name, township_code, township_name, committee "
	"FROM tallyfeed.outstanding "
	"WHERE $1::text IS NULL OR $1 IN (unit_code, township_code, county_code, "
	"                                 prefecture_code, province_code) "
	"ORDER BY unit_code, committee",
	s_outstanding_headings
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
	    report->command, report->list_sql ? " [--outstanding]" : "", report->help);
}

int
console_check_under(PGconn *conn, const char *under)
{
	const char *values[1] = { under };
	PGresult *res;
	int rc = CONSOLE_OK;

	if (!tf_code_valid(under)) {
		log_warnx("--under: \"%s\" is not a 12-digit division code", under);
		return CONSOLE_USAGE;
	}
	res = PQexecParams(conn, "SELECT 1 FROM tallyfeed.area WHERE code = $1 "
	                   "UNION ALL SELECT 1 FROM tallyfeed.unit WHERE code = $1",
	                   1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not look up %s: %s", under, tf_db_error(conn));
		rc = CONSOLE_FAILED;
	} else if (PQntuples(res) == 0) {
		log_warnx("--under: no area or unit has code %s", under);
		rc = CONSOLE_USAGE;
	}
	PQclear(res);
	return rc;
}

static int
s_area_report(PGconn *conn, int argc, char **argv, const area_report_t *report)
{
	static const struct option options[] = {
		{ "level", required_argument, NULL, 'l' },
		{ "under", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "outstanding", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const levels[] = { "province", "prefecture", "county", "township", NULL };
	const char *level = NULL, *under = NULL;
	const char *values[2];
	char sql[128];
	table_format_t format = TABLE_TEXT;
	PGresult *res = NULL;
	int ch, rc = CONSOLE_FAILED;
	int known = 0, list = 0;

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
			if (table_format_parse(optarg, &format) != 0) {
				log_warnx("--format: \"%s\" is not table, csv or json", optarg);
				return CONSOLE_USAGE;
			}
			break;
		case 'o':
			if (report->list_sql == NULL) {
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
	if (list) {
		if (under != NULL && (rc = console_check_under(conn, under)) != CONSOLE_OK)
			return rc;
		res = PQexecParams(conn, report->list_sql, 1, NULL, &under, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_warnx("could not list: %s", tf_db_error(conn));
			PQclear(res);
			return CONSOLE_FAILED;
		}
		table_print(res, format == TABLE_TEXT ? report->list_headings : NULL, format);
		PQclear(res);
		return CONSOLE_OK;
	}
	for (const char *const *l = levels; *l != NULL; l++)
		if (strcmp(level, *l) == 0)
			known = 1;
	if (!known) {
		log_warnx("--level: \"%s\" is not province, prefecture, county or township", level);
		return CONSOLE_USAGE;
	}
	if (under != NULL && (rc = console_check_under(conn, under)) != CONSOLE_OK)
		goto out;
	rc = CONSOLE_FAILED;
	values[0] = level;
	values[1] = under;
	snprintf(sql, sizeof sql, "SELECT * FROM tallyfeed.%s($1, $2)", report->function);
	res = PQexecParams(conn, sql, 2, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not compute %s: %s", report->command, tf_db_error(conn));
		goto out;
	}
	table_print(res, format == TABLE_TEXT ? report->headings : NULL, format);
	rc = CONSOLE_OK;
out:
	PQclear(res);
	return rc;
}

int
console_totals(PGconn *conn, int argc, char **argv)
{
	return s_area_report(conn, argc, argv, &s_totals);
}

int
console_progress(PGconn *conn, int argc, char **argv)
{
	return s_area_report(conn, argc, argv, &s_progress);
}

int
console_composition(PGconn *conn, int argc, char **argv)
{
	return s_area_report(conn, argc, argv, &s_composition);
}
