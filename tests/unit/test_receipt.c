/*
 * test_receipt: a collector's receipts.  The signature covers exactly the
 * bytes proto/tallyfeed.proto lays out (checked against bytes built here
 * by hand); every field it covers, changed, breaks it; the wire form
 * round-trips; a receipt that does not hold together, or is over its
 * bound, is refused with why; the agent's check refuses a receipt of
 * another message, of other bytes, of another verdict, in another name
 * or under another key.
 */
#include "testutil.h"

#include <sodium.h>
#include <stdlib.h>

#include "envelope.h"
#include "identity.h"
#include "receipt.h"

static tf_identity_t *s_collector, *s_other;

static int
s_setup(void **state)
{
	char err[256];

	(void)state;
	s_collector = tf_identity_generate(TF_ROLE_COLLECTOR, "county-630121", NULL, err, sizeof err);
	s_other = tf_identity_generate(TF_ROLE_COLLECTOR, "county-630121", NULL, err, sizeof err);
	return s_collector != NULL && s_other != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
	(void)state;
	tf_identity_destroy(&s_collector);
	tf_identity_destroy(&s_other);
	return 0;
}

/* A signed receipt of a stored message whose envelope is env_bytes. */
static void
s_receipt(tf_receipt_fields_t *r, const uint8_t *env_bytes, size_t env_len)
{
	memset(r, 0, sizeof *r);
	snprintf(r->collector, sizeof r->collector, "%s", tf_identity_peer(s_collector)->name);
	for (int i = 0; i < TF_MESSAGE_ID_LEN; i++)
		r->message_id[i] = (uint8_t)(0xa0 + i);
	r->message_id_len = TF_MESSAGE_ID_LEN;
	r->sequence = 0x0102030405060708ULL;
	crypto_hash_sha256(r->envelope_sha256, env_bytes, env_len);
	r->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
	snprintf(r->chain, sizeof r->chain, "county-630121");
	r->link = 42;
	memset(r->row_hash, 0x5a, sizeof r->row_hash);
	r->at_ms = 1796236892867LL;
	assert_int_equal(tf_receipt_sign(r, s_collector), 0);
}

static uint8_t *
s_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return p + n;
}

/* The layout proto/tallyfeed.proto documents, built by hand. */
static void
test_signed_bytes_as_documented(void **state)
{
	static const uint8_t env[] = "an envelope";
	tf_receipt_fields_t r;
	uint8_t buf[512], *p = buf;

	(void)state;
	s_receipt(&r, env, sizeof env);
	memcpy(p, "tallyfeed receipt v1", 20);
	p += 20;
	*p++ = 0;
	p = s_be(p, 13, 4);
	memcpy(p, "county-630121", 13);
	p += 13;
	p = s_be(p, 16, 4);
	memcpy(p, r.message_id, 16);
	p += 16;
	p = s_be(p, 0x0102030405060708ULL, 8);
	p = s_be(p, 32, 4);
	memcpy(p, r.envelope_sha256, 32);
	p += 32;
	p = s_be(p, 1, 4);          /* ACCEPTED */
	p = s_be(p, 0, 4);          /* NONE */
	p = s_be(p, 13, 4);
	memcpy(p, "county-630121", 13);
	p += 13;
	p = s_be(p, 42, 8);
	p = s_be(p, 32, 4);
	memset(p, 0x5a, 32);
	p += 32;
	p = s_be(p, 1796236892867ULL, 8);
	assert_int_equal(crypto_sign_verify_detached(r.signature, buf, (size_t)(p - buf),
	                                             tf_identity_peer(s_collector)->sign_public), 0);
	assert_true(tf_receipt_signature_valid(&r, tf_identity_peer(s_collector)->sign_public));
	assert_false(tf_receipt_signature_valid(&r, tf_identity_peer(s_other)->sign_public));
}

