/*
 * test_spreadsheet: the spreadsheet route (agents/spreadsheet.c).  The
 * template holds a row per unit and committee the unit can have (by its
 * code: residents' or villagers' committee, and a Party branch for all),
 * begins with a BOM, writes codes grouped so they stay text, and reads
 * back as all blank.  A filled-in sheet is read the same from UTF-8 with
 * and without a BOM and from GB18030; UTF-16 and bytes that are neither
 * are refused; quoted cells (commas, doubled quotes) are read; blank
 * elections are skipped and counted, not refused; a bad cell is named
 * FILE:ROW:COLUMN with the row as the spreadsheet numbers it (blank lines
 * count, a line break inside a quoted cell does not); a unit code Excel
 * turned into 6.30121E+11 is refused with a hint; Chinese and English
 * words are read, a Party word under a villagers' committee is not; a
 * rule broken is named at the candidate's cell.  Hostile input is bounded
 * with a clear refusal: a huge cell, a NUL, an unterminated quote, a stray
 * quote, a million columns, too many rows, too many candidates, a file
 * over the ceiling, and no more than TF_SPREADSHEET_ERRORS_MAX refusals
 * kept.  Queueing is one batch: a failure stores none of the file; the
 * agent numbers revisions (1; the same figures again are the message
 * queued; changed figures, or the same after a rejection, the next).
 */
#include "testutil.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forwarder.h"
#include "registry.h"
#include "report.h"
#include "rules.h"
#include "spool.h"
#include "spreadsheet.h"

#define AGENT "agent-630121100"
#define TOWNSHIP "630121100000"         /* 桥头镇: 13 communities, 22 villages */

typedef struct {
	tf_registry_t *registry;
	char base[64];          /* mkdtemp directory, removed afterwards */
	spool_t *spool;
	forwarder_config_t fc;
	tf_spreadsheet_t *sheet;
	char *text;
} fixture_t;

/* The columns of the sheets below: A..U. */
static const char s_header[] =
    "unit,委员会（村民委员会/居民委员会/党支部委员会）,round,registered,参加投票人数,issued,"
    "returned,valid,invalid,ballot_mode,seats_head,seats_member,id,name,position,votes_for,"
    "elected,gender,ethnicity,birth_year,education\r\n";

/* A villagers' committee of 元树尔村 that the rules accept: 80 of 100
 * took part; elected with more than 40 votes. */
static const char s_election[] =
    "63 01 21 100 201,村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
    ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中\r\n"
    ",,,,,,,,,,,,C02,\"李,国栋\",主任,15,否,,,,\r\n"
    ",,,,,,,,,,,,C03,\"祁\"\"秀英\"\"\",委员,50,是,女,土族,1980,大专\r\n"
    ",,,,,,,,,,,,C04,张玉兰,委员,45,是,女,汉族,1984,初中\r\n"
    ",,,,,,,,,,,,C05,冶福林,委员,10,否,,,,\r\n";

/* Candidates of an election of the shape of s_election's that the rules
 * accept: three elected to its three seats. */
static const char s_three[] =
    ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中\r\n"
    ",,,,,,,,,,,,C03,祁秀英,委员,50,是,女,土族,1980,大专\r\n"
    ",,,,,,,,,,,,C04,张玉兰,委员,45,是,女,汉族,1984,初中\r\n";

static int
s_teardown(void **state)
{
	fixture_t *fx = *state;

	if (fx == NULL)
		return 0;
	tf_spreadsheet_destroy(&fx->sheet);
	spool_close(&fx->spool);
	tf_registry_destroy(&fx->registry);
	free(fx->text);
	if (fx->base[0] != '\0')
		tf_test_remove_tree(fx->base);
	free(fx);
	return 0;
}

static int
s_setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	char err[1024];

	if (fx == NULL)
		return -1;
	*state = fx;
	fx->registry = tf_registry_new();
	if (fx->registry == NULL || tf_registry_load_dir(fx->registry, TF_QINGHAI_DIR, err,
	                                                 sizeof err) != 0) {
		print_error("registry: %s\n", err);
		goto fail;
	}
	snprintf(fx->base, sizeof fx->base, "/tmp/test_spreadsheet.XXXXXX");
	if (mkdtemp(fx->base) == NULL) {
		fx->base[0] = '\0';
		goto fail;
	}
	fx->spool = spool_open(fx->base, err, sizeof err);
	if (fx->spool == NULL) {
		print_error("spool: %s\n", err);
		goto fail;
	}
	fx->fc.agent_id = AGENT;
	fx->fc.township = TOWNSHIP;
	fx->fc.registry = fx->registry;
	tf_rules_config_default(&fx->fc.rules);
	return 0;
