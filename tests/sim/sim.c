/*
 * tallyfeed-sim: plausible result files for every unit of a registry
 * subtree, the same bytes for the same seed, with a manifest that says
 * what the collector must make of each file.  --inject corrupts a few
 * round-1 reports on purpose so that every rejection reason can be tested
 * end to end.
 *
 * Nothing is written unchecked: each report must serialize, parse back to
 * the same text, and pass tf_rules_check against the registry as its own
 * township's agent would send it — or, when corrupted, be rejected with
 * exactly the intended reason.  Anything else means the simulator and the
 * validator disagree; the run stops with status 1 rather than write a file
 * that would make a test lie.
 */
#include "registry.h"
#include "report.h"
#include "rules.h"
#include "simgen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PROG "tallyfeed-sim"
#define EXIT_USAGE 2
#define REVISION_MAX 1000000    /* the most rules.c accepts */
#define INJECT_MAX 1000000      /* per kind; more reports than any province has */
#define REASON_MALFORMED (-1)   /* not a Tallyfeed__Reason: the agent's parser refuses the file */

typedef enum { NEED_ANY, NEED_MASS, NEED_PARTY } need_t;

/* Corruptions.  Targets are picked kind by kind in this order, so the kinds
 * that only some reports can take come first: the kinds that fit any
 * report must not use up a constrained kind's only candidates. */
enum {
	K_PARTY_PROXY, K_COMMITTEE_MISMATCH, K_BALLOT_SUM, K_RETURNED_OVER_ISSUED,
	K_TURNOUT_OVER_REGISTERED, K_VOTES_OVER_VALID, K_POSITION_VOTES_OVER,
	K_ELECTED_MISMATCH, K_UNKNOWN_UNIT, K_UNIT_TYPE_UNKNOWN, K_MALFORMED, K_COUNT
};
static const struct {
	const char *name;
	int reason;
	need_t need;
} s_kinds[K_COUNT] = {
	[K_PARTY_PROXY] = { "party_proxy", TALLYFEED__REASON__REASON_PROXY_IN_PARTY, NEED_PARTY },
	[K_COMMITTEE_MISMATCH] = { "committee_mismatch",
	                           TALLYFEED__REASON__REASON_COMMITTEE_MISMATCH, NEED_MASS },
	[K_BALLOT_SUM] = { "ballot_sum", TALLYFEED__REASON__REASON_BALLOT_SUM, NEED_ANY },
	[K_RETURNED_OVER_ISSUED] = { "returned_over_issued",
	                             TALLYFEED__REASON__REASON_RETURNED_OVER_ISSUED, NEED_ANY },
	[K_TURNOUT_OVER_REGISTERED] = { "turnout_over_registered",
	                                TALLYFEED__REASON__REASON_TURNOUT_OVER_REGISTERED, NEED_ANY },
	[K_VOTES_OVER_VALID] = { "votes_over_valid",
	                         TALLYFEED__REASON__REASON_VOTES_OVER_VALID, NEED_ANY },
	[K_POSITION_VOTES_OVER] = { "position_votes_over",
	                            TALLYFEED__REASON__REASON_POSITION_VOTES_OVER, NEED_ANY },
	[K_ELECTED_MISMATCH] = { "elected_mismatch",
	                         TALLYFEED__REASON__REASON_ELECTED_MISMATCH, NEED_ANY },
	[K_UNKNOWN_UNIT] = { "unknown_unit", TALLYFEED__REASON__REASON_UNKNOWN_UNIT, NEED_ANY },
	[K_UNIT_TYPE_UNKNOWN] = { "unit_type_unknown",
	                          TALLYFEED__REASON__REASON_UNIT_TYPE_UNKNOWN, NEED_ANY },
	[K_MALFORMED] = { "malformed", REASON_MALFORMED, NEED_ANY },
};

typedef struct {
	const char *registry_dir;
	const char *under;
	const char *out;
	uint64_t seed;
	unsigned revision;
	bool committees[4];             /* by Tallyfeed__Committee */
	unsigned inject[K_COUNT];
	bool quiet;
} options_t;

/* One round-1 report to write: a unit and one of its committees. */
typedef struct {
	size_t unit;                    /* index into sim_t.areas and .units */
	Tallyfeed__Committee committee;
	int kind;                       /* corruption, or -1 */
} slot_t;

