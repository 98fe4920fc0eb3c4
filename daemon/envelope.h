/*
 * envelope: the wire codec.  Builds and reads the Envelope that carries one
 * payload from an agent to a collector, and the Ack that answers it.  The
 * decoder checks the envelope's own fields (version, message id, agent id,
 * payload type) and says which one is wrong with a reason code; it never
 * trusts a length or a count it has not bounded.
 */
#ifndef TF_ENVELOPE_H
#define TF_ENVELOPE_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "report.h"
#include "rules.h"
#include "tallyfeed.pb-c.h"

#define TF_PROTOCOL_VERSION 2     /* what agents send: the whole envelope signed */
#define TF_PROTOCOL_VERSION_1 1   /* only the payload signed; accepted where configured */
/* The domain separation that begins the bytes a version 2 signature
 * covers, its terminating NUL included (proto/tallyfeed.proto, Envelope). */
#define TF_ENVELOPE_CONTEXT "tallyfeed envelope v2"
#define TF_ENVELOPE_CONTEXT_LEN (sizeof TF_ENVELOPE_CONTEXT)
#define TF_MESSAGE_ID_LEN 16
#define TF_AGENT_ID_MAX 64
#define TF_MESSAGE_MAX (256 * 1024)   /* bytes in one frame on the wire */
/* Heap one message's decode may take, envelope and payload together (as
 * malloc's chunks, see budget.h): a sound message takes a few KiB, a 256 KiB
 * frame of unknown fields or empty repeated elements tens of MiB. */
#define TF_DECODE_MAX (1024 * 1024)
#define TF_CREATED_MIN_MS 946684800000LL   /* 2000-01-01: creation times before are refused */
#define TF_CREATED_MAX_MS 4102444800000LL  /* 2100-01-01: and from here on */

typedef Tallyfeed__Envelope tf_envelope_t;
typedef Tallyfeed__Ack tf_ack_t;

/* True if id is a sound agent id: 1 to 64 bytes of printable ASCII, no space. */
bool tf_agent_id_valid(const char *id);

/* A fresh random message id. */
void tf_message_id_new(uint8_t id[TF_MESSAGE_ID_LEN]);
/* The id as 32 lowercase hex digits (out holds 33 bytes). */
void tf_message_id_hex(const uint8_t *id, size_t len, char out[2 * TF_MESSAGE_ID_LEN + 1]);

struct _tf_identity_t;

/* Serialize a payload into a version 2 Envelope, signed by signer
 * (Ed25519 over tf_envelope_signed_bytes); signer NULL leaves the
 * signature empty, which a collector refuses (tests use it to say so).
 * Returns an owned frame or NULL. */
zframe_t *tf_envelope_build(const char *agent_id, uint64_t sequence,
                            const uint8_t message_id[TF_MESSAGE_ID_LEN], int64_t created_ms,
                            Tallyfeed__PayloadType type, const ProtobufCMessage *payload,
                            const struct _tf_identity_t *signer);

/* The bytes a version 2 signature covers: TF_ENVELOPE_CONTEXT and its
 * NUL, then agent id, sequence, message id, creation time, payload type
 * and payload, each fixed-width or length-prefixed, big-endian (the exact
 * layout is in proto/tallyfeed.proto).  Owned by the caller (free), and
 * *len set; NULL if out of memory. */
uint8_t *tf_envelope_signed_bytes(const tf_envelope_t *env, size_t *len);
/* Sign env as version 2: sets its protocol version, and its signature to
 * sig (64 bytes, which must outlive env's use).  -1 if out of memory. */
int tf_envelope_sign(tf_envelope_t *env, const struct _tf_identity_t *signer, uint8_t sig[64]);
/* True if env's signature verifies under the Ed25519 public key (32
 * bytes) as env's protocol version defines it: version 2 over
 * tf_envelope_signed_bytes, version 1 over the payload bytes alone.
 * Whether version 1 is acceptable at all is the caller's to decide. */
bool tf_envelope_signature_valid(const tf_envelope_t *env, const uint8_t *key);

/* The check a receiver makes of env's signature under key: 0 if sound;
 * else -1 with why: UNSUPPORTED_VERSION for protocol 1 unless accept_v1,
 * BAD_SIGNATURE for a signature missing or not verifying. */
int tf_envelope_verify(const tf_envelope_t *env, const uint8_t *key, bool accept_v1,
                       tf_check_t *why);

/* Decode and check an envelope.  Returns an owned envelope (free with
 * tf_envelope_destroy), or NULL with the reason in why.  When the bytes
 * decode but a field is wrong, *partial (if not NULL) receives the decoded
 * envelope so the caller can still answer its message id. */
tf_envelope_t *tf_envelope_decode(const uint8_t *data, size_t len, tf_check_t *why,
                                  tf_envelope_t **partial);
/* The same within budget (which the caller resets between messages): past
 * it the envelope is refused with REASON_DECODE_TOO_LARGE.  budget NULL:
 * a budget of TF_DECODE_MAX of its own.  tf_envelope_decode is this with
 * NULL. */
tf_envelope_t *tf_envelope_decode_within(const uint8_t *data, size_t len, tf_budget_t *budget,
                                         tf_check_t *why, tf_envelope_t **partial);
/* The envelope's payload as a ResultReport or a Heartbeat, within budget
 * (NULL: TF_DECODE_MAX of its own); NULL with the reason in why:
 * MALFORMED_PAYLOAD, or DECODE_TOO_LARGE past the budget.  Owned: free
 * with tf_report_destroy, tallyfeed__heartbeat__free_unpacked(hb, NULL). */
tf_report_t *tf_envelope_report(const tf_envelope_t *env, tf_budget_t *budget, tf_check_t *why);
Tallyfeed__Heartbeat *tf_envelope_heartbeat(const tf_envelope_t *env, tf_budget_t *budget,
                                            tf_check_t *why);
void tf_envelope_destroy(tf_envelope_t **envelope_p);

/* Build an Ack frame.  message_id may be NULL (when it could not be read);
 * receipt (receipt.h's wire form) may be NULL for none. */
zframe_t *tf_ack_build(const uint8_t *message_id, size_t id_len, uint64_t sequence,
                       Tallyfeed__Verdict verdict, int reason, const char *detail,
                       const Tallyfeed__Receipt *receipt);
/* Decode an Ack (within TF_DECODE_MAX); NULL if malformed or over.  Free
 * with tf_ack_destroy. */
tf_ack_t *tf_ack_decode(const uint8_t *data, size_t len);
void tf_ack_destroy(tf_ack_t **ack_p);
/* "ACCEPTED", "DUPLICATE", "REJECTED", "DEFERRED". */
const char *tf_verdict_name(Tallyfeed__Verdict verdict);
/* The same in lower case, as the live feed's topics and bodies and the
 * metrics' labels carry it: "accepted", ... ("unspecified" for others). */
const char *tf_verdict_word(Tallyfeed__Verdict verdict);
/* The verdict a word names, or TALLYFEED__VERDICT__VERDICT_UNSPECIFIED. */
Tallyfeed__Verdict tf_verdict_of_word(const char *word);
/* The verdicts a result message can get, for walking them all. */
#define TF_VERDICT_FIRST TALLYFEED__VERDICT__VERDICT_ACCEPTED
#define TF_VERDICT_LAST TALLYFEED__VERDICT__VERDICT_DEFERRED

/* Milliseconds since the epoch, wall clock. */
int64_t tf_now_ms(void);

#endif
