/*
 * test_report: the result-file JSON codec.  A full report lands field by
 * field; serialize -> parse gives the same protobuf bytes; every refusal
 * names the JSON path of the field (or the line and column for text that
 * is not JSON at all).
 */
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "report.h"
#include "rules.h"

/* A result file as township staff write it: a villagers' committee, five
 * seats, eight candidates, every optional field used somewhere. */
static const char s_example[] =
"{\n"
"  \"unit\": \"630121101201\",\n"
"  \"committee\": \"villagers\",\n"
"  \"round\": 1,\n"
"  \"revision\": 2,\n"
"  \"held_on\": \"2017-11-18\",\n"
"  \"electorate\": { \"registered\": 1000, \"took_part\": 800, \"proxy_votes\": 20 },\n"
"  \"ballots\": { \"issued\": 805, \"returned\": 800, \"valid\": 790, \"invalid\": 10 },\n"
"  \"ballot_mode\": \"combined\",\n"
"  \"seats\": { \"head\": 1, \"deputy\": 1, \"member\": 3 },\n"
"  \"candidates\": [\n"
"    { \"id\": \"h1\", \"name\": \"马德福\", \"position\": \"head\", \"votes_for\": 600,\n"
"      \"votes_against\": 150, \"votes_abstain\": 40, \"elected\": true,\n"
"      \"position_won\": \"head\", \"gender\": \"male\", \"ethnicity\": \"回族\",\n"
"      \"birth_year\": 1970, \"education\": \"senior_secondary\", \"party_member\": true,\n"
"      \"reelected\": true, \"concurrent_head\": true, \"cross_serving\": true },\n"
"    { \"id\": \"h2\", \"name\": \"李明\", \"position\": \"head\", \"votes_for\": 150,\n"
"      \"elected\": false },\n"
"    { \"id\": \"d1\", \"name\": \"才让卓玛\", \"position\": \"deputy\", \"votes_for\": 500,\n"
"      \"elected\": true, \"position_won\": \"deputy\", \"gender\": \"female\",\n"
"      \"ethnicity\": \"藏族\", \"birth_year\": 1985, \"education\": \"junior_college\",\n"
"      \"party_member\": false, \"reelected\": false },\n"
"    { \"id\": \"d2\", \"name\": \"王芳\", \"position\": \"deputy\", \"votes_for\": 200,\n"
"      \"elected\": false, \"gender\": \"female\" },\n"
"    { \"id\": \"m1\", \"name\": \"张建国\", \"position\": \"member\", \"votes_for\": 700,\n"
"      \"elected\": true, \"position_won\": \"member\", \"gender\": \"male\",\n"
"      \"ethnicity\": \"汉族\", \"birth_year\": 1962, \"education\": \"primary\" },\n"
"    { \"id\": \"m2\", \"name\": \"祁玉兰\", \"position\": \"member\", \"votes_for\": 650,\n"
"      \"elected\": true, \"position_won\": \"member\", \"gender\": \"female\",\n"
"      \"ethnicity\": \"土族\", \"birth_year\": 1990, \"education\": \"bachelor\",\n"
"      \"cross_serving\": true },\n"
"    { \"id\": \"m3\", \"name\": \"韩永福\", \"position\": \"member\", \"votes_for\": 450,\n"
"      \"elected\": true, \"position_won\": \"member\", \"gender\": \"male\",\n"
"      \"ethnicity\": \"撒拉族\", \"birth_year\": 1978, \"education\": \"postgraduate\" },\n"
"    { \"id\": \"m4\", \"name\": \"扎西\", \"position\": \"member\", \"votes_for\": 300,\n"
"      \"elected\": false, \"education\": \"junior_secondary\" }\n"
"  ],\n"
"  \"attestation\": {\n"
"    \"sheet_photo_sha256\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\n"
"    \"announced_on_site\": true\n"
"  }\n"
"}\n";

/* ---- helpers ---- */

static tf_report_t *
s_parse_ok(const char *text)
{
	char err[512] = "";
	tf_report_t *r = tf_report_from_json(text, strlen(text), err, sizeof err);

	if (r == NULL)
		fail_msg("parse failed: %s", err);
	return r;
}

/* The example as a JSON tree, for a test to change one thing in. */
static json_t *
s_example_tree(void)
{
	json_error_t jerr;
	json_t *top = json_loads(s_example, 0, &jerr);

	if (top == NULL)
		fail_msg("example is not JSON: %s", jerr.text);
	return top;
}

static json_t *
s_candidate(json_t *top, size_t i)
{
	json_t *c = json_array_get(json_object_get(top, "candidates"), i);

	assert_non_null(c);
	return c;
}

