/*
 * spool: the agent's durable outbox in SQLite (see spool.h).
 */
#include "spool.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 10000

/* The statements the running agent repeats, prepared once.  The loop
 * reads the spool several times a second; compiling each statement anew
 * was most of an idle agent's CPU time (perf: sqlite3_prepare_v2 a third
 * of it). */
typedef enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_DATA_VERSION, ST_BY_SOURCE, ST_NEXT_SEQUENCE,
	ST_INSERT, ST_UNANSWERED, ST_NOTE_SENT, ST_ANSWER, ST_RECEIPT, ST_STATS, ST_LATEST_REVISION,
	ST_COUNT
} statement_t;

static const char *const s_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_DATA_VERSION] = "PRAGMA data_version",
	[ST_BY_SOURCE] = "SELECT sequence, message_id FROM message WHERE source_sha256 = ?",
	[ST_NEXT_SEQUENCE] = "SELECT coalesce(max(sequence), "
	                     "(SELECT value FROM meta WHERE key = 'first_sequence') - 1) + 1 "
	                     "FROM message",
	[ST_INSERT] = "INSERT INTO message (sequence, message_id, source, source_sha256, unit, "
	              "committee, round, revision, envelope, created_ms) "
	              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_UNANSWERED] = "SELECT sequence, message_id, unit || '/' || committee, envelope "
	                  "FROM message WHERE state = 0 AND sequence > ? ORDER BY sequence LIMIT ?",
	[ST_NOTE_SENT] = "UPDATE message SET attempts = attempts + 1, last_sent_ms = ? "
	                 "WHERE sequence = ?",
	/* state = 0: an answer never overwrites an earlier one. */
	[ST_ANSWER] = "UPDATE message SET state = ?, reason = ?, detail = ?, answered_ms = ? "
	              "WHERE message_id = ? AND state = 0",
	[ST_RECEIPT] = "INSERT OR IGNORE INTO receipt (message_id, taken_ms, verdict, receipt) "
	               "VALUES (?, ?, ?, ?)",
	[ST_STATS] = "SELECT count(*) FILTER (WHERE state = 0 AND attempts = 0),"
	             "       count(*) FILTER (WHERE state = 0 AND attempts > 0),"
	             "       count(*) FILTER (WHERE state IN (1, 2)),"
	             "       count(*) FILTER (WHERE state = 3),"
	             "       coalesce(min(created_ms) FILTER (WHERE state = 0), 0),"
	             "       coalesce(max(sequence) FILTER (WHERE state IN (1, 2, 3)), 0) "
	             "FROM message",
	[ST_LATEST_REVISION] = "SELECT revision, source_sha256, state FROM message "
	                       "WHERE unit = ? AND committee = ? AND round = ? "
	                       "ORDER BY revision DESC, sequence DESC LIMIT 1",
};

struct _spool_t {
	sqlite3 *db;
	sqlite3_stmt *statements[ST_COUNT];     /* prepared at first use, by s_statement */
	zhashx_t *bad_rows;     /* sequences of damaged rows already logged -> 1 */
	bool batch;             /* spool_batch_begin's transaction is open */
};

/* The prepared statement, ready to bind; give it back with s_done, which
 * resets it: a statement left mid-way holds its read transaction open
 * (the agent would not see what `submit` adds, and the WAL could not be
 * checkpointed).  NULL, logged, if it cannot be prepared. */
static sqlite3_stmt *
s_statement(spool_t *self, statement_t which)
{
	assert(which < ST_COUNT);
	if (self->statements[which] == NULL
	    && sqlite3_prepare_v3(self->db, s_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
	                          &self->statements[which], NULL) != SQLITE_OK) {
		log_warnx("spool: %s: %s", s_sql[which], sqlite3_errmsg(self->db));
		self->statements[which] = NULL;
	}
	return self->statements[which];
}

static void
s_done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* BEGIN IMMEDIATE, COMMIT or ROLLBACK.  0, or -1 (logged). */
static int
s_step(spool_t *self, statement_t which)
{
	sqlite3_stmt *st = s_statement(self, which);
	int rc = 0;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("spool: %s: %s", s_sql[which], sqlite3_errmsg(self->db));
		rc = -1;
	}
	s_done(st);
	return rc;
}

