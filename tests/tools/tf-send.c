/*
 * tf-send: a test tool that puts exact bytes on the wire, so integration
 * tests can do what a well-behaved agent never does: send the same
 * envelope twice, send garbage, send a report the agent's own check would
 * have refused.  Prints one line per send: VERDICT REASON DETAIL.
 *
 *   tf-send ENDPOINT report FILE.json [TIMES]   one envelope, sent TIMES times
 *   tf-send ENDPOINT raw FILE                   the file's bytes as one frame
 *   tf-send ENDPOINT batch FILE...              saved envelopes (frames, TF_SEND_SAVE),
 *                                               all sent before any answer is read, so
 *                                               they reach the collector together; an
 *                                               answer line each, in the files' order,
 *                                               beginning with its FILE
 *   tf-send frames DIR FILE.json...             one envelope per report, written to
 *                                               DIR/NAME.frame (NAME: the file's name
 *                                               without .json), sent nowhere
 *   tf-send ENDPOINT heartbeat AGENT DEPTH AGE  a Heartbeat from AGENT
 *   tf-send rewrap IN OUT                       bundle IN again as OUT, each
 *                                               envelope re-wrapped: a new message
 *                                               id, sequence + 1000000, a second
 *                                               later, the agent's signature kept
 *
 * TF_SEND_SAVE=FILE also writes the frame sent to FILE (to send it again
 * later with `raw`); TF_SEND_PROTOCOL=1 makes a report or heartbeat a
 * protocol 1 envelope, only its payload signed, as agents sent before
 * protocol 2; TF_SEND_AHEAD_MS=N dates a heartbeat N ms from now;
 * TF_SEND_MESSAGE_ID=HEX gives a report that message id (another's, to
 * show it is not taken); TF_SEND_RECEIPTS=1 prints each answer's receipt after it ("receipt:
 * VERDICT chain=C link=L at=MS sound", or why not).
 */
#include "bundle.h"
#include "envelope.h"
#include "identity.h"
#include "receipt.h"
#include "report.h"
#include "rules.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static zframe_t *
s_read_raw(const char *path)
{
	FILE *fp = fopen(path, "rb");
	zframe_t *frame = NULL;
	char *buf;
	size_t len;

	if (fp == NULL)
		return NULL;
	buf = malloc(4 * TF_MESSAGE_MAX);
	if (buf != NULL) {
		len = fread(buf, 1, 4 * TF_MESSAGE_MAX, fp);
		frame = zframe_new(buf, len);
		free(buf);
	}
	fclose(fp);
	return frame;
}

/* TF_SEND_RECEIPTS: the receipt of an answer, and whether it is sound. */
static void
s_print_receipt(const tf_ack_t *ack, const tf_peer_t *collector, const zframe_t *sent)
{
	tf_receipt_fields_t f;
	char why[256];

	if (ack->receipt == NULL) {
		printf("receipt: none\n");
		return;
	}
	if (tf_receipt_fields(ack->receipt, &f, why, sizeof why) != 0
	    || tf_receipt_check_answer(&f, collector, ack, zframe_data((zframe_t *)sent),
	                               zframe_size((zframe_t *)sent), why, sizeof why) != 0) {
		printf("receipt: NOT SOUND: %s\n", why);
		return;
	}
	printf("receipt: %s chain=%s link=%lld at=%lld sound\n", tf_verdict_name(f.verdict),
	       f.link > 0 ? f.chain : "-", (long long)f.link, (long long)f.at_ms);
}

/* What an importer holding a bundle could do: the same signed payloads,
 * in envelopes that say other things. */
static int
s_rewrap(const char *in, const char *out)
{
	char err[1024];
	tf_bundle_t *bundle = tf_bundle_read(in, err, sizeof err);
	zlist_t *frames = zlist_new();
	int rc = 1;

	if (bundle == NULL || frames == NULL) {
		fprintf(stderr, "tf-send: %s\n", bundle ? "out of memory" : err);
		goto out;
	}
	for (size_t i = 0; i < bundle->n_envelopes; i++) {
		tf_check_t why;
		tf_envelope_t *env = tf_envelope_decode(bundle->envelopes[i].data,
		                                        bundle->envelopes[i].len, &why, NULL);
		size_t len;
		zframe_t *frame;

		if (env == NULL) {
			fprintf(stderr, "tf-send: envelope %zu: %s\n", i + 1, why.detail);
			goto out;
		}
		tf_message_id_new(env->message_id.data);
		env->sequence += 1000000;
		env->created_unix_ms += 1000;
		len = protobuf_c_message_get_packed_size(&env->base);
		frame = zframe_new(NULL, len);
		protobuf_c_message_pack(&env->base, zframe_data(frame));
		tf_envelope_destroy(&env);
		zlist_append(frames, frame);
	}
	if (tf_bundle_write(out, bundle->agent_id, frames, err, sizeof err) != 0) {
		fprintf(stderr, "tf-send: %s\n", err);
		goto out;
	}
	printf("re-wrapped %zu envelopes\n", bundle->n_envelopes);
	rc = 0;
out:
	if (frames != NULL) {
		zframe_t *frame;
		while ((frame = zlist_pop(frames)) != NULL)
			zframe_destroy(&frame);
	}
	zlist_destroy(&frames);
	tf_bundle_destroy(&bundle);
	return rc;
}