/* Parse text; expect refusal with an error that starts with prefix. */
static void
s_expect_error_text(const char *text, size_t len, const char *prefix)
{
	char err[512] = "";
	tf_report_t *r = tf_report_from_json(text, len, err, sizeof err);

	if (r != NULL) {
		tf_report_destroy(&r);
		fail_msg("parsed; expected an error starting \"%s\"", prefix);
	}
	assert_starts_with(err, prefix);
}

/* Dump the tree, expect refusal with prefix; frees the tree. */
static void
s_expect_error(json_t *top, const char *prefix)
{
	char *text = json_dumps(top, JSON_PRESERVE_ORDER);

	assert_non_null(text);
	s_expect_error_text(text, strlen(text), prefix);
	free(text);
	json_decref(top);
}

/* Dump the tree and expect it to parse; frees the tree, returns the report. */
static tf_report_t *
s_expect_ok(json_t *top)
{
	char *text = json_dumps(top, JSON_PRESERVE_ORDER);
	tf_report_t *r;

	assert_non_null(text);
	r = s_parse_ok(text);
	free(text);
	json_decref(top);
	return r;
}

/* Packed protobuf bytes of a report; caller frees. */
static uint8_t *
s_pack(const tf_report_t *r, size_t *len)
{
	uint8_t *buf;

	*len = tallyfeed__result_report__get_packed_size(r);
	buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(tallyfeed__result_report__pack(r, buf), *len);
	return buf;
}

static void
s_assert_same_report(const tf_report_t *a, const tf_report_t *b)
{
	size_t alen, blen;
	uint8_t *abuf = s_pack(a, &alen), *bbuf = s_pack(b, &blen);

	assert_int_equal(alen, blen);
	assert_memory_equal(abuf, bbuf, alen);
	free(abuf);
	free(bbuf);
}

/* to_json, then parse again: the protobuf bytes must not change. */
static void
s_assert_round_trip(const tf_report_t *r, int indent)
{
	char *text = tf_report_to_json(r, indent);
	tf_report_t *again;

	assert_non_null(text);
	again = s_parse_ok(text);
	s_assert_same_report(r, again);
	tf_report_destroy(&again);
	free(text);
}

/* ---- the full example ---- */

