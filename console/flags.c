/*
 * flags: lists of units inside an area.  `tallyfeed flags` — the current
 * results the rules accepted but flagged for a person to look at
 * (DOMAIN.md "Checks", W): invalid elections, committees short of the law,
 * statistical oddities.  `tallyfeed runoffs` — where a runoff is owed.
 */
#include "console.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>

typedef struct {
	const char *command;
	query_list_t list;
	const char *const *headings;
	const char *help;
} unit_list_t;

static const char *const s_flags_headings[] = {
	"单位代码", "单位名称", "乡镇", "委员会", "轮次", "修订", "提示"
};

static const char *const s_runoff_headings[] = {
	"单位代码", "单位名称", "乡镇", "委员会", "应选", "已选", "待选"
};

static const unit_list_t s_flags = {
	"flags",
	LIST_FLAGS,
	s_flags_headings,
	"The latest revision of each result that the rules flagged, with its flags:\n"
	"  invalid_election   turnout or attendance short of the quorum\n"
	"  no_woman           a villagers'/residents' committee with no woman elected\n"
	"  size               committee size out of range, or even where it must be odd\n"
	"  full_turnout       exactly 100 % turnout\n"
	"  seats_unfilled     seats left for a runoff\n"
	"  candidate_margin   a Party branch with too few candidates for its seats\n"
	"  photo_reused       the results sheet photo of another unit\n"
	"  identical_figures  the same six figures as another unit\n"
};

static const unit_list_t s_runoffs = {
	"runoffs",
	LIST_RUNOFFS,
	s_runoff_headings,
	"Where a runoff (另行选举) is owed: a valid round 1 left seats unfilled and no\n"
	"round 2 is stored.  Seats to fill, filled, and still open.\n"
};

static void
s_usage(FILE *fp, const unit_list_t *list)
{
	fprintf(fp,
	    "usage: tallyfeed %s [--under CODE] [--format table|csv|json]\n"
	    "%s"
	    "  --under CODE   only units inside this area (12-digit code)\n"
	    "  --format F     table (default), csv or json\n", list->command, list->help);
}

static int
s_unit_list(console_db_t *db, int argc, char **argv, const unit_list_t *list)
{
	static const struct option options[] = {
		{ "under", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *under = NULL;
	table_format_t format = TABLE_TEXT;
	PGconn *conn;
	PGresult *res = NULL;
	query_status_t status;
	char err[1024];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'u':
			under = optarg;
			break;
		case 'F':
			if (table_format_parse(optarg, &format) != 0)
				return CONSOLE_USAGE;
			break;
		case 'h':
			s_usage(stdout, list);
			return CONSOLE_OK;
		default:
			s_usage(stderr, list);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		s_usage(stderr, list);
		return CONSOLE_USAGE;
	}
	if (query_check_form(NULL, under, err, sizeof err) != QUERY_OK) {
		log_warnx("%s", err);
		return CONSOLE_USAGE;
	}
	if ((conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	status = query_unit_list(conn, list->list, under, &res, err, sizeof err);
	if (status == QUERY_OK) {
		table_print(res, format == TABLE_TEXT ? list->headings : NULL, format);
		console_db_freshness(db, format);
	}
	PQclear(res);
	return console_status(status, err);
}

int
console_flags(console_db_t *db, int argc, char **argv)
{
	return s_unit_list(db, argc, argv, &s_flags);
}

int
console_runoffs(console_db_t *db, int argc, char **argv)
{
	return s_unit_list(db, argc, argv, &s_runoffs);
}