/* A stored row whose bytes are not what the spool wrote (a damaged or
 * hostile spool.db): refused, and said once, not at every refill. */
static void
s_bad_row(spool_t *self, int64_t sequence, const char *what)
{
	char key[32];

	snprintf(key, sizeof key, "%lld", (long long)sequence);
	if (self->bad_rows != NULL && zhashx_lookup(self->bad_rows, key) != NULL)
		return;
	log_warnx("spool: message %lld refused: %s (spool.db is damaged; the row is left as it is)",
	          (long long)sequence, what);
	if (self->bad_rows != NULL)
		zhashx_update(self->bad_rows, key, (void *)1);
}

/* Is the stored envelope blob of column col a size the spool could have written? */
static bool
s_envelope_sound(spool_t *self, sqlite3_stmt *st, int col, int64_t sequence)
{
	int len = sqlite3_column_bytes(st, col);
	char what[96];

	if (len > 0 && len <= TF_MESSAGE_MAX && sqlite3_column_blob(st, col) != NULL)
		return true;
	snprintf(what, sizeof what, "its stored envelope is %d bytes (1 to %d)", len,
	         TF_MESSAGE_MAX);
	s_bad_row(self, sequence, what);
	return false;
}

/* Is the stored message id of column col 16 bytes? */
static bool
s_message_id_sound(spool_t *self, sqlite3_stmt *st, int col, int64_t sequence)
{
	char what[96];

	if (sqlite3_column_bytes(st, col) == TF_MESSAGE_ID_LEN && sqlite3_column_blob(st, col) != NULL)
		return true;
	snprintf(what, sizeof what, "its stored message id is %d bytes, not %d",
	         sqlite3_column_bytes(st, col), TF_MESSAGE_ID_LEN);
	s_bad_row(self, sequence, what);
	return false;
}

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS message ("
    "  sequence INTEGER PRIMARY KEY,"           /* per-agent, first, first + 1, ... */
    "  message_id BLOB NOT NULL UNIQUE,"
    "  source TEXT NOT NULL,"                   /* the file it came from */
    "  source_sha256 BLOB NOT NULL UNIQUE,"     /* the same file is queued once */
    "  unit TEXT NOT NULL, committee TEXT NOT NULL, round INTEGER NOT NULL,"
    "  revision INTEGER NOT NULL,"
    "  envelope BLOB NOT NULL,"                 /* the exact bytes sent, every time */
    "  created_ms INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"       /* spool_state_t */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_sent_ms INTEGER,"
    "  answered_ms INTEGER,"
    "  reason TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS message_unanswered ON message (sequence) WHERE state = 0;"
    /* Every receipt that came with an answer the agent took, as the
     * collector signed it (receipt.h): what the township can show. */
    "CREATE TABLE IF NOT EXISTS receipt ("
    "  message_id BLOB NOT NULL REFERENCES message (message_id),"
    "  taken_ms INTEGER NOT NULL,"              /* when the agent checked and kept it */
    "  verdict TEXT NOT NULL,"
    "  receipt BLOB NOT NULL,"                  /* a serialized Receipt */
    "  UNIQUE (message_id, receipt));"
    /* A new spool numbers from the clock (microseconds), not from 1: an
     * agent reinstalled with an empty spool must not reuse a sequence
     * number the collector has stored, which it would refuse as a replay. */
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES ('first_sequence', "
    "  CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));";

const char *
spool_state_name(spool_state_t state)
{
	switch (state) {
	case SPOOL_PENDING:
		return "pending";
	case SPOOL_ACCEPTED:
		return "accepted";
	case SPOOL_DUPLICATE:
		return "duplicate";
	case SPOOL_REJECTED:
		return "rejected";
	}
	return "unknown";
}

static int
s_exec(spool_t *self, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("spool: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* WAL mode, FULL sync, and the schema under BEGIN IMMEDIATE.  Two programs
 * opening a new spool at the same instant (`run` and `submit`) contend
 * for the switch to WAL, and SQLite does not always wait for that lock
 * through the busy handler; one was seen failing "database is locked"
 * under load.  So the whole sequence is tried again, within the busy
 * timeout, while the answer is BUSY or LOCKED.  0, or -1 with *msg. */
static int
s_prepare(sqlite3 *db, char **msg)
{
	static const char *const steps[] = {
		"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "BEGIN IMMEDIATE", s_schema,
		"COMMIT"
	};

	for (int waited = 0;; waited += 10) {
		int rc = SQLITE_OK;

		for (size_t i = 0; i < sizeof steps / sizeof steps[0] && rc == SQLITE_OK; i++) {
			sqlite3_free(*msg);
			*msg = NULL;
			rc = sqlite3_exec(db, steps[i], NULL, NULL, msg);
		}
		if (rc == SQLITE_OK)
			return 0;
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= BUSY_TIMEOUT_MS)
			return -1;
		sqlite3_sleep(10);
	}
}

spool_t *
spool_open(const char *dir, char *err, size_t errlen)
{
	spool_t *self = calloc(1, sizeof *self);
	char path[4096], *msg = NULL;

	if (self == NULL || (self->bad_rows = zhashx_new()) == NULL) {
		free(self);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	zhashx_set_destructor(self->bad_rows, NULL);
	zhashx_set_duplicator(self->bad_rows, NULL);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "spool directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof path, "%s/spool.db", dir);
	if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
	    != SQLITE_OK) {
		snprintf(err, errlen, "spool %s: %s", path,
		         self->db ? sqlite3_errmsg(self->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(self->db, BUSY_TIMEOUT_MS);
	/* WAL: the running agent reads while `submit` writes.  FULL: a commit
	 * is on disk, not just in the OS, before we say "queued".  The schema
	 * (and the first sequence number it records) is written under BEGIN
	 * IMMEDIATE: `run` and `submit` opening a new spool at the same
	 * instant then wait for each other instead of one failing "database
	 * is locked" on a lock upgrade (s_prepare). */
	if (s_prepare(self->db, &msg) != 0) {
		snprintf(err, errlen, "spool %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	return self;
fail:
	spool_close(&self);
	return NULL;
}

int64_t
spool_first_sequence(spool_t *self)
{
	sqlite3_stmt *st = NULL;
	int64_t first = -1;

	if (sqlite3_prepare_v2(self->db, "SELECT value FROM meta WHERE key = 'first_sequence'", -1,
	                       &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return first;
}

void
spool_close(spool_t **self_p)
{
	assert(self_p != NULL);
	if (*self_p == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize((*self_p)->statements[i]);
	sqlite3_close((*self_p)->db);
	zhashx_destroy(&(*self_p)->bad_rows);
	free(*self_p);
	*self_p = NULL;
}

int
spool_content_sha256(const tf_report_t *report, uint8_t digest[32])
{
	char *json;

	assert(report != NULL && digest != NULL);
	json = tf_report_to_json(report, 0);
	if (json == NULL)
		return -1;
	crypto_hash_sha256(digest, (const uint8_t *)json, strlen(json));
	free(json);
	return 0;
}

int
spool_enqueue(spool_t *self, const char *agent_id, const tf_identity_t *signer,
              const tf_report_t *report,
              const char *source, const uint8_t source_sha256[32], int64_t *sequence,
              uint8_t message_id[TF_MESSAGE_ID_LEN], bool *existed, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	zframe_t *frame = NULL;
	int64_t now = tf_now_ms();
	int rc = -1;

	*existed = false;
	/* An error SQLite answered by rolling the whole transaction back (a
	 * full disk, say) has undone the batch so far: nothing more goes in
	 * it, and its commit fails. */
	if (self->batch && sqlite3_get_autocommit(self->db)) {
		snprintf(err, errlen, "spool: the batch was rolled back");
		return -1;
	}
	/* IMMEDIATE: take the write lock now, so the sequence we read is the
	 * one we write.  In a batch the lock is held: a savepoint, so that a
	 * report that fails leaves the others. */
	if ((self->batch ? s_exec(self, "SAVEPOINT enqueue") : s_step(self, ST_BEGIN)) != 0) {
		snprintf(err, errlen, "spool is busy or unwritable");
		return -1;
	}
	if ((st = s_statement(self, ST_BY_SOURCE)) == NULL) {
		snprintf(err, errlen, "spool: %s", sqlite3_errmsg(self->db));
		goto out;
	}
	sqlite3_bind_blob(st, 1, source_sha256, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*sequence = sqlite3_column_int64(st, 0);
		if (!s_message_id_sound(self, st, 1, *sequence)) {
			snprintf(err, errlen, "spool: message %lld, queued before from the same "
			         "content, is damaged (its message id is %d bytes)", (long long)*sequence,
			         sqlite3_column_bytes(st, 1));
			goto out;
		}
		memcpy(message_id, sqlite3_column_blob(st, 1), TF_MESSAGE_ID_LEN);
		*existed = true;
		rc = 0;
		goto out;
	}
	s_done(st);
	if ((st = s_statement(self, ST_NEXT_SEQUENCE)) == NULL || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "spool: %s", sqlite3_errmsg(self->db));
		goto out;
	}
	*sequence = sqlite3_column_int64(st, 0);
	s_done(st);
	st = NULL;

	tf_message_id_new(message_id);
	frame = tf_envelope_build(agent_id, (uint64_t)*sequence, message_id, now,
	                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT, &report->base, signer);
	if (frame == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((st = s_statement(self, ST_INSERT)) == NULL) {
		snprintf(err, errlen, "spool: %s", sqlite3_errmsg(self->db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, *sequence);
	sqlite3_bind_blob(st, 2, message_id, TF_MESSAGE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, source_sha256, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, report->unit_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, tf_committee_word(report->committee), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, (int)report->round);
	sqlite3_bind_int(st, 8, (int)report->revision);
	sqlite3_bind_blob(st, 9, zframe_data(frame), (int)zframe_size(frame), SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(err, errlen, "spool: %s", sqlite3_errmsg(self->db));
		goto out;
	}
	rc = 0;
out:
	s_done(st);
	zframe_destroy(&frame);
	if (self->batch) {
		if (rc != 0)
			s_exec(self, "ROLLBACK TO enqueue");
		s_exec(self, "RELEASE enqueue");
		return rc;
	}
	if (rc == 0 && s_step(self, ST_COMMIT) != 0) {
		snprintf(err, errlen, "spool: commit failed: %s", sqlite3_errmsg(self->db));
		rc = -1;
	}
	if (rc != 0)
		s_step(self, ST_ROLLBACK);
	return rc;
}

int
spool_batch_begin(spool_t *self)
{
	assert(self != NULL && !self->batch);
	if (s_step(self, ST_BEGIN) != 0)
		return -1;
	self->batch = true;
	return 0;
}

int
spool_batch_commit(spool_t *self)
{
	int rc = 0;

	assert(self != NULL && self->batch);
	self->batch = false;
	if (sqlite3_get_autocommit(self->db)) {
		log_warnx("spool: a batch was rolled back before its commit");
		return -1;
	}
	if (s_step(self, ST_COMMIT) != 0) {
		s_step(self, ST_ROLLBACK);
		rc = -1;
	}
	return rc;
}

void
spool_batch_abort(spool_t *self)
{
	assert(self != NULL && self->batch);
	self->batch = false;
	/* A batch SQLite rolled back itself has nothing left to undo. */
	if (!sqlite3_get_autocommit(self->db))
		s_step(self, ST_ROLLBACK);
}

int
spool_latest_revision(spool_t *self, const char *unit, const char *committee, unsigned round,
                      unsigned *revision, uint8_t sha256[32], spool_state_t *state)
{
	sqlite3_stmt *st;
	int rc = -1, step;

	assert(self != NULL && unit != NULL && committee != NULL && revision != NULL);
	assert(sha256 != NULL && state != NULL);
	*revision = 0;
	if ((st = s_statement(self, ST_LATEST_REVISION)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, committee, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, round);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32
	         && sqlite3_column_int64(st, 0) > 0 && sqlite3_column_int64(st, 0) <= UINT32_MAX) {
		*revision = (unsigned)sqlite3_column_int64(st, 0);
		memcpy(sha256, sqlite3_column_blob(st, 1), 32);
		*state = (spool_state_t)sqlite3_column_int(st, 2);
		rc = 0;
	} else
		log_warnx("spool: latest revision of %s/%s/r%u: %s", unit, committee, round,
		          step == SQLITE_ROW ? "a damaged row" : sqlite3_errmsg(self->db));
	s_done(st);
	return rc;
}

int
spool_unanswered(spool_t *self, int64_t after, size_t max, spool_msg_t **msgs)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	*msgs = calloc(max ? max : 1, sizeof **msgs);
	if (*msgs == NULL)
		return -1;
	if ((st = s_statement(self, ST_UNANSWERED)) == NULL) {
		free(*msgs);
		*msgs = NULL;
		return -1;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		spool_msg_t *m = &(*msgs)[n];

		m->sequence = sqlite3_column_int64(st, 0);
		/* Every length checked before a byte is copied. */
		if (!s_message_id_sound(self, st, 1, m->sequence)
		    || !s_envelope_sound(self, st, 3, m->sequence))
			continue;
		if (sqlite3_column_text(st, 2) == NULL
		    || (size_t)sqlite3_column_bytes(st, 2) >= sizeof m->key) {
			s_bad_row(self, m->sequence, "its stored unit/committee is too long");
			continue;
		}
		memcpy(m->message_id, sqlite3_column_blob(st, 1), TF_MESSAGE_ID_LEN);
		snprintf(m->key, sizeof m->key, "%s", (const char *)sqlite3_column_text(st, 2));
		m->envelope = zframe_new(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
		if (m->envelope == NULL)
			break;
		n++;
	}
	s_done(st);
	return (int)n;
}

void
spool_msgs_free(spool_msg_t **msgs, size_t count)
{
	if (*msgs == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		zframe_destroy(&(*msgs)[i].envelope);
	free(*msgs);
	*msgs = NULL;
}

int
spool_note_sent(spool_t *self, const int64_t *sequences, size_t count, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (count == 0)
		return 0;
	if (s_step(self, ST_BEGIN) != 0)
		return -1;
	if ((st = s_statement(self, ST_NOTE_SENT)) == NULL)
		rc = -1;
	for (size_t i = 0; i < count && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, now_ms);
		sqlite3_bind_int64(st, 2, sequences[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(st);
	}
	s_done(st);
	if (rc == 0)
		rc = s_step(self, ST_COMMIT);
	if (rc != 0)
		s_step(self, ST_ROLLBACK);
	return rc;
}

/* Within the answers' transaction: keep an answer's receipt. */
static int
s_keep_receipt(spool_t *self, const spool_answer_t *a, int64_t now_ms)
{
	sqlite3_stmt *st = s_statement(self, ST_RECEIPT);
	uint8_t *bytes;
	size_t len;
	int rc = -1;

	if (st == NULL)
		return -1;
	if ((bytes = tf_receipt_pack(&a->receipt, &len)) == NULL)
		goto out;
	sqlite3_bind_blob(st, 1, a->message_id, TF_MESSAGE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_text(st, 3, tf_verdict_name(a->receipt.verdict), -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, bytes, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
out:
	s_done(st);
	free(bytes);
	return rc;
}

int
spool_commit_answers(spool_t *self, const spool_answer_t *answers, size_t count, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (count == 0)
		return 0;
	if (s_step(self, ST_BEGIN) != 0)
		return -1;
	if ((st = s_statement(self, ST_ANSWER)) == NULL)
		rc = -1;
	for (size_t i = 0; i < count && rc == 0; i++) {
		const spool_answer_t *a = &answers[i];

		sqlite3_bind_int(st, 1, a->state);
		if (a->state == SPOOL_REJECTED)
			sqlite3_bind_text(st, 2, tf_reason_name(a->reason), -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 2);
		sqlite3_bind_text(st, 3, a->detail, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now_ms);
		sqlite3_bind_blob(st, 5, a->message_id, TF_MESSAGE_ID_LEN, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(st);
		/* The receipt of an answer recorded, not of one the spool had. */
		if (rc == 0 && a->has_receipt && sqlite3_changes(self->db) == 1)
			rc = s_keep_receipt(self, a, now_ms);
	}
	s_done(st);
	if (rc == 0)
		rc = s_step(self, ST_COMMIT);
	if (rc != 0) {
		log_warnx("spool: could not record answers: %s", sqlite3_errmsg(self->db));
		s_step(self, ST_ROLLBACK);
	}
	return rc;
}

int
spool_stats(spool_t *self, spool_stats_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if ((st = s_statement(self, ST_STATS)) == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	out->pending = sqlite3_column_int64(st, 0);
	out->in_flight = sqlite3_column_int64(st, 1);
	out->accepted = sqlite3_column_int64(st, 2);
	out->rejected = sqlite3_column_int64(st, 3);
	out->oldest_pending_ms = sqlite3_column_int64(st, 4);
	out->last_acked_sequence = sqlite3_column_int64(st, 5);
	rc = 0;
out:
	if (rc != 0)
		log_warnx("spool: %s", sqlite3_errmsg(self->db));
	s_done(st);
	return rc;
}

uint64_t
spool_generation(spool_t *self)
{
	sqlite3_stmt *st = s_statement(self, ST_DATA_VERSION);
	uint64_t others = 0;

	/* data_version moves with every commit of another connection (the
	 * pragma reads it at the start of its own read); total_changes with
	 * this connection's own rows.  Neither goes down, so their sum moves
	 * whenever one of them does. */
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		others = (uint64_t)sqlite3_column_int64(st, 0);
	s_done(st);
	return others + (uint64_t)sqlite3_total_changes64(self->db);
}

int
spool_foreach(spool_t *self, int state, spool_row_fn *fn, void *arg)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(self->db,
	        "SELECT sequence, source, unit || '/' || committee || '/r' || round || '/v' || revision,"
	        " state, attempts, created_ms, reason, detail FROM message"
	        " WHERE ? < 0 OR state = ? ORDER BY sequence", -1, &st, NULL) != SQLITE_OK) {
		log_warnx("spool: %s", sqlite3_errmsg(self->db));
		return -1;
	}
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int(st, 2, state);
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		   (const char *)sqlite3_column_text(st, 2), (spool_state_t)sqlite3_column_int(st, 3),
		   sqlite3_column_int(st, 4), sqlite3_column_int64(st, 5),
		   (const char *)sqlite3_column_text(st, 6), (const char *)sqlite3_column_text(st, 7));
	sqlite3_finalize(st);
	return 0;
}

int
spool_unanswered_envelopes(spool_t *self, zlist_t *frames)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(self->db, "SELECT envelope, sequence FROM message WHERE state = 0 "
	                       "ORDER BY sequence", -1, &st, NULL) != SQLITE_OK) {
		log_warnx("spool: %s", sqlite3_errmsg(self->db));
		return -1;
	}
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		zframe_t *frame;

		if (!s_envelope_sound(self, st, 0, sqlite3_column_int64(st, 1)))
			continue;
		frame = zframe_new(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		if (frame == NULL || zlist_append(frames, frame) != 0) {
			zframe_destroy(&frame);
			rc = -1;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int
spool_get(spool_t *self, int64_t sequence, spool_state_t *state, char *reason,
          size_t reason_len, char *detail, size_t detail_len)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(self->db, "SELECT state, reason, detail FROM message "
	                       "WHERE sequence = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, sequence);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*state = (spool_state_t)sqlite3_column_int(st, 0);
		snprintf(reason, reason_len, "%s", sqlite3_column_text(st, 1)
		         ? (const char *)sqlite3_column_text(st, 1) : "");
		snprintf(detail, detail_len, "%s", sqlite3_column_text(st, 2)
		         ? (const char *)sqlite3_column_text(st, 2) : "");
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int
spool_foreach_receipt(spool_t *self, const char *unit, spool_receipt_fn *fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(self->db,
	        "SELECT m.sequence, m.unit, m.committee, m.round, m.revision, r.taken_ms, r.receipt"
	        " FROM receipt r JOIN message m USING (message_id)"
	        " WHERE ?1 IS NULL OR m.unit = ?1 ORDER BY m.sequence, r.rowid", -1, &st, NULL)
	    != SQLITE_OK) {
		log_warnx("spool: %s", sqlite3_errmsg(self->db));
		return -1;
	}
	if (unit != NULL)
		sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		spool_receipt_t r = {
			.sequence = sqlite3_column_int64(st, 0),
			.round = (unsigned)sqlite3_column_int(st, 3),
			.revision = (unsigned)sqlite3_column_int(st, 4),
			.taken_ms = sqlite3_column_int64(st, 5),
		};
		char why[256];

		snprintf(r.unit, sizeof r.unit, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(r.committee, sizeof r.committee, "%s", (const char *)sqlite3_column_text(st, 2));
		r.bytes = sqlite3_column_blob(st, 6);
		r.len = (size_t)sqlite3_column_bytes(st, 6);
		/* Kept only after it was checked; a row that no longer reads
		 * is a damaged spool, said and passed over. */
		if (r.bytes == NULL || tf_receipt_decode(r.bytes, r.len, &r.fields, why, sizeof why) != 0) {
			log_warnx("spool: a receipt of message %lld does not read: %s",
			          (long long)r.sequence, r.bytes == NULL ? "empty" : why);
			continue;
		}
		rc = fn(arg, &r);
	}
	sqlite3_finalize(st);
	return rc;
}

int
spool_posted(spool_t *self, int64_t sequence, zframe_t **envelope, tf_receipt_fields_t *receipt,
             char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	const void *blob;
	int rc = -1;

	*envelope = NULL;
	if (sqlite3_prepare_v2(self->db,
	        "SELECT m.envelope, m.state, r.receipt FROM message m"
	        " LEFT JOIN receipt r ON r.message_id = m.message_id"
	        "  AND r.verdict IN ('ACCEPTED', 'DUPLICATE')"
	        " WHERE m.sequence = ? ORDER BY r.rowid LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "spool: %s", sqlite3_errmsg(self->db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, sequence);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(why, whylen, "there is no message %lld in the spool", (long long)sequence);
		rc = 1;
		goto out;
	}
	if (!s_envelope_sound(self, st, 0, sequence)) {
		snprintf(why, whylen, "message %lld's stored envelope is damaged", (long long)sequence);
		goto out;
	}
	if (sqlite3_column_int(st, 1) != SPOOL_ACCEPTED && sqlite3_column_int(st, 1) != SPOOL_DUPLICATE) {
		snprintf(why, whylen, "message %lld is %s, not stored by the collector", (long long)sequence,
		         spool_state_name((spool_state_t)sqlite3_column_int(st, 1)));
		rc = 1;
		goto out;
	}
	if ((blob = sqlite3_column_blob(st, 2)) == NULL) {
		snprintf(why, whylen, "message %lld was answered without a receipt (by an agent "
		         "older than receipts)", (long long)sequence);
		rc = 1;
		goto out;
	}
	if (tf_receipt_decode(blob, (size_t)sqlite3_column_bytes(st, 2), receipt, why, whylen) != 0)
		goto out;
	*envelope = zframe_new(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	rc = *envelope != NULL ? 0 : -1;
out:
	sqlite3_finalize(st);
	return rc;
}

zframe_t *
spool_envelope(spool_t *self, int64_t sequence)
{
	sqlite3_stmt *st = NULL;
	zframe_t *frame = NULL;

	if (sqlite3_prepare_v2(self->db, "SELECT envelope FROM message WHERE sequence = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, sequence);
	if (sqlite3_step(st) == SQLITE_ROW && s_envelope_sound(self, st, 0, sequence))
		frame = zframe_new(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return frame;
}
