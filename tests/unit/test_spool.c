/*
 * test_spool: the agent's durable outbox.  Opening creates the database
 * (and refuses a path it cannot use); enqueueing numbers messages 1, 2, 3
 * with fresh ids and stores envelopes that decode to the same report; the
 * same content is queued once; answers are recorded once and never
 * overwritten; the counts add up; everything survives a close and reopen;
 * two handles on one spool (`submit` beside `run`) see each other's writes;
 * a batch of enqueues is seen by another handle only once committed.
 * Reports come from the shipped examples; each test has its own mkdtemp dir.
 */
#include "testutil.h"

#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "report.h"
#include "rules.h"
#include "spool.h"

#define AGENT "agent-630121100"
#define NREPORTS 3

static const char *const s_examples[NREPORTS] = {
	"villagers.json", "residents.json", "party_branch.json"
};
/* What spool_unanswered calls each example: unit/committee (one in flight each). */
static const char *const s_keys[NREPORTS] = {
	"630121100201/villagers", "630121100001/residents", "630121100201/party_branch"
};

typedef struct {
	char base[64];                  /* mkdtemp directory, removed afterwards */
	char dir[128];                  /* base/spool: created by spool_open */
	char source[NREPORTS][4096];    /* example paths, stored as the message source */
	tf_report_t *reports[NREPORTS];
	uint8_t digests[NREPORTS][32];  /* as the forwarder makes them: SHA-256 of the JSON */
	spool_t *a, *b;                 /* closed by teardown, so a failed test leaks nothing */
} fixture_t;

/* One enqueue's outcome. */
typedef struct {
	int64_t sequence;
	uint8_t id[TF_MESSAGE_ID_LEN];
	bool existed;
} queued_t;

static int
s_teardown(void **state)
{
	fixture_t *fx = *state;

	if (fx == NULL)
		return 0;
	spool_close(&fx->a);
	spool_close(&fx->b);
	for (int i = 0; i < NREPORTS; i++)
		tf_report_destroy(&fx->reports[i]);
	if (fx->base[0] != '\0')
		tf_test_remove_tree(fx->base);
	free(fx);
	return 0;
}

static int
s_setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	char err[1024];

	if (fx == NULL)
		return -1;
	snprintf(fx->base, sizeof fx->base, "/tmp/test_spool.XXXXXX");
	if (mkdtemp(fx->base) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->dir, sizeof fx->dir, "%s/spool", fx->base);
	for (int i = 0; i < NREPORTS; i++) {
		char *json;

		snprintf(fx->source[i], sizeof fx->source[i], "%s/deploy/examples/%s", TF_SOURCE_DIR,
		         s_examples[i]);
		fx->reports[i] = tf_report_from_file(fx->source[i], err, sizeof err);
		if (fx->reports[i] == NULL) {
			print_error("%s\n", err);
			goto fail;
		}
		json = tf_report_to_json(fx->reports[i], 0);
		if (json == NULL)
			goto fail;
		crypto_hash_sha256(fx->digests[i], (const uint8_t *)json, strlen(json));
		free(json);
	}
	*state = fx;
	return 0;
fail:
	/* cmocka runs no teardown when the setup fails. */
	*state = fx;
	s_teardown(state);
	*state = NULL;
	return -1;
}

/* A new spool numbers its messages from the clock (test_first_sequence);
 * the other tests count 1, 2, 3 for readability, so an empty spool is set
 * to start at 1. */
