/*
 * rules: the election rules validator, shared by the agent (so township
 * staff see a mistake at entry time) and the collector (which trusts
 * nothing).  It checks one report against the registry and the arithmetic
 * of the election (DOMAIN.md "Checks"), recomputes who is elected, and
 * sorts every problem into a rejection with a reason code (E) or a flag
 * stored with the result (W).  The thresholds of the law that vary by
 * province or by rule edition are configuration (tf_rules_config_t), read
 * from the "rules" subsection of a daemon's ZPL file; the defaults are the
 * strict reading.  Whether a runoff may be held at all depends on what is
 * already stored, so the collector asks tf_rules_check_sequence separately.
 */
#ifndef TF_RULES_H
#define TF_RULES_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "registry.h"
#include "report.h"

#define TF_DETAIL_MAX 256       /* bytes of human-readable detail in a verdict */
#define TF_CANDIDATES_MAX 200   /* candidates in one report */
#define TF_COUNT_MAX 1000000    /* ceiling of every count of people, ballots or votes */
#define TF_POSITIONS 4          /* Tallyfeed__Position values, UNSPECIFIED included */
#define TF_ROUND_MAX 9          /* rounds of one election (BAD_ROUND beyond) */
#define TF_REVISION_MAX 1000000 /* revisions of one round (BAD_ROUND beyond) */

/* W flags: accepted, but stored with the result for people to look at.
 * Bit numbers are stored names' order: append, never renumber. */
enum {
	TF_WARN_INVALID_ELECTION = 1 << 0, /* turnout or quorum short: no one elected */
	TF_WARN_NO_WOMAN = 1 << 1,         /* villagers'/residents' committee elected no woman */
	TF_WARN_SIZE = 1 << 2,             /* committee size out of range, or even in an odd-size province */
	TF_WARN_FULL_TURNOUT = 1 << 3,     /* turnout of exactly 100 % */
	TF_WARN_SEATS_UNFILLED = 1 << 4,   /* seats left for a runoff */
	TF_WARN_CANDIDATE_MARGIN = 1 << 5, /* Party branch round 1: too few candidates for the seats */
	TF_WARN_PHOTO_REUSED = 1 << 6,     /* same sheet photo hash as another unit (set by the collector) */
	TF_WARN_IDENTICAL_FIGURES = 1 << 7, /* same figures as another unit (set by the collector) */
	TF_WARN_COUNT = 8
};

/* Thresholds that vary by province or rule edition.  The defaults are the
 * strict reading of DOMAIN.md.  A ratio is num/den with 0 < num < den <=
 * 100; "strictly more" compares count * den > base * num, so integer
 * arithmetic decides exactly-at-the-threshold without rounding. */
typedef struct {
	bool odd_size_required;            /* Qinghai: villagers' committee size must be odd (true) */
	unsigned party_attendance_num;     /* Party branch valid when present > num/den of */
	unsigned party_attendance_den;     /*   those who should attend, excused removed (4/5) */
	unsigned mass_quorum_num;          /* villagers' election valid when took part > */
	unsigned mass_quorum_den;          /*   num/den of registered (1/2) */
	unsigned residents_quorum_num;     /* the same for residents' committees, set by */
	unsigned residents_quorum_den;     /*   provincial measure (1/2, the villagers' rule) */
	unsigned mass_elect_num;           /* villagers'/residents', round 1 and 3+: elected with */
	unsigned mass_elect_den;           /*   votes for > num/den of those who took part (1/2) */
	unsigned runoff_min_num;           /* villagers'/residents' runoff (round 2): most votes, */
	unsigned runoff_min_den;           /*   but at least num/den of ballots cast, i.e. returned (1/3) */
	unsigned party_elect_num;          /* Party branch: elected with yes-votes > num/den */
	unsigned party_elect_den;          /*   of those present (1/2: exactly half fails) */
	unsigned party_candidate_margin_percent; /* Party round 1: candidates >= seats + this % of
	                                    *   seats, rounded up, else a W flag (20) */
	unsigned villagers_size_min;       /* villagers' committee size, all positions (3) */
	unsigned villagers_size_max;       /*   (7) */
	unsigned residents_size_min;       /* residents' committee size (5) */
	unsigned residents_size_max;       /*   (9) */
} tf_rules_config_t;

/* The outcome of one check. */
typedef struct {
	int reason;                        /* Tallyfeed__Reason; REASON_NONE when accepted */
	char detail[TF_DETAIL_MAX];        /* why, for people */
	unsigned warnings;                 /* TF_WARN_* bits when accepted */
	bool election_valid;               /* turnout/quorum met */
	unsigned seats_total;              /* seats in this round */
	unsigned seats_filled;             /* candidates elected in this round */
} tf_check_t;

/* What the database holds of the round before a report's round: the latest
 * revision of (unit, committee, round - 1). */
typedef struct {
	bool stored;                       /* that round is stored at all */
	bool election_valid;               /* it was a valid election */
	unsigned unfilled[TF_POSITIONS];   /* seats it left unfilled, by Tallyfeed__Position */
} tf_prior_round_t;

