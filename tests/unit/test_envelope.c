/*
 * test_envelope: the wire codec.  An envelope built for a report decodes to
 * the same fields and the same report; acks round-trip; every decode
 * rejection carries its own reason code; message ids do not repeat.  Every
 * decode is bounded by what it takes (budget): unknown fields and empty
 * repeated elements past TF_DECODE_MAX are DECODE_TOO_LARGE; a bundle over
 * its ceiling, a symlink or a FIFO is refused before it is read.
 */
#include "testutil.h"

#include <sodium.h>
#include <stdlib.h>
#include <time.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "bundle.h"
#include "envelope.h"
#include "identity.h"
#include "report.h"
#include "utf8.h"

#define AGENT "agent-630121101"

/* A small sound report, built in C; static storage, not to be freed. */
static tf_report_t *
s_report(void)
{
	static Tallyfeed__Seats member = TALLYFEED__SEATS__INIT;
	static Tallyfeed__Seats *seats[1] = { &member };
	static Tallyfeed__Candidate c1 = TALLYFEED__CANDIDATE__INIT;
	static Tallyfeed__Candidate *cands[1] = { &c1 };
	static uint8_t hash[32];
	static tf_report_t r = TALLYFEED__RESULT_REPORT__INIT;

	member.position = TALLYFEED__POSITION__POSITION_MEMBER;
	member.count = 3;
	c1.candidate_id = "m1";
	c1.name = "才让卓玛";
	c1.position = TALLYFEED__POSITION__POSITION_MEMBER;
	c1.votes_for = 700;
	c1.elected = 1;
	c1.position_won = TALLYFEED__POSITION__POSITION_MEMBER;
	c1.gender = TALLYFEED__GENDER__GENDER_FEMALE;
	c1.ethnicity = "藏族";
	c1.birth_year = 1985;
	memset(hash, 0xab, sizeof hash);
	r.unit_code = "630121101201";
	r.committee = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
	r.round = 1;
	r.revision = 1;
	r.held_on = "2017-11-18";
	r.registered = 1000;
	r.took_part = 800;
	r.ballots_issued = 800;
	r.ballots_returned = 800;
	r.ballots_valid = 790;
	r.ballots_invalid = 10;
	r.ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED;
	r.n_seats = 1;
	r.seats = seats;
	r.n_candidates = 1;
	r.candidates = cands;
	r.sheet_photo_sha256.data = hash;
	r.sheet_photo_sha256.len = sizeof hash;
	r.announced_on_site = 1;
	return &r;
}

static uint8_t *
s_pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

/* A hand-made envelope, sound unless a test changes a field. */
static void
s_envelope_init(tf_envelope_t *env, uint8_t *id, uint8_t *payload, size_t payload_len)
{
	tallyfeed__envelope__init(env);
	memset(id, 0x5a, TF_MESSAGE_ID_LEN);
	env->protocol_version = TF_PROTOCOL_VERSION;
	env->agent_id = AGENT;
	env->sequence = 7;
	env->message_id.data = id;
	env->message_id.len = TF_MESSAGE_ID_LEN;
	env->created_unix_ms = 1510000000000;
	env->payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT;
	env->payload.data = payload;
	env->payload.len = payload_len;
}

/* Pack env and decode it; expect rejection with reason.  With want_partial,
 * also expect the partial envelope and return it (caller frees). */
static tf_envelope_t *
s_expect_reject(const tf_envelope_t *env, int reason, bool want_partial)
{
	size_t len;
	uint8_t *buf = s_pack(&env->base, &len);
	tf_envelope_t *partial = NULL, *got;
	tf_check_t why;

	got = tf_envelope_decode(buf, len, &why, want_partial ? &partial : NULL);
	free(buf);
	assert_null(got);
	if (why.reason != reason)
		fail_msg("reason %s (%s), expected %s", tf_reason_name(why.reason), why.detail,
		         tf_reason_name(reason));
	assert_true(why.detail[0] != '\0');
	if (want_partial)
		assert_non_null(partial);
	return partial;
}

static void
s_expect_accept(const tf_envelope_t *env)
{
	size_t len;
	uint8_t *buf = s_pack(&env->base, &len);
	tf_envelope_t *got;
	tf_check_t why;

	got = tf_envelope_decode(buf, len, &why, NULL);
	free(buf);
	if (got == NULL)
		fail_msg("rejected: %s (%s)", tf_reason_name(why.reason), why.detail);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_NONE);
	tf_envelope_destroy(&got);
}

/* ---- build and decode ---- */

