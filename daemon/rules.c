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

/* Where findings go.  tf_rules_check stops at the first (all NULL):
 * every check returns -1 as soon as it has reported one, which is the
 * verdict.  tf_rules_findings goes on (all set): the same checks in the
 * same order, each skipping only what a finding before it has made
 * unsafe to look at, so the first finding of the list is always the
 * verdict's. */
typedef struct {
	tf_check_t *out;            /* the verdict: the first finding's reason and detail */
	tf_findings_t *all;         /* every finding, or NULL */
	bool unit_unsound;          /* the unit code is missing or not text: not looked up */
	bool structure_unsound;     /* seats or candidates too broken to count votes on */
} s_sink_t;

static void
s_add_finding(tf_findings_t *all, int reason, unsigned warning, long cand, const char *field,
              const char *message, const char *detail)
{
	tf_finding_t *f;

	if (all->count == TF_FINDINGS_MAX) {
		all->truncated = true;
		return;
	}
	f = &all->items[all->count++];
	f->reason = reason;
	f->warning = warning;
	if (cand >= 0)
		snprintf(f->field, sizeof f->field, "candidates[%ld]%s%s", cand,
		         field[0] != '\0' ? "." : "", field);
	else
		snprintf(f->field, sizeof f->field, "%s", field);
	tf_text_bound(f->message, sizeof f->message, message);
	tf_text_bound(f->detail, sizeof f->detail, detail);
}

/* A finding: reason, the field it concerns (of candidate cand when cand
 * >= 0), why in Chinese (zh) and in English (fmt), both from the same
 * arguments.  Returns -1 when the checks stop at the first finding, 0
 * when they go on. */
static int
s_reject(s_sink_t *sink, Tallyfeed__Reason reason, long cand, const char *field,
         const char *zh, const char *fmt, ...)
    __attribute__((format(printf, 5, 7), format(printf, 6, 7)));

static int
s_reject(s_sink_t *sink, Tallyfeed__Reason reason, long cand, const char *field,
         const char *zh, const char *fmt, ...)
{
	char detail[TF_DETAIL_MAX * 2], message[TF_DETAIL_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (sink->all == NULL || sink->out->reason == TALLYFEED__REASON__REASON_NONE) {
		sink->out->reason = reason;
		tf_text_bound(sink->out->detail, sizeof sink->out->detail, detail);
	}
	if (sink->all == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, zh, ap);
	va_end(ap);
	s_add_finding(sink->all, reason, 0, cand, field, message, detail);
	return 0;
}

/* How many findings so far (the verdict counts as one). */
static size_t
s_found(const s_sink_t *sink)
{
	if (sink->all != NULL)
		return sink->all->count;
	return sink->out->reason != TALLYFEED__REASON__REASON_NONE ? 1 : 0;
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

/* A position's Chinese name in r's committee, for the messages. */
static const char *
s_position_zh(const tf_report_t *r, Tallyfeed__Position position)
{
	return tf_position_name_zh(r->committee, position);
}

/* The seats field of a position: "seats.head", or "seats" for none. */
static const char *
s_seats_field(Tallyfeed__Position position)
{
	switch (position) {
	case TALLYFEED__POSITION__POSITION_HEAD:
		return "seats.head";
	case TALLYFEED__POSITION__POSITION_DEPUTY:
		return "seats.deputy";
	case TALLYFEED__POSITION__POSITION_MEMBER:
		return "seats.member";
	default:
		return "seats";
	}
}

static int
s_check_text(s_sink_t *sink, long cand, const char *field, const char *what, const char *zh,
             const char *s, size_t max, bool ascii)
{
	size_t len = strlen(s);

	if (len > max || !tf_utf8_valid(s, len))
		return s_reject(sink, TALLYFEED__REASON__REASON_FIELD_TOO_LONG, cand, field,
		                "%s%.0s超过 %zu 字节或不是有效的 UTF-8 文字",
		                "%.0s%s is longer than %zu bytes or not valid UTF-8", zh, what, max);
	if (ascii)
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] >= 0x7f)
				return s_reject(sink, TALLYFEED__REASON__REASON_FIELD_TOO_LONG, cand, field,
				                "%s%.0s只能用英文字母、数字和符号",
				                "%.0s%s must be printable ASCII", zh, what);
	return 0;
}