fail:
	s_teardown(state);
	*state = NULL;
	return -1;
}

/* Parse text as the file "t.csv" and check it with the rules. */
static tf_spreadsheet_t *
s_read(fixture_t *fx, const char *text, size_t len)
{
	tf_spreadsheet_destroy(&fx->sheet);
	fx->sheet = tf_spreadsheet_parse("t.csv", text, len);
	assert_non_null(fx->sheet);
	tf_spreadsheet_check(fx->sheet, &fx->fc.rules, fx->registry, TOWNSHIP);
	return fx->sheet;
}

/* s_header, then the rows given, as one text (owned by fx). */
static const char *
s_sheet(fixture_t *fx, const char *rows)
{
	free(fx->text);
	assert_true(asprintf(&fx->text, "%s%s", s_header, rows) > 0);
	return fx->text;
}

/* s_header, then an election of unit code (as written) with s_three,
 * and another of code2 unless it is NULL (owned by fx). */
static const char *
s_accepted(fixture_t *fx, const char *code, const char *code2)
{
	static const char figures[] = ",村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n";

	free(fx->text);
	assert_true(asprintf(&fx->text, "%s%s%s%s%s%s%s", s_header, code, figures, s_three,
	                     code2 ? code2 : "", code2 ? figures : "", code2 ? s_three : "") > 0);
	return fx->text;
}

static void
s_expect_sound(const tf_spreadsheet_t *sheet)
{
	for (size_t i = 0; i < tf_spreadsheet_errors(sheet); i++)
		print_error("%s\n", tf_spreadsheet_error(sheet, i));
	assert_int_equal(tf_spreadsheet_refused(sheet), 0);
}

/* Exactly one refusal, beginning with prefix. */
static void
s_expect_refusal(const tf_spreadsheet_t *sheet, const char *prefix)
{
	for (size_t i = 0; i < tf_spreadsheet_errors(sheet); i++)
		print_message("refusal: %s\n", tf_spreadsheet_error(sheet, i));
	assert_int_equal(tf_spreadsheet_refused(sheet), 1);
	assert_starts_with(tf_spreadsheet_error(sheet, 0), prefix);
}

/* ---- the template ---- */

static void
test_template_township(void **state)
{
	fixture_t *fx = *state;
	size_t len, elections, skipped, units = 0;
	char err[256];
	char *text = tf_spreadsheet_template(fx->registry, TOWNSHIP, &len, &elections, &skipped,
	                                     err, sizeof err);

	assert_non_null(text);
	fx->text = text;
	for (size_t i = 0; i < tf_registry_size(fx->registry, TF_LEVEL_UNIT); i++)
		if (strcmp(tf_registry_at(fx->registry, TF_LEVEL_UNIT, i)->parent, TOWNSHIP) == 0)
			units++;
	assert_int_equal(units, 35);
	/* Each unit: its mass committee and its Party branch. */
	assert_int_equal(elections, 2 * units);
	assert_int_equal(skipped, 0);
	assert_int_equal(strlen(text), len);
	assert_starts_with(text, "\xef\xbb\xbf单位代码,单位名称,委员会（村民委员会/");
	/* A community: residents' committee; a village: villagers'. */
	assert_contains(text, "\r\n63 01 21 100 001,人民路南居委会,居民委员会,1,");
	assert_contains(text, "\r\n63 01 21 100 001,人民路南居委会,党支部委员会,1,");
	assert_contains(text, "\r\n63 01 21 100 201,元树尔村委会,村民委员会,1,");
	assert_contains(text, "\r\n63 01 21 100 201,元树尔村委会,党支部委员会,1,");
	assert_null(strstr(text, "63 01 21 100 001,人民路南居委会,村民委员会"));
	assert_null(strstr(text, "630121100201"));      /* never a bare number */
	/* Read back, untouched: every election blank, nothing refused. */
	s_read(fx, text, len);
	s_expect_sound(fx->sheet);
	assert_int_equal(tf_spreadsheet_size(fx->sheet), 0);
	assert_int_equal(tf_spreadsheet_blank(fx->sheet), elections);
	assert_string_equal(tf_spreadsheet_encoding(fx->sheet), "UTF-8 with BOM");
	/* A township without units. */
	assert_null(tf_spreadsheet_template(fx->registry, "630121999000", &len, &elections,
	                                    &skipped, err, sizeof err));
	assert_contains(err, "no units");
}