static void
s_number_from_one(const fixture_t *fx)
{
	char path[4096];
	sqlite3 *db;

	snprintf(path, sizeof path, "%s/spool.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 1 WHERE key = 'first_sequence' "
	                                  "AND NOT EXISTS (SELECT 1 FROM message)", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
}

static spool_t *
s_open(const fixture_t *fx)
{
	char err[1024] = "";
	spool_t *spool = spool_open(fx->dir, err, sizeof err);

	if (spool == NULL)
		fail_msg("spool_open %s: %s", fx->dir, err);
	s_number_from_one(fx);
	return spool;
}

/* Queue example i; fail the test on error. */
static queued_t
s_enqueue(fixture_t *fx, spool_t *spool, int i)
{
	queued_t q;
	char err[1024] = "";

	memset(&q, 0, sizeof q);
	if (spool_enqueue(spool, AGENT, NULL, fx->reports[i], fx->source[i], fx->digests[i], &q.sequence,
	                  q.id, &q.existed, err, sizeof err) != 0)
		fail_msg("spool_enqueue %s: %s", s_examples[i], err);
	return q;
}

/* Queue all three examples in order, into q[0..2]. */
static void
s_enqueue_all(fixture_t *fx, spool_t *spool, queued_t *q)
{
	for (int i = 0; i < NREPORTS; i++) {
		q[i] = s_enqueue(fx, spool, i);
		assert_false(q[i].existed);
	}
}

static void
s_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static spool_answer_t
s_answer(const uint8_t *id, spool_state_t state, int reason, const char *detail)
{
	spool_answer_t a;

	memset(&a, 0, sizeof a);
	memcpy(a.message_id, id, TF_MESSAGE_ID_LEN);
	a.state = state;
	a.reason = reason;
	snprintf(a.detail, sizeof a.detail, "%s", detail);
	return a;
}

static void
s_expect_stats(spool_t *spool, int64_t pending, int64_t in_flight, int64_t accepted,
               int64_t rejected, int64_t last_acked)
{
	spool_stats_t st;

	assert_int_equal(spool_stats(spool, &st), 0);
	assert_int_equal(st.pending, pending);
	assert_int_equal(st.in_flight, in_flight);
	assert_int_equal(st.accepted, accepted);
	assert_int_equal(st.rejected, rejected);
	assert_int_equal(st.last_acked_sequence, last_acked);
	if (pending + in_flight == 0)
		assert_int_equal(st.oldest_pending_ms, 0);
	else
		assert_true(st.oldest_pending_ms > 0);
}

/* The unanswered sequences must be exactly want[0..n-1]. */
static void
s_expect_unanswered(spool_t *spool, const int64_t *want, int n)
{
	spool_msg_t *msgs = NULL;
	int got = spool_unanswered(spool, 0, 100, &msgs);

	assert_int_equal(got, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(msgs[i].sequence, want[i]);
	spool_msgs_free(&msgs, (size_t)got);
}

static void
s_expect_state(spool_t *spool, int64_t sequence, spool_state_t want, const char *want_reason,
               const char *want_detail)
{
	spool_state_t st = (spool_state_t)-1;
	char reason[64], detail[TF_DETAIL_MAX];

	assert_int_equal(spool_get(spool, sequence, &st, reason, sizeof reason, detail,
	                           sizeof detail), 0);
	if (st != want)
		fail_msg("message %lld is %s, expected %s", (long long)sequence,
		         spool_state_name(st), spool_state_name(want));
	assert_string_equal(reason, want_reason);
	if (want_detail != NULL)
		assert_string_equal(detail, want_detail);
}

/* spool_foreach's rows, collected. */
#define ROWS_MAX 16
typedef struct {
	int n;
	struct {
		int64_t sequence;
		char source[4096];
		char key[64];
		spool_state_t state;
		int attempts;
		int64_t created_ms;
		bool has_reason;
		char reason[64];
		char detail[TF_DETAIL_MAX];
	} row[ROWS_MAX];
} rows_t;

static void
s_collect(void *arg, int64_t sequence, const char *source, const char *key, spool_state_t state,
          int attempts, int64_t created_ms, const char *reason, const char *detail)
{
	rows_t *rows = arg;

	assert_true(rows->n < ROWS_MAX);
	rows->row[rows->n].sequence = sequence;
	snprintf(rows->row[rows->n].source, sizeof rows->row[0].source, "%s", source);
	snprintf(rows->row[rows->n].key, sizeof rows->row[0].key, "%s", key);
	rows->row[rows->n].state = state;
	rows->row[rows->n].attempts = attempts;
	rows->row[rows->n].created_ms = created_ms;
	rows->row[rows->n].has_reason = reason != NULL;
	snprintf(rows->row[rows->n].reason, sizeof rows->row[0].reason, "%s", reason ? reason : "");
	snprintf(rows->row[rows->n].detail, sizeof rows->row[0].detail, "%s", detail ? detail : "");
	rows->n++;
}

static rows_t *
s_foreach(spool_t *spool, int state)
{
	static rows_t rows;

	memset(&rows, 0, sizeof rows);
	assert_int_equal(spool_foreach(spool, state, s_collect, &rows), 0);
	return &rows;
}

static uint8_t *
s_pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

/* ---- open ---- */

static void
test_open_creates_db(void **state)
{
	fixture_t *fx = *state;
	char path[256];
	struct stat sb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(stat(fx->dir, &sb), -1);       /* not there before */
	fx->a = s_open(fx);
	assert_int_equal(stat(fx->dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	snprintf(path, sizeof path, "%s/spool.db", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));

	/* WAL is a property of the file: a second reader of the database sees it. */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* An empty spool. */
	s_expect_stats(fx->a, 0, 0, 0, 0, 0);
	s_expect_unanswered(fx->a, NULL, 0);

	/* Opening an existing spool directory again is fine. */
	fx->b = s_open(fx);
	spool_close(&fx->b);
	assert_null(fx->b);
	spool_close(&fx->b);                            /* safe on NULL */
}

static void
test_open_refuses_unusable_path(void **state)
{
	fixture_t *fx = *state;
	char file[256], under_file[512], missing[256], err[1024];
	FILE *f;
	spool_t *spool;

	/* A regular file where the directory should be: mkdir says EEXIST, so
	 * it is SQLite that cannot open file/spool.db. */
	snprintf(file, sizeof file, "%s/plain", fx->base);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	memset(err, 0, sizeof err);
	spool = spool_open(file, err, sizeof err);
	assert_null(spool);
	assert_contains(err, file);
	assert_contains(err, "spool.db");

	/* A directory under a regular file: mkdir itself fails. */
	snprintf(under_file, sizeof under_file, "%s/spool", file);
	memset(err, 0, sizeof err);
	spool = spool_open(under_file, err, sizeof err);
	assert_null(spool);
	assert_contains(err, under_file);
	assert_contains(err, strerror(ENOTDIR));

	/* The spool directory is made, its parents are not. */
	snprintf(missing, sizeof missing, "%s/no/such/dir", fx->base);
	memset(err, 0, sizeof err);
	spool = spool_open(missing, err, sizeof err);
	assert_null(spool);
	assert_contains(err, missing);
	assert_contains(err, strerror(ENOENT));

	/* A spool.db that is not a database. */
	assert_int_equal(mkdir(fx->dir, 0750), 0);
	snprintf(file, sizeof file, "%s/spool.db", fx->dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("these are not the bytes of an SQLite database, not by a long way\n", f);
	fclose(f);
	memset(err, 0, sizeof err);
	spool = spool_open(fx->dir, err, sizeof err);
	assert_null(spool);
	assert_contains(err, file);
}

/* ---- enqueue ---- */

static void
test_enqueue_sequences_and_ids(void **state)
{
	fixture_t *fx = *state;
	static const uint8_t zero[TF_MESSAGE_ID_LEN];
	queued_t q[NREPORTS];

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);
	for (int i = 0; i < NREPORTS; i++) {
		assert_int_equal(q[i].sequence, i + 1);
		assert_memory_not_equal(q[i].id, zero, TF_MESSAGE_ID_LEN);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(q[i].id, q[j].id, TF_MESSAGE_ID_LEN);
	}
	s_expect_stats(fx->a, 3, 0, 0, 0, 0);
}

static void
test_envelope_decodes_to_report(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	spool_msg_t *msgs = NULL;
	rows_t *rows;
	int n;

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);
	rows = s_foreach(fx->a, -1);
	assert_int_equal(rows->n, NREPORTS);
	n = spool_unanswered(fx->a, 0, 10, &msgs);
	assert_int_equal(n, NREPORTS);
	for (int i = 0; i < n; i++) {
		tf_envelope_t *env;
		tf_report_t *back;
		tf_check_t why;
		uint8_t *want, *got;
		size_t want_len, got_len;

		assert_non_null(msgs[i].envelope);
		env = tf_envelope_decode(zframe_data(msgs[i].envelope), zframe_size(msgs[i].envelope),
		                         &why, NULL);
		if (env == NULL)
			fail_msg("message %d: %s: %s", i + 1, tf_reason_name(why.reason), why.detail);
		assert_int_equal(env->protocol_version, TF_PROTOCOL_VERSION);
		assert_int_equal(env->sequence, q[i].sequence);
		assert_int_equal(env->message_id.len, TF_MESSAGE_ID_LEN);
		assert_memory_equal(env->message_id.data, q[i].id, TF_MESSAGE_ID_LEN);
		assert_string_equal(env->agent_id, AGENT);
		assert_int_equal(env->payload_type,
		                 TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT);
		assert_true(env->created_unix_ms == rows->row[i].created_ms);

		/* The payload is the report: byte for byte, and field for field. */
		back = tf_report_unpack(env->payload.data, env->payload.len);
		assert_non_null(back);
		want = s_pack(&fx->reports[i]->base, &want_len);
		got = s_pack(&back->base, &got_len);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		assert_string_equal(back->unit_code, fx->reports[i]->unit_code);
		assert_int_equal(back->committee, fx->reports[i]->committee);
		assert_int_equal(back->n_candidates, fx->reports[i]->n_candidates);
		free(want);
		free(got);
		tf_report_destroy(&back);
		tf_envelope_destroy(&env);
	}
	spool_msgs_free(&msgs, (size_t)n);
	assert_null(msgs);
}

static void
test_enqueue_same_content_once(void **state)
{
	fixture_t *fx = *state;
	queued_t first, again, other;
	char err[1024] = "";

	fx->a = s_open(fx);
	first = s_enqueue(fx, fx->a, 0);
	assert_false(first.existed);
	assert_int_equal(first.sequence, 1);

	again = s_enqueue(fx, fx->a, 0);
	assert_true(again.existed);
	assert_int_equal(again.sequence, first.sequence);
	assert_memory_equal(again.id, first.id, TF_MESSAGE_ID_LEN);
	s_expect_stats(fx->a, 1, 0, 0, 0, 0);
	s_expect_unanswered(fx->a, (const int64_t[]){ 1 }, 1);

	/* The content (its digest) decides, not the report handed in. */
	memset(&again, 0, sizeof again);
	assert_int_equal(spool_enqueue(fx->a, AGENT, NULL, fx->reports[1], fx->source[1], fx->digests[0],
	                               &again.sequence, again.id, &again.existed, err, sizeof err),
	                 0);
	assert_true(again.existed);
	assert_int_equal(again.sequence, 1);
	assert_memory_equal(again.id, first.id, TF_MESSAGE_ID_LEN);

	/* Other content is a new message, numbered after the first. */
	other = s_enqueue(fx, fx->a, 1);
	assert_false(other.existed);
	assert_int_equal(other.sequence, 2);
	assert_memory_not_equal(other.id, first.id, TF_MESSAGE_ID_LEN);

	/* Even after the first was answered, its content is not queued again. */
	spool_answer_t a = s_answer(first.id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	again = s_enqueue(fx, fx->a, 0);
	assert_true(again.existed);
	assert_int_equal(again.sequence, 1);
	s_expect_stats(fx->a, 1, 0, 1, 0, 1);
}

/* ---- unanswered ---- */

static void
test_unanswered_order_after_max(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	spool_msg_t *msgs = NULL;
	int n;

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);

	n = spool_unanswered(fx->a, 0, 10, &msgs);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		assert_int_equal(msgs[i].sequence, i + 1);
		assert_memory_equal(msgs[i].message_id, q[i].id, TF_MESSAGE_ID_LEN);
		assert_string_equal(msgs[i].key, s_keys[i]);
		assert_non_null(msgs[i].envelope);
	}
	spool_msgs_free(&msgs, (size_t)n);

	n = spool_unanswered(fx->a, 1, 10, &msgs);      /* after */
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].sequence, 2);
	assert_int_equal(msgs[1].sequence, 3);
	assert_string_equal(msgs[0].key, s_keys[1]);
	spool_msgs_free(&msgs, (size_t)n);

	n = spool_unanswered(fx->a, 0, 2, &msgs);       /* max */
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].sequence, 1);
	assert_int_equal(msgs[1].sequence, 2);
	spool_msgs_free(&msgs, (size_t)n);

	n = spool_unanswered(fx->a, 1, 1, &msgs);       /* both */
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0].sequence, 2);
	spool_msgs_free(&msgs, (size_t)n);

	n = spool_unanswered(fx->a, 3, 10, &msgs);      /* nothing after the last */
	assert_int_equal(n, 0);
	spool_msgs_free(&msgs, (size_t)n);
	assert_null(msgs);

	n = spool_unanswered(fx->a, 0, 0, &msgs);       /* max 0 */
	assert_int_equal(n, 0);
	spool_msgs_free(&msgs, (size_t)n);
}