/* The frame as protocol 1: the same envelope, signed over the payload. */
static zframe_t *
s_protocol_1(zframe_t *frame, const tf_identity_t *signer)
{
	uint8_t sig[TF_SIGNATURE_LEN];
	tf_check_t why;
	tf_envelope_t *env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);
	zframe_t *v1 = NULL;

	if (env != NULL) {
		ProtobufCBinaryData original = env->signature;

		env->protocol_version = TF_PROTOCOL_VERSION_1;
		if (signer != NULL) {
			tf_identity_sign(signer, env->payload.data, env->payload.len, sig);
			env->signature.data = sig;
			env->signature.len = sizeof sig;
		}
		v1 = zframe_new(NULL, protobuf_c_message_get_packed_size(&env->base));
		protobuf_c_message_pack(&env->base, zframe_data(v1));
		env->signature = original;      /* the unpacked envelope frees its own */
	}
	zframe_destroy(&frame);
	tf_envelope_destroy(&env);
	return v1;
}

/* tf-send frames: each report in an envelope of its own, saved to send
 * later (as the same message, to one collector or several). */
static int
s_frames(const tf_identity_t *identity, const char *me, const char *dir, int n,
         char *const *files)
{
	uint64_t sequence = (uint64_t)zclock_usecs();
	char err[1024], path[4096];
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++) {
		tf_report_t *report = tf_report_from_file(files[i], err, sizeof err);
		const char *base = strrchr(files[i], '/') != NULL ? strrchr(files[i], '/') + 1
		                                                  : files[i];
		size_t len = strlen(base);
		uint8_t id[TF_MESSAGE_ID_LEN];
		zframe_t *frame;
		FILE *fp;

		if (report == NULL) {
			fprintf(stderr, "tf-send: %s\n", err);
			return 1;
		}
		if (len > 5 && strcmp(base + len - 5, ".json") == 0)
			len -= 5;
		tf_message_id_new(id);
		/* One process, one clock reading: a sequence number each. */
		frame = tf_envelope_build(me, sequence + (uint64_t)i, id, tf_now_ms(),
		                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
		                          &report->base, identity);
		tf_report_destroy(&report);
		snprintf(path, sizeof path, "%s/%.*s.frame", dir, (int)len, base);
		fp = frame != NULL ? fopen(path, "wb") : NULL;
		if (fp == NULL || fwrite(zframe_data(frame), 1, zframe_size(frame), fp)
		                  != zframe_size(frame)) {
			fprintf(stderr, "tf-send: cannot write %s\n", path);
			rc = 1;
		}
		if (fp != NULL && fclose(fp) != 0) {
			fprintf(stderr, "tf-send: cannot write %s\n", path);
			rc = 1;
		}
		zframe_destroy(&frame);
	}
	return rc;
}

/* tf-send ENDPOINT batch FILE...: every frame sent, then every answer
 * read and matched to its frame by message id (a collector answers in the
 * order its transactions commit, not the order sent). */
