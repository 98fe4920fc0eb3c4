/*
 * store: the collector's PostgreSQL writer (see store.h).
 */
#include "store.h"
#include "db.h"
#include "log.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

struct _store_t {
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
	{ "store_result",
	  "SELECT tallyfeed.store_result($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10::text[])" },
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
	if (self->conninfo == NULL || s_connect(self, err, errlen) != 0) {
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

store_outcome_t
store_result(store_t *self, const tf_envelope_t *env, const uint8_t *raw, size_t raw_len,
             const tf_report_t *report, const tf_check_t *check)
{
	char sequence[24], created[24], valid[2], filled[12], warnings[256] = "{";
	const char *values[10];
	int lengths[10] = { 0 };
	char *json = NULL;
	PGresult *res = NULL;
	store_outcome_t outcome = STORE_FAILED;
	const char *answer;

	json = tf_report_to_json(report, 0);
	if (json == NULL) {
		log_warnx("could not render report for unit %s as JSON", report->unit_code);
		return STORE_FAILED;
	}
	snprintf(sequence, sizeof sequence, "%llu", (unsigned long long)env->sequence);
	snprintf(created, sizeof created, "%lld", (long long)env->created_unix_ms);
	snprintf(valid, sizeof valid, "%c", check->election_valid ? 't' : 'f');
	snprintf(filled, sizeof filled, "%u", check->seats_filled);
	for (int bit = 0; bit < TF_WARN_COUNT; bit++)
		if (check->warnings & (1u << bit)) {
			if (warnings[1] != '\0')
				strcat(warnings, ",");
			strcat(warnings, tf_warning_name(bit));
		}
	strcat(warnings, "}");

	s_bytea(env->message_id.data, env->message_id.len, &values[0], &lengths[0]);
	values[1] = env->agent_id;
	values[2] = sequence;
	values[3] = created;
	s_bytea(raw, raw_len, &values[4], &lengths[4]);
	s_bytea(env->signature.data, env->signature.len, &values[5], &lengths[5]);
	values[6] = json;
	values[7] = valid;
	values[8] = filled;
	values[9] = warnings;
	res = s_exec(self, "store_result", 10, values, lengths, PGRES_TUPLES_OK);
	if (res == NULL)
		goto out;
	answer = PQgetvalue(res, 0, 0);
	if (strcmp(answer, "accepted") == 0)
		outcome = STORE_ACCEPTED;
	else if (strcmp(answer, "duplicate") == 0)
		outcome = STORE_DUPLICATE;
	else if (strcmp(answer, "revision_exists") == 0)
		outcome = STORE_REVISION_EXISTS;
	else
		log_warnx("store_result answered \"%s\"", answer);
out:
	PQclear(res);
	free(json);
	return outcome;
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