static void
test_note_sent_pending_to_in_flight(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	const int64_t sent[] = { 1, 3 };
	rows_t *rows;

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);
	s_expect_stats(fx->a, 3, 0, 0, 0, 0);
	assert_int_equal(spool_note_sent(fx->a, sent, 2, tf_now_ms()), 0);
	s_expect_stats(fx->a, 1, 2, 0, 0, 0);
	assert_int_equal(spool_note_sent(fx->a, sent, 1, tf_now_ms()), 0);
	s_expect_stats(fx->a, 1, 2, 0, 0, 0);
	assert_int_equal(spool_note_sent(fx->a, sent, 0, tf_now_ms()), 0);
	rows = s_foreach(fx->a, -1);
	assert_int_equal(rows->n, 3);
	assert_int_equal(rows->row[0].attempts, 2);
	assert_int_equal(rows->row[1].attempts, 0);
	assert_int_equal(rows->row[2].attempts, 1);

	/* Sent is still unanswered: the forwarder sends it again after a restart. */
	s_expect_unanswered(fx->a, (const int64_t[]){ 1, 2, 3 }, 3);
}

/* ---- answers ---- */

static void
test_commit_answers(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	spool_answer_t answers[3];
	rows_t *rows;

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);
	answers[0] = s_answer(q[0].id, SPOOL_ACCEPTED, 0, "");
	answers[1] = s_answer(q[1].id, SPOOL_DUPLICATE, 0, "already stored");
	answers[2] = s_answer(q[2].id, SPOOL_REJECTED, TALLYFEED__REASON__REASON_BALLOT_SUM,
	                      "valid 990 + invalid 11 != returned 1002");
	assert_int_equal(spool_commit_answers(fx->a, answers, 3, tf_now_ms()), 0);

	s_expect_state(fx->a, 1, SPOOL_ACCEPTED, "", NULL);
	s_expect_state(fx->a, 2, SPOOL_DUPLICATE, "", "already stored");
	s_expect_state(fx->a, 3, SPOOL_REJECTED, "BALLOT_SUM",
	               "valid 990 + invalid 11 != returned 1002");
	s_expect_unanswered(fx->a, NULL, 0);
	s_expect_stats(fx->a, 0, 0, 2, 1, 3);

	/* The rejected one, reason and all, for the township staff. */
	rows = s_foreach(fx->a, SPOOL_REJECTED);
	assert_int_equal(rows->n, 1);
	assert_int_equal(rows->row[0].sequence, 3);
	assert_int_equal(rows->row[0].state, SPOOL_REJECTED);
	assert_string_equal(rows->row[0].source, fx->source[2]);
	assert_string_equal(rows->row[0].key, "630121100201/party_branch/r1/v1");
	assert_true(rows->row[0].has_reason);
	assert_string_equal(rows->row[0].reason, "BALLOT_SUM");
	assert_string_equal(rows->row[0].detail, "valid 990 + invalid 11 != returned 1002");

	rows = s_foreach(fx->a, SPOOL_ACCEPTED);
	assert_int_equal(rows->n, 1);
	assert_int_equal(rows->row[0].sequence, 1);
	assert_false(rows->row[0].has_reason);
	rows = s_foreach(fx->a, SPOOL_DUPLICATE);
	assert_int_equal(rows->n, 1);
	assert_int_equal(rows->row[0].sequence, 2);
	rows = s_foreach(fx->a, SPOOL_PENDING);
	assert_int_equal(rows->n, 0);
	rows = s_foreach(fx->a, -1);
	assert_int_equal(rows->n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rows->row[i].sequence, i + 1);
		assert_string_equal(rows->row[i].source, fx->source[i]);
	}

	/* No such message. */
	spool_state_t st;
	char reason[64], detail[TF_DETAIL_MAX];
	assert_int_equal(spool_get(fx->a, 4, &st, reason, sizeof reason, detail, sizeof detail), -1);
}

