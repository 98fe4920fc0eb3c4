/*
 * rules: the election rules validator (DOMAIN.md "Checks").
 *
 * Thresholds, from the law text.  Each one that varies by province or by
 * rule edition is a field of tf_rules_config_t (key in the "rules" section
 * of the daemon's config in brackets); the default is the strict reading.
 *
 *  - Villagers' committee, Organic Law of the Villagers' Committees
 *    art. 15: "the election is valid when more than half of the registered
 *    villagers vote [mass_quorum 1/2]; a candidate is elected with more
 *    than half of the votes of the villagers who voted [mass_elect 1/2].
 *    Seats left unfilled are filled by another election (另行选举): ...
 *    the candidates with the most votes are elected, but with no fewer
 *    than one third of the ballots cast [runoff_min 1/3]."  Ballots cast
 *    (已投选票数, DOMAIN.md's base) are the ballots returned, valid and
 *    invalid alike: every paper put in the box.  Art. 6: three to seven members
 *    [villagers_size 3-7], among them a woman; Qinghai's measures want an
 *    odd number [odd_size_required 1].
 *  - Residents' committee, Organic Law of the Urban Residents' Committees
 *    art. 7: five to nine members [residents_size 5-9]; art. 8 says who
 *    votes (all residents, or a representative per household or per
 *    residents' group) but not when the vote is valid: provincial measures
 *    do [residents_quorum], by default the villagers' rule; who is elected
 *    follows the villagers' rule [mass_elect, runoff_min].
 *  - Party branch committee, the CPC rules on basic-level organisation
 *    elections (1990 interim rules in force in 2017, 2020 rules after):
 *    the meeting is valid when the members present exceed four fifths of
 *    those who should attend [party_attendance 4/5], members excused with
 *    leave removed; elected with yes-votes of more than half of the members
 *    present [party_elect 1/2: exactly half fails]; committee candidates
 *    exceed the seats by at least 20 % [party_candidate_margin_percent 20,
 *    rounded up: a shortfall is flagged, not refused]; no proxies.
 *
 * "More than" is compared as count * den > base * num in 64 bits, so the
 * case exactly at the threshold is decided without rounding.  Where more
 * candidates for a position pass the threshold than there are seats, the
 * most votes win; a tie at the last seat fills neither, and the seat is
 * left for the runoff.  Round 1 is the vote, 2 the runoff for the seats
 * round 1 left unfilled, 3+ a re-election under the rule of round 1.
 */
#include "rules.h"
#include "utf8.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUND_MAX 9
#define REVISION_MAX 1000000
#define SEATS_MAX 100           /* seats for one position */
#define RATIO_DEN_MAX 100       /* largest denominator of a configured ratio */
#define SIZE_MAX_CONF 100       /* largest committee size in a configured range */

void
tf_rules_config_default(tf_rules_config_t *config)
{
	assert(config != NULL);
	memset(config, 0, sizeof *config);
	config->odd_size_required = true;
	config->party_attendance_num = 4;
	config->party_attendance_den = 5;
	config->mass_quorum_num = 1;
	config->mass_quorum_den = 2;
	config->residents_quorum_num = 1;
	config->residents_quorum_den = 2;
	config->mass_elect_num = 1;
	config->mass_elect_den = 2;
	config->runoff_min_num = 1;
	config->runoff_min_den = 3;
	config->party_elect_num = 1;
	config->party_elect_den = 2;
	config->party_candidate_margin_percent = 20;
	config->villagers_size_min = 3;
	config->villagers_size_max = 7;
	config->residents_size_min = 5;
	config->residents_size_max = 9;
}

/* ---- configuration ---- */

typedef enum {
	KEY_BOOL,               /* 0 or 1 */
	KEY_RATIO,              /* "N/D", 0 < N < D <= 100 */
	KEY_PERCENT,            /* 0..100 */
	KEY_RANGE               /* "MIN-MAX", 1 <= MIN <= MAX <= 100 */
} s_key_kind_t;

/* The keys of the rules section and the fields they set (curl's option
 * table): first and second are offsets into tf_rules_config_t. */