/* Each field the signature covers, changed, breaks it. */
static void
test_every_field_is_signed(void **state)
{
	static const uint8_t env[] = "an envelope";
	const uint8_t *key;
	tf_receipt_fields_t r, t;

	(void)state;
	s_receipt(&r, env, sizeof env);
	key = tf_identity_peer(s_collector)->sign_public;
	for (int field = 0; field < 11; field++) {
		t = r;
		switch (field) {
		case 0: t.collector[0] ^= 1; break;
		case 1: t.message_id[15] ^= 1; break;
		case 2: t.sequence++; break;
		case 3: t.envelope_sha256[31] ^= 1; break;
		case 4: t.verdict = TALLYFEED__VERDICT__VERDICT_DUPLICATE; break;
		case 5: t.reason = 1; break;
		case 6: t.chain[0] ^= 1; break;
		case 7: t.link++; break;
		case 8: t.row_hash[0] ^= 1; break;
		case 9: t.at_ms++; break;
		case 10: t.message_id_len = 0; break;
		}
		assert_false(tf_receipt_signature_valid(&t, key));
	}
	assert_true(tf_receipt_signature_valid(&r, key));
}

static void
test_wire_round_trip(void **state)
{
	static const uint8_t env[] = "an envelope";
	tf_receipt_fields_t r, back;
	uint8_t *bytes;
	size_t len;
	char why[256];

	(void)state;
	s_receipt(&r, env, sizeof env);
	bytes = tf_receipt_pack(&r, &len);
	assert_non_null(bytes);
	assert_true(len < TF_RECEIPT_MAX);
	assert_int_equal(tf_receipt_decode(bytes, len, &back, why, sizeof why), 0);
	free(bytes);
	assert_memory_equal(&back, &r, sizeof r);
	assert_int_equal(tf_receipt_check(&back, tf_identity_peer(s_collector), why, sizeof why), 0);
}

/* Refused with why: what does not hold together, or is over its bound. */
static void
test_unsound_refused(void **state)
{
	static const uint8_t env[] = "an envelope";
	static uint8_t big[TF_RECEIPT_MAX + 1];
	tf_receipt_fields_t r, back;
	tf_receipt_t wire;
	uint8_t buf[2048], garbage[] = { 0xff, 0xff, 0xff, 0xff };
	char why[256];
	size_t len;

	(void)state;
	s_receipt(&r, env, sizeof env);
	assert_int_equal(tf_receipt_decode(big, sizeof big, &back, why, sizeof why), -1);
	assert_contains(why, "over the 1024");
	assert_int_equal(tf_receipt_decode(garbage, sizeof garbage, &back, why, sizeof why), -1);
	assert_contains(why, "not a Receipt");

	tf_receipt_wire(&r, &wire);
	wire.format_version = 2;
	assert_int_equal(tf_receipt_fields(&wire, &back, why, sizeof why), -1);
	assert_contains(why, "format 2");

	tf_receipt_wire(&r, &wire);
	wire.row_hash.len = 0;          /* a link without its hash */
	assert_int_equal(tf_receipt_fields(&wire, &back, why, sizeof why), -1);
	assert_contains(why, "not whole");

	tf_receipt_wire(&r, &wire);
	wire.chain = (char *)"";        /* a link without its chain */
	assert_int_equal(tf_receipt_fields(&wire, &back, why, sizeof why), -1);

	tf_receipt_wire(&r, &wire);
	wire.collector = (char *)"county\x1b[2J";      /* would write on the terminal */
	assert_int_equal(tf_receipt_fields(&wire, &back, why, sizeof why), -1);
	assert_contains(why, "printable");

	tf_receipt_wire(&r, &wire);
	wire.signature.len = 63;
	assert_int_equal(tf_receipt_fields(&wire, &back, why, sizeof why), -1);

	tf_receipt_wire(&r, &wire);
	wire.verdict = (Tallyfeed__Verdict)9;
	len = tallyfeed__receipt__pack(&wire, buf);
	assert_int_equal(tf_receipt_decode(buf, len, &back, why, sizeof why), -1);
	assert_contains(why, "no such verdict");

	/* Stored, but naming no row: signed soundly, still refused. */
	r.link = 0;
	r.chain[0] = '\0';
	tf_receipt_sign(&r, s_collector);
	assert_int_equal(tf_receipt_check(&r, tf_identity_peer(s_collector), why, sizeof why), -1);
	assert_contains(why, "names no chain row");

	/* Combinations a collector never signs: refused, each with why. */
	s_receipt(&r, env, sizeof env);
	r.verdict = TALLYFEED__VERDICT__VERDICT_DEFERRED;
	r.reason = TALLYFEED__REASON__REASON_COLLECTOR_BUSY;
	tf_receipt_sign(&r, s_collector);
	assert_int_equal(tf_receipt_check(&r, tf_identity_peer(s_collector), why, sizeof why), -1);
	assert_contains(why, "nothing deferred is kept");
	s_receipt(&r, env, sizeof env);
	r.verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
	tf_receipt_sign(&r, s_collector);
	assert_int_equal(tf_receipt_check(&r, tf_identity_peer(s_collector), why, sizeof why), -1);
	assert_contains(why, "without a reason");
	s_receipt(&r, env, sizeof env);
	r.reason = TALLYFEED__REASON__REASON_BALLOT_SUM;
	tf_receipt_sign(&r, s_collector);
	assert_int_equal(tf_receipt_check(&r, tf_identity_peer(s_collector), why, sizeof why), -1);
	assert_contains(why, "with a reason (BALLOT_SUM)");
}