static void
test_answer_never_overwritten(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	spool_answer_t answers[3];
	uint8_t unknown[TF_MESSAGE_ID_LEN];

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);

	/* Two answers for one id in one batch: the first counts. */
	answers[0] = s_answer(q[2].id, SPOOL_REJECTED, TALLYFEED__REASON__REASON_UNKNOWN_UNIT,
	                      "630121100201 is not in the registry");
	answers[1] = s_answer(q[2].id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, answers, 2, tf_now_ms()), 0);
	s_expect_state(fx->a, 3, SPOOL_REJECTED, "UNKNOWN_UNIT", "630121100201 is not in the registry");

	/* A later answer, in another transaction, changes nothing either. */
	answers[0] = s_answer(q[0].id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, answers, 1, tf_now_ms()), 0);
	answers[0] = s_answer(q[0].id, SPOOL_REJECTED, TALLYFEED__REASON__REASON_BALLOT_SUM, "late");
	answers[1] = s_answer(q[2].id, SPOOL_DUPLICATE, 0, "late");
	assert_int_equal(spool_commit_answers(fx->a, answers, 2, tf_now_ms()), 0);
	s_expect_state(fx->a, 1, SPOOL_ACCEPTED, "", "");
	s_expect_state(fx->a, 3, SPOOL_REJECTED, "UNKNOWN_UNIT", "630121100201 is not in the registry");
	s_expect_stats(fx->a, 1, 0, 1, 1, 3);
	s_expect_unanswered(fx->a, (const int64_t[]){ 2 }, 1);

	/* An answer for a message this spool never had is ignored. */
	memset(unknown, 0x77, sizeof unknown);
	answers[0] = s_answer(unknown, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, answers, 1, tf_now_ms()), 0);
	assert_int_equal(spool_commit_answers(fx->a, answers, 0, tf_now_ms()), 0);
	s_expect_stats(fx->a, 1, 0, 1, 1, 3);
	s_expect_unanswered(fx->a, (const int64_t[]){ 2 }, 1);
}

