/*
 * receipt: signing, reading and checking a collector's receipts (see
 * receipt.h and proto/tallyfeed.proto, Receipt).
 */
#include "receipt.h"
#include "infile.h"
#include "signedbytes.h"
#include "utf8.h"

#include <assert.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNED_MAX (sizeof TF_RECEIPT_CONTEXT + 4 + TF_COLLECTOR_NAME_MAX + 4 + TF_MESSAGE_ID_LEN \
                    + 8 + 4 + TF_HASH_LEN + 4 + 4 + 4 + TF_CHAIN_NAME_MAX + 8 + 4 + TF_HASH_LEN + 8)

/* The bytes the signature covers (receipt.h); 0 if a name is over its
 * bound. */
static size_t
s_signed_bytes(const tf_receipt_fields_t *f, uint8_t buf[SIGNED_MAX])
{
	size_t collector_len = strnlen(f->collector, sizeof f->collector);
	size_t chain_len = strnlen(f->chain, sizeof f->chain);
	uint8_t *p = buf;

	if (collector_len > TF_COLLECTOR_NAME_MAX || chain_len > TF_CHAIN_NAME_MAX
	    || f->message_id_len > TF_MESSAGE_ID_LEN)
		return 0;
	memcpy(p, TF_RECEIPT_CONTEXT, sizeof TF_RECEIPT_CONTEXT);
	p += sizeof TF_RECEIPT_CONTEXT;
	p = tf_put_counted(p, f->collector, collector_len);
	p = tf_put_counted(p, f->message_id, f->message_id_len);
	p = tf_put_be(p, f->sequence, 8);
	p = tf_put_counted(p, f->envelope_sha256, TF_HASH_LEN);
	p = tf_put_be(p, (uint32_t)f->verdict, 4);
	p = tf_put_be(p, (uint32_t)f->reason, 4);
	p = tf_put_counted(p, f->chain, chain_len);
	p = tf_put_be(p, (uint64_t)f->link, 8);
	p = tf_put_counted(p, f->row_hash, f->link > 0 ? TF_HASH_LEN : 0);
	p = tf_put_be(p, (uint64_t)f->at_ms, 8);
	assert((size_t)(p - buf) <= SIGNED_MAX);
	return (size_t)(p - buf);
}

int
tf_receipt_sign(tf_receipt_fields_t *fields, const tf_identity_t *signer)
{
	uint8_t buf[SIGNED_MAX];
	size_t len;

	assert(fields != NULL && signer != NULL);
	len = s_signed_bytes(fields, buf);
	if (len == 0)
		return -1;
	tf_identity_sign(signer, buf, len, fields->signature);
	return 0;
}

bool
tf_receipt_signature_valid(const tf_receipt_fields_t *fields, const uint8_t *key)
{
	uint8_t buf[SIGNED_MAX];
	size_t len;

	assert(fields != NULL && key != NULL);
	len = s_signed_bytes(fields, buf);
	return len != 0 && tf_signature_valid(key, buf, len, fields->signature, TF_SIGNATURE_LEN);
}

void
tf_receipt_wire(const tf_receipt_fields_t *f, tf_receipt_t *wire)
{
	assert(f != NULL && wire != NULL);
	tallyfeed__receipt__init(wire);
	wire->format_version = TF_RECEIPT_FORMAT;
	wire->collector = (char *)f->collector;
	wire->message_id.data = (uint8_t *)f->message_id;
	wire->message_id.len = f->message_id_len;
	wire->sequence = f->sequence;
	wire->envelope_sha256.data = (uint8_t *)f->envelope_sha256;
	wire->envelope_sha256.len = TF_HASH_LEN;
	wire->verdict = f->verdict;
	wire->reason = (Tallyfeed__Reason)f->reason;
	wire->chain = (char *)f->chain;
	wire->link = f->link > 0 ? (uint64_t)f->link : 0;
	wire->row_hash.data = (uint8_t *)f->row_hash;
	wire->row_hash.len = f->link > 0 ? TF_HASH_LEN : 0;
	wire->at_unix_ms = f->at_ms;
	wire->signature.data = (uint8_t *)f->signature;
	wire->signature.len = TF_SIGNATURE_LEN;
}