static void
test_example_every_field_lands(void **state)
{
	static const uint8_t hash[32] = {
		0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
		0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
		0xb0, 0xf0, 0x0a, 0x08
	};
	tf_report_t *r = s_parse_ok(s_example);
	const Tallyfeed__Candidate *c;

	(void)state;
	assert_string_equal(r->unit_code, "630121101201");
	assert_int_equal(r->committee, TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
	assert_int_equal(r->round, 1);
	assert_int_equal(r->revision, 2);
	assert_string_equal(r->held_on, "2017-11-18");
	assert_int_equal(r->registered, 1000);
	assert_int_equal(r->excused, 0);
	assert_int_equal(r->took_part, 800);
	assert_int_equal(r->proxy_votes, 20);
	assert_int_equal(r->ballots_issued, 805);
	assert_int_equal(r->ballots_returned, 800);
	assert_int_equal(r->ballots_valid, 790);
	assert_int_equal(r->ballots_invalid, 10);
	assert_int_equal(r->ballot_mode, TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED);

	assert_int_equal(r->n_seats, 3);
	assert_int_equal(r->seats[0]->position, TALLYFEED__POSITION__POSITION_HEAD);
	assert_int_equal(r->seats[0]->count, 1);
	assert_int_equal(r->seats[1]->position, TALLYFEED__POSITION__POSITION_DEPUTY);
	assert_int_equal(r->seats[1]->count, 1);
	assert_int_equal(r->seats[2]->position, TALLYFEED__POSITION__POSITION_MEMBER);
	assert_int_equal(r->seats[2]->count, 3);

	assert_int_equal(r->n_candidates, 8);
	c = r->candidates[0];
	assert_string_equal(c->candidate_id, "h1");
	assert_string_equal(c->name, "马德福");
	assert_int_equal(c->position, TALLYFEED__POSITION__POSITION_HEAD);
	assert_int_equal(c->votes_for, 600);
	assert_int_equal(c->votes_against, 150);
	assert_int_equal(c->votes_abstain, 40);
	assert_true(c->elected);
	assert_int_equal(c->position_won, TALLYFEED__POSITION__POSITION_HEAD);
	assert_int_equal(c->gender, TALLYFEED__GENDER__GENDER_MALE);
	assert_string_equal(c->ethnicity, "回族");
	assert_int_equal(c->birth_year, 1970);
	assert_int_equal(c->education, TALLYFEED__EDUCATION__EDUCATION_SENIOR_SECONDARY);
	assert_true(c->party_member);
	assert_true(c->reelected);
	assert_true(c->concurrent_head);
	assert_true(c->cross_serving);

	c = r->candidates[1];                  /* not elected, the least given */
	assert_string_equal(c->candidate_id, "h2");
	assert_string_equal(c->name, "李明");
	assert_int_equal(c->votes_for, 150);
	assert_int_equal(c->votes_against, 0);
	assert_int_equal(c->votes_abstain, 0);
	assert_false(c->elected);
	assert_int_equal(c->position_won, TALLYFEED__POSITION__POSITION_UNSPECIFIED);
	assert_int_equal(c->gender, TALLYFEED__GENDER__GENDER_UNSPECIFIED);
	assert_true(c->ethnicity == NULL || c->ethnicity[0] == '\0');
	assert_int_equal(c->birth_year, 0);
	assert_int_equal(c->education, TALLYFEED__EDUCATION__EDUCATION_UNSPECIFIED);
	assert_false(c->party_member);
	assert_false(c->reelected);
	assert_false(c->concurrent_head);
	assert_false(c->cross_serving);

	c = r->candidates[2];
	assert_string_equal(c->name, "才让卓玛");
	assert_int_equal(c->position, TALLYFEED__POSITION__POSITION_DEPUTY);
	assert_int_equal(c->position_won, TALLYFEED__POSITION__POSITION_DEPUTY);
	assert_int_equal(c->gender, TALLYFEED__GENDER__GENDER_FEMALE);
	assert_string_equal(c->ethnicity, "藏族");
	assert_int_equal(c->education, TALLYFEED__EDUCATION__EDUCATION_JUNIOR_COLLEGE);

	c = r->candidates[3];                  /* a not-elected candidate may give a gender */
	assert_false(c->elected);
	assert_int_equal(c->gender, TALLYFEED__GENDER__GENDER_FEMALE);

	assert_int_equal(r->candidates[4]->education, TALLYFEED__EDUCATION__EDUCATION_PRIMARY);
	assert_int_equal(r->candidates[4]->position, TALLYFEED__POSITION__POSITION_MEMBER);
	assert_int_equal(r->candidates[4]->position_won, TALLYFEED__POSITION__POSITION_MEMBER);
	assert_int_equal(r->candidates[5]->education, TALLYFEED__EDUCATION__EDUCATION_BACHELOR);
	assert_true(r->candidates[5]->cross_serving);
	assert_false(r->candidates[5]->party_member);
	assert_string_equal(r->candidates[6]->ethnicity, "撒拉族");
	assert_int_equal(r->candidates[6]->education, TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE);
	assert_int_equal(r->candidates[7]->education,
	                 TALLYFEED__EDUCATION__EDUCATION_JUNIOR_SECONDARY);

	assert_int_equal(r->sheet_photo_sha256.len, 32);
	assert_memory_equal(r->sheet_photo_sha256.data, hash, 32);
	assert_true(r->announced_on_site);
	tf_report_destroy(&r);
	assert_null(r);
	tf_report_destroy(&r);               /* safe on NULL */
}

/* The smallest file: optional blocks and keys left out take their zero. */
static void
test_minimal_party_branch(void **state)
{
	static const char text[] =
	    "{\"unit\":\"630121101001\",\"committee\":\"party_branch\",\"round\":1,"
	    "\"revision\":1,\"electorate\":{\"registered\":40,\"excused\":3,\"took_part\":35},"
	    "\"ballots\":{\"issued\":35,\"returned\":35,\"valid\":35,\"invalid\":0},"
	    "\"ballot_mode\":\"per_position\",\"seats\":{\"member\":3},"
	    "\"candidates\":[{\"id\":\"p1\",\"name\":\"a\",\"position\":\"member\","
	    "\"votes_for\":0,\"elected\":false}]}";
	tf_report_t *r = s_parse_ok(text);

	(void)state;
	assert_int_equal(r->committee, TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH);
	assert_int_equal(r->ballot_mode, TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION);
	assert_true(r->held_on == NULL || r->held_on[0] == '\0');
	assert_int_equal(r->excused, 3);
	assert_int_equal(r->proxy_votes, 0);
	assert_int_equal(r->n_seats, 1);
	assert_int_equal(r->seats[0]->position, TALLYFEED__POSITION__POSITION_MEMBER);
	assert_int_equal(r->sheet_photo_sha256.len, 0);
	assert_false(r->announced_on_site);
	s_assert_round_trip(r, 0);
	tf_report_destroy(&r);
}

static void
test_round_trip_example(void **state)
{
	tf_report_t *r = s_parse_ok(s_example);

	(void)state;
	s_assert_round_trip(r, 0);
	s_assert_round_trip(r, 2);
	tf_report_destroy(&r);
}

/* The serializer's text parses back and is stable: JSON -> report -> JSON
 * -> report -> JSON gives the same text the second time. */
static void
test_serialized_text_is_stable(void **state)
{
	tf_report_t *r = s_parse_ok(s_example), *again;
	char *one, *two;

	(void)state;
	one = tf_report_to_json(r, 2);
	assert_non_null(one);
	again = s_parse_ok(one);
	two = tf_report_to_json(again, 2);
	assert_non_null(two);
	assert_string_equal(one, two);
	free(one);
	free(two);
	tf_report_destroy(&r);
	tf_report_destroy(&again);
}

/* A report built in C (not from JSON) with every field set survives the
 * trip through JSON; so does one unpacked from protobuf bytes. */
static void
test_round_trip_built_in_c(void **state)
{
	Tallyfeed__Seats head = TALLYFEED__SEATS__INIT, member = TALLYFEED__SEATS__INIT;
	Tallyfeed__Seats *seats[2] = { &head, &member };
	Tallyfeed__Candidate c1 = TALLYFEED__CANDIDATE__INIT, c2 = TALLYFEED__CANDIDATE__INIT;
	Tallyfeed__Candidate *cands[2] = { &c1, &c2 };
	tf_report_t r = TALLYFEED__RESULT_REPORT__INIT, *unpacked;
	uint8_t hash[32], *bytes;
	size_t len;

	(void)state;
	for (int i = 0; i < 32; i++)
		hash[i] = (uint8_t)(255 - i * 7);
	head.position = TALLYFEED__POSITION__POSITION_HEAD;
	head.count = 1;
	member.position = TALLYFEED__POSITION__POSITION_MEMBER;
	member.count = 4;
	c1.candidate_id = "PB-0001";
	c1.name = "བཀྲ་ཤིས་";
	c1.position = TALLYFEED__POSITION__POSITION_HEAD;
	c1.votes_for = 30;
	c1.votes_against = 4;
	c1.votes_abstain = 1;
	c1.elected = 1;
	c1.position_won = TALLYFEED__POSITION__POSITION_HEAD;
	c1.gender = TALLYFEED__GENDER__GENDER_MALE;
	c1.ethnicity = "藏族";
	c1.birth_year = 1900;
	c1.education = TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE;
	c1.party_member = 1;
	c1.reelected = 1;
	c1.concurrent_head = 1;
	c1.cross_serving = 1;
	c2.candidate_id = "PB-0002";
	c2.name = "拉毛";
	c2.position = TALLYFEED__POSITION__POSITION_MEMBER;
	c2.votes_for = TF_COUNT_MAX;         /* the largest count the format takes */
	c2.gender = TALLYFEED__GENDER__GENDER_FEMALE;
	c2.birth_year = 2100;
	r.unit_code = "632221400400";
	r.committee = TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;
	r.round = 100;
	r.revision = 1000000;
	r.held_on = "2018-01-05";
	r.registered = TF_COUNT_MAX;
	r.excused = 2;
	r.took_part = 35;
	r.proxy_votes = 0;
	r.ballots_issued = 36;
	r.ballots_returned = 35;
	r.ballots_valid = 34;
	r.ballots_invalid = 1;
	r.ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION;
	r.n_seats = 2;
	r.seats = seats;
	r.n_candidates = 2;
	r.candidates = cands;
	r.sheet_photo_sha256.data = hash;
	r.sheet_photo_sha256.len = 32;
	r.announced_on_site = 0;
	s_assert_round_trip(&r, 0);
	s_assert_round_trip(&r, 4);

	bytes = s_pack(&r, &len);
	unpacked = tf_report_unpack(bytes, len);
	assert_non_null(unpacked);
	s_assert_same_report(&r, unpacked);
	s_assert_round_trip(unpacked, 0);
	tf_report_destroy(&unpacked);
	free(bytes);
}

/* The examples shipped in deploy/examples/ parse and survive the trip. */
static void
test_shipped_examples(void **state)
{
	static const struct {
		const char *file;
		Tallyfeed__Committee committee;
	} examples[] = {
		{ "villagers.json", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS },
		{ "residents.json", TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS },
		{ "party_branch.json", TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH },
	};

	(void)state;
	for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
		char path[512], err[512] = "";
		tf_report_t *r;

		snprintf(path, sizeof path, "%s/deploy/examples/%s", TF_SOURCE_DIR, examples[i].file);
		r = tf_report_from_file(path, err, sizeof err);
		if (r == NULL)
			fail_msg("%s", err);
		assert_int_equal(r->committee, examples[i].committee);
		assert_true(r->n_candidates > 0);
		s_assert_round_trip(r, 2);
		tf_report_destroy(&r);
	}
}

