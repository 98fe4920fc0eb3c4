/*
 * report: result files (JSON) to and from ResultReport, strictly.
 */
#include "report.h"
#include "envelope.h"
#include "rules.h"
#include "utf8.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One ceiling for a count, in a file as on the wire: the rules' own. */
#define COUNT_MAX ((unsigned)TF_COUNT_MAX)
#define CANDIDATES_MAX 200      /* ballot lines in one report */

/* Words for enum values in the JSON format, indexed by the enum's value. */
static const char *s_committee_words[] = { NULL, "villagers", "residents", "party_branch" };
static const char *s_position_words[] = { NULL, "head", "deputy", "member" };
/* The committees' Chinese names, as the entry desk and the spreadsheet offer
 * them to township staff. */
static const char *s_committee_names_zh[] = { NULL, "村民委员会", "居民委员会", "党支部委员会" };
static const char *s_mode_words[] = { NULL, "combined", "per_position" };
static const char *s_gender_words[] = { NULL, "male", "female" };
static const char *s_education_words[] = {
	NULL, "primary", "junior_secondary", "senior_secondary", "junior_college",
	"bachelor", "postgraduate"
};
#define NWORDS(a) (int)(sizeof(a) / sizeof(a[0]))

const char *
tf_committee_word(Tallyfeed__Committee committee)
{
	if ((int)committee <= 0 || (int)committee >= NWORDS(s_committee_words))
		return "unspecified";
	return s_committee_words[committee];
}

const char *
tf_committee_name_zh(Tallyfeed__Committee committee)
{
	if ((int)committee <= 0 || (int)committee >= NWORDS(s_committee_names_zh))
		return "该委员会";
	return s_committee_names_zh[committee];
}

const char *
tf_position_name_zh(Tallyfeed__Committee committee, Tallyfeed__Position position)
{
	bool party = committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;

	switch (position) {
	case TALLYFEED__POSITION__POSITION_HEAD:
		return party ? "书记" : "主任";
	case TALLYFEED__POSITION__POSITION_DEPUTY:
		return party ? "副书记" : "副主任";
	case TALLYFEED__POSITION__POSITION_MEMBER:
		return "委员";
	default:
		return "未定职位";
	}
}

const char *
tf_position_word(Tallyfeed__Position position)
{
	if ((int)position <= 0 || (int)position >= NWORDS(s_position_words))
		return "unspecified";
	return s_position_words[position];
}

/* Parsing state: where we are, for error messages. */
typedef struct {
	char *err;
	size_t errlen;
	char path[128];
} parse_t;

static int
s_fail(parse_t *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_fail(parse_t *p, const char *key, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (key != NULL)
		snprintf(p->err, p->errlen, "%s%s%s: %s", p->path, p->path[0] ? "." : "", key, reason);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->path[0] ? p->path : "(top)", reason);
	return -1;
}

/* Refuse keys not in allowed: a misspelt key must not become a silent default. */
static int
s_known_keys(parse_t *p, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value) {
		bool found = false;
		(void)value;
		for (const char *const *a = allowed; *a != NULL; a++)
			if (strcmp(key, *a) == 0)
				found = true;
		if (!found)
			return s_fail(p, key, "unknown key");
	}
	return 0;
}

static int
s_object(parse_t *p, json_t *parent, const char *key, json_t **out)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL)
		return s_fail(p, key, "missing");
	if (!json_is_object(v))
		return s_fail(p, key, "expected an object");
	*out = v;
	return 0;
}

static int
s_uint(parse_t *p, json_t *obj, const char *key, bool required, uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	*out = 0;
	if (v == NULL)
		return required ? s_fail(p, key, "missing") : 0;
	if (!json_is_integer(v))
		return s_fail(p, key, "expected a whole number");
	n = json_integer_value(v);
	if (n < 0)
		return s_fail(p, key, "must not be negative (got %lld)", (long long)n);
	if ((unsigned long long)n > max)
		return s_fail(p, key, "too large (got %lld, at most %u)", (long long)n, max);
	*out = (uint32_t)n;
	return 0;
}

