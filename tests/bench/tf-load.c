/*
 * tf-load: the benchmark's load generator.  Builds one envelope per result
 * up front, then sends them to a collector either as fast as the collector
 * answers (a window of messages in flight) or at a steady rate, and
 * measures, per message, the time from send to Ack — which the collector
 * sends only after its transaction committed.
 *
 *   tf-load ENDPOINT [OPTIONS] FILE...
 *   tf-load ENDPOINT [OPTIONS] --list PATHS.txt
 *   tf-load ENDPOINT [OPTIONS] --sim REGISTRY_DIR...     (results simulated in memory)
 *   tf-load ENDPOINT [OPTIONS] --frames FRAMES           (envelopes saved by --save)
 *   tf-load - --save FRAMES --sim REGISTRY_DIR...        (build, save, send nothing)
 *   tf-load - --enrol KEYDIR --sim REGISTRY_DIR...       (one agent key per township)
 *
 * Options: --window N, --rate PER_SECOND, --seed N (of --sim, default 1),
 * --share I/K (send only the townships whose code is I modulo K, so K
 * loads share out the agents among K collectors), --start-at MS (start
 * sending at that wall-clock time, ms since the epoch, so that several
 * loads start together).
 *
 * --sim simulates both committees of every unit of each registry directory
 * with the simulator's generator (tests/sim/simgen.c), township by
 * township (its round 1 reports, then its runoffs), each report signed by
 * its township's agent key from TF_AGENT_KEYS.  A national run has 1.2 M results: as files they would be
 * 1.2 M inodes and minutes of parsing, so they never touch the disk as
 * JSON.  --save writes the signed envelopes to one file (a header line,
 * then per envelope its length, its township, its message id and its
 * bytes), which
 * --frames reads back in seconds, so the 1, 2 and 4 collector runs send
 * the same bytes.
 *
 * A DEFERRED answer (a runoff whose round 1 is not committed yet, a
 * stalled writer) is not an answer: the message goes again after 50 ms.
 *
 * Prints one line: load: results=.. accepted=.. duplicate=.. rejected=..
 * unanswered=.. seconds=.. results_per_s=.. p50_ms=.. p99_ms=.. max_ms=..
 * deferred=.. started_ms=.. ended_ms=.. cpu_s=.. (this process's user +
 * system CPU over the timed part, its ZeroMQ threads too: on a small
 * machine the load generator shares the cores with what it measures)
 */
#include "envelope.h"
#include "identity.h"
#include "registry.h"
#include "report.h"
#include "simgen.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define FRAMES_MAGIC "tf-load frames 1\n"
#define FRAME_MAX (1024 * 1024)         /* the collector refuses more than 256 KiB anyway */
#define RETRY_US 50000                  /* a DEFERRED message goes again this much later */

typedef struct {
	zframe_t *frame;
	uint32_t township;              /* digits 1-9 of the township's code */
	uint8_t id[TF_MESSAGE_ID_LEN];  /* its message id, which its Ack names */
	int64_t sent_us;
	int64_t acked_us;
	int verdict;
} load_msg_t;

typedef struct {
	load_msg_t *msgs;
	size_t n, cap;
} load_set_t;

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

static load_msg_t *
s_add(load_set_t *set)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4096;
		load_msg_t *grown = realloc(set->msgs, cap * sizeof *grown);
		if (grown == NULL) {
			fprintf(stderr, "tf-load: out of memory\n");
			exit(1);
		}
		set->msgs = grown;
		set->cap = cap;
	}
	memset(&set->msgs[set->n], 0, sizeof set->msgs[set->n]);
	return &set->msgs[set->n++];
}