static void
test_build_decode_report(void **state)
{
	tf_report_t *r = s_report(), *inner;
	uint8_t id[TF_MESSAGE_ID_LEN], *want, *got;
	size_t want_len, got_len;
	zframe_t *frame;
	tf_envelope_t *env, *partial = (tf_envelope_t *)1;
	tf_check_t why;

	(void)state;
	tf_message_id_new(id);
	frame = tf_envelope_build(AGENT, 42, id, 1510992000123,
	                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT, &r->base, NULL);
	assert_non_null(frame);
	assert_true(zframe_size(frame) <= TF_MESSAGE_MAX);
	env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, &partial);
	if (env == NULL)
		fail_msg("rejected: %s", why.detail);
	assert_null(partial);                 /* cleared, nothing partial on success */
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_NONE);
	assert_int_equal(env->protocol_version, TF_PROTOCOL_VERSION);
	assert_string_equal(env->agent_id, AGENT);
	assert_int_equal(env->sequence, 42);
	assert_int_equal(env->message_id.len, TF_MESSAGE_ID_LEN);
	assert_memory_equal(env->message_id.data, id, TF_MESSAGE_ID_LEN);
	assert_true(env->created_unix_ms == 1510992000123LL);
	assert_int_equal(env->payload_type, TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT);
	assert_int_equal(env->signature.len, 0);

	/* The payload is exactly the report's bytes, and unpacks to it. */
	want = s_pack(&r->base, &want_len);
	assert_int_equal(env->payload.len, want_len);
	assert_memory_equal(env->payload.data, want, want_len);
	inner = tf_report_unpack(env->payload.data, env->payload.len);
	assert_non_null(inner);
	got = s_pack(&inner->base, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	assert_string_equal(inner->unit_code, "630121101201");
	assert_string_equal(inner->candidates[0]->name, "才让卓玛");
	free(want);
	free(got);
	tf_report_destroy(&inner);
	tf_envelope_destroy(&env);
	assert_null(env);
	tf_envelope_destroy(&env);            /* safe on NULL */
	zframe_destroy(&frame);
}

static void
test_build_decode_heartbeat(void **state)
{
	Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT, *back;
	uint8_t id[TF_MESSAGE_ID_LEN];
	zframe_t *frame;
	tf_envelope_t *env;
	tf_check_t why;

	(void)state;
	hb.spool_depth = 3;
	hb.oldest_pending_age_s = 120;
	hb.last_acked_sequence = 41;
	hb.software_version = "0.1.0";
	hb.uptime_s = 86400;
	tf_message_id_new(id);
	frame = tf_envelope_build(AGENT, INT64_MAX, id, 1510992000123,
	                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT, &hb.base, NULL);
	assert_non_null(frame);
	env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);
	if (env == NULL)
		fail_msg("rejected: %s (%s)", tf_reason_name(why.reason), why.detail);
	assert_true(env->sequence == INT64_MAX);   /* the largest a bigint column holds */
	assert_int_equal(env->payload_type, TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT);
	back = tallyfeed__heartbeat__unpack(NULL, env->payload.len, env->payload.data);
	assert_non_null(back);
	assert_int_equal(back->spool_depth, 3);
	assert_int_equal(back->oldest_pending_age_s, 120);
	assert_int_equal(back->last_acked_sequence, 41);
	assert_string_equal(back->software_version, "0.1.0");
	assert_int_equal(back->uptime_s, 86400);
	tallyfeed__heartbeat__free_unpacked(back, NULL);
	tf_envelope_destroy(&env);
	zframe_destroy(&frame);
}

/* ---- acks ---- */

static void
test_ack_round_trip(void **state)
{
	uint8_t id[TF_MESSAGE_ID_LEN];
	zframe_t *frame;
	tf_ack_t *ack;

	(void)state;
	tf_message_id_new(id);
	frame = tf_ack_build(id, sizeof id, 42, TALLYFEED__VERDICT__VERDICT_REJECTED,
	                     TALLYFEED__REASON__REASON_BALLOT_SUM, "valid 790 + invalid 9 != returned 800", NULL);
	assert_non_null(frame);
	ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
	assert_non_null(ack);
	assert_int_equal(ack->message_id.len, TF_MESSAGE_ID_LEN);
	assert_memory_equal(ack->message_id.data, id, TF_MESSAGE_ID_LEN);
	assert_int_equal(ack->verdict, TALLYFEED__VERDICT__VERDICT_REJECTED);
	assert_int_equal(ack->reason, TALLYFEED__REASON__REASON_BALLOT_SUM);
	assert_string_equal(ack->detail, "valid 790 + invalid 9 != returned 800");
	assert_int_equal(ack->sequence, 42);
	tf_ack_destroy(&ack);
	assert_null(ack);
	tf_ack_destroy(&ack);
	zframe_destroy(&frame);

	frame = tf_ack_build(id, sizeof id, 43, TALLYFEED__VERDICT__VERDICT_ACCEPTED,
	                     TALLYFEED__REASON__REASON_NONE, NULL, NULL);
	assert_non_null(frame);
	ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
	assert_non_null(ack);
	assert_int_equal(ack->verdict, TALLYFEED__VERDICT__VERDICT_ACCEPTED);
	assert_int_equal(ack->reason, TALLYFEED__REASON__REASON_NONE);
	assert_string_equal(ack->detail, "");
	assert_int_equal(ack->sequence, 43);
	tf_ack_destroy(&ack);
	zframe_destroy(&frame);
}

/* An envelope whose id could not be read is answered with an empty id. */
static void
test_ack_without_message_id(void **state)
{
	zframe_t *frame;
	tf_ack_t *ack;

	(void)state;
	frame = tf_ack_build(NULL, 16, 0, TALLYFEED__VERDICT__VERDICT_REJECTED,
	                     TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE, "frame is not an Envelope", NULL);
	assert_non_null(frame);
	ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
	assert_non_null(ack);
	assert_int_equal(ack->message_id.len, 0);
	assert_int_equal(ack->sequence, 0);
	assert_int_equal(ack->reason, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE);
	tf_ack_destroy(&ack);
	zframe_destroy(&frame);
}