static void
test_unpack_garbage_is_null(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t truncated[] = { 0x0a, 0x0c, '6', '3' };  /* unit_code, 12 bytes promised */

	(void)state;
	assert_null(tf_report_unpack(garbage, sizeof garbage));
	assert_null(tf_report_unpack(truncated, sizeof truncated));
}

static void
test_from_file(void **state)
{
	char path[] = "/tmp/tf-report-XXXXXX", err[512] = "";
	int fd = mkstemp(path);
	tf_report_t *r;
	FILE *fp;

	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(s_example, fp);
	assert_int_equal(fclose(fp), 0);
	r = tf_report_from_file(path, err, sizeof err);
	if (r == NULL)
		fail_msg("%s", err);
	assert_int_equal(r->n_candidates, 8);
	tf_report_destroy(&r);

	/* An error in the file names the file, then the path in it. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"unit\": 630121101201}", fp);
	assert_int_equal(fclose(fp), 0);
	assert_null(tf_report_from_file(path, err, sizeof err));
	assert_starts_with(err, path);
	assert_contains(err, ": unit: expected a string");
	assert_int_equal(unlink(path), 0);

	assert_null(tf_report_from_file(path, err, sizeof err));
	assert_starts_with(err, path);
	assert_contains(err, strerror(ENOENT));
}

static void
test_from_file_too_large(void **state)
{
	char path[] = "/tmp/tf-report-XXXXXX", err[512] = "";
	int fd = mkstemp(path);
	FILE *fp;

	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	/* Valid JSON (whitespace after the object) but one byte over the limit. */
	fputs(s_example, fp);
	for (size_t i = strlen(s_example); i < TF_REPORT_FILE_MAX + 1; i++)
		fputc(' ', fp);
	assert_int_equal(fclose(fp), 0);
	assert_null(tf_report_from_file(path, err, sizeof err));
	assert_contains(err, "larger than");
	assert_int_equal(unlink(path), 0);
}