uint8_t *
tf_receipt_pack(const tf_receipt_fields_t *fields, size_t *len)
{
	tf_receipt_t wire;
	uint8_t *buf;

	tf_receipt_wire(fields, &wire);
	*len = tallyfeed__receipt__get_packed_size(&wire);
	buf = malloc(*len > 0 ? *len : 1);
	if (buf != NULL)
		tallyfeed__receipt__pack(&wire, buf);
	return buf;
}

/* Copy a name (a collector's, a chain's) of fewer than size bytes of
 * UTF-8 with no control character, so that it prints as it is; -1 if it
 * is not. */
static int
s_name(char *dst, size_t size, const char *src)
{
	size_t len = src != NULL ? strlen(src) : 0;

	if (len >= size || !tf_utf8_valid(src != NULL ? src : "", len))
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)src[i] < 0x20 || src[i] == 0x7f)
			return -1;
	memcpy(dst, src != NULL ? src : "", len);
	dst[len] = '\0';
	return 0;
}

int
tf_receipt_fields(const tf_receipt_t *w, tf_receipt_fields_t *f, char *why, size_t whylen)
{
	assert(w != NULL && f != NULL);
	memset(f, 0, sizeof *f);
	if (w->format_version != TF_RECEIPT_FORMAT) {
		snprintf(why, whylen, "receipt format %u, not %d", w->format_version, TF_RECEIPT_FORMAT);
		return -1;
	}
	if (s_name(f->collector, sizeof f->collector, w->collector) != 0 || f->collector[0] == '\0') {
		snprintf(why, whylen, "the collector's name is missing, over %d bytes, or not "
		         "printable UTF-8", TF_COLLECTOR_NAME_MAX);
		return -1;
	}
	if (s_name(f->chain, sizeof f->chain, w->chain) != 0) {
		snprintf(why, whylen, "the chain's name is over %d bytes, or not printable UTF-8",
		         TF_CHAIN_NAME_MAX);
		return -1;
	}
	if (w->message_id.len != 0 && w->message_id.len != TF_MESSAGE_ID_LEN) {
		snprintf(why, whylen, "message id of %zu bytes, not %d", w->message_id.len,
		         TF_MESSAGE_ID_LEN);
		return -1;
	}
	if (w->envelope_sha256.len != TF_HASH_LEN) {
		snprintf(why, whylen, "envelope SHA-256 of %zu bytes, not %d", w->envelope_sha256.len,
		         TF_HASH_LEN);
		return -1;
	}
	if (w->verdict < TF_VERDICT_FIRST || w->verdict > TF_VERDICT_LAST) {
		snprintf(why, whylen, "no such verdict: %d", (int)w->verdict);
		return -1;
	}
	if (w->link > INT64_MAX || (w->link > 0) != (f->chain[0] != '\0')
	    || w->row_hash.len != (w->link > 0 ? TF_HASH_LEN : 0)) {
		snprintf(why, whylen, "the chain row is not whole (chain, link and a 32-byte hash, "
		         "or none of them)");
		return -1;
	}
	if (w->signature.len != TF_SIGNATURE_LEN) {
		snprintf(why, whylen, "signature of %zu bytes, not %d", w->signature.len,
		         TF_SIGNATURE_LEN);
		return -1;
	}
	f->message_id_len = w->message_id.len;
	if (f->message_id_len > 0)
		memcpy(f->message_id, w->message_id.data, f->message_id_len);
	f->sequence = w->sequence;
	memcpy(f->envelope_sha256, w->envelope_sha256.data, TF_HASH_LEN);
	f->verdict = w->verdict;
	f->reason = (int)w->reason;
	f->link = (int64_t)w->link;
	if (f->link > 0)
		memcpy(f->row_hash, w->row_hash.data, TF_HASH_LEN);
	f->at_ms = w->at_unix_ms;
	memcpy(f->signature, w->signature.data, TF_SIGNATURE_LEN);
	return 0;
}