static void
test_template_unit_kinds(void **state)
{
	fixture_t *fx = *state;
	tf_registry_t *reg = tf_registry_new();
	size_t len, elections, skipped;
	char err[256], *text;

	(void)fx;
	assert_non_null(reg);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_PREFECTURE, "630100000000", "西宁市", "",
	                                 NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_COUNTY, "630121000000", "大通县",
	                                 "630100000000", NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_TOWNSHIP, TOWNSHIP, "桥头镇", "630121000000",
	                                 NULL, err, sizeof err), 0);
	/* One unit of each coded kind: 001-199, 200-399, 400-499, 500-599. */
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630121100101", "甲社区", TOWNSHIP,
	                                 "111", err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630121100301", "乙村", TOWNSHIP,
	                                 "220", err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630121100401", "丙区", TOWNSHIP,
	                                 "111", err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630121100501", "丁场", TOWNSHIP,
	                                 "220", err, sizeof err), 0);
	text = tf_spreadsheet_template(reg, TOWNSHIP, &len, &elections, &skipped, err, sizeof err);
	assert_non_null(text);
	assert_int_equal(elections, 8);
	assert_contains(text, "63 01 21 100 101,甲社区,居民委员会,");
	assert_contains(text, "63 01 21 100 301,乙村,村民委员会,");
	assert_contains(text, "63 01 21 100 401,丙区,居民委员会,");
	assert_contains(text, "63 01 21 100 501,丁场,村民委员会,");
	assert_contains(text, "63 01 21 100 501,丁场,党支部委员会,");
	free(text);
	tf_registry_destroy(&reg);
}

/* ---- reading ---- */