/* An enum field holds one of its declared values (0..max): protobuf-c
 * keeps whatever number the sender put on the wire. */
static int
s_check_enum(s_sink_t *sink, long cand, const char *field, const char *what, int value, int max)
{
	if (value < 0 || value > max)
		return s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, cand, field,
		                "未知的取值 %d（%s）", "unknown value %d for %s", value, what);
	return 0;
}

static int
s_check_candidate_enums(const Tallyfeed__Candidate *c, long i, s_sink_t *sink)
{
	char what[64];

	snprintf(what, sizeof what, "candidate %s position", c->candidate_id);
	if (s_check_enum(sink, i, "position", what, (int)c->position,
	                 TALLYFEED__POSITION__POSITION_MEMBER) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s position_won", c->candidate_id);
	if (s_check_enum(sink, i, "position_won", what, (int)c->position_won,
	                 TALLYFEED__POSITION__POSITION_MEMBER) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s gender", c->candidate_id);
	if (s_check_enum(sink, i, "gender", what, (int)c->gender,
	                 TALLYFEED__GENDER__GENDER_FEMALE) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s education", c->candidate_id);
	return s_check_enum(sink, i, "education", what, (int)c->education,
	                    TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE);
}

/* Shape of the report as a whole: required fields present, enums
 * declared, seats sound. */
static int
s_check_report_shape(const tf_report_t *r, s_sink_t *sink)
{
	size_t found = s_found(sink);

	if (r->unit_code == NULL || r->unit_code[0] == '\0') {
		if (s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, -1, "unit",
		             "请选择单位", "unit code is missing") != 0)
			return -1;
	} else if (s_check_text(sink, -1, "unit", "unit code", "单位代码", r->unit_code,
	                        TF_CODE_LEN, true) != 0)
		return -1;
	/* Missing, or text that cannot be a code: not looked up as well. */
	sink->unit_unsound = s_found(sink) != found;
	if (s_check_enum(sink, -1, "committee", "committee", (int)r->committee,
	                 TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH) != 0)
		return -1;
	if (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED
	    && s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, -1, "committee",
	                "请选择委员会", "committee is missing") != 0)
		return -1;
	if ((r->round < 1 || r->round > TF_ROUND_MAX || r->revision < 1
	     || r->revision > TF_REVISION_MAX)
	    && s_reject(sink, TALLYFEED__REASON__REASON_BAD_ROUND, -1,
	                r->round < 1 || r->round > TF_ROUND_MAX ? "round" : "revision",
	                "轮次 %u 和修订号 %u 应分别为 1–%d 和 1–%d",
	                "round %u and revision %u must be 1..%d and 1..%d",
	                r->round, r->revision, TF_ROUND_MAX, TF_REVISION_MAX) != 0)
		return -1;
	if (r->held_on != NULL && r->held_on[0] != '\0' && !s_date_valid(r->held_on)
	    && s_reject(sink, TALLYFEED__REASON__REASON_BAD_DATE, -1, "held_on",
	                "选举日期“%.16s”不是 年-月-日 格式的日期",
	                "held_on \"%.16s\" is not a date YYYY-MM-DD",
	                tf_utf8_valid(r->held_on, strlen(r->held_on)) ? r->held_on : "?") != 0)
		return -1;
	if (r->sheet_photo_sha256.len != 0 && r->sheet_photo_sha256.len != 32
	    && s_reject(sink, TALLYFEED__REASON__REASON_BAD_PHOTO_HASH, -1,
	                "attestation.sheet_photo_sha256",
	                "结果报告单照片的哈希是 %zu 字节，应为 32 字节",
	                "sheet photo hash is %zu bytes, not 32", r->sheet_photo_sha256.len) != 0)
		return -1;
	if (s_check_enum(sink, -1, "ballot_mode", "ballot_mode", (int)r->ballot_mode,
	                 TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION) != 0)
		return -1;
	if (r->ballot_mode == TALLYFEED__BALLOT_MODE__BALLOT_MODE_UNSPECIFIED
	    && s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, -1, "ballot_mode",
	                "请选择选票方式", "ballot mode is missing") != 0)
		return -1;
	if (r->n_candidates == 0) {
		sink->structure_unsound = true;
		if (s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, -1, "candidates",
		             "没有候选人", "no candidates") != 0)
			return -1;
	}
	if (r->n_candidates > TF_CANDIDATES_MAX) {
		sink->structure_unsound = true;
		if (s_reject(sink, TALLYFEED__REASON__REASON_TOO_MANY_CANDIDATES, -1, "candidates",
		             "候选人 %zu 名，最多 %d 名", "%zu candidates, at most %d",
		             r->n_candidates, TF_CANDIDATES_MAX) != 0)
			return -1;
	}
	if (r->n_seats == 0) {
		sink->structure_unsound = true;
		if (s_reject(sink, TALLYFEED__REASON__REASON_BAD_SEATS, -1, "seats",
		             "没有应选名额", "no seats to fill") != 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_seats; i++) {
		const Tallyfeed__Seats *s = r->seats[i];
		char what[64];

		snprintf(what, sizeof what, "seats entry %zu position", i + 1);
		if (s->position < 0 || s->position > TALLYFEED__POSITION__POSITION_MEMBER) {
			sink->structure_unsound = true;
			if (s_check_enum(sink, -1, "seats", what, (int)s->position,
			                 TALLYFEED__POSITION__POSITION_MEMBER) != 0)
				return -1;
			continue;
		}
		if (s->position == TALLYFEED__POSITION__POSITION_UNSPECIFIED || s->count == 0
		    || s->count > SEATS_MAX) {
			sink->structure_unsound = true;
			if (s_reject(sink, TALLYFEED__REASON__REASON_BAD_SEATS, -1,
			             s_seats_field(s->position),
			             "第 %zu 项名额：职位 %d 应选 %u 名（应为 1–100 名）",
			             "seats entry %zu: position %d with %u seats", i + 1,
			             (int)s->position, s->count) != 0)
				return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (r->seats[j]->position == s->position) {
				sink->structure_unsound = true;
				if (s_reject(sink, TALLYFEED__REASON__REASON_BAD_SEATS, -1,
				             s_seats_field(s->position), "%s%.0s的名额填了两次",
				             "seats for %.0s%s given twice", s_position_zh(r, s->position),
				             tf_position_word(s->position)) != 0)
					return -1;
				break;
			}
	}
	return 0;
}

/* Shape of one candidate: id, bounded text, declared enums, a position
 * with seats, an id of its own. */
static int
s_check_candidate_shape(const tf_report_t *r, size_t i, s_sink_t *sink)
{
	const Tallyfeed__Candidate *c = r->candidates[i];
	long at = (long)i;
	char what[64];

	/* Without an id nothing else of it can be named. */
	if (c->candidate_id == NULL || c->candidate_id[0] == '\0') {
		if (c->candidate_id == NULL)
			sink->structure_unsound = true;     /* no string to print */
		s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, at, "id",
		         "第 %zu 位候选人没有编号", "candidate %zu has no id", i + 1);
		return -1;
	}
	snprintf(what, sizeof what, "candidate %zu id", i + 1);
	if (s_check_text(sink, at, "id", what, "候选人编号", c->candidate_id, 32, true) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s name", c->candidate_id);
	if (s_check_text(sink, at, "name", what, "姓名", c->name ? c->name : "", 64, false) != 0)
		return -1;
	snprintf(what, sizeof what, "candidate %s ethnicity", c->candidate_id);
	if (s_check_text(sink, at, "ethnicity", what, "民族", c->ethnicity ? c->ethnicity : "", 32,
	                 false) != 0)
		return -1;
	if ((c->name == NULL || c->name[0] == '\0')
	    && s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, at, "name",
	                "候选人 %s 没有填姓名", "candidate %s has no name", c->candidate_id) != 0)
		return -1;
	if (c->position < 0 || c->position > TALLYFEED__POSITION__POSITION_MEMBER)
		sink->structure_unsound = true;
	if (s_check_candidate_enums(c, at, sink) != 0)
		return -1;
	if (c->birth_year != 0 && (c->birth_year < TF_YEAR_MIN || c->birth_year > TF_YEAR_MAX)
	    && s_reject(sink, TALLYFEED__REASON__REASON_BAD_DATE, at, "birth_year",
	                "候选人 %s：出生年份 %u 不在 %d–%d 之间",
	                "candidate %s: birth year %u is not from %d to %d",
	                c->candidate_id, c->birth_year, TF_YEAR_MIN, TF_YEAR_MAX) != 0)
		return -1;
	/* The make-up of those elected is counted: an elected member's
	 * gender is required (the JSON reader insists too). */
	if (c->elected && c->gender == TALLYFEED__GENDER__GENDER_UNSPECIFIED
	    && s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, at, "gender",
	                "候选人 %s 已当选，请填写性别", "candidate %s is elected but has no gender",
	                c->candidate_id) != 0)
		return -1;
	if (s_seats_for(r, c->position) == 0) {
		sink->structure_unsound = true;
		if (s_reject(sink, TALLYFEED__REASON__REASON_BAD_SEATS, at, "position",
		             "候选人 %s 参选%s%.0s，但该职位没有应选名额",
		             "candidate %s stands for %.0s%s, which has no seats", c->candidate_id,
		             s_position_zh(r, c->position), tf_position_word(c->position)) != 0)
			return -1;
	}
	for (size_t j = 0; j < i; j++)
		if (r->candidates[j]->candidate_id != NULL
		    && strcmp(r->candidates[j]->candidate_id, c->candidate_id) == 0)
			return s_reject(sink, TALLYFEED__REASON__REASON_DUPLICATE_CANDIDATE, at, "id",
			                "候选人编号 %s 重复", "candidate id %s appears twice",
			                c->candidate_id);
	return 0;
}

