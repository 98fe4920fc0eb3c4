/*
 * fuzz_ingest: a libFuzzer target over what tallyfeed does with bytes from
 * outside.  One input is taken three ways:
 *
 *  - as a frame from the network, the collector's path (collector/ingest.c
 *    s_judge): envelope decode, signature check, payload decode (Heartbeat
 *    or ResultReport), the rules with the registry and the sending agent's
 *    township, and for an accepted report the checks the store makes after
 *    (the sequence of rounds) and the Ack the collector answers with;
 *  - as an Ack from a collector, the agent's path (daemon/sender.c,
 *    agents/forwarder.c);
 *  - as a bundle, the console's import path (console/import.c): each
 *    envelope in it down the collector's path.
 *
 * Beside the sanitizers, it holds the code to what the callers rely on: a
 * decoder that fails says why, an accepted envelope has the fields the
 * collector reads without looking again, every Ack we build decodes to what
 * was put in and is UTF-8, every reason has a name, and a report the rules
 * accept can be written in the result file format and read back (what the
 * collector stores, the agent could have sent).  A broken promise is an
 * abort(), so libFuzzer keeps the input; TF_FUZZ_KNOWN names those to let
 * pass while their fix is pending (tests/fuzz/known).
 *
 * The Qinghai registry is read once, from $TF_SRC/deploy/registry/qinghai
 * when TF_SRC is set, else from the first directory above the executable
 * that holds deploy/registry/qinghai (build-fuzz/ sits in the source tree).
 * Enrolment is modelled by fuzz_key.h.  Nothing is printed per input.
 */
#include "bundle.h"
#include "envelope.h"
#include "identity.h"
#include "receipt.h"
#include "registry.h"
#include "report.h"
#include "rules.h"
#include "utf8.h"

#include "fuzz_key.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGISTRY_SUBDIR "/deploy/registry/qinghai"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tf_registry_t *s_registry;
static tf_rules_config_t s_config;
static uint8_t s_sign_public[TF_SIGN_PUBLIC_LEN];
/* The collector that signs the receipts in the answers built here (fresh
 * keys each run: nothing read depends on which). */
static tf_identity_t *s_collector;
/* Whom the receipts in the seed corpus's acks name: fuzz_seed signs them
 * with the fuzzing key, so that they verify and the agent's whole check of
 * a receipt is reached. */
static tf_peer_t s_seed_collector;
/* The ids of broken promises to let pass, from TF_FUZZ_KNOWN: findings
 * reported and not fixed yet (tests/fuzz/known), so that fuzzing goes on
 * past them. */
static char s_known[1024];

/* A promise broken: say which, and let libFuzzer keep the input. */
static void
s_broken(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_ingest: broken promise: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
	abort();
}

/* The same for a promise with an id that TF_FUZZ_KNOWN may name; returns
 * when it does. */
static void
s_broken_id(const char *id, const char *what, const char *detail)
{
	char key[64];

	snprintf(key, sizeof key, ",%s,", id);
	if (strstr(s_known, key) != NULL)
		return;
	fprintf(stderr, "fuzz_ingest: broken promise [%s]: %s%s%s\n", id, what,
	        detail ? ": " : "", detail ? detail : "");
	abort();
}

/* The source tree: $TF_SRC, else the nearest ancestor of the executable
 * that holds the registry.  0, or -1 when neither gives one. */