/* ---- stats ---- */

static void
test_stats(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	spool_stats_t st;
	spool_answer_t a;
	int64_t t0, t1, t2;
	rows_t *rows;

	fx->a = s_open(fx);
	s_expect_stats(fx->a, 0, 0, 0, 0, 0);
	assert_int_equal(spool_stats(fx->a, &st), 0);
	assert_int_equal(st.oldest_pending_ms, 0);

	/* Created times that differ, so "oldest" can only be one of them. */
	t0 = tf_now_ms();
	q[0] = s_enqueue(fx, fx->a, 0);
	t1 = tf_now_ms();
	s_sleep_ms(20);
	t2 = tf_now_ms();
	q[1] = s_enqueue(fx, fx->a, 1);
	s_sleep_ms(20);
	q[2] = s_enqueue(fx, fx->a, 2);
	rows = s_foreach(fx->a, -1);
	assert_int_equal(rows->n, 3);
	assert_true(rows->row[0].created_ms >= t0 && rows->row[0].created_ms <= t1);
	assert_true(rows->row[1].created_ms >= t2);
	assert_true(rows->row[1].created_ms < rows->row[2].created_ms);
	int64_t created[3] = { rows->row[0].created_ms, rows->row[1].created_ms,
	                       rows->row[2].created_ms };

	assert_int_equal(spool_stats(fx->a, &st), 0);
	assert_int_equal(st.pending, 3);
	assert_true(st.oldest_pending_ms == created[0]);

	/* Sent, still unanswered: still the oldest. */
	assert_int_equal(spool_note_sent(fx->a, (const int64_t[]){ 1 }, 1, tf_now_ms()), 0);
	assert_int_equal(spool_stats(fx->a, &st), 0);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.in_flight, 1);
	assert_true(st.oldest_pending_ms == created[0]);

	/* The middle one answered: the oldest stays, last_acked moves. */
	a = s_answer(q[1].id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	assert_int_equal(spool_stats(fx->a, &st), 0);
	assert_true(st.oldest_pending_ms == created[0]);
	assert_int_equal(st.last_acked_sequence, 2);
	assert_int_equal(st.accepted, 1);

	/* The first answered: the oldest unanswered is now the third. */
	a = s_answer(q[0].id, SPOOL_DUPLICATE, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	assert_int_equal(spool_stats(fx->a, &st), 0);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.accepted, 2);
	assert_true(st.oldest_pending_ms == created[2]);
	assert_int_equal(st.last_acked_sequence, 2);

	/* All answered: no oldest. */
	a = s_answer(q[2].id, SPOOL_REJECTED, TALLYFEED__REASON__REASON_PROXY_IN_PARTY, "proxy");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	s_expect_stats(fx->a, 0, 0, 2, 1, 3);
}

