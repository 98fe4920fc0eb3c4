/*
 * fuzz_seed: the seed corpus of fuzz_ingest, from the simulator's result
 * files.  Each JSON file becomes a complete envelope as an agent sends it,
 * signed with the fuzzing key (fuzz_key.h) under the agent id of the
 * unit's township, so that the fuzzer starts from inputs that pass every
 * check up to the rules.  Beside them: heartbeats, envelopes with each of
 * the decoder's faults, acks (each with a receipt signed with the same
 * key), and bundles of envelopes.
 *
 *   fuzz_seed KEYDIR OUTDIR FILE.json...
 *
 * KEYDIR receives the key as a tallyfeed certificate (fuzz-agent.cert and
 * .cert_secret), read back with tf_identity_load so the envelopes are
 * signed by the agent's own code.  The same files and key give the same
 * bytes.  Result files that do not parse (the simulator's "malformed"
 * injection) are counted and skipped.
 */
#include "bundle.h"
#include "envelope.h"
#include "identity.h"
#include "receipt.h"
#include "report.h"

#include "fuzz_key.h"

#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATED_MS INT64_C(1509148800000)      /* 2017-10-28, the sim's election day */
#define BUNDLE_ENVELOPES 6

static int
s_write(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "fuzz_seed: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
s_write_frame(const char *dir, const char *name, zframe_t *frame)
{
	int rc;

	if (frame == NULL) {
		fprintf(stderr, "fuzz_seed: %s: could not build the frame\n", name);
		return -1;
	}
	rc = s_write(dir, name, zframe_data(frame), zframe_size(frame));
	return rc;
}

/* The fuzzing key as a certificate in dir, written once, then read back. */
static tf_identity_t *
s_identity(const char *dir)
{
	uint8_t public[crypto_sign_PUBLICKEYBYTES], secret[crypto_sign_SECRETKEYBYTES];
	char path[4096], hex[2 * crypto_sign_SEEDBYTES + 1], err[512];
	tf_identity_t *identity;
	zcert_t *cert;
	mode_t mask;
	int rc;

	snprintf(path, sizeof path, "%s/fuzz-agent.cert_secret", dir);
	if (access(path, F_OK) != 0) {
		crypto_sign_seed_keypair(public, secret, (const uint8_t *)TF_FUZZ_SIGN_SEED);
		cert = zcert_new();
		if (cert == NULL)
			return NULL;
		zcert_set_meta(cert, "role", "agent");
		zcert_set_meta(cert, "name", "fuzz-agent");
		zcert_set_meta(cert, "township", "632621205000");
		sodium_bin2hex(hex, sizeof hex, public, sizeof public);
		zcert_set_meta(cert, "sign-public", "%s", hex);
		sodium_bin2hex(hex, sizeof hex, (const uint8_t *)TF_FUZZ_SIGN_SEED,
		               crypto_sign_SEEDBYTES);
		zcert_set_meta(cert, "sign-seed", "%s", hex);
		mask = umask(077);
		rc = zcert_save_secret(cert, path);
		umask(mask);
		zcert_destroy(&cert);
		if (rc != 0) {
			fprintf(stderr, "fuzz_seed: could not write %s\n", path);
			return NULL;
		}
	}
	identity = tf_identity_load(path, err, sizeof err);
	if (identity == NULL)
		fprintf(stderr, "fuzz_seed: %s\n", err);
	return identity;
}

/* A message id from the name: the same files give the same bytes. */
static void
s_message_id(const char *name, uint8_t id[TF_MESSAGE_ID_LEN])
{
	uint8_t digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, (const uint8_t *)name, strlen(name));
	memcpy(id, digest, TF_MESSAGE_ID_LEN);
}

/* Re-pack frame's envelope after mutate() has spoiled one field. */
static int
s_write_variant(const char *dir, const char *name, zframe_t *frame,
                void (*mutate)(Tallyfeed__Envelope *env))
{
	Tallyfeed__Envelope *env = tallyfeed__envelope__unpack(NULL, zframe_size(frame),
	                                                       zframe_data(frame));
	uint8_t *bytes;
	size_t len;
	int rc = -1;

	if (env == NULL)
		return -1;
	mutate(env);
	len = tallyfeed__envelope__get_packed_size(env);
	bytes = malloc(len ? len : 1);
	if (bytes != NULL) {
		tallyfeed__envelope__pack(env, bytes);
		rc = s_write(dir, name, bytes, len);
	}
	free(bytes);
	tallyfeed__envelope__free_unpacked(env, NULL);
	return rc;
}

/* The mutators replace what they change with malloc'd copies, which
 * free_unpacked frees as it frees the decoder's own. */
static void
s_set_agent(Tallyfeed__Envelope *env, const char *agent_id)
{
	char *copy = strdup(agent_id);

	if (copy != NULL) {
		free(env->agent_id);
		env->agent_id = copy;
	}
}