static int
s_source_dir(char *out, size_t outlen)
{
	const char *env = getenv("TF_SRC");
	char path[PATH_MAX], probe[PATH_MAX + sizeof REGISTRY_SUBDIR + 16];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, outlen, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return -1;
	path[n] = '\0';
	for (char *slash = strrchr(path, '/'); slash != NULL; slash = strrchr(path, '/')) {
		*slash = '\0';
		snprintf(probe, sizeof probe, "%s%s/villages.csv", path, REGISTRY_SUBDIR);
		if (access(probe, R_OK) == 0) {
			snprintf(out, outlen, "%s", path[0] ? path : "/");
			return 0;
		}
	}
	return -1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char src[PATH_MAX], dir[PATH_MAX + sizeof REGISTRY_SUBDIR], err[512];
	uint8_t secret[crypto_sign_SECRETKEYBYTES];
	const char *known = getenv("TF_FUZZ_KNOWN");

	(void)argc;
	(void)argv;
	if (sodium_init() < 0) {
		fprintf(stderr, "fuzz_ingest: libsodium would not start\n");
		exit(1);
	}
	if (s_source_dir(src, sizeof src) != 0) {
		fprintf(stderr, "fuzz_ingest: cannot find the source tree: set TF_SRC to it\n");
		exit(1);
	}
	snprintf(dir, sizeof dir, "%s%s", src, REGISTRY_SUBDIR);
	s_registry = tf_registry_new();
	if (s_registry == NULL || tf_registry_load_dir(s_registry, dir, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_ingest: %s\n", s_registry ? err : "out of memory");
		exit(1);
	}
	tf_rules_config_default(&s_config);
	crypto_sign_seed_keypair(s_sign_public, secret, (const uint8_t *)TF_FUZZ_SIGN_SEED);
	sodium_memzero(secret, sizeof secret);
	s_seed_collector.role = TF_ROLE_COLLECTOR;
	snprintf(s_seed_collector.name, sizeof s_seed_collector.name, "%s", TF_FUZZ_COLLECTOR);
	memcpy(s_seed_collector.sign_public, s_sign_public, TF_SIGN_PUBLIC_LEN);
	s_collector = tf_identity_generate(TF_ROLE_COLLECTOR, "collector-fuzz", NULL, err, sizeof err);
	if (s_collector == NULL) {
		fprintf(stderr, "fuzz_ingest: %s\n", err);
		exit(1);
	}
	/* ",id,id," so that each id is found whole. */
	snprintf(s_known, sizeof s_known, ",%s,", known != NULL ? known : "");
	for (char *p = s_known; *p != '\0'; p++)
		if (*p == ' ')
			*p = ',';
	return 0;
}

/* The township whose units this agent may report, or NULL if the agent id
 * names no enrolled agent (see fuzz_key.h). */
static const char *
s_township_of(const char *agent_id)
{
	const size_t plen = strlen(TF_FUZZ_AGENT_PREFIX);
	const tf_area_t *township;

	if (strncmp(agent_id, TF_FUZZ_AGENT_PREFIX, plen) != 0
	    || strlen(agent_id + plen) != TF_CODE_LEN)
		return NULL;
	township = tf_registry_find(s_registry, TF_LEVEL_TOWNSHIP, agent_id + plen);
	return township != NULL ? township->code : NULL;
}

/* The receipt the collector signs for this answer (collector/ingest.c,
 * s_receipt), for a frame of these bytes; an accepted message's row is
 * made up, as the store would give one. */
static void
s_receipt(const uint8_t *data, size_t len, const tf_envelope_t *env, Tallyfeed__Verdict verdict,
          int reason, tf_receipt_fields_t *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->collector, sizeof r->collector, "%s", tf_identity_peer(s_collector)->name);
	if (env != NULL && env->message_id.len == TF_MESSAGE_ID_LEN) {
		memcpy(r->message_id, env->message_id.data, TF_MESSAGE_ID_LEN);
		r->message_id_len = TF_MESSAGE_ID_LEN;
		r->sequence = env->sequence;
	}
	crypto_hash_sha256(r->envelope_sha256, data, len);
	r->verdict = verdict;
	r->reason = reason;
	r->at_ms = TF_CREATED_MIN_MS;
	if (verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED) {
		snprintf(r->chain, sizeof r->chain, "fuzz");
		r->link = 1;
		memcpy(r->row_hash, r->envelope_sha256, TF_HASH_LEN);
	}
	if (tf_receipt_sign(r, s_collector) != 0)
		s_broken("a receipt of a frame read could not be signed", NULL);
}

/* The collector's answer to the frame data[0..len), built as it builds it,
 * its receipt included; it must decode to what was put in, and its receipt
 * must pass the agent's check.  env may be NULL or a partial envelope. */