static int
s_bool(parse_t *p, json_t *obj, const char *key, bool required, protobuf_c_boolean *out)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (v == NULL)
		return required ? s_fail(p, key, "missing") : 0;
	if (!json_is_boolean(v))
		return s_fail(p, key, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

/* A string of at most max bytes of valid UTF-8; *out is malloc'd or left alone if absent. */
static int
s_string(parse_t *p, json_t *obj, const char *key, bool required, size_t max, char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	if (v == NULL)
		return required ? s_fail(p, key, "missing") : 0;
	if (!json_is_string(v))
		return s_fail(p, key, "expected a string");
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 && required)
		return s_fail(p, key, "must not be empty");
	if (len > max)
		return s_fail(p, key, "longer than %zu bytes", max);
	if (strlen(s) != len || !tf_utf8_valid(s, len))
		return s_fail(p, key, "not valid UTF-8 text (control characters are not allowed)");
	*out = strdup(s);
	if (*out == NULL)
		return s_fail(p, key, "out of memory");
	return 0;
}

static int
s_word(parse_t *p, json_t *obj, const char *key, bool required, const char **words, int nwords,
       int *out)
{
	json_t *v = json_object_get(obj, key);
	char choices[256] = "";

	*out = 0;
	if (v == NULL)
		return required ? s_fail(p, key, "missing") : 0;
	if (json_is_string(v))
		for (int i = 1; i < nwords; i++)
			if (strcmp(json_string_value(v), words[i]) == 0) {
				*out = i;
				return 0;
			}
	for (int i = 1; i < nwords; i++) {
		strncat(choices, words[i], sizeof choices - strlen(choices) - 1);
		if (i + 1 < nwords)
			strncat(choices, ", ", sizeof choices - strlen(choices) - 1);
	}
	return s_fail(p, key, "expected one of: %s", choices);
}

static int
s_parse_candidate(parse_t *p, json_t *c, Tallyfeed__Candidate *cand)
{
	static const char *const keys[] = {
		"id", "name", "position", "votes_for", "votes_against", "votes_abstain",
		"elected", "position_won", "gender", "ethnicity", "birth_year", "education",
		"party_member", "reelected", "concurrent_head", "cross_serving", NULL
	};
	int word;

	if (!json_is_object(c))
		return s_fail(p, NULL, "expected an object");
	if (s_known_keys(p, c, keys) != 0
	    || s_string(p, c, "id", true, 32, &cand->candidate_id) != 0
	    || s_string(p, c, "name", true, 64, &cand->name) != 0)
		return -1;
	if (s_word(p, c, "position", true, s_position_words, NWORDS(s_position_words), &word) != 0)
		return -1;
	cand->position = (Tallyfeed__Position)word;
	if (s_uint(p, c, "votes_for", true, COUNT_MAX, &cand->votes_for) != 0
	    || s_uint(p, c, "votes_against", false, COUNT_MAX, &cand->votes_against) != 0
	    || s_uint(p, c, "votes_abstain", false, COUNT_MAX, &cand->votes_abstain) != 0
	    || s_bool(p, c, "elected", true, &cand->elected) != 0)
		return -1;
	if (s_word(p, c, "position_won", cand->elected, s_position_words,
	           NWORDS(s_position_words), &word) != 0)
		return -1;
	cand->position_won = (Tallyfeed__Position)word;
	if (!cand->elected && word != 0)
		return s_fail(p, "position_won", "given for a candidate not elected");
	if (s_word(p, c, "gender", cand->elected, s_gender_words, NWORDS(s_gender_words), &word) != 0)
		return -1;
	cand->gender = (Tallyfeed__Gender)word;
	if (s_string(p, c, "ethnicity", cand->elected, 32, &cand->ethnicity) != 0
	    || s_uint(p, c, "birth_year", cand->elected, TF_YEAR_MAX, &cand->birth_year) != 0)
		return -1;
	if (cand->birth_year != 0 && cand->birth_year < TF_YEAR_MIN)
		return s_fail(p, "birth_year", "must be between %d and %d", TF_YEAR_MIN, TF_YEAR_MAX);
	if (s_word(p, c, "education", cand->elected, s_education_words,
	           NWORDS(s_education_words), &word) != 0)
		return -1;
	cand->education = (Tallyfeed__Education)word;
	if (s_bool(p, c, "party_member", false, &cand->party_member) != 0
	    || s_bool(p, c, "reelected", false, &cand->reelected) != 0
	    || s_bool(p, c, "concurrent_head", false, &cand->concurrent_head) != 0
	    || s_bool(p, c, "cross_serving", false, &cand->cross_serving) != 0)
		return -1;
	return 0;
}