static void
test_reads_election(void **state)
{
	fixture_t *fx = *state;
	const char *text = s_sheet(fx, s_election);
	const tf_report_t *r;

	s_read(fx, text, strlen(text));
	s_expect_sound(fx->sheet);
	assert_string_equal(tf_spreadsheet_encoding(fx->sheet), "UTF-8");
	assert_int_equal(tf_spreadsheet_size(fx->sheet), 1);
	assert_int_equal(tf_spreadsheet_row(fx->sheet, 0), 2);
	r = tf_spreadsheet_report(fx->sheet, 0);
	assert_string_equal(r->unit_code, "630121100201");
	assert_int_equal(r->committee, TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
	assert_int_equal(r->round, 1);
	assert_int_equal(r->revision, 1);
	assert_int_equal(r->registered, 100);
	assert_int_equal(r->took_part, 80);
	assert_int_equal(r->ballots_valid, 78);
	assert_int_equal(r->ballot_mode, TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED);
	assert_int_equal(r->n_seats, 2);
	assert_int_equal(r->n_candidates, 5);
	/* Quoted cells: a comma, and quotes written twice. */
	assert_string_equal(r->candidates[1]->name, "李,国栋");
	assert_string_equal(r->candidates[2]->name, "祁\"秀英\"");
	assert_true(r->candidates[0]->elected);
	assert_int_equal(r->candidates[0]->position_won, TALLYFEED__POSITION__POSITION_HEAD);
	assert_int_equal(r->candidates[2]->gender, TALLYFEED__GENDER__GENDER_FEMALE);
	assert_int_equal(r->candidates[2]->education, TALLYFEED__EDUCATION__EDUCATION_JUNIOR_COLLEGE);
	assert_int_equal(r->candidates[3]->birth_year, 1984);
	assert_false(r->candidates[4]->elected);
}

/* text converted from UTF-8 to GB18030 (owned). */
static char *
s_gb18030(const char *text, size_t *outlen)
{
	size_t inleft = strlen(text), outleft = 2 * inleft + 8, size = outleft;
	char *out = malloc(size), *ip = (char *)text, *op = out;
	iconv_t cd = iconv_open("GB18030", "UTF-8");

	assert_non_null(out);
	assert_true(cd != (iconv_t)-1);
	assert_true(iconv(cd, &ip, &inleft, &op, &outleft) != (size_t)-1);
	iconv_close(cd);
	*outlen = size - outleft;
	return out;
}

static void
test_encodings(void **state)
{
	fixture_t *fx = *state;
	const char *text = s_sheet(fx, s_election);
	char *bom, *gb, *want, *got;
	size_t gblen;

	s_read(fx, text, strlen(text));
	s_expect_sound(fx->sheet);
	want = tf_report_to_json(tf_spreadsheet_report(fx->sheet, 0), 0);
	assert_non_null(want);

	assert_true(asprintf(&bom, "\xef\xbb\xbf%s", text) > 0);
	s_read(fx, bom, strlen(bom));
	s_expect_sound(fx->sheet);
	assert_string_equal(tf_spreadsheet_encoding(fx->sheet), "UTF-8 with BOM");
	got = tf_report_to_json(tf_spreadsheet_report(fx->sheet, 0), 0);
	assert_string_equal(got, want);
	free(got);
	free(bom);

	/* Excel's "CSV (逗号分隔)" on Chinese Windows. */
	gb = s_gb18030(text, &gblen);
	assert_true(gblen != strlen(text));     /* really other bytes */
	s_read(fx, gb, gblen);
	s_expect_sound(fx->sheet);
	assert_string_equal(tf_spreadsheet_encoding(fx->sheet), "GB18030");
	got = tf_report_to_json(tf_spreadsheet_report(fx->sheet, 0), 0);
	assert_string_equal(got, want);
	free(got);
	free(gb);
	free(want);

	/* Excel's "Unicode text". */
	s_read(fx, "\xff\xfeu\0n\0i\0t\0", 10);
	s_expect_refusal(fx->sheet, "t.csv: UTF-16 text");
	assert_null(tf_spreadsheet_encoding(fx->sheet));
	/* Neither UTF-8 nor GB18030 (0xff never begins a GB18030 character). */
	s_read(fx, "unit\r\n\xff\xff\r\n", 10);
	s_expect_refusal(fx->sheet, "t.csv: neither UTF-8 text (not at line 2, byte 7) nor "
	                 "GB18030 (not at line 2, byte 7)");
}

static void
test_blank_elections_skipped(void **state)
{
	fixture_t *fx = *state;
	/* Row 2: blank (its code mangled, which does not matter: nothing is
	 * reported for it); 3: a candidate row with only the unit's name;
	 * 4: an empty line; 5: empty cells; 6-11: filled; 12: blank. */
	const char *text = s_sheet(fx,
	    "6.30121E+11,党支部委员会,1,,,,,,,,,,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,,,,,,,,,\r\n"
	    "\r\n"
	    ",,,\r\n"
	    "63 01 21 100 201,村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中\r\n"
	    ",,,,,,,,,,,,C02,李国栋,主任,15,否,,,,\r\n"
	    ",,,,,,,,,,,,C03,祁秀英,委员,50,是,女,土族,1980,大专\r\n"
	    ",,,,,,,,,,,,C04,张玉兰,委员,45,是,女,汉族,1984,初中\r\n"
	    ",,,,,,,,,,,,C05,冶福林,委员,10,否,,,,\r\n"
	    "63 01 21 100 202,村民委员会,1,,,,,,,,,,,,,,,,,,\r\n");

	s_read(fx, text, strlen(text));
	s_expect_sound(fx->sheet);
	assert_int_equal(tf_spreadsheet_size(fx->sheet), 1);
	assert_int_equal(tf_spreadsheet_row(fx->sheet, 0), 6);
	assert_int_equal(tf_spreadsheet_blank(fx->sheet), 2);
}

static void
test_bad_cell_row_and_column(void **state)
{
	fixture_t *fx = *state;
	/* Row 2 holds a line break inside quotes (one row to a spreadsheet,
	 * two lines to a text editor), in B, an election's cell on a row
	 * without a code; row 3 is an empty line; the bad cell is E of row 4;
	 * row 5 has a cell in V, which has no header. */
	const char *text = s_sheet(fx,
	    ",\"a note\nacross lines\"\r\n"
	    "\r\n"
	    "63 01 21 100 201,村民委员会,1,100,abc,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中,note\r\n");

	s_read(fx, text, strlen(text));
	assert_int_equal(tf_spreadsheet_refused(fx->sheet), 3);
	assert_starts_with(tf_spreadsheet_error(fx->sheet, 0), "t.csv:2:B(委员会): a row without "
	                   "单位代码 before any election row");
	assert_string_equal(tf_spreadsheet_error(fx->sheet, 1),
	                    "t.csv:4:E(参加投票人数): \"abc\" is not a whole number");
	assert_string_equal(tf_spreadsheet_error(fx->sheet, 2),
	                    "t.csv:5:V: a cell in a column without a header");
}

static void
test_scientific_unit_code(void **state)
{
	fixture_t *fx = *state;
	const char *text = s_sheet(fx,
	    "6.30121E+11,村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中\r\n");

	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:2:A(单位代码): \"6.30121E+11\" is a number in "
	                 "scientific notation");
	assert_contains(tf_spreadsheet_error(fx->sheet, 0), "63 01 21 100 201");
	assert_contains(tf_spreadsheet_error(fx->sheet, 0), "文本");
	/* The bare 12 digits (a spreadsheet that kept them) are a code. */
	text = s_accepted(fx, "630121100201", NULL);
	s_read(fx, text, strlen(text));
	s_expect_sound(fx->sheet);
	assert_string_equal(tf_spreadsheet_report(fx->sheet, 0)->unit_code, "630121100201");
}