/* Shape: required fields present, enums declared, strings bounded, no
 * repeats. */
static int
s_check_shape(const tf_report_t *r, s_sink_t *sink)
{
	if (s_check_report_shape(r, sink) != 0)
		return -1;
	for (size_t i = 0; i < r->n_candidates; i++)
		if (s_check_candidate_shape(r, i, sink) != 0 && sink->all == NULL)
			return -1;
	return 0;
}

/* Every count below its ceiling.  A sender that puts a negative number in
 * a uint32 field sends a huge one: this is where it stops, before any sum. */
static int
s_check_counts(const tf_report_t *r, s_sink_t *sink)
{
	const struct {
		const char *name, *field, *zh;
		uint32_t value;
	} counts[] = {
		{ "registered", "electorate.registered", "登记人数", r->registered },
		{ "excused", "electorate.excused", "请假人数", r->excused },
		{ "took_part", "electorate.took_part", "参加投票人数", r->took_part },
		{ "proxy_votes", "electorate.proxy_votes", "委托投票人数", r->proxy_votes },
		{ "ballots_issued", "ballots.issued", "发出选票", r->ballots_issued },
		{ "ballots_returned", "ballots.returned", "收回选票", r->ballots_returned },
		{ "ballots_valid", "ballots.valid", "有效票", r->ballots_valid },
		{ "ballots_invalid", "ballots.invalid", "无效票", r->ballots_invalid },
	};

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if (counts[i].value > TF_COUNT_MAX
		    && s_reject(sink, TALLYFEED__REASON__REASON_COUNT_TOO_LARGE, -1, counts[i].field,
		                "%s%.0s为 %u，超过上限 %d", "%.0s%s is %u, more than %d",
		                counts[i].zh, counts[i].name, counts[i].value, TF_COUNT_MAX) != 0)
			return -1;
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		const struct {
			const char *name, *zh;
			uint32_t value;
		} votes[] = {
			{ "votes_for", "赞成票", c->votes_for },
			{ "votes_against", "反对票", c->votes_against },
			{ "votes_abstain", "弃权票", c->votes_abstain },
		};

		if (c->candidate_id == NULL)
			continue;       /* reported by the shape (which stops at it) */
		for (size_t k = 0; k < sizeof votes / sizeof votes[0]; k++)
			if (votes[k].value > TF_COUNT_MAX
			    && s_reject(sink, TALLYFEED__REASON__REASON_COUNT_TOO_LARGE, (long)i,
			                votes[k].name, "候选人 %s 的%s%.0s为 %u，超过上限 %d",
			                "candidate %s %.0s%s is %u, more than %d", c->candidate_id,
			                votes[k].zh, votes[k].name, votes[k].value, TF_COUNT_MAX) != 0)
				return -1;
	}
	return 0;
}

