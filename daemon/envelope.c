/*
 * envelope: the wire codec for Envelope and Ack.
 */
#include "envelope.h"
#include "identity.h"
#include "signedbytes.h"
#include "utf8.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
tf_message_id_new(uint8_t id[TF_MESSAGE_ID_LEN])
{
	randombytes_buf(id, TF_MESSAGE_ID_LEN);
}

void
tf_message_id_hex(const uint8_t *id, size_t len, char out[2 * TF_MESSAGE_ID_LEN + 1])
{
	if (len > TF_MESSAGE_ID_LEN)
		len = TF_MESSAGE_ID_LEN;
	sodium_bin2hex(out, 2 * TF_MESSAGE_ID_LEN + 1, id, len);
}

int64_t
tf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pack any message into a new frame. */
static zframe_t *
s_pack(const ProtobufCMessage *message)
{
	size_t len = protobuf_c_message_get_packed_size(message);
	zframe_t *frame = zframe_new(NULL, len);

	if (frame == NULL)
		return NULL;
	protobuf_c_message_pack(message, zframe_data(frame));
	return frame;
}

uint8_t *
tf_envelope_signed_bytes(const tf_envelope_t *env, size_t *len)
{
	const char *agent;
	size_t agent_len;
	uint8_t *bytes, *p;

	assert(env != NULL && len != NULL);
	agent = env->agent_id != NULL ? env->agent_id : "";
	agent_len = strlen(agent);
	/* Every length fits 4 bytes: the frame is bounded (TF_MESSAGE_MAX). */
	if (agent_len > UINT32_MAX || env->message_id.len > UINT32_MAX
	    || env->payload.len > UINT32_MAX)
		return NULL;
	*len = TF_ENVELOPE_CONTEXT_LEN + 4 + agent_len + 8 + 4 + env->message_id.len + 8 + 4 + 4
	       + env->payload.len;
	bytes = malloc(*len);
	if (bytes == NULL)
		return NULL;
	memcpy(bytes, TF_ENVELOPE_CONTEXT, TF_ENVELOPE_CONTEXT_LEN);
	p = bytes + TF_ENVELOPE_CONTEXT_LEN;
	p = tf_put_counted(p, agent, agent_len);
	p = tf_put_be(p, env->sequence, 8);
	p = tf_put_counted(p, env->message_id.data, env->message_id.len);
	p = tf_put_be(p, (uint64_t)env->created_unix_ms, 8);
	p = tf_put_be(p, (uint32_t)env->payload_type, 4);
	p = tf_put_counted(p, env->payload.data, env->payload.len);
	assert((size_t)(p - bytes) == *len);
	return bytes;
}

int
tf_envelope_sign(tf_envelope_t *env, const struct _tf_identity_t *signer,
                 uint8_t sig[TF_SIGNATURE_LEN])
{
	uint8_t *bytes;
	size_t len;

	assert(env != NULL && signer != NULL && sig != NULL);
	env->protocol_version = TF_PROTOCOL_VERSION;
	bytes = tf_envelope_signed_bytes(env, &len);
	if (bytes == NULL)
		return -1;
	tf_identity_sign(signer, bytes, len, sig);
	free(bytes);
	env->signature.data = sig;
	env->signature.len = TF_SIGNATURE_LEN;
	return 0;
}

bool
tf_envelope_signature_valid(const tf_envelope_t *env, const uint8_t *key)
{
	uint8_t *bytes;
	size_t len;
	bool valid;

	assert(env != NULL && key != NULL);
	if (env->protocol_version == TF_PROTOCOL_VERSION_1)
		return tf_signature_valid(key, env->payload.data, env->payload.len,
		                          env->signature.data, env->signature.len);
	if (env->protocol_version != TF_PROTOCOL_VERSION)
		return false;
	bytes = tf_envelope_signed_bytes(env, &len);
	if (bytes == NULL)
		return false;
	valid = tf_signature_valid(key, bytes, len, env->signature.data, env->signature.len);
	free(bytes);
	return valid;
}