static void
test_words_and_numbers(void **state)
{
	fixture_t *fx = *state;
	const tf_report_t *r;
	/* English words, grouped and full-width digits, a date as Excel shows it. */
	const char *text = s_sheet(fx,
	    "63 01 21 100 201,villagers,1,\"1,180\",１００３,1003,1001,990,11,combined,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,head,612,yes,male,回族,1971,senior_secondary\r\n"
	    ",,,,,,,,,,,,C03,祁秀英,member,540,TRUE,female,土族,1980,bachelor\r\n"
	    ",,,,,,,,,,,,C04,张玉兰,委员,720,是,女,汉族,1984,研究生\r\n");

	s_read(fx, text, strlen(text));
	s_expect_sound(fx->sheet);
	r = tf_spreadsheet_report(fx->sheet, 0);
	assert_int_equal(r->registered, 1180);
	assert_int_equal(r->took_part, 1003);
	assert_int_equal(r->candidates[1]->education, TALLYFEED__EDUCATION__EDUCATION_BACHELOR);
	assert_int_equal(r->candidates[2]->education, TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE);

	/* 书记 is a Party branch's: under a villagers' committee it is a
	 * row in the wrong place. */
	text = s_sheet(fx,
	    "63 01 21 100 201,村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,书记,60,是,男,回族,1971,高中\r\n");
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:3:O(参选职务): \"书记\": expected one of 主任, 副主任, "
	                 "委员, head");
	/* A negative number, a fraction, one too large, a bad yes/no. */
	text = s_sheet(fx,
	    "63 01 21 100 201,村民委员会,1,-100,80.5,2000000,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,主任,60,对,男,回族,1971,高中\r\n");
	s_read(fx, text, strlen(text));
	assert_int_equal(tf_spreadsheet_refused(fx->sheet), 4);
	assert_string_equal(tf_spreadsheet_error(fx->sheet, 0),
	                    "t.csv:2:D(登记选民数): \"-100\": must not be negative");
	assert_string_equal(tf_spreadsheet_error(fx->sheet, 1),
	                    "t.csv:2:E(参加投票人数): \"80.5\" is not a whole number");
	assert_string_equal(tf_spreadsheet_error(fx->sheet, 2),
	                    "t.csv:2:F(发出选票数): 2000000 is too large (at most 1000000)");
	assert_starts_with(tf_spreadsheet_error(fx->sheet, 3),
	                   "t.csv:3:Q(是否当选): \"对\": expected one of 是, 否");
}