/* detail is "UTF-8, at most 256 bytes": a long detail is cut, and the cut
 * must not leave half a character (a proto3 string that is not UTF-8 is
 * refused by strict protobuf readers). */
static void
test_ack_long_detail_bounded_utf8(void **state)
{
	char detail[1024] = "a", got[1024];
	zframe_t *frame;
	tf_ack_t *ack;

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(detail, "村");              /* 301 bytes; a byte-count cut lands mid-character */
	frame = tf_ack_build(NULL, 0, 1, TALLYFEED__VERDICT__VERDICT_REJECTED,
	                     TALLYFEED__REASON__REASON_UNKNOWN_UNIT, detail, NULL);
	assert_non_null(frame);
	ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
	zframe_destroy(&frame);
	assert_non_null(ack);
	snprintf(got, sizeof got, "%s", ack->detail);
	tf_ack_destroy(&ack);
	assert_true(strlen(got) <= 256);
	assert_true(strlen(got) >= 250);
	assert_memory_equal(got, detail, strlen(got));
	if (!tf_utf8_valid(got, strlen(got)))
		fail_msg("ack detail cut to %zu bytes ends in half a character", strlen(got));
}

static void
test_ack_decode_garbage(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *big;

	(void)state;
	assert_null(tf_ack_decode(garbage, sizeof garbage));
	big = calloc(1, TF_MESSAGE_MAX + 1);
	assert_non_null(big);
	assert_null(tf_ack_decode(big, TF_MESSAGE_MAX + 1));
	free(big);
}

static void
test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(tf_verdict_name(TALLYFEED__VERDICT__VERDICT_ACCEPTED), "ACCEPTED");
	assert_string_equal(tf_verdict_name(TALLYFEED__VERDICT__VERDICT_DUPLICATE), "DUPLICATE");
	assert_string_equal(tf_verdict_name(TALLYFEED__VERDICT__VERDICT_REJECTED), "REJECTED");
	assert_string_equal(tf_verdict_name(TALLYFEED__VERDICT__VERDICT_UNSPECIFIED), "UNSPECIFIED");
	assert_string_equal(tf_verdict_name((Tallyfeed__Verdict)9), "UNSPECIFIED");
	/* The feed's and the metrics' words, and back. */
	for (int v = TF_VERDICT_FIRST; v <= TF_VERDICT_LAST; v++)
		assert_int_equal(tf_verdict_of_word(tf_verdict_word((Tallyfeed__Verdict)v)), v);
	assert_string_equal(tf_verdict_word(TALLYFEED__VERDICT__VERDICT_DEFERRED), "deferred");
	assert_string_equal(tf_verdict_word((Tallyfeed__Verdict)9), "unspecified");
	assert_int_equal(tf_verdict_of_word("unspecified"), TALLYFEED__VERDICT__VERDICT_UNSPECIFIED);
	assert_int_equal(tf_verdict_of_word("ACCEPTED"), TALLYFEED__VERDICT__VERDICT_UNSPECIFIED);
	assert_int_equal(tf_verdict_of_word(""), TALLYFEED__VERDICT__VERDICT_UNSPECIFIED);
}

/* ---- decode rejections ---- */

static void
test_reject_garbage(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t text[] = "GET / HTTP/1.1\r\n\r\n";
	tf_report_t *r = s_report();
	uint8_t id[TF_MESSAGE_ID_LEN];
	zframe_t *frame;
	tf_envelope_t *partial = NULL;
	tf_check_t why;

	(void)state;
	assert_null(tf_envelope_decode(garbage, sizeof garbage, &why, &partial));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE);
	assert_null(partial);                 /* nothing decoded, nothing partial */
	assert_null(tf_envelope_decode(text, sizeof text - 1, &why, &partial));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE);
	assert_null(partial);
	/* A sound envelope cut short by one byte. */
	tf_message_id_new(id);
	frame = tf_envelope_build(AGENT, 1, id, 1, TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
	                          &r->base, NULL);
	assert_non_null(frame);
	assert_null(tf_envelope_decode(zframe_data(frame), zframe_size(frame) - 1, &why, &partial));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE);
	assert_null(partial);
	zframe_destroy(&frame);
}

static void
test_reject_bad_message_id(void **state)
{
	tf_envelope_t env, *partial;
	uint8_t id[TF_MESSAGE_ID_LEN + 1], payload[4] = { 1, 2, 3, 4 };

	(void)state;
	s_envelope_init(&env, id, payload, sizeof payload);
	s_expect_accept(&env);
	env.message_id.len = 15;
	partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_BAD_MESSAGE_ID, true);
	/* The partial envelope is the decoded one: the collector can answer it. */
	assert_int_equal(partial->message_id.len, 15);
	assert_memory_equal(partial->message_id.data, id, 15);
	assert_int_equal(partial->sequence, 7);
	assert_string_equal(partial->agent_id, AGENT);
	tf_envelope_destroy(&partial);
	id[16] = 0x5a;
	env.message_id.len = 17;
	partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_BAD_MESSAGE_ID, true);
	assert_int_equal(partial->message_id.len, 17);
	tf_envelope_destroy(&partial);
	env.message_id.len = 0;
	(void)s_expect_reject(&env, TALLYFEED__REASON__REASON_BAD_MESSAGE_ID, false);
}