typedef struct {
	options_t opt;
	tf_registry_t *registry;
	tf_rules_config_t config;
	const tf_area_t **areas;        /* units under --under, in registry order */
	sim_unit_t **units;
	size_t nunits;
	slot_t *slots;
	size_t nslots;
	FILE *manifest;
	size_t files, runoffs, injected;
} sim_t;

static void
s_usage(FILE *fp)
{
	fprintf(fp,
"usage: " PROG " --registry DIR --under CODE --out DIR [--seed N]\n"
"                     [--committees LIST] [--inject KIND=COUNT]... [--revision N] [--quiet]\n"
"\n"
"Write plausible two-committee election result files (the township agent's JSON\n"
"format) for every village and community under CODE, the same bytes for the same\n"
"seed and arguments.  Every file is checked with the tallyfeed rules before it is\n"
"written.\n"
"\n"
"  --registry DIR       registry directory (prefectures.csv, counties.csv,\n"
"                       townships.csv, villages.csv), e.g. deploy/registry/qinghai\n"
"  --under CODE         12-digit code of the province, a prefecture, a county, a\n"
"                       township or a single unit of the registry\n"
"  --out DIR            output directory, created if missing; files already there\n"
"                       are overwritten, others left alone.  Writes\n"
"                       DIR/<township>/<unit>-<committee>-r<round>.json and\n"
"                       DIR/manifest.tsv\n"
"  --seed N             seed of the simulation, 0 to 2^64-1 (default 1)\n"
"  --committees LIST    comma list of villagers, residents, party_branch (default\n"
"                       all); a unit gets its own mass committee (villagers or\n"
"                       residents, by its code) if listed, and party_branch if listed\n"
"  --inject KIND=COUNT  corrupt COUNT round-1 reports, picked by the seed across the\n"
"                       subtree, so that the collector must reject them (repeatable;\n"
"                       a report is corrupted at most once, never one with a runoff):\n"
"                         ballot_sum               -> BALLOT_SUM\n"
"                         returned_over_issued     -> RETURNED_OVER_ISSUED\n"
"                         turnout_over_registered  -> TURNOUT_OVER_REGISTERED\n"
"                         votes_over_valid         -> VOTES_OVER_VALID\n"
"                         position_votes_over      -> POSITION_VOTES_OVER\n"
"                         elected_mismatch         -> ELECTED_MISMATCH\n"
"                         party_proxy              -> PROXY_IN_PARTY (party_branch only)\n"
"                         unknown_unit             -> UNKNOWN_UNIT\n"
"                         committee_mismatch       -> COMMITTEE_MISMATCH (villagers or\n"
"                                                     residents only)\n"
"                         unit_type_unknown        -> UNIT_TYPE_UNKNOWN\n"
"                         malformed                -> MALFORMED_FILE (truncated JSON)\n"
"  --revision N         revision written in every file, 1 to %d (default 1)\n"
"  --quiet              do not print the summary line\n"
"  --help               print this text and exit\n"
"\n"
"Round 1 is written for every unit; where a valid round 1 left seats unfilled (a\n"
"tie, or too few votes) a round-2 runoff file is written too.\n"
"\n"
"DIR/manifest.tsv has a header line and one line per file written:\n"
"  path (relative to DIR), unit (the unit the file was made for, also when a\n"
"  corruption changed the code inside), committee, round, expect (ACCEPTED or\n"
"  REJECTED), reason (a reason name such as BALLOT_SUM, MALFORMED_FILE, or -).\n"
"Unless --quiet, one line goes to stdout at the end:\n"
"  sim: units=N files=F runoffs=R injected=I seed=S out=DIR\n"
"\n"
"Exit status: 0 done; 1 registry, unknown code, output error, or a file that\n"
"does not check as intended (a simulator bug); 2 bad arguments, or more reports\n"
"to corrupt than there are.\n", REVISION_MAX);
}

static int
s_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

static int
s_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* A decimal number and nothing else: strtoull alone takes "-1", " 7" and "7x". */
static int
s_number(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
s_parse_committees(const char *list, options_t *opt)
{
	char buf[256];
	char *save = NULL;

	if (strlen(list) >= sizeof buf || list[0] == '\0')
		return s_usage_error("--committees: expected a comma list of villagers, residents, "
		                     "party_branch");
	strcpy(buf, list);
	memset(opt->committees, 0, sizeof opt->committees);
	for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		int found = 0;
		for (int c = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
		     c <= TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH; c++)
			if (strcmp(w, tf_committee_word((Tallyfeed__Committee)c)) == 0) {
				opt->committees[c] = true;
				found = 1;
			}
		if (!found)
			return s_usage_error("--committees: unknown committee \"%s\" (expected "
			                     "villagers, residents or party_branch)", w);
	}
	for (int c = 1; c < 4; c++)
		if (opt->committees[c])
			return 0;
	return s_usage_error("--committees: no committee given");
}