static void
test_dates(void **state)
{
	fixture_t *fx = *state;
	static const char *const forms[] = { "2017-11-12", "2017/11/12", "2017.11.12",
	                                     "2017年11月12日", "2017/1/2" };
	static const char *const want[] = { "2017-11-12", "2017-11-12", "2017-11-12",
	                                    "2017-11-12", "2017-01-02" };

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char *text;

		assert_true(asprintf(&text, "unit,committee,round,held_on,registered,took_part,issued,"
		                     "returned,valid,invalid,ballot_mode,seats_member,id,name,position,"
		                     "votes_for,elected,gender,ethnicity,birth_year,education\r\n"
		                     "630121100201,村民委员会,1,%s,100,80,80,80,78,2,合并选票,1,,,,,,,,,\r\n"
		                     ",,,,,,,,,,,,C01,马永福,委员,60,是,男,回族,1971,高中\r\n",
		                     forms[i]) > 0);
		s_read(fx, text, strlen(text));
		free(text);
		s_expect_sound(fx->sheet);
		assert_string_equal(tf_spreadsheet_report(fx->sheet, 0)->held_on, want[i]);
	}
}

static void
test_rule_at_candidate_cell(void **state)
{
	fixture_t *fx = *state;
	/* C04 has 45 votes, more than half of 80: elected, but marked not. */
	const char *text = s_sheet(fx,
	    "63 01 21 100 201,村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中\r\n"
	    ",,,,,,,,,,,,C03,祁秀英,委员,50,是,女,土族,1980,大专\r\n"
	    ",,,,,,,,,,,,C04,张玉兰,委员,45,否,女,汉族,1984,初中\r\n");

	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:5:Q(是否当选): ELECTED_MISMATCH: candidate C04");
	/* A unit of another township: at the code. */
	text = s_accepted(fx, "63 01 21 101 201", NULL);
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:2:A(单位代码): OUTSIDE_TOWNSHIP");
	/* The same election twice. */
	text = s_accepted(fx, "63 01 21 100 201", "63 01 21 100 201");
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:6:A(单位代码): the same unit, committee and round as "
	                 "row 2");
}

static void
test_header_refusals(void **state)
{
	fixture_t *fx = *state;
	const char *text;

	text = "unit,committee,旗号\r\n";
	s_read(fx, text, strlen(text));
	assert_starts_with(tf_spreadsheet_error(fx->sheet, 0), "t.csv:1:C: unknown column \"旗号\"");
	assert_starts_with(tf_spreadsheet_error(fx->sheet, 1), "t.csv:1: no column 轮次 (round)");
	text = "unit,单位代码\r\n";
	s_read(fx, text, strlen(text));
	assert_starts_with(tf_spreadsheet_error(fx->sheet, 0),
	                   "t.csv:1:B: \"单位代码\" again (column A is 单位代码)");
	s_read(fx, "", 0);
	s_expect_refusal(fx->sheet, "t.csv: empty: no header row");
}

/* ---- hostile input ---- */

static void
test_hostile_cells(void **state)
{
	fixture_t *fx = *state;
	char *text, *big;
	size_t len;

	/* A cell of 100 KB: refused at the bound, not kept. */
	big = malloc(100001);
	assert_non_null(big);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	assert_true(asprintf(&text, "%s63 01 21 100 201,%s\r\n", s_header, big) > 0);
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:2:B(委员会): a cell longer than 1024 bytes");
	free(text);
	free(big);
	/* A NUL byte. */
	text = (char *)s_sheet(fx, "63 01 21 100 201,村民@委员会\r\n");
	len = strlen(text);
	*strchr(text, '@') = '\0';
	s_read(fx, text, len);
	s_expect_refusal(fx->sheet, "t.csv:2:B(委员会): a NUL byte");
	/* A quote never closed, and a stray one. */
	text = (char *)s_sheet(fx, ",,,,\r\n63 01 21 100 201,\"村民委员会,1\r\n\r\n");
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:3:B(委员会): a quoted cell that is never closed");
	text = (char *)s_sheet(fx, "63 01 21 100 201,村民\"委员会,1\r\n");
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:2:B(委员会): a quote (\") inside a cell");
	/* Control characters in a name. */
	text = (char *)s_sheet(fx,
	    "63 01 21 100 201,村民委员会,1,100,80,80,80,78,2,合并选票,1,2,,,,,,,,,\r\n"
	    ",,,,,,,,,,,,C01,\"马\x1b[2J永福\",主任,60,是,男,回族,1971,高中\r\n");
	s_read(fx, text, strlen(text));
	s_expect_refusal(fx->sheet, "t.csv:3:N(候选人姓名): holds a line break or a control");
	/* The refusal's quote of a cell is escaped for the terminal. */
	text = (char *)s_sheet(fx, "63 01 21 100 201,\x1b[31mred,1\r\n"
	                           ",,,,,,,,,,,,C01,马永福,主任,60,是,男,回族,1971,高中\r\n");
	s_read(fx, text, strlen(text));
	assert_null(strchr(tf_spreadsheet_error(fx->sheet, 0), '\x1b'));
	assert_contains(tf_spreadsheet_error(fx->sheet, 0), "\\x1b[31mred");
}