/* ---- envelopes for a bundle ---- */

static void
test_unanswered_envelopes(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS];
	spool_msg_t *msgs = NULL;
	spool_answer_t a;
	zlist_t *frames;
	int n;

	fx->a = s_open(fx);
	frames = zlist_new();
	assert_non_null(frames);
	assert_int_equal(spool_unanswered_envelopes(fx->a, frames), 0);
	assert_int_equal(zlist_size(frames), 0);

	s_enqueue_all(fx, fx->a, q);
	a = s_answer(q[1].id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	n = spool_unanswered(fx->a, 0, 10, &msgs);
	assert_int_equal(n, 2);

	assert_int_equal(spool_unanswered_envelopes(fx->a, frames), 0);
	assert_int_equal(zlist_size(frames), 2);
	for (int i = 0; i < n; i++) {
		zframe_t *f = zlist_pop(frames);

		assert_non_null(f);
		assert_true(zframe_eq(f, msgs[i].envelope));
		zframe_destroy(&f);
	}
	assert_int_equal(msgs[0].sequence, 1);
	assert_int_equal(msgs[1].sequence, 3);
	spool_msgs_free(&msgs, (size_t)n);
	zlist_destroy(&frames);
}

/* A damaged (or hostile) spool.db: a row whose message id is not 16
 * bytes, whose envelope is over the frame ceiling, or whose key is too
 * long is refused (logged), never copied; the same content queued again
 * over a damaged row is an error, not an over-read. */
static void
test_damaged_rows_refused(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS], again;
	spool_msg_t *msgs = NULL;
	char path[4096], sql[256], err[1024] = "";
	zlist_t *frames;
	sqlite3 *db;
	int n;

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);
	snprintf(path, sizeof path, "%s/spool.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "UPDATE message SET message_id = x'01' WHERE sequence = 1;"
	         "UPDATE message SET envelope = zeroblob(%d) WHERE sequence = 2;"
	         "UPDATE message SET unit = printf('%%.100c', 'x') WHERE sequence = 3;",
	         TF_MESSAGE_MAX + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	n = spool_unanswered(fx->a, 0, 10, &msgs);
	assert_int_equal(n, 0);
	spool_msgs_free(&msgs, 0);
	/* Asked again (every refill): still refused, logged once. */
	n = spool_unanswered(fx->a, 0, 10, &msgs);
	assert_int_equal(n, 0);
	spool_msgs_free(&msgs, 0);
	frames = zlist_new();
	assert_non_null(frames);
	assert_int_equal(spool_unanswered_envelopes(fx->a, frames), 0);
	assert_int_equal(zlist_size(frames), 2);        /* the oversized one is not exported */
	while (zlist_size(frames) > 0) {
		zframe_t *f = zlist_pop(frames);
		zframe_destroy(&f);
	}
	zlist_destroy(&frames);
	memset(&again, 0, sizeof again);
	assert_int_equal(spool_enqueue(fx->a, AGENT, NULL, fx->reports[0], fx->source[0],
	                               fx->digests[0], &again.sequence, again.id, &again.existed,
	                               err, sizeof err), -1);
	assert_contains(err, "damaged");
}

/* ---- durability and sharing ---- */