static void
test_reject_unsupported_version(void **state)
{
	tf_envelope_t env, *partial;
	uint8_t id[TF_MESSAGE_ID_LEN], payload[1] = { 0 };

	(void)state;
	s_envelope_init(&env, id, payload, sizeof payload);
	env.protocol_version = 3;
	partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_UNSUPPORTED_VERSION, true);
	assert_int_equal(partial->protocol_version, 3);
	assert_memory_equal(partial->message_id.data, id, TF_MESSAGE_ID_LEN);
	tf_envelope_destroy(&partial);
	env.protocol_version = 0;             /* absent on the wire */
	(void)s_expect_reject(&env, TALLYFEED__REASON__REASON_UNSUPPORTED_VERSION, false);
}

static void
test_reject_bad_agent_id(void **state)
{
	static const char *bad[] = {
		"",
		"agent 1",                        /* space */
		"agent\x01",
		"agent\x7f",
		"agent\t1",
		"代理人",                          /* not ASCII */
		"agent\xc3\xa9",
		/* 65 bytes */
		"a234567890123456789012345678901234567890123456789012345678901234X",
	};
	char longest[TF_AGENT_ID_MAX + 1];
	tf_envelope_t env, *partial;
	uint8_t id[TF_MESSAGE_ID_LEN], payload[1] = { 0 };

	(void)state;
	s_envelope_init(&env, id, payload, sizeof payload);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		env.agent_id = (char *)bad[i];
		partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_BAD_AGENT_ID, true);
		assert_memory_equal(partial->message_id.data, id, TF_MESSAGE_ID_LEN);
		tf_envelope_destroy(&partial);
	}
	/* 64 printable bytes is the most, and fine; so is a single '!' or '~'. */
	memset(longest, '~', TF_AGENT_ID_MAX);
	longest[TF_AGENT_ID_MAX] = '\0';
	env.agent_id = longest;
	s_expect_accept(&env);
	env.agent_id = "!";
	s_expect_accept(&env);
}

static void
test_reject_unknown_payload_type(void **state)
{
	tf_envelope_t env, *partial;
	uint8_t id[TF_MESSAGE_ID_LEN], payload[1] = { 0 };

	(void)state;
	s_envelope_init(&env, id, payload, sizeof payload);
	env.payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_UNSPECIFIED;
	partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_UNKNOWN_PAYLOAD_TYPE, true);
	assert_int_equal(partial->payload_type, 0);
	tf_envelope_destroy(&partial);
	env.payload_type = (Tallyfeed__PayloadType)99;
	partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_UNKNOWN_PAYLOAD_TYPE, true);
	assert_int_equal(partial->payload_type, 99);
	tf_envelope_destroy(&partial);
	env.payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT;
	s_expect_accept(&env);
}

/* Sequence numbers are stored as PostgreSQL bigint: above 2^63-1 is malformed. */
static void
test_reject_sequence_beyond_bigint(void **state)
{
	tf_envelope_t env, *partial;
	uint8_t id[TF_MESSAGE_ID_LEN], payload[1] = { 0 };

	(void)state;
	s_envelope_init(&env, id, payload, sizeof payload);
	env.sequence = (uint64_t)INT64_MAX;
	s_expect_accept(&env);
	env.sequence = (uint64_t)INT64_MAX + 1;
	partial = s_expect_reject(&env, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE, true);
	assert_true(partial->sequence == (uint64_t)INT64_MAX + 1);
	assert_memory_equal(partial->message_id.data, id, TF_MESSAGE_ID_LEN);
	tf_envelope_destroy(&partial);
	env.sequence = UINT64_MAX;
	(void)s_expect_reject(&env, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE, false);
}

/* Also through the builder: the builder does not stop a bad type, the decoder does. */
static void
test_reject_unknown_payload_type_built(void **state)
{
	tf_report_t *r = s_report();
	uint8_t id[TF_MESSAGE_ID_LEN];
	zframe_t *frame;
	tf_check_t why;

	(void)state;
	tf_message_id_new(id);
	frame = tf_envelope_build(AGENT, 1, id, 1, (Tallyfeed__PayloadType)99, &r->base, NULL);
	assert_non_null(frame);
	assert_null(tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_UNKNOWN_PAYLOAD_TYPE);
	zframe_destroy(&frame);
}

