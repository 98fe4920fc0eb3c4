/*
 * store: the collector's PostgreSQL writer (see store.h).
 */
#include "store.h"
#include "copybuf.h"
#include "db.h"
#include "log.h"
#include "utf8.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

struct _store_t {
	copybuf_t *messages;    /* COPY rows of the batch, reused */
	copybuf_t *results;
	copybuf_t *candidates;
	char *conninfo;
	PGconn *conn;
	int64_t next_try;       /* zclock_mono() before which we do not reconnect */
	int backoff_ms;
	bool was_down;          /* said "database unavailable" already */
};

static const struct {
	const char *name;
	const char *sql;
} s_statements[] = {
	{ "batch_conflicts",
	  "SELECT kind, item FROM tallyfeed.batch_conflicts($1::text[], $2::text[], $3::text[], "
	  "$4::integer[], $5::integer[])" },
	{ "quarantine",
	  "INSERT INTO tallyfeed.quarantine (message_id, agent_id, sequence, reason, reason_name, "
	  "detail, raw, raw_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, sha256($7)) "
	  "ON CONFLICT (message_id) DO NOTHING" },
	{ "heartbeat",
	  "INSERT INTO tallyfeed.agent_status (agent_id, last_seen, spool_depth, "
	  "oldest_pending_age_s, last_acked_sequence, software_version, uptime_s) "
	  "VALUES ($1, now(), $2, $3, $4, $5, $6) ON CONFLICT (agent_id) DO UPDATE SET "
	  "last_seen = now(), spool_depth = EXCLUDED.spool_depth, "
	  "oldest_pending_age_s = EXCLUDED.oldest_pending_age_s, "
	  "last_acked_sequence = EXCLUDED.last_acked_sequence, "
	  "software_version = EXCLUDED.software_version, uptime_s = EXCLUDED.uptime_s" },
};