static int
s_send_many(zsock_t *dealer, const tf_peer_t *server, bool receipts, int n,
            char *const *files)
{
	zframe_t **frames = calloc((size_t)n, sizeof *frames);
	tf_ack_t **acks = calloc((size_t)n, sizeof *acks);
	uint8_t (*ids)[TF_MESSAGE_ID_LEN] = calloc((size_t)n, sizeof *ids);
	int rc = 1, answered = 0;

	if (frames == NULL || acks == NULL || ids == NULL) {
		fprintf(stderr, "tf-send: out of memory\n");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		tf_check_t why;
		tf_envelope_t *env;

		frames[i] = s_read_raw(files[i]);
		env = frames[i] != NULL ? tf_envelope_decode(zframe_data(frames[i]),
		                                             zframe_size(frames[i]), &why, NULL)
		                        : NULL;
		if (env == NULL || env->message_id.len != TF_MESSAGE_ID_LEN) {
			fprintf(stderr, "tf-send: %s is not an envelope with a message id\n", files[i]);
			tf_envelope_destroy(&env);
			goto out;
		}
		memcpy(ids[i], env->message_id.data, TF_MESSAGE_ID_LEN);
		tf_envelope_destroy(&env);
		for (int j = 0; j < i; j++)
			if (memcmp(ids[j], ids[i], TF_MESSAGE_ID_LEN) == 0) {
				fprintf(stderr, "tf-send: %s and %s are one message\n", files[j], files[i]);
				goto out;
			}
	}
	for (int i = 0; i < n; i++) {
		zframe_t *copy = zframe_dup(frames[i]);

		if (zframe_send(&copy, dealer, 0) != 0) {
			fprintf(stderr, "tf-send: could not send %s\n", files[i]);
			zframe_destroy(&copy);
			goto out;
		}
	}
	while (answered < n) {
		zframe_t *reply = zframe_recv(dealer);
		tf_ack_t *ack;
		int i;

		if (reply == NULL)
			break;          /* the rest: NO-ANSWER */
		ack = tf_ack_decode(zframe_data(reply), zframe_size(reply));
		zframe_destroy(&reply);
		for (i = 0; ack != NULL && i < n; i++)
			if (acks[i] == NULL && ack->message_id.len == TF_MESSAGE_ID_LEN
			    && memcmp(ack->message_id.data, ids[i], TF_MESSAGE_ID_LEN) == 0)
				break;
		if (ack == NULL || i == n) {
			printf("BAD-ACK (of no message sent, or answered twice)\n");
			tf_ack_destroy(&ack);
			goto out;
		}
		acks[i] = ack;
		answered++;
	}
	for (int i = 0; i < n; i++) {
		if (acks[i] == NULL) {
			printf("%s NO-ANSWER\n", files[i]);
			continue;
		}
		printf("%s %s %s %s\n", files[i], tf_verdict_name(acks[i]->verdict),
		       tf_reason_name(acks[i]->reason), acks[i]->detail);
		if (receipts) {
			printf("%s ", files[i]);
			s_print_receipt(acks[i], server, frames[i]);
		}
	}
	rc = answered == n ? 0 : 1;
out:
	for (int i = 0; i < n; i++) {
		if (frames != NULL)
			zframe_destroy(&frames[i]);
		if (acks != NULL)
			tf_ack_destroy(&acks[i]);
	}
	free(frames);
	free(acks);
	free(ids);
	return rc;
}