int
tf_envelope_verify(const tf_envelope_t *env, const uint8_t *key, bool accept_v1,
                   tf_check_t *why)
{
	assert(env != NULL && key != NULL && why != NULL);
	/* Version 1 signed the payload alone: its message id, sequence and
	 * time could be re-wrapped by whoever carried it. */
	if (env->protocol_version == TF_PROTOCOL_VERSION_1 && !accept_v1) {
		why->reason = TALLYFEED__REASON__REASON_UNSUPPORTED_VERSION;
		snprintf(why->detail, sizeof why->detail, "protocol version 1 (only the payload "
		         "signed) is not accepted here; upgrade the agent "
		         "(collector/accept_protocol_1 takes it meanwhile)");
		return -1;
	}
	if (!tf_envelope_signature_valid(env, key)) {
		why->reason = TALLYFEED__REASON__REASON_BAD_SIGNATURE;
		snprintf(why->detail, sizeof why->detail, "%s",
		         env->signature.len == 0 ? "the envelope is not signed"
		                                 : "the signature does not verify under the agent's "
		                                   "enrolled key");
		return -1;
	}
	return 0;
}

zframe_t *
tf_envelope_build(const char *agent_id, uint64_t sequence,
                  const uint8_t message_id[TF_MESSAGE_ID_LEN], int64_t created_ms,
                  Tallyfeed__PayloadType type, const ProtobufCMessage *payload,
                  const struct _tf_identity_t *signer)
{
	Tallyfeed__Envelope env = TALLYFEED__ENVELOPE__INIT;
	uint8_t signature[TF_SIGNATURE_LEN];
	uint8_t *bytes;
	size_t len;
	zframe_t *frame = NULL;

	assert(agent_id != NULL && message_id != NULL && payload != NULL);
	len = protobuf_c_message_get_packed_size(payload);
	bytes = malloc(len ? len : 1);
	if (bytes == NULL)
		return NULL;
	protobuf_c_message_pack(payload, bytes);
	env.protocol_version = TF_PROTOCOL_VERSION;
	env.agent_id = (char *)agent_id;
	env.sequence = sequence;
	env.message_id.data = (uint8_t *)message_id;
	env.message_id.len = TF_MESSAGE_ID_LEN;
	env.created_unix_ms = created_ms;
	env.payload_type = type;
	env.payload.data = bytes;
	env.payload.len = len;
	if (signer == NULL || tf_envelope_sign(&env, signer, signature) == 0)
		frame = s_pack(&env.base);
	free(bytes);
	return frame;
}

bool
tf_agent_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > TF_AGENT_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return false;
	return true;
}

static tf_envelope_t *
s_fail(tf_check_t *why, int reason, const char *detail, tf_envelope_t *env,
       tf_envelope_t **partial)
{
	why->reason = reason;
	snprintf(why->detail, sizeof why->detail, "%s", detail);
	if (partial != NULL)
		*partial = env;
	else
		tf_envelope_destroy(&env);
	return NULL;
}

static const char s_over_budget[] =
	"decoded, it would take more than the 1 MiB a message may (unknown fields, empty "
	"repeated elements?)";

tf_envelope_t *
tf_envelope_decode(const uint8_t *data, size_t len, tf_check_t *why, tf_envelope_t **partial)
{
	return tf_envelope_decode_within(data, len, NULL, why, partial);
}