static void
s_answer(const uint8_t *data, size_t len, const tf_envelope_t *env, Tallyfeed__Verdict verdict,
         const tf_check_t *check)
{
	char hex[2 * TF_MESSAGE_ID_LEN + 1], bounded[TF_DETAIL_MAX], why[256];
	int reason = verdict == TALLYFEED__VERDICT__VERDICT_REJECTED ? check->reason : 0;
	tf_receipt_fields_t receipt, read;
	tf_receipt_t wire;
	zframe_t *frame;
	tf_ack_t *ack;

	if (memchr(check->detail, '\0', sizeof check->detail) == NULL)
		s_broken("check detail is not terminated", NULL);
	if (env != NULL)        /* as the collector logs it */
		tf_message_id_hex(env->message_id.data, env->message_id.len, hex);
	s_receipt(data, len, env, verdict, reason, &receipt);
	tf_receipt_wire(&receipt, &wire);
	frame = tf_ack_build(env != NULL ? env->message_id.data : NULL,
	                     env != NULL ? env->message_id.len : 0, env != NULL ? env->sequence : 0,
	                     verdict, reason, check->detail, &wire);
	if (frame == NULL)
		s_broken("tf_ack_build returned NULL", NULL);
	ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
	tf_text_bound(bounded, sizeof bounded, check->detail);
	if (ack == NULL)
		s_broken("an Ack we built does not decode", check->detail);
	/* proto/tallyfeed.proto: the detail is UTF-8; it is also logged. */
	if (!tf_utf8_valid(bounded, strlen(bounded)))
		s_broken_id("ack-detail-utf8", "an Ack's detail is not printable UTF-8", NULL);
	if (ack->verdict != verdict || (int)ack->reason != reason
	    || ack->sequence != (env != NULL ? env->sequence : 0)
	    || strcmp(ack->detail, bounded) != 0
	    || ack->message_id.len != (env != NULL ? env->message_id.len : 0)
	    || (ack->message_id.len > 0
	        && memcmp(ack->message_id.data, env->message_id.data, ack->message_id.len) != 0))
		s_broken("an Ack does not decode to what was put in", check->detail);
	if (ack->receipt == NULL || tf_receipt_fields(ack->receipt, &read, why, sizeof why) != 0)
		s_broken("an Ack's receipt does not read back", why);
	/* Only an id the agent could have sent gets an answer it takes. */
	if (read.message_id_len == TF_MESSAGE_ID_LEN
	    && tf_receipt_check_answer(&read, tf_identity_peer(s_collector), ack, data, len, why,
	                               sizeof why) != 0)
		s_broken("a receipt the collector signed fails the agent's check", why);
	tf_ack_destroy(&ack);
	zframe_destroy(&frame);
}

/* What the collector and the store do with a report, past the signature.
 * Returns the verdict. */
static Tallyfeed__Verdict
s_check_report(const tf_report_t *r, const char *township, tf_check_t *check)
{
	tf_prior_round_t prior;
	tf_check_t sequence;
	unsigned unfilled[TF_POSITIONS];
	char *json, err[512];
	tf_report_t *again;
	int rc = tf_rules_check(&s_config, r, s_registry, township, check);

	if ((rc == 0) != (check->reason == TALLYFEED__REASON__REASON_NONE))
		s_broken("tf_rules_check's result and reason disagree", check->detail);
	if (strcmp(tf_reason_name(check->reason), "UNKNOWN") == 0)
		s_broken("a rejection reason has no name", check->detail);
	if (rc != 0)
		return TALLYFEED__VERDICT__VERDICT_REJECTED;
	if (check->seats_filled > check->seats_total)
		s_broken("more seats filled than there are", NULL);
	for (int bit = 0; bit < TF_WARN_COUNT; bit++)
		if (check->warnings & (1u << bit))
			(void)tf_warning_name(bit);
	if (check->warnings >> TF_WARN_COUNT)
		s_broken("a warning bit beyond TF_WARN_COUNT", NULL);
	/* The store: what this report leaves for the round after it, and
	 * whether it may follow what is stored (nothing, or itself). */
	tf_rules_prior_round(&s_config, r, &prior);
	tf_rules_unfilled(r, NULL, unfilled);
	sequence = *check;
	(void)tf_rules_check_sequence(r, NULL, &sequence);
	sequence = *check;
	(void)tf_rules_check_sequence(r, &prior, &sequence);
	if (r->round <= 1 && sequence.reason != TALLYFEED__REASON__REASON_NONE)
		s_broken("round 1 refused by the sequence check", sequence.detail);
	/* The agent digests the report's JSON; the console shows it. */
	json = tf_report_to_json(r, 0);
	if (json == NULL)
		s_broken("an accepted report has no JSON form", NULL);
	/* Read back, for the reader's sake; it may refuse: a result file
	 * must give education, ethnicity and birth year for every candidate,
	 * which the protocol leaves optional. */
	again = tf_report_from_json(json, strlen(json), err, sizeof err);
	tf_report_destroy(&again);
	free(json);
	return TALLYFEED__VERDICT__VERDICT_ACCEPTED;
}

