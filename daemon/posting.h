/*
 * posting: what a posting sheet (公示) carries for the public check.  The
 * agent prints, for each accepted result, a sheet with its figures and a
 * QR code of the province's check page; the QR code's URL carries the
 * result's key, the SHA-256 of its signed payload, the collector's
 * receipt signature, and the figures the sheet shows, so the check page
 * (tallyfeed-web /check, `tallyfeed check URL`) can say whether the
 * province counts exactly what was posted — and name the figure that
 * differs — without showing any figure the sheet does not carry.
 *
 * The query, every parameter required, in this order when built:
 *   u  the unit's 12-digit code
 *   c  the committee: villagers, residents, party_branch
 *   r  the round, v the revision (decimal, from 1)
 *   d  the payload's SHA-256, 64 lowercase hex digits
 *   s  the receipt's signature, URL-safe base64 without padding (86)
 *   f  the figures: registered.excused.took_part.proxy_votes.
 *      ballots_issued.ballots_returned.ballots_valid.ballots_invalid, then
 *      "_" and each candidate's votes for, in the report's order, dot
 *      separated, "e" after the number of one elected ("520e.480e.300")
 */
#ifndef TF_POSTING_H
#define TF_POSTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "identity.h"
#include "registry.h"
#include "report.h"
#include "rules.h"

#define TF_POSTING_QUERY_MAX 4096       /* bytes of a query read; a sound one is far less */
#define TF_POSTING_FIGURES 8            /* the electorate and ballot figures */
#define TF_POSTING_CANDIDATES_MAX TF_CANDIDATES_MAX

typedef struct {
	char unit[TF_CODE_LEN + 1];
	Tallyfeed__Committee committee;
	unsigned round, revision;
	uint8_t payload_sha256[TF_HASH_LEN];
	uint8_t signature[TF_SIGNATURE_LEN];
	uint32_t figures[TF_POSTING_FIGURES];
	size_t candidates;
	uint32_t votes[TF_POSTING_CANDIDATES_MAX];
	bool elected[TF_POSTING_CANDIDATES_MAX];
} tf_posting_t;

/* The posting of a report (its payload's SHA-256 and its receipt's
 * signature given).  -1 if it has more candidates than a posting carries. */
int tf_posting_of(const tf_report_t *report, const uint8_t payload_sha256[TF_HASH_LEN],
                  const uint8_t signature[TF_SIGNATURE_LEN], tf_posting_t *out);
/* The query (without "?"), NUL-terminated, into out; -1 if it does not fit. */
int tf_posting_query(const tf_posting_t *posting, char *out, size_t outlen);
/* Read a query (anything up to and including a "?" is skipped, so a whole
 * URL will do): 0, or -1 with why, for people. */
int tf_posting_parse(const char *query, tf_posting_t *out, char *why, size_t whylen);

/* Which of the posting's figures report does not give again: a bit per
 * figure (1 << i, i < TF_POSTING_FIGURES), and TF_POSTING_CANDIDATES_DIFFER
 * if the candidates' votes, elected flags or number differ. */
#define TF_POSTING_CANDIDATES_DIFFER (1u << TF_POSTING_FIGURES)
unsigned tf_posting_differs(const tf_posting_t *posting, const tf_report_t *report);
/* The Chinese name of figure i for a committee (a Party branch counts
 * members, not voters), or of the candidates for i == TF_POSTING_FIGURES. */
const char *tf_posting_label(Tallyfeed__Committee committee, int i);

#endif