bool
tf_rules_unit_has(tf_unit_kind_t kind, Tallyfeed__Committee committee)
{
	switch (committee) {
	case TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS:
		return kind == TF_UNIT_VILLAGERS || kind == TF_UNIT_VILLAGE_LIKE;
	case TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS:
		return kind == TF_UNIT_RESIDENTS || kind == TF_UNIT_COMMUNITY_LIKE;
	case TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH:
		return kind != TF_UNIT_UNKNOWN;
	default:
		return false;
	}
}

/* The unit exists, is of a kind that has this committee, and is the sender's. */
static int
s_check_unit(const tf_report_t *r, const tf_registry_t *registry, const char *township,
             s_sink_t *sink)
{
	tf_unit_kind_t kind = tf_unit_kind_of(r->unit_code);
	const tf_area_t *unit;
	bool mass_villagers;

	if (!tf_code_valid(r->unit_code))
		return s_reject(sink, TALLYFEED__REASON__REASON_UNKNOWN_UNIT, -1, "unit",
		                "单位代码“%s”不是 12 位数字", "unit code \"%s\" is not 12 digits",
		                r->unit_code);
	if (kind == TF_UNIT_UNKNOWN)
		return s_reject(sink, TALLYFEED__REASON__REASON_UNIT_TYPE_UNKNOWN, -1, "unit",
		                "单位 %s：末三位 %s 对应不到任何委员会类型",
		                "unit %s: last three digits %s map to no committee type",
		                r->unit_code, r->unit_code + 9);
	mass_villagers = kind == TF_UNIT_VILLAGERS || kind == TF_UNIT_VILLAGE_LIKE;
	if ((r->committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS
	     || r->committee == TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS)
	    && !tf_rules_unit_has(kind, r->committee)
	    && s_reject(sink, TALLYFEED__REASON__REASON_COMMITTEE_MISMATCH, -1, "committee",
	                "单位 %s 是%.0s%s单位，没有%.0s%s",
	                "unit %s is a %s%.0s unit and has no %s%.0s committee", r->unit_code,
	                tf_unit_kind_name(kind), mass_villagers ? "村" : "社区",
	                tf_committee_word(r->committee), tf_committee_name_zh(r->committee)) != 0)
		return -1;
	if (registry == NULL)
		return 0;
	unit = tf_registry_find(registry, TF_LEVEL_UNIT, r->unit_code);
	if (unit == NULL)
		return s_reject(sink, TALLYFEED__REASON__REASON_UNKNOWN_UNIT, -1, "unit",
		                "单位 %s 不在区划名录中", "unit %s is not in the registry",
		                r->unit_code);
	if (township != NULL && strcmp(unit->parent, township) != 0)
		return s_reject(sink, TALLYFEED__REASON__REASON_OUTSIDE_TOWNSHIP, -1, "unit",
		                "单位 %s 属于乡镇 %s，不属于本乡镇 %s",
		                "unit %s belongs to township %s, not to %s", r->unit_code,
		                unit->parent, township);
	return 0;
}