/* The collector's judgement of one frame (collector/ingest.c s_judge). */
static void
s_judge(const uint8_t *data, size_t len)
{
	tf_check_t check;
	tf_envelope_t *partial = NULL, *env;
	Tallyfeed__Verdict verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
	const char *township;
	tf_report_t *report;
	Tallyfeed__Heartbeat *heartbeat;

	env = tf_envelope_decode(data, len, &check, &partial);
	if (env == NULL) {
		if (check.reason == TALLYFEED__REASON__REASON_NONE)
			s_broken("envelope refused without a reason", NULL);
		s_answer(data, len, partial, verdict, &check);
		tf_envelope_destroy(&partial);
		return;
	}
	if (partial != NULL || check.reason != TALLYFEED__REASON__REASON_NONE)
		s_broken("an accepted envelope came with a reason or a partial", check.detail);
	if (env->message_id.len != TF_MESSAGE_ID_LEN || (env->protocol_version != TF_PROTOCOL_VERSION
	                                                 && env->protocol_version != TF_PROTOCOL_VERSION_1)
	    || !tf_agent_id_valid(env->agent_id) || env->sequence > INT64_MAX)
		s_broken("an accepted envelope has a field the decoder should have refused", NULL);
	township = s_township_of(env->agent_id);
	/* The collector stops at a bad signature (or an agent it does not
	 * know).  Random bytes almost never carry a valid one, so the payload
	 * goes on through its decoder and the rules either way: those must
	 * hold against any bytes, signed or not.  Unknown agents are checked
	 * with no township (registry and arithmetic only). */
	(void)tf_envelope_signature_valid(env, s_sign_public);
	if (env->payload_type == TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT) {
		heartbeat = tallyfeed__heartbeat__unpack(NULL, env->payload.len, env->payload.data);
		if (heartbeat != NULL) {
			(void)strlen(heartbeat->software_version);
			tallyfeed__heartbeat__free_unpacked(heartbeat, NULL);
			verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
		}
	} else {
		report = tf_report_unpack(env->payload.data, env->payload.len);
		if (report != NULL) {
			verdict = s_check_report(report, township, &check);
			tf_report_destroy(&report);
		}
	}
	/* As tf_envelope_report refuses a payload that does not decode. */
	if (verdict == TALLYFEED__VERDICT__VERDICT_REJECTED
	    && check.reason == TALLYFEED__REASON__REASON_NONE) {
		check.reason = TALLYFEED__REASON__REASON_MALFORMED_PAYLOAD;
		snprintf(check.detail, sizeof check.detail, "payload does not decode");
	}
	s_answer(data, len, env, verdict, &check);
	tf_envelope_destroy(&env);
}

/* The agent's reading of an answer (daemon/sender.c, agents/forwarder.c). */
static void
s_read_ack(const uint8_t *data, size_t len)
{
	char hex[2 * TF_MESSAGE_ID_LEN + 1], detail[TF_DETAIL_MAX], why[256];
	tf_receipt_fields_t receipt;
	tf_ack_t *ack = tf_ack_decode(data, len);

	if (ack == NULL)
		return;
	if (ack->message_id.len == TF_MESSAGE_ID_LEN)
		tf_message_id_hex(ack->message_id.data, ack->message_id.len, hex);
	(void)tf_verdict_name(ack->verdict);
	(void)tf_reason_name(ack->reason);
	snprintf(detail, sizeof detail, "%s", ack->detail);
	/* forwarder.c s_receipt_taken: the receipt read, then checked
	 * against the collector and against the answer it came with (here,
	 * as if the Ack's own bytes had been sent). */
	if (ack->receipt != NULL && tf_receipt_fields(ack->receipt, &receipt, why, sizeof why) == 0)
		(void)tf_receipt_check_answer(&receipt, &s_seed_collector, ack, data, len, why,
		                              sizeof why);
	tf_ack_destroy(&ack);
}

/* The console's import (console/import.c): the bundle as tf_bundle_read
 * returns it (tf_bundle_decode, within its budget, is what it does past
 * reading the file), then every envelope in it goes to the collector. */
static void
s_import(const uint8_t *data, size_t len)
{
	char err[256];
	tf_bundle_t *bundle = tf_bundle_decode(data, len, err, sizeof err);

	if (bundle == NULL)
		return;
	for (size_t i = 0; i < bundle->n_envelopes; i++)
		s_judge(bundle->envelopes[i].data, bundle->envelopes[i].len);
	tf_bundle_destroy(&bundle);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	s_judge(data, size);
	s_read_ack(data, size);
	s_import(data, size);
	return 0;
}