static int
s_parse_inject(const char *arg, options_t *opt)
{
	const char *eq = strchr(arg, '=');
	uint64_t count;

	if (eq == NULL)
		return s_usage_error("--inject %s: expected KIND=COUNT", arg);
	for (int k = 0; k < K_COUNT; k++) {
		if (strlen(s_kinds[k].name) != (size_t)(eq - arg)
		    || strncmp(arg, s_kinds[k].name, (size_t)(eq - arg)) != 0)
			continue;
		if (s_number(eq + 1, INJECT_MAX, &count) != 0)
			return s_usage_error("--inject %s: COUNT must be a whole number up to %d",
			                     arg, INJECT_MAX);
		if (opt->inject[k] + count > INJECT_MAX)
			return s_usage_error("--inject %s: more than %d in all", s_kinds[k].name,
			                     INJECT_MAX);
		opt->inject[k] += (unsigned)count;
		return 0;
	}
	return s_usage_error("--inject: unknown kind \"%.*s\" (see --help)", (int)(eq - arg), arg);
}

/* 0 to run, -1 to exit 0 (--help), or an exit status. */
static int
s_parse_options(int argc, char **argv, options_t *opt)
{
	enum { O_REGISTRY = 256, O_UNDER, O_OUT, O_SEED, O_COMMITTEES, O_INJECT, O_REVISION,
	       O_QUIET };
	static const struct option longopts[] = {
		{ "registry", required_argument, NULL, O_REGISTRY },
		{ "under", required_argument, NULL, O_UNDER },
		{ "out", required_argument, NULL, O_OUT },
		{ "seed", required_argument, NULL, O_SEED },
		{ "committees", required_argument, NULL, O_COMMITTEES },
		{ "inject", required_argument, NULL, O_INJECT },
		{ "revision", required_argument, NULL, O_REVISION },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t n;
	int ch, rc;

	opt->seed = 1;
	opt->revision = 1;
	for (int c = 1; c < 4; c++)
		opt->committees[c] = true;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_REGISTRY:
			opt->registry_dir = optarg;
			break;
		case O_UNDER:
			opt->under = optarg;
			break;
		case O_OUT:
			opt->out = optarg;
			break;
		case O_SEED:
			if (s_number(optarg, UINT64_MAX, &n) != 0)
				return s_usage_error("--seed %s: expected a whole number from 0 to "
				                     "%" PRIu64, optarg, UINT64_MAX);
			opt->seed = n;
			break;
		case O_COMMITTEES:
			if ((rc = s_parse_committees(optarg, opt)) != 0)
				return rc;
			break;
		case O_INJECT:
			if ((rc = s_parse_inject(optarg, opt)) != 0)
				return rc;
			break;
		case O_REVISION:
			if (s_number(optarg, REVISION_MAX, &n) != 0 || n == 0)
				return s_usage_error("--revision %s: expected a whole number from 1 to %d",
				                     optarg, REVISION_MAX);
			opt->revision = (unsigned)n;
			break;
		case O_QUIET:
			opt->quiet = true;
			break;
		case 'h':
			s_usage(stdout);
			return -1;
		default:                /* getopt_long has said what is wrong */
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return s_usage_error("unexpected argument \"%s\"", argv[optind]);
	if (opt->registry_dir == NULL || opt->under == NULL || opt->out == NULL)
		return s_usage_error("--registry, --under and --out are required");
	if (!tf_code_valid(opt->under))
		return s_usage_error("--under %s: expected a 12-digit code", opt->under);
	if (opt->out[0] == '\0')
		return s_usage_error("--out: empty directory name");
	return 0;
}

/* Is unit under code (the unit itself, its township, county or prefecture)? */
static bool
s_is_under(const tf_registry_t *registry, const tf_area_t *unit, const char *code)
{
	const tf_area_t *township, *county;

	if (strcmp(unit->code, code) == 0 || strcmp(unit->parent, code) == 0)
		return true;
	township = tf_registry_find(registry, TF_LEVEL_TOWNSHIP, unit->parent);
	if (township == NULL)
		return false;
	if (strcmp(township->parent, code) == 0)
		return true;
	county = tf_registry_find(registry, TF_LEVEL_COUNTY, township->parent);
	return county != NULL && strcmp(county->parent, code) == 0;
}

static int
s_select_units(sim_t *sim)
{
	const char *code = sim->opt.under;
	const char *province = tf_registry_province(sim->registry);
	size_t total = tf_registry_size(sim->registry, TF_LEVEL_UNIT);
	bool all = strncmp(code, province, 2) == 0 && strcmp(code + 2, "0000000000") == 0;
	bool known = all;

	for (int level = TF_LEVEL_PREFECTURE; level < TF_LEVEL_COUNT && !known; level++)
		known = tf_registry_find(sim->registry, (tf_level_t)level, code) != NULL;
	if (!known)
		return s_error("--under %s: no such province, prefecture, county, township or unit "
		               "in %s", code, sim->opt.registry_dir);
	sim->areas = calloc(total, sizeof *sim->areas);
	if (sim->areas == NULL)
		return s_error("out of memory");
	for (size_t i = 0; i < total; i++) {
		const tf_area_t *unit = tf_registry_at(sim->registry, TF_LEVEL_UNIT, i);
		if (all || s_is_under(sim->registry, unit, code))
			sim->areas[sim->nunits++] = unit;
	}
	return 0;
}

/* A code in the unit's township that the registry does not have, of a kind
 * that still has this committee, so that only the registry can tell. */
static int
s_unused_code(const tf_registry_t *registry, const tf_area_t *unit,
              Tallyfeed__Committee committee, char *code)
{
	tf_unit_kind_t kind = tf_unit_kind_of(unit->code);
	int top, bottom;

	if (committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS)
		kind = TF_UNIT_VILLAGERS;
	else if (committee == TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS)
		kind = TF_UNIT_RESIDENTS;
	switch (kind) {
	case TF_UNIT_RESIDENTS:
		top = 199, bottom = 1;
		break;
	case TF_UNIT_VILLAGERS:
		top = 399, bottom = 200;
		break;
	case TF_UNIT_COMMUNITY_LIKE:
		top = 499, bottom = 400;
		break;
	case TF_UNIT_VILLAGE_LIKE:
		top = 599, bottom = 500;
		break;
	default:
		return -1;
	}
	for (int last = top; last >= bottom; last--) {
		snprintf(code, TF_CODE_LEN + 1, "%.9s%03u", unit->code, (unsigned)last % 1000u);
		if (tf_registry_find(registry, TF_LEVEL_UNIT, code) == NULL)
			return 0;
	}
	return -1;
}

static bool
s_can_take(const sim_t *sim, const slot_t *slot, int kind)
{
	char code[TF_CODE_LEN + 1];
	bool party = slot->committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;

	if (slot->kind >= 0 || sim_unit_report(sim->units[slot->unit], slot->committee, 2) != NULL)
		return false;
	if ((s_kinds[kind].need == NEED_PARTY && !party) || (s_kinds[kind].need == NEED_MASS && party))
		return false;
	if (kind == K_UNKNOWN_UNIT)
		return s_unused_code(sim->registry, sim->areas[slot->unit], slot->committee, code) == 0;
	return true;
}

/* The round-1 reports to write, and which of them to corrupt. */
static int
s_plan_slots(sim_t *sim)
{
	size_t *eligible;
	int rc = 0;

	sim->slots = calloc(2 * sim->nunits + 1, sizeof *sim->slots);
	eligible = calloc(2 * sim->nunits + 1, sizeof *eligible);
	if (sim->slots == NULL || eligible == NULL) {
		rc = s_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < sim->nunits; i++) {
		Tallyfeed__Committee mass = sim_unit_mass_committee(sim->units[i]);

		if (sim->opt.committees[mass])
			sim->slots[sim->nslots++] = (slot_t){ i, mass, -1 };
		if (sim->opt.committees[TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH])
			sim->slots[sim->nslots++] =
			    (slot_t){ i, TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, -1 };
	}
	for (int k = 0; k < K_COUNT; k++) {
		sim_rng_t rng;
		size_t n = 0;

		if (sim->opt.inject[k] == 0)
			continue;
		for (size_t i = 0; i < sim->nslots; i++)
			if (s_can_take(sim, &sim->slots[i], k))
				eligible[n++] = i;
		if (n < sim->opt.inject[k]) {
			rc = s_usage_error("--inject %s=%u: only %zu of the reports to write can take "
			                   "it", s_kinds[k].name, sim->opt.inject[k], n);
			goto out;
		}
		/* The first COUNT of a seeded shuffle: spread over the subtree. */
		sim_rng_seed(&rng, sim->opt.seed, "inject", (uint64_t)k);
		for (size_t i = 0; i < sim->opt.inject[k]; i++) {
			size_t j = i + sim_rng_below(&rng, (uint32_t)(n - i));
			size_t t = eligible[i];
			eligible[i] = eligible[j];
			eligible[j] = t;
			sim->slots[eligible[i]].kind = k;
		}
	}
out:
	free(eligible);
	return rc;
}

/* Corrupt r so that the rules must reject it for the kind's reason. */
static int
s_inject(const sim_t *sim, const slot_t *slot, tf_report_t *r)
{
	const tf_area_t *unit = sim->areas[slot->unit];
	char code[TF_CODE_LEN + 1];
	sim_rng_t rng;

	sim_rng_seed(&rng, sim->opt.seed, unit->code, 100 + (uint64_t)slot->committee);
	switch (slot->kind) {
	case K_BALLOT_SUM:
		r->ballots_invalid += sim_rng_range(&rng, 1, 5);
		break;
	case K_RETURNED_OVER_ISSUED:
		/* Keep valid + invalid = returned, or BALLOT_SUM would fire first. */
		r->ballots_returned = r->ballots_issued + sim_rng_range(&rng, 1, 3);
		r->ballots_valid = r->ballots_returned - r->ballots_invalid;
		break;
	case K_TURNOUT_OVER_REGISTERED: {
		uint32_t should = r->registered - r->excused;
		r->took_part = should + sim_rng_range(&rng, 1, 1 + should / 20);
		break;
	}
	case K_VOTES_OVER_VALID: {
		Tallyfeed__Candidate *c = r->candidates[sim_rng_below(&rng, (uint32_t)r->n_candidates)];
		c->votes_for = r->ballots_valid + sim_rng_range(&rng, 1, 1 + r->ballots_valid / 10);
		break;
	}
	case K_POSITION_VOTES_OVER: {
		/* Every line stays within valid, but the position adds up to more
		 * than valid x seats: raise the weakest lines to valid, one by one. */
		const Tallyfeed__Seats *seats = r->seats[sim_rng_below(&rng, (uint32_t)r->n_seats)];
		uint64_t cap = (uint64_t)r->ballots_valid * seats->count, sum = 0;

		for (size_t i = 0; i < r->n_candidates; i++)
			if (r->candidates[i]->position == seats->position)
				sum += r->candidates[i]->votes_for;
		while (sum <= cap) {
			Tallyfeed__Candidate *weakest = NULL;
			for (size_t i = 0; i < r->n_candidates; i++) {
				Tallyfeed__Candidate *c = r->candidates[i];
				if (c->position == seats->position && c->votes_for < r->ballots_valid
				    && (weakest == NULL || c->votes_for < weakest->votes_for))
					weakest = c;
			}
			if (weakest == NULL)
				return s_error("%s: cannot push %s votes over valid x seats (simulator bug)",
				               unit->code, tf_position_word(seats->position));
			sum += r->ballots_valid - weakest->votes_for;
			weakest->votes_for = r->ballots_valid;
			/* for + against + abstain must stay within valid too */
			weakest->votes_against = 0;
			weakest->votes_abstain = 0;
		}
		break;
	}
	case K_ELECTED_MISMATCH: {
		Tallyfeed__Candidate *losers[TF_CANDIDATES_MAX], *c;
		size_t n = 0;

		for (size_t i = 0; i < r->n_candidates; i++)
			if (!r->candidates[i]->elected)
				losers[n++] = r->candidates[i];
		if (n == 0)
			return s_error("%s: no loser to mark elected (simulator bug)", unit->code);
		c = losers[sim_rng_below(&rng, (uint32_t)n)];
		c->elected = true;
		c->position_won = c->position;
		break;
	}
	case K_PARTY_PROXY:
		r->proxy_votes = sim_rng_range(&rng, 1, 5);
		break;
	case K_UNKNOWN_UNIT:
		if (s_unused_code(sim->registry, unit, slot->committee, code) != 0)
			return s_error("%s: no unused code left in the township (simulator bug)",
			               unit->code);
		free(r->unit_code);
		r->unit_code = strdup(code);
		if (r->unit_code == NULL)
			return s_error("out of memory");
		break;
	case K_COMMITTEE_MISMATCH:
		r->committee = r->committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS
		               ? TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS
		               : TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
		break;
	case K_UNIT_TYPE_UNKNOWN:
		/* 000 and 600-999 name no committee type. */
		snprintf(code, sizeof code, "%.9s%03u", unit->code,
		         sim_rng_chance(&rng, 250) ? 0 : sim_rng_range(&rng, 600, 999));
		free(r->unit_code);
		r->unit_code = strdup(code);
		if (r->unit_code == NULL)
			return s_error("out of memory");
		break;
	case K_MALFORMED:
		break;          /* the text is cut when written */
	default:
		return s_error("corruption %d unknown (simulator bug)", slot->kind);
	}
	return 0;
}

static int
s_write_file(const char *path, const char *text, size_t len, bool newline)
{
	FILE *fp = fopen(path, "wb");
	int rc = 0;

	if (fp == NULL)
		return s_error("%s: %s", path, strerror(errno));
	if (fwrite(text, 1, len, fp) != len || (newline && fputc('\n', fp) == EOF))
		rc = s_error("%s: %s", path, strerror(errno));
	if (fclose(fp) != 0 && rc == 0)
		rc = s_error("%s: %s", path, strerror(errno));
	return rc;
}

/* Check one report as the collector will, write it, and list it. */
static int
s_emit(sim_t *sim, const slot_t *slot, tf_report_t *r, int kind)
{
	const tf_area_t *unit = sim->areas[slot->unit];
	const char *word = tf_committee_word(slot->committee);
	char rel[128], path[PATH_MAX], err[512];
	char *text = NULL, *again = NULL;
	tf_report_t *back = NULL;
	tf_check_t check;
	unsigned round = r->round;
	int want = TALLYFEED__REASON__REASON_NONE, rc = 1;
	size_t len;

	/* Named before any corruption: injected files keep their normal names. */
	snprintf(rel, sizeof rel, "%s/%s-%s-r%u.json", unit->parent, unit->code, word, round);
	if ((size_t)snprintf(path, sizeof path, "%s/%s", sim->opt.out, rel) >= sizeof path) {
		s_error("%s/%s: path too long", sim->opt.out, rel);
		goto out;
	}
	if (kind >= 0) {
		if (s_inject(sim, slot, r) != 0)
			goto out;
		if (s_kinds[kind].reason != REASON_MALFORMED)
			want = s_kinds[kind].reason;
	}
	text = tf_report_to_json(r, 2);
	if (text == NULL) {
		s_error("%s: cannot serialize the report (simulator bug)", rel);
		goto out;
	}
	len = strlen(text);
	back = tf_report_from_json(text, len, err, sizeof err);
	if (back == NULL) {
		s_error("%s: does not parse back: %s (simulator bug)", rel, err);
		goto out;
	}
	again = tf_report_to_json(back, 2);
	if (again == NULL || strcmp(text, again) != 0) {
		s_error("%s: does not round-trip through the JSON format (simulator bug)", rel);
		goto out;
	}
	/* As the collector will: the unit's own township is the sender. */
	tf_rules_check(&sim->config, back, sim->registry, unit->parent, &check);
	if (check.reason != want) {
		s_error("%s: the rules say %s (%s), the simulator meant %s (simulator bug)", rel,
		        check.reason == 0 ? "accepted" : tf_reason_name(check.reason), check.detail,
		        want == 0 ? "accepted" : tf_reason_name(want));
		goto out;
	}
	if (kind == K_MALFORMED) {
		tf_report_t *cut;

		len /= 2;
		cut = tf_report_from_json(text, len, err, sizeof err);
		if (cut != NULL) {
			tf_report_destroy(&cut);
			s_error("%s: still parses when cut (simulator bug)", rel);
			goto out;
		}
	}
	if (s_write_file(path, text, len, kind != K_MALFORMED) != 0)
		goto out;
	if (fprintf(sim->manifest, "%s\t%s\t%s\t%u\t%s\t%s\n", rel, unit->code, word, round,
	            kind >= 0 ? "REJECTED" : "ACCEPTED",
	            kind == K_MALFORMED ? "MALFORMED_FILE"
	            : kind >= 0 ? tf_reason_name(want) : "-") < 0) {
		s_error("%s/manifest.tsv: %s", sim->opt.out, strerror(errno));
		goto out;
	}
	sim->files++;
	sim->runoffs += round == 2;
	sim->injected += kind >= 0;
	rc = 0;
out:
	free(text);
	free(again);
	tf_report_destroy(&back);
	return rc;
}

static int
s_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

/* mkdir -p */
static int
s_mkdirs(const char *path)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof buf)
		return s_error("%s: path too long", path);
	strcpy(buf, path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		if (s_mkdir(buf) != 0)
			return s_error("%s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (s_mkdir(buf) != 0)
		return s_error("%s: %s", buf, strerror(errno));
	return 0;
}

static int
s_write_all(sim_t *sim)
{
	char path[PATH_MAX];
	int rc = 1;

	if (s_mkdirs(sim->opt.out) != 0)
		return 1;
	snprintf(path, sizeof path, "%s/manifest.tsv", sim->opt.out);
	sim->manifest = fopen(path, "w");
	if (sim->manifest == NULL)
		return s_error("%s: %s", path, strerror(errno));
	fprintf(sim->manifest, "path\tunit\tcommittee\tround\texpect\treason\n");
	for (size_t i = 0; i < sim->nslots; i++) {
		const slot_t *slot = &sim->slots[i];
		const tf_area_t *unit = sim->areas[slot->unit];
		tf_report_t *r1 = sim_unit_report(sim->units[slot->unit], slot->committee, 1);
		tf_report_t *r2 = sim_unit_report(sim->units[slot->unit], slot->committee, 2);

		snprintf(path, sizeof path, "%s/%s", sim->opt.out, unit->parent);
		if (s_mkdir(path) != 0) {
			s_error("%s: %s", path, strerror(errno));
			goto out;
		}
		if (s_emit(sim, slot, r1, slot->kind) != 0
		    || (r2 != NULL && s_emit(sim, slot, r2, -1) != 0))
			goto out;
	}
	rc = 0;
out:
	if (fclose(sim->manifest) != 0 && rc == 0)
		rc = s_error("%s/manifest.tsv: %s", sim->opt.out, strerror(errno));
	sim->manifest = NULL;
	return rc;
}

static int
s_run(sim_t *sim)
{
	char err[1024];
	int rc;

	tf_rules_config_default(&sim->config);
	sim->registry = tf_registry_new();
	if (sim->registry == NULL)
		return s_error("out of memory");
	if (tf_registry_load_dir(sim->registry, sim->opt.registry_dir, err, sizeof err) != 0)
		return s_error("%s", err);
	if ((rc = s_select_units(sim)) != 0)
		return rc;
	sim->units = calloc(sim->nunits + 1, sizeof *sim->units);
	if (sim->units == NULL)
		return s_error("out of memory");
	for (size_t i = 0; i < sim->nunits; i++)
		sim->units[i] = sim_unit_new(sim->areas[i], sim->opt.seed, sim->opt.revision);
	/* Before anything is written: a bad --inject count leaves no half output. */
	if ((rc = s_plan_slots(sim)) != 0)
		return rc;
	if ((rc = s_write_all(sim)) != 0)
		return rc;
	if (!sim->opt.quiet)
		printf("sim: units=%zu files=%zu runoffs=%zu injected=%zu seed=%" PRIu64 " out=%s\n",
		       sim->nunits, sim->files, sim->runoffs, sim->injected, sim->opt.seed,
		       sim->opt.out);
	if (fflush(stdout) != 0)
		return s_error("stdout: %s", strerror(errno));
	return 0;
}

int
main(int argc, char **argv)
{
	sim_t sim;
	int rc;

	memset(&sim, 0, sizeof sim);
	rc = s_parse_options(argc, argv, &sim.opt);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	rc = s_run(&sim);
	for (size_t i = 0; sim.units != NULL && i < sim.nunits; i++)
		sim_unit_destroy(&sim.units[i]);
	free(sim.units);
	free(sim.slots);
	free(sim.areas);
	tf_registry_destroy(&sim.registry);
	return rc;
}