/* The arithmetic of the count.  Needs the shape's structure sound (every
 * position counted is a declared one). */
static int
s_check_arithmetic(const tf_report_t *r, s_sink_t *sink)
{
	unsigned long long sum[TF_POSITIONS] = { 0 };
	const char *should = s_is_party(r) ? "should attend" : "registered";
	const char *should_zh = s_is_party(r) ? "应到会人数" : "登记人数";

	if (s_is_party(r) && r->proxy_votes != 0
	    && s_reject(sink, TALLYFEED__REASON__REASON_PROXY_IN_PARTY, -1, "electorate.proxy_votes",
	                "党支部选举不得委托投票（填了 %u）",
	                "a Party branch election has no proxy votes (got %u)", r->proxy_votes) != 0)
		return -1;
	if ((unsigned long long)r->ballots_valid + r->ballots_invalid != r->ballots_returned
	    && s_reject(sink, TALLYFEED__REASON__REASON_BALLOT_SUM, -1, "ballots.valid",
	                "有效票 %u + 无效票 %u 不等于收回选票 %u",
	                "valid %u + invalid %u != returned %u", r->ballots_valid,
	                r->ballots_invalid, r->ballots_returned) != 0)
		return -1;
	if (r->ballots_returned > r->ballots_issued
	    && s_reject(sink, TALLYFEED__REASON__REASON_RETURNED_OVER_ISSUED, -1, "ballots.returned",
	                "收回选票 %u 多于发出选票 %u", "returned %u > issued %u",
	                r->ballots_returned, r->ballots_issued) != 0)
		return -1;
	/* Who should attend is registered - excused: the three checks below
	 * make it sound, and the turnout is not compared with an unsound one. */
	if (r->registered == 0) {
		if (s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, -1, "electorate.registered",
		             "登记人数不能为零", "registered is zero") != 0)
			return -1;
	} else if (s_is_party(r) && r->excused >= r->registered) {
		if (s_reject(sink, TALLYFEED__REASON__REASON_TURNOUT_OVER_REGISTERED, -1,
		             "electorate.excused", "请假 %u 人，%u 名党员中已无人应到会",
		             "excused %u leaves no one of %u to attend", r->excused,
		             r->registered) != 0)
			return -1;
	} else if (!s_is_party(r) && r->excused != 0) {
		if (s_reject(sink, TALLYFEED__REASON__REASON_MISSING_FIELD, -1, "electorate.excused",
		             "请假人数只用于党支部选举（填了 %u）",
		             "excused is for Party branch elections only (got %u)", r->excused) != 0)
			return -1;
	} else if (r->took_part > r->registered - r->excused
	           && s_reject(sink, TALLYFEED__REASON__REASON_TURNOUT_OVER_REGISTERED, -1,
	                       "electorate.took_part", "参加投票 %u 人，多于%s%.0s %u",
	                       "took part %u > %.0s%s %u", r->took_part, should_zh, should,
	                       r->registered - r->excused) != 0)
		return -1;
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];
		unsigned long long marks = (unsigned long long)c->votes_for + c->votes_against
		                           + c->votes_abstain;

		if ((c->votes_for > r->ballots_valid || marks > r->ballots_valid)
		    && s_reject(sink, TALLYFEED__REASON__REASON_VOTES_OVER_VALID, (long)i,
		                c->votes_for > r->ballots_valid ? "votes_for" : "votes_against",
		                "候选人 %s 共得 %llu 票，多于有效票 %u",
		                "candidate %s: %llu votes marked > %u valid ballots",
		                c->candidate_id, marks, r->ballots_valid) != 0)
			return -1;
		sum[c->position] += c->votes_for;
	}
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		Tallyfeed__Position p = (Tallyfeed__Position)pos;
		unsigned long long cap = (unsigned long long)r->ballots_valid * s_seats_for(r, p);

		if (sum[pos] > cap
		    && s_reject(sink, TALLYFEED__REASON__REASON_POSITION_VOTES_OVER, -1, s_seats_field(p),
		                "%s%.0s：得票合计 %llu，多于有效票 %u × 名额 %u",
		                "%.0s%s: %llu votes in all > %u valid x %u seats",
		                s_position_zh(r, p), tf_position_word(p), sum[pos],
		                r->ballots_valid, s_seats_for(r, p)) != 0)
			return -1;
	}
	return 0;
}