static int
s_parse_seats(parse_t *p, json_t *top, tf_report_t *r)
{
	static const char *const keys[] = { "head", "deputy", "member", NULL };
	json_t *seats = NULL;

	if (s_object(p, top, "seats", &seats) != 0)
		return -1;
	snprintf(p->path, sizeof p->path, "seats");
	if (s_known_keys(p, seats, keys) != 0)
		return -1;
	r->seats = calloc(3, sizeof *r->seats);
	if (r->seats == NULL)
		return s_fail(p, NULL, "out of memory");
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		uint32_t count;
		Tallyfeed__Seats *s;

		if (s_uint(p, seats, s_position_words[pos], false, 100, &count) != 0)
			return -1;
		if (count == 0)
			continue;
		s = malloc(sizeof *s);
		if (s == NULL)
			return s_fail(p, NULL, "out of memory");
		tallyfeed__seats__init(s);
		s->position = (Tallyfeed__Position)pos;
		s->count = count;
		r->seats[r->n_seats++] = s;
	}
	p->path[0] = '\0';
	return 0;
}

static int
s_parse(parse_t *p, json_t *top, tf_report_t *r)
{
	static const char *const keys[] = {
		"unit", "committee", "round", "revision", "held_on", "electorate", "ballots",
		"ballot_mode", "seats", "candidates", "attestation", NULL
	};
	static const char *const electorate_keys[] = {
		"registered", "excused", "took_part", "proxy_votes", NULL
	};
	static const char *const ballot_keys[] = { "issued", "returned", "valid", "invalid", NULL };
	static const char *const attestation_keys[] = {
		"sheet_photo_sha256", "announced_on_site", NULL
	};
	json_t *electorate = NULL, *ballots = NULL, *candidates, *attestation;
	char *hash = NULL;
	int word;

	if (!json_is_object(top))
		return s_fail(p, NULL, "a result file holds one JSON object");
	if (s_known_keys(p, top, keys) != 0
	    || s_string(p, top, "unit", true, 12, &r->unit_code) != 0)
		return -1;
	if (s_word(p, top, "committee", true, s_committee_words, NWORDS(s_committee_words), &word) != 0)
		return -1;
	r->committee = (Tallyfeed__Committee)word;
	if (s_uint(p, top, "round", true, 100, &r->round) != 0
	    || s_uint(p, top, "revision", true, 1000000, &r->revision) != 0
	    || s_string(p, top, "held_on", false, 10, &r->held_on) != 0)
		return -1;

	if (s_object(p, top, "electorate", &electorate) != 0)
		return -1;
	snprintf(p->path, sizeof p->path, "electorate");
	if (s_known_keys(p, electorate, electorate_keys) != 0
	    || s_uint(p, electorate, "registered", true, COUNT_MAX, &r->registered) != 0
	    || s_uint(p, electorate, "excused", false, COUNT_MAX, &r->excused) != 0
	    || s_uint(p, electorate, "took_part", true, COUNT_MAX, &r->took_part) != 0
	    || s_uint(p, electorate, "proxy_votes", false, COUNT_MAX, &r->proxy_votes) != 0)
		return -1;
	p->path[0] = '\0';

	if (s_object(p, top, "ballots", &ballots) != 0)
		return -1;
	snprintf(p->path, sizeof p->path, "ballots");
	if (s_known_keys(p, ballots, ballot_keys) != 0
	    || s_uint(p, ballots, "issued", true, COUNT_MAX, &r->ballots_issued) != 0
	    || s_uint(p, ballots, "returned", true, COUNT_MAX, &r->ballots_returned) != 0
	    || s_uint(p, ballots, "valid", true, COUNT_MAX, &r->ballots_valid) != 0
	    || s_uint(p, ballots, "invalid", true, COUNT_MAX, &r->ballots_invalid) != 0)
		return -1;
	p->path[0] = '\0';

	if (s_word(p, top, "ballot_mode", true, s_mode_words, NWORDS(s_mode_words), &word) != 0)
		return -1;
	r->ballot_mode = (Tallyfeed__BallotMode)word;
	if (s_parse_seats(p, top, r) != 0)
		return -1;

	candidates = json_object_get(top, "candidates");
	if (candidates == NULL)
		return s_fail(p, "candidates", "missing");
	if (!json_is_array(candidates))
		return s_fail(p, "candidates", "expected an array");
	if (json_array_size(candidates) > CANDIDATES_MAX)
		return s_fail(p, "candidates", "more than %d candidates", CANDIDATES_MAX);
	r->candidates = calloc(json_array_size(candidates) + 1, sizeof *r->candidates);
	if (r->candidates == NULL)
		return s_fail(p, "candidates", "out of memory");
	for (size_t i = 0; i < json_array_size(candidates); i++) {
		Tallyfeed__Candidate *cand = malloc(sizeof *cand);

		if (cand == NULL)
			return s_fail(p, "candidates", "out of memory");
		tallyfeed__candidate__init(cand);
		r->candidates[r->n_candidates++] = cand;
		snprintf(p->path, sizeof p->path, "candidates[%zu]", i);
		if (s_parse_candidate(p, json_array_get(candidates, i), cand) != 0)
			return -1;
	}
	p->path[0] = '\0';

	attestation = json_object_get(top, "attestation");
	if (attestation == NULL)
		return 0;
	if (!json_is_object(attestation))
		return s_fail(p, "attestation", "expected an object");
	snprintf(p->path, sizeof p->path, "attestation");
	if (s_known_keys(p, attestation, attestation_keys) != 0
	    || s_bool(p, attestation, "announced_on_site", false, &r->announced_on_site) != 0
	    || s_string(p, attestation, "sheet_photo_sha256", false, 64, &hash) != 0)
		return -1;
	if (hash != NULL) {
		size_t bin_len = 0;
		const char *end = NULL;

		r->sheet_photo_sha256.data = malloc(crypto_hash_sha256_BYTES);
		if (r->sheet_photo_sha256.data == NULL) {
			free(hash);
			return s_fail(p, NULL, "out of memory");
		}
		if (strlen(hash) != 2 * crypto_hash_sha256_BYTES
		    || sodium_hex2bin(r->sheet_photo_sha256.data, crypto_hash_sha256_BYTES, hash,
		                      strlen(hash), NULL, &bin_len, &end) != 0
		    || bin_len != crypto_hash_sha256_BYTES) {
			free(hash);
			return s_fail(p, "sheet_photo_sha256", "expected 64 hexadecimal digits");
		}
		r->sheet_photo_sha256.len = bin_len;
		free(hash);
	}
	p->path[0] = '\0';
	return 0;
}