/* The agent's check of the receipt in an answer to what it sent. */
static void
test_answer_check(void **state)
{
	static const uint8_t env[] = "an envelope";
	static const uint8_t other_env[] = "another envelope";
	tf_receipt_fields_t r, t;
	tf_ack_t ack = TALLYFEED__ACK__INIT;
	const tf_peer_t *collector = tf_identity_peer(s_collector);
	char why[256];

	(void)state;
	s_receipt(&r, env, sizeof env);
	ack.message_id.data = r.message_id;
	ack.message_id.len = TF_MESSAGE_ID_LEN;
	ack.verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
	assert_int_equal(tf_receipt_check_answer(&r, collector, &ack, env, sizeof env, why,
	                                         sizeof why), 0);
	/* Of other bytes. */
	assert_int_equal(tf_receipt_check_answer(&r, collector, &ack, other_env, sizeof other_env,
	                                         why, sizeof why), -1);
	assert_contains(why, "other bytes");
	/* Of another verdict than the answer's. */
	ack.verdict = TALLYFEED__VERDICT__VERDICT_DUPLICATE;
	assert_int_equal(tf_receipt_check_answer(&r, collector, &ack, env, sizeof env, why,
	                                         sizeof why), -1);
	assert_contains(why, "the answer DUPLICATE");
	ack.verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
	/* Of another message. */
	t = r;
	t.message_id[0] ^= 1;
	tf_receipt_sign(&t, s_collector);
	assert_int_equal(tf_receipt_check_answer(&t, collector, &ack, env, sizeof env, why,
	                                         sizeof why), -1);
	assert_contains(why, "another message");
	/* Under another key, in the collector's name: forged. */
	t = r;
	tf_receipt_sign(&t, s_other);
	assert_int_equal(tf_receipt_check_answer(&t, collector, &ack, env, sizeof env, why,
	                                         sizeof why), -1);
	assert_contains(why, "forged");
	/* In another name. */
	t = r;
	snprintf(t.collector, sizeof t.collector, "county-630122");
	tf_receipt_sign(&t, s_collector);
	assert_int_equal(tf_receipt_check_answer(&t, collector, &ack, env, sizeof env, why,
	                                         sizeof why), -1);
	assert_contains(why, "in the name of collector county-630122");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_bytes_as_documented),
		cmocka_unit_test(test_every_field_is_signed),
		cmocka_unit_test(test_wire_round_trip),
		cmocka_unit_test(test_unsound_refused),
		cmocka_unit_test(test_answer_check),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