/* A frame of exactly TF_MESSAGE_MAX bytes is read; one byte more is not. */
static void
test_message_size_ceiling(void **state)
{
	tf_envelope_t env;
	uint8_t id[TF_MESSAGE_ID_LEN], *payload, *buf;
	size_t payload_len = TF_MESSAGE_MAX - 64, len;
	tf_check_t why;
	tf_envelope_t *got;

	(void)state;
	payload = calloc(1, TF_MESSAGE_MAX);
	assert_non_null(payload);
	s_envelope_init(&env, id, payload, payload_len);
	/* Grow the payload until the packed envelope is exactly the ceiling. */
	while (tallyfeed__envelope__get_packed_size(&env) < TF_MESSAGE_MAX)
		env.payload.len = ++payload_len;
	assert_int_equal(tallyfeed__envelope__get_packed_size(&env), TF_MESSAGE_MAX);
	s_expect_accept(&env);

	env.payload.len = ++payload_len;
	buf = s_pack(&env.base, &len);
	assert_int_equal(len, TF_MESSAGE_MAX + 1);
	got = tf_envelope_decode(buf, len, &why, NULL);
	assert_null(got);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_MESSAGE_TOO_LARGE);
	free(buf);

	/* Size is judged before content: garbage that is too large is "too large". */
	buf = malloc(4 * TF_MESSAGE_MAX);
	assert_non_null(buf);
	memset(buf, 0xff, 4 * TF_MESSAGE_MAX);
	assert_null(tf_envelope_decode(buf, 4 * TF_MESSAGE_MAX, &why, NULL));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_MESSAGE_TOO_LARGE);
	free(buf);
	free(payload);
}

/* ---- message ids ---- */

static int
s_cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, TF_MESSAGE_ID_LEN);
}

static void
test_message_ids_unique(void **state)
{
	enum { DRAWS = 10000 };
	uint8_t (*ids)[TF_MESSAGE_ID_LEN] = calloc(DRAWS, TF_MESSAGE_ID_LEN);
	static const uint8_t zero[TF_MESSAGE_ID_LEN];

	(void)state;
	assert_non_null(ids);
	for (size_t i = 0; i < DRAWS; i++)
		tf_message_id_new(ids[i]);
	qsort(ids, DRAWS, TF_MESSAGE_ID_LEN, s_cmp_id);
	for (size_t i = 0; i < DRAWS; i++) {
		assert_memory_not_equal(ids[i], zero, TF_MESSAGE_ID_LEN);
		if (i > 0 && memcmp(ids[i - 1], ids[i], TF_MESSAGE_ID_LEN) == 0)
			fail_msg("message id drawn twice among %d", DRAWS);
	}
	free(ids);
}

static void
test_message_id_hex(void **state)
{
	uint8_t id[TF_MESSAGE_ID_LEN + 4];
	char hex[2 * TF_MESSAGE_ID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof id; i++)
		id[i] = (uint8_t)(i * 17);
	tf_message_id_hex(id, TF_MESSAGE_ID_LEN, hex);
	assert_string_equal(hex, "00112233445566778899aabbccddeeff");
	tf_message_id_hex(id, sizeof id, hex);           /* clamped to 16 bytes */
	assert_string_equal(hex, "00112233445566778899aabbccddeeff");
	tf_message_id_hex(id + 1, 2, hex);               /* a short id: its own hex */
	assert_string_equal(hex, "1122");
}

static void
test_now_ms(void **state)
{
	int64_t now = tf_now_ms();
	int64_t wall = (int64_t)time(NULL) * 1000;

	(void)state;
	assert_true(now >= wall - 2000 && now <= wall + 2000);
}


/* ---- decoded-size budgets ---- */

static void
test_budget_counts_and_refuses(void **state)
{
	tf_budget_t *batch = tf_budget_new(1000, NULL);
	tf_budget_t *msg = tf_budget_new(600, batch);
	ProtobufCAllocator *a;
	void *p, *q;

	(void)state;
	assert_non_null(msg);
	assert_int_equal(tf_budget_cost(0), 32);
	assert_int_equal(tf_budget_cost(24), 32);
	assert_int_equal(tf_budget_cost(25), 48);
	assert_int_equal(tf_budget_cost(1000), 1008);
	a = tf_budget_allocator(msg);
	p = a->alloc(a->allocator_data, 400);           /* 416 of 600 */
	assert_non_null(p);
	assert_int_equal(tf_budget_used(msg), 416);
	assert_int_equal(tf_budget_used(batch), 416);
	assert_null(a->alloc(a->allocator_data, 200));  /* 416 + 208 > 600 */
	assert_true(tf_budget_exceeded(msg));
	assert_false(tf_budget_exceeded(batch));
	assert_int_equal(tf_budget_used(msg), 416);     /* nothing charged for a refusal */
	a->free(a->allocator_data, p);
	/* A new message: its own count again, the batch's goes on. */
	tf_budget_reset(msg);
	assert_false(tf_budget_exceeded(msg));
	q = a->alloc(a->allocator_data, 500);           /* 512: the message fits, */
	assert_non_null(q);
	free(q);                                        /* (freed like any malloc) */
	assert_int_equal(tf_budget_used(batch), 928);
	tf_budget_reset(msg);
	assert_int_equal(tf_budget_left(msg), 72);      /* the batch has 72 left */
	assert_null(a->alloc(a->allocator_data, 100));  /* ... so the batch refuses */
	assert_true(tf_budget_exceeded(batch));
	assert_false(tf_budget_charge(batch, 73));
	assert_true(tf_budget_charge(batch, 72));
	assert_int_equal(tf_budget_left(batch), 0);
	tf_budget_destroy(&msg);
	tf_budget_destroy(&batch);
	assert_null(batch);
	tf_budget_destroy(&batch);                      /* safe on NULL */
}

