/*
 * test_rules: the validator.  Every test starts from a sound villagers'
 * report for a real Qinghai unit (built in C, s_setup) and changes one
 * thing: each E check is met at its boundary and broken just past it with
 * exactly its reason code; each threshold of the law is tried exactly at,
 * just over and just under, under the default (strict) configuration and a
 * configured one; each W flag is raised and not raised.  The "rules"
 * section of the config file is loaded from ZPL text, good and bad; the
 * sequence of rounds is checked against what the collector would find
 * stored.
 */
#include "testutil.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "registry.h"
#include "report.h"
#include "rules.h"
#include "utf8.h"

/* 上毛佰胜村委会 (villagers' committee) in 城关镇, 大通回族土族自治县, 西宁市. */
#define UNIT "630121101201"
#define TOWNSHIP "630121101000"
#define OTHER_TOWNSHIP "630121102000"       /* 塔尔镇, same county */
#define RESIDENTS_UNIT "630121101001"       /* 佰胜居委会, same township */

#define HEAD TALLYFEED__POSITION__POSITION_HEAD
#define DEPUTY TALLYFEED__POSITION__POSITION_DEPUTY
#define MEMBER TALLYFEED__POSITION__POSITION_MEMBER
#define VILLAGERS TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS
#define RESIDENTS TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS
#define PARTY TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH
#define R(name) TALLYFEED__REASON__REASON_##name

static tf_registry_t *s_registry;
static tf_rules_config_t s_config;

/* ---- building reports (everything malloc'd: tf_report_destroy frees it) ---- */

static void
s_set(char **field, const char *value)
{
	if (*field != NULL && *field != (char *)protobuf_c_empty_string)
		free(*field);
	*field = strdup(value);
	assert_non_null(*field);
}

static void
s_set_seats(tf_report_t *r, uint32_t head, uint32_t deputy, uint32_t member)
{
	const uint32_t count[3] = { head, deputy, member };

	for (size_t i = 0; i < r->n_seats; i++)
		free(r->seats[i]);
	free(r->seats);
	r->seats = calloc(3, sizeof *r->seats);
	assert_non_null(r->seats);
	r->n_seats = 0;
	for (int i = 0; i < 3; i++) {
		Tallyfeed__Seats *s;

		if (count[i] == 0)
			continue;
		s = malloc(sizeof *s);
		assert_non_null(s);
		tallyfeed__seats__init(s);
		s->position = (Tallyfeed__Position)(HEAD + i);
		s->count = count[i];
		r->seats[r->n_seats++] = s;
	}
}

/* Append a candidate; elected ones get what an elected member reports. */
static Tallyfeed__Candidate *
s_add(tf_report_t *r, const char *id, const char *name, Tallyfeed__Position position,
      uint32_t votes, Tallyfeed__Gender gender, bool elected)
{
	Tallyfeed__Candidate **grown, *c;

	grown = realloc(r->candidates, (r->n_candidates + 1) * sizeof *grown);
	assert_non_null(grown);
	r->candidates = grown;
	c = malloc(sizeof *c);
	assert_non_null(c);
	tallyfeed__candidate__init(c);
	r->candidates[r->n_candidates++] = c;
	s_set(&c->candidate_id, id);
	s_set(&c->name, name);
	c->position = position;
	c->votes_for = votes;
	c->elected = elected;
	c->position_won = elected ? position : TALLYFEED__POSITION__POSITION_UNSPECIFIED;
	c->gender = gender;
	if (elected) {
		s_set(&c->ethnicity, "汉族");
		c->birth_year = 1975;
		c->education = TALLYFEED__EDUCATION__EDUCATION_SENIOR_SECONDARY;
	}
	return c;
}

static void
s_clear_candidates(tf_report_t *r)
{
	for (size_t i = 0; i < r->n_candidates; i++)
		tallyfeed__candidate__free_unpacked(r->candidates[i], NULL);
	free(r->candidates);
	r->candidates = NULL;
	r->n_candidates = 0;
}

static Tallyfeed__Candidate *
s_cand(const tf_report_t *r, const char *id)
{
	for (size_t i = 0; i < r->n_candidates; i++)
		if (strcmp(r->candidates[i]->candidate_id, id) == 0)
			return r->candidates[i];
	fail_msg("no candidate %s", id);
	return NULL;
}

static void
s_set_elected(Tallyfeed__Candidate *c, bool elected)
{
	c->elected = elected;
	c->position_won = elected ? c->position : TALLYFEED__POSITION__POSITION_UNSPECIFIED;
}

static void
s_set_hash(tf_report_t *r, size_t len)
{
	free(r->sheet_photo_sha256.data);
	r->sheet_photo_sha256.data = NULL;
	r->sheet_photo_sha256.len = len;
	if (len == 0)
		return;
	r->sheet_photo_sha256.data = malloc(len);
	assert_non_null(r->sheet_photo_sha256.data);
	for (size_t i = 0; i < len; i++)
		r->sheet_photo_sha256.data[i] = (uint8_t)(i * 37 + 11);
}

/*
 * The sound report: 1,000 registered, 800 took part (so > 400 votes elect),
 * 805 ballots issued, 800 returned, 790 valid, 10 invalid, 20 by proxy;
 * seats: head 1, deputy 1, member 3 (five, odd); elected h1 600, d1 500
 * (a woman), m1 700, m2 650 (a woman), m3 450; not elected h2 150, d2 200,
 * m4 300.  Per position: head 750, deputy 700 <= 790; member 2100 <= 2370.
 */
static tf_report_t *
s_sound_report(void)
{
	tf_report_t *r = malloc(sizeof *r);

	assert_non_null(r);
	tallyfeed__result_report__init(r);
	s_set(&r->unit_code, UNIT);
	r->committee = VILLAGERS;
	r->round = 1;
	r->revision = 1;
	s_set(&r->held_on, "2017-11-18");
	r->registered = 1000;
	r->took_part = 800;
	r->proxy_votes = 20;
	r->ballots_issued = 805;
	r->ballots_returned = 800;
	r->ballots_valid = 790;
	r->ballots_invalid = 10;
	r->ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED;
	s_set_seats(r, 1, 1, 3);
	s_add(r, "h1", "马德福", HEAD, 600, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "h2", "李明", HEAD, 150, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "d1", "才让卓玛", DEPUTY, 500, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "d2", "王芳", DEPUTY, 200, TALLYFEED__GENDER__GENDER_FEMALE, false);
	s_add(r, "m1", "张建国", MEMBER, 700, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "m2", "祁玉兰", MEMBER, 650, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "m3", "韩永福", MEMBER, 450, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "m4", "扎西", MEMBER, 300, TALLYFEED__GENDER__GENDER_MALE, false);
	s_set_hash(r, 32);
	r->announced_on_site = 1;
	return r;
}

/* A sound Party branch election: 45 members should attend, 3 excused (42),
 * 40 present (> 4/5 x 42 = 33.6), so > 20 yes-votes elect; seats head 1,
 * member 2; elected s1 30, c1 35, c2 30; not elected s2 8, c3 10. */
static void
s_make_party(tf_report_t *r)
{
	r->committee = PARTY;
	r->registered = 45;
	r->excused = 3;
	r->took_part = 40;
	r->proxy_votes = 0;
	r->ballots_issued = 40;
	r->ballots_returned = 40;
	r->ballots_valid = 40;
	r->ballots_invalid = 0;
	s_set_seats(r, 1, 0, 2);
	s_clear_candidates(r);
	s_add(r, "s1", "韩书记", HEAD, 30, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "s2", "马某", HEAD, 8, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "c1", "祁某", MEMBER, 35, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "c2", "李某", MEMBER, 30, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "c3", "张某", MEMBER, 10, TALLYFEED__GENDER__GENDER_MALE, false);
}

/* One race for member seats only, every ballot valid; the test adds the
 * candidates.  issued = took_part >= returned. */
static void
s_race(tf_report_t *r, Tallyfeed__Committee committee, uint32_t round, uint32_t registered,
       uint32_t excused, uint32_t took_part, uint32_t returned, uint32_t seats)
{
	r->committee = committee;
	r->round = round;
	r->registered = registered;
	r->excused = excused;
	r->took_part = took_part;
	r->proxy_votes = 0;
	r->ballots_issued = took_part > returned ? took_part : returned;
	r->ballots_returned = returned;
	r->ballots_valid = returned;
	r->ballots_invalid = 0;
	s_set_seats(r, 0, 0, seats);
	s_clear_candidates(r);
}

static int
s_setup(void **state)
{
	*state = s_sound_report();
	tf_rules_config_default(&s_config);
	return 0;
}

static int
s_teardown(void **state)
{
	tf_report_t *r = *state;

	tf_report_destroy(&r);
	return 0;
}

static int
s_load_registry(void **state)
{
	char err[1024];

	(void)state;
	s_registry = tf_registry_new();
	if (s_registry == NULL)
		return -1;
	if (tf_registry_load_dir(s_registry, TF_QINGHAI_DIR, err, sizeof err) != 0) {
		print_error("could not load the Qinghai registry: %s\n", err);
		return -1;
	}
	return 0;
}

static int
s_free_registry(void **state)
{
	(void)state;
	tf_registry_destroy(&s_registry);
	return 0;
}

/* ---- checking ---- */

/* The collector's verdict, tf_rules_check, and beside it the form's list,
 * tf_rules_findings, on the same report: every test vector of this file
 * goes through here (s_check stands for tf_rules_check throughout), so
 * each proves the list's verdict is the collector's and its first finding
 * is the collector's reason.  Each finding names a field and says why in
 * Chinese; an accepted report lists only its W flags, one each. */
static int
s_check(const tf_rules_config_t *config, const tf_report_t *r, const tf_registry_t *registry,
        const char *township, tf_check_t *out)
{
	int rc = tf_rules_check(config, r, registry, township, out);
	tf_findings_t *all = malloc(sizeof *all);
	unsigned warned = 0;

	assert_non_null(all);
	assert_int_equal(tf_rules_findings(config, r, registry, township, all), rc);
	assert_int_equal(all->check.reason, out->reason);
	assert_string_equal(all->check.detail, out->detail);
	assert_int_equal(all->check.warnings, out->warnings);
	assert_true(all->count > 0 || (rc == 0 && out->warnings == 0));
	if (rc != 0) {
		assert_int_equal(all->items[0].reason, out->reason);
		assert_string_equal(all->items[0].detail, out->detail);
	}
	for (size_t i = 0; i < all->count; i++) {
		const tf_finding_t *f = &all->items[i];

		assert_true(f->field[0] != '\0');
		assert_true(f->message[0] != '\0');
		assert_true(tf_utf8_valid(f->message, strlen(f->message)));
		/* Only Es before the Ws, and Ws only when accepted. */
		assert_true((f->reason != R(NONE)) == (f->warning == 0));
		if (rc == 0)
			assert_int_equal(f->reason, R(NONE));
		warned |= f->warning;
	}
	assert_int_equal(warned, rc == 0 ? out->warnings : 0);
	free(all);
	return rc;
}

static void
s_accepted(const tf_report_t *r, const tf_registry_t *registry, const char *township,
           tf_check_t *out, int line)
{
	int rc = s_check(&s_config, r, registry, township, out);

	if (rc != 0 || out->reason != R(NONE)) {
		print_error("line %d: rejected with %s: %s\n", line, tf_reason_name(out->reason),
		            out->detail);
		fail();
	}
}

static void
s_rejected(const tf_report_t *r, const tf_registry_t *registry, const char *township,
           int reason, int line)
{
	tf_check_t out;
	int rc = s_check(&s_config, r, registry, township, &out);

	if (rc != -1 || out.reason != reason) {
		print_error("line %d: expected %s, got rc %d reason %s (%s)\n", line,
		            tf_reason_name(reason), rc, tf_reason_name(out.reason), out.detail);
		fail();
	}
	if (out.detail[0] == '\0') {
		print_error("line %d: rejected with %s but no detail\n", line, tf_reason_name(reason));
		fail();
	}
}

/* Rejected with reason, and the detail says what: it contains needle. */
static void
s_rejected_saying(const tf_report_t *r, int reason, const char *needle, int line)
{
	tf_check_t out;
	int rc = s_check(&s_config, r, s_registry, TOWNSHIP, &out);

	if (rc != -1 || out.reason != reason || strstr(out.detail, needle) == NULL) {
		print_error("line %d: expected %s saying \"%s\", got rc %d reason %s (%s)\n", line,
		            tf_reason_name(reason), needle, rc, tf_reason_name(out.reason),
		            out.detail);
		fail();
	}
}

/* Accepted against the Qinghai registry from its own township; out filled. */
#define assert_accepted(r, out) s_accepted((r), s_registry, TOWNSHIP, (out), __LINE__)
#define assert_ok(r) do { tf_check_t ok_; assert_accepted((r), &ok_); } while (0)
#define assert_rejected(r, reason) s_rejected((r), s_registry, TOWNSHIP, (reason), __LINE__)
#define assert_rejected_saying(r, reason, needle) \
	s_rejected_saying((r), (reason), (needle), __LINE__)

/* The thresholds give candidate i exactly `expect`: marked so, the report
 * is accepted; marked the other way, it is an ELECTED_MISMATCH; and
 * tf_rules_decide says the same. */
static void
s_elects(tf_report_t *r, size_t i, bool expect, int line)
{
	bool elected[TF_CANDIDATES_MAX], valid;
	tf_check_t out;

	assert_true(i < r->n_candidates);
	tf_rules_decide(&s_config, r, elected, &valid);
	if (elected[i] != expect) {
		print_error("line %d: tf_rules_decide: candidate %s with %u votes %s\n", line,
		            r->candidates[i]->candidate_id, r->candidates[i]->votes_for,
		            expect ? "not elected, expected elected" : "elected, expected not");
		fail();
	}
	s_set_elected(r->candidates[i], expect);
	s_accepted(r, s_registry, TOWNSHIP, &out, line);
	s_set_elected(r->candidates[i], !expect);
	s_rejected(r, s_registry, TOWNSHIP, R(ELECTED_MISMATCH), line);
	s_set_elected(r->candidates[i], expect);
}