/* The elected flags agree with the thresholds.  Needs the structure sound. */
static int
s_check_elected(const tf_rules_config_t *config, const tf_report_t *r, s_sink_t *sink)
{
	bool elected[TF_CANDIDATES_MAX];
	bool valid;
	tf_check_t *out = sink->out;

	tf_rules_decide(config, r, elected, &valid);
	out->election_valid = valid;
	for (size_t i = 0; i < r->n_seats; i++)
		out->seats_total += r->seats[i]->count;
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];

		if ((bool)c->elected != elected[i]) {
			if (s_reject(sink, TALLYFEED__REASON__REASON_ELECTED_MISMATCH, (long)i, "elected",
			             "候选人 %s（得 %u 票，参选%.0s%s）%.0s%s，但按当选票数规定%.0s%s",
			             "candidate %s (%u votes for %s%.0s) is %s%.0s elected, but the rules %s%.0s",
			             c->candidate_id, c->votes_for, tf_position_word(c->position),
			             s_position_zh(r, c->position),
			             c->elected ? "marked" : "not marked",
			             c->elected ? "标为当选" : "未标为当选",
			             elected[i] ? "elect them" : "do not elect them",
			             elected[i] ? "应当选" : "不应当选") != 0)
				return -1;
		} else if (c->elected && c->position_won != c->position) {
			if (s_reject(sink, TALLYFEED__REASON__REASON_ELECTED_MISMATCH, (long)i,
			             "position_won", "候选人 %s 参选%.0s%s，却标为当选%.0s%s",
			             "candidate %s stood for %s%.0s but is marked as winning %s%.0s",
			             c->candidate_id, tf_position_word(c->position),
			             s_position_zh(r, c->position), tf_position_word(c->position_won),
			             s_position_zh(r, c->position_won)) != 0)
				return -1;
		} else if (!c->elected && c->position_won != TALLYFEED__POSITION__POSITION_UNSPECIFIED) {
			if (s_reject(sink, TALLYFEED__REASON__REASON_ELECTED_MISMATCH, (long)i,
			             "position_won", "候选人 %s 未当选，不应填当选职位",
			             "candidate %s is not elected but has a position won",
			             c->candidate_id) != 0)
				return -1;
		}
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