/* One finding of tf_rules_findings: an E (reason set, the report would
 * be rejected) or a W (warning set, accepted and flagged). */
#define TF_FINDINGS_MAX 64      /* findings kept; more set truncated */
#define TF_FIELD_MAX 48         /* bytes of a field path */
typedef struct {
	int reason;                 /* Tallyfeed__Reason of an E; REASON_NONE for a W */
	unsigned warning;           /* the TF_WARN_* bit of a W; 0 for an E */
	char field[TF_FIELD_MAX];   /* the report JSON's path of the field it concerns:
	                             * "ballots.valid", "candidates[2].votes_for" (from 0) */
	char message[TF_DETAIL_MAX];        /* why, in Chinese (Simplified), for township staff */
	char detail[TF_DETAIL_MAX];         /* why, in English, as tf_check_t's detail */
} tf_finding_t;

typedef struct {
	tf_check_t check;           /* the verdict, exactly tf_rules_check's */
	size_t count;
	bool truncated;             /* more than TF_FINDINGS_MAX */
	tf_finding_t items[TF_FINDINGS_MAX];        /* E in the order checked, then W */
} tf_findings_t;

/* The strict defaults. */
void tf_rules_config_default(tf_rules_config_t *config);

/* Fill config from the defaults and the optional subsection
 * "<section>/rules" of root (root may be NULL: defaults only).  Unknown or
 * repeated keys and bad values are refused: returns -1 with the key, the
 * value and what is expected in err, and leaves config unchanged; 0 when
 * config holds the new thresholds. */
int tf_rules_config_load(tf_rules_config_t *config, zconfig_t *root, const char *section,
                         char *err, size_t errlen);

/* Check a report.  registry may be NULL (arithmetic checks only); township,
 * when not NULL, is the 12-digit code of the only township whose units the
 * sender may report.  Returns 0 if accepted (warnings in out), -1 if
 * rejected (reason and detail in out). */
int tf_rules_check(const tf_rules_config_t *config, const tf_report_t *report,
                   const tf_registry_t *registry, const char *township, tf_check_t *out);

/* Every finding of the checks of tf_rules_check, for a form that shows
 * them all as the staff type: the same checks in the same order, going on
 * past a failure to everything that failure leaves sound (votes are not
 * counted on unsound seats, for one).  So the first finding is always the
 * reason tf_rules_check gives, and out->check is its verdict.  When there
 * is no E, the W flags follow, one finding each.  Returns 0 if accepted,
 * -1 if not.  out is large (tens of KiB): not for the stack of a thread. */
int tf_rules_findings(const tf_rules_config_t *config, const tf_report_t *report,
                      const tf_registry_t *registry, const char *township,
                      tf_findings_t *out);

/* May a unit of this kind have this committee?  Villages (and
 * village-like units) have a villagers' committee, communities (and
 * community-like units) a residents' one, every kind that maps a Party
 * branch; a kind that maps to nothing has none. */
bool tf_rules_unit_has(tf_unit_kind_t kind, Tallyfeed__Committee committee);

/* Who the thresholds elect: fills elected[i] for each candidate and says
 * whether the election itself is valid.  The report's arithmetic must
 * already be sound (seats present, candidates' positions have seats). */
void tf_rules_decide(const tf_rules_config_t *config, const tf_report_t *report,
                     bool *elected, bool *election_valid);

/* May this round follow what is stored?  Round 1 always may; round 2 (the
 * runoff) needs a stored, valid round 1 that left at least the runoff's
 * seats unfilled, position by position; round 3+ needs round - 1 stored.
 * prior NULL means nothing is stored.  Call after tf_rules_check accepted
 * the report.  Returns 0 (out untouched) or -1 with reason and detail in
 * out (REASON_RUNOFF_WITHOUT_ROUND1 or REASON_RUNOFF_SEATS). */
int tf_rules_check_sequence(const tf_report_t *report, const tf_prior_round_t *prior,
                            tf_check_t *out);

/* Seats per position left unfilled by a report whose elected flags are
 * verified: its seats minus those elected to them.  elected[i] per
 * candidate, or NULL to read the candidates' own flags.  unfilled[0]
 * (UNSPECIFIED) is always 0. */
void tf_rules_unfilled(const tf_report_t *report, const bool *elected,
                       unsigned unfilled[TF_POSITIONS]);

/* What a stored report says for the round after it: stored, whether the
 * thresholds of config make it valid, and the seats they leave unfilled. */
void tf_rules_prior_round(const tf_rules_config_t *config, const tf_report_t *report,
                          tf_prior_round_t *prior);

/* Stable name of a reason code, e.g. "BALLOT_SUM"; "UNKNOWN" if none. */
const char *tf_reason_name(int reason);
/* Stable lowercase name of warning bit i (0 <= i < TF_WARN_COUNT). */
const char *tf_warning_name(int bit);

#endif