int
main(int argc, char **argv)
{
	zframe_t *frame = NULL;
	zsock_t *dealer;
	tf_identity_t *identity = NULL;
	tf_peer_t server;
	const char *key = getenv("TF_KEY"), *server_cert = getenv("TF_SERVER_CERT");
	const char *me = "tf-send";
	char err[1024];
	int times = 1, rc = 1;

	/* TF_KEY (a NAME.cert_secret) and TF_SERVER_CERT (the collector's
	 * NAME.cert): talk CURVE and sign as NAME.  Without them: plain text,
	 * unsigned, which an enrolled collector refuses. */
	if (key != NULL) {
		bool saving = argc > 1 && strcmp(argv[1], "frames") == 0;     /* talks to no one */

		identity = tf_identity_load(key, err, sizeof err);
		if (identity == NULL || (!saving && server_cert == NULL)
		    || (!saving && tf_peer_load(server_cert, &server, err, sizeof err) != 0)) {
			fprintf(stderr, "tf-send: %s\n", identity ? err : "TF_KEY needs TF_SERVER_CERT");
			tf_identity_destroy(&identity);
			return 1;
		}
		me = tf_identity_peer(identity)->name;
	}

	if (argc == 4 && strcmp(argv[1], "rewrap") == 0)
		return s_rewrap(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "frames") == 0) {
		if (identity == NULL) {
			fprintf(stderr, "tf-send: frames needs TF_KEY (the agent that signs)\n");
			return 2;
		}
		rc = s_frames(identity, me, argv[2], argc - 3, argv + 3);
		tf_identity_destroy(&identity);
		return rc;
	}
	if (argc < 4 || (strcmp(argv[2], "report") != 0 && strcmp(argv[2], "raw") != 0
	                 && strcmp(argv[2], "heartbeat") != 0 && strcmp(argv[2], "batch") != 0)) {
		fprintf(stderr, "usage: tf-send ENDPOINT report FILE.json [TIMES]\n"
		                "       tf-send ENDPOINT raw FILE\n"
		                "       tf-send ENDPOINT batch FILE...\n"
		                "       tf-send frames DIR FILE.json...\n"
		                "       tf-send ENDPOINT heartbeat AGENT DEPTH AGE\n");
		return 2;
	}
	if (strcmp(argv[2], "heartbeat") == 0) {
		Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
		uint8_t id[TF_MESSAGE_ID_LEN];

		if (argc != 6) {
			fprintf(stderr, "tf-send: heartbeat AGENT DEPTH AGE\n");
			return 2;
		}
		hb.spool_depth = (uint32_t)atoi(argv[4]);
		hb.oldest_pending_age_s = (uint32_t)atoi(argv[5]);
		hb.last_acked_sequence = 41;
		hb.software_version = (char *)"tf-send";
		hb.uptime_s = 3600;
		tf_message_id_new(id);
		frame = tf_envelope_build(argv[3], 42, id,
		                          tf_now_ms() + (getenv("TF_SEND_AHEAD_MS") != NULL
		                                         ? atoll(getenv("TF_SEND_AHEAD_MS")) : 0),
		                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT, &hb.base,
		                          identity);
	} else if (strcmp(argv[2], "report") == 0) {
		tf_report_t *report = tf_report_from_file(argv[3], err, sizeof err);
		uint8_t id[TF_MESSAGE_ID_LEN];

		if (report == NULL) {
			fprintf(stderr, "tf-send: %s\n", err);
			return 1;
		}
		tf_message_id_new(id);
		if (getenv("TF_SEND_MESSAGE_ID") != NULL
		    && sodium_hex2bin(id, sizeof id, getenv("TF_SEND_MESSAGE_ID"),
		                      strlen(getenv("TF_SEND_MESSAGE_ID")), NULL, NULL, NULL) != 0) {
			fprintf(stderr, "tf-send: TF_SEND_MESSAGE_ID is not 32 hex digits\n");
			return 2;
		}
		frame = tf_envelope_build(me, (uint64_t)zclock_usecs(), id, tf_now_ms(),
		                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
		                          &report->base, identity);
		tf_report_destroy(&report);
		if (argc > 4)
			times = atoi(argv[4]);
	} else
		frame = s_read_raw(argv[3]);
	if (frame != NULL && strcmp(argv[2], "raw") != 0
	    && strcmp(argv[2], "batch") != 0 && getenv("TF_SEND_PROTOCOL") != NULL
	    && strcmp(getenv("TF_SEND_PROTOCOL"), "1") == 0)
		frame = s_protocol_1(frame, identity);
	if (frame == NULL) {
		fprintf(stderr, "tf-send: cannot read %s\n", argv[3]);
		return 1;
	}
	if (getenv("TF_SEND_SAVE") != NULL) {
		FILE *fp = fopen(getenv("TF_SEND_SAVE"), "wb");

		if (fp == NULL || fwrite(zframe_data(frame), 1, zframe_size(frame), fp)
		                  != zframe_size(frame) || fclose(fp) != 0) {
			fprintf(stderr, "tf-send: cannot write %s\n", getenv("TF_SEND_SAVE"));
			zframe_destroy(&frame);
			return 1;
		}
	}
	dealer = zsock_new(ZMQ_DEALER);
	if (dealer != NULL && identity != NULL) {
		tf_identity_apply(identity, dealer);
		zsock_set_curve_serverkey(dealer, server.curve_public);
	}
	if (dealer == NULL || zsock_connect(dealer, "%s", argv[1]) != 0) {
		fprintf(stderr, "tf-send: cannot connect to %s\n", argv[1]);
		zframe_destroy(&frame);
		return 1;
	}
	zsock_set_rcvtimeo(dealer, 10000);
	if (strcmp(argv[2], "batch") == 0) {
		zframe_destroy(&frame);
		rc = s_send_many(dealer, &server, getenv("TF_SEND_RECEIPTS") != NULL && identity != NULL,
		                 argc - 3, argv + 3);
		goto out;
	}
	for (int i = 0; i < times; i++) {
		zframe_t *copy = zframe_dup(frame), *reply;
		tf_ack_t *ack;

		zframe_send(&copy, dealer, 0);
		reply = zframe_recv(dealer);
		if (reply == NULL) {
			printf("NO-ANSWER\n");
			goto out;
		}
		ack = tf_ack_decode(zframe_data(reply), zframe_size(reply));
		zframe_destroy(&reply);
		if (ack == NULL) {
			printf("BAD-ACK\n");
			goto out;
		}
		printf("%s %s %s\n", tf_verdict_name(ack->verdict), tf_reason_name(ack->reason),
		       ack->detail);
		if (getenv("TF_SEND_RECEIPTS") != NULL && identity != NULL)
			s_print_receipt(ack, &server, frame);
		tf_ack_destroy(&ack);
	}
	rc = 0;
out:
	zframe_destroy(&frame);
	zsock_destroy(&dealer);
	tf_identity_destroy(&identity);
	return rc;
}