static void
test_words(void **state)
{
	(void)state;
	assert_string_equal(tf_committee_word(TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS), "villagers");
	assert_string_equal(tf_committee_word(TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS), "residents");
	assert_string_equal(tf_committee_word(TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH),
	                    "party_branch");
	assert_string_equal(tf_committee_word(TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED),
	                    "unspecified");
	assert_string_equal(tf_committee_word((Tallyfeed__Committee)4), "unspecified");
	assert_string_equal(tf_committee_word((Tallyfeed__Committee)-1), "unspecified");
	assert_string_equal(tf_position_word(TALLYFEED__POSITION__POSITION_HEAD), "head");
	assert_string_equal(tf_position_word(TALLYFEED__POSITION__POSITION_DEPUTY), "deputy");
	assert_string_equal(tf_position_word(TALLYFEED__POSITION__POSITION_MEMBER), "member");
	assert_string_equal(tf_position_word(TALLYFEED__POSITION__POSITION_UNSPECIFIED),
	                    "unspecified");
	assert_string_equal(tf_position_word((Tallyfeed__Position)4), "unspecified");
}

/* ---- refusals, each naming the path ---- */

static void
test_unknown_key_top(void **state)
{
	json_t *top = s_example_tree();

	(void)state;
	json_object_set_new(top, "comittee", json_string("villagers"));
	s_expect_error(top, "comittee: unknown key");
}

static void
test_unknown_key_candidate(void **state)
{
	json_t *top = s_example_tree();

	(void)state;
	json_object_set_new(s_candidate(top, 1), "vote_for", json_integer(3));
	s_expect_error(top, "candidates[1].vote_for: unknown key");
}

static void
test_unknown_key_nested(void **state)
{
	json_t *top;

	(void)state;
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "electorate"), "registred", json_integer(3));
	s_expect_error(top, "electorate.registred: unknown key");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "ballots"), "spoilt", json_integer(3));
	s_expect_error(top, "ballots.spoilt: unknown key");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "seats"), "secretary", json_integer(1));
	s_expect_error(top, "seats.secretary: unknown key");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "photo", json_string("x"));
	s_expect_error(top, "attestation.photo: unknown key");
}

static void
test_missing_required_key(void **state)
{
	static const char *top_keys[] = {
		"unit", "committee", "round", "revision", "electorate", "ballots", "ballot_mode",
		"seats", "candidates"
	};
	static const char *cand_keys[] = { "id", "name", "position", "votes_for", "elected" };
	static const char *elected_keys[] = {
		"position_won", "gender", "ethnicity", "birth_year", "education"
	};
	char want[128];
	json_t *top;

	(void)state;
	for (size_t i = 0; i < sizeof top_keys / sizeof top_keys[0]; i++) {
		top = s_example_tree();
		json_object_del(top, top_keys[i]);
		snprintf(want, sizeof want, "%s: missing", top_keys[i]);
		s_expect_error(top, want);
	}
	top = s_example_tree();
	json_object_del(json_object_get(top, "electorate"), "took_part");
	s_expect_error(top, "electorate.took_part: missing");
	top = s_example_tree();
	json_object_del(json_object_get(top, "ballots"), "invalid");
	s_expect_error(top, "ballots.invalid: missing");
	for (size_t i = 0; i < sizeof cand_keys / sizeof cand_keys[0]; i++) {
		top = s_example_tree();
		json_object_del(s_candidate(top, 3), cand_keys[i]);
		snprintf(want, sizeof want, "candidates[3].%s: missing", cand_keys[i]);
		s_expect_error(top, want);
	}
	/* What an elected member must give for the composition figures. */
	for (size_t i = 0; i < sizeof elected_keys / sizeof elected_keys[0]; i++) {
		top = s_example_tree();
		json_object_del(s_candidate(top, 4), elected_keys[i]);
		snprintf(want, sizeof want, "candidates[4].%s: missing", elected_keys[i]);
		s_expect_error(top, want);
	}
	/* Optional ones may go. */
	top = s_example_tree();
	json_object_del(top, "held_on");
	json_object_del(top, "attestation");
	json_object_del(json_object_get(top, "electorate"), "proxy_votes");
	json_object_del(s_candidate(top, 0), "votes_against");
	json_object_del(s_candidate(top, 0), "party_member");
	tf_report_t *r = s_expect_ok(top);
	assert_int_equal(r->proxy_votes, 0);
	assert_int_equal(r->candidates[0]->votes_against, 0);
	assert_false(r->candidates[0]->party_member);
	tf_report_destroy(&r);
}