static const struct {
	const char *name;
	s_key_kind_t kind;
	size_t first, second;
} s_keys[] = {
	{ "odd_size_required", KEY_BOOL, offsetof(tf_rules_config_t, odd_size_required), 0 },
	{ "mass_quorum", KEY_RATIO, offsetof(tf_rules_config_t, mass_quorum_num),
	  offsetof(tf_rules_config_t, mass_quorum_den) },
	{ "residents_quorum", KEY_RATIO, offsetof(tf_rules_config_t, residents_quorum_num),
	  offsetof(tf_rules_config_t, residents_quorum_den) },
	{ "mass_elect", KEY_RATIO, offsetof(tf_rules_config_t, mass_elect_num),
	  offsetof(tf_rules_config_t, mass_elect_den) },
	{ "runoff_min", KEY_RATIO, offsetof(tf_rules_config_t, runoff_min_num),
	  offsetof(tf_rules_config_t, runoff_min_den) },
	{ "party_attendance", KEY_RATIO, offsetof(tf_rules_config_t, party_attendance_num),
	  offsetof(tf_rules_config_t, party_attendance_den) },
	{ "party_elect", KEY_RATIO, offsetof(tf_rules_config_t, party_elect_num),
	  offsetof(tf_rules_config_t, party_elect_den) },
	{ "party_candidate_margin_percent", KEY_PERCENT,
	  offsetof(tf_rules_config_t, party_candidate_margin_percent), 0 },
	{ "villagers_size", KEY_RANGE, offsetof(tf_rules_config_t, villagers_size_min),
	  offsetof(tf_rules_config_t, villagers_size_max) },
	{ "residents_size", KEY_RANGE, offsetof(tf_rules_config_t, residents_size_min),
	  offsetof(tf_rules_config_t, residents_size_max) },
};

#define NKEYS (sizeof s_keys / sizeof s_keys[0])

static bool
s_ratio_ok(unsigned num, unsigned den)
{
	return num > 0 && num < den && den <= RATIO_DEN_MAX;
}

/* Every ratio of a config in its range: what tf_rules_decide relies on.
 * Only asserted (a config is built by tf_rules_config_default/_load or by
 * a test), hence unused under NDEBUG. */
static bool s_config_ok(const tf_rules_config_t *c) __attribute__((unused));

static bool
s_config_ok(const tf_rules_config_t *c)
{
	return s_ratio_ok(c->party_attendance_num, c->party_attendance_den)
	       && s_ratio_ok(c->mass_quorum_num, c->mass_quorum_den)
	       && s_ratio_ok(c->residents_quorum_num, c->residents_quorum_den)
	       && s_ratio_ok(c->mass_elect_num, c->mass_elect_den)
	       && s_ratio_ok(c->runoff_min_num, c->runoff_min_den)
	       && s_ratio_ok(c->party_elect_num, c->party_elect_den);
}

/* The whole of [s, s + len) as a decimal number: digits only, no sign,
 * no blanks (strtol would take both). */
static int
s_parse_digits(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 6)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "A<sep>B" as two numbers. */
static int
s_parse_pair(const char *s, char sep, unsigned *a, unsigned *b)
{
	const char *mid = strchr(s, sep);

	if (mid == NULL)
		return -1;
	if (s_parse_digits(s, (size_t)(mid - s), a) != 0
	    || s_parse_digits(mid + 1, strlen(mid + 1), b) != 0)
		return -1;
	return 0;
}

/* Parse one key's value into config; -1 with err naming key and value. */
static int
s_config_set(tf_rules_config_t *config, size_t k, const char *path, const char *value,
             char *err, size_t errlen)
{
	char *base = (char *)config;
	unsigned a = 0, b = 0;

	switch (s_keys[k].kind) {
	case KEY_BOOL:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not 0 or 1", path, value);
			return -1;
		}
		*(bool *)(base + s_keys[k].first) = value[0] == '1';
		return 0;
	case KEY_PERCENT:
		if (s_parse_digits(value, strlen(value), &a) != 0 || a > 100) {
			snprintf(err, errlen, "%s: \"%s\" is not a whole number from 0 to 100", path,
			         value);
			return -1;
		}
		*(unsigned *)(base + s_keys[k].first) = a;
		return 0;
	case KEY_RATIO:
		if (s_parse_pair(value, '/', &a, &b) != 0 || !s_ratio_ok(a, b)) {
			snprintf(err, errlen, "%s: \"%s\" is not a fraction N/D with 0 < N < D <= %d",
			         path, value, RATIO_DEN_MAX);
			return -1;
		}
		break;
	case KEY_RANGE:
		if (s_parse_pair(value, '-', &a, &b) != 0 || a < 1 || a > b || b > SIZE_MAX_CONF) {
			snprintf(err, errlen, "%s: \"%s\" is not a size MIN-MAX with 1 <= MIN <= MAX "
			         "<= %d", path, value, SIZE_MAX_CONF);
			return -1;
		}
		break;
	}
	*(unsigned *)(base + s_keys[k].first) = a;
	*(unsigned *)(base + s_keys[k].second) = b;
	return 0;
}