static void
test_hostile_shape(void **state)
{
	fixture_t *fx = *state;
	size_t n = 1000000, len;
	char *text;

	/* A million columns in a data row: refused once, nothing kept. */
	len = strlen(s_header) + n + 2;
	text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, s_header, strlen(s_header));
	memset(text + strlen(s_header), ',', n);
	memcpy(text + strlen(s_header) + n, "\r\n", 3);
	s_read(fx, text, len);
	s_expect_refusal(fx->sheet, "t.csv:2: more than 64 columns");
	/* ... and in the header: nothing after it is read. */
	s_read(fx, text + strlen(s_header), n + 2);
	s_expect_refusal(fx->sheet, "t.csv:1: more than 64 columns");
	free(text);
	/* 200,001 empty lines: more rows than a sheet may have. */
	n = 200001;
	len = strlen(s_header) + n;
	text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, s_header, strlen(s_header));
	memset(text + strlen(s_header), '\n', n);
	text[len] = '\0';
	s_read(fx, text, len);
	s_expect_refusal(fx->sheet, "t.csv:100001: more than 100000 rows");
	free(text);
	/* A file over the ceiling is not parsed at all. */
	len = TF_SPREADSHEET_FILE_MAX + 1;
	text = calloc(1, len);
	assert_non_null(text);
	s_read(fx, text, len);
	s_expect_refusal(fx->sheet, "t.csv: larger than 4194304 bytes");
	free(text);
}

static void
test_hostile_counts(void **state)
{
	fixture_t *fx = *state;
	char *text, *rows;
	size_t used = 0, size = 1 << 20;

	/* 201 candidates for one election. */
	rows = malloc(size);
	assert_non_null(rows);
	used += (size_t)snprintf(rows, size, "%s63 01 21 100 201,村民委员会,1,1000,800,800,800,"
	                         "780,20,合并选票,1,2,,,,,,,,,\r\n", s_header);
	for (int i = 0; i < TF_CANDIDATES_MAX + 1; i++)
		used += (size_t)snprintf(rows + used, size - used,
		                         ",,,,,,,,,,,,C%03d,某,委员,1,否,,,,\r\n", i);
	s_read(fx, rows, used);
	s_expect_refusal(fx->sheet, "t.csv:203:M(候选人编号): more than 200 candidates");
	/* 150 bad rows: every one counted, 100 kept. */
	used = (size_t)snprintf(rows, size, "%s", s_header);
	for (int i = 0; i < 150; i++)
		used += (size_t)snprintf(rows + used, size - used, ",,,,,,,,,,,,C%03d,某,委员,1,否,,,,\r\n", i);
	s_read(fx, rows, used);
	assert_int_equal(tf_spreadsheet_refused(fx->sheet), 150);
	assert_int_equal(tf_spreadsheet_errors(fx->sheet), TF_SPREADSHEET_ERRORS_MAX);
	free(rows);
	/* A file that is not read: a symbolic link. */
	assert_true(asprintf(&text, "%s/link.csv", fx->base) > 0);
	assert_int_equal(symlink("/etc/passwd", text), 0);
	tf_spreadsheet_destroy(&fx->sheet);
	fx->sheet = tf_spreadsheet_read(text);
	assert_non_null(fx->sheet);
	assert_int_equal(tf_spreadsheet_refused(fx->sheet), 1);
	assert_contains(tf_spreadsheet_error(fx->sheet, 0), "link.csv: not read: a symbolic link");
	free(text);
}

/* ---- queueing ---- */

/* Queue fx->sheet (one election); returns what became of it. */
static tf_spreadsheet_queued_t
s_queue_one(fixture_t *fx)
{
	tf_spreadsheet_queued_t q;
	char err[1024] = "";

	memset(&q, 0, sizeof q);
	assert_int_equal(tf_spreadsheet_size(fx->sheet), 1);
	if (tf_spreadsheet_queue(fx->sheet, fx->spool, &fx->fc, &q, err, sizeof err) != 0)
		fail_msg("queue: %s", err);
	return q;
}