static void
test_empty_required_string(void **state)
{
	json_t *top;

	(void)state;
	top = s_example_tree();
	json_object_set_new(top, "unit", json_string(""));
	s_expect_error(top, "unit: must not be empty");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 2), "name", json_string(""));
	s_expect_error(top, "candidates[2].name: must not be empty");
}

static void
test_negative_number(void **state)
{
	json_t *top;

	(void)state;
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "ballots"), "valid", json_integer(-1));
	s_expect_error(top, "ballots.valid: must not be negative");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 5), "votes_for", json_integer(-650));
	s_expect_error(top, "candidates[5].votes_for: must not be negative");
	top = s_example_tree();
	json_object_set_new(top, "round", json_integer(-1));
	s_expect_error(top, "round: must not be negative");
}

static void
test_non_integer(void **state)
{
	json_t *top;

	(void)state;
	top = s_example_tree();
	json_object_set_new(top, "round", json_real(1.5));
	s_expect_error(top, "round: expected a whole number");
	top = s_example_tree();
	json_object_set_new(top, "revision", json_real(2.0));    /* 2.0 is a real in JSON */
	s_expect_error(top, "revision: expected a whole number");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "electorate"), "registered", json_string("1000"));
	s_expect_error(top, "electorate.registered: expected a whole number");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "votes_for", json_null());
	s_expect_error(top, "candidates[0].votes_for: expected a whole number");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "elected", json_integer(1));
	s_expect_error(top, "candidates[0].elected: expected true or false");
	top = s_example_tree();
	json_object_set_new(top, "electorate", json_integer(1));
	s_expect_error(top, "electorate: expected an object");
	top = s_example_tree();
	json_object_set_new(top, "candidates", json_object());
	s_expect_error(top, "candidates: expected an array");
	top = s_example_tree();
	json_array_append_new(json_object_get(top, "candidates"), json_string("h3"));
	s_expect_error(top, "candidates[8]: expected an object");
}

static void
test_too_large(void **state)
{
	json_t *top;
	tf_report_t *r;

	(void)state;
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "electorate"), "registered",
	                    json_integer(TF_COUNT_MAX + 1));
	s_expect_error(top, "electorate.registered: too large (got 1000001, at most 1000000)");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "electorate"), "registered",
	                    json_integer(TF_COUNT_MAX));
	r = s_expect_ok(top);
	assert_int_equal(r->registered, TF_COUNT_MAX);
	tf_report_destroy(&r);
	top = s_example_tree();
	/* Larger than 32 bits must not wrap into range. */
	json_object_set_new(s_candidate(top, 1), "votes_for", json_integer(4294967296LL + 150));
	s_expect_error(top, "candidates[1].votes_for: too large");
	top = s_example_tree();
	json_object_set_new(top, "round", json_integer(101));
	s_expect_error(top, "round: too large");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "seats"), "member", json_integer(101));
	s_expect_error(top, "seats.member: too large");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "birth_year", json_integer(2101));
	s_expect_error(top, "candidates[0].birth_year: too large");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "birth_year", json_integer(1899));
	s_expect_error(top, "candidates[0].birth_year: must be between 1900 and 2100");
	/* Beyond what jansson holds at all: refused at the text level. */
	{
		static const char huge[] = "{\"round\": 99999999999999999999}";
		s_expect_error_text(huge, strlen(huge), "line 1 column");
	}
}