int
tf_rules_config_load(tf_rules_config_t *config, zconfig_t *root, const char *section,
                     char *err, size_t errlen)
{
	tf_rules_config_t loaded;
	bool seen[NKEYS] = { false };
	char where[256], path[512];
	zconfig_t *rules, *item;

	assert(config != NULL && section != NULL && err != NULL);
	tf_rules_config_default(&loaded);
	snprintf(where, sizeof where, "%s/rules", section);
	rules = root != NULL ? zconfig_locate(root, where) : NULL;
	for (item = rules != NULL ? zconfig_child(rules) : NULL; item != NULL;
	     item = zconfig_next(item)) {
		const char *name = zconfig_name(item), *value = zconfig_value(item);
		size_t k;

		for (k = 0; k < NKEYS; k++)
			if (strcmp(name, s_keys[k].name) == 0)
				break;
		if (k == NKEYS) {
			snprintf(err, errlen, "%s/%s: unknown key", where, name);
			return -1;
		}
		snprintf(path, sizeof path, "%s/%s", where, name);
		if (seen[k]) {
			snprintf(err, errlen, "%s: given twice", path);
			return -1;
		}
		seen[k] = true;
		if (zconfig_child(item) != NULL) {
			snprintf(err, errlen, "%s: has a subsection, expected a value", path);
			return -1;
		}
		if (s_config_set(&loaded, k, path, value != NULL ? value : "", err, errlen) != 0)
			return -1;
	}
	assert(s_config_ok(&loaded));
	*config = loaded;
	return 0;
}

/* ---- names ---- */

const char *
tf_reason_name(int reason)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&tallyfeed__reason__descriptor, reason);

	/* Names are "REASON_X"; the prefix says nothing. */
	return v != NULL ? v->name + strlen("REASON_") : "UNKNOWN";
}

const char *
tf_warning_name(int bit)
{
	static const char *names[TF_WARN_COUNT] = {
		"invalid_election", "no_woman", "size", "full_turnout", "seats_unfilled",
		"candidate_margin", "photo_reused", "identical_figures"
	};

	assert(bit >= 0 && bit < TF_WARN_COUNT);
	return names[bit];
}

static int
s_reject(tf_check_t *out, Tallyfeed__Reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_reject(tf_check_t *out, Tallyfeed__Reason reason, const char *fmt, ...)
{
	char detail[TF_DETAIL_MAX * 2];
	va_list ap;

	out->reason = reason;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	tf_text_bound(out->detail, sizeof out->detail, detail);
	return -1;
}

/* ---- who is elected ---- */

static bool
s_is_party(const tf_report_t *r)
{
	return r->committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;
}

static unsigned
s_seats_for(const tf_report_t *r, Tallyfeed__Position position)
{
	for (size_t i = 0; i < r->n_seats; i++)
		if (r->seats[i]->position == position)
			return r->seats[i]->count;
	return 0;
}

/* count > num/den of base, exactly. */
static bool
s_more_than(unsigned long long count, unsigned long long base, unsigned num, unsigned den)
{
	return count * den > base * num;
}

static bool
s_election_valid(const tf_rules_config_t *config, const tf_report_t *r)
{
	if (s_is_party(r)) {
		unsigned long long should = (unsigned long long)r->registered - r->excused;
		return s_more_than(r->took_part, should, config->party_attendance_num,
		                   config->party_attendance_den);
	}
	if (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS)
		return s_more_than(r->took_part, r->registered, config->residents_quorum_num,
		                   config->residents_quorum_den);
	return s_more_than(r->took_part, r->registered, config->mass_quorum_num,
	                   config->mass_quorum_den);
}

/* Does this candidate's vote pass the threshold for this round? */
static bool
s_passes(const tf_rules_config_t *config, const tf_report_t *r, const Tallyfeed__Candidate *c)
{
	if (s_is_party(r))
		return s_more_than(c->votes_for, r->took_part, config->party_elect_num,
		                   config->party_elect_den);
	/* The runoff's "at least" one third is the one threshold met when
	 * equal.  No votes at all elect nobody, even when no ballot came back. */
	if (r->round == 2)
		return (unsigned long long)c->votes_for * config->runoff_min_den
		       >= (unsigned long long)r->ballots_returned * config->runoff_min_num
		       && c->votes_for > 0;
	return s_more_than(c->votes_for, r->took_part, config->mass_elect_num,
	                   config->mass_elect_den);
}

void
tf_rules_decide(const tf_rules_config_t *config, const tf_report_t *r, bool *elected,
                bool *election_valid)
{
	assert(config != NULL && r != NULL && elected != NULL && election_valid != NULL);
	assert(s_config_ok(config));
	*election_valid = s_election_valid(config, r);
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		unsigned seats = s_seats_for(r, c->position), more = 0, at_least = 0;

		elected[i] = false;
		if (!*election_valid || !s_passes(config, r, c))
			continue;
		/* Rank among the candidates for the same position who also pass. */
		for (size_t j = 0; j < r->n_candidates; j++) {
			const Tallyfeed__Candidate *o = r->candidates[j];
			if (o->position != c->position || !s_passes(config, r, o))
				continue;
			if (o->votes_for > c->votes_for)
				more++;
			if (o->votes_for >= c->votes_for)
				at_least++;
		}
		elected[i] = more < seats && at_least <= seats;
	}
}

