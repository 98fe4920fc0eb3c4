/*
 * receipt: a collector's signed word on one message (proto/tallyfeed.proto,
 * Receipt): the SHA-256 of the frame it received, its verdict and reason,
 * and the chain row that holds the message, signed with its Ed25519 key.
 * The collector puts one in every Ack; the agent checks it against the
 * collector's certificate before it takes the answer, and keeps it;
 * anyone holding the certificate can check it offline, and the database
 * can be asked whether it still holds what a receipt says.
 */
#ifndef TF_RECEIPT_H
#define TF_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "envelope.h"
#include "identity.h"
#include "tallyfeed.pb-c.h"

#define TF_RECEIPT_FORMAT 1
#define TF_RECEIPT_CONTEXT "tallyfeed receipt v1"   /* and its NUL: 21 bytes */
#define TF_RECEIPT_MAX 1024     /* bytes of a serialized receipt, far above any sound one */
#define TF_COLLECTOR_NAME_MAX TF_AGENT_ID_MAX

typedef Tallyfeed__Receipt tf_receipt_t;

/* What a receipt says, in fixed storage: what the collector fills in and
 * signs, and what a reader decodes into. */
typedef struct {
	char collector[TF_COLLECTOR_NAME_MAX + 1];
	uint8_t message_id[TF_MESSAGE_ID_LEN];
	size_t message_id_len;          /* 16, or 0 if it could not be read */
	uint64_t sequence;
	uint8_t envelope_sha256[TF_HASH_LEN];
	Tallyfeed__Verdict verdict;
	int reason;
	char chain[TF_CHAIN_NAME_MAX + 1];      /* "": no row named */
	int64_t link;                   /* 0: no row named */
	uint8_t row_hash[TF_HASH_LEN];
	int64_t at_ms;
	uint8_t signature[TF_SIGNATURE_LEN];
} tf_receipt_fields_t;

/* Sign fields as they are with signer's key (the caller names the
 * collector, its own name): fills its signature.  -1 if a field is out of
 * its bounds (a programmer's error, logged by the caller). */
int tf_receipt_sign(tf_receipt_fields_t *fields, const tf_identity_t *signer);
/* True if fields' signature verifies under key (32 bytes). */
bool tf_receipt_signature_valid(const tf_receipt_fields_t *fields, const uint8_t *key);

/* The wire form of fields, pointing into it (valid while fields is). */
void tf_receipt_wire(const tf_receipt_fields_t *fields, tf_receipt_t *wire);
/* Serialize fields: an owned buffer (free) and *len, or NULL. */
uint8_t *tf_receipt_pack(const tf_receipt_fields_t *fields, size_t *len);
/* Read a wire receipt into fields: 0, or -1 with why (a field missing,
 * of the wrong length or out of range).  It does not check the signature. */
int tf_receipt_fields(const tf_receipt_t *wire, tf_receipt_fields_t *fields, char *why,
                      size_t whylen);
/* Decode serialized bytes (at most TF_RECEIPT_MAX) into fields: 0, or -1
 * with why. */
int tf_receipt_decode(const uint8_t *data, size_t len, tf_receipt_fields_t *fields, char *why,
                      size_t whylen);
/* Read a receipt file (a regular file, not a link, at most TF_RECEIPT_MAX
 * bytes) into fields: 0, or -1 with err. */
int tf_receipt_load(const char *path, tf_receipt_fields_t *fields, char *err, size_t errlen);

/* The check a holder makes: fields is signed by collector (its name and
 * its key), and a receipt of a stored message names a row.  0, or -1 with
 * why. */
int tf_receipt_check(const tf_receipt_fields_t *fields, const tf_peer_t *collector, char *why,
                     size_t whylen);
/* The check an agent makes of the receipt in an Ack for a message it
 * sent: tf_receipt_check, and the receipt is of this message (its id and
 * the SHA-256 of these envelope bytes) and of this answer (verdict and
 * reason as the Ack says).  0, or -1 with why. */
int tf_receipt_check_answer(const tf_receipt_fields_t *fields, const tf_peer_t *collector,
                            const tf_ack_t *ack, const uint8_t *envelope, size_t envelope_len,
                            char *why, size_t whylen);

/* The receipt's signature as URL-safe base64 without padding (86
 * characters and a NUL). */
#define TF_RECEIPT_SIGNATURE_B64_LEN 87
void tf_receipt_signature_b64(const tf_receipt_fields_t *fields,
                              char out[TF_RECEIPT_SIGNATURE_B64_LEN]);

#endif