int
tf_receipt_decode(const uint8_t *data, size_t len, tf_receipt_fields_t *fields, char *why,
                  size_t whylen)
{
	tf_receipt_t *wire;
	int rc;

	if (len > TF_RECEIPT_MAX) {
		snprintf(why, whylen, "%zu bytes, over the %d a receipt may take", len, TF_RECEIPT_MAX);
		return -1;
	}
	/* Bounded in bytes, a receipt is bounded in what it decodes to: it
	 * has no repeated field, and unknown fields are at most len. */
	wire = tallyfeed__receipt__unpack(NULL, len, data);
	if (wire == NULL) {
		snprintf(why, whylen, "not a Receipt (protobuf)");
		return -1;
	}
	rc = tf_receipt_fields(wire, fields, why, whylen);
	tallyfeed__receipt__free_unpacked(wire, NULL);
	return rc;
}

int
tf_receipt_load(const char *path, tf_receipt_fields_t *fields, char *err, size_t errlen)
{
	char why[256];
	size_t len;
	char *data;
	int rc;

	data = tf_infile_read(AT_FDCWD, path, TF_RECEIPT_MAX, 0, &len, NULL, why, sizeof why);
	if (data == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	rc = tf_receipt_decode((const uint8_t *)data, len, fields, why, sizeof why);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, why);
	free(data);
	return rc;
}

int
tf_receipt_check(const tf_receipt_fields_t *f, const tf_peer_t *collector, char *why,
                 size_t whylen)
{
	assert(f != NULL && collector != NULL);
	if (strcmp(f->collector, collector->name) != 0) {
		snprintf(why, whylen, "signed in the name of collector %s, not %s", f->collector,
		         collector->name);
		return -1;
	}
	if (!tf_receipt_signature_valid(f, collector->sign_public)) {
		snprintf(why, whylen, "the signature does not verify under collector %s's key: "
		         "forged or altered", collector->name);
		return -1;
	}
	switch (f->verdict) {
	case TALLYFEED__VERDICT__VERDICT_ACCEPTED:
	case TALLYFEED__VERDICT__VERDICT_DUPLICATE:
		if (f->link == 0) {
			snprintf(why, whylen, "a %s receipt that names no chain row",
			         tf_verdict_name(f->verdict));
			return -1;
		}
		if (f->reason != 0) {
			snprintf(why, whylen, "a %s receipt with a reason (%s)",
			         tf_verdict_name(f->verdict), tf_reason_name(f->reason));
			return -1;
		}
		break;
	case TALLYFEED__VERDICT__VERDICT_REJECTED:
		if (f->reason == 0) {
			snprintf(why, whylen, "a REJECTED receipt without a reason");
			return -1;
		}
		break;
	case TALLYFEED__VERDICT__VERDICT_DEFERRED:
		if (f->link != 0) {
			snprintf(why, whylen, "a DEFERRED receipt that names a chain row: nothing "
			         "deferred is kept");
			return -1;
		}
		break;
	default:
		snprintf(why, whylen, "no such verdict: %d", (int)f->verdict);
		return -1;
	}
	return 0;
}

int
tf_receipt_check_answer(const tf_receipt_fields_t *f, const tf_peer_t *collector,
                        const tf_ack_t *ack, const uint8_t *envelope, size_t envelope_len,
                        char *why, size_t whylen)
{
	uint8_t digest[TF_HASH_LEN];

	assert(ack != NULL && envelope != NULL);
	if (tf_receipt_check(f, collector, why, whylen) != 0)
		return -1;
	if (f->message_id_len != ack->message_id.len
	    || memcmp(f->message_id, ack->message_id.data, f->message_id_len) != 0) {
		snprintf(why, whylen, "the receipt is of another message");
		return -1;
	}
	crypto_hash_sha256(digest, envelope, envelope_len);
	if (sodium_memcmp(digest, f->envelope_sha256, TF_HASH_LEN) != 0) {
		snprintf(why, whylen, "the receipt is of other bytes than the message sent");
		return -1;
	}
	if (f->verdict != ack->verdict || f->reason != (int)ack->reason) {
		snprintf(why, whylen, "the receipt says %s (%d), the answer %s (%d)",
		         tf_verdict_name(f->verdict), f->reason, tf_verdict_name(ack->verdict),
		         (int)ack->reason);
		return -1;
	}
	return 0;
}

void
tf_receipt_signature_b64(const tf_receipt_fields_t *fields, char out[TF_RECEIPT_SIGNATURE_B64_LEN])
{
	sodium_bin2base64(out, TF_RECEIPT_SIGNATURE_B64_LEN, fields->signature, TF_SIGNATURE_LEN,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
