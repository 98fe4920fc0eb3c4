/*
 * flags: `tallyfeed flags` — the current results the rules accepted but
 * flagged for a person to look at (DOMAIN.md "Checks", W): invalid
 * elections, committees short of the law, statistical oddities.
 */
#include "console.h"
#include "db.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>

static const char *const s_headings[] = {
	"单位代码", "单位名称", "乡镇", "委员会", "轮次", "修订", "提示"
};

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed flags [--under CODE] [--format table|csv|json]\n"
	    "The latest revision of each result that the rules flagged, with its flags:\n"
	    "  invalid_election   turnout or attendance short of the quorum\n"
	    "  no_woman           a villagers'/residents' committee with no woman elected\n"
	    "  size               committee size out of range, or even where it must be odd\n"
	    "  full_turnout       exactly 100 %% turnout\n"
	    "  seats_unfilled     seats left for a runoff\n"
	    "  candidate_margin   a Party branch with too few candidates for its seats\n"
	    "  photo_reused       the results sheet photo of another unit\n"
	    "  identical_figures  the same six figures as another unit\n"
	    "  --under CODE   only units inside this area (12-digit code)\n"
	    "  --format F     table (default), csv or json\n");
}

int
console_flags(PGconn *conn, int argc, char **argv)
{
	static const struct option options[] = {
		{ "under", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *under = NULL;
	table_format_t format = TABLE_TEXT;
	PGresult *res;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'u':
			under = optarg;
			break;
		case 'F':
			if (table_format_parse(optarg, &format) != 0) {
				log_warnx("--format: \"%s\" is not table, csv or json", optarg);
				return CONSOLE_USAGE;
			}
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
	if (under != NULL && (rc = console_check_under(conn, under)) != CONSOLE_OK)
		return rc;
	res = PQexecParams(conn,
	    "SELECT r.unit_code, p.unit_name, t.name, r.committee, r.round, r.revision, "
	    "       array_to_string(r.warnings, ' ') "
	    "FROM tallyfeed.result_current r "
	    "JOIN tallyfeed.unit_place p ON p.unit_code = r.unit_code "
	    "JOIN tallyfeed.township t ON t.code = p.township_code "
	    "WHERE cardinality(r.warnings) > 0 "
	    "  AND ($1::text IS NULL OR $1 IN (p.unit_code, p.township_code, p.county_code, "
	    "                                 p.prefecture_code, p.province_code)) "
	    "ORDER BY r.unit_code, r.committee, r.round", 1, NULL, &under, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read the flags: %s", tf_db_error(conn));
		PQclear(res);
		return CONSOLE_FAILED;
	}
	table_print(res, format == TABLE_TEXT ? s_headings : NULL, format);
	PQclear(res);
	return CONSOLE_OK;
}