/* ---- E checks ---- */

static bool
s_date_valid(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	/* sscanf alone would take signs and blanks: insist on the digits. */
	if (strlen(s) != 10 || strspn(s, "0123456789") != 4 || strspn(s + 5, "0123456789") != 2
	    || strspn(s + 8, "0123456789") != 2)
		return false;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return false;
	if (s[4] != '-' || s[7] != '-' || y < 1990 || y > 2100 || m < 1 || m > 12 || d < 1)
		return false;
	if (m == 2 && d == 29)
		return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1];
}

static int
s_check_text(tf_check_t *out, const char *what, const char *s, size_t max, bool ascii)
{
	size_t len = strlen(s);

	if (len > max || !tf_utf8_valid(s, len))
		return s_reject(out, TALLYFEED__REASON__REASON_FIELD_TOO_LONG,
		                "%s is longer than %zu bytes or not valid UTF-8", what, max);
	if (ascii)
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] >= 0x7f)
				return s_reject(out, TALLYFEED__REASON__REASON_FIELD_TOO_LONG,
				                "%s must be printable ASCII", what);
	return 0;
}

/* An enum field holds one of its declared values (0..max): protobuf-c
 * keeps whatever number the sender put on the wire. */
static int
s_check_enum(tf_check_t *out, const char *what, int value, int max)
{
	if (value < 0 || value > max)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
		                "unknown value %d for %s", value, what);
	return 0;
}

