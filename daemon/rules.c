/*
 * rules: the election rules validator (DOMAIN.md "Checks").
 *
 * Thresholds, from the law text:
 *  - villagers'/residents' committee: the election is valid when more than
 *    half of the registered voters took part; a candidate is elected with
 *    votes for > half of those who took part (Organic Law art. 15).  In a
 *    runoff (round 2) the most votes win, but at least one third of the
 *    ballots cast (returned).
 *  - Party branch: valid when those present > 4/5 of those who should
 *    attend, excused members removed; elected with yes-votes > half of
 *    those present (exactly half fails); no proxies.
 * Where more candidates for a position pass the threshold than there are
 * seats, the most votes win; a tie at the last seat fills neither, and the
 * seat is left for the runoff.
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

void
tf_rules_config_default(tf_rules_config_t *config)
{
	assert(config != NULL);
	config->odd_size_required = true;
	config->party_attendance_num = 4;
	config->party_attendance_den = 5;
}

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
		"invalid_election", "no_woman", "size", "full_turnout", "seats_unfilled"
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

static bool
s_election_valid(const tf_rules_config_t *config, const tf_report_t *r)
{
	if (s_is_party(r)) {
		unsigned long long should = (unsigned long long)r->registered - r->excused;
		return (unsigned long long)r->took_part * config->party_attendance_den
		       > should * config->party_attendance_num;
	}
	return 2ULL * r->took_part > r->registered;
}

/* Does this candidate's vote pass the threshold for this round? */
static bool
s_passes(const tf_report_t *r, const Tallyfeed__Candidate *c)
{
	if (r->round == 2 && !s_is_party(r))
		return 3ULL * c->votes_for >= r->ballots_returned && c->votes_for > 0;
	return 2ULL * c->votes_for > r->took_part;
}

void
tf_rules_decide(const tf_rules_config_t *config, const tf_report_t *r, bool *elected,
                bool *election_valid)
{
	assert(config != NULL && r != NULL && elected != NULL && election_valid != NULL);
	*election_valid = s_election_valid(config, r);
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		unsigned seats = s_seats_for(r, c->position), more = 0, at_least = 0;

		elected[i] = false;
		if (!*election_valid || !s_passes(r, c))
			continue;
		/* Rank among the candidates for the same position who also pass. */
		for (size_t j = 0; j < r->n_candidates; j++) {
			const Tallyfeed__Candidate *o = r->candidates[j];
			if (o->position != c->position || !s_passes(r, o))
				continue;
			if (o->votes_for > c->votes_for)
				more++;
			if (o->votes_for >= c->votes_for)
				at_least++;
		}
		elected[i] = more < seats && at_least <= seats;
	}
}

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

/* Shape: required fields present, strings bounded, no repeats. */
static int
s_check_shape(const tf_report_t *r, tf_check_t *out)
{
	if (r->unit_code == NULL || r->unit_code[0] == '\0')
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD, "unit code is missing");
	if (s_check_text(out, "unit code", r->unit_code, TF_CODE_LEN, true) != 0)
		return -1;
	if (r->committee < TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS
	    || r->committee > TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
		                "committee is missing or unknown (%d)", (int)r->committee);
	if (r->round < 1 || r->round > ROUND_MAX || r->revision < 1 || r->revision > REVISION_MAX)
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_ROUND,
		                "round %u and revision %u must be 1..%d and 1..%d",
		                r->round, r->revision, ROUND_MAX, REVISION_MAX);
	if (r->held_on != NULL && r->held_on[0] != '\0' && !s_date_valid(r->held_on))
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_DATE,
		                "held_on \"%.16s\" is not a date YYYY-MM-DD", r->held_on);
	if (r->sheet_photo_sha256.len != 0 && r->sheet_photo_sha256.len != 32)
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_PHOTO_HASH,
		                "sheet photo hash is %zu bytes, not 32", r->sheet_photo_sha256.len);
	if (r->ballot_mode != TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED
	    && r->ballot_mode != TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD,
		                "ballot mode is missing or unknown (%d)", (int)r->ballot_mode);
	if (r->n_candidates == 0)
		return s_reject(out, TALLYFEED__REASON__REASON_MISSING_FIELD, "no candidates");
	if (r->n_candidates > TF_CANDIDATES_MAX)
		return s_reject(out, TALLYFEED__REASON__REASON_TOO_MANY_CANDIDATES,
		                "%zu candidates, at most %d", r->n_candidates, TF_CANDIDATES_MAX);
	if (r->n_seats == 0)
		return s_reject(out, TALLYFEED__REASON__REASON_BAD_SEATS, "no seats to fill");
	for (size_t i = 0; i < r->n_seats; i++) {
		const Tallyfeed__Seats *s = r->seats[i];
		if (s->position < TALLYFEED__POSITION__POSITION_HEAD
		    || s->position > TALLYFEED__POSITION__POSITION_MEMBER || s->count == 0
		    || s->count > 100)
			return s_reject(out, TALLYFEED__REASON__REASON_BAD_SEATS,
			                "seats entry %zu: position %d with %u seats", i,
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
	unsigned long long sum[TALLYFEED__POSITION__POSITION_MEMBER + 1] = { 0 };

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

/* W: accept, but flag for people to look at. */
static void
s_flag(const tf_rules_config_t *config, const tf_report_t *r, tf_check_t *out)
{
	bool woman = false;

	if (!out->election_valid)
		out->warnings |= TF_WARN_INVALID_ELECTION;
	if (out->election_valid && out->seats_filled < out->seats_total)
		out->warnings |= TF_WARN_SEATS_UNFILLED;
	if (r->took_part == r->registered - r->excused)
		out->warnings |= TF_WARN_FULL_TURNOUT;
	if (s_is_party(r) || r->round != 1 || !out->election_valid)
		return;
	for (size_t i = 0; i < r->n_candidates; i++)
		if (r->candidates[i]->elected
		    && r->candidates[i]->gender == TALLYFEED__GENDER__GENDER_FEMALE)
			woman = true;
	if (!woman && out->seats_filled == out->seats_total)
		out->warnings |= TF_WARN_NO_WOMAN;
	if (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS) {
		if (out->seats_total < 3 || out->seats_total > 7
		    || (config->odd_size_required && out->seats_total % 2 == 0))
			out->warnings |= TF_WARN_SIZE;
	} else if (out->seats_total < 5 || out->seats_total > 9)
		out->warnings |= TF_WARN_SIZE;
}

int
tf_rules_check(const tf_rules_config_t *config, const tf_report_t *r,
               const tf_registry_t *registry, const char *township, tf_check_t *out)
{
	assert(config != NULL && r != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	if (s_check_shape(r, out) != 0 || s_check_unit(r, registry, township, out) != 0
	    || s_check_arithmetic(r, out) != 0 || s_check_elected(config, r, out) != 0)
		return -1;
	s_flag(config, r, out);
	snprintf(out->detail, sizeof out->detail, "ok");
	return 0;
}
