/*
 * tf-receipts: a test tool that makes the receipts a sound collector never
 * gives, so tests can show that the agent and `tallyfeed verify` catch them.
 *
 *   tf-receipts serve BIND ENDPOINT_FILE MODE CURVE_SECRET SIGN_SECRET
 *       a false collector: binds BIND (tcp://127.0.0.1:! for a free port;
 *       the endpoint bound is written to ENDPOINT_FILE), with CURVE_SECRET's CURVE keys (the collector's, so
 *       agents connect), and answers every envelope ACCEPTED, storing
 *       nothing, with a receipt as MODE says, signed by SIGN_SECRET's key in
 *       the collector's name:
 *         none           no receipt at all
 *         sound          a receipt as a collector gives it, naming a chain
 *                        row it never wrote (what verify must catch)
 *         forged         the same (SIGN_SECRET another's key: a forgery)
 *         other-bytes    of another envelope's SHA-256
 *         other-verdict  saying REJECTED (BALLOT_SUM) while the Ack says ACCEPTED
 *         other-message  of another message id
 *       Runs until SIGTERM.  Prints a line per answer.
 *   tf-receipts rewrite IN OUT SIGN_SECRET|- FIELD=VALUE...
 *       IN's receipt with fields changed (link=N, at=MS, message=HEX32,
 *       verdict=ACCEPTED|DUPLICATE|REJECTED|DEFERRED, collector=NAME), signed
 *       again by SIGN_SECRET (or, with -, not: its signature kept as it was).
 */
#include "atomicfile.h"
#include "envelope.h"
#include "identity.h"
#include "receipt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_usage(void)
{
	fprintf(stderr, "usage: tf-receipts serve BIND ENDPOINT_FILE MODE CURVE_SECRET SIGN_SECRET\n"
	                "       tf-receipts rewrite IN OUT SIGN_SECRET|- FIELD=VALUE...\n");
	return 2;
}

/* The answer MODE gives to one frame. */
static zframe_t *
s_answer(const char *mode, const tf_identity_t *curve, const tf_identity_t *signer,
         zframe_t *frame)
{
	tf_envelope_t *env;
	tf_check_t why;
	tf_receipt_fields_t r = { .verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED };
	tf_receipt_t wire;
	zframe_t *ack;

	env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);
	if (env == NULL)
		return NULL;
	memcpy(r.message_id, env->message_id.data, TF_MESSAGE_ID_LEN);
	r.message_id_len = TF_MESSAGE_ID_LEN;
	r.sequence = env->sequence;
	crypto_hash_sha256(r.envelope_sha256, zframe_data(frame), zframe_size(frame));
	snprintf(r.chain, sizeof r.chain, "%s", tf_identity_peer(curve)->name);
	r.link = 1000000 + (int64_t)(env->sequence % 1000000);
	randombytes_buf(r.row_hash, sizeof r.row_hash);
	r.at_ms = tf_now_ms();
	if (strcmp(mode, "other-bytes") == 0)
		r.envelope_sha256[0] ^= 1;
	else if (strcmp(mode, "other-verdict") == 0) {
		r.verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
		r.reason = TALLYFEED__REASON__REASON_BALLOT_SUM;
	}
	else if (strcmp(mode, "other-message") == 0)
		r.message_id[0] ^= 1;
	/* In the collector's name, whoever's key signs it. */
	snprintf(r.collector, sizeof r.collector, "%s", tf_identity_peer(curve)->name);
	tf_receipt_sign(&r, signer);
	tf_receipt_wire(&r, &wire);
	ack = tf_ack_build(env->message_id.data, env->message_id.len, env->sequence,
	                   TALLYFEED__VERDICT__VERDICT_ACCEPTED, 0, "stored",
	                   strcmp(mode, "none") == 0 ? NULL : &wire);
	printf("answered message %llu ACCEPTED with receipt %s\n",
	       (unsigned long long)env->sequence, mode);
	fflush(stdout);
	tf_envelope_destroy(&env);
	return ack;
}