static int
s_check_candidate_enums(const Tallyfeed__Candidate *c, tf_check_t *out)
{
	char what[64];

	snprintf(what, sizeof what, "candidate %s position", c->candidate_id);
	if (s_check_enum(out, what, (int)c->position, TALLYFEED__POSITION__POSITION_MEMBER) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s position_won", c->candidate_id);
	if (s_check_enum(out, what, (int)c->position_won,
	                 TALLYFEED__POSITION__POSITION_MEMBER) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s gender", c->candidate_id);
	if (s_check_enum(out, what, (int)c->gender, TALLYFEED__GENDER__GENDER_FEMALE) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s education", c->candidate_id);
	return s_check_enum(out, what, (int)c->education,
	                    TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE);
}

/* Shape: required fields present, enums declared, strings bounded, no
 * repeats. */
static int
s_check_shape(const tf_report_t *r, tf_check_t *out)
{
	if (r->unit_code == NULL || r->unit_code[0] == '\0')
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD, "unit code is missing");
	if (s_check_text(out, "unit code", r->unit_code, TF_CODE_LEN, true) != 0)
		return -1;
	if (s_check_enum(out, "committee", (int)r->committee,
	                 TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH) != 0)
		return -1;
	if (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD, "committee is missing");
	if (r->round < 1 || r->round > ROUND_MAX || r->revision < 1 || r->revision > REVISION_MAX)
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_ROUND,
		                "round %u and revision %u must be 1..%d and 1..%d",
		                r->round, r->revision, ROUND_MAX, REVISION_MAX);
	if (r->held_on != NULL && r->held_on[0] != '\0' && !s_date_valid(r->held_on))
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_DATE,
		                "held_on \"%.16s\" is not a date YYYY-MM-DD",
		                tf_utf8_valid(r->held_on, strlen(r->held_on)) ? r->held_on : "?");
	if (r->sheet_photo_sha256.len != 0 && r->sheet_photo_sha256.len != 32)
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_PHOTO_HASH,
		                "sheet photo hash is %zu bytes, not 32", r->sheet_photo_sha256.len);
	if (s_check_enum(out, "ballot_mode", (int)r->ballot_mode,
	                 TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION) != 0)
		return -1;
	if (r->ballot_mode == TALLYFEED__BALLOT_MODE__BALLOT_MODE_UNSPECIFIED)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD, "ballot mode is missing");
	if (r->n_candidates == 0)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD, "no candidates");
	if (r->n_candidates > TF_CANDIDATES_MAX)
		return s_reject(out, TALLYFEED__REASON__REASON_TOO_MANY_CANDIDATES,
		                "%zu candidates, at most %d", r->n_candidates, TF_CANDIDATES_MAX);
	if (r->n_seats == 0)
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_SEATS, "no seats to fill");
	for (size_t i = 0; i < r->n_seats; i++) {
		const Tallyfeed__Seats *s = r->seats[i];
		char what[64];

		snprintf(what, sizeof what, "seats entry %zu position", i + 1);
		if (s_check_enum(out, what, (int)s->position, TALLYFEED__POSITION__POSITION_MEMBER) != 0)
			return -1;
		if (s->position == TALLYFEED__POSITION__POSITION_UNSPECIFIED || s->count == 0
		    || s->count > SEATS_MAX)
			return s_reject(out, TALLYFEED__REASON__REASON_BAD_SEATS,
			                "seats entry %zu: position %d with %u seats", i + 1,
			                (int)s->position, s->count);
		for (size_t j = 0; j < i; j++)
			if (r->seats[j]->position == s->position)
				return s_reject(out, TALLYFEED__REASON__REASON_BAD_SEATS,
				                "seats for %s given twice", tf_position_word(s->position));
	}
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		char what[64];

		if (c->candidate_id == NULL || c->candidate_id[0] == '\0')
			return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
			                "candidate %zu has no id", i + 1);
		snprintf(what, sizeof what, "candidate %zu id", i + 1);
		if (s_check_text(out, what, c->candidate_id, 32, true) != 0)
			return -1;
		snprintf(what, sizeof what, "candidate %s name", c->candidate_id);
		if (s_check_text(out, what, c->name ? c->name : "", 64, false) != 0)
			return -1;
		snprintf(what, sizeof what, "candidate %s ethnicity", c->candidate_id);
		if (s_check_text(out, what, c->ethnicity ? c->ethnicity : "", 32, false) != 0)
			return -1;
		if (c->name == NULL || c->name[0] == '\0')
			return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
			                "candidate %s has no name", c->candidate_id);
		if (s_check_candidate_enums(c, out) != 0)
			return -1;
		if (c->birth_year != 0 && (c->birth_year < TF_YEAR_MIN || c->birth_year > TF_YEAR_MAX))
			return s_reject(out, TALLYFEED__REASON__REASON_BAD_DATE,
			                "candidate %s: birth year %u is not from %d to %d",
			                c->candidate_id, c->birth_year, TF_YEAR_MIN, TF_YEAR_MAX);
		/* The make-up of those elected is counted: an elected member's
		 * gender is required (the JSON reader insists too). */
		if (c->elected && c->gender == TALLYFEED__GENDER__GENDER_UNSPECIFIED)
			return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
			                "candidate %s is elected but has no gender", c->candidate_id);
		if (s_seats_for(r, c->position) == 0)
			return s_reject(out, TALLYFEED__REASON__REASON_BAD_SEATS,
			                "candidate %s stands for %s, which has no seats",
			                c->candidate_id, tf_position_word(c->position));
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->candidates[j]->candidate_id, c->candidate_id) == 0)
				return s_reject(out, TALLYFEED__REASON__REASON_DUPLICATE_CANDIDATE,
				                "candidate id %s appears twice", c->candidate_id);
	}
	return 0;
}

/* Every count below its ceiling.  A sender that puts a negative number in
 * a uint32 field sends a huge one: this is where it stops, before any sum. */
