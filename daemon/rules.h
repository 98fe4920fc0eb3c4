/*
 * rules: the election rules validator, shared by the agent (so township
 * staff see a mistake at entry time) and the collector (which trusts
 * nothing).  It checks one report against the registry and the arithmetic
 * of the election (DOMAIN.md "Checks"), recomputes who is elected, and
 * sorts every problem into a rejection with a reason code (E) or a flag
 * stored with the result (W).
 */
#ifndef TF_RULES_H
#define TF_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"
#include "report.h"

#define TF_DETAIL_MAX 256       /* bytes of human-readable detail in a verdict */
#define TF_CANDIDATES_MAX 200   /* candidates in one report */

/* W flags: accepted, but stored with the result for people to look at. */
enum {
	TF_WARN_INVALID_ELECTION = 1 << 0, /* turnout or quorum short: no one elected */
	TF_WARN_NO_WOMAN = 1 << 1,         /* villagers'/residents' committee elected no woman */
	TF_WARN_SIZE = 1 << 2,             /* committee size out of range, or even in an odd-size province */
	TF_WARN_FULL_TURNOUT = 1 << 3,     /* turnout of exactly 100 % */
	TF_WARN_SEATS_UNFILLED = 1 << 4,   /* seats left for a runoff */
	TF_WARN_COUNT = 5
};

/* Thresholds that vary by province or rule edition.  The defaults are the
 * strict reading of DOMAIN.md. */
typedef struct {
	bool odd_size_required;            /* Qinghai: villagers' committee size must be odd */
	unsigned party_attendance_num;     /* Party branch valid when present > num/den of */
	unsigned party_attendance_den;     /*   those who should attend (excused removed) */
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

/* The strict defaults. */
void tf_rules_config_default(tf_rules_config_t *config);

/* Check a report.  registry may be NULL (arithmetic checks only); township,
 * when not NULL, is the 12-digit code of the only township whose units the
 * sender may report.  Returns 0 if accepted (warnings in out), -1 if
 * rejected (reason and detail in out). */
int tf_rules_check(const tf_rules_config_t *config, const tf_report_t *report,
                   const tf_registry_t *registry, const char *township, tf_check_t *out);

/* Who the thresholds elect: fills elected[i] for each candidate and says
 * whether the election itself is valid.  The report's arithmetic must
 * already be sound (seats present, candidates' positions have seats). */
void tf_rules_decide(const tf_rules_config_t *config, const tf_report_t *report,
                     bool *elected, bool *election_valid);

/* Stable name of a reason code, e.g. "BALLOT_SUM"; "UNKNOWN" if none. */
const char *tf_reason_name(int reason);
/* Stable lowercase name of warning bit i (0 <= i < TF_WARN_COUNT). */
const char *tf_warning_name(int bit);

#endif