static void
s_no_signature(Tallyfeed__Envelope *env)
{
	env->signature.len = 0;
}

static void
s_version_2(Tallyfeed__Envelope *env)
{
	env->protocol_version = 3;      /* the first version no collector speaks */
}

static void
s_short_message_id(Tallyfeed__Envelope *env)
{
	if (env->message_id.len > 0)
		env->message_id.len--;
}

static void
s_type_unknown(Tallyfeed__Envelope *env)
{
	env->payload_type = 7;
}

static void
s_agent_empty(Tallyfeed__Envelope *env)
{
	s_set_agent(env, "");
}

static void
s_agent_spaced(Tallyfeed__Envelope *env)
{
	s_set_agent(env, "agent 632621205000");
}

static void
s_sequence_huge(Tallyfeed__Envelope *env)
{
	env->sequence = UINT64_MAX;
}

static void
s_bad_signature(Tallyfeed__Envelope *env)
{
	if (env->signature.len > 0)
		env->signature.data[0] ^= 1;
}

static const struct {
	const char *name;
	void (*mutate)(Tallyfeed__Envelope *env);
} s_variants[] = {
	{ "unsigned", s_no_signature },        { "version-2", s_version_2 },
	{ "short-id", s_short_message_id },    { "type-7", s_type_unknown },
	{ "agent-empty", s_agent_empty },      { "agent-spaced", s_agent_spaced },
	{ "sequence-huge", s_sequence_huge },  { "bad-signature", s_bad_signature },
};

/* Heartbeats, sound and not; the number written, or -1. */
static int
s_heartbeats(const char *dir, const tf_identity_t *identity)
{
	static const struct {
		const char *name, *version;
		uint32_t depth, age;
		uint64_t acked, uptime;
	} hbs[] = {
		{ "heartbeat-idle", "0.1.0", 0, 0, 120, 86400 },
		{ "heartbeat-backlog", "0.1.0", 250, 7200, 3, 90 },
		{ "heartbeat-limits", "0.1.0-rc1+g0542238", UINT32_MAX, UINT32_MAX, UINT64_MAX,
		  UINT64_MAX },
		{ "heartbeat-long-version", "0.1.0-this-version-string-is-over-32-bytes", 1, 1, 1, 1 },
		{ "heartbeat-empty", "", 0, 0, 0, 0 },
	};
	uint8_t id[TF_MESSAGE_ID_LEN];

	for (size_t i = 0; i < sizeof hbs / sizeof hbs[0]; i++) {
		Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
		zframe_t *frame;
		int rc;

		hb.spool_depth = hbs[i].depth;
		hb.oldest_pending_age_s = hbs[i].age;
		hb.last_acked_sequence = hbs[i].acked;
		hb.software_version = (char *)hbs[i].version;
		hb.uptime_s = hbs[i].uptime;
		s_message_id(hbs[i].name, id);
		frame = tf_envelope_build("agent-632621205000", 1000 + i, id, CREATED_MS,
		                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT, &hb.base,
		                          identity);
		rc = s_write_frame(dir, hbs[i].name, frame);
		zframe_destroy(&frame);
		if (rc != 0)
			return -1;
	}
	return (int)(sizeof hbs / sizeof hbs[0]);
}

/* One Ack per verdict, each with its receipt signed by signer in the name
 * of TF_FUZZ_COLLECTOR (of an envelope of the ack's name's bytes, at a
 * fixed time: the same bytes every run); the number written, or -1. */
static int
s_acks(const char *dir, const tf_identity_t *signer)
{
	static const struct {
		const char *name;
		Tallyfeed__Verdict verdict;
		int reason;
		const char *detail;
	} acks[] = {
		{ "ack-accepted", TALLYFEED__VERDICT__VERDICT_ACCEPTED, 0, "stored" },
		{ "ack-duplicate", TALLYFEED__VERDICT__VERDICT_DUPLICATE, 0,
		  "this message is stored already" },
		{ "ack-rejected", TALLYFEED__VERDICT__VERDICT_REJECTED,
		  TALLYFEED__REASON__REASON_BALLOT_SUM, "valid 790 + invalid 9 != returned 800" },
		{ "ack-deferred", TALLYFEED__VERDICT__VERDICT_DEFERRED,
		  TALLYFEED__REASON__REASON_RATE_LIMITED, "over the limit of 10 messages a second" },
	};
	uint8_t id[TF_MESSAGE_ID_LEN];
	tf_receipt_fields_t receipt;
	tf_receipt_t wire;

	for (size_t i = 0; i < sizeof acks / sizeof acks[0]; i++) {
		zframe_t *frame;
		int rc;

		s_message_id(acks[i].name, id);
		memset(&receipt, 0, sizeof receipt);
		snprintf(receipt.collector, sizeof receipt.collector, "%s", TF_FUZZ_COLLECTOR);
		memcpy(receipt.message_id, id, sizeof id);
		receipt.message_id_len = sizeof id;
		receipt.sequence = 7 + i;
		crypto_hash_sha256(receipt.envelope_sha256, (const uint8_t *)acks[i].name,
		                   strlen(acks[i].name));
		receipt.verdict = acks[i].verdict;
		receipt.reason = acks[i].reason;
		receipt.at_ms = 1780000000000LL;
		if (acks[i].verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED
		    || acks[i].verdict == TALLYFEED__VERDICT__VERDICT_DUPLICATE) {
			snprintf(receipt.chain, sizeof receipt.chain, "seed");
			receipt.link = 1 + (int64_t)i;
			memcpy(receipt.row_hash, receipt.envelope_sha256, TF_HASH_LEN);
		}
		if (tf_receipt_sign(&receipt, signer) != 0)
			return -1;
		tf_receipt_wire(&receipt, &wire);
		frame = tf_ack_build(id, sizeof id, 7 + i, acks[i].verdict, acks[i].reason,
		                     acks[i].detail, &wire);
		rc = s_write_frame(dir, acks[i].name, frame);
		zframe_destroy(&frame);
		if (rc != 0)
			return -1;
	}
	return (int)(sizeof acks / sizeof acks[0]);
}