static int
s_check_counts(const tf_report_t *r, tf_check_t *out)
{
	const struct {
		const char *name;
		uint32_t value;
	} counts[] = {
		{ "registered", r->registered },
		{ "excused", r->excused },
		{ "took_part", r->took_part },
		{ "proxy_votes", r->proxy_votes },
		{ "ballots_issued", r->ballots_issued },
		{ "ballots_returned", r->ballots_returned },
		{ "ballots_valid", r->ballots_valid },
		{ "ballots_invalid", r->ballots_invalid },
	};

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if (counts[i].value > TF_COUNT_MAX)
			return s_reject(out, TALLYFEED__REASON__REASON_COUNT_TOO_LARGE,
			                "%s is %u, more than %d", counts[i].name, counts[i].value,
			                TF_COUNT_MAX);
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		const struct {
			const char *name;
			uint32_t value;
		} votes[] = {
			{ "votes_for", c->votes_for },
			{ "votes_against", c->votes_against },
			{ "votes_abstain", c->votes_abstain },
		};

		for (size_t k = 0; k < sizeof votes / sizeof votes[0]; k++)
			if (votes[k].value > TF_COUNT_MAX)
				return s_reject(out, TALLYFEED__REASON__REASON_COUNT_TOO_LARGE,
				                "candidate %s %s is %u, more than %d", c->candidate_id,
				                votes[k].name, votes[k].value, TF_COUNT_MAX);
	}
	return 0;
}

/* The unit exists, is of a kind that has this committee, and is the sender's. */
static int
s_check_unit(const tf_report_t *r, const tf_registry_t *registry, const char *township,
             tf_check_t *out)
{
	tf_unit_kind_t kind = tf_unit_kind_of(r->unit_code);
	const tf_area_t *unit;
	bool mass_villagers, mass_residents;

	if (!tf_code_valid(r->unit_code))
		return s_reject(out, TALLYFEED__REASON__REASON_UNKNOWN_UNIT,
		                "unit code \"%s\" is not 12 digits", r->unit_code);
	if (kind == TF_UNIT_UNKNOWN)
		return s_reject(out, TALLYFEED__REASON__REASON_UNIT_TYPE_UNKNOWN,
		                "unit %s: last three digits %s map to no committee type",
		                r->unit_code, r->unit_code + 9);
	mass_villagers = kind == TF_UNIT_VILLAGERS || kind == TF_UNIT_VILLAGE_LIKE;
	mass_residents = kind == TF_UNIT_RESIDENTS || kind == TF_UNIT_COMMUNITY_LIKE;
	if ((r->committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS && !mass_villagers)
	    || (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS && !mass_residents))
		return s_reject(out, TALLYFEED__REASON__REASON_COMMITTEE_MISMATCH,
		                "unit %s is a %s unit and has no %s committee", r->unit_code,
		                tf_unit_kind_name(kind), tf_committee_word(r->committee));
	if (registry == NULL)
		return 0;
	unit = tf_registry_find(registry, TF_LEVEL_UNIT, r->unit_code);
	if (unit == NULL)
		return s_reject(out, TALLYFEED__REASON__REASON_UNKNOWN_UNIT,
		                "unit %s is not in the registry", r->unit_code);
	if (township != NULL && strcmp(unit->parent, township) != 0)
		return s_reject(out, TALLYFEED__REASON__REASON_OUTSIDE_TOWNSHIP,
		                "unit %s belongs to township %s, not to %s", r->unit_code,
		                unit->parent, township);
	return 0;
}

