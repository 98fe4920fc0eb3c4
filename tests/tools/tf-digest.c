/*
 * tf-digest: one canonical line per result file, holding every figure the
 * database stores for it.  The fault-injection suite compares these lines
 * with the same lines built in SQL from the stored rows (faults/digest.sql):
 * any result lost, duplicated or changed shows as a difference.
 */
#include "report.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *
s_word(int value, const char *const *words, int n)
{
	return value > 0 && value < n ? words[value] : "";
}

int
main(int argc, char **argv)
{
	static const char *const modes[] = { "", "combined", "per_position" };
	static const char *const genders[] = { "", "male", "female" };
	static const char *const educations[] = {
		"", "primary", "junior_secondary", "senior_secondary", "junior_college", "bachelor",
		"postgraduate"
	};
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		char err[1024], hash[65] = "";
		unsigned seats[4] = { 0 };
		tf_report_t *r = tf_report_from_file(argv[i], err, sizeof err);

		if (r == NULL) {
			fprintf(stderr, "tf-digest: %s\n", err);
			rc = 1;
			continue;
		}
		for (size_t s = 0; s < r->n_seats; s++)
			seats[r->seats[s]->position & 3] = r->seats[s]->count;
		if (r->sheet_photo_sha256.len == 32)
			sodium_bin2hex(hash, sizeof hash, r->sheet_photo_sha256.data, 32);
		printf("%s|%s|%u|%u|%s|%u|%u|%u|%u|%u|%u|%u|%u|%s|%u|%u|%u|%s|%c|", r->unit_code,
		       tf_committee_word(r->committee), r->round, r->revision, r->held_on,
		       r->registered, r->excused, r->took_part, r->proxy_votes, r->ballots_issued,
		       r->ballots_returned, r->ballots_valid, r->ballots_invalid,
		       s_word(r->ballot_mode, modes, 3), seats[1], seats[2], seats[3], hash,
		       r->announced_on_site ? 't' : 'f');
		for (size_t c = 0; c < r->n_candidates; c++) {
			const Tallyfeed__Candidate *k = r->candidates[c];
			char year[16] = "";

			if (k->birth_year)
				snprintf(year, sizeof year, "%u", k->birth_year);
			printf("%s%s:%s:%s:%u:%u:%u:%c:%s:%s:%s:%s:%s:%c:%c:%c:%c", c ? ";" : "",
			       k->candidate_id, k->name, tf_position_word(k->position), k->votes_for,
			       k->votes_against, k->votes_abstain, k->elected ? 't' : 'f',
			       k->elected ? tf_position_word(k->position_won) : "",
			       s_word(k->gender, genders, 3), k->ethnicity, year,
			       s_word(k->education, educations, 7), k->party_member ? 't' : 'f',
			       k->reelected ? 't' : 'f', k->concurrent_head ? 't' : 'f',
			       k->cross_serving ? 't' : 'f');
		}
		putchar('\n');
		tf_report_destroy(&r);
	}
	return rc;
}
