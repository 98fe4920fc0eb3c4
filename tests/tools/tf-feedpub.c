/*
 * tf-feedpub: a stand-in for a collector's live feed that drops what it
 * is told to, so a test can see a feed reader notice a gap.  Publishes
 * summaries shaped as collector/feed.c publishes them, with the sequence
 * numbers given: "1 2 5 6" is four summaries with two dropped after the
 * second.  A collector's PUB drops only for a reader too slow to keep up,
 * which no test can arrange in a bounded time; this does it on purpose.
 *
 *   tf-feedpub ENDPOINT_FILE SUBSCRIPTIONS RUN SEQ...
 *
 * Binds an XPUB on tcp://127.0.0.1 (a free port), writes its endpoint to
 * ENDPOINT_FILE, waits (10 s at most) until SUBSCRIPTIONS subscriptions
 * have arrived -- `tallyfeed feed` makes one per verdict, 4 in all -- so
 * nothing is published before the reader listens, then publishes one
 * accepted summary of unit 630121100201 per SEQ, in run RUN, and exits 0.
 * With TF_FEEDPUB_TEXT set, each is a rejection instead, whose unit name
 * and detail are that text (what a reader must print escaped).
 */
#include "config.h"

#include <czmq.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define WAIT_MS 10000
#define SEQS_MAX 1000

int
main(int argc, char **argv)
{
	zsock_t *pub = NULL;
	long subscriptions, run, seq;
	int rc = 1, heard = 0, written;
	FILE *fp;

	if (argc < 5 || tf_parse_long(argv[2], 1, 100, &subscriptions) != 0
	    || tf_parse_long(argv[3], 0, LONG_MAX, &run) != 0 || argc - 4 > SEQS_MAX) {
		fprintf(stderr, "usage: tf-feedpub ENDPOINT_FILE SUBSCRIPTIONS RUN SEQ...\n");
		return 2;
	}
	zsys_handler_set(NULL);
	if ((pub = zsock_new_xpub("tcp://127.0.0.1:*")) == NULL) {
		fprintf(stderr, "tf-feedpub: could not bind\n");
		goto out;
	}
	if ((fp = fopen(argv[1], "w")) == NULL) {
		fprintf(stderr, "tf-feedpub: could not open %s\n", argv[1]);
		goto out;
	}
	written = fprintf(fp, "%s\n", zsock_endpoint(pub)) > 0;
	if (fclose(fp) != 0 || !written) {
		fprintf(stderr, "tf-feedpub: could not write %s\n", argv[1]);
		goto out;
	}
	zsock_set_rcvtimeo(pub, WAIT_MS);
	while (heard < subscriptions) {
		zframe_t *frame = zframe_recv(pub);

		if (frame == NULL) {
			fprintf(stderr, "tf-feedpub: %d of %ld subscriptions in %d ms\n", heard,
			        subscriptions, WAIT_MS);
			goto out;
		}
		if (zframe_size(frame) > 0 && zframe_data(frame)[0] == 1)
			heard++;
		zframe_destroy(&frame);
	}
	const char *odd = getenv("TF_FEEDPUB_TEXT");

	for (int i = 4; i < argc; i++) {
		json_t *body;
		char *text;

		if (tf_parse_long(argv[i], 1, LONG_MAX, &seq) != 0) {
			fprintf(stderr, "tf-feedpub: \"%s\" is not a sequence number\n", argv[i]);
			goto out;
		}
		body = json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:s, s:s,"
		                 " s:i, s:i, s:s}",
		                 "seq", (json_int_t)seq, "run", (json_int_t)run,
		                 "time", "2026-11-25T08:00:00Z", "verdict", odd ? "rejected" : "accepted",
		                 "reason", odd ? "UNKNOWN_UNIT" : NULL, "detail", odd, "agent", "qiaotou",
		                 "unit", "630121100201",
		                 "unit_name", odd ? odd : "元树尔村委会", "township", "630121100000",
		                 "county", "630121000000", "committee", "villagers",
		                 "round", 1, "revision", (int)seq, "message_id", "00");
		text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(body);
		if (text == NULL || zstr_sendx(pub, odd ? "rejected 630121000000"
		                                        : "accepted 630121000000", text, NULL) != 0) {
			free(text);
			fprintf(stderr, "tf-feedpub: could not publish\n");
			goto out;
		}
		free(text);
	}
	rc = 0;
out:
	/* Linger so that what was published reaches the reader before we go. */
	if (pub != NULL)
		zsock_set_linger(pub, 2000);
	zsock_destroy(&pub);
	return rc;
}