static int
s_check_arithmetic(const tf_report_t *r, tf_check_t *out)
{
	unsigned long long sum[TF_POSITIONS] = { 0 };

	if (s_is_party(r) && r->proxy_votes != 0)
		return s_reject(out, TALLYFEED__REASON__REASON_PROXY_IN_PARTY,
		                "a Party branch election has no proxy votes (got %u)", r->proxy_votes);
	if ((unsigned long long)r->ballots_valid + r->ballots_invalid != r->ballots_returned)
		return s_reject(out, TALLYFEED__REASON__REASON_BALLOT_SUM,
		                "valid %u + invalid %u != returned %u", r->ballots_valid,
		                r->ballots_invalid, r->ballots_returned);
	if (r->ballots_returned > r->ballots_issued)
		return s_reject(out, TALLYFEED__REASON__REASON_RETURNED_OVER_ISSUED,
		                "returned %u > issued %u", r->ballots_returned, r->ballots_issued);
	if (r->registered == 0)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
		                "registered is zero");
	if (s_is_party(r) && r->excused >= r->registered)
		return s_reject(out, TALLYFEED__REASON__REASON_TURNOUT_OVER_REGISTERED,
		                "excused %u leaves no one of %u to attend", r->excused, r->registered);
	if (!s_is_party(r) && r->excused != 0)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
		                "excused is for Party branch elections only (got %u)", r->excused);
	if (r->took_part > r->registered - r->excused)
		return s_reject(out, TALLYFEED__REASON__REASON_TURNOUT_OVER_REGISTERED,
		                "took part %u > %s %u", r->took_part,
		                s_is_party(r) ? "should attend" : "registered",
		                r->registered - r->excused);
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		unsigned long long marks = (unsigned long long)c->votes_for + c->votes_against
		                           + c->votes_abstain;

		if (c->votes_for > r->ballots_valid || marks > r->ballots_valid)
			return s_reject(out, TALLYFEED__REASON__REASON_VOTES_OVER_VALID,
			                "candidate %s: %llu votes marked > %u valid ballots",
			                c->candidate_id, marks, r->ballots_valid);
		sum[c->position] += c->votes_for;
	}
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		unsigned long long cap = (unsigned long long)r->ballots_valid
		                         * s_seats_for(r, (Tallyfeed__Position)pos);
		if (sum[pos] > cap)
			return s_reject(out, TALLYFEED__REASON__REASON_POSITION_VOTES_OVER,
			                "%s: %llu votes in all > %u valid x %u seats",
			                tf_position_word((Tallyfeed__Position)pos), sum[pos],
			                r->ballots_valid, s_seats_for(r, (Tallyfeed__Position)pos));
	}
	return 0;
}

static int
s_check_elected(const tf_rules_config_t *config, const tf_report_t *r, tf_check_t *out)
{
	bool elected[TF_CANDIDATES_MAX];
	bool valid;

	tf_rules_decide(config, r, elected, &valid);
	out->election_valid = valid;
	for (size_t i = 0; i < r->n_seats; i++)
		out->seats_total += r->seats[i]->count;
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];

		if ((bool)c->elected != elected[i])
			return s_reject(out, TALLYFEED__REASON__REASON_ELECTED_MISMATCH,
			                "candidate %s (%u votes for %s) is %s elected, but the rules %s",
			                c->candidate_id, c->votes_for, tf_position_word(c->position),
			                c->elected ? "marked" : "not marked",
			                elected[i] ? "elect them" : "do not elect them");
		if (c->elected && c->position_won != c->position)
			return s_reject(out, TALLYFEED__REASON__REASON_ELECTED_MISMATCH,
			                "candidate %s stood for %s but is marked as winning %s",
			                c->candidate_id, tf_position_word(c->position),
			                tf_position_word(c->position_won));
		if (!c->elected && c->position_won != TALLYFEED__POSITION__POSITION_UNSPECIFIED)
			return s_reject(out, TALLYFEED__REASON__REASON_ELECTED_MISMATCH,
			                "candidate %s is not elected but has a position won",
			                c->candidate_id);
		if (elected[i])
			out->seats_filled++;
	}
	return 0;
}

/* W: accept, but flag for people to look at.  (photo_reused and
 * identical_figures compare units: the collector sets them from the
 * database, never this function.) */
static void
s_flag(const tf_rules_config_t *config, const tf_report_t *r, tf_check_t *out)
{
	unsigned min, max;
	bool woman = false;

	if (!out->election_valid)
		out->warnings |= TF_WARN_INVALID_ELECTION;
	if (out->election_valid && out->seats_filled < out->seats_total)
		out->warnings |= TF_WARN_SEATS_UNFILLED;
	if (r->took_part == r->registered - r->excused)
		out->warnings |= TF_WARN_FULL_TURNOUT;
	/* The margin is a fact of the ballot paper, whatever the turnout.
	 * Seats are at most 3 x SEATS_MAX: no overflow. */
	if (s_is_party(r) && r->round == 1) {
		unsigned margin = (out->seats_total * config->party_candidate_margin_percent + 99) / 100;
		if (r->n_candidates < (size_t)out->seats_total + margin)
			out->warnings |= TF_WARN_CANDIDATE_MARGIN;
	}
	/* Composition is judged once the committee is complete. */
	if (s_is_party(r) || r->round != 1 || !out->election_valid)
		return;
	for (size_t i = 0; i < r->n_candidates; i++)
		if (r->candidates[i]->elected
		    && r->candidates[i]->gender == TALLYFEED__GENDER__GENDER_FEMALE)
			woman = true;
	if (!woman && out->seats_filled == out->seats_total)
		out->warnings |= TF_WARN_NO_WOMAN;
	if (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS) {
		min = config->villagers_size_min;
		max = config->villagers_size_max;
	} else {
		min = config->residents_size_min;
		max = config->residents_size_max;
	}
	if (out->seats_total < min || out->seats_total > max
	    || (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS
	        && config->odd_size_required && out->seats_total % 2 == 0))
		out->warnings |= TF_WARN_SIZE;
}