/* Write the frames collected so far as one bundle; empties the list. */
static int
s_bundle(const char *dir, int n, zlist_t *frames)
{
	char path[4096], err[512];
	zframe_t *frame;
	int rc = 0;

	snprintf(path, sizeof path, "%s/bundle-%02d", dir, n);
	if (tf_bundle_write(path, "agent-632621205000", frames, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_seed: %s\n", err);
		rc = -1;
	}
	while ((frame = zlist_pop(frames)) != NULL)
		zframe_destroy(&frame);
	return rc;
}

int
main(int argc, char **argv)
{
	tf_identity_t *identity = NULL;
	zlist_t *frames = zlist_new();
	int written = 0, skipped = 0, bundles = 0, n, rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: fuzz_seed KEYDIR OUTDIR FILE.json...\n");
		return 2;
	}
	if (frames == NULL || sodium_init() < 0)
		goto out;
	identity = s_identity(argv[1]);
	if (identity == NULL)
		goto out;
	for (int i = 3; i < argc; i++) {
		char err[512], name[4096], agent[TF_AGENT_ID_MAX + 1], *base, *dot;
		uint8_t id[TF_MESSAGE_ID_LEN];
		tf_report_t *report = tf_report_from_file(argv[i], err, sizeof err);
		zframe_t *frame;

		if (report == NULL) {
			skipped++;
			continue;
		}
		/* The unit's township by the coding rule: its first nine digits. */
		snprintf(agent, sizeof agent, "%s%.9s000", TF_FUZZ_AGENT_PREFIX, report->unit_code);
		base = basename(argv[i]);
		snprintf(name, sizeof name, "report-%s", base);
		dot = strrchr(name, '.');
		if (dot != NULL)
			*dot = '\0';
		s_message_id(name, id);
		frame = tf_envelope_build(agent, (uint64_t)i, id, CREATED_MS,
		                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
		                          &report->base, identity);
		tf_report_destroy(&report);
		if (s_write_frame(argv[2], name, frame) != 0) {
			zframe_destroy(&frame);
			goto out;
		}
		written++;
		/* The first report also in each of the decoder's faults. */
		if (i == 3)
			for (size_t v = 0; v < sizeof s_variants / sizeof s_variants[0]; v++) {
				char vname[4200];

				snprintf(vname, sizeof vname, "%s-%s", name, s_variants[v].name);
				if (s_write_variant(argv[2], vname, frame, s_variants[v].mutate) != 0)
					goto out;
				written++;
			}
		zlist_append(frames, frame);
		if (zlist_size(frames) == BUNDLE_ENVELOPES && bundles < 3) {
			if (s_bundle(argv[2], bundles++, frames) != 0)
				goto out;
			written++;
		}
		if (zlist_size(frames) == BUNDLE_ENVELOPES) {
			while ((frame = zlist_pop(frames)) != NULL)
				zframe_destroy(&frame);
		}
	}
	n = s_heartbeats(argv[2], identity);
	if (n < 0)
		goto out;
	written += n;
	n = s_acks(argv[2], identity);
	if (n < 0)
		goto out;
	written += n;
	printf("fuzz_seed: %d seeds in %s (%d unreadable result file(s) skipped)\n", written,
	       argv[2], skipped);
	rc = 0;
out:
	if (frames != NULL) {
		zframe_t *frame;
		while ((frame = zlist_pop(frames)) != NULL)
			zframe_destroy(&frame);
		zlist_destroy(&frames);
	}
	tf_identity_destroy(&identity);
	return rc;
}