static void
test_string_too_long(void **state)
{
	char name[80] = "";
	json_t *top;
	tf_report_t *r;

	(void)state;
	for (int i = 0; i < 21; i++)
		strcat(name, "卓");
	strcat(name, "a");                     /* 64 bytes: the most */
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 1), "name", json_string(name));
	r = s_expect_ok(top);
	assert_string_equal(r->candidates[1]->name, name);
	tf_report_destroy(&r);
	strcat(name, "b");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 1), "name", json_string(name));
	s_expect_error(top, "candidates[1].name: longer than 64 bytes");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 1), "id", json_string("123456789012345678901234567890123"));
	s_expect_error(top, "candidates[1].id: longer than 32 bytes");
	top = s_example_tree();
	json_object_set_new(top, "unit", json_string("6301211012010"));
	s_expect_error(top, "unit: longer than 12 bytes");
}

static void
test_bad_enum_word(void **state)
{
	json_t *top;

	(void)state;
	top = s_example_tree();
	json_object_set_new(top, "committee", json_string("village"));
	s_expect_error(top, "committee: expected one of: villagers, residents, party_branch");
	top = s_example_tree();
	json_object_set_new(top, "committee", json_integer(1));   /* numbers are not words */
	s_expect_error(top, "committee: expected one of:");
	top = s_example_tree();
	json_object_set_new(top, "ballot_mode", json_string("Combined"));
	s_expect_error(top, "ballot_mode: expected one of: combined, per_position");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 4), "position", json_string("chair"));
	s_expect_error(top, "candidates[4].position: expected one of: head, deputy, member");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "gender", json_string("f"));
	s_expect_error(top, "candidates[0].gender: expected one of: male, female");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "education", json_string("college"));
	s_expect_error(top, "candidates[0].education: expected one of: primary,");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "position_won", json_string("unspecified"));
	s_expect_error(top, "candidates[0].position_won: expected one of:");
}

static void
test_position_won_not_elected(void **state)
{
	json_t *top = s_example_tree();

	(void)state;
	json_object_set_new(s_candidate(top, 1), "position_won", json_string("head"));
	s_expect_error(top, "candidates[1].position_won: given for a candidate not elected");
}

static void
test_elected_without_position_won(void **state)
{
	json_t *top = s_example_tree();

	(void)state;
	json_object_del(s_candidate(top, 0), "position_won");
	s_expect_error(top, "candidates[0].position_won: missing");
}

static void
test_bad_sha256(void **state)
{
	static const char good[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	char hex[80];
	json_t *top;
	tf_report_t *r;

	(void)state;
	/* 63 digits, 65 digits, a non-hex letter, spaces. */
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256",
	                    json_stringn(good, 63));
	s_expect_error(top, "attestation.sheet_photo_sha256: expected 64 hexadecimal digits");
	snprintf(hex, sizeof hex, "%s0", good);
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256", json_string(hex));
	s_expect_error(top, "attestation.sheet_photo_sha256:");
	snprintf(hex, sizeof hex, "%s", good);
	hex[10] = 'g';
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256", json_string(hex));
	s_expect_error(top, "attestation.sheet_photo_sha256: expected 64 hexadecimal digits");
	hex[10] = ' ';
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256", json_string(hex));
	s_expect_error(top, "attestation.sheet_photo_sha256: expected 64 hexadecimal digits");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256", json_string(""));
	s_expect_error(top, "attestation.sheet_photo_sha256: expected 64 hexadecimal digits");
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256", json_integer(0));
	s_expect_error(top, "attestation.sheet_photo_sha256: expected a string");
	/* Upper-case hex is hex. */
	for (size_t i = 0; i < 64; i++)
		hex[i] = (char)(good[i] >= 'a' ? good[i] - 32 : good[i]);
	top = s_example_tree();
	json_object_set_new(json_object_get(top, "attestation"), "sheet_photo_sha256", json_string(hex));
	r = s_expect_ok(top);
	assert_int_equal(r->sheet_photo_sha256.len, 32);
	assert_int_equal(r->sheet_photo_sha256.data[0], 0x9f);
	tf_report_destroy(&r);
}

static void
test_invalid_json_line_column(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "{\n  \"unit\": \"630121101201\",\n  \"round\": \n}", "line 4 column 1:" },
		{ "{\"unit\": \"630121101201\",}", "line 1 column 25:" },
		{ "{\"unit\" \"630121101201\"}", "line 1 column 22:" },
		{ "", "line 1 column 0:" },
		{ "{} trailing", "line 1 column" },
		{ "[]", "(top): a result file holds one JSON object" },
		{ "\"630121101201\"", "line 1 column" },   /* jansson wants an object or array */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		s_expect_error_text(cases[i][0], strlen(cases[i][0]), cases[i][1]);
}

static void
test_duplicate_keys(void **state)
{
	static const char text[] = "{\"unit\": \"630121101201\",\n \"round\": 1,\n \"round\": 2}";

	(void)state;
	s_expect_error_text(text, sizeof text - 1, "line 3 column");
	{
		char err[256];
		assert_null(tf_report_from_json(text, sizeof text - 1, err, sizeof err));
		assert_contains(err, "duplicate object key");
		assert_contains(err, "round");
	}
}