/* n copies of unit after prefix, in one buffer of TF_MESSAGE_MAX at most. */
static uint8_t *
s_padded(const uint8_t *prefix, size_t prefix_len, const uint8_t *unit, size_t unit_len,
         size_t room, size_t *len)
{
	uint8_t *buf = malloc(room);

	assert_non_null(buf);
	memcpy(buf, prefix, prefix_len);
	*len = prefix_len;
	while (*len + unit_len <= room) {
		memcpy(buf + *len, unit, unit_len);
		*len += unit_len;
	}
	return buf;
}

/* 256 KiB of 2-byte unknown fields would take about 8 MiB decoded: refused
 * with its own reason, where a few unknown fields are kept and ignored. */
static void
test_envelope_unknown_fields_over_budget(void **state)
{
	static const uint8_t unknown[] = { 0x78, 0x00 };        /* field 15, varint 0 */
	uint8_t id[TF_MESSAGE_ID_LEN], hb[] = { 0x08, 0x01 }, *sound, *buf;
	tf_envelope_t env, *got, *partial = (tf_envelope_t *)1;
	tf_budget_t *budget = tf_budget_new(TF_DECODE_MAX, NULL);
	size_t sound_len, len;
	tf_check_t why;

	(void)state;
	s_envelope_init(&env, id, hb, sizeof hb);
	sound = s_pack(&env.base, &sound_len);
	buf = s_padded(sound, sound_len, unknown, sizeof unknown, sound_len + 64, &len);
	got = tf_envelope_decode(buf, len, &why, NULL);
	assert_non_null(got);
	assert_int_equal(got->sequence, 7);
	tf_envelope_destroy(&got);
	free(buf);

	buf = s_padded(sound, sound_len, unknown, sizeof unknown, TF_MESSAGE_MAX, &len);
	assert_true(len > TF_MESSAGE_MAX - 2);
	assert_null(tf_envelope_decode(buf, len, &why, &partial));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_DECODE_TOO_LARGE);
	assert_null(partial);   /* nothing decoded to answer by */
	/* Within a budget of the caller's: it says it was exceeded, and had
	 * charged no more than its limit. */
	assert_null(tf_envelope_decode_within(buf, len, budget, &why, NULL));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_DECODE_TOO_LARGE);
	assert_true(tf_budget_exceeded(budget));
	assert_true(tf_budget_used(budget) <= TF_DECODE_MAX);
	/* The Ack decoder has the same ceiling. */
	assert_null(tf_ack_decode(buf, len));
	free(buf);
	free(sound);
	tf_budget_destroy(&budget);
}

/* A payload of empty candidates or empty seats entries: the envelope is
 * sound, the payload over the budget (DECODE_TOO_LARGE, not MALFORMED). */
static void
test_payload_repeated_over_budget(void **state)
{
	static const uint8_t empty_candidate[] = { 0x82, 0x01, 0x00 };  /* field 16, length 0 */
	static const uint8_t empty_seats[] = { 0x7a, 0x00 };            /* field 15, length 0 */
	const uint8_t *units[] = { empty_candidate, empty_seats };
	size_t unit_lens[] = { sizeof empty_candidate, sizeof empty_seats };
	uint8_t id[TF_MESSAGE_ID_LEN], *sound, *payload, *buf;
	size_t sound_len, payload_len, len;
	tf_envelope_t env, *got;
	tf_report_t *r;
	tf_check_t why;

	(void)state;
	sound = s_pack(&s_report()->base, &sound_len);
	for (int k = 0; k < 2; k++) {
		tf_budget_t *budget = tf_budget_new(TF_DECODE_MAX, NULL);

		payload = s_padded(sound, sound_len, units[k], unit_lens[k], TF_MESSAGE_MAX - 256,
		                   &payload_len);
		s_envelope_init(&env, id, payload, payload_len);
		env.payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT;
		buf = s_pack(&env.base, &len);
		got = tf_envelope_decode_within(buf, len, budget, &why, NULL);
		assert_non_null(got);
		assert_null(tf_envelope_report(got, budget, &why));
		assert_int_equal(why.reason, TALLYFEED__REASON__REASON_DECODE_TOO_LARGE);
		assert_null(tf_report_unpack(payload, payload_len));
		tf_envelope_destroy(&got);
		free(buf);
		free(payload);
		tf_budget_destroy(&budget);
	}
	/* The sound report decodes within the same budget; garbage is malformed. */
	s_envelope_init(&env, id, sound, sound_len);
	r = tf_envelope_report(&env, NULL, &why);
	assert_non_null(r);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_NONE);
	assert_string_equal(r->unit_code, "630121101201");
	tf_report_destroy(&r);
	env.payload.len = sound_len - 5;       /* into the photo hash */
	assert_null(tf_envelope_report(&env, NULL, &why));
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_MALFORMED_PAYLOAD);
	free(sound);
}

/* ---- bundles: the read side ---- */