#define assert_elects(r, i) s_elects((r), (i), true, __LINE__)
#define assert_not_elects(r, i) s_elects((r), (i), false, __LINE__)

/* ---- the sound report and the API around the checks ---- */

static void
test_sound_report_accepted(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	assert_non_null(tf_registry_find(s_registry, TF_LEVEL_UNIT, UNIT));
	assert_int_equal(tf_unit_kind_of(UNIT), TF_UNIT_VILLAGERS);
	assert_string_equal(tf_registry_find(s_registry, TF_LEVEL_UNIT, UNIT)->parent, TOWNSHIP);
	assert_accepted(r, &out);
	assert_int_equal(out.reason, R(NONE));
	assert_int_equal(out.warnings, 0);
	assert_true(out.election_valid);
	assert_int_equal(out.seats_total, 5);
	assert_int_equal(out.seats_filled, 5);
	assert_string_equal(out.detail, "ok");
	/* Without a registry or township, only the arithmetic is checked. */
	s_accepted(r, NULL, NULL, &out, __LINE__);
	s_accepted(r, s_registry, NULL, &out, __LINE__);
}

static void
test_decide_sound_report(void **state)
{
	static const bool expect[8] = { true, false, true, false, true, true, true, false };
	tf_report_t *r = *state;
	bool elected[8], valid = false;

	tf_rules_decide(&s_config, r, elected, &valid);
	assert_true(valid);
	for (int i = 0; i < 8; i++)
		if (elected[i] != expect[i])
			fail_msg("candidate %s: decided %d, expected %d", r->candidates[i]->candidate_id,
			         elected[i], expect[i]);
}

static void
test_config_default(void **state)
{
	tf_rules_config_t c;

	(void)state;
	memset(&c, 0xff, sizeof c);
	tf_rules_config_default(&c);
	assert_true(c.odd_size_required);
	assert_int_equal(c.party_attendance_num, 4);
	assert_int_equal(c.party_attendance_den, 5);
	assert_int_equal(c.mass_quorum_num, 1);
	assert_int_equal(c.mass_quorum_den, 2);
	assert_int_equal(c.residents_quorum_num, 1);
	assert_int_equal(c.residents_quorum_den, 2);
	assert_int_equal(c.mass_elect_num, 1);
	assert_int_equal(c.mass_elect_den, 2);
	assert_int_equal(c.runoff_min_num, 1);
	assert_int_equal(c.runoff_min_den, 3);
	assert_int_equal(c.party_elect_num, 1);
	assert_int_equal(c.party_elect_den, 2);
	assert_int_equal(c.party_candidate_margin_percent, 20);
	assert_int_equal(c.villagers_size_min, 3);
	assert_int_equal(c.villagers_size_max, 7);
	assert_int_equal(c.residents_size_min, 5);
	assert_int_equal(c.residents_size_max, 9);
}

static void
test_reason_and_warning_names(void **state)
{
	(void)state;
	assert_string_equal(tf_reason_name(R(NONE)), "NONE");
	assert_string_equal(tf_reason_name(R(BALLOT_SUM)), "BALLOT_SUM");
	assert_string_equal(tf_reason_name(R(ELECTED_MISMATCH)), "ELECTED_MISMATCH");
	assert_string_equal(tf_reason_name(R(BAD_PHOTO_HASH)), "BAD_PHOTO_HASH");
	assert_string_equal(tf_reason_name(R(RUNOFF_WITHOUT_ROUND1)), "RUNOFF_WITHOUT_ROUND1");
	assert_string_equal(tf_reason_name(R(RUNOFF_SEATS)), "RUNOFF_SEATS");
	assert_string_equal(tf_reason_name(R(COUNT_TOO_LARGE)), "COUNT_TOO_LARGE");
	assert_string_equal(tf_reason_name(999), "UNKNOWN");
	assert_string_equal(tf_reason_name(-1), "UNKNOWN");
	assert_string_equal(tf_warning_name(0), "invalid_election");
	assert_string_equal(tf_warning_name(1), "no_woman");
	assert_string_equal(tf_warning_name(2), "size");
	assert_string_equal(tf_warning_name(3), "full_turnout");
	assert_string_equal(tf_warning_name(4), "seats_unfilled");
	assert_string_equal(tf_warning_name(5), "candidate_margin");
	assert_string_equal(tf_warning_name(6), "photo_reused");
	assert_string_equal(tf_warning_name(7), "identical_figures");
	assert_int_equal(TF_WARN_COUNT, 8);
	/* The bits are stored by name, but keep them where they were. */
	assert_int_equal(1 << 0, TF_WARN_INVALID_ELECTION);
	assert_int_equal(1 << 1, TF_WARN_NO_WOMAN);
	assert_int_equal(1 << 2, TF_WARN_SIZE);
	assert_int_equal(1 << 3, TF_WARN_FULL_TURNOUT);
	assert_int_equal(1 << 4, TF_WARN_SEATS_UNFILLED);
	assert_int_equal(1 << 5, TF_WARN_CANDIDATE_MARGIN);
	assert_int_equal(1 << 6, TF_WARN_PHOTO_REUSED);
	assert_int_equal(1 << 7, TF_WARN_IDENTICAL_FIGURES);
}

/* The examples shipped in deploy/examples/ pass the collector's rules, as
 * deploy/examples/README.md promises, from their own township. */
static void
test_shipped_examples_accepted(void **state)
{
	static const char *files[] = { "villagers.json", "residents.json", "party_branch.json" };

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[512], err[512] = "";
		const tf_area_t *unit;
		tf_report_t *r;
		tf_check_t out;

		snprintf(path, sizeof path, "%s/deploy/examples/%s", TF_SOURCE_DIR, files[i]);
		r = tf_report_from_file(path, err, sizeof err);
		if (r == NULL)
			fail_msg("%s", err);
		unit = tf_registry_find(s_registry, TF_LEVEL_UNIT, r->unit_code);
		assert_non_null(unit);
		if (s_check(&s_config, r, s_registry, unit->parent, &out) != 0) {
			tf_report_destroy(&r);
			fail_msg("%s rejected: %s: %s", files[i], tf_reason_name(out.reason), out.detail);
		}
		assert_true(out.election_valid);
		tf_report_destroy(&r);
	}
}

/* ---- E checks: each met at its edge, and broken ---- */

static void
test_missing_field(void **state)
{
	tf_report_t *r = *state;

	s_set(&r->unit_code, "");
	assert_rejected(r, R(MISSING_FIELD));
	s_set(&r->unit_code, UNIT);

	r->committee = TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED;
	assert_rejected(r, R(MISSING_FIELD));
	r->committee = (Tallyfeed__Committee)4;
	assert_rejected(r, R(MISSING_FIELD));
	r->committee = VILLAGERS;

	r->ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_UNSPECIFIED;
	assert_rejected(r, R(MISSING_FIELD));
	r->ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION;
	assert_ok(r);

	s_set(&s_cand(r, "h2")->candidate_id, "");
	assert_rejected(r, R(MISSING_FIELD));
	s_set(&r->candidates[1]->candidate_id, "h2");
	s_set(&s_cand(r, "h2")->name, "");
	assert_rejected(r, R(MISSING_FIELD));
	s_set(&s_cand(r, "h2")->name, "李");
	assert_ok(r);

	r->registered = 0;
	assert_rejected(r, R(MISSING_FIELD));
	r->registered = 1000;

	/* excused is a Party branch figure */
	r->excused = 1;
	assert_rejected(r, R(MISSING_FIELD));
	r->excused = 0;

	s_clear_candidates(r);
	assert_rejected(r, R(MISSING_FIELD));
}

static void
test_bad_round(void **state)
{
	tf_report_t *r = *state;

	r->round = 0;
	assert_rejected(r, R(BAD_ROUND));
	r->round = 10;
	assert_rejected(r, R(BAD_ROUND));
	r->round = 9;                         /* a re-election: same rule as round 1 */
	assert_ok(r);
	r->round = 3;
	assert_ok(r);
	r->round = 1;
	r->revision = 0;
	assert_rejected(r, R(BAD_ROUND));
	r->revision = 1000001;
	assert_rejected(r, R(BAD_ROUND));
	r->revision = 1000000;
	assert_ok(r);
}

static void
test_bad_date(void **state)
{
	static const char *good[] = {
		"2017-11-18", "1990-01-01", "2100-12-31", "2016-02-29", "2000-02-29", "2017-02-28",
		"2017-04-30", "2017-12-31", ""
	};
	static const char *bad[] = {
		"2017-02-29", "2100-02-29", "1900-02-29", "2017-02-30", "2017-04-31", "2017-13-01",
		"2017-00-10", "2017-11-00", "2017-11-32", "1989-12-31", "2101-01-01", "17-11-18",
		"2017/11/18", "2017-11-8", "2017-11-188", "20171118", "2017-11-18 ", " 2017-11-18",
		"2017-11-18T08:00", "2017-1-018", "２０17-11-18",
		/* sscanf's %d takes a sign or leading blank: these must not pass as dates */
		"2017-+1-01", "2017- 1-01", "2017-01-+1", "2017-01- 1",
	};
	tf_report_t *r = *state;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		tf_check_t out;
		s_set(&r->held_on, good[i]);
		if (s_check(&s_config, r, s_registry, TOWNSHIP, &out) != 0)
			fail_msg("held_on \"%s\" refused: %s", good[i], out.detail);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tf_check_t out;
		s_set(&r->held_on, bad[i]);
		if (s_check(&s_config, r, s_registry, TOWNSHIP, &out) != -1
		    || out.reason != R(BAD_DATE))
			fail_msg("held_on \"%s\": got %s, expected BAD_DATE", bad[i],
			         tf_reason_name(out.reason));
	}
}

static void
test_bad_photo_hash(void **state)
{
	tf_report_t *r = *state;

	s_set_hash(r, 31);
	assert_rejected(r, R(BAD_PHOTO_HASH));
	s_set_hash(r, 33);
	assert_rejected(r, R(BAD_PHOTO_HASH));
	s_set_hash(r, 64);                    /* the hex digits sent as bytes */
	assert_rejected(r, R(BAD_PHOTO_HASH));
	s_set_hash(r, 1);
	assert_rejected(r, R(BAD_PHOTO_HASH));
	s_set_hash(r, 0);                     /* no photo yet: allowed */
	assert_ok(r);
	s_set_hash(r, 32);
	assert_ok(r);
}

static void
test_field_too_long(void **state)
{
	tf_report_t *r = *state;
	char name[80] = "", id[40];

	/* Names: 64 bytes of UTF-8 at most (21 CJK characters + 1 byte = 64). */
	for (int i = 0; i < 21; i++)
		strcat(name, "卓");
	strcat(name, "a");
	s_set(&s_cand(r, "m4")->name, name);
	assert_ok(r);
	strcat(name, "b");
	s_set(&s_cand(r, "m4")->name, name);
	assert_rejected(r, R(FIELD_TOO_LONG));
	/* Not UTF-8: a GBK name, an overlong, a surrogate, a cut character. */
	s_set(&s_cand(r, "m4")->name, "\xd4\xfa\xce\xf7");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&s_cand(r, "m4")->name, "a\xc0\xaf");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&s_cand(r, "m4")->name, "\xed\xa0\x80");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&s_cand(r, "m4")->name, "扎\xe8\xa5");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&s_cand(r, "m4")->name, "扎\x01西");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&s_cand(r, "m4")->name, "བཀྲ་ཤིས་");
	assert_ok(r);

	/* Candidate ids: printable ASCII, 32 bytes at most. */
	memset(id, 'x', 32);
	id[32] = '\0';
	s_set(&s_cand(r, "m4")->candidate_id, id);
	assert_ok(r);
	strcat(id, "y");
	s_set(&r->candidates[7]->candidate_id, id);
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&r->candidates[7]->candidate_id, "候选4");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&r->candidates[7]->candidate_id, "m4");

	/* Ethnicity: 32 bytes at most (10 CJK = 30 fine, 11 = 33 not). */
	s_set(&s_cand(r, "m1")->ethnicity, "一二三四五六七八九十");
	assert_ok(r);
	s_set(&s_cand(r, "m1")->ethnicity, "一二三四五六七八九十族");
	assert_rejected(r, R(FIELD_TOO_LONG));
	s_set(&s_cand(r, "m1")->ethnicity, "汉族");

	/* The unit code: 13 characters is too long. */
	s_set(&r->unit_code, UNIT "0");
	assert_rejected(r, R(FIELD_TOO_LONG));
}