tf_report_t *
tf_report_from_json(const char *text, size_t len, char *err, size_t errlen)
{
	parse_t p = { .err = err, .errlen = errlen, .path = "" };
	json_error_t jerr;
	json_t *top;
	tf_report_t *r = NULL;

	assert(text != NULL && err != NULL);
	top = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (top == NULL) {
		snprintf(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	r = malloc(sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	tallyfeed__result_report__init(r);
	if (s_parse(&p, top, r) != 0)
		tf_report_destroy(&r);
out:
	json_decref(top);
	return r;
}

tf_report_t *
tf_report_from_file(const char *path, char *err, size_t errlen)
{
	char reason[512];
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	tf_report_t *r = NULL;

	fp = fopen(path, "rb");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(TF_REPORT_FILE_MAX + 1);
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, TF_REPORT_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len > TF_REPORT_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, TF_REPORT_FILE_MAX);
		goto out;
	}
	r = tf_report_from_json(text, len, reason, sizeof reason);
	if (r == NULL)
		snprintf(err, errlen, "%s: %s", path, reason);
out:
	free(text);
	fclose(fp);
	return r;
}

tf_report_t *
tf_report_unpack(const uint8_t *data, size_t len)
{
	/* Bounded like the collector's own decode (envelope.h). */
	tf_budget_t *budget = tf_budget_new(TF_DECODE_MAX, NULL);
	tf_report_t *r = NULL;

	if (budget != NULL && len <= TF_MESSAGE_MAX)
		r = tallyfeed__result_report__unpack(tf_budget_allocator(budget), len, data);
	tf_budget_destroy(&budget);
	return r;
}

void
tf_report_destroy(tf_report_t **report_p)
{
	assert(report_p != NULL);
	if (*report_p == NULL)
		return;
	/* Everything in a report, parsed or unpacked, comes from malloc, the
	 * default allocator, so protobuf-c's own free walks it correctly. */
	tallyfeed__result_report__free_unpacked(*report_p, NULL);
	*report_p = NULL;
}

static const char *
s_word_of(const char **words, int nwords, int value)
{
	return value > 0 && value < nwords ? words[value] : "unspecified";
}

char *
tf_report_to_json(const tf_report_t *r, int indent)
{
	json_t *top, *seats, *cands;
	char *text;

	assert(r != NULL);
	seats = json_object();
	for (size_t i = 0; i < r->n_seats; i++)
		json_object_set_new(seats, tf_position_word(r->seats[i]->position),
		                    json_integer(r->seats[i]->count));
	cands = json_array();
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
		                      "id", c->candidate_id, "name", c->name,
		                      "position", tf_position_word(c->position),
		                      "votes_for", (json_int_t)c->votes_for,
		                      "votes_against", (json_int_t)c->votes_against,
		                      "votes_abstain", (json_int_t)c->votes_abstain,
		                      "elected", (int)c->elected);
		if (o == NULL) {        /* a string that is not UTF-8: not representable */
			json_decref(cands);
			json_decref(seats);
			return NULL;
		}
		if (c->elected)
			json_object_set_new(o, "position_won",
			                    json_string(tf_position_word(c->position_won)));
		if (c->gender)
			json_object_set_new(o, "gender", json_string(s_word_of(s_gender_words,
			                    NWORDS(s_gender_words), c->gender)));
		if (c->ethnicity && c->ethnicity[0])
			json_object_set_new(o, "ethnicity", json_string(c->ethnicity));
		if (c->birth_year)
			json_object_set_new(o, "birth_year", json_integer(c->birth_year));
		if (c->education)
			json_object_set_new(o, "education", json_string(s_word_of(s_education_words,
			                    NWORDS(s_education_words), c->education)));
		json_object_set_new(o, "party_member", json_boolean(c->party_member));
		json_object_set_new(o, "reelected", json_boolean(c->reelected));
		json_object_set_new(o, "concurrent_head", json_boolean(c->concurrent_head));
		json_object_set_new(o, "cross_serving", json_boolean(c->cross_serving));
		json_array_append_new(cands, o);
	}
	top = json_pack("{s:s, s:s, s:I, s:I}",
	                "unit", r->unit_code, "committee", tf_committee_word(r->committee),
	                "round", (json_int_t)r->round, "revision", (json_int_t)r->revision);
	if (top == NULL) {
		json_decref(cands);
		json_decref(seats);
		return NULL;
	}
	if (r->held_on && r->held_on[0])
		json_object_set_new(top, "held_on", json_string(r->held_on));
	json_object_set_new(top, "electorate", json_pack("{s:I, s:I, s:I, s:I}",
	                    "registered", (json_int_t)r->registered,
	                    "excused", (json_int_t)r->excused,
	                    "took_part", (json_int_t)r->took_part,
	                    "proxy_votes", (json_int_t)r->proxy_votes));
	json_object_set_new(top, "ballots", json_pack("{s:I, s:I, s:I, s:I}",
	                    "issued", (json_int_t)r->ballots_issued,
	                    "returned", (json_int_t)r->ballots_returned,
	                    "valid", (json_int_t)r->ballots_valid,
	                    "invalid", (json_int_t)r->ballots_invalid));
	json_object_set_new(top, "ballot_mode", json_string(s_word_of(s_mode_words,
	                    NWORDS(s_mode_words), r->ballot_mode)));
	json_object_set_new(top, "seats", seats);
	json_object_set_new(top, "candidates", cands);
	if (r->sheet_photo_sha256.len > 0 || r->announced_on_site) {
		json_t *att = json_object();
		if (r->sheet_photo_sha256.len > 0) {
			char hex[2 * 64 + 1];
			size_t n = r->sheet_photo_sha256.len > 64 ? 64 : r->sheet_photo_sha256.len;
			sodium_bin2hex(hex, sizeof hex, r->sheet_photo_sha256.data, n);
			json_object_set_new(att, "sheet_photo_sha256", json_string(hex));
		}
		json_object_set_new(att, "announced_on_site", json_boolean(r->announced_on_site));
		json_object_set_new(top, "attestation", att);
	}
	text = json_dumps(top, JSON_PRESERVE_ORDER | (indent > 0 ? JSON_INDENT(indent) : JSON_COMPACT));
	json_decref(top);
	return text;
}