static void
test_bundle_read_refuses(void **state)
{
	char dir[] = "/tmp/test_envelope.XXXXXX", path[256], link[256], fifo[256], err[512];
	static const uint8_t unknown[] = { 0x78, 0x00 };
	uint8_t *buf;
	size_t len;
	FILE *fp;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Over the ceiling: said so from fstat, before a byte is read. */
	snprintf(path, sizeof path, "%s/big.bundle", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)TF_BUNDLE_MAX + 1), 0);
	close(fd);
	assert_null(tf_bundle_read(path, err, sizeof err));
	assert_non_null(strstr(err, "over the 64 MiB a bundle may hold"));
	/* A symlink to a bundle is not followed. */
	snprintf(link, sizeof link, "%s/link.bundle", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_null(tf_bundle_read(link, err, sizeof err));
	assert_non_null(strstr(err, "symbolic link"));
	/* A FIFO does not block the reader. */
	snprintf(fifo, sizeof fifo, "%s/fifo.bundle", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_null(tf_bundle_read(fifo, err, sizeof err));
	assert_non_null(strstr(err, "not a regular file"));
	/* 8 MiB of unknown fields: over its decode budget. */
	unlink(path);
	buf = s_padded(unknown, 0, unknown, sizeof unknown, 8 * 1024 * 1024, &len);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_null(tf_bundle_read(path, err, sizeof err));
	assert_non_null(strstr(err, "would take more than"));
	free(buf);
	unlink(path);
	unlink(link);
	unlink(fifo);
	rmdir(dir);
}

/* ---- the signature: protocol 2 covers the whole envelope ---- */

static tf_identity_t *
s_signer(const char *name)
{
	char err[256];
	tf_identity_t *id = tf_identity_generate(TF_ROLE_AGENT, name, "630121101000", err,
	                                         sizeof err);

	if (id == NULL)
		fail_msg("%s", err);
	return id;
}

/* The documented bytes (proto/tallyfeed.proto, Envelope), written out by
 * hand for one envelope: the encoding an independent client implements. */
static void
test_signed_bytes_layout(void **state)
{
	static const uint8_t want[] = {
		't', 'a', 'l', 'l', 'y', 'f', 'e', 'e', 'd', ' ', 'e', 'n', 'v', 'e', 'l', 'o',
		'p', 'e', ' ', 'v', '2', 0x00,
		0, 0, 0, 3, 'a', 'g', '1',                              /* agent id */
		0, 0, 0, 0, 0, 0, 0x01, 0x02,                           /* sequence 258 */
		0, 0, 0, 16, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
		0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,         /* message id */
		0, 0, 0x01, 0x5f, 0x93, 0x03, 0x7c, 0x00,               /* 1510000000000 ms */
		0, 0, 0, 2,                                             /* HEARTBEAT */
		0, 0, 0, 2, 0x08, 0x07,                                 /* payload */
	};
	tf_envelope_t env;
	uint8_t id[TF_MESSAGE_ID_LEN], payload[2] = { 0x08, 0x07 };
	uint8_t *bytes;
	size_t len;

	(void)state;
	s_envelope_init(&env, id, payload, sizeof payload);
	env.agent_id = "ag1";
	env.sequence = 258;
	bytes = tf_envelope_signed_bytes(&env, &len);
	assert_non_null(bytes);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(bytes, want, sizeof want);
	free(bytes);
}

/* Decode a built frame; caller destroys. */
static tf_envelope_t *
s_decoded(zframe_t *frame)
{
	tf_check_t why;
	tf_envelope_t *env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);

	if (env == NULL)
		fail_msg("rejected: %s (%s)", tf_reason_name(why.reason), why.detail);
	return env;
}

/* A payload re-wrapped with another message id, sequence, time, type or
 * agent id fails, under the agent's own genuine signature. */
static void
test_rewrapped_payload_fails(void **state)
{
	tf_identity_t *a = s_signer("ag1"), *b = s_signer("ag2");
	const uint8_t *key = tf_identity_peer(a)->sign_public;
	uint8_t id[TF_MESSAGE_ID_LEN];
	zframe_t *frame;
	tf_envelope_t *env;
	tf_check_t why;

	(void)state;
	tf_message_id_new(id);
	frame = tf_envelope_build("ag1", 5, id, 1510992000123,
	                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
	                          &s_report()->base, a);
	env = s_decoded(frame);
	assert_int_equal(env->protocol_version, TF_PROTOCOL_VERSION);
	assert_int_equal(env->protocol_version, 2);
	assert_true(tf_envelope_signature_valid(env, key));
	assert_int_equal(tf_envelope_verify(env, key, false, &why), 0);
	assert_false(tf_envelope_signature_valid(env, tf_identity_peer(b)->sign_public));

	env->message_id.data[3] ^= 0x40;
	assert_false(tf_envelope_signature_valid(env, key));
	assert_int_equal(tf_envelope_verify(env, key, true, &why), -1);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_BAD_SIGNATURE);
	env->message_id.data[3] ^= 0x40;
	assert_true(tf_envelope_signature_valid(env, key));

	env->sequence = 4;
	assert_false(tf_envelope_signature_valid(env, key));
	env->sequence = 5;
	env->created_unix_ms += 1;
	assert_false(tf_envelope_signature_valid(env, key));
	env->created_unix_ms -= 1;
	env->payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT;
	assert_false(tf_envelope_signature_valid(env, key));
	env->payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT;
	env->agent_id[2] = '2';         /* "ag2": the same bytes claimed for another */
	assert_false(tf_envelope_signature_valid(env, key));
	env->agent_id[2] = '1';
	env->payload.data[env->payload.len - 1] ^= 1;
	assert_false(tf_envelope_signature_valid(env, key));
	env->payload.data[env->payload.len - 1] ^= 1;
	/* Relabelled as version 1, the version 2 signature does not pass for
	 * a payload-only one. */
	env->protocol_version = TF_PROTOCOL_VERSION_1;
	assert_false(tf_envelope_signature_valid(env, key));
	env->protocol_version = 3;
	assert_false(tf_envelope_signature_valid(env, key));
	env->protocol_version = TF_PROTOCOL_VERSION;
	assert_true(tf_envelope_signature_valid(env, key));
	env->signature.len = 0;
	assert_int_equal(tf_envelope_verify(env, key, false, &why), -1);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_BAD_SIGNATURE);
	tf_envelope_destroy(&env);
	zframe_destroy(&frame);
	tf_identity_destroy(&a);
	tf_identity_destroy(&b);
}