int
tf_rules_check(const tf_rules_config_t *config, const tf_report_t *r,
               const tf_registry_t *registry, const char *township, tf_check_t *out)
{
	assert(config != NULL && r != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	if (s_check_shape(r, out) != 0 || s_check_counts(r, out) != 0
	    || s_check_unit(r, registry, township, out) != 0
	    || s_check_arithmetic(r, out) != 0 || s_check_elected(config, r, out) != 0)
		return -1;
	s_flag(config, r, out);
	snprintf(out->detail, sizeof out->detail, "ok");
	return 0;
}

/* ---- the sequence of rounds ---- */

int
tf_rules_check_sequence(const tf_report_t *r, const tf_prior_round_t *prior, tf_check_t *out)
{
	unsigned unfilled = 0;

	assert(r != NULL && out != NULL);
	if (r->round <= 1)
		return 0;
	/* prior is round 1 for a runoff; for a re-election (round 3 on) the
	 * latest earlier round, which after an invalid round 1 is round 1. */
	if ((prior == NULL || !prior->stored) && r->round == 2)
		return s_reject(out, TALLYFEED__REASON__REASON_RUNOFF_WITHOUT_ROUND1,
		                "a runoff of the %s committee needs round 1 stored first",
		                tf_committee_word(r->committee));
	if (prior == NULL || !prior->stored)
		return s_reject(out, TALLYFEED__REASON__REASON_RUNOFF_WITHOUT_ROUND1,
		                "round %u of the %s committee needs an earlier round stored first",
		                r->round, tf_committee_word(r->committee));
	if (r->round > 2)
		return 0;
	/* A runoff is only for the seats a valid round 1 left unfilled. */
	if (!prior->election_valid)
		return s_reject(out, TALLYFEED__REASON__REASON_RUNOFF_SEATS,
		                "round 1 was not a valid election, so it left no seats for a runoff");
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++)
		unfilled += prior->unfilled[pos];
	if (unfilled == 0)
		return s_reject(out, TALLYFEED__REASON__REASON_RUNOFF_SEATS,
		                "round 1 filled every seat: there is nothing to run off");
	for (size_t i = 0; i < r->n_seats; i++) {
		int pos = (int)r->seats[i]->position;
		unsigned left = pos > 0 && pos < TF_POSITIONS ? prior->unfilled[pos] : 0;

		if (r->seats[i]->count > left)
			return s_reject(out, TALLYFEED__REASON__REASON_RUNOFF_SEATS,
			                "runoff for %u %s seats, but round 1 left %u unfilled",
			                r->seats[i]->count,
			                tf_position_word((Tallyfeed__Position)pos), left);
	}
	return 0;
}

void
tf_rules_unfilled(const tf_report_t *r, const bool *elected, unsigned unfilled[TF_POSITIONS])
{
	assert(r != NULL && unfilled != NULL);
	memset(unfilled, 0, TF_POSITIONS * sizeof *unfilled);
	for (size_t i = 0; i < r->n_seats; i++) {
		int pos = (int)r->seats[i]->position;
		if (pos > 0 && pos < TF_POSITIONS)
			unfilled[pos] += r->seats[i]->count;
	}
	for (size_t i = 0; i < r->n_candidates; i++) {
		int pos = (int)r->candidates[i]->position;
		bool won = elected != NULL ? elected[i] : (bool)r->candidates[i]->elected;

		if (won && pos > 0 && pos < TF_POSITIONS && unfilled[pos] > 0)
			unfilled[pos]--;
	}
}

void
tf_rules_prior_round(const tf_rules_config_t *config, const tf_report_t *r,
                     tf_prior_round_t *prior)
{
	bool elected[TF_CANDIDATES_MAX];

	assert(config != NULL && r != NULL && prior != NULL);
	assert(r->n_candidates <= TF_CANDIDATES_MAX);
	memset(prior, 0, sizeof *prior);
	prior->stored = true;
	tf_rules_decide(config, r, elected, &prior->election_valid);
	tf_rules_unfilled(r, elected, prior->unfilled);
}
