/*
 * rows: a signed report's database rows as COPY text (see rows.h).
 */
#include "rows.h"

#include <assert.h>
#include <string.h>

static const char *
s_word_or_null(const char *word)
{
	return strcmp(word, "unspecified") == 0 ? NULL : word;
}

static void
s_text_or_null(copybuf_t *buf, const char *text)
{
	if (text == NULL || text[0] == '\0')
		copybuf_null(buf);
	else
		copybuf_text(buf, text);
}

void
tf_rows_result_signed(copybuf_t *buf, const ProtobufCBinaryData *message_id,
                      const tf_report_t *r)
{
	long long seats[TALLYFEED__POSITION__POSITION_MEMBER + 1] = { 0 };

	assert(buf != NULL && message_id != NULL && r != NULL);
	for (size_t i = 0; i < r->n_seats; i++)
		if ((unsigned)r->seats[i]->position <= TALLYFEED__POSITION__POSITION_MEMBER)
			seats[r->seats[i]->position] = r->seats[i]->count;
	copybuf_bytea(buf, message_id->data, message_id->len);
	copybuf_text(buf, r->unit_code);
	copybuf_text(buf, tf_committee_word(r->committee));
	copybuf_int(buf, r->round);
	copybuf_int(buf, r->revision);
	s_text_or_null(buf, r->held_on);
	copybuf_int(buf, r->registered);
	copybuf_int(buf, r->excused);
	copybuf_int(buf, r->took_part);
	copybuf_int(buf, r->proxy_votes);
	copybuf_int(buf, r->ballots_issued);
	copybuf_int(buf, r->ballots_returned);
	copybuf_int(buf, r->ballots_valid);
	copybuf_int(buf, r->ballots_invalid);
	copybuf_text(buf, r->ballot_mode == TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED
	                      ? "combined" : "per_position");
	copybuf_int(buf, seats[TALLYFEED__POSITION__POSITION_HEAD]);
	copybuf_int(buf, seats[TALLYFEED__POSITION__POSITION_DEPUTY]);
	copybuf_int(buf, seats[TALLYFEED__POSITION__POSITION_MEMBER]);
	if (r->sheet_photo_sha256.len > 0)
		copybuf_bytea(buf, r->sheet_photo_sha256.data, r->sheet_photo_sha256.len);
	else
		copybuf_null(buf);
	copybuf_bool(buf, r->announced_on_site);
}

void
tf_rows_candidates(copybuf_t *buf, const ProtobufCBinaryData *message_id,
                   const tf_report_t *r)
{
	static const char *genders[] = { NULL, "male", "female" };
	static const char *educations[] = {
		NULL, "primary", "junior_secondary", "senior_secondary", "junior_college",
		"bachelor", "postgraduate"
	};

	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];

		copybuf_bytea(buf, message_id->data, message_id->len);
		copybuf_int(buf, (long long)i + 1);
		copybuf_text(buf, c->candidate_id);
		copybuf_text(buf, c->name);
		copybuf_text(buf, tf_position_word(c->position));
		copybuf_int(buf, c->votes_for);
		copybuf_int(buf, c->votes_against);
		copybuf_int(buf, c->votes_abstain);
		copybuf_bool(buf, c->elected);
		s_text_or_null(buf, c->elected ? s_word_or_null(tf_position_word(c->position_won)) : NULL);
		s_text_or_null(buf, (unsigned)c->gender < 3 ? genders[c->gender] : NULL);
		s_text_or_null(buf, c->ethnicity);
		if (c->birth_year != 0)
			copybuf_int(buf, c->birth_year);
		else
			copybuf_null(buf);
		s_text_or_null(buf, (unsigned)c->education < 7 ? educations[c->education] : NULL);
		copybuf_bool(buf, c->party_member);
		copybuf_bool(buf, c->reelected);
		copybuf_bool(buf, c->concurrent_head);
		copybuf_bool(buf, c->cross_serving);
		copybuf_end_row(buf);
	}
}