static void
test_revisions(void **state)
{
	fixture_t *fx = *state;
	const char *text = s_sheet(fx, s_election);
	tf_spreadsheet_queued_t first, again, changed, back, resent;
	spool_answer_t answer;
	spool_msg_t *msgs = NULL;
	spool_stats_t st;
	char *changed_text;

	s_read(fx, text, strlen(text));
	s_expect_sound(fx->sheet);
	first = s_queue_one(fx);
	assert_int_equal(first.revision, 1);
	assert_false(first.existed);
	/* The same file again: the same message. */
	s_read(fx, text, strlen(text));
	again = s_queue_one(fx);
	assert_int_equal(again.revision, 1);
	assert_true(again.existed);
	assert_int_equal(again.sequence, first.sequence);
	/* Changed figures (78 valid 2 invalid -> 79 and 1): the next revision. */
	changed_text = strdup(text);
	assert_non_null(changed_text);
	memcpy(strstr(changed_text, ",78,2,"), ",79,1,", 6);
	s_read(fx, changed_text, strlen(changed_text));
	s_expect_sound(fx->sheet);
	changed = s_queue_one(fx);
	assert_int_equal(changed.revision, 2);
	assert_false(changed.existed);
	/* Back to the first figures: they are new against the latest. */
	s_read(fx, text, strlen(text));
	back = s_queue_one(fx);
	assert_int_equal(back.revision, 3);
	assert_false(back.existed);
	/* The latest rejected by the collector: the same figures go again. */
	assert_int_equal(spool_unanswered(fx->spool, back.sequence - 1, 1, &msgs), 1);
	assert_int_equal(msgs[0].sequence, back.sequence);
	memset(&answer, 0, sizeof answer);
	memcpy(answer.message_id, msgs[0].message_id, TF_MESSAGE_ID_LEN);
	spool_msgs_free(&msgs, 1);
	answer.state = SPOOL_REJECTED;
	answer.reason = TALLYFEED__REASON__REASON_REVISION_EXISTS;
	assert_int_equal(spool_commit_answers(fx->spool, &answer, 1, 1), 0);
	s_read(fx, text, strlen(text));
	resent = s_queue_one(fx);
	assert_int_equal(resent.revision, 4);
	assert_false(resent.existed);
	assert_int_equal(spool_stats(fx->spool, &st), 0);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.rejected, 1);
	free(changed_text);
}

static void
test_queue_all_or_nothing(void **state)
{
	fixture_t *fx = *state;
	/* Two elections; the second's unit is not this agent's township once
	 * the agent is another township's: the first must not stay queued. */
	const char *text = s_accepted(fx, "63 01 21 100 201", "63 01 21 101 201");
	tf_spreadsheet_queued_t q[2];
	spool_stats_t st;
	char err[1024] = "";

	fx->sheet = tf_spreadsheet_parse("t.csv", text, strlen(text));
	assert_non_null(fx->sheet);
	s_expect_sound(fx->sheet);       /* not checked against a township yet */
	assert_int_equal(tf_spreadsheet_size(fx->sheet), 2);
	assert_int_equal(tf_spreadsheet_queue(fx->sheet, fx->spool, &fx->fc, q, err, sizeof err), -1);
	assert_starts_with(err, "t.csv:6: OUTSIDE_TOWNSHIP");
	assert_int_equal(spool_stats(fx->spool, &st), 0);
	assert_int_equal(st.pending, 0);
	/* The spool is usable after: the batch was ended. */
	fx->fc.township = NULL;
	assert_int_equal(tf_spreadsheet_queue(fx->sheet, fx->spool, &fx->fc, q, err, sizeof err), 0);
	assert_int_equal(spool_stats(fx->spool, &st), 0);
	assert_int_equal(st.pending, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_template_township, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_template_unit_kinds, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_reads_election, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_encodings, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_blank_elections_skipped, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_bad_cell_row_and_column, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_scientific_unit_code, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_words_and_numbers, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_dates, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_rule_at_candidate_cell, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_header_refusals, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_cells, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_shape, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_counts, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_revisions, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_queue_all_or_nothing, s_setup, s_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