static int
s_serve(int argc, char **argv)
{
	const char *file, *mode;
	tf_identity_t *curve, *signer;
	char err[1024];
	zsock_t *router;
	FILE *fp;

	if (argc != 7)
		return s_usage();
	file = argv[3];
	mode = argv[4];
	if (strcmp(mode, "none") != 0 && strcmp(mode, "sound") != 0 && strcmp(mode, "forged") != 0
	    && strcmp(mode, "other-bytes") != 0 && strcmp(mode, "other-verdict") != 0
	    && strcmp(mode, "other-message") != 0)
		return s_usage();
	if ((curve = tf_identity_load(argv[5], err, sizeof err)) == NULL
	    || (signer = tf_identity_load(argv[6], err, sizeof err)) == NULL) {
		fprintf(stderr, "tf-receipts: %s\n", err);
		return 1;
	}
	router = zsock_new(ZMQ_ROUTER);
	zsock_set_curve_server(router, 1);
	tf_identity_apply(curve, router);
	if (zsock_bind(router, "%s", argv[2]) < 0) {
		fprintf(stderr, "tf-receipts: could not bind\n");
		return 1;
	}
	if ((fp = fopen(file, "w")) == NULL) {
		perror(file);
		return 1;
	}
	fprintf(fp, "%s\n", zsock_last_endpoint(router));
	fclose(fp);
	while (!zsys_interrupted) {
		zmsg_t *msg = zmsg_recv(router);
		zframe_t *reply, *frame, *ack;

		if (msg == NULL)
			break;
		reply = zmsg_pop(msg);
		frame = zmsg_pop(msg);
		ack = frame != NULL ? s_answer(mode, curve, signer, frame) : NULL;
		if (ack != NULL) {
			zframe_send(&reply, router, ZFRAME_MORE);
			zframe_send(&ack, router, 0);
		}
		zframe_destroy(&reply);
		zframe_destroy(&frame);
		zmsg_destroy(&msg);
	}
	zsock_destroy(&router);
	tf_identity_destroy(&curve);
	tf_identity_destroy(&signer);
	return 0;
}

static int
s_rewrite(int argc, char **argv)
{
	tf_receipt_fields_t r;
	tf_identity_t *signer = NULL;
	uint8_t *bytes;
	size_t len;
	char err[1024];
	int rc = 1;

	if (argc < 5)
		return s_usage();
	if (tf_receipt_load(argv[2], &r, err, sizeof err) != 0) {
		fprintf(stderr, "tf-receipts: %s\n", err);
		return 1;
	}
	if (strcmp(argv[4], "-") != 0
	    && (signer = tf_identity_load(argv[4], err, sizeof err)) == NULL) {
		fprintf(stderr, "tf-receipts: %s\n", err);
		return 1;
	}
	for (int i = 5; i < argc; i++) {
		const char *v = strchr(argv[i], '=');

		if (v == NULL)
			return s_usage();
		v++;
		if (strncmp(argv[i], "link=", 5) == 0)
			r.link = atoll(v);
		else if (strncmp(argv[i], "at=", 3) == 0)
			r.at_ms = atoll(v);
		else if (strncmp(argv[i], "message=", 8) == 0)
			sodium_hex2bin(r.message_id, sizeof r.message_id, v, strlen(v), NULL, NULL, NULL);
		else if (strncmp(argv[i], "collector=", 10) == 0)
			snprintf(r.collector, sizeof r.collector, "%s", v);
		else if (strncmp(argv[i], "verdict=", 8) == 0) {
			for (int k = TF_VERDICT_FIRST; k <= TF_VERDICT_LAST; k++)
				if (strcmp(v, tf_verdict_name((Tallyfeed__Verdict)k)) == 0)
					r.verdict = (Tallyfeed__Verdict)k;
		} else
			return s_usage();
	}
	/* Signed by this key, in the name the receipt gives. */
	if (signer != NULL)
		tf_receipt_sign(&r, signer);
	bytes = tf_receipt_pack(&r, &len);
	if (bytes != NULL && tf_atomicfile_write(argv[3], bytes, len, 0644, 0, err, sizeof err) == 0)
		rc = 0;
	else
		fprintf(stderr, "tf-receipts: %s\n", bytes ? err : "out of memory");
	free(bytes);
	tf_identity_destroy(&signer);
	return rc;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return s_serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "rewrite") == 0)
		return s_rewrite(argc, argv);
	return s_usage();
}