static void
test_too_many_candidates(void **state)
{
	tf_report_t *r = *state;
	char id[16];

	/* Up to 200 fill with members who got no votes. */
	for (int i = 9; i <= 200; i++) {
		snprintf(id, sizeof id, "x%d", i);
		s_add(r, id, "某", MEMBER, 0, TALLYFEED__GENDER__GENDER_MALE, false);
	}
	assert_int_equal(r->n_candidates, 200);
	assert_ok(r);
	s_add(r, "x201", "某", MEMBER, 0, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_rejected(r, R(TOO_MANY_CANDIDATES));
}

static void
test_duplicate_candidate(void **state)
{
	tf_report_t *r = *state;

	s_set(&s_cand(r, "m4")->candidate_id, "H1");     /* ids are case-sensitive */
	assert_ok(r);
	s_set(&s_cand(r, "H1")->candidate_id, "h1");
	assert_rejected(r, R(DUPLICATE_CANDIDATE));
	/* Same name, different id: two people of one name is normal. */
	s_set(&r->candidates[7]->candidate_id, "m4");
	s_set(&s_cand(r, "m4")->name, "马德福");
	assert_ok(r);
}

static void
test_bad_seats(void **state)
{
	tf_report_t *r = *state;

	/* A candidate for a position that has no seats. */
	s_set_seats(r, 1, 0, 3);
	assert_rejected(r, R(BAD_SEATS));
	s_set_seats(r, 0, 0, 0);
	assert_rejected(r, R(BAD_SEATS));
	s_set_seats(r, 1, 1, 3);
	assert_ok(r);
	r->seats[2]->count = 0;
	assert_rejected(r, R(BAD_SEATS));
	r->seats[2]->count = 101;
	assert_rejected(r, R(BAD_SEATS));
	r->seats[2]->count = 100;             /* the ceiling itself is allowed */
	assert_ok(r);
	r->seats[2]->count = 3;
	r->seats[1]->position = MEMBER;       /* member given twice, deputy not at all */
	assert_rejected(r, R(BAD_SEATS));
	r->seats[1]->position = TALLYFEED__POSITION__POSITION_UNSPECIFIED;
	assert_rejected(r, R(BAD_SEATS));
	r->seats[1]->position = (Tallyfeed__Position)4;   /* not a position at all */
	assert_rejected(r, R(MISSING_FIELD));
	r->seats[1]->position = DEPUTY;
	assert_ok(r);
	/* A candidate standing for no position. */
	s_cand(r, "m4")->position = TALLYFEED__POSITION__POSITION_UNSPECIFIED;
	assert_rejected(r, R(BAD_SEATS));
}

static void
test_unknown_unit(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	assert_null(tf_registry_find(s_registry, TF_LEVEL_UNIT, "630121101299"));
	s_set(&r->unit_code, "630121101299");
	assert_rejected(r, R(UNKNOWN_UNIT));
	/* Without a registry nobody can tell. */
	s_accepted(r, NULL, NULL, &out, __LINE__);
	/* A unit of another province. */
	s_set(&r->unit_code, "640121101201");
	assert_rejected(r, R(UNKNOWN_UNIT));
	/* Not a code at all. */
	s_set(&r->unit_code, "63012110120");
	assert_rejected(r, R(UNKNOWN_UNIT));
	s_rejected(r, NULL, NULL, R(UNKNOWN_UNIT), __LINE__);
	s_set(&r->unit_code, "63012110120x");
	assert_rejected(r, R(UNKNOWN_UNIT));
	s_set(&r->unit_code, "6301211012 1");
	assert_rejected(r, R(UNKNOWN_UNIT));
}

static void
test_unit_type_unknown(void **state)
{
	static const char *codes[] = { "630121101000", "630121101600", "630121101650",
	                               "630121101999" };
	tf_report_t *r = *state;

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		s_set(&r->unit_code, codes[i]);
		assert_rejected(r, R(UNIT_TYPE_UNKNOWN));
		s_rejected(r, NULL, NULL, R(UNIT_TYPE_UNKNOWN), __LINE__);
		r->committee = PARTY;             /* whatever the committee */
		s_make_party(r);
		assert_rejected(r, R(UNIT_TYPE_UNKNOWN));
		tf_report_destroy(&r);
		r = *state = s_sound_report();
	}
}

/* The first unit of that kind in the registry, from its own township. */
static const tf_area_t *
s_unit_of_kind(tf_unit_kind_t kind)
{
	for (size_t i = 0; i < tf_registry_size(s_registry, TF_LEVEL_UNIT); i++) {
		const tf_area_t *a = tf_registry_at(s_registry, TF_LEVEL_UNIT, i);
		if (tf_unit_kind_of(a->code) == kind)
			return a;
	}
	fail_msg("no unit of kind %s", tf_unit_kind_name(kind));
	return NULL;
}

static void
test_committee_mismatch(void **state)
{
	static const struct {
		tf_unit_kind_t kind;
		bool villagers, residents;        /* which mass committee it has */
	} kinds[] = {
		{ TF_UNIT_RESIDENTS, false, true },
		{ TF_UNIT_VILLAGERS, true, false },
		{ TF_UNIT_COMMUNITY_LIKE, false, true },
		{ TF_UNIT_VILLAGE_LIKE, true, false },
	};
	tf_report_t *r = *state;
	tf_check_t out;

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		const tf_area_t *unit = s_unit_of_kind(kinds[k].kind);

		s_set(&r->unit_code, unit->code);
		r->committee = VILLAGERS;
		if (kinds[k].villagers)
			s_accepted(r, s_registry, unit->parent, &out, __LINE__);
		else
			s_rejected(r, s_registry, unit->parent, R(COMMITTEE_MISMATCH), __LINE__);
		r->committee = RESIDENTS;
		if (kinds[k].residents)
			s_accepted(r, s_registry, unit->parent, &out, __LINE__);
		else
			s_rejected(r, s_registry, unit->parent, R(COMMITTEE_MISMATCH), __LINE__);
		/* Without the registry the code alone tells. */
		r->committee = kinds[k].villagers ? RESIDENTS : VILLAGERS;
		s_rejected(r, NULL, NULL, R(COMMITTEE_MISMATCH), __LINE__);
		/* Every kind of unit has a Party branch. */
		s_make_party(r);
		s_accepted(r, s_registry, unit->parent, &out, __LINE__);
		tf_report_destroy(&r);
		r = *state = s_sound_report();
	}
}

static void
test_outside_township(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	s_rejected(r, s_registry, OTHER_TOWNSHIP, R(OUTSIDE_TOWNSHIP), __LINE__);
	s_rejected(r, s_registry, "630121000000", R(OUTSIDE_TOWNSHIP), __LINE__);  /* the county */
	s_rejected(r, s_registry, "", R(OUTSIDE_TOWNSHIP), __LINE__);
	s_accepted(r, s_registry, TOWNSHIP, &out, __LINE__);
	s_accepted(r, s_registry, NULL, &out, __LINE__);
	/* A unit of the same township, another committee type. */
	s_set(&r->unit_code, RESIDENTS_UNIT);
	r->committee = RESIDENTS;
	s_accepted(r, s_registry, TOWNSHIP, &out, __LINE__);
	s_rejected(r, s_registry, OTHER_TOWNSHIP, R(OUTSIDE_TOWNSHIP), __LINE__);
}

static void
test_ballot_sum(void **state)
{
	tf_report_t *r = *state;

	r->ballots_valid = 791;               /* 791 + 10 = 801 != 800 */
	assert_rejected(r, R(BALLOT_SUM));
	r->ballots_valid = 789;
	assert_rejected(r, R(BALLOT_SUM));
	r->ballots_valid = 790;
	r->ballots_invalid = 0;
	assert_rejected(r, R(BALLOT_SUM));
	r->ballots_invalid = 10;
	assert_ok(r);
	/* A sum that would wrap in 32 bits stops at the ceiling first. */
	r->ballots_valid = 0xffffffffu;
	r->ballots_invalid = 801;             /* (2^32 - 1) + 801 wraps to 800 */
	assert_rejected(r, R(COUNT_TOO_LARGE));
}

static void
test_returned_over_issued(void **state)
{
	tf_report_t *r = *state;

	r->ballots_issued = 799;
	assert_rejected(r, R(RETURNED_OVER_ISSUED));
	r->ballots_issued = 800;
	assert_ok(r);
}

static void
test_turnout_over_registered(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	r->registered = 799;
	assert_rejected(r, R(TURNOUT_OVER_REGISTERED));
	r->registered = 800;
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_FULL_TURNOUT);

	/* Party branch: those present against those who should attend,
	 * excused members removed: 45 - 3 = 42. */
	s_make_party(r);
	r->took_part = 43;
	r->ballots_issued = r->ballots_returned = r->ballots_valid = 43;
	assert_rejected(r, R(TURNOUT_OVER_REGISTERED));
	r->took_part = 42;
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_FULL_TURNOUT);
	r->excused = 4;                       /* 41 should attend now */
	assert_rejected(r, R(TURNOUT_OVER_REGISTERED));
	r->excused = 45;                      /* nobody left to attend */
	assert_rejected(r, R(TURNOUT_OVER_REGISTERED));
	r->took_part = 0;                     /* ...even when nobody came */
	r->ballots_issued = r->ballots_returned = r->ballots_valid = 0;
	for (size_t i = 0; i < r->n_candidates; i++) {
		r->candidates[i]->votes_for = 0;
		s_set_elected(r->candidates[i], false);
	}
	assert_rejected(r, R(TURNOUT_OVER_REGISTERED));
	r->took_part = 43;
	r->ballots_issued = r->ballots_returned = r->ballots_valid = 43;
	r->excused = 46;
	assert_rejected(r, R(TURNOUT_OVER_REGISTERED));
}

static void
test_votes_over_valid(void **state)
{
	tf_report_t *r = *state;

	s_cand(r, "m1")->votes_for = 791;
	assert_rejected(r, R(VOTES_OVER_VALID));
	s_cand(r, "m1")->votes_for = 790;
	assert_ok(r);
	/* Against and abstain are marks on the same valid ballots. */
	s_cand(r, "h1")->votes_against = 150;
	s_cand(r, "h1")->votes_abstain = 41;  /* 600 + 150 + 41 = 791 */
	assert_rejected(r, R(VOTES_OVER_VALID));
	s_cand(r, "h1")->votes_abstain = 40;
	assert_ok(r);
	/* Marks that would wrap in 32 bits stop at the ceiling first. */
	s_cand(r, "h1")->votes_against = 0xffffffffu;
	s_cand(r, "h1")->votes_abstain = 0xffffffffu;
	assert_rejected(r, R(COUNT_TOO_LARGE));
}

static void
test_position_votes_over(void **state)
{
	tf_report_t *r = *state;

	/* Member: 790 valid x 3 seats = 2370. */
	s_cand(r, "m1")->votes_for = 790;
	s_cand(r, "m2")->votes_for = 790;
	s_cand(r, "m3")->votes_for = 790;
	s_cand(r, "m4")->votes_for = 1;
	assert_rejected(r, R(POSITION_VOTES_OVER));
	s_cand(r, "m4")->votes_for = 0;
	assert_ok(r);
	/* Head: 1 seat, 790 valid; 600 + 191 = 791. */
	s_cand(r, "h2")->votes_for = 191;
	assert_rejected(r, R(POSITION_VOTES_OVER));
	s_cand(r, "h2")->votes_for = 190;
	assert_ok(r);
}

static void
test_proxy_in_party(void **state)
{
	tf_report_t *r = *state;

	assert_true(r->proxy_votes > 0);      /* villagers may vote by proxy */
	assert_ok(r);
	s_make_party(r);
	assert_ok(r);
	r->proxy_votes = 1;
	assert_rejected(r, R(PROXY_IN_PARTY));
}

static void
test_elected_mismatch(void **state)
{
	tf_report_t *r = *state;

	s_set_elected(s_cand(r, "h2"), true);  /* 150 of 800 */
	assert_rejected(r, R(ELECTED_MISMATCH));
	s_set_elected(s_cand(r, "h2"), false);
	s_set_elected(s_cand(r, "m3"), false); /* 450 of 800 */
	assert_rejected(r, R(ELECTED_MISMATCH));
	s_set_elected(s_cand(r, "m3"), true);
	assert_ok(r);
	/* The position won is the position stood for. */
	s_cand(r, "d1")->position_won = MEMBER;
	assert_rejected(r, R(ELECTED_MISMATCH));
	s_cand(r, "d1")->position_won = TALLYFEED__POSITION__POSITION_UNSPECIFIED;
	assert_rejected(r, R(ELECTED_MISMATCH));
	s_cand(r, "d1")->position_won = DEPUTY;
	assert_ok(r);
	/* Not elected, but a position won. */
	s_cand(r, "d2")->position_won = DEPUTY;
	assert_rejected(r, R(ELECTED_MISMATCH));
}

/* ---- thresholds of the law ---- */