static void
test_survives_reopen(void **state)
{
	fixture_t *fx = *state;
	queued_t q[NREPORTS], again;
	spool_msg_t *before = NULL, *after = NULL;
	spool_answer_t a;
	rows_t *rows;
	int nb, na;

	fx->a = s_open(fx);
	s_enqueue_all(fx, fx->a, q);
	assert_int_equal(spool_note_sent(fx->a, (const int64_t[]){ 2, 3 }, 2, tf_now_ms()), 0);
	a = s_answer(q[0].id, SPOOL_REJECTED, TALLYFEED__REASON__REASON_ELECTED_MISMATCH,
	             "C03 is elected by the thresholds");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	nb = spool_unanswered(fx->a, 0, 10, &before);
	assert_int_equal(nb, 2);
	spool_close(&fx->a);
	assert_null(fx->a);

	fx->a = s_open(fx);
	na = spool_unanswered(fx->a, 0, 10, &after);
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++) {
		assert_int_equal(after[i].sequence, before[i].sequence);
		assert_memory_equal(after[i].message_id, before[i].message_id, TF_MESSAGE_ID_LEN);
		assert_memory_equal(after[i].message_id, q[i + 1].id, TF_MESSAGE_ID_LEN);
		assert_string_equal(after[i].key, before[i].key);
		assert_true(zframe_eq(after[i].envelope, before[i].envelope));
	}
	spool_msgs_free(&before, (size_t)nb);
	spool_msgs_free(&after, (size_t)na);
	s_expect_stats(fx->a, 0, 2, 0, 1, 1);
	s_expect_state(fx->a, 1, SPOOL_REJECTED, "ELECTED_MISMATCH", "C03 is elected by the thresholds");
	rows = s_foreach(fx->a, -1);
	assert_int_equal(rows->n, 3);
	assert_int_equal(rows->row[1].attempts, 1);

	/* The same content is still known; new content continues the numbering. */
	again = s_enqueue(fx, fx->a, 1);
	assert_true(again.existed);
	assert_int_equal(again.sequence, 2);
	assert_memory_equal(again.id, q[1].id, TF_MESSAGE_ID_LEN);
	fx->reports[0]->revision = 2;                   /* corrected, resubmitted */
	{
		char *json = tf_report_to_json(fx->reports[0], 0);

		assert_non_null(json);
		crypto_hash_sha256(fx->digests[0], (const uint8_t *)json, strlen(json));
		free(json);
	}
	again = s_enqueue(fx, fx->a, 0);
	assert_false(again.existed);
	assert_int_equal(again.sequence, 4);
}

static void
test_two_handles(void **state)
{
	fixture_t *fx = *state;
	queued_t qa, qb, again;
	spool_msg_t *msgs = NULL;
	spool_answer_t a;
	int n;

	/* `run` holds one handle, `submit` opens another. */
	fx->a = s_open(fx);
	fx->b = s_open(fx);

	qa = s_enqueue(fx, fx->a, 0);
	qb = s_enqueue(fx, fx->b, 1);                   /* sees a's message: numbered after it */
	assert_int_equal(qa.sequence, 1);
	assert_int_equal(qb.sequence, 2);
	again = s_enqueue(fx, fx->b, 0);                /* a's content, through b */
	assert_true(again.existed);
	assert_int_equal(again.sequence, 1);
	assert_memory_equal(again.id, qa.id, TF_MESSAGE_ID_LEN);

	n = spool_unanswered(fx->a, 0, 10, &msgs);      /* a sees b's message */
	assert_int_equal(n, 2);
	assert_int_equal(msgs[1].sequence, 2);
	assert_memory_equal(msgs[1].message_id, qb.id, TF_MESSAGE_ID_LEN);
	assert_string_equal(msgs[1].key, s_keys[1]);
	spool_msgs_free(&msgs, (size_t)n);

	/* The agent records answers; `submit --wait` polls them through its handle. */
	assert_int_equal(spool_note_sent(fx->a, (const int64_t[]){ 1, 2 }, 2, tf_now_ms()), 0);
	s_expect_stats(fx->b, 0, 2, 0, 0, 0);
	a = s_answer(qb.id, SPOOL_REJECTED, TALLYFEED__REASON__REASON_BAD_SEATS, "no seats");
	assert_int_equal(spool_commit_answers(fx->a, &a, 1, tf_now_ms()), 0);
	s_expect_state(fx->b, 2, SPOOL_REJECTED, "BAD_SEATS", "no seats");
	s_expect_state(fx->b, 1, SPOOL_PENDING, "", "");
	a = s_answer(qa.id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->b, &a, 1, tf_now_ms()), 0);
	s_expect_state(fx->a, 1, SPOOL_ACCEPTED, "", "");
	s_expect_stats(fx->a, 0, 0, 1, 1, 2);
	s_expect_stats(fx->b, 0, 0, 1, 1, 2);

	/* Both still write after the other has. */
	qa = s_enqueue(fx, fx->a, 2);
	assert_int_equal(qa.sequence, 3);
	s_expect_unanswered(fx->b, (const int64_t[]){ 3 }, 1);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(spool_state_name(SPOOL_PENDING), "pending");
	assert_string_equal(spool_state_name(SPOOL_ACCEPTED), "accepted");
	assert_string_equal(spool_state_name(SPOOL_DUPLICATE), "duplicate");
	assert_string_equal(spool_state_name(SPOOL_REJECTED), "rejected");
	assert_string_equal(spool_state_name((spool_state_t)99), "unknown");
}

/* A new spool numbers from the clock, in microseconds: a reinstalled agent
 * with an empty spool never reuses a number the collector has stored. */