static int
s_connect(store_t *self, char *err, size_t errlen)
{
	PGresult *res;

	self->conn = tf_db_connect(self->conninfo, "tallyfeed-collector", err, errlen);
	if (self->conn == NULL)
		return -1;
	for (size_t i = 0; i < sizeof s_statements / sizeof s_statements[0]; i++) {
		res = PQprepare(self->conn, s_statements[i].name, s_statements[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "could not prepare %s (has `tallyfeed db migrate` run?): %s",
			         s_statements[i].name, tf_db_error(self->conn));
			PQclear(res);
			PQfinish(self->conn);
			self->conn = NULL;
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

store_t *
store_new(const char *conninfo, char *err, size_t errlen)
{
	store_t *self = calloc(1, sizeof *self);

	if (self == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	self->conninfo = strdup(conninfo);
	self->backoff_ms = BACKOFF_MIN_MS;
	self->messages = copybuf_new();
	self->results = copybuf_new();
	self->candidates = copybuf_new();
	if (self->conninfo == NULL || self->messages == NULL || self->results == NULL
	    || self->candidates == NULL) {
		snprintf(err, errlen, "out of memory");
		store_destroy(&self);
		return NULL;
	}
	if (s_connect(self, err, errlen) != 0) {
		store_destroy(&self);
		return NULL;
	}
	return self;
}

void
store_destroy(store_t **self_p)
{
	store_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	PQfinish(self->conn);
	copybuf_destroy(&self->messages);
	copybuf_destroy(&self->results);
	copybuf_destroy(&self->candidates);
	free(self->conninfo);
	free(self);
	*self_p = NULL;
}

bool
store_ready(store_t *self)
{
	char err[1024];

	if (self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK)
		return true;
	if (!self->was_down) {
		log_warnx("database unavailable; not acknowledging until it is back "
		          "(agents keep their messages)");
		self->was_down = true;
	}
	if (zclock_mono() < self->next_try)
		return false;
	PQfinish(self->conn);
	self->conn = NULL;
	if (s_connect(self, err, sizeof err) != 0) {
		log_warnx("%s; next try in %d ms", err, self->backoff_ms);
		self->next_try = zclock_mono() + self->backoff_ms;
		self->backoff_ms = self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
		                                                         : self->backoff_ms * 2;
		return false;
	}
	log_info("database connection restored");
	self->was_down = false;
	self->backoff_ms = BACKOFF_MIN_MS;
	return true;
}

tf_registry_t *
store_load_registry(store_t *self, char *err, size_t errlen)
{
	static const char *queries[TF_LEVEL_COUNT] = {
		"SELECT code, name, NULL, NULL FROM tallyfeed.prefecture ORDER BY code",
		"SELECT code, name, prefecture_code, NULL FROM tallyfeed.county ORDER BY code",
		"SELECT code, name, county_code, NULL FROM tallyfeed.township ORDER BY code",
		"SELECT code, name, township_code, urban_rural FROM tallyfeed.unit ORDER BY code",
	};
	tf_registry_t *registry = tf_registry_new();
	PGresult *res = NULL;
	char reason[512];

	if (registry == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int level = 0; level < TF_LEVEL_COUNT; level++) {
		res = PQexec(self->conn, queries[level]);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "could not read the registry: %s", tf_db_error(self->conn));
			goto fail;
		}
		for (int i = 0; i < PQntuples(res); i++)
			if (tf_registry_add(registry, (tf_level_t)level, PQgetvalue(res, i, 0),
			                    PQgetvalue(res, i, 1),
			                    PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
			                    PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
			                    reason, sizeof reason) != 0) {
				snprintf(err, errlen, "registry in the database is inconsistent: %s", reason);
				goto fail;
			}
		PQclear(res);
		res = NULL;
	}
	return registry;
fail:
	PQclear(res);
	tf_registry_destroy(&registry);
	return NULL;
}

int
store_begin(store_t *self)
{
	return tf_db_exec(self->conn, "BEGIN", "begin");
}

int
store_commit(store_t *self)
{
	return tf_db_exec(self->conn, "COMMIT", "commit");
}

void
store_rollback(store_t *self)
{
	if (PQstatus(self->conn) == CONNECTION_OK)
		tf_db_exec(self->conn, "ROLLBACK", "rollback");
}

/* Run a prepared statement; values with a non-zero length in lengths are
 * binary (bytea), the others text. */
static PGresult *
s_exec(store_t *self, const char *name, int n, const char *const *values, const int *lengths,
       ExecStatusType want)
{
	int formats[16];
	PGresult *res;

	assert(n <= 16);
	for (int i = 0; i < n; i++)
		formats[i] = lengths[i] > 0 ? 1 : 0;
	res = PQexecPrepared(self->conn, name, n, values, lengths, formats, 0);
	if (PQresultStatus(res) != want) {
		log_warnx("%s failed: %s", name, tf_db_error(self->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* bytea params need a non-zero length to be sent as binary; an empty
 * bytea is sent as the text form of an empty bytea instead. */
static void
s_bytea(const uint8_t *data, size_t len, const char **value, int *length)
{
	if (len == 0) {
		*value = "";
		*length = 0;
	} else {
		*value = (const char *)data;
		*length = (int)len;
	}
}

/* Append "{a,b,c}" array-literal elements; values are plain words or hex. */
static void
s_array_add(zchunk_t *array, const char *value)
{
	if (zchunk_size(array) > 1)
		zchunk_extend(array, ",", 1);
	zchunk_extend(array, value, strlen(value));
}

static void
s_array_close(zchunk_t *array)
{
	zchunk_extend(array, "}", 2);   /* with the terminating NUL */
}

/* Mark the entries the database (or an earlier entry of the batch)
 * already holds. */
static int
s_find_conflicts(store_t *self, store_entry_t *entries, size_t count)
{
	zchunk_t *arrays[5];
	zhashx_t *ids = zhashx_new(), *keys = zhashx_new();
	const char *values[5];
	PGresult *res = NULL;
	int rc = -1;

	for (int a = 0; a < 5; a++)
		arrays[a] = zchunk_new("{", 1);         /* zchunk_extend grows it */
	zhashx_set_destructor(ids, NULL);
	zhashx_set_duplicator(ids, NULL);
	zhashx_set_destructor(keys, NULL);
	zhashx_set_duplicator(keys, NULL);
	for (size_t i = 0; i < count; i++) {
		const tf_report_t *r = entries[i].report;
		char hex[2 * TF_MESSAGE_ID_LEN + 1], key[64], num[16];

		tf_message_id_hex(entries[i].envelope->message_id.data,
		                  entries[i].envelope->message_id.len, hex);
		snprintf(key, sizeof key, "%s/%d/%u/%u", r->unit_code, (int)r->committee, r->round,
		         r->revision);
		entries[i].outcome = STORE_ACCEPTED;
		/* Within the batch: an agent may resend before the first copy's ack. */
		if (zhashx_lookup(ids, hex) != NULL)
			entries[i].outcome = STORE_DUPLICATE;
		else if (zhashx_lookup(keys, key) != NULL)
			entries[i].outcome = STORE_REVISION_EXISTS;
		zhashx_update(ids, hex, (void *)1);
		zhashx_update(keys, key, (void *)1);
		s_array_add(arrays[0], hex);
		s_array_add(arrays[1], r->unit_code);
		s_array_add(arrays[2], tf_committee_word(r->committee));
		snprintf(num, sizeof num, "%u", r->round);
		s_array_add(arrays[3], num);
		snprintf(num, sizeof num, "%u", r->revision);
		s_array_add(arrays[4], num);
	}
	for (int a = 0; a < 5; a++) {
		s_array_close(arrays[a]);
		values[a] = (const char *)zchunk_data(arrays[a]);
	}
	res = PQexecPrepared(self->conn, "batch_conflicts", 5, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("batch_conflicts failed: %s", tf_db_error(self->conn));
		goto out;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		long item = strtol(PQgetvalue(res, row, 1), NULL, 10) - 1;

		if (item < 0 || (size_t)item >= count)
			continue;
		/* A stored message id wins over a stored key: it is the same message. */
		if (strcmp(PQgetvalue(res, row, 0), "duplicate") == 0)
			entries[item].outcome = STORE_DUPLICATE;
		else if (entries[item].outcome == STORE_ACCEPTED)
			entries[item].outcome = STORE_REVISION_EXISTS;
	}
	rc = 0;
out:
	PQclear(res);
	for (int a = 0; a < 5; a++)
		zchunk_destroy(&arrays[a]);
	zhashx_destroy(&ids);
	zhashx_destroy(&keys);
	return rc;
}

static const char s_message_columns[] =
    "message_id, agent_id, sequence, created_at, payload_type, envelope, envelope_sha256, "
    "signature";
static const char s_result_columns[] =
    "message_id, unit_code, committee, round, revision, held_on, registered, excused, "
    "took_part, proxy_votes, ballots_issued, ballots_returned, ballots_valid, ballots_invalid, "
    "ballot_mode, seats_head, seats_deputy, seats_member, seats_filled, election_valid, "
    "warnings, sheet_photo_sha256, announced_on_site";
static const char s_candidate_columns[] =
    "message_id, ordinal, candidate_id, name, position, votes_for, votes_against, "
    "votes_abstain, elected, position_won, gender, ethnicity, birth_year, education, "
    "party_member, reelected, concurrent_head, cross_serving";

static const char *
s_word_or_null(const char *word)
{
	return strcmp(word, "unspecified") == 0 ? NULL : word;
}

static void
s_text_or_null(copybuf_t *buf, const char *text)
{
	if (text == NULL || text[0] == '\0')
		copybuf_null(buf);
	else
		copybuf_text(buf, text);
}

static void
s_message_row(copybuf_t *buf, const store_entry_t *e)
{
	const tf_envelope_t *env = e->envelope;
	uint8_t digest[crypto_hash_sha256_BYTES];
	char created[64];
	time_t secs = (time_t)(env->created_unix_ms / 1000);
	struct tm tm;

	crypto_hash_sha256(digest, e->raw, e->raw_len);
	gmtime_r(&secs, &tm);
	snprintf(created, sizeof created, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (int)(env->created_unix_ms % 1000 + 1000) % 1000);
	copybuf_bytea(buf, env->message_id.data, env->message_id.len);
	copybuf_text(buf, env->agent_id);
	copybuf_int(buf, (long long)env->sequence);
	copybuf_text(buf, created);
	copybuf_int(buf, env->payload_type);
	copybuf_bytea(buf, e->raw, e->raw_len);
	copybuf_bytea(buf, digest, sizeof digest);
	copybuf_bytea(buf, env->signature.data, env->signature.len);
	copybuf_end_row(buf);
}

static void
s_result_row(copybuf_t *buf, const store_entry_t *e)
{
	const tf_report_t *r = e->report;
	const char *warnings[TF_WARN_COUNT];
	size_t nwarnings = 0;
	long long seats[TALLYFEED__POSITION__POSITION_MEMBER + 1] = { 0 };

	for (int bit = 0; bit < TF_WARN_COUNT; bit++)
		if (e->check->warnings & (1u << bit))
			warnings[nwarnings++] = tf_warning_name(bit);
	for (size_t i = 0; i < r->n_seats; i++)
		seats[r->seats[i]->position] = r->seats[i]->count;
	copybuf_bytea(buf, e->envelope->message_id.data, e->envelope->message_id.len);
	copybuf_text(buf, r->unit_code);
	copybuf_text(buf, tf_committee_word(r->committee));
	copybuf_int(buf, r->round);
	copybuf_int(buf, r->revision);
	s_text_or_null(buf, r->held_on);
	copybuf_int(buf, r->registered);
	copybuf_int(buf, r->excused);
	copybuf_int(buf, r->took_part);
	copybuf_int(buf, r->proxy_votes);
	copybuf_int(buf, r->ballots_issued);
	copybuf_int(buf, r->ballots_returned);
	copybuf_int(buf, r->ballots_valid);
	copybuf_int(buf, r->ballots_invalid);
	copybuf_text(buf, r->ballot_mode == TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED
	                      ? "combined" : "per_position");
	copybuf_int(buf, seats[TALLYFEED__POSITION__POSITION_HEAD]);
	copybuf_int(buf, seats[TALLYFEED__POSITION__POSITION_DEPUTY]);
	copybuf_int(buf, seats[TALLYFEED__POSITION__POSITION_MEMBER]);
	copybuf_int(buf, e->check->seats_filled);
	copybuf_bool(buf, e->check->election_valid);
	copybuf_words(buf, warnings, nwarnings);
	if (r->sheet_photo_sha256.len > 0)
		copybuf_bytea(buf, r->sheet_photo_sha256.data, r->sheet_photo_sha256.len);
	else
		copybuf_null(buf);
	copybuf_bool(buf, r->announced_on_site);
	copybuf_end_row(buf);
}

static void
s_candidate_rows(copybuf_t *buf, const store_entry_t *e)
{
	static const char *genders[] = { NULL, "male", "female" };
	static const char *educations[] = {
		NULL, "primary", "junior_secondary", "senior_secondary", "junior_college",
		"bachelor", "postgraduate"
	};
	const tf_report_t *r = e->report;

	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];

		copybuf_bytea(buf, e->envelope->message_id.data, e->envelope->message_id.len);
		copybuf_int(buf, (long long)i + 1);
		copybuf_text(buf, c->candidate_id);
		copybuf_text(buf, c->name);
		copybuf_text(buf, tf_position_word(c->position));
		copybuf_int(buf, c->votes_for);
		copybuf_int(buf, c->votes_against);
		copybuf_int(buf, c->votes_abstain);
		copybuf_bool(buf, c->elected);
		s_text_or_null(buf, c->elected ? s_word_or_null(tf_position_word(c->position_won)) : NULL);
		s_text_or_null(buf, (unsigned)c->gender < 3 ? genders[c->gender] : NULL);
		s_text_or_null(buf, c->ethnicity);
		if (c->birth_year != 0)
			copybuf_int(buf, c->birth_year);
		else
			copybuf_null(buf);
		s_text_or_null(buf, (unsigned)c->education < 7 ? educations[c->education] : NULL);
		copybuf_bool(buf, c->party_member);
		copybuf_bool(buf, c->reelected);
		copybuf_bool(buf, c->concurrent_head);
		copybuf_bool(buf, c->cross_serving);
		copybuf_end_row(buf);
	}
}

int
store_results(store_t *self, store_entry_t *entries, size_t count)
{
	if (count == 0)
		return 0;
	if (s_find_conflicts(self, entries, count) != 0)
		return -1;
	copybuf_reset(self->messages);
	copybuf_reset(self->results);
	copybuf_reset(self->candidates);
	for (size_t i = 0; i < count; i++) {
		if (entries[i].outcome != STORE_ACCEPTED)
			continue;
		s_message_row(self->messages, &entries[i]);
		s_result_row(self->results, &entries[i]);
		s_candidate_rows(self->candidates, &entries[i]);
	}
	/* Parents before children: the foreign keys are checked row by row. */
	if (copybuf_send(self->messages, self->conn, "tallyfeed.message", s_message_columns) != 0
	    || copybuf_send(self->results, self->conn, "tallyfeed.result", s_result_columns) != 0
	    || copybuf_send(self->candidates, self->conn, "tallyfeed.candidate",
	                    s_candidate_columns) != 0)
		return -1;
	return 0;
}

int
store_quarantine(store_t *self, const tf_envelope_t *env, const uint8_t *raw, size_t raw_len,
                 int reason, const char *detail)
{
	char sequence[24], reason_text[12];
	const char *values[7];
	int lengths[7] = { 0 };
	char agent[TF_AGENT_ID_MAX * 4 + 1] = "";
	char safe_detail[TF_DETAIL_MAX];
	PGresult *res;

	/* The agent id of a refused envelope may be anything: keep what is
	 * printable, enough to find the sender. */
	if (env != NULL) {
		size_t j = 0;
		for (const char *p = env->agent_id; *p && j < sizeof agent - 1; p++)
			agent[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
		agent[j] = '\0';
	}
	snprintf(sequence, sizeof sequence, "%llu",
	         env != NULL ? (unsigned long long)env->sequence : 0ULL);
	snprintf(reason_text, sizeof reason_text, "%d", reason);
	if (env != NULL && env->message_id.len == TF_MESSAGE_ID_LEN)
		s_bytea(env->message_id.data, env->message_id.len, &values[0], &lengths[0]);
	else
		values[0] = NULL;
	values[1] = env != NULL ? agent : NULL;
	values[2] = env != NULL ? sequence : NULL;
	/* Details are ours, but may quote what the sender sent; the database
	 * takes only UTF-8. */
	snprintf(safe_detail, sizeof safe_detail, "%s", detail);
	if (!tf_utf8_valid(safe_detail, strlen(safe_detail)))
		for (char *p = safe_detail; *p; p++)
			if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
				*p = '?';
	values[3] = reason_text;
	values[4] = tf_reason_name(reason);
	values[5] = safe_detail;
	s_bytea(raw, raw_len, &values[6], &lengths[6]);
	res = s_exec(self, "quarantine", 7, values, lengths, PGRES_COMMAND_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
store_heartbeat(store_t *self, const tf_envelope_t *env, const Tallyfeed__Heartbeat *hb)
{
	char depth[12], age[12], acked[24], uptime[24], version[40];
	const char *values[6] = { env->agent_id, depth, age, acked, version, uptime };
	int lengths[6] = { 0 };
	PGresult *res;

	snprintf(depth, sizeof depth, "%u", hb->spool_depth > INT32_MAX ? INT32_MAX : hb->spool_depth);
	snprintf(age, sizeof age, "%u", hb->oldest_pending_age_s > INT32_MAX ? INT32_MAX
	                                                                    : hb->oldest_pending_age_s);
	snprintf(acked, sizeof acked, "%llu", (unsigned long long)(hb->last_acked_sequence & INT64_MAX));
	snprintf(uptime, sizeof uptime, "%llu", (unsigned long long)(hb->uptime_s & INT64_MAX));
	snprintf(version, sizeof version, "%.32s", hb->software_version);
	res = s_exec(self, "heartbeat", 6, values, lengths, PGRES_COMMAND_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}