static uint32_t
s_township_number(const char *unit_code)
{
	char digits[10];

	memcpy(digits, unit_code, 9);
	digits[9] = '\0';
	return (uint32_t)strtoul(digits, NULL, 10);
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

/* One signed envelope of r, by its township's agent if there is one. */
static void
s_build(load_set_t *set, const tf_report_t *r, uint64_t sequence, zhashx_t *authors,
        tf_identity_t *identity, const char *me)
{
	char township[TF_CODE_LEN + 1];
	load_msg_t *m = s_add(set);

	tf_message_id_new(m->id);
	snprintf(township, sizeof township, "%.9s000", r->unit_code);
	tf_identity_t *author = zhashx_lookup(authors, township);
	m->frame = tf_envelope_build(author ? tf_identity_peer(author)->name : me, sequence, m->id,
	                             tf_now_ms(), TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
	                             &r->base, author ? author : identity);
	m->township = s_township_number(r->unit_code);
}

static int
s_build_files(load_set_t *set, zlist_t *paths, uint64_t first_sequence, zhashx_t *authors,
              tf_identity_t *identity, const char *me)
{
	char err[1024];
	size_t i = 0;

	for (const char *path = zlist_first(paths); path != NULL; path = zlist_next(paths), i++) {
		tf_report_t *r = tf_report_from_file(path, err, sizeof err);

		if (r == NULL) {
			fprintf(stderr, "tf-load: %s\n", err);
			return -1;
		}
		s_build(set, r, first_sequence + i, authors, identity, me);
		tf_report_destroy(&r);
	}
	return 0;
}

/* Both committees of every unit of each registry, township by township:
 * a township's round 1 reports, then its runoffs.  A runoff in the batch
 * of its round 1 is judged with it; one a batch later may find its round
 * 1 not yet committed and be deferred (sent again).  Kept together, each
 * township's results are mostly in one transaction, as a township agent's
 * would be, and its tally (deploy/sql/0009) is computed once, not again
 * for runoffs sent at the end. */
/* qsort has no context argument: the registry being sorted. */
static const tf_registry_t *s_sort_reg;

static int
s_by_township(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(tf_registry_at(s_sort_reg, TF_LEVEL_UNIT, x)->parent,
	               tf_registry_at(s_sort_reg, TF_LEVEL_UNIT, y)->parent);
	return c != 0 ? c : (x > y) - (x < y);
}

static int
s_build_sim(load_set_t *set, zlist_t *registries, uint64_t seed, uint64_t first_sequence,
            zhashx_t *authors, tf_identity_t *identity, const char *me)
{
	static const Tallyfeed__Committee committees[] = {
		TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS, TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS,
		TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH
	};
	uint64_t sequence = first_sequence;
	char err[1024];

	for (const char *dir = zlist_first(registries); dir != NULL; dir = zlist_next(registries)) {
		tf_registry_t *reg = tf_registry_new();
		size_t n;

		if (reg == NULL || tf_registry_load_dir(reg, dir, err, sizeof err) != 0) {
			fprintf(stderr, "tf-load: %s\n", reg ? err : "out of memory");
			tf_registry_destroy(&reg);
			return -1;
		}
		n = tf_registry_size(reg, TF_LEVEL_UNIT);
		sim_unit_t **units = calloc(n + 1, sizeof *units);
		if (units == NULL) {
			fprintf(stderr, "tf-load: out of memory\n");
			tf_registry_destroy(&reg);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			units[i] = sim_unit_new(tf_registry_at(reg, TF_LEVEL_UNIT, i), seed, 1);
		/* Units of a township need not be next to each other in the
		 * file: go through them sorted by township. */
		size_t *order = calloc(n + 1, sizeof *order);
		if (order == NULL) {
			fprintf(stderr, "tf-load: out of memory\n");
			exit(1);
		}
		for (size_t i = 0; i < n; i++)
			order[i] = i;
		s_sort_reg = reg;
		qsort(order, n, sizeof *order, s_by_township);
		for (size_t start = 0, end; start < n; start = end) {
			const char *town = tf_registry_at(reg, TF_LEVEL_UNIT, order[start])->parent;
			for (end = start; end < n
			     && strcmp(tf_registry_at(reg, TF_LEVEL_UNIT, order[end])->parent, town) == 0;
			     end++)
				;
			for (unsigned round = 1; round <= 2; round++)
				for (size_t k = start; k < end; k++)
					for (size_t c = 0; c < sizeof committees / sizeof committees[0]; c++) {
						tf_report_t *r = sim_unit_report(units[order[k]], committees[c], round);
						if (r != NULL)
							s_build(set, r, sequence++, authors, identity, me);
					}
		}
		free(order);
		for (size_t i = 0; i < n; i++)
			sim_unit_destroy(&units[i]);
		free(units);
		tf_registry_destroy(&reg);
	}
	return 0;
}

/* One agent identity per township of each registry, saved in dir as
 * a<TOWNSHIP>.cert and .cert_secret (what `tallyfeed keygen --agent`
 * writes, without a process per key). */
static int
s_enrol(const char *dir, zlist_t *registries)
{
	char err[1024], name[32];
	size_t made = 0;

	for (const char *rdir = zlist_first(registries); rdir != NULL; rdir = zlist_next(registries)) {
		tf_registry_t *reg = tf_registry_new();

		if (reg == NULL || tf_registry_load_dir(reg, rdir, err, sizeof err) != 0) {
			fprintf(stderr, "tf-load: %s\n", reg ? err : "out of memory");
			tf_registry_destroy(&reg);
			return -1;
		}
		for (size_t i = 0; i < tf_registry_size(reg, TF_LEVEL_TOWNSHIP); i++) {
			const char *code = tf_registry_at(reg, TF_LEVEL_TOWNSHIP, i)->code;
			snprintf(name, sizeof name, "a%s", code);
			tf_identity_t *id = tf_identity_generate(TF_ROLE_AGENT, name, code, err, sizeof err);
			if (id == NULL || tf_identity_save(id, dir, err, sizeof err) != 0) {
				fprintf(stderr, "tf-load: %s: %s\n", name, err);
				tf_identity_destroy(&id);
				tf_registry_destroy(&reg);
				return -1;
			}
			tf_identity_destroy(&id);
			made++;
		}
		tf_registry_destroy(&reg);
	}
	printf("enrol: agents=%zu dir=%s\n", made, dir);
	return 0;
}

static void
s_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
s_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
s_save(const load_set_t *set, const char *path)
{
	FILE *fp = fopen(path, "w");
	uint8_t head[8 + TF_MESSAGE_ID_LEN];

	if (fp == NULL) {
		fprintf(stderr, "tf-load: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fputs(FRAMES_MAGIC, fp);
	for (size_t i = 0; i < set->n; i++) {
		s_put32(head, (uint32_t)zframe_size(set->msgs[i].frame));
		s_put32(head + 4, set->msgs[i].township);
		memcpy(head + 8, set->msgs[i].id, TF_MESSAGE_ID_LEN);
		fwrite(head, 1, sizeof head, fp);
		fwrite(zframe_data(set->msgs[i].frame), 1, zframe_size(set->msgs[i].frame), fp);
	}
	if (fclose(fp) != 0) {
		fprintf(stderr, "tf-load: %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("save: envelopes=%zu file=%s\n", set->n, path);
	return 0;
}

/* Frames saved by s_save; only those of this share's townships. */
static int
s_load_frames(load_set_t *set, const char *path, unsigned share, unsigned shares)
{
	FILE *fp = fopen(path, "r");
	char magic[sizeof FRAMES_MAGIC];
	uint8_t head[8 + TF_MESSAGE_ID_LEN], *buf = malloc(FRAME_MAX);
	int rc = -1;

	if (fp == NULL || buf == NULL) {
		fprintf(stderr, "tf-load: %s: %s\n", path, fp ? "out of memory" : strerror(errno));
		goto out;
	}
	if (fread(magic, 1, strlen(FRAMES_MAGIC), fp) != strlen(FRAMES_MAGIC)
	    || memcmp(magic, FRAMES_MAGIC, strlen(FRAMES_MAGIC)) != 0) {
		fprintf(stderr, "tf-load: %s: not a frames file\n", path);
		goto out;
	}
	while (fread(head, 1, sizeof head, fp) == sizeof head) {
		uint32_t len = s_get32(head), township = s_get32(head + 4);

		if (len > FRAME_MAX || fread(buf, 1, len, fp) != len) {
			fprintf(stderr, "tf-load: %s: truncated or corrupt\n", path);
			goto out;
		}
		if (township % shares != share)
			continue;
		load_msg_t *m = s_add(set);
		m->frame = zframe_new(buf, len);
		m->township = township;
		memcpy(m->id, head + 8, TF_MESSAGE_ID_LEN);
	}
	if (ferror(fp)) {
		fprintf(stderr, "tf-load: %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rc;
}

/* Keep only this share's townships (for files and --sim). */
static void
s_keep_share(load_set_t *set, unsigned share, unsigned shares)
{
	size_t k = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (set->msgs[i].township % shares == share)
			set->msgs[k++] = set->msgs[i];
		else
			zframe_destroy(&set->msgs[i].frame);
	}
	set->n = k;
}

/* This process's user + system CPU so far, every thread's. */
static double
s_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
	       + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Send set to endpoint, and wait for every answer or 900 s. */
static int
s_send(load_set_t *set, const char *endpoint, tf_identity_t *identity, const tf_peer_t *server,
       long window, long rate, int64_t start_at_ms)
{
	size_t n = set->n, next = 0, answered = 0, counts[4] = { 0 }, deferred = 0;
	load_msg_t *msgs = set->msgs;
	zhashx_t *index = zhashx_new();
	zlistx_t *retry = zlistx_new();     /* indices + 1, in the order they are due */
	int64_t start, deadline, *lat;
	int in_flight = 0;

	zhashx_set_destructor(index, NULL);
	zhashx_set_duplicator(index, NULL);
	for (size_t i = 0; i < n; i++) {
		char hex[2 * TF_MESSAGE_ID_LEN + 1];
		tf_message_id_hex(msgs[i].id, TF_MESSAGE_ID_LEN, hex);
		zhashx_insert(index, hex, (void *)(uintptr_t)(i + 1));
	}
	zsock_t *dealer = zsock_new(ZMQ_DEALER);
	if (identity != NULL) {
		tf_identity_apply(identity, dealer);
		zsock_set_curve_serverkey(dealer, server->curve_public);
	}
	zsock_set_sndhwm(dealer, 0);
	zsock_set_rcvhwm(dealer, 0);
	zsock_connect(dealer, "%s", endpoint);
	zpoller_t *poller = zpoller_new(dealer, NULL);
	zclock_sleep(200);      /* let the connection come up before the clock starts */
	while (start_at_ms > 0 && zclock_time() < start_at_ms)
		zclock_sleep((int)(start_at_ms - zclock_time() < 100 ? start_at_ms - zclock_time() : 100));

	int64_t started_ms = zclock_time();
	double cpu_start = s_cpu_seconds();
	start = zclock_usecs();
	deadline = start + 900 * 1000000LL;
	while (answered < n && zclock_usecs() < deadline) {
		int64_t now = zclock_usecs();
		int wait_ms = 100;

		/* What was deferred goes first, once due. */
		while (in_flight < window && zlistx_size(retry) > 0) {
			size_t i = (uintptr_t)zlistx_first(retry) - 1;
			if (msgs[i].sent_us + RETRY_US > now) {
				int64_t w = (msgs[i].sent_us + RETRY_US - now) / 1000;
				wait_ms = w < wait_ms ? (int)w : wait_ms;
				break;
			}
			zlistx_delete(retry, zlistx_cursor(retry));
			zframe_t *copy = zframe_dup(msgs[i].frame);
			zframe_send(&copy, dealer, 0);
			in_flight++;
		}
		while (next < n && in_flight < window) {
			if (rate > 0 && now < start + (int64_t)(next * 1000000LL / (size_t)rate)) {
				int64_t due = start + (int64_t)(next * 1000000LL / (size_t)rate);
				/* Rounded up: a wait of 0 would spin a core until the
				 * due time, a core taken from the collector and the
				 * database it measures.  A message goes up to 1 ms late;
				 * its latency counts from when it went. */
				wait_ms = (int)((due - now + 999) / 1000);
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
				in_flight--;
				if (ack->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED) {
					/* sent_us now says when it was deferred: latency
					 * counts from the first send only if never deferred. */
					deferred++;
					msgs[slot - 1].sent_us = zclock_usecs();
					zlistx_add_end(retry, (void *)slot);
				} else {
					msgs[slot - 1].acked_us = zclock_usecs();
					msgs[slot - 1].verdict = ack->verdict;
					counts[ack->verdict & 3]++;
					answered++;
				}
			}
			tf_ack_destroy(&ack);
		}
	}
	double seconds = (double)(zclock_usecs() - start) / 1e6;
	double cpu = s_cpu_seconds() - cpu_start;
	int64_t ended_ms = zclock_time();
	lat = calloc(answered + 1, sizeof *lat);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (msgs[i].acked_us)
			lat[k++] = msgs[i].acked_us - msgs[i].sent_us;
	qsort(lat, k, sizeof *lat, s_compare);
	printf("load: results=%zu accepted=%zu duplicate=%zu rejected=%zu unanswered=%zu "
	       "seconds=%.3f results_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f deferred=%zu "
	       "started_ms=%lld ended_ms=%lld cpu_s=%.3f\n",
	       n, counts[1], counts[2], counts[3], n - answered, seconds, (double)answered / seconds,
	       k ? lat[k / 2] / 1000.0 : 0, k ? lat[k * 99 / 100] / 1000.0 : 0,
	       k ? lat[k - 1] / 1000.0 : 0, deferred, (long long)started_ms, (long long)ended_ms,
	       cpu);
	free(lat);
	zhashx_destroy(&index);
	zlistx_destroy(&retry);
	zpoller_destroy(&poller);
	zsock_destroy(&dealer);
	return answered == n ? 0 : 1;
}

static void
s_usage(void)
{
	fprintf(stderr,
	    "usage: tf-load ENDPOINT [--window N] [--rate PER_SECOND] [--share I/K] [--start-at MS]\n"
	    "               (FILE... | --list PATHS.txt | --sim REGISTRY_DIR... [--seed N] | --frames FILE)\n"
	    "       tf-load - --save FILE --sim REGISTRY_DIR... [--seed N]\n"
	    "       tf-load - --enrol KEYDIR --sim REGISTRY_DIR...\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "list", required_argument, NULL, 'l' },
		{ "sim", no_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' },
		{ "frames", required_argument, NULL, 'F' },
		{ "save", required_argument, NULL, 'W' },
		{ "enrol", required_argument, NULL, 'E' },
		{ "share", required_argument, NULL, 'x' },
		{ "start-at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	long window = 1000, rate = 0;
	const char *list = NULL, *frames = NULL, *save = NULL, *enrol = NULL;
	bool sim = false;
	uint64_t seed = 1;
	unsigned share = 0, shares = 1;
	long long start_at_ms = 0;
	zlist_t *args = zlist_new();
	load_set_t set = { NULL, 0, 0 };
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ch == 'w')
			window = atol(optarg);
		else if (ch == 'r')
			rate = atol(optarg);
		else if (ch == 'l')
			list = optarg;
		else if (ch == 'S')
			sim = true;
		else if (ch == 's')
			seed = strtoull(optarg, NULL, 10);
		else if (ch == 'F')
			frames = optarg;
		else if (ch == 'W')
			save = optarg;
		else if (ch == 'E')
			enrol = optarg;
		else if (ch == 'x') {
			if (sscanf(optarg, "%u/%u", &share, &shares) != 2 || shares == 0 || share >= shares) {
				s_usage();
				return 2;
			}
		} else if (ch == 'a')
			start_at_ms = atoll(optarg);
		else {
			s_usage();
			return 2;
		}
	}
	if (argc - optind < 1 || window < 1 || ((save || enrol) && !sim)) {
		s_usage();
		return 2;
	}
	const char *endpoint = argv[optind++];
	zlist_autofree(args);
	for (int i = optind; i < argc; i++)
		zlist_append(args, argv[i]);
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
				zlist_append(args, line);
		}
		fclose(fp);
	}
	if (enrol != NULL) {
		rc = s_enrol(enrol, args) == 0 ? 0 : 1;
		zlist_destroy(&args);
		return rc;
	}
	if (zlist_size(args) == 0 && frames == NULL) {
		s_usage();
		return 2;
	}
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
	if (frames == NULL && getenv("TF_AGENT_KEYS") != NULL
	    && s_load_authors(getenv("TF_AGENT_KEYS"), authors) != 0)
		goto out;
	/* Sequences from the clock: a second run is not a replay of the first. */
	uint64_t first_sequence = (uint64_t)zclock_time() * 1000;
	if (frames != NULL) {
		if (s_load_frames(&set, frames, share, shares) != 0)
			goto out;
	} else {
		if ((sim ? s_build_sim(&set, args, seed, first_sequence, authors, identity, me)
		         : s_build_files(&set, args, first_sequence, authors, identity, me)) != 0)
			goto out;
		if (save != NULL) {
			rc = s_save(&set, save) == 0 ? 0 : 1;
			goto out;
		}
		s_keep_share(&set, share, shares);
	}
	rc = s_send(&set, endpoint, identity, &server, window, rate, start_at_ms);
out:
	for (size_t i = 0; i < set.n; i++)
		zframe_destroy(&set.msgs[i].frame);
	free(set.msgs);
	zlist_destroy(&args);
	zhashx_destroy(&authors);
	tf_identity_destroy(&identity);
	return rc;
}