tf_envelope_t *
tf_envelope_decode_within(const uint8_t *data, size_t len, tf_budget_t *budget,
                          tf_check_t *why, tf_envelope_t **partial)
{
	tf_budget_t *own = NULL;
	tf_envelope_t *env;
	bool over;

	assert(why != NULL);
	memset(why, 0, sizeof *why);
	if (partial != NULL)
		*partial = NULL;
	/* The size before anything is allocated for the frame. */
	if (len > TF_MESSAGE_MAX)
		return s_fail(why, TALLYFEED__REASON__REASON_MESSAGE_TOO_LARGE,
		              "frame larger than the 256 KiB ceiling", NULL, NULL);
	if (budget == NULL)
		budget = own = tf_budget_new(TF_DECODE_MAX, NULL);
	if (budget == NULL)
		return s_fail(why, TALLYFEED__REASON__REASON_DECODE_TOO_LARGE, "out of memory",
		              NULL, NULL);
	env = tallyfeed__envelope__unpack(tf_budget_allocator(budget), len, data);
	over = tf_budget_exceeded(budget);
	tf_budget_destroy(&own);
	if (env == NULL && over)
		return s_fail(why, TALLYFEED__REASON__REASON_DECODE_TOO_LARGE, s_over_budget,
		              NULL, NULL);
	if (env == NULL)
		return s_fail(why, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE,
		              "frame is not a tallyfeed Envelope", NULL, NULL);
	if (env->message_id.len != TF_MESSAGE_ID_LEN)
		return s_fail(why, TALLYFEED__REASON__REASON_BAD_MESSAGE_ID,
		              "message id is not 16 bytes", env, partial);
	if (env->sequence > INT64_MAX)      /* stored as a PostgreSQL bigint */
		return s_fail(why, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE,
		              "sequence number beyond 2^63-1", env, partial);
	if (env->protocol_version != TF_PROTOCOL_VERSION
	    && env->protocol_version != TF_PROTOCOL_VERSION_1)
		return s_fail(why, TALLYFEED__REASON__REASON_UNSUPPORTED_VERSION,
		              "protocol version is not 2 (or 1)", env, partial);
	if (!tf_agent_id_valid(env->agent_id))
		return s_fail(why, TALLYFEED__REASON__REASON_BAD_AGENT_ID,
		              "agent id is empty, longer than 64 bytes or not printable ASCII",
		              env, partial);
	if (env->payload_type != TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT
	    && env->payload_type != TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT)
		return s_fail(why, TALLYFEED__REASON__REASON_UNKNOWN_PAYLOAD_TYPE,
		              "payload type is not one this collector knows", env, partial);
	/* Stored as a timestamp and hashed into the chain: keep it sane. */
	if (env->created_unix_ms < TF_CREATED_MIN_MS || env->created_unix_ms >= TF_CREATED_MAX_MS)
		return s_fail(why, TALLYFEED__REASON__REASON_BAD_DATE,
		              "creation time is not between 2000 and 2100", env, partial);
	return env;
}

void
tf_envelope_destroy(tf_envelope_t **envelope_p)
{
	assert(envelope_p != NULL);
	if (*envelope_p != NULL)
		tallyfeed__envelope__free_unpacked(*envelope_p, NULL);
	*envelope_p = NULL;
}