static json_t *
s_candidates_array(size_t n)
{
	json_t *a = json_array();
	char id[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof id, "c%zu", i);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:b}", "id", id, "name", "x",
		                                   "position", "member", "votes_for", 1,
		                                   "elected", 0));
	}
	return a;
}

static void
test_candidate_ceiling(void **state)
{
	json_t *top;
	tf_report_t *r;

	(void)state;
	top = s_example_tree();
	json_object_set_new(top, "candidates", s_candidates_array(200));
	r = s_expect_ok(top);
	assert_int_equal(r->n_candidates, 200);
	assert_string_equal(r->candidates[199]->candidate_id, "c199");
	tf_report_destroy(&r);
	top = s_example_tree();
	json_object_set_new(top, "candidates", s_candidates_array(201));
	s_expect_error(top, "candidates: more than 200 candidates");
}

/* Bytes that are not UTF-8 never reach the parser's fields: jansson refuses
 * the text, at its line and column. */
static void
test_invalid_utf8_in_name(void **state)
{
	static const char *bad[] = {
		"\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xb8"
	};
	char text[4096];
	char *example = strdup(s_example), *at;
	int line = 1;

	(void)state;
	assert_non_null(example);
	at = strstr(example, "\"李明\"");
	assert_non_null(at);
	for (const char *p = example; p < at; p++)
		line += *p == '\n';
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char where[32];
		snprintf(text, sizeof text, "%.*s\"李%s明\"%s", (int)(at - example), example, bad[i],
		         at + strlen("\"李明\""));
		snprintf(where, sizeof where, "line %d column", line);
		s_expect_error_text(text, strlen(text), where);
	}
	free(example);
}

/* What does decode as JSON text but is not allowed in a name: control
 * characters, named by path. */
static void
test_control_chars_in_name(void **state)
{
	json_t *top;

	(void)state;
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 1), "name", json_string("李\x01明"));
	s_expect_error(top, "candidates[1].name: not valid UTF-8 text");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 1), "name", json_string("李\n明"));
	s_expect_error(top, "candidates[1].name: not valid UTF-8 text");
	top = s_example_tree();
	json_object_set_new(s_candidate(top, 0), "ethnicity", json_string("回\t族"));
	s_expect_error(top, "candidates[0].ethnicity: not valid UTF-8 text");
	/* A NUL inside the string is refused before it could cut the name short. */
	{
		static const char nul[] = "{\"unit\": \"6301\\u0000\"}";
		s_expect_error_text(nul, strlen(nul), "line 1 column");
	}
}

static void
test_to_json_output(void **state)
{
	tf_report_t *r = s_parse_ok(s_example);
	char *text = tf_report_to_json(r, 0);

	(void)state;
	assert_non_null(text);
	/* Compact, keys in the documented order, hash as lowercase hex. */
	assert_null(strchr(text, '\n'));
	assert_starts_with(text, "{\"unit\":\"630121101201\",\"committee\":\"villagers\",\"round\":1,"
	                   "\"revision\":2,\"held_on\":\"2017-11-18\"");
	assert_contains(text, "\"sheet_photo_sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
	                "2b0b822cd15d6c15b0f00a08\"");
	assert_contains(text, "\"name\":\"马德福\"");
	free(text);
	text = tf_report_to_json(r, 2);
	assert_non_null(text);
	assert_contains(text, "\n  \"unit\": \"630121101201\"");
	free(text);
	tf_report_destroy(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_every_field_lands),
		cmocka_unit_test(test_minimal_party_branch),
		cmocka_unit_test(test_round_trip_example),
		cmocka_unit_test(test_serialized_text_is_stable),
		cmocka_unit_test(test_round_trip_built_in_c),
		cmocka_unit_test(test_shipped_examples),
		cmocka_unit_test(test_unpack_garbage_is_null),
		cmocka_unit_test(test_from_file),
		cmocka_unit_test(test_from_file_too_large),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_unknown_key_top),
		cmocka_unit_test(test_unknown_key_candidate),
		cmocka_unit_test(test_unknown_key_nested),
		cmocka_unit_test(test_missing_required_key),
		cmocka_unit_test(test_empty_required_string),
		cmocka_unit_test(test_negative_number),
		cmocka_unit_test(test_non_integer),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_string_too_long),
		cmocka_unit_test(test_bad_enum_word),
		cmocka_unit_test(test_position_won_not_elected),
		cmocka_unit_test(test_elected_without_position_won),
		cmocka_unit_test(test_bad_sha256),
		cmocka_unit_test(test_invalid_json_line_column),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_candidate_ceiling),
		cmocka_unit_test(test_invalid_utf8_in_name),
		cmocka_unit_test(test_control_chars_in_name),
		cmocka_unit_test(test_to_json_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
