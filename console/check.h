/*
 * check: the public check of a posting sheet (公示).  From what the sheet's
 * QR code carries (daemon/posting.h), the database and the collectors'
 * public keys, it says one of:
 *   counted     the province counts exactly what was posted: the receipt
 *               is a collector's for the stored result, whose signed
 *               payload has the sheet's digest and figures, and no later
 *               revision of it is stored;
 *   superseded  posted and counted once, but revision N (stored at T)
 *               counts now;
 *   altered     the receipt is a collector's for the stored result, but
 *               the sheet's figures or digest are not the stored ones
 *               (which figures it names; their counted values it does not
 *               show);
 *   not_known   the province stores no such result;
 *   forged      the province stores the result, and the receipt is no
 *               collector's for it.
 * It shows no figure the sheet itself does not carry.  Counted or
 * superseded, it also gives what the genuine sheet printed that the QR
 * code does not carry — the election's date, each candidate's name, the
 * position stood for and the one won — for a reader to set beside the
 * paper: a sheet reprinted with a genuine QR code and other names is
 * caught by the reader, not by the query.  tallyfeed-web
 * answers /check and /api/v1/check with it; `tallyfeed check URL` on the
 * command line.
 */
#ifndef TF_CHECK_H
#define TF_CHECK_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "enrolment.h"
#include "posting.h"
#include "query.h"

typedef enum {
	CHECK_COUNTED,
	CHECK_SUPERSEDED,
	CHECK_ALTERED,
	CHECK_NOT_KNOWN,
	CHECK_FORGED
} check_verdict_t;

typedef struct {
	check_verdict_t verdict;
	char unit_name[TF_NAME_MAX + 1];        /* "" if the unit is not in the registry */
	char township_name[TF_NAME_MAX + 1];
	char collector[TF_AGENT_ID_MAX + 1];    /* whose receipt (counted, superseded, altered) */
	int64_t received_ms;                    /* when that collector's chain received it */
	unsigned superseded_by;                 /* superseded: the revision that counts */
	int64_t superseded_ms;                  /* and when it was received */
	unsigned differs;                       /* altered: tf_posting_differs' bits */
	bool digest_differs;                    /* altered: the payload's SHA-256 is not the sheet's */
	tf_report_t *posted;                    /* counted, superseded: the stored report the
	                                         * sheet was printed from; else NULL */
} check_answer_t;

/* Answer for posting, by the database on conn and the collectors' keys.
 * QUERY_OK with *answer, or a failure with err (the database's words,
 * for the log). */
query_status_t check_posting(PGconn *conn, const tf_enrolment_t *collectors,
                             const tf_posting_t *posting, check_answer_t *answer, char *err,
                             size_t errlen);

/* Free what an answer holds (its posted report); the answer may be
 * cleared again. */
void check_answer_clear(check_answer_t *answer);

/* "counted", "superseded", "altered", "not_known", "forged". */
const char *check_verdict_word(check_verdict_t verdict);
/* The answer in one Chinese sentence for the public, naming only what the
 * sheet carries (and, superseded, the revision that counts). */
void check_answer_text(const tf_posting_t *posting, const check_answer_t *answer, char *out,
                       size_t outlen);
/* The answer as JSON: verdict, message (the sentence), and the sheet's own
 * key and what the check found (unit and township names, collector,
 * received_at, superseded_by and superseded_at, differing figures'
 * names; counted or superseded, held_on and each candidate's name,
 * position and position_won).  New reference, or NULL if out of memory. */
json_t *check_answer_json(const tf_posting_t *posting, const check_answer_t *answer);

#endif