static void
test_first_sequence(void **state)
{
	fixture_t *fx = *state;
	char err[1024] = "";
	int64_t before = tf_now_ms() * 1000, first, again;
	spool_t *spool = spool_open(fx->dir, err, sizeof err);
	queued_t q;

	assert_non_null(spool);
	first = spool_first_sequence(spool);
	assert_true(first >= before - 1000000);         /* julianday's rounding */
	assert_true(first <= tf_now_ms() * 1000 + 1000000);
	q = s_enqueue(fx, spool, 0);
	assert_int_equal(q.sequence, first);
	q = s_enqueue(fx, spool, 1);
	assert_int_equal(q.sequence, first + 1);
	spool_close(&spool);
	/* Reopened, it goes on from where it was, not from the clock. */
	zclock_sleep(5);
	spool = spool_open(fx->dir, err, sizeof err);
	assert_non_null(spool);
	again = spool_first_sequence(spool);
	assert_int_equal(again, first);
	q = s_enqueue(fx, spool, 2);
	assert_int_equal(q.sequence, first + 2);
	spool_close(&spool);
}

/* spool_generation moves with every change, this handle's or another's,
 * and stands still while nothing changes: the running agent reads the
 * spool again only when it moved.  A handle's statements, prepared once
 * and kept, hold no read open between calls: b sees what a writes after b
 * has read. */
static void
test_generation(void **state)
{
	fixture_t *fx = *state;
	spool_msg_t *msgs = NULL;
	spool_stats_t st;
	spool_answer_t a;
	uint64_t ga, gb;
	queued_t q;
	int n;

	fx->a = s_open(fx);
	fx->b = s_open(fx);
	ga = spool_generation(fx->a);
	gb = spool_generation(fx->b);
	assert_true(spool_generation(fx->a) == ga);     /* reading is no change */
	assert_int_equal(spool_stats(fx->a, &st), 0);
	n = spool_unanswered(fx->b, 0, 10, &msgs);
	assert_int_equal(n, 0);
	spool_msgs_free(&msgs, 0);
	assert_true(spool_generation(fx->a) == ga);
	assert_true(spool_generation(fx->b) == gb);

	q = s_enqueue(fx, fx->b, 0);                    /* another process's write */
	assert_true(spool_generation(fx->a) != ga);
	assert_true(spool_generation(fx->b) != gb);     /* and its own */
	ga = spool_generation(fx->a);
	gb = spool_generation(fx->b);
	s_expect_unanswered(fx->a, (const int64_t[]){ q.sequence }, 1);

	assert_int_equal(spool_note_sent(fx->a, &q.sequence, 1, tf_now_ms()), 0);
	assert_true(spool_generation(fx->a) != ga);
	assert_true(spool_generation(fx->b) != gb);
	ga = spool_generation(fx->a);
	a = s_answer(q.id, SPOOL_ACCEPTED, 0, "");
	assert_int_equal(spool_commit_answers(fx->b, &a, 1, tf_now_ms()), 0);
	assert_true(spool_generation(fx->a) != ga);
	s_expect_stats(fx->a, 0, 0, 1, 0, q.sequence);
	s_expect_unanswered(fx->a, NULL, 0);
}

#define SPOOL_TEST(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)

/* A batch is one transaction: its enqueues number on as usual and know
 * content queued earlier in it, and another handle (what a reader of the
 * disk would find) sees none of it before the commit, all of it after. */
static void
test_batch(void **state)
{
	fixture_t *fx = *state;
	char err[1024] = "";
	queued_t q0, q1, again;

	fx->a = s_open(fx);
	fx->b = spool_open(fx->dir, err, sizeof err);
	assert_non_null(fx->b);
	assert_int_equal(spool_batch_begin(fx->a), 0);
	q0 = s_enqueue(fx, fx->a, 0);
	q1 = s_enqueue(fx, fx->a, 1);
	again = s_enqueue(fx, fx->a, 0);
	assert_false(q0.existed);
	assert_false(q1.existed);
	assert_int_equal(q1.sequence, q0.sequence + 1);
	assert_true(again.existed);
	assert_int_equal(again.sequence, q0.sequence);
	s_expect_stats(fx->b, 0, 0, 0, 0, 0);
	assert_int_equal(spool_batch_commit(fx->a), 0);
	s_expect_stats(fx->b, 2, 0, 0, 0, 0);
	/* Outside a batch, each enqueue is its own commit again. */
	s_enqueue(fx, fx->a, 2);
	s_expect_stats(fx->b, 3, 0, 0, 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SPOOL_TEST(test_open_creates_db),
		SPOOL_TEST(test_open_refuses_unusable_path),
		SPOOL_TEST(test_enqueue_sequences_and_ids),
		SPOOL_TEST(test_envelope_decodes_to_report),
		SPOOL_TEST(test_enqueue_same_content_once),
		SPOOL_TEST(test_unanswered_order_after_max),
		SPOOL_TEST(test_note_sent_pending_to_in_flight),
		SPOOL_TEST(test_commit_answers),
		SPOOL_TEST(test_answer_never_overwritten),
		SPOOL_TEST(test_stats),
		SPOOL_TEST(test_unanswered_envelopes),
		SPOOL_TEST(test_damaged_rows_refused),
		SPOOL_TEST(test_survives_reopen),
		SPOOL_TEST(test_two_handles),
		SPOOL_TEST(test_generation),
		SPOOL_TEST(test_first_sequence),
		SPOOL_TEST(test_batch),
		cmocka_unit_test(test_state_names),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