/* Villagers: valid only when took_part > registered / 2. */
static void
test_villagers_turnout_threshold(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	s_race(r, VILLAGERS, 1, 1000, 0, 500, 500, 1);   /* exactly half */
	s_add(r, "a", "甲", MEMBER, 500, TALLYFEED__GENDER__GENDER_FEMALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	assert_true(out.warnings & TF_WARN_INVALID_ELECTION);
	assert_int_equal(out.seats_filled, 0);
	/* Unanimous, and still nobody may be elected. */
	assert_not_elects(r, 0);

	s_race(r, VILLAGERS, 1, 1000, 0, 499, 499, 1);   /* just under */
	s_add(r, "a", "甲", MEMBER, 499, TALLYFEED__GENDER__GENDER_FEMALE, false);
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_INVALID_ELECTION);
	assert_not_elects(r, 0);

	s_race(r, VILLAGERS, 1, 1000, 0, 501, 501, 1);   /* just over */
	s_add(r, "a", "甲", MEMBER, 501, TALLYFEED__GENDER__GENDER_FEMALE, true);
	assert_accepted(r, &out);
	assert_true(out.election_valid);
	assert_false(out.warnings & TF_WARN_INVALID_ELECTION);
	assert_elects(r, 0);

	/* Odd electorate: 1001 registered, half is 500.5. */
	s_race(r, VILLAGERS, 1, 1001, 0, 501, 501, 1);
	s_add(r, "a", "甲", MEMBER, 400, TALLYFEED__GENDER__GENDER_FEMALE, true);
	assert_accepted(r, &out);
	assert_true(out.election_valid);
	s_race(r, VILLAGERS, 1, 1001, 0, 500, 500, 1);
	s_add(r, "a", "甲", MEMBER, 400, TALLYFEED__GENDER__GENDER_FEMALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	assert_not_elects(r, 0);
}

/* An invalid election is flagged, nothing else: no unfilled seats, no
 * composition flags, for a result with no one elected. */
static void
test_invalid_election_flags_only_invalid(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	r->took_part = 500;                   /* 1000 registered */
	r->ballots_issued = 500;
	r->ballots_returned = 500;
	r->ballots_valid = 495;
	r->ballots_invalid = 5;
	s_cand(r, "h1")->votes_for = 300;
	s_cand(r, "h2")->votes_for = 150;
	s_cand(r, "d1")->votes_for = 300;
	s_cand(r, "d2")->votes_for = 150;
	s_cand(r, "m1")->votes_for = 300;
	s_cand(r, "m2")->votes_for = 300;
	s_cand(r, "m3")->votes_for = 300;
	s_cand(r, "m4")->votes_for = 150;
	for (size_t i = 0; i < r->n_candidates; i++)
		s_set_elected(r->candidates[i], false);
	assert_accepted(r, &out);
	assert_int_equal(out.warnings, TF_WARN_INVALID_ELECTION);
	assert_false(out.election_valid);
	assert_int_equal(out.seats_total, 5);
	assert_int_equal(out.seats_filled, 0);
}

/* Villagers, round 1: elected with votes > took_part / 2. */
static void
test_villagers_majority_threshold(void **state)
{
	tf_report_t *r = *state;

	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 3);
	s_add(r, "a", "甲", MEMBER, 401, TALLYFEED__GENDER__GENDER_FEMALE, true);  /* just over */
	s_add(r, "b", "乙", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, false);   /* exactly half */
	s_add(r, "c", "丙", MEMBER, 399, TALLYFEED__GENDER__GENDER_MALE, false);   /* just under */
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	assert_not_elects(r, 2);

	/* Half of an odd number: 801 took part, 400.5 is half. */
	s_race(r, VILLAGERS, 1, 1000, 0, 801, 801, 3);
	s_add(r, "a", "甲", MEMBER, 401, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
	assert_not_elects(r, 1);

	/* The base is those who took part, not the valid ballots: 800 took
	 * part, only 700 valid; 351 is a majority of the valid, not of 800. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 3);
	r->ballots_valid = 700;
	r->ballots_invalid = 100;
	s_add(r, "a", "甲", MEMBER, 351, TALLYFEED__GENDER__GENDER_FEMALE, false);
	assert_not_elects(r, 0);
}

/* Villagers' runoff (round 2): most votes, at least 1/3 of ballots returned. */
static void
test_runoff_one_third_threshold(void **state)
{
	tf_report_t *r = *state;

	s_race(r, VILLAGERS, 2, 1000, 0, 900, 900, 3);
	s_add(r, "a", "甲", MEMBER, 301, TALLYFEED__GENDER__GENDER_FEMALE, true);  /* just over */
	s_add(r, "b", "乙", MEMBER, 300, TALLYFEED__GENDER__GENDER_MALE, true);    /* exactly 1/3 */
	s_add(r, "c", "丙", MEMBER, 299, TALLYFEED__GENDER__GENDER_MALE, false);   /* one less */
	assert_elects(r, 0);
	assert_elects(r, 1);
	assert_not_elects(r, 2);

	/* The same votes in round 1 need > 450... */
	r->round = 1;
	s_set_elected(s_cand(r, "a"), false);
	s_set_elected(s_cand(r, "b"), false);
	assert_not_elects(r, 0);
	assert_not_elects(r, 1);
	/* ...and so they do in a re-election (round 3). */
	r->round = 3;
	assert_not_elects(r, 0);
	assert_not_elects(r, 1);

	/* 901 returned: a third is 300.33, so 300 fails and 301 passes. */
	s_race(r, VILLAGERS, 2, 1000, 0, 901, 901, 3);
	s_add(r, "a", "甲", MEMBER, 301, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 300, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
	assert_not_elects(r, 1);
}

/* The runoff's base is ballots returned, not those who took part. */
static void
test_runoff_base_is_ballots_returned(void **state)
{
	tf_report_t *r = *state;

	s_race(r, VILLAGERS, 2, 1000, 0, 990, 900, 1);   /* 990 took part, 900 returned */
	s_add(r, "a", "甲", MEMBER, 300, TALLYFEED__GENDER__GENDER_FEMALE, true);   /* 300 < 330 */
	assert_elects(r, 0);
	s_cand(r, "a")->votes_for = 299;
	assert_not_elects(r, 0);
}

/* Ballots cast (DOMAIN.md; art. 15's 已投选票数) are every paper returned,
 * invalid ones too, not only the valid: exactly a third of 900 returned
 * passes, one vote less fails, though it is over a third of 870 valid. */
static void
test_runoff_base_counts_invalid_ballots(void **state)
{
	tf_report_t *r = *state;

	s_race(r, VILLAGERS, 2, 1000, 0, 900, 900, 1);
	r->ballots_valid = 870;
	r->ballots_invalid = 30;
	s_add(r, "a", "甲", MEMBER, 300, TALLYFEED__GENDER__GENDER_FEMALE, true);   /* 300 = 900/3 */
	assert_elects(r, 0);
	s_cand(r, "a")->votes_for = 299;                                             /* > 870/3 */
	assert_not_elects(r, 0);
}

static void
test_runoff_most_votes_win(void **state)
{
	tf_report_t *r = *state;

	s_race(r, VILLAGERS, 2, 1000, 0, 900, 900, 1);
	s_add(r, "a", "甲", MEMBER, 420, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 380, TALLYFEED__GENDER__GENDER_MALE, false);   /* passes 1/3, loses */
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	/* A tie for the one seat elects neither. */
	s_cand(r, "b")->votes_for = 420;
	s_set_elected(s_cand(r, "a"), false);
	assert_not_elects(r, 0);
	assert_not_elects(r, 1);
}

/* Residents' committees follow the villagers' rules by default. */
static void
test_residents_thresholds(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	s_set(&r->unit_code, RESIDENTS_UNIT);
	s_race(r, RESIDENTS, 1, 1000, 0, 500, 500, 5);
	s_add(r, "a", "甲", MEMBER, 500, TALLYFEED__GENDER__GENDER_FEMALE, false);
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_INVALID_ELECTION);
	assert_not_elects(r, 0);
	s_race(r, RESIDENTS, 1, 1000, 0, 800, 800, 5);
	s_add(r, "a", "甲", MEMBER, 401, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	s_race(r, RESIDENTS, 2, 1000, 0, 900, 900, 2);
	s_add(r, "a", "甲", MEMBER, 300, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 299, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
	assert_not_elects(r, 1);
}

/* Party branch: valid when took_part > 4/5 of (registered - excused). */
static void
test_party_attendance_threshold(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	/* 50 should attend, 5 excused: 45; 4/5 of 45 = 36. */
	s_race(r, PARTY, 1, 50, 5, 36, 36, 1);           /* exactly 4/5 */
	s_add(r, "a", "甲", MEMBER, 36, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	assert_true(out.warnings & TF_WARN_INVALID_ELECTION);
	assert_not_elects(r, 0);

	s_race(r, PARTY, 1, 50, 5, 35, 35, 1);           /* just under */
	s_add(r, "a", "甲", MEMBER, 35, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	assert_not_elects(r, 0);

	s_race(r, PARTY, 1, 50, 5, 37, 37, 1);           /* just over */
	s_add(r, "a", "甲", MEMBER, 37, TALLYFEED__GENDER__GENDER_MALE, true);
	assert_accepted(r, &out);
	assert_true(out.election_valid);
	assert_false(out.warnings & TF_WARN_INVALID_ELECTION);
	assert_elects(r, 0);

	/* The excused are removed from the base: without them, 37 of 50 is
	 * short of 4/5 (40). */
	s_race(r, PARTY, 1, 50, 0, 37, 37, 1);
	s_add(r, "a", "甲", MEMBER, 37, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	assert_not_elects(r, 0);
	s_race(r, PARTY, 1, 50, 0, 41, 41, 1);
	s_add(r, "a", "甲", MEMBER, 41, TALLYFEED__GENDER__GENDER_MALE, true);
	assert_accepted(r, &out);
	assert_true(out.election_valid);
}

/* Party branch: yes-votes > half of those present; exactly half fails. */
static void
test_party_majority_threshold(void **state)
{
	tf_report_t *r = *state;

	s_race(r, PARTY, 1, 45, 0, 40, 40, 3);
	s_add(r, "a", "甲", MEMBER, 21, TALLYFEED__GENDER__GENDER_MALE, true);    /* just over */
	s_add(r, "b", "乙", MEMBER, 20, TALLYFEED__GENDER__GENDER_MALE, false);   /* exactly half */
	s_add(r, "c", "丙", MEMBER, 19, TALLYFEED__GENDER__GENDER_MALE, false);   /* just under */
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	assert_not_elects(r, 2);
	/* A Party branch's second round is no runoff with a 1/3 rule. */
	r->round = 2;
	s_cand(r, "c")->votes_for = 14;       /* >= 40 / 3, but not > 20 */
	assert_elects(r, 0);
	assert_not_elects(r, 2);
	/* The base is those present (41), not the valid ballots. */
	s_race(r, PARTY, 1, 45, 0, 41, 41, 3);
	r->ballots_valid = 39;
	r->ballots_invalid = 2;
	s_add(r, "a", "甲", MEMBER, 21, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "b", "乙", MEMBER, 20, TALLYFEED__GENDER__GENDER_MALE, false);   /* > 39/2, not > 41/2 */
	assert_elects(r, 0);
	assert_not_elects(r, 1);
}

/* The Party attendance ratio is configuration. */
static void
test_party_attendance_configurable(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	s_config.party_attendance_num = 2;
	s_config.party_attendance_den = 3;
	s_race(r, PARTY, 1, 45, 0, 30, 30, 1);           /* exactly 2/3 */
	s_add(r, "a", "甲", MEMBER, 30, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	s_race(r, PARTY, 1, 45, 0, 31, 31, 1);
	s_add(r, "a", "甲", MEMBER, 31, TALLYFEED__GENDER__GENDER_MALE, true);
	assert_accepted(r, &out);
	assert_true(out.election_valid);
	/* Under the default 4/5 the same is short. */
	tf_rules_config_default(&s_config);
	assert_rejected(r, R(ELECTED_MISMATCH));
}

/* A tie at the last seat elects neither of the tied. */
static void
test_tie_at_last_seat(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	/* Two seats, 800 took part: three pass (> 400); 600 takes the first
	 * seat, the two 450s tie for the second. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 2);
	s_add(r, "a", "甲", MEMBER, 600, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 450, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "c", "丙", MEMBER, 450, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "d", "丁", MEMBER, 100, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	assert_not_elects(r, 2);
	assert_not_elects(r, 3);
	assert_accepted(r, &out);
	assert_int_equal(out.seats_filled, 1);
	assert_true(out.warnings & TF_WARN_SEATS_UNFILLED);

	/* (Two tied for a single seat cannot both pass a majority; that tie
	 * is a runoff's, see test_runoff_most_votes_win.) */

	/* A tie that is not at the last seat elects both. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 3);
	s_add(r, "a", "甲", MEMBER, 600, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 500, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "c", "丙", MEMBER, 500, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "d", "丁", MEMBER, 200, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 1);
	assert_elects(r, 2);
	assert_accepted(r, &out);
	assert_int_equal(out.seats_filled, 3);
	assert_false(out.warnings & TF_WARN_SEATS_UNFILLED);

	/* Tied below the threshold: irrelevant, nobody passes. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 1);
	s_add(r, "a", "甲", MEMBER, 600, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 100, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "c", "丙", MEMBER, 100, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
}

/* More candidates pass than there are seats: the most votes win. */
static void
test_more_passing_than_seats(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	/* Two seats, 800 took part, three pass (> 400), listed out of order. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 2);
	s_add(r, "c", "丙", MEMBER, 410, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "a", "甲", MEMBER, 600, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 500, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "d", "丁", MEMBER, 90, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_not_elects(r, 0);
	assert_elects(r, 1);
	assert_elects(r, 2);
	assert_not_elects(r, 3);
	assert_accepted(r, &out);
	assert_int_equal(out.seats_filled, 2);
	assert_false(out.warnings & TF_WARN_SEATS_UNFILLED);

	/* In a runoff many can pass one third: 900 returned, two seats. */
	s_race(r, VILLAGERS, 2, 1000, 0, 900, 900, 2);
	s_add(r, "a", "甲", MEMBER, 500, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 320, TALLYFEED__GENDER__GENDER_MALE, false);
	s_add(r, "c", "丙", MEMBER, 450, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "d", "丁", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	assert_elects(r, 2);
	assert_not_elects(r, 3);

	/* Positions are ranked apart: a head candidate with more votes does
	 * not take a member's seat. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 1);
	s_set_seats(r, 1, 0, 1);
	s_add(r, "h", "甲", HEAD, 700, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "m", "乙", MEMBER, 450, TALLYFEED__GENDER__GENDER_MALE, true);
	assert_elects(r, 0);
	assert_elects(r, 1);
}

/* ---- W flags ---- */

static void
test_warn_no_woman(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	assert_accepted(r, &out);
	assert_false(out.warnings & TF_WARN_NO_WOMAN);
	/* d1 and m2 are the elected women; make them men. */
	s_cand(r, "d1")->gender = TALLYFEED__GENDER__GENDER_MALE;
	assert_accepted(r, &out);
	assert_false(out.warnings & TF_WARN_NO_WOMAN);
	s_cand(r, "m2")->gender = TALLYFEED__GENDER__GENDER_MALE;
	assert_accepted(r, &out);
	assert_int_equal(out.warnings, TF_WARN_NO_WOMAN);
	/* A woman who stood and was not elected does not count (d2 is one). */
	assert_int_equal(s_cand(r, "d2")->gender, TALLYFEED__GENDER__GENDER_FEMALE);
	/* Residents' committees too. */
	s_set(&r->unit_code, RESIDENTS_UNIT);
	r->committee = RESIDENTS;
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_NO_WOMAN);
	/* Not for a Party branch. */
	s_make_party(r);
	assert_accepted(r, &out);
	assert_false(out.warnings & TF_WARN_NO_WOMAN);
}

/* Fill `seats` member seats with candidates who all pass; one a woman. */
static void
s_full_committee(tf_report_t *r, Tallyfeed__Committee committee, uint32_t seats)
{
	char id[16];

	s_race(r, committee, 1, 1000, 0, 800, 800, seats);
	for (uint32_t i = 0; i < seats; i++) {
		snprintf(id, sizeof id, "m%u", i);
		s_add(r, id, "某", MEMBER, 500, i == 0 ? TALLYFEED__GENDER__GENDER_FEMALE
		                                         : TALLYFEED__GENDER__GENDER_MALE, true);
	}
}

static void
test_warn_size(void **state)
{
	/* Villagers: 3-7, odd in Qinghai.  Residents: 5-9. */
	static const struct {
		Tallyfeed__Committee committee;
		uint32_t seats;
		bool odd_required, flagged;
	} cases[] = {
		{ VILLAGERS, 1, true, true }, { VILLAGERS, 2, true, true },
		{ VILLAGERS, 3, true, false }, { VILLAGERS, 4, true, true },
		{ VILLAGERS, 5, true, false }, { VILLAGERS, 6, true, true },
		{ VILLAGERS, 7, true, false }, { VILLAGERS, 8, true, true },
		{ VILLAGERS, 9, true, true },
		{ VILLAGERS, 2, false, true }, { VILLAGERS, 4, false, false },
		{ VILLAGERS, 6, false, false }, { VILLAGERS, 8, false, true },
		{ RESIDENTS, 4, true, true }, { RESIDENTS, 5, true, false },
		{ RESIDENTS, 6, true, false }, { RESIDENTS, 8, true, false },
		{ RESIDENTS, 9, true, false }, { RESIDENTS, 10, true, true },
		{ PARTY, 2, true, false }, { PARTY, 12, true, false },
	};
	tf_report_t *r = *state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tf_check_t out;

		s_set(&r->unit_code, cases[i].committee == RESIDENTS ? RESIDENTS_UNIT : UNIT);
		s_config.odd_size_required = cases[i].odd_required;
		s_full_committee(r, cases[i].committee, cases[i].seats);
		if (cases[i].committee == PARTY)
			r->registered = 800;          /* Party: attendance must pass 4/5 */
		assert_accepted(r, &out);
		if (!(out.warnings & TF_WARN_SIZE) != !cases[i].flagged)
			fail_msg("%s committee of %u (odd required: %d): size flag %s",
			         tf_committee_word(cases[i].committee), cases[i].seats,
			         cases[i].odd_required, cases[i].flagged ? "missing" : "raised");
	}
}

static void
test_warn_full_turnout(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	r->registered = 801;
	assert_accepted(r, &out);
	assert_false(out.warnings & TF_WARN_FULL_TURNOUT);
	r->registered = 800;
	assert_accepted(r, &out);
	assert_int_equal(out.warnings, TF_WARN_FULL_TURNOUT);
	/* Party branch: all who should attend, excused removed. */
	s_make_party(r);                      /* 45 - 3 = 42, 40 present */
	assert_accepted(r, &out);
	assert_false(out.warnings & TF_WARN_FULL_TURNOUT);
	r->excused = 5;                       /* 40 should attend, 40 present */
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_FULL_TURNOUT);
}

static void
test_warn_seats_unfilled(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	s_cand(r, "m3")->votes_for = 400;     /* exactly half of 800: not elected */
	s_set_elected(s_cand(r, "m3"), false);
	assert_accepted(r, &out);
	assert_true(out.warnings & TF_WARN_SEATS_UNFILLED);
	assert_int_equal(out.seats_total, 5);
	assert_int_equal(out.seats_filled, 4);
	/* Left for the runoff: the committee is not complete, so its size and
	 * composition are not judged yet. */
	s_cand(r, "d1")->gender = TALLYFEED__GENDER__GENDER_MALE;
	s_cand(r, "m2")->gender = TALLYFEED__GENDER__GENDER_MALE;
	assert_accepted(r, &out);
	assert_int_equal(out.warnings, TF_WARN_SEATS_UNFILLED);
	/* The runoff fills it. */
	s_race(r, VILLAGERS, 2, 1000, 0, 700, 700, 1);
	s_add(r, "m3", "韩永福", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "m5", "马某", MEMBER, 250, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_accepted(r, &out);
	assert_int_equal(out.warnings, 0);
	assert_int_equal(out.seats_filled, 1);
}

/* ---- ceilings and enums: what a careless or hostile encoder sends ---- */

static void
test_count_too_large(void **state)
{
	static const char *fields[] = {
		"registered", "excused", "took_part", "proxy_votes", "ballots_issued",
		"ballots_returned", "ballots_valid", "ballots_invalid"
	};
	static const char *votes[] = { "votes_for", "votes_against", "votes_abstain" };
	tf_report_t *r = *state;
	uint32_t *counts[] = {
		&r->registered, &r->excused, &r->took_part, &r->proxy_votes, &r->ballots_issued,
		&r->ballots_returned, &r->ballots_valid, &r->ballots_invalid
	};
	Tallyfeed__Candidate *m4 = s_cand(r, "m4");
	uint32_t *marks[] = { &m4->votes_for, &m4->votes_against, &m4->votes_abstain };
	tf_check_t out;

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		uint32_t saved = *counts[i];

		*counts[i] = TF_COUNT_MAX + 1;            /* just over */
		assert_rejected_saying(r, R(COUNT_TOO_LARGE), fields[i]);
		*counts[i] = 0xffffffffu;                 /* -1 from a careless encoder */
		assert_rejected_saying(r, R(COUNT_TOO_LARGE), fields[i]);
		*counts[i] = saved;
		assert_ok(r);
	}
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		char needle[64];
		uint32_t saved = *marks[i];

		snprintf(needle, sizeof needle, "candidate m4 %s", votes[i]);
		*marks[i] = TF_COUNT_MAX + 1;
		assert_rejected_saying(r, R(COUNT_TOO_LARGE), needle);
		*marks[i] = 0xfffffffeu;
		assert_rejected_saying(r, R(COUNT_TOO_LARGE), needle);
		*marks[i] = saved;
	}
	assert_ok(r);

	/* Exactly at the ceiling: a million registered, all voting, unanimous. */
	s_race(r, VILLAGERS, 1, TF_COUNT_MAX, 0, TF_COUNT_MAX, TF_COUNT_MAX, 1);
	r->proxy_votes = TF_COUNT_MAX;
	s_add(r, "a", "甲", MEMBER, TF_COUNT_MAX, TALLYFEED__GENDER__GENDER_FEMALE, true);
	assert_accepted(r, &out);
	assert_true(out.election_valid);
	r->registered = TF_COUNT_MAX + 1;             /* one over, and nothing else wrong */
	assert_rejected_saying(r, R(COUNT_TOO_LARGE), "registered is 1000001");
	r->registered = TF_COUNT_MAX;
	r->proxy_votes = TF_COUNT_MAX + 1;
	assert_rejected_saying(r, R(COUNT_TOO_LARGE), "proxy_votes");
}

/* A negative number written into a uint32 field travels as a ten-byte
 * varint; protobuf-c keeps its low 32 bits, and the ceiling stops it. */
static void
test_negative_count_on_the_wire(void **state)
{
	/* field 6 (registered), varint -5 sign-extended to 64 bits */
	static const uint8_t minus5[] = {
		0x30, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
	};
	tf_report_t *r = *state, *back;
	size_t len = tallyfeed__result_report__get_packed_size(r);
	uint8_t *buf = malloc(len + sizeof minus5);
	tf_check_t out;
	int rc;

	assert_non_null(buf);
	assert_int_equal(tallyfeed__result_report__pack(r, buf), len);
	memcpy(buf + len, minus5, sizeof minus5);     /* a later value of a field wins */
	back = tf_report_unpack(buf, len + sizeof minus5);
	free(buf);
	assert_non_null(back);
	assert_int_equal(back->registered, 0xfffffffbu);
	rc = s_check(&s_config, back, s_registry, TOWNSHIP, &out);
	tf_report_destroy(&back);
	assert_int_equal(rc, -1);
	assert_int_equal(out.reason, R(COUNT_TOO_LARGE));
	assert_contains(out.detail, "registered is 4294967291");
}

/* Every enum holds one of its declared values, else MISSING_FIELD saying
 * which value and which field; the last declared value is fine. */
/* Found by the fuzzer: a birth year the database cannot hold, an elected
 * member whose gender is unknown, a date quoted back as raw bytes. */
static void
test_candidate_facts(void **state)
{
	tf_report_t *r = *state;
	Tallyfeed__Candidate *c = NULL;

	for (size_t i = 0; i < r->n_candidates && c == NULL; i++)
		if (r->candidates[i]->elected)
			c = r->candidates[i];
	assert_non_null(c);
	c->birth_year = 40000;
	assert_rejected_saying(r, R(BAD_DATE), "birth year 40000 is not from 1900 to 2100");
	c->birth_year = 1899;
	assert_rejected_saying(r, R(BAD_DATE), "birth year 1899");
	c->birth_year = 1900;
	assert_ok(r);
	c->birth_year = 0;              /* not given */
	assert_ok(r);
	c->gender = TALLYFEED__GENDER__GENDER_UNSPECIFIED;
	assert_rejected_saying(r, R(MISSING_FIELD), "is elected but has no gender");
	c->gender = TALLYFEED__GENDER__GENDER_FEMALE;
	assert_ok(r);
	free(r->held_on);
	r->held_on = strdup("\xff\xfe-01-01");       /* the fixture frees it */
	assert_rejected_saying(r, R(BAD_DATE), "held_on \"?\" is not a date");
}

static void
test_unknown_enum_values(void **state)
{
	tf_report_t *r = *state;

	r->committee = (Tallyfeed__Committee)4;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 4 for committee");
	r->committee = (Tallyfeed__Committee)-1;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value -1 for committee");
	r->committee = TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED;
	assert_rejected_saying(r, R(MISSING_FIELD), "committee is missing");
	r->committee = VILLAGERS;

	r->ballot_mode = (Tallyfeed__BallotMode)3;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 3 for ballot_mode");
	r->ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_UNSPECIFIED;
	assert_rejected_saying(r, R(MISSING_FIELD), "ballot mode is missing");
	r->ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION;
	assert_ok(r);

	r->seats[2]->position = (Tallyfeed__Position)4;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 4 for seats entry 3 position");
	r->seats[2]->position = (Tallyfeed__Position)-2;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value -2 for seats entry 3 position");
	r->seats[2]->position = MEMBER;
	assert_ok(r);

	s_cand(r, "m4")->position = (Tallyfeed__Position)4;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 4 for candidate m4 position");
	s_cand(r, "m4")->position = (Tallyfeed__Position)-1;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value -1 for candidate m4 position");
	s_cand(r, "m4")->position = MEMBER;

	s_cand(r, "m4")->position_won = (Tallyfeed__Position)4;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 4 for candidate m4 position_won");
	s_cand(r, "m4")->position_won = TALLYFEED__POSITION__POSITION_UNSPECIFIED;
	s_cand(r, "h1")->position_won = (Tallyfeed__Position)7;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 7 for candidate h1 position_won");
	s_cand(r, "h1")->position_won = HEAD;
	assert_ok(r);

	s_cand(r, "d2")->gender = (Tallyfeed__Gender)3;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 3 for candidate d2 gender");
	s_cand(r, "d2")->gender = (Tallyfeed__Gender)-1;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value -1 for candidate d2 gender");
	s_cand(r, "d2")->gender = TALLYFEED__GENDER__GENDER_UNSPECIFIED;  /* not elected: may be unsaid */
	assert_ok(r);

	s_cand(r, "m1")->education = (Tallyfeed__Education)7;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value 7 for candidate m1 education");
	s_cand(r, "m1")->education = (Tallyfeed__Education)-7;
	assert_rejected_saying(r, R(MISSING_FIELD), "unknown value -7 for candidate m1 education");
	s_cand(r, "m1")->education = TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE;
	assert_ok(r);
}

/* ---- thresholds as configuration: at, just over, just under ---- */

/* A one-seat race that everyone who took part won unanimously: the
 * candidate is elected exactly when the election is valid. */
static void
s_quorum(tf_report_t *r, Tallyfeed__Committee committee, uint32_t registered,
         uint32_t took_part, bool valid, int line)
{
	tf_check_t out;

	s_set(&r->unit_code, committee == RESIDENTS ? RESIDENTS_UNIT : UNIT);
	s_race(r, committee, 1, registered, 0, took_part, took_part, 1);
	s_add(r, "a", "甲", MEMBER, took_part, TALLYFEED__GENDER__GENDER_FEMALE, valid);
	s_accepted(r, s_registry, TOWNSHIP, &out, line);
	if (out.election_valid != valid || !(out.warnings & TF_WARN_INVALID_ELECTION) != valid) {
		print_error("line %d: %u of %u took part: expected %s election\n", line, took_part,
		            registered, valid ? "a valid" : "an invalid");
		fail();
	}
	s_elects(r, 0, valid, line);
}

#define assert_valid(r, committee, registered, took_part) \
	s_quorum((r), (committee), (registered), (took_part), true, __LINE__)
#define assert_invalid(r, committee, registered, took_part) \
	s_quorum((r), (committee), (registered), (took_part), false, __LINE__)

/* Residents: the villagers' rule by default (more than half registered). */
static void
test_residents_quorum_threshold(void **state)
{
	tf_report_t *r = *state;

	assert_invalid(r, RESIDENTS, 1000, 500);     /* exactly half */
	assert_valid(r, RESIDENTS, 1000, 501);       /* just over */
	assert_invalid(r, RESIDENTS, 1000, 499);     /* just under */
	assert_valid(r, RESIDENTS, 1001, 501);       /* half of 1001 is 500.5 */
	assert_invalid(r, RESIDENTS, 1001, 500);
}

/* A province that wants two thirds of the residents. */
static void
test_residents_quorum_configurable(void **state)
{
	tf_report_t *r = *state;

	s_config.residents_quorum_num = 2;
	s_config.residents_quorum_den = 3;
	assert_invalid(r, RESIDENTS, 999, 666);      /* exactly 2/3 */
	assert_valid(r, RESIDENTS, 999, 667);        /* just over */
	assert_invalid(r, RESIDENTS, 999, 665);      /* just under */
	assert_invalid(r, RESIDENTS, 999, 600);      /* valid under the default... */
	assert_valid(r, VILLAGERS, 999, 600);        /* ...and still for villagers */
	tf_rules_config_default(&s_config);
	assert_valid(r, RESIDENTS, 999, 600);
}

/* The villagers' quorum as configuration; residents keep their own. */
static void
test_mass_quorum_configurable(void **state)
{
	tf_report_t *r = *state;

	s_config.mass_quorum_num = 3;
	s_config.mass_quorum_den = 5;
	assert_invalid(r, VILLAGERS, 1000, 600);     /* exactly 3/5 */
	assert_valid(r, VILLAGERS, 1000, 601);       /* just over */
	assert_invalid(r, VILLAGERS, 1000, 599);     /* just under */
	assert_invalid(r, VILLAGERS, 1000, 550);
	assert_valid(r, RESIDENTS, 1000, 550);       /* residents_quorum is still 1/2 */
	tf_rules_config_default(&s_config);
	assert_valid(r, VILLAGERS, 1000, 550);
}

/* Residents, round 1: elected with votes > half of those who took part. */
static void
test_residents_majority_threshold(void **state)
{
	tf_report_t *r = *state;

	s_set(&r->unit_code, RESIDENTS_UNIT);
	s_race(r, RESIDENTS, 1, 1000, 0, 800, 800, 5);
	s_add(r, "a", "甲", MEMBER, 401, TALLYFEED__GENDER__GENDER_FEMALE, true);  /* just over */
	s_add(r, "b", "乙", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, false);   /* exactly half */
	s_add(r, "c", "丙", MEMBER, 399, TALLYFEED__GENDER__GENDER_MALE, false);   /* just under */
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	assert_not_elects(r, 2);
}

/* The majority of round 1 (and of a re-election) as configuration, for
 * villagers' and residents' committees alike. */
static void
test_mass_elect_configurable(void **state)
{
	tf_report_t *r = *state;

	s_config.mass_elect_num = 2;
	s_config.mass_elect_den = 3;
	for (uint32_t round = 1; round <= 3; round += 2) {
		s_race(r, VILLAGERS, round, 1000, 0, 900, 900, 3);
		s_add(r, "a", "甲", MEMBER, 601, TALLYFEED__GENDER__GENDER_FEMALE, true); /* over */
		s_add(r, "b", "乙", MEMBER, 600, TALLYFEED__GENDER__GENDER_MALE, false);  /* at 2/3 */
		s_add(r, "c", "丙", MEMBER, 599, TALLYFEED__GENDER__GENDER_MALE, false);  /* under */
		assert_elects(r, 0);
		assert_not_elects(r, 1);
		assert_not_elects(r, 2);
	}
	s_set(&r->unit_code, RESIDENTS_UNIT);
	r->committee = RESIDENTS;
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	/* Under the default half, all three pass (> 450). */
	tf_rules_config_default(&s_config);
	s_set_elected(s_cand(r, "b"), true);
	s_set_elected(s_cand(r, "c"), true);
	assert_elects(r, 1);
	assert_elects(r, 2);
}

/* Runoff: at least the configured share of ballots returned. */
static void
test_runoff_min_configurable(void **state)
{
	tf_report_t *r = *state;

	/* Residents by default, like villagers: at least 1/3 of 900 = 300. */
	s_set(&r->unit_code, RESIDENTS_UNIT);
	s_race(r, RESIDENTS, 2, 1000, 0, 900, 900, 3);
	s_add(r, "a", "甲", MEMBER, 301, TALLYFEED__GENDER__GENDER_FEMALE, true);  /* just over */
	s_add(r, "b", "乙", MEMBER, 300, TALLYFEED__GENDER__GENDER_MALE, true);    /* exactly 1/3 */
	s_add(r, "c", "丙", MEMBER, 299, TALLYFEED__GENDER__GENDER_MALE, false);   /* just under */
	assert_elects(r, 0);
	assert_elects(r, 1);
	assert_not_elects(r, 2);

	/* Two fifths: 360 of 900. */
	s_config.runoff_min_num = 2;
	s_config.runoff_min_den = 5;
	s_set(&r->unit_code, UNIT);
	s_race(r, VILLAGERS, 2, 1000, 0, 900, 900, 3);
	s_add(r, "a", "甲", MEMBER, 361, TALLYFEED__GENDER__GENDER_FEMALE, true);  /* just over */
	s_add(r, "b", "乙", MEMBER, 360, TALLYFEED__GENDER__GENDER_MALE, true);    /* exactly 2/5 */
	s_add(r, "c", "丙", MEMBER, 359, TALLYFEED__GENDER__GENDER_MALE, false);   /* just under */
	assert_elects(r, 0);
	assert_elects(r, 1);
	assert_not_elects(r, 2);
	/* Under the default third, 359 passes too. */
	tf_rules_config_default(&s_config);
	s_set_elected(s_cand(r, "c"), true);
	assert_elects(r, 2);
}

/* Party branch: the yes-vote share as configuration; still strictly more. */
static void
test_party_elect_configurable(void **state)
{
	tf_report_t *r = *state;

	s_config.party_elect_num = 2;
	s_config.party_elect_den = 3;
	s_race(r, PARTY, 1, 45, 0, 42, 42, 3);           /* 2/3 of 42 present = 28 */
	s_add(r, "a", "甲", MEMBER, 29, TALLYFEED__GENDER__GENDER_MALE, true);    /* just over */
	s_add(r, "b", "乙", MEMBER, 28, TALLYFEED__GENDER__GENDER_MALE, false);   /* exactly 2/3 */
	s_add(r, "c", "丙", MEMBER, 27, TALLYFEED__GENDER__GENDER_MALE, false);   /* just under */
	assert_elects(r, 0);
	assert_not_elects(r, 1);
	assert_not_elects(r, 2);
	/* Under the default half (21), all three are elected. */
	tf_rules_config_default(&s_config);
	assert_rejected(r, R(ELECTED_MISMATCH));
	s_set_elected(s_cand(r, "b"), true);
	s_set_elected(s_cand(r, "c"), true);
	assert_elects(r, 1);
	assert_elects(r, 2);
}

/* A Party branch race for `seats` member seats with `candidates` on the
 * ballot: the first `seats` win with 40 of 45 present, the rest get none. */
static void
s_margin(tf_report_t *r, uint32_t round, uint32_t seats, uint32_t candidates, bool flagged,
         int line)
{
	tf_check_t out;

	s_race(r, PARTY, round, 50, 0, 45, 45, seats);
	for (uint32_t i = 0; i < candidates; i++) {
		char id[16];

		snprintf(id, sizeof id, "c%u", i);
		s_add(r, id, "某", MEMBER, i < seats ? 40 : 0, TALLYFEED__GENDER__GENDER_MALE,
		      i < seats);
	}
	s_accepted(r, s_registry, TOWNSHIP, &out, line);
	if (!(out.warnings & TF_WARN_CANDIDATE_MARGIN) != !flagged) {
		print_error("line %d: round %u, %u candidates for %u seats: candidate_margin %s\n",
		            line, round, candidates, seats, flagged ? "missing" : "raised");
		fail();
	}
}

#define assert_margin_short(r, round, seats, candidates) \
	s_margin((r), (round), (seats), (candidates), true, __LINE__)
#define assert_margin_ok(r, round, seats, candidates) \
	s_margin((r), (round), (seats), (candidates), false, __LINE__)

/* Party branch, round 1: candidates >= seats + 20 % of seats, rounded up. */
static void
test_party_candidate_margin(void **state)
{
	tf_report_t *r = *state;
	tf_check_t out;

	/* 3 seats: 0.6 rounds up to 1, so 4 candidates. */
	assert_margin_short(r, 1, 3, 3);             /* just under */
	assert_margin_ok(r, 1, 3, 4);                /* exactly at */
	assert_margin_ok(r, 1, 3, 5);                /* just over */
	/* 5 seats: exactly 1. */
	assert_margin_short(r, 1, 5, 5);
	assert_margin_ok(r, 1, 5, 6);
	assert_margin_ok(r, 1, 5, 7);
	/* 6 seats: 1.2 rounds up to 2 (rounding down would accept 7). */
	assert_margin_short(r, 1, 6, 7);
	assert_margin_ok(r, 1, 6, 8);
	assert_margin_ok(r, 1, 6, 9);
	/* 10 seats: exactly 2. */
	assert_margin_short(r, 1, 10, 11);
	assert_margin_ok(r, 1, 10, 12);
	assert_margin_ok(r, 1, 10, 13);
	/* Not a rule of later rounds. */
	assert_margin_ok(r, 2, 3, 3);
	assert_margin_ok(r, 3, 3, 3);
	/* The sound Party report: 3 seats, 5 candidates. */
	s_make_party(r);
	assert_accepted(r, &out);
	assert_false(out.warnings & TF_WARN_CANDIDATE_MARGIN);
	/* A fact of the ballot: flagged even when attendance fell short
	 * (40 of 50 is exactly 4/5). */
	s_race(r, PARTY, 1, 50, 0, 40, 40, 3);
	s_add(r, "a", "甲", MEMBER, 30, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_accepted(r, &out);
	assert_false(out.election_valid);
	assert_int_equal(out.warnings, TF_WARN_INVALID_ELECTION | TF_WARN_CANDIDATE_MARGIN);
	/* Not a rule of villagers' committees. */
	s_race(r, VILLAGERS, 1, 1000, 0, 800, 800, 3);
	s_add(r, "a", "甲", MEMBER, 500, TALLYFEED__GENDER__GENDER_FEMALE, true);
	s_add(r, "b", "乙", MEMBER, 500, TALLYFEED__GENDER__GENDER_MALE, true);
	s_add(r, "c", "丙", MEMBER, 500, TALLYFEED__GENDER__GENDER_MALE, true);
	assert_accepted(r, &out);
	assert_int_equal(out.warnings, 0);

	/* Configured: none, or half (3 seats: 1.5 rounds up to 2). */
	s_config.party_candidate_margin_percent = 0;
	assert_margin_ok(r, 1, 3, 3);
	s_config.party_candidate_margin_percent = 50;
	assert_margin_short(r, 1, 3, 4);
	assert_margin_ok(r, 1, 3, 5);
	assert_margin_ok(r, 1, 3, 6);
	s_config.party_candidate_margin_percent = 100;
	assert_margin_short(r, 1, 3, 5);
	assert_margin_ok(r, 1, 3, 6);
}

static void
s_size(tf_report_t *r, Tallyfeed__Committee committee, uint32_t seats, bool flagged, int line)
{
	tf_check_t out;

	s_set(&r->unit_code, committee == RESIDENTS ? RESIDENTS_UNIT : UNIT);
	s_full_committee(r, committee, seats);
	s_accepted(r, s_registry, TOWNSHIP, &out, line);
	if (!(out.warnings & TF_WARN_SIZE) != !flagged) {
		print_error("line %d: %s committee of %u: size flag %s\n", line,
		            tf_committee_word(committee), seats, flagged ? "missing" : "raised");
		fail();
	}
}

#define assert_size_flagged(r, committee, seats) s_size((r), (committee), (seats), true, __LINE__)
#define assert_size_ok(r, committee, seats) s_size((r), (committee), (seats), false, __LINE__)

/* Committee sizes as configuration (the defaults: test_warn_size). */
static void
test_size_configurable(void **state)
{
	tf_report_t *r = *state;

	s_config.villagers_size_min = 5;
	s_config.villagers_size_max = 9;
	s_config.residents_size_min = 3;
	s_config.residents_size_max = 11;
	s_config.odd_size_required = false;
	assert_size_flagged(r, VILLAGERS, 4);        /* just under the minimum */
	assert_size_ok(r, VILLAGERS, 5);             /* at */
	assert_size_ok(r, VILLAGERS, 6);             /* just over */
	assert_size_ok(r, VILLAGERS, 8);             /* just under the maximum */
	assert_size_ok(r, VILLAGERS, 9);             /* at */
	assert_size_flagged(r, VILLAGERS, 10);       /* just over */
	assert_size_flagged(r, RESIDENTS, 2);
	assert_size_ok(r, RESIDENTS, 3);
	assert_size_ok(r, RESIDENTS, 4);
	assert_size_ok(r, RESIDENTS, 10);
	assert_size_ok(r, RESIDENTS, 11);
	assert_size_flagged(r, RESIDENTS, 12);
	/* Odd sizes are a villagers' rule: 5 and 7 fine, 6 and 8 not, and a
	 * residents' committee of 4 still fine. */
	s_config.odd_size_required = true;
	assert_size_ok(r, VILLAGERS, 5);
	assert_size_flagged(r, VILLAGERS, 6);
	assert_size_ok(r, VILLAGERS, 7);
	assert_size_flagged(r, VILLAGERS, 8);
	assert_size_ok(r, RESIDENTS, 4);
}

/* ---- the configuration file ---- */

#define ZPL_RULES "collector\n    rules\n"

/* Load the collector's rules from ZPL text into c. */
static int
s_load(tf_rules_config_t *c, const char *zpl, const char *section, char *err, size_t errlen)
{
	zconfig_t *root = zconfig_str_load(zpl);
	int rc;

	assert_non_null(root);
	err[0] = '\0';
	rc = tf_rules_config_load(c, root, section, err, errlen);
	zconfig_destroy(&root);
	return rc;
}

static void
test_config_load_good(void **state)
{
	static const char zpl[] =
	    "collector\n"
	    "    endpoint = \"tcp://*:7100\"\n"       /* the daemon's, not the rules' */
	    "    rules\n"
	    "        odd_size_required = 0\n"
	    "        mass_quorum = \"3/5\"\n"
	    "        residents_quorum = \"2/3\"\n"
	    "        mass_elect = 1/2\n"
	    "        runoff_min = \"2/5\"\n"
	    "        party_attendance = \"2/3\"\n"
	    "        party_elect = \"51/100\"\n"
	    "        party_candidate_margin_percent = 25\n"
	    "        villagers_size = \"5-9\"\n"
	    "        residents_size = 3-11\n"
	    "agent\n"
	    "    rules\n"
	    "        mass_quorum = \"1/3\"\n";
	tf_rules_config_t c, dflt;
	char err[256];

	(void)state;
	tf_rules_config_default(&dflt);
	assert_int_equal(s_load(&c, zpl, "collector", err, sizeof err), 0);
	assert_false(c.odd_size_required);
	assert_int_equal(c.mass_quorum_num, 3);
	assert_int_equal(c.mass_quorum_den, 5);
	assert_int_equal(c.residents_quorum_num, 2);
	assert_int_equal(c.residents_quorum_den, 3);
	assert_int_equal(c.mass_elect_num, 1);
	assert_int_equal(c.mass_elect_den, 2);
	assert_int_equal(c.runoff_min_num, 2);
	assert_int_equal(c.runoff_min_den, 5);
	assert_int_equal(c.party_attendance_num, 2);
	assert_int_equal(c.party_attendance_den, 3);
	assert_int_equal(c.party_elect_num, 51);
	assert_int_equal(c.party_elect_den, 100);
	assert_int_equal(c.party_candidate_margin_percent, 25);
	assert_int_equal(c.villagers_size_min, 5);
	assert_int_equal(c.villagers_size_max, 9);
	assert_int_equal(c.residents_size_min, 3);
	assert_int_equal(c.residents_size_max, 11);

	/* Another daemon's section: only its own key, the rest the defaults
	 * (not what c held before). */
	assert_int_equal(s_load(&c, zpl, "agent", err, sizeof err), 0);
	assert_int_equal(c.mass_quorum_num, 1);
	assert_int_equal(c.mass_quorum_den, 3);
	c.mass_quorum_num = dflt.mass_quorum_num;
	c.mass_quorum_den = dflt.mass_quorum_den;
	assert_memory_equal(&c, &dflt, sizeof c);

	/* No rules section, no section, no config at all: the defaults. */
	memset(&c, 0, sizeof c);
	assert_int_equal(s_load(&c, "collector\n    endpoint = \"x\"\n", "collector", err,
	                        sizeof err), 0);
	assert_memory_equal(&c, &dflt, sizeof c);
	memset(&c, 0, sizeof c);
	assert_int_equal(s_load(&c, "agent\n    rules\n", "collector", err, sizeof err), 0);
	assert_memory_equal(&c, &dflt, sizeof c);
	memset(&c, 0, sizeof c);
	assert_int_equal(tf_rules_config_load(&c, NULL, "collector", err, sizeof err), 0);
	assert_memory_equal(&c, &dflt, sizeof c);
	/* The edges of each range are allowed. */
	assert_int_equal(s_load(&c, ZPL_RULES "        mass_quorum = \"99/100\"\n"
	                        "        runoff_min = \"1/100\"\n"
	                        "        party_candidate_margin_percent = 100\n"
	                        "        villagers_size = \"1-100\"\n"
	                        "        residents_size = \"7-7\"\n", "collector", err, sizeof err), 0);
	assert_int_equal(c.mass_quorum_num, 99);
	assert_int_equal(c.runoff_min_den, 100);
	assert_int_equal(c.party_candidate_margin_percent, 100);
	assert_int_equal(c.villagers_size_min, 1);
	assert_int_equal(c.villagers_size_max, 100);
	assert_int_equal(c.residents_size_min, 7);
	assert_int_equal(c.residents_size_max, 7);
	assert_int_equal(s_load(&c, ZPL_RULES "        party_candidate_margin_percent = 0\n"
	                        "        odd_size_required = 1\n", "collector", err, sizeof err), 0);
	assert_int_equal(c.party_candidate_margin_percent, 0);
	assert_true(c.odd_size_required);
}

static void
test_config_load_bad_values(void **state)
{
	static const struct {
		const char *key, *value, *expected;
	} cases[] = {
		{ "odd_size_required", "2", "is not 0 or 1" },
		{ "odd_size_required", "yes", "is not 0 or 1" },
		{ "odd_size_required", "", "is not 0 or 1" },
		{ "mass_quorum", "1/1", "is not a fraction N/D with 0 < N < D <= 100" },
		{ "mass_quorum", "0/2", "is not a fraction" },
		{ "mass_quorum", "2/1", "is not a fraction" },
		{ "mass_quorum", "1/0", "is not a fraction" },
		{ "mass_quorum", "1/101", "is not a fraction" },
		{ "mass_quorum", "1/2/3", "is not a fraction" },
		{ "mass_quorum", "1 / 2", "is not a fraction" },
		{ "mass_quorum", "+1/2", "is not a fraction" },
		{ "mass_quorum", "-1/2", "is not a fraction" },
		{ "mass_quorum", "0.5", "is not a fraction" },
		{ "mass_quorum", "1", "is not a fraction" },
		{ "mass_quorum", "", "is not a fraction" },
		{ "residents_quorum", "3/2", "is not a fraction" },
		{ "mass_elect", "half", "is not a fraction" },
		{ "runoff_min", "1/3 ", "is not a fraction" },
		{ "party_attendance", "4/5/", "is not a fraction" },
		{ "party_elect", "1/2.0", "is not a fraction" },
		{ "party_elect", "50/100x", "is not a fraction" },
		{ "party_candidate_margin_percent", "101", "is not a whole number from 0 to 100" },
		{ "party_candidate_margin_percent", "-1", "is not a whole number from 0 to 100" },
		{ "party_candidate_margin_percent", "20%", "is not a whole number" },
		{ "party_candidate_margin_percent", "1e2", "is not a whole number" },
		{ "party_candidate_margin_percent", "", "is not a whole number" },
		{ "villagers_size", "7-3", "is not a size MIN-MAX with 1 <= MIN <= MAX <= 100" },
		{ "villagers_size", "0-7", "is not a size MIN-MAX" },
		{ "villagers_size", "3-101", "is not a size MIN-MAX" },
		{ "villagers_size", "3", "is not a size MIN-MAX" },
		{ "villagers_size", "3-", "is not a size MIN-MAX" },
		{ "villagers_size", "-7", "is not a size MIN-MAX" },
		{ "villagers_size", "3--7", "is not a size MIN-MAX" },
		{ "villagers_size", "3 - 7", "is not a size MIN-MAX" },
		{ "residents_size", "5-9-11", "is not a size MIN-MAX" },
		{ "residents_size", "five-nine", "is not a size MIN-MAX" },
	};
	tf_rules_config_t c, before;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char zpl[256], err[256], needle[128];

		/* A good key first: a refused file changes nothing at all. */
		snprintf(zpl, sizeof zpl, ZPL_RULES "        %s = \"2/3\"\n"
		         "        %s = \"%s\"\n",
		         strcmp(cases[i].key, "party_elect") == 0 ? "mass_quorum" : "party_elect",
		         cases[i].key, cases[i].value);
		tf_rules_config_default(&c);
		c.villagers_size_max = 11;
		memcpy(&before, &c, sizeof c);
		if (s_load(&c, zpl, "collector", err, sizeof err) != -1)
			fail_msg("%s = \"%s\" accepted", cases[i].key, cases[i].value);
		assert_memory_equal(&c, &before, sizeof c);
		snprintf(needle, sizeof needle, "collector/rules/%s: \"%s\" %s", cases[i].key,
		         cases[i].value, cases[i].expected);
		assert_contains(err, needle);
	}
}

static void
test_config_load_unknown_key(void **state)
{
	tf_rules_config_t c;
	char err[256];

	(void)state;
	tf_rules_config_default(&c);
	assert_int_equal(s_load(&c, ZPL_RULES "        mass_quorom = \"1/2\"\n", "collector", err,
	                        sizeof err), -1);
	assert_string_equal(err, "collector/rules/mass_quorom: unknown key");
	assert_int_equal(s_load(&c, "agent\n    rules\n        villagers_quorum = \"1/2\"\n",
	                        "agent", err, sizeof err), -1);
	assert_string_equal(err, "agent/rules/villagers_quorum: unknown key");
	/* Another daemon's rules are not read, not even their typos. */
	assert_int_equal(s_load(&c, "agent\n    rules\n        villagers_quorum = \"1/2\"\n",
	                        "collector", err, sizeof err), 0);
	/* Given twice: which one was meant? */
	assert_int_equal(s_load(&c, ZPL_RULES "        mass_quorum = \"1/2\"\n"
	                        "        mass_quorum = \"2/3\"\n", "collector", err, sizeof err), -1);
	assert_string_equal(err, "collector/rules/mass_quorum: given twice");
	/* A key is a value, not a section. */
	assert_int_equal(s_load(&c, ZPL_RULES "        villagers_size = \"3-7\"\n"
	                        "            min = 3\n", "collector", err, sizeof err), -1);
	assert_contains(err, "collector/rules/villagers_size: has a subsection");
}

/* Through a real file, comments and all, as the daemons read it. */
static void
test_config_load_file(void **state)
{
	static const char text[] =
	    "#   tallyfeed collector\n"
	    "collector\n"
	    "    rules\n"
	    "        # Qinghai: odd-size villagers' committees\n"
	    "        odd_size_required = 1\n"
	    "        residents_quorum = \"2/3\"   # provincial measure\n"
	    "        villagers_size = \"3-7\"\n";
	char path[] = "/tmp/test_rules_XXXXXX";
	tf_rules_config_t c;
	zconfig_t *root;
	char err[256];
	int fd, rc;
	FILE *f;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	root = zconfig_load(path);
	unlink(path);
	assert_non_null(root);
	rc = tf_rules_config_load(&c, root, "collector", err, sizeof err);
	zconfig_destroy(&root);
	if (rc != 0)
		fail_msg("%s", err);
	assert_true(c.odd_size_required);
	assert_int_equal(c.residents_quorum_num, 2);
	assert_int_equal(c.residents_quorum_den, 3);
	assert_int_equal(c.villagers_size_min, 3);
	assert_int_equal(c.villagers_size_max, 7);
	assert_int_equal(c.mass_quorum_den, 2);
}

/* A loaded config changes outcomes: residents' quorum and Party majority
 * at two thirds. */
static void
test_config_changes_outcome(void **state)
{
	tf_report_t *r = *state;
	char err[256];

	assert_int_equal(s_load(&s_config, ZPL_RULES "        residents_quorum = \"2/3\"\n"
	                        "        party_elect = \"2/3\"\n", "collector", err, sizeof err), 0);
	assert_invalid(r, RESIDENTS, 999, 666);
	assert_valid(r, RESIDENTS, 999, 667);
	s_race(r, PARTY, 1, 45, 0, 42, 42, 1);
	s_add(r, "a", "甲", MEMBER, 28, TALLYFEED__GENDER__GENDER_MALE, false);
	assert_not_elects(r, 0);
	s_cand(r, "a")->votes_for = 29;
	assert_elects(r, 0);
	/* Back to the defaults: both outcomes turn. */
	tf_rules_config_default(&s_config);
	s_cand(r, "a")->votes_for = 28;
	assert_elects(r, 0);
	assert_valid(r, RESIDENTS, 999, 666);
}

/* ---- the sequence of rounds ---- */

/* The report is accepted on its own; then its sequence check gives reason
 * (detail containing needle) and leaves the rest of the verdict alone. */
static void
s_sequence(const tf_report_t *r, const tf_prior_round_t *prior, int reason, const char *needle,
           int line)
{
	tf_check_t out, before;
	int rc;

	s_accepted(r, s_registry, TOWNSHIP, &out, line);
	memcpy(&before, &out, sizeof out);
	rc = tf_rules_check_sequence(r, prior, &out);
	if (reason == R(NONE)) {
		if (rc != 0 || memcmp(&before, &out, sizeof out) != 0) {
			print_error("line %d: sequence refused with %s: %s\n", line,
			            tf_reason_name(out.reason), out.detail);
			fail();
		}
		return;
	}
	if (rc != -1 || out.reason != reason || strstr(out.detail, needle) == NULL
	    || out.warnings != before.warnings) {
		print_error("line %d: expected %s saying \"%s\", got rc %d %s (%s)\n", line,
		            tf_reason_name(reason), needle, rc, tf_reason_name(out.reason), out.detail);
		fail();
	}
}

#define assert_sequence_ok(r, prior) s_sequence((r), (prior), R(NONE), "", __LINE__)
#define assert_sequence_rejected(r, prior, reason, needle) \
	s_sequence((r), (prior), R(reason), (needle), __LINE__)

/* A later round with `head` seats (and no candidate for them) and
 * `member` seats, one candidate elected to each: 400 of 700 pass the
 * runoff's third and a re-election's half. */
static void
s_runoff(tf_report_t *r, uint32_t round, uint32_t head, uint32_t member)
{
	s_race(r, VILLAGERS, round, 1000, 0, 700, 700, member);
	s_set_seats(r, head, 0, member);
	for (uint32_t i = 0; i < member; i++) {
		char id[16];

		snprintf(id, sizeof id, "m%u", i);
		s_add(r, id, "某", MEMBER, 400, TALLYFEED__GENDER__GENDER_MALE, true);
	}
}

static void
test_sequence_round1(void **state)
{
	const tf_prior_round_t nothing = { false, false, { 0 } };
	const tf_prior_round_t full = { true, true, { 0 } };
	tf_report_t *r = *state;

	assert_sequence_ok(r, NULL);
	assert_sequence_ok(r, &nothing);
	assert_sequence_ok(r, &full);                /* a stale "round 0" is no business of 1 */
	s_make_party(r);
	assert_sequence_ok(r, NULL);
}

static void
test_sequence_runoff_without_round1(void **state)
{
	const tf_prior_round_t nothing = { false, true, { 0, 0, 0, 1 } };
	tf_report_t *r = *state;

	s_runoff(r, 2, 0, 1);
	assert_sequence_rejected(r, NULL, RUNOFF_WITHOUT_ROUND1, "needs round 1 stored first");
	assert_sequence_rejected(r, &nothing, RUNOFF_WITHOUT_ROUND1, "needs round 1 stored first");
	/* The same for a Party branch's second round. */
	s_race(r, PARTY, 2, 45, 0, 42, 42, 1);
	s_add(r, "a", "甲", MEMBER, 30, TALLYFEED__GENDER__GENDER_MALE, true);
	assert_sequence_rejected(r, NULL, RUNOFF_WITHOUT_ROUND1, "round 1");
}

static void
test_sequence_runoff_seats(void **state)
{
	tf_prior_round_t prior = { true, true, { 0, 0, 0, 1 } };
	tf_report_t *r = *state;

	s_runoff(r, 2, 0, 1);                        /* exactly the seat left */
	assert_sequence_ok(r, &prior);
	s_runoff(r, 2, 0, 2);                        /* one more than left */
	assert_sequence_rejected(r, &prior, RUNOFF_SEATS,
	                         "runoff for 2 member seats, but round 1 left 1 unfilled");
	prior.unfilled[MEMBER] = 3;
	assert_sequence_ok(r, &prior);               /* fewer than left */
	/* A position round 1 filled. */
	s_runoff(r, 2, 1, 1);
	assert_sequence_rejected(r, &prior, RUNOFF_SEATS,
	                         "runoff for 1 head seats, but round 1 left 0 unfilled");
	prior.unfilled[HEAD] = 1;
	assert_sequence_ok(r, &prior);
	/* Round 1 filled everything. */
	memset(prior.unfilled, 0, sizeof prior.unfilled);
	assert_sequence_rejected(r, &prior, RUNOFF_SEATS, "filled every seat");
	/* Round 1 was not a valid election: no runoff of what was never won. */
	prior.election_valid = false;
	prior.unfilled[HEAD] = 1;
	prior.unfilled[MEMBER] = 3;
	assert_sequence_rejected(r, &prior, RUNOFF_SEATS, "not a valid election");
}

static void
test_sequence_reelection(void **state)
{
	const tf_prior_round_t nothing = { false, false, { 0 } };
	const tf_prior_round_t stored = { true, false, { 0 } };
	tf_report_t *r = *state;

	s_runoff(r, 3, 0, 1);
	assert_sequence_rejected(r, NULL, RUNOFF_WITHOUT_ROUND1, "round 3");
	assert_sequence_rejected(r, &nothing, RUNOFF_WITHOUT_ROUND1, "needs an earlier round stored first");
	/* Whatever the earlier round gave (an invalid round 1 included): a
	 * re-election has no seat count to compare. */
	assert_sequence_ok(r, &stored);
	r->round = 9;
	assert_sequence_rejected(r, NULL, RUNOFF_WITHOUT_ROUND1, "round 9 of the villagers committee needs an earlier round");
	assert_sequence_ok(r, &stored);
}

/* What the collector does: the stored round 1 gives the prior round of a
 * runoff. */
static void
test_sequence_from_stored_round1(void **state)
{
	tf_report_t *r = *state, *runoff = s_sound_report();
	tf_prior_round_t prior;
	unsigned unfilled[TF_POSITIONS];
	bool elected[8], valid;

	/* m3 falls to exactly half: one member seat left. */
	s_cand(r, "m3")->votes_for = 400;
	s_set_elected(s_cand(r, "m3"), false);
	assert_ok(r);
	tf_rules_unfilled(r, NULL, unfilled);
	assert_int_equal(unfilled[0], 0);
	assert_int_equal(unfilled[HEAD], 0);
	assert_int_equal(unfilled[DEPUTY], 0);
	assert_int_equal(unfilled[MEMBER], 1);
	tf_rules_decide(&s_config, r, elected, &valid);
	memset(unfilled, 0xff, sizeof unfilled);
	tf_rules_unfilled(r, elected, unfilled);
	assert_int_equal(unfilled[MEMBER], 1);
	assert_int_equal(unfilled[HEAD] + unfilled[DEPUTY], 0);
	memset(&prior, 0xff, sizeof prior);
	tf_rules_prior_round(&s_config, r, &prior);
	assert_true(prior.stored);
	assert_true(prior.election_valid);
	assert_int_equal(prior.unfilled[0], 0);
	assert_int_equal(prior.unfilled[HEAD], 0);
	assert_int_equal(prior.unfilled[DEPUTY], 0);
	assert_int_equal(prior.unfilled[MEMBER], 1);

	s_runoff(runoff, 2, 0, 1);
	assert_sequence_ok(runoff, &prior);
	s_runoff(runoff, 2, 0, 2);
	assert_sequence_rejected(runoff, &prior, RUNOFF_SEATS, "left 1 unfilled");
	tf_report_destroy(&runoff);

	/* Every seat filled: nothing for a runoff. */
	s_set_elected(s_cand(r, "m3"), true);
	s_cand(r, "m3")->votes_for = 450;
	tf_rules_prior_round(&s_config, r, &prior);
	assert_true(prior.election_valid);
	assert_int_equal(prior.unfilled[HEAD] + prior.unfilled[DEPUTY] + prior.unfilled[MEMBER], 0);

	/* An invalid round 1 fills nothing. */
	r->took_part = 500;
	tf_rules_prior_round(&s_config, r, &prior);
	assert_true(prior.stored);
	assert_false(prior.election_valid);
	assert_int_equal(prior.unfilled[HEAD], 1);
	assert_int_equal(prior.unfilled[DEPUTY], 1);
	assert_int_equal(prior.unfilled[MEMBER], 3);
}

/* ---- the form's list of findings ---- */

/* The field and reason of finding i, as "field REASON". */
static void
s_assert_finding(const tf_findings_t *all, size_t i, const char *field, int reason,
                 const char *needle)
{
	if (i >= all->count) {
		print_error("finding %zu: only %zu findings\n", i, all->count);
		fail();
	}
	if (strcmp(all->items[i].field, field) != 0 || all->items[i].reason != reason
	    || strstr(all->items[i].message, needle) == NULL) {
		print_error("finding %zu: expected %s %s \"%s\", got %s %s \"%s\"\n", i, field,
		            tf_reason_name(reason), needle, all->items[i].field,
		            tf_reason_name(all->items[i].reason), all->items[i].message);
		fail();
	}
}

/* Three mistakes in different places: all three are listed, each at its
 * field, in Chinese, the first being the collector's verdict. */
static void
test_findings_lists_every_mistake(void **state)
{
	tf_report_t *r = *state;
	tf_findings_t *all = malloc(sizeof *all);
	tf_check_t out;

	assert_non_null(all);
	r->ballots_invalid = 11;                        /* 790 + 11 != 800 */
	s_cand(r, "m4")->votes_for = 800;               /* > 790 valid */
	s_set_elected(s_cand(r, "m3"), false);          /* 450 > 400: elected */
	s_cand(r, "d1")->birth_year = 1800;
	assert_int_equal(tf_rules_findings(&s_config, r, s_registry, TOWNSHIP, all), -1);
	assert_int_equal(tf_rules_check(&s_config, r, s_registry, TOWNSHIP, &out), -1);
	assert_int_equal(all->check.reason, out.reason);
	s_assert_finding(all, 0, "candidates[2].birth_year", R(BAD_DATE), "出生年份 1800");
	s_assert_finding(all, 1, "ballots.valid", R(BALLOT_SUM), "有效票 790 + 无效票 11");
	s_assert_finding(all, 2, "candidates[7].votes_for", R(VOTES_OVER_VALID), "多于有效票 790");
	/* m4's 800 votes rank it first among the members: the thresholds
	 * elect it and not m3, whatever they were marked. */
	s_assert_finding(all, 3, "seats.member", R(POSITION_VOTES_OVER), "委员");
	s_assert_finding(all, 4, "candidates[7].elected", R(ELECTED_MISMATCH), "应当选");
	assert_int_equal(all->count, 5);
	assert_false(all->truncated);
	free(all);
}

/* Seats that cannot be counted on stop the vote checks, not the others. */
static void
test_findings_unsound_seats_stop_the_count(void **state)
{
	tf_report_t *r = *state;
	tf_findings_t *all = malloc(sizeof *all);

	assert_non_null(all);
	s_set_seats(r, 1, 0, 3);                        /* d1, d2 stand for no seats */
	r->ballots_returned = 2000;                     /* > issued, but not looked at */
	r->registered = 2000000;
	s_set(&r->unit_code, "630121101299");           /* not in the registry */
	assert_int_equal(tf_rules_findings(&s_config, r, s_registry, TOWNSHIP, all), -1);
	s_assert_finding(all, 0, "candidates[2].position", R(BAD_SEATS), "没有应选名额");
	s_assert_finding(all, 1, "candidates[3].position", R(BAD_SEATS), "没有应选名额");
	s_assert_finding(all, 2, "electorate.registered", R(COUNT_TOO_LARGE), "登记人数为 2000000");
	s_assert_finding(all, 3, "unit", R(UNKNOWN_UNIT), "不在区划名录中");
	assert_int_equal(all->count, 4);
	free(all);
}

/* An accepted report lists its W flags, each at its field. */
static void
test_findings_warnings_of_accepted(void **state)
{
	tf_report_t *r = *state;
	tf_findings_t *all = malloc(sizeof *all);

	assert_non_null(all);
	s_set_elected(s_cand(r, "m3"), false);
	s_cand(r, "m3")->votes_for = 400;               /* exactly half: not elected */
	assert_int_equal(tf_rules_findings(&s_config, r, s_registry, TOWNSHIP, all), 0);
	assert_int_equal(all->count, 1);
	assert_int_equal(all->items[0].warning, TF_WARN_SEATS_UNFILLED);
	assert_string_equal(all->items[0].field, "seats");
	assert_non_null(strstr(all->items[0].message, "另行选举"));
	free(all);
}

/* More findings than the list holds: it says so, and keeps the first. */
static void
test_findings_truncated(void **state)
{
	tf_report_t *r = *state;
	tf_findings_t *all = malloc(sizeof *all);
	char id[16];

	assert_non_null(all);
	s_clear_candidates(r);
	for (int i = 0; i < TF_FINDINGS_MAX + 10; i++) {
		snprintf(id, sizeof id, "x%d", i);
		s_add(r, id, "", MEMBER, 1, TALLYFEED__GENDER__GENDER_MALE, false);
	}
	assert_int_equal(tf_rules_findings(&s_config, r, s_registry, TOWNSHIP, all), -1);
	assert_int_equal(all->count, TF_FINDINGS_MAX);
	assert_true(all->truncated);
	s_assert_finding(all, 0, "candidates[0].name", R(MISSING_FIELD), "没有填姓名");
	free(all);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sound_report_accepted),
		T(test_decide_sound_report),
		T(test_config_default),
		T(test_reason_and_warning_names),
		T(test_shipped_examples_accepted),
		T(test_missing_field),
		T(test_bad_round),
		T(test_bad_date),
		T(test_bad_photo_hash),
		T(test_field_too_long),
		T(test_too_many_candidates),
		T(test_duplicate_candidate),
		T(test_bad_seats),
		T(test_unknown_unit),
		T(test_unit_type_unknown),
		T(test_committee_mismatch),
		T(test_outside_township),
		T(test_ballot_sum),
		T(test_returned_over_issued),
		T(test_turnout_over_registered),
		T(test_votes_over_valid),
		T(test_position_votes_over),
		T(test_proxy_in_party),
		T(test_elected_mismatch),
		T(test_villagers_turnout_threshold),
		T(test_invalid_election_flags_only_invalid),
		T(test_villagers_majority_threshold),
		T(test_runoff_one_third_threshold),
		T(test_runoff_base_is_ballots_returned),
		T(test_runoff_base_counts_invalid_ballots),
		T(test_runoff_most_votes_win),
		T(test_residents_thresholds),
		T(test_party_attendance_threshold),
		T(test_party_majority_threshold),
		T(test_party_attendance_configurable),
		T(test_tie_at_last_seat),
		T(test_more_passing_than_seats),
		T(test_warn_no_woman),
		T(test_warn_size),
		T(test_warn_full_turnout),
		T(test_warn_seats_unfilled),
		T(test_count_too_large),
		T(test_negative_count_on_the_wire),
		T(test_unknown_enum_values),
		T(test_candidate_facts),
		T(test_residents_quorum_threshold),
		T(test_residents_quorum_configurable),
		T(test_mass_quorum_configurable),
		T(test_residents_majority_threshold),
		T(test_mass_elect_configurable),
		T(test_runoff_min_configurable),
		T(test_party_elect_configurable),
		T(test_party_candidate_margin),
		T(test_size_configurable),
		T(test_config_load_good),
		T(test_config_load_bad_values),
		T(test_config_load_unknown_key),
		T(test_config_load_file),
		T(test_config_changes_outcome),
		T(test_sequence_round1),
		T(test_sequence_runoff_without_round1),
		T(test_sequence_runoff_seats),
		T(test_sequence_reelection),
		T(test_sequence_from_stored_round1),
		T(test_findings_lists_every_mistake),
		T(test_findings_unsound_seats_stop_the_count),
		T(test_findings_warnings_of_accepted),
		T(test_findings_truncated),
	};
#undef T

	return cmocka_run_group_tests(tests, s_load_registry, s_free_registry);
}