/* Every check, in the verdict's order; -1 if any E finding. */
static int
s_check_all(const tf_rules_config_t *config, const tf_report_t *r,
            const tf_registry_t *registry, const char *township, s_sink_t *sink)
{
	bool collect = sink->all != NULL;

	if (s_check_shape(r, sink) != 0 && !collect)
		return -1;
	if (s_check_counts(r, sink) != 0 && !collect)
		return -1;
	if (!sink->unit_unsound && s_check_unit(r, registry, township, sink) != 0 && !collect)
		return -1;
	/* Votes are counted only on sound seats and positions. */
	if (sink->structure_unsound)
		return -1;
	if (s_check_arithmetic(r, sink) != 0 && !collect)
		return -1;
	if (s_check_elected(config, r, sink) != 0 && !collect)
		return -1;
	return sink->out->reason != TALLYFEED__REASON__REASON_NONE ? -1 : 0;
}

int
tf_rules_check(const tf_rules_config_t *config, const tf_report_t *r,
               const tf_registry_t *registry, const char *township, tf_check_t *out)
{
	s_sink_t sink = { .out = out };

	assert(config != NULL && r != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	if (s_check_all(config, r, registry, township, &sink) != 0)
		return -1;
	s_flag(config, r, out);
	snprintf(out->detail, sizeof out->detail, "ok");
	return 0;
}

/* What each W flag concerns, and says in Chinese. */
static const struct {
	const char *field, *message;
} s_warning_text[TF_WARN_COUNT] = {
	{ "electorate.took_part", "参加投票人数未过法定比例：选举无效，无人当选" },
	{ "candidates", "当选者中没有女性" },
	{ "seats", "委员会职数不在规定范围内（或为偶数）" },
	{ "electorate.took_part", "参加投票率恰为 100%，请核对" },
	{ "seats", "尚有名额未选满，需另行选举" },
	{ "candidates", "候选人差额不足 20%" },
	{ "attestation.sheet_photo_sha256", "与其他单位的结果报告单照片相同" },
	{ "electorate", "与其他单位的数字完全相同" },
};

int
tf_rules_findings(const tf_rules_config_t *config, const tf_report_t *r,
                  const tf_registry_t *registry, const char *township, tf_findings_t *all)
{
	s_sink_t sink = { .out = &all->check, .all = all };

	assert(config != NULL && r != NULL && all != NULL);
	memset(all, 0, sizeof *all);
	if (s_check_all(config, r, registry, township, &sink) != 0)
		return -1;
	s_flag(config, r, &all->check);
	snprintf(all->check.detail, sizeof all->check.detail, "ok");
	for (int bit = 0; bit < TF_WARN_COUNT; bit++)
		if (all->check.warnings & (1u << bit))
			s_add_finding(all, TALLYFEED__REASON__REASON_NONE, 1u << bit, -1,
			              s_warning_text[bit].field, s_warning_text[bit].message,
			              tf_warning_name(bit));
	return 0;
}

/* ---- the sequence of rounds ---- */

int
tf_rules_check_sequence(const tf_report_t *r, const tf_prior_round_t *prior, tf_check_t *out)
{
	s_sink_t sink = { .out = out };
	unsigned unfilled = 0;

	assert(r != NULL && out != NULL);
	if (r->round <= 1)
		return 0;
	/* prior is round 1 for a runoff; for a re-election (round 3 on) the
	 * latest earlier round, which after an invalid round 1 is round 1. */
	if ((prior == NULL || !prior->stored) && r->round == 2)
		return s_reject(&sink, TALLYFEED__REASON__REASON_RUNOFF_WITHOUT_ROUND1, -1, "round",
		                "%.0s%s的另行选举须先报第 1 轮结果",
		                "a runoff of the %s%.0s committee needs round 1 stored first",
		                tf_committee_word(r->committee), tf_committee_name_zh(r->committee));
	if (prior == NULL || !prior->stored)
		return s_reject(&sink, TALLYFEED__REASON__REASON_RUNOFF_WITHOUT_ROUND1, -1, "round",
		                "第 %u 轮%.0s（%s）须先报前一轮结果",
		                "round %u of the %s%.0s committee needs an earlier round stored first",
		                r->round, tf_committee_word(r->committee), tf_committee_name_zh(r->committee));
	if (r->round > 2)
		return 0;
	/* A runoff is only for the seats a valid round 1 left unfilled. */
	if (!prior->election_valid)
		return s_reject(&sink, TALLYFEED__REASON__REASON_RUNOFF_SEATS, -1, "round",
		                "第 1 轮选举无效，没有需另行选举的名额",
		                "round 1 was not a valid election, so it left no seats for a runoff");
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++)
		unfilled += prior->unfilled[pos];
	if (unfilled == 0)
		return s_reject(&sink, TALLYFEED__REASON__REASON_RUNOFF_SEATS, -1, "round",
		                "第 1 轮已选满全部名额，无需另行选举",
		                "round 1 filled every seat: there is nothing to run off");
	for (size_t i = 0; i < r->n_seats; i++) {
		int pos = (int)r->seats[i]->position;
		unsigned left = pos > 0 && pos < TF_POSITIONS ? prior->unfilled[pos] : 0;

		if (r->seats[i]->count > left)
			return s_reject(&sink, TALLYFEED__REASON__REASON_RUNOFF_SEATS, -1,
			                s_seats_field((Tallyfeed__Position)pos),
			                "另行选举%u 名%.0s%s，但第 1 轮只剩 %u 个名额未选满",
			                "runoff for %u %s%.0s seats, but round 1 left %u unfilled",
			                r->seats[i]->count, tf_position_word((Tallyfeed__Position)pos),
			                s_position_zh(r, (Tallyfeed__Position)pos), left);
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
