/*
 * rows: the database rows a signed result report becomes, as COPY text.
 * The collector writes them; `tallyfeed verify` builds them again from the
 * stored envelope and compares, byte for byte, with what the database
 * gives back — so a stored number that no longer matches its signed
 * envelope is found.  Only what the report itself says is here; what the
 * collector derives (seats filled, validity, W flags) it appends.
 */
#ifndef TF_ROWS_H
#define TF_ROWS_H

#include "copybuf.h"
#include "report.h"

/* The columns tf_rows_result_signed writes, in its order. */
#define TF_ROWS_RESULT_SIGNED_COLUMNS                                                       \
	"message_id, unit_code, committee, round, revision, held_on, registered, excused, "  \
	"took_part, proxy_votes, ballots_issued, ballots_returned, ballots_valid, "         \
	"ballots_invalid, ballot_mode, seats_head, seats_deputy, seats_member, "             \
	"sheet_photo_sha256, announced_on_site"
#define TF_ROWS_CANDIDATE_COLUMNS                                                           \
	"message_id, ordinal, candidate_id, name, position, votes_for, votes_against, "      \
	"votes_abstain, elected, position_won, gender, ethnicity, birth_year, education, "   \
	"party_member, reelected, concurrent_head, cross_serving"

/* The signed columns of the result row; the row is left open for the
 * caller's derived columns and copybuf_end_row. */
void tf_rows_result_signed(copybuf_t *buf, const ProtobufCBinaryData *message_id,
                           const tf_report_t *report);
/* Every candidate row, each ended. */
void tf_rows_candidates(copybuf_t *buf, const ProtobufCBinaryData *message_id,
                        const tf_report_t *report);

#endif
