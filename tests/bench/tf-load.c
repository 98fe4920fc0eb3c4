/*
 * tf-load: the benchmark's load generator.  Builds one envelope per result
 * file up front, then sends them to a collector either as fast as the
 * collector answers (a window of messages in flight) or at a steady rate,
 * and measures, per message, the time from send to Ack — which the
 * collector sends only after its transaction committed.
 *
 *   tf-load ENDPOINT [--window N] [--rate PER_SECOND] FILE...
 *   tf-load ENDPOINT [--window N] [--rate PER_SECOND] --list PATHS.txt
 *
 * Prints one line: load: results=.. accepted=.. duplicate=.. rejected=..
 * unanswered=.. seconds=.. results_per_s=.. p50_ms=.. p99_ms=.. max_ms=..
 */
#include "envelope.h"
#include "identity.h"
#include "report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	zframe_t *frame;
	int64_t sent_us;
	int64_t acked_us;
	int verdict;
} load_msg_t;

static int
s_compare(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void
s_identity_free(void **item)
{
	tf_identity_destroy((tf_identity_t **)item);
}

/* Every agent's secret certificate in dir, by township. */
static int
s_load_authors(const char *dir, zhashx_t *authors)
{
	zdir_t *d = zdir_new(dir, NULL);
	zfile_t **files;
	char err[1024];

	if (d == NULL) {
		fprintf(stderr, "tf-load: %s: not a directory\n", dir);
		return -1;
	}
	files = zdir_flatten(d);
	for (size_t i = 0; files[i] != NULL; i++) {
		const char *path = zfile_filename(files[i], NULL);
		size_t len = strlen(path);
		tf_identity_t *id;

		if (len < 12 || strcmp(path + len - 12, ".cert_secret") != 0)
			continue;
		id = tf_identity_load(path, err, sizeof err);
		if (id == NULL) {
			fprintf(stderr, "tf-load: %s\n", err);
			continue;
		}
		if (tf_identity_peer(id)->role == TF_ROLE_AGENT)
			zhashx_update(authors, tf_identity_peer(id)->township, id);
		else
			tf_identity_destroy(&id);
	}
	zdir_flatten_free(&files);
	zdir_destroy(&d);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "list", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	long window = 1000, rate = 0;
	const char *list = NULL;
	zlist_t *paths = zlist_new();
	load_msg_t *msgs;
	zhashx_t *index;
	size_t n, next = 0, answered = 0, counts[4] = { 0 };
	int64_t start, deadline, *lat;
	zsock_t *dealer;
	zpoller_t *poller;
	int ch, in_flight = 0;

	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ch == 'w')
			window = atol(optarg);
		else if (ch == 'r')
			rate = atol(optarg);
		else if (ch == 'l')
			list = optarg;
		else
			return 2;
	}
	if (argc - optind < (list ? 1 : 2) || window < 1) {
		fprintf(stderr, "usage: tf-load ENDPOINT [--window N] [--rate PER_SECOND] FILE...\n");
		return 2;
	}
	const char *endpoint = argv[optind++];
	zlist_autofree(paths);
	for (int i = optind; i < argc; i++)
		zlist_append(paths, argv[i]);
	if (list != NULL) {
		char line[4096];
		FILE *fp = fopen(list, "r");
		if (fp == NULL) {
			perror(list);
			return 1;
		}
		while (fgets(line, sizeof line, fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0])
				zlist_append(paths, line);
		}
		fclose(fp);
	}
	n = zlist_size(paths);
	msgs = calloc(n, sizeof *msgs);
	index = zhashx_new();
	zhashx_set_destructor(index, NULL);
	zhashx_set_duplicator(index, NULL);
	/* TF_KEY and TF_SERVER_CERT: CURVE and signatures, as an agent would. */
	const char *key = getenv("TF_KEY"), *server_cert = getenv("TF_SERVER_CERT");
	tf_identity_t *identity = NULL;
	tf_peer_t server;
	const char *me = "tf-load";
	char kerr[1024];
	if (key != NULL) {
		identity = tf_identity_load(key, kerr, sizeof kerr);
		if (identity == NULL || server_cert == NULL
		    || tf_peer_load(server_cert, &server, kerr, sizeof kerr) != 0) {
			fprintf(stderr, "tf-load: %s\n", identity ? kerr : "TF_KEY needs TF_SERVER_CERT");
			return 1;
		}
		me = tf_identity_peer(identity)->name;
	}
	/* TF_AGENT_KEYS: a directory of agents' NAME.cert_secret files.  Each
	 * report is then signed by its township's agent, as in a bundle an
	 * importer (TF_KEY) carries: the collector checks every signature and
	 * every township, as it would on election night. */
	zhashx_t *authors = zhashx_new();
	zhashx_set_destructor(authors, s_identity_free);
	if (getenv("TF_AGENT_KEYS") != NULL && s_load_authors(getenv("TF_AGENT_KEYS"), authors) != 0)
		return 1;
	/* Sequences from the clock: a second run is not a replay of the first. */
	uint64_t first_sequence = (uint64_t)zclock_time() * 1000;
	const char *path = zlist_first(paths);
	for (size_t i = 0; i < n; i++, path = zlist_next(paths)) {
		char err[1024], hex[2 * TF_MESSAGE_ID_LEN + 1];
		uint8_t id[TF_MESSAGE_ID_LEN];
		tf_report_t *r = tf_report_from_file(path, err, sizeof err);

		if (r == NULL) {
			fprintf(stderr, "tf-load: %s\n", err);
			return 1;
		}
		tf_message_id_new(id);
		char township[13];
		snprintf(township, sizeof township, "%.9s000", r->unit_code);
		tf_identity_t *author = zhashx_lookup(authors, township);
		msgs[i].frame = tf_envelope_build(author ? tf_identity_peer(author)->name : me,
		                                  first_sequence + i, id, tf_now_ms(),
		                                  TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
		                                  &r->base, author ? author : identity);
		tf_report_destroy(&r);
		tf_message_id_hex(id, TF_MESSAGE_ID_LEN, hex);
		zhashx_insert(index, hex, (void *)(uintptr_t)(i + 1));
	}
	dealer = zsock_new(ZMQ_DEALER);
	if (identity != NULL) {
		tf_identity_apply(identity, dealer);
		zsock_set_curve_serverkey(dealer, server.curve_public);
	}
	zsock_connect(dealer, "%s", endpoint);
	zsock_set_sndhwm(dealer, 0);
	zsock_set_rcvhwm(dealer, 0);
	poller = zpoller_new(dealer, NULL);
	zclock_sleep(200);      /* let the connection come up before the clock starts */

	start = zclock_usecs();
	deadline = start + 600 * 1000000LL;
	while (answered < n && zclock_usecs() < deadline) {
		int64_t now = zclock_usecs();
		int wait_ms = 100;

		while (next < n && in_flight < window) {
			if (rate > 0 && now < start + (int64_t)(next * 1000000LL / (size_t)rate)) {
				int64_t due = start + (int64_t)(next * 1000000LL / (size_t)rate);
				wait_ms = (int)((due - now) / 1000);
				break;
			}
			zframe_t *copy = zframe_dup(msgs[next].frame);
			msgs[next].sent_us = zclock_usecs();
			zframe_send(&copy, dealer, 0);
			next++;
			in_flight++;
		}
		if (zpoller_wait(poller, wait_ms < 0 ? 0 : wait_ms) != dealer)
			continue;
		zframe_t *frame;
		while ((frame = zframe_recv_nowait(dealer)) != NULL) {
			tf_ack_t *ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
			zframe_destroy(&frame);
			if (ack == NULL || ack->message_id.len != TF_MESSAGE_ID_LEN) {
				tf_ack_destroy(&ack);
				continue;
			}
			char hex[2 * TF_MESSAGE_ID_LEN + 1];
			tf_message_id_hex(ack->message_id.data, TF_MESSAGE_ID_LEN, hex);
			uintptr_t slot = (uintptr_t)zhashx_lookup(index, hex);
			if (slot != 0 && msgs[slot - 1].acked_us == 0) {
				msgs[slot - 1].acked_us = zclock_usecs();
				msgs[slot - 1].verdict = ack->verdict;
				counts[ack->verdict & 3]++;
				answered++;
				in_flight--;
			}
			tf_ack_destroy(&ack);
		}
	}
	double seconds = (double)(zclock_usecs() - start) / 1e6;
	lat = calloc(answered + 1, sizeof *lat);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (msgs[i].acked_us)
			lat[k++] = msgs[i].acked_us - msgs[i].sent_us;
	qsort(lat, k, sizeof *lat, s_compare);
	printf("load: results=%zu accepted=%zu duplicate=%zu rejected=%zu unanswered=%zu "
	       "seconds=%.3f results_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	       n, counts[1], counts[2], counts[3], n - answered, seconds, (double)answered / seconds,
	       k ? lat[k / 2] / 1000.0 : 0, k ? lat[k * 99 / 100] / 1000.0 : 0,
	       k ? lat[k - 1] / 1000.0 : 0);
	for (size_t i = 0; i < n; i++)
		zframe_destroy(&msgs[i].frame);
	free(msgs);
	free(lat);
	zhashx_destroy(&index);
	zlist_destroy(&paths);
	zpoller_destroy(&poller);
	zsock_destroy(&dealer);
	zhashx_destroy(&authors);
	tf_identity_destroy(&identity);
	return answered == n ? 0 : 1;
}