zframe_t *
tf_ack_build(const uint8_t *message_id, size_t id_len, uint64_t sequence,
             Tallyfeed__Verdict verdict, int reason, const char *detail,
             const Tallyfeed__Receipt *receipt)
{
	Tallyfeed__Ack ack = TALLYFEED__ACK__INIT;
	char bounded[TF_DETAIL_MAX];

	ack.message_id.data = (uint8_t *)message_id;
	ack.message_id.len = message_id != NULL ? id_len : 0;
	ack.sequence = sequence;
	ack.verdict = verdict;
	ack.reason = (Tallyfeed__Reason)reason;
	tf_text_bound(bounded, sizeof bounded, detail != NULL ? detail : "");
	/* A detail may quote what a sender sent: the Ack carries UTF-8 only. */
	if (!tf_utf8_valid(bounded, strlen(bounded)))
		for (char *p = bounded; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
				*p = '?';
	ack.detail = bounded;
	ack.receipt = (Tallyfeed__Receipt *)receipt;
	return s_pack(&ack.base);
}

/* Unpack a payload within budget (or one of TF_DECODE_MAX); NULL with why. */
static ProtobufCMessage *
s_payload(const ProtobufCMessageDescriptor *descriptor, const tf_envelope_t *env,
          tf_budget_t *budget, tf_check_t *why, const char *malformed)
{
	tf_budget_t *own = NULL;
	ProtobufCMessage *m = NULL;

	assert(env != NULL && why != NULL);
	why->reason = TALLYFEED__REASON__REASON_DECODE_TOO_LARGE;
	snprintf(why->detail, sizeof why->detail, "%s", s_over_budget);
	if (env->payload.len > TF_MESSAGE_MAX)
		return NULL;
	if (budget == NULL)
		budget = own = tf_budget_new(TF_DECODE_MAX, NULL);
	if (budget == NULL)
		return NULL;
	m = protobuf_c_message_unpack(descriptor, tf_budget_allocator(budget), env->payload.len,
	                              env->payload.data);
	if (m == NULL && !tf_budget_exceeded(budget)) {
		why->reason = TALLYFEED__REASON__REASON_MALFORMED_PAYLOAD;
		snprintf(why->detail, sizeof why->detail, "%s", malformed);
	} else if (m != NULL) {
		why->reason = 0;
		why->detail[0] = '\0';
	}
	tf_budget_destroy(&own);
	return m;
}

tf_report_t *
tf_envelope_report(const tf_envelope_t *env, tf_budget_t *budget, tf_check_t *why)
{
	return (tf_report_t *)s_payload(&tallyfeed__result_report__descriptor, env, budget, why,
	                                "payload is not a ResultReport");
}

Tallyfeed__Heartbeat *
tf_envelope_heartbeat(const tf_envelope_t *env, tf_budget_t *budget, tf_check_t *why)
{
	return (Tallyfeed__Heartbeat *)s_payload(&tallyfeed__heartbeat__descriptor, env, budget,
	                                         why, "payload is not a sound Heartbeat");
}

tf_ack_t *
tf_ack_decode(const uint8_t *data, size_t len)
{
	tf_budget_t *budget;
	tf_ack_t *ack;

	if (len > TF_MESSAGE_MAX)
		return NULL;
	budget = tf_budget_new(TF_DECODE_MAX, NULL);
	if (budget == NULL)
		return NULL;
	ack = tallyfeed__ack__unpack(tf_budget_allocator(budget), len, data);
	tf_budget_destroy(&budget);
	return ack;
}

void
tf_ack_destroy(tf_ack_t **ack_p)
{
	assert(ack_p != NULL);
	if (*ack_p != NULL)
		tallyfeed__ack__free_unpacked(*ack_p, NULL);
	*ack_p = NULL;
}

const char *
tf_verdict_name(Tallyfeed__Verdict verdict)
{
	switch (verdict) {
	case TALLYFEED__VERDICT__VERDICT_ACCEPTED:
		return "ACCEPTED";
	case TALLYFEED__VERDICT__VERDICT_DUPLICATE:
		return "DUPLICATE";
	case TALLYFEED__VERDICT__VERDICT_REJECTED:
		return "REJECTED";
	case TALLYFEED__VERDICT__VERDICT_DEFERRED:
		return "DEFERRED";
	default:
		return "UNSPECIFIED";
	}
}

const char *
tf_verdict_word(Tallyfeed__Verdict verdict)
{
	switch (verdict) {
	case TALLYFEED__VERDICT__VERDICT_ACCEPTED:
		return "accepted";
	case TALLYFEED__VERDICT__VERDICT_DUPLICATE:
		return "duplicate";
	case TALLYFEED__VERDICT__VERDICT_REJECTED:
		return "rejected";
	case TALLYFEED__VERDICT__VERDICT_DEFERRED:
		return "deferred";
	default:
		return "unspecified";
	}
}

Tallyfeed__Verdict
tf_verdict_of_word(const char *word)
{
	for (int v = TF_VERDICT_FIRST; v <= TF_VERDICT_LAST; v++)
		if (strcmp(word, tf_verdict_word((Tallyfeed__Verdict)v)) == 0)
			return (Tallyfeed__Verdict)v;
	return TALLYFEED__VERDICT__VERDICT_UNSPECIFIED;
}