/* Protocol 1 (the payload alone signed) decodes, and is refused by the
 * check unless it is allowed; allowed, its signature is checked over the
 * payload, which a re-wrap does not touch (why version 2 exists). */
static void
test_protocol_1_refused_unless_allowed(void **state)
{
	tf_identity_t *a = s_signer("ag1");
	const uint8_t *key = tf_identity_peer(a)->sign_public;
	uint8_t id[TF_MESSAGE_ID_LEN], sig[TF_SIGNATURE_LEN], *payload;
	size_t payload_len, len;
	tf_envelope_t env, *got;
	uint8_t *buf;
	tf_check_t why;

	(void)state;
	payload_len = protobuf_c_message_get_packed_size(&s_report()->base);
	payload = malloc(payload_len);
	assert_non_null(payload);
	protobuf_c_message_pack(&s_report()->base, payload);
	s_envelope_init(&env, id, payload, payload_len);
	env.payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT;
	env.protocol_version = TF_PROTOCOL_VERSION_1;
	tf_identity_sign(a, payload, payload_len, sig);
	env.signature.data = sig;
	env.signature.len = sizeof sig;
	buf = s_pack(&env.base, &len);
	got = tf_envelope_decode(buf, len, &why, NULL);
	free(buf);
	assert_non_null(got);
	assert_int_equal(got->protocol_version, 1);
	assert_int_equal(tf_envelope_verify(got, key, false, &why), -1);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_UNSUPPORTED_VERSION);
	assert_non_null(strstr(why.detail, "accept_protocol_1"));
	memset(&why, 0, sizeof why);
	assert_int_equal(tf_envelope_verify(got, key, true, &why), 0);
	got->sequence = 99;             /* re-wrapped: version 1 cannot tell */
	assert_int_equal(tf_envelope_verify(got, key, true, &why), 0);
	got->payload.data[0] ^= 1;
	assert_int_equal(tf_envelope_verify(got, key, true, &why), -1);
	assert_int_equal(why.reason, TALLYFEED__REASON__REASON_BAD_SIGNATURE);
	/* The same payload-only signature labelled version 2 fails. */
	got->payload.data[0] ^= 1;
	got->protocol_version = TF_PROTOCOL_VERSION;
	assert_false(tf_envelope_signature_valid(got, key));
	tf_envelope_destroy(&got);
	free(payload);
	tf_identity_destroy(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_decode_report),
		cmocka_unit_test(test_build_decode_heartbeat),
		cmocka_unit_test(test_ack_round_trip),
		cmocka_unit_test(test_ack_without_message_id),
		cmocka_unit_test(test_ack_long_detail_bounded_utf8),
		cmocka_unit_test(test_ack_decode_garbage),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_reject_garbage),
		cmocka_unit_test(test_reject_bad_message_id),
		cmocka_unit_test(test_reject_unsupported_version),
		cmocka_unit_test(test_reject_bad_agent_id),
		cmocka_unit_test(test_reject_unknown_payload_type),
		cmocka_unit_test(test_reject_unknown_payload_type_built),
		cmocka_unit_test(test_reject_sequence_beyond_bigint),
		cmocka_unit_test(test_message_size_ceiling),
		cmocka_unit_test(test_message_ids_unique),
		cmocka_unit_test(test_message_id_hex),
		cmocka_unit_test(test_now_ms),
		cmocka_unit_test(test_budget_counts_and_refuses),
		cmocka_unit_test(test_envelope_unknown_fields_over_budget),
		cmocka_unit_test(test_payload_repeated_over_budget),
		cmocka_unit_test(test_bundle_read_refuses),
		cmocka_unit_test(test_signed_bytes_layout),
		cmocka_unit_test(test_rewrapped_payload_fails),
		cmocka_unit_test(test_protocol_1_refused_unless_allowed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
