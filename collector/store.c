/*
 * store: the collector's PostgreSQL writer (see store.h).
 */
#include "store.h"
#include "chain.h"
#include "copybuf.h"
#include "rows.h"
#include "db.h"
#include "identity.h"
#include "log.h"
#include "utf8.h"

#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define HEAD_LOG_EVERY_MS 10000 /* the signed head in the log, at most this often */
/* The checks' plan is made again after this many results checked with it
 * (see s_statements). */
#define CHECKS_REPLAN_EVERY 1024
/* How often a connected writer asks again whether its server still has
 * synchronous standbys (collector/replication = synchronous): a manager
 * may drop them while it runs (pg_auto_failover does, with one node left). */
#define REPLICATION_CHECK_MS 2000

struct _store_t {
	copybuf_t *messages;    /* COPY rows of the batch, reused */
	copybuf_t *results;
	copybuf_t *candidates;
	char *conninfo;
	char *chain;            /* this collector's chain name */
	const tf_identity_t *signer;    /* signs each new head (borrowed) */
	bool head_signed;       /* the last commit moved the chain: */
	int64_t signed_ms;      /*   when it signed its head, */
	uint8_t signature[TF_SIGNATURE_LEN];    /* and the signature */
	int64_t head_logged_ms; /* when a signed head was last logged */
	int64_t link;           /* the chain's last link written (0: none yet) */
	uint8_t head[TF_HASH_LEN];      /* its row_hash */
	int64_t txn_link;       /* link and head when the transaction began, */
	uint8_t txn_head[TF_HASH_LEN];  /*   restored if it rolls back */
	PGconn *conn;
	bool in_transaction;    /* between store_begin and its commit or rollback */
	bool begun;             /* BEGIN sent for it: it goes with the first statement
	                         * that writes (store_begin) */
	store_timing_t timing;  /* of the transaction in hand */
	store_limits_t limits;
	pthread_mutex_t cancel_lock;    /* guards cancel: store_cancel may come from any thread */
	PGcancel *cancel;       /* for conn, or NULL */
	int64_t next_try;       /* zclock_mono() before which we do not reconnect */
	int backoff_ms;
	bool was_down;          /* said "database unavailable" already */
	char server[256];       /* host:port of the server written to, "" before the first */
	int64_t next_replication_check; /* zclock_mono() */
	bool standby_warned;    /* said no synchronous standby streams, since the connect */
	bool retry_later;       /* the last connect failed for something of the moment */
	bool committing;        /* in COMMIT: not to be cancelled (guarded by cancel_lock) */
	bool warned;            /* the server sent a WARNING since the flag was cleared */
	bool checks_prepared;   /* batch_checks is prepared on conn */
	int64_t checked_since_plan;     /* results checked since it was */
};

static const struct {
	const char *name;
	const char *sql;
} s_statements[] = {
	/* What the store must know about a batch before it writes it, one row
	 * per finding, item = the 1-based position in the arrays:
	 *   duplicate          this message id is stored
	 *   revision_exists    another message holds this unit/committee/round/revision
	 *   replayed           this agent's sequence number is stored under another
	 *                      message id
	 *   prior              for a runoff (round 2): the latest revision of round 1;
	 *                      for a re-election (round 3 on): of the latest earlier
	 *                      round; whether its election was valid and the seats it
	 *                      left unfilled
	 *   photo_reused       the same sheet photo hash is stored for another unit
	 *   identical_figures  another unit's same committee has the same six figures
	 *                      (electorate, took part, ballots issued/returned/valid/
	 *                      invalid); only from 100 registered up, where a match
	 *                      is too unlikely to be chance
	 * A prepared statement with a generic plan (s_connect), reused across
	 * batches: 0002's function of the same query was planned at every
	 * call, 2 ms of a 5 ms one-message transaction.  Every lookup is a
	 * LATERAL subquery fenced by LIMIT, never pulled up into a join the
	 * planner could turn round, so each is a probe per message.  Which
	 * index serves a probe is still the planner's choice, and on empty
	 * tables (election night's start, or a TRUNCATE) the candidates cost
	 * alike: a plan made then may probe by committee alone and read every
	 * result of it once the tables fill (tests/bench/ingest, one run in
	 * four: 65 s instead of 13).  So the plan is made again every
	 * CHECKS_REPLAN_EVERY results (s_prepare_checks): made on tables of
	 * some size, the whole-key probe is the cheapest by far, and a wrong
	 * plan lives for one batch at most.  unit as char(12), the column's
	 * type: compared as text, the indexes on result (unit_code, ...) would
	 * go unused. */
	{ "batch_checks",
	  "WITH k AS MATERIALIZED ("
	  " SELECT id, unit::char(12) AS unit, committee, round, revision, agent, sequence, photo,"
	  "  registered, took_part, issued, returned, valid, invalid, i::integer AS i"
	  " FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::integer[],"
	  "  $6::text[], $7::bigint[], $8::text[], $9::integer[], $10::integer[], $11::integer[],"
	  "  $12::integer[], $13::integer[], $14::integer[]) WITH ORDINALITY"
	  "  AS u(id, unit, committee, round, revision, agent, sequence, photo, registered,"
	  "  took_part, issued, returned, valid, invalid, i)) "
	  "SELECT 'duplicate' AS kind, k.i AS item, NULL::boolean AS election_valid,"
	  " NULL::integer AS unfilled_head, NULL::integer AS unfilled_deputy,"
	  " NULL::integer AS unfilled_member, x.chain, x.link, encode(x.row_hash, 'hex') AS row_hash,"
	  " (extract(epoch FROM x.received_at) * 1000)::bigint AS received_ms,"
	  " encode(x.envelope_sha256, 'hex') AS sha256"
	  " FROM k CROSS JOIN LATERAL (SELECT m.chain, m.link, m.row_hash, m.received_at,"
	  "  m.envelope_sha256 FROM tallyfeed.message m"
	  "  WHERE m.message_id = decode(k.id, 'hex') LIMIT 1) x "
	  "UNION ALL "
	  "SELECT 'revision_exists', k.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	  " FROM k CROSS JOIN LATERAL (SELECT 1 FROM tallyfeed.result r"
	  "  WHERE r.unit_code = k.unit AND r.committee = k.committee AND r.round = k.round"
	  "  AND r.revision = k.revision LIMIT 1) x "
	  "UNION ALL "
	  "SELECT 'replayed', k.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	  " FROM k CROSS JOIN LATERAL (SELECT 1 FROM tallyfeed.message m"
	  "  WHERE m.agent_id = k.agent AND m.sequence = k.sequence"
	  "  AND m.message_id <> decode(k.id, 'hex') LIMIT 1) x "
	  "UNION ALL "
	  "SELECT 'prior', k.i, p.election_valid, p.seats_head - w.head,"
	  " p.seats_deputy - w.deputy, p.seats_member - w.member, NULL, NULL, NULL, NULL, NULL"
	  " FROM k CROSS JOIN LATERAL (SELECT r.message_id, r.election_valid, r.seats_head,"
	  "  r.seats_deputy, r.seats_member FROM tallyfeed.result r"
	  "  WHERE r.unit_code = k.unit AND r.committee = k.committee AND r.round < k.round"
	  "  AND (k.round > 2 OR r.round = 1)"
	  "  ORDER BY r.round DESC, r.revision DESC LIMIT 1) p"
	  " CROSS JOIN LATERAL (SELECT"
	  "  (count(*) FILTER (WHERE c.position_won = 'head'))::integer AS head,"
	  "  (count(*) FILTER (WHERE c.position_won = 'deputy'))::integer AS deputy,"
	  "  (count(*) FILTER (WHERE c.position_won = 'member'))::integer AS member"
	  "  FROM tallyfeed.candidate c WHERE c.message_id = p.message_id AND c.elected) w"
	  " WHERE k.round >= 2 "
	  "UNION ALL "
	  "SELECT 'photo_reused', k.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	  " FROM k CROSS JOIN LATERAL (SELECT 1 FROM tallyfeed.result r"
	  "  WHERE r.sheet_photo_sha256 = decode(k.photo, 'hex') AND r.unit_code <> k.unit"
	  "  LIMIT 1) x"
	  " WHERE k.photo <> '' "
	  "UNION ALL "
	  "SELECT 'identical_figures', k.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	  " FROM k CROSS JOIN LATERAL (SELECT 1 FROM tallyfeed.result r"
	  "  WHERE r.committee = k.committee AND r.registered = k.registered"
	  "  AND r.took_part = k.took_part AND r.ballots_valid = k.valid"
	  "  AND r.ballots_issued = k.issued AND r.ballots_returned = k.returned"
	  "  AND r.ballots_invalid = k.invalid AND r.unit_code <> k.unit LIMIT 1) x"
	  " WHERE k.registered >= 100" },
	{ "quarantine",
	  /* Identical bytes are kept once, whatever their message id says;
	   * other bytes under the same id are another frame (0011). */
	  "INSERT INTO tallyfeed.quarantine (message_id, agent_id, sequence, reason, reason_name, "
	  "detail, raw, raw_sha256, received_at, chain, link, row_hash, raw_size) "
	  "SELECT $1::bytea, $2::text, $3::bigint, $4::smallint, $5::text, $6::text, $7::bytea, "
	  "$8::bytea, $9::timestamptz, $10::text, $11::bigint, $12::bytea, $13::bigint "
	  "WHERE NOT EXISTS (SELECT 1 FROM tallyfeed.quarantine WHERE raw_sha256 = $8::bytea) "
	  "RETURNING 1" },
	{ "quarantine_row",
	  /* In the columns of batch_checks' duplicate finding (s_stored_row). */
	  "SELECT NULL, NULL, NULL, NULL, NULL, NULL, chain, link, encode(row_hash, 'hex'),"
	  " (extract(epoch FROM received_at) * 1000)::bigint, encode(raw_sha256, 'hex')"
	  " FROM tallyfeed.quarantine WHERE raw_sha256 = $1::bytea LIMIT 1" },
	{ "heads",
	  /* The chain's head moved, and its signature, in one statement (one
	   * round trip): no trigger of either table reads the other. */
	  "WITH moved AS (INSERT INTO tallyfeed.chain_head (chain, link, row_hash) "
	  "VALUES ($1, $2, $3) "
	  "ON CONFLICT (chain) DO UPDATE SET link = EXCLUDED.link, row_hash = EXCLUDED.row_hash, "
	  "updated_at = now() RETURNING 1) "
	  "INSERT INTO tallyfeed.signed_head (chain, link, row_hash, signed_at, signer, "
	  "sign_public, signature) "
	  "SELECT $1, $2, $3, $4::timestamptz, $5::text, $6::bytea, $7::bytea FROM moved" },
	{ "chain_lock",
	  "SELECT pg_try_advisory_lock(hashtextextended('tallyfeed.chain:' || $1, 0))" },
	{ "chain_read",
	  "SELECT link, row_hash FROM tallyfeed.chain_head WHERE chain = $1" },
	{ "heartbeat",
	  "INSERT INTO tallyfeed.agent_status (agent_id, last_seen, spool_depth, "
	  "oldest_pending_age_s, last_acked_sequence, software_version, uptime_s, township_code, "
	  "heartbeat_created_at) "
	  "VALUES ($1, now(), $2, $3, $4, $5, $6, $7, least($8, now() + interval '5 minutes')) "
	  "ON CONFLICT (agent_id) DO UPDATE SET "
	  "last_seen = now(), spool_depth = EXCLUDED.spool_depth, "
	  "township_code = EXCLUDED.township_code, "
	  "oldest_pending_age_s = EXCLUDED.oldest_pending_age_s, "
	  "last_acked_sequence = EXCLUDED.last_acked_sequence, "
	  "software_version = EXCLUDED.software_version, uptime_s = EXCLUDED.uptime_s, "
	  "heartbeat_created_at = EXCLUDED.heartbeat_created_at "
	  "WHERE agent_status.heartbeat_created_at IS NULL "
	  "   OR agent_status.heartbeat_created_at < $8 "
	  "RETURNING 1" },
};

static void s_timestamp(int64_t ms, char out[64]);
static PGresult *s_exec(store_t *self, const char *name, int n, const char *const *values,
                        const int *lengths, ExecStatusType want);

/* Hold the chain (one writer per chain) and read where it stands. */
static int
s_chain_open(store_t *self, char *err, size_t errlen)
{
	const char *values[1] = { self->chain };
	PGresult *res;
	int rc = -1;

	res = PQexecPrepared(self->conn, "chain_lock", 1, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(err, errlen, "could not lock chain %s: %s", self->chain, tf_db_error(self->conn));
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		/* Or the session of one that is gone: a killed collector's
		 * backend lives on while its COMMIT waits for a synchronous
		 * standby, and holds the chain until then. */
		snprintf(err, errlen, "another collector is writing chain \"%s\", or the session of "
		         "one killed still waits for its commit; give each collector its own chain "
		         "(collector/chain)", self->chain);
		self->retry_later = true;
		goto out;
	}
	PQclear(res);
	res = PQexecPrepared(self->conn, "chain_read", 1, values, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not read chain %s: %s", self->chain, tf_db_error(self->conn));
		goto out;
	}
	self->link = 0;
	memset(self->head, 0, sizeof self->head);
	if (PQntuples(res) == 1) {
		/* Binary results: link is an int8 in network order. */
		const uint8_t *p = (const uint8_t *)PQgetvalue(res, 0, 0);
		uint64_t link = 0;

		if (PQgetlength(res, 0, 0) != 8 || PQgetlength(res, 0, 1) != TF_HASH_LEN) {
			snprintf(err, errlen, "chain %s: the stored head is malformed", self->chain);
			goto out;
		}
		for (int i = 0; i < 8; i++)
			link = link << 8 | p[i];
		self->link = (int64_t)link;
		memcpy(self->head, PQgetvalue(res, 0, 1), TF_HASH_LEN);
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* The server's replication, for an ack that must mean two servers
 * (limits.synchronous; otherwise only said at connect).  0, or -1 with
 * err if the server names no synchronous standby (or cannot be asked). */
static int
s_replication_check(store_t *self, bool connecting, char *err, size_t errlen)
{
	/* pg_stat_replication shows a standby's sync_state only to a member
	 * of pg_read_all_stats (pg_monitor) or a superuser: NULL otherwise. */
	PGresult *res = PQexec(self->conn,
	    "SELECT pg_catalog.current_setting('synchronous_standby_names'), "
	    "pg_catalog.current_setting('synchronous_commit'), "
	    "(SELECT count(*) FROM pg_catalog.pg_stat_replication "
	    " WHERE sync_state IN ('sync', 'quorum')), "
	    "(SELECT count(*) FROM pg_catalog.pg_stat_replication WHERE sync_state IS NULL)");
	const char *names, *commit;
	long streaming, hidden;
	int rc = -1;

	self->next_replication_check = zclock_mono() + REPLICATION_CHECK_MS;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		tf_db_note_failure(res);
		snprintf(err, errlen, "could not ask %s about its replication: %s", self->server,
		         tf_db_error(self->conn));
		goto out;
	}
	names = PQgetvalue(res, 0, 0);
	commit = PQgetvalue(res, 0, 1);
	streaming = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	hidden = strtol(PQgetvalue(res, 0, 3), NULL, 10);
	if (!self->limits.synchronous) {
		if (connecting)
			log_info("database %s: synchronous standbys '%s', %ld streaming synchronously",
			         self->server, names, streaming);
		rc = 0;
		goto out;
	}
	if (names[0] == '\0') {
		self->retry_later = true;
		snprintf(err, errlen, "the database server %s has no synchronous standby "
		         "(synchronous_standby_names is empty): an ack would promise a result kept "
		         "on one server only; not writing to it (collector/replication = "
		         "synchronous)", self->server);
		goto out;
	}
	/* tf_db_durable set on; a server default of local or off does not
	 * reach this session, but say what it is. */
	if (connecting)
		log_info("database %s: synchronous standbys '%s' (synchronous_commit %s here), "
		         "%ld streaming synchronously", self->server, names, commit, streaming);
	if (streaming == 0 && !self->standby_warned) {
		if (hidden > 0)
			log_warnx("database %s: cannot see whether its standbys are synchronous "
			          "(grant pg_monitor to %s); commits wait until one is",
			          self->server, PQuser(self->conn));
		else
			log_warnx("database %s: NO SYNCHRONOUS STANDBY STREAMS: every commit waits "
			          "until one does, and nothing is acknowledged meanwhile",
			          self->server);
		self->standby_warned = true;
	} else if (streaming > 0 && self->standby_warned) {
		log_info("database %s: %ld synchronous standby(s) streaming again", self->server,
		         streaming);
		self->standby_warned = false;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* Notices on the writer's connection: a WARNING is noted (warned) and
 * logged.  During a COMMIT one says the wait for a synchronous standby
 * was cut short ("canceling wait for synchronous replication"): the
 * transaction is committed here and maybe nowhere else, though COMMIT
 * answers COMMIT.  Matched by severity, not by text, which the server
 * may translate. */
static void
s_notice(void *arg, const PGresult *res)
{
	store_t *self = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *text = PQresultErrorMessage(res);
	char line[512];
	char *nl;

	if (severity == NULL || strcmp(severity, "WARNING") != 0)
		return;
	self->warned = true;
	snprintf(line, sizeof line, "%s", text != NULL ? text : "");
	while ((nl = strchr(line, '\n')) != NULL)
		*nl = ' ';
	log_warnx("database %s: %s", self->server, line);
}

/* After a COMMIT, with limits.synchronous: is it on a synchronous
 * standby's disk too?  Not if the server warned during it (its wait was
 * cancelled), nor if the server has no synchronous standby now: a manager
 * that empties synchronous_standby_names (pg_auto_failover, one node
 * left) releases every commit that waits, and they answer COMMIT.  The
 * backend takes a reload before its next statement, so this one sees the
 * setting that released it.  0 if promised, -1 (logged) if not. */
static int
s_commit_promised(store_t *self)
{
	PGresult *res;
	int rc = -1;

	if (self->warned) {
		log_warnx("database %s: a commit's wait for its synchronous standby was cut short: "
		          "it may be on this server only; not acknowledging it (its agents send "
		          "it again)", self->server);
		return -1;
	}
	res = PQexec(self->conn, "SELECT pg_catalog.current_setting('synchronous_standby_names')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		tf_db_note_failure(res);
		log_warnx("database %s: could not ask whether a commit reached a standby: %s",
		          self->server, tf_db_error(self->conn));
	} else if (PQgetvalue(res, 0, 0)[0] == '\0') {
		log_warnx("database %s: its synchronous standbys were dropped while a commit "
		          "waited: it may be on this server only; not acknowledging it (its agents "
		          "send it again)", self->server);
	} else {
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Say which server of the conninfo's took the connection, and that it is
 * another than before: after a failover, libpq finds the new primary
 * (target_session_attrs=read-write) among the hosts listed. */
static void
s_note_server(store_t *self)
{
	char now[sizeof self->server];
	const char *host = PQhost(self->conn), *port = PQport(self->conn);

	snprintf(now, sizeof now, "%s:%s", host != NULL ? host : "?", port != NULL ? port : "?");
	if (self->server[0] == '\0')
		log_info("database: writing to %s", now);
	else if (strcmp(now, self->server) != 0)
		log_warnx("database: the server that takes writes is now %s (was %s): a failover; "
		          "carrying on there", now, self->server);
	snprintf(self->server, sizeof self->server, "%s", now);
}

/* s_statements[i] prepared on the connection.  0, or -1 with err. */
static int
s_prepare(store_t *self, size_t i, char *err, size_t errlen)
{
	PGresult *res = PQprepare(self->conn, s_statements[i].name, s_statements[i].sql, 0, NULL);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		tf_db_note_failure(res);
		snprintf(err, errlen, "could not prepare %s (has `tallyfeed db migrate` run?): %s",
		         s_statements[i].name, tf_db_error(self->conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* A connect that failed after the connection was made: worth trying
 * again if the connection was lost meanwhile, or the step said so
 * (retry_later); not if the server answered no (a schema not migrated,
 * fsync off).  Always -1. */
static int
s_connect_failed(store_t *self)
{
	if (PQstatus(self->conn) != CONNECTION_OK)
		self->retry_later = true;
	PQfinish(self->conn);
	self->conn = NULL;
	return -1;
}

static int
s_connect(store_t *self, char *err, size_t errlen)
{
	PGresult *res;

	self->retry_later = true;       /* unless the server is there and says no */
	self->conn = tf_db_connect(self->conninfo, "tallyfeed-collector", TF_DB_WRITER, err, errlen);
	if (self->conn == NULL)
		return -1;
	self->retry_later = false;
	PQsetNoticeReceiver(self->conn, s_notice, self);
	s_note_server(self);
	self->standby_warned = false;
	if (s_replication_check(self, true, err, errlen) != 0) {
		return s_connect_failed(self);
	}
	/* An ack promises the result survives: make the server keep it. */
	if (tf_db_durable(self->conn, err, errlen) != 0) {
		return s_connect_failed(self);
	}
	/* Nothing the server does may keep the writer waiting unbounded: past
	 * a limit the transaction fails, and is tried again. */
	if (tf_db_session_limits(self->conn, self->limits.statement_timeout_ms,
	                         self->limits.lock_timeout_ms, self->limits.idle_in_transaction_ms,
	                         err, errlen) != 0) {
		return s_connect_failed(self);
	}
	/* Generic plans, made at a statement's first execution and reused
	 * (batch_checks is prepared again now and then: s_prepare_checks), and
	 * index probes wherever an index serves: a plan made while the tables
	 * were nearly empty must not read them whole once they are full. */
	res = PQexec(self->conn, "SELECT pg_catalog.set_config('plan_cache_mode', "
	             "'force_generic_plan', false), pg_catalog.set_config('enable_seqscan', "
	             "'off', false), pg_catalog.set_config('enable_hashjoin', 'off', false), "
	             "pg_catalog.set_config('enable_mergejoin', 'off', false)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not set the planner's settings: %s",
		         tf_db_error(self->conn));
		PQclear(res);
		return s_connect_failed(self);
	}
	PQclear(res);
	for (size_t i = 0; i < sizeof s_statements / sizeof s_statements[0]; i++) {
		if (s_prepare(self, i, err, errlen) != 0) {
			return s_connect_failed(self);
		}
	}
	self->checks_prepared = true;
	self->checked_since_plan = 0;
	if (s_chain_open(self, err, errlen) != 0) {
		return s_connect_failed(self);
	}
	pthread_mutex_lock(&self->cancel_lock);
	self->cancel = PQgetCancel(self->conn);
	pthread_mutex_unlock(&self->cancel_lock);
	return 0;
}

/* Close the connection (and forget its cancel handle). */
static void
s_disconnect(store_t *self)
{
	pthread_mutex_lock(&self->cancel_lock);
	PQfreeCancel(self->cancel);
	self->cancel = NULL;
	pthread_mutex_unlock(&self->cancel_lock);
	PQfinish(self->conn);
	self->conn = NULL;
	self->checks_prepared = false;
}

/* PQcancel opens a connection to the server and waits for it to close:
 * on a frozen or unreachable server, for ever (libpq 15 has no bounded
 * cancel).  It runs on a thread of its own, which owns the handle. */
static void *
s_cancel_thread(void *arg)
{
	PGcancel *cancel = arg;
	char why[256];

	if (PQcancel(cancel, why, sizeof why) == 0)
		log_warnx("could not ask the database to cancel the statement running: %s", why);
	PQfreeCancel(cancel);
	return NULL;
}

void
store_cancel(store_t *self)
{
	pthread_attr_t attr;
	pthread_t thread;
	PGcancel *cancel;
	int rc;

	pthread_mutex_lock(&self->cancel_lock);
	/* A COMMIT cancelled while it waits for a synchronous standby is
	 * committed here, and answers COMMIT: leave it to finish, or to the
	 * stop's own deadline. */
	if (self->committing) {
		pthread_mutex_unlock(&self->cancel_lock);
		return;
	}
	cancel = self->cancel;
	self->cancel = NULL;
	pthread_mutex_unlock(&self->cancel_lock);
	if (cancel == NULL)
		return;
	if ((rc = pthread_attr_init(&attr)) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&thread, &attr, s_cancel_thread, cancel);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		log_warnx("could not start a thread to cancel the statement running: %s",
		          strerror(rc));
		PQfreeCancel(cancel);
	}
}

bool
store_retryable(const store_t *self)
{
	return tf_db_retryable(self->conn);
}

bool
store_lost_race(const store_t *self)
{
	/* 0001's UNIQUE (message_id) and UNIQUE (unit_code, committee, round,
	 * revision), by PostgreSQL's names for them.  A unique violation is
	 * raised only once the other inserter has committed (until then the
	 * insert waits for it), so the row is there for the next check. */
	static const char *const keys[] = {
		"message_message_id_key", "result_unit_code_committee_round_revision_key"
	};

	/* A lost connection is store_retryable's, not a race's. */
	if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK)
		return false;
	if (strcmp(tf_db_failure_state(), "23505") != 0)
		return false;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(tf_db_failure_constraint(), keys[i]) == 0)
			return true;
	return false;
}

static bool
s_printable(const char *name)
{
	if (!tf_utf8_valid(name, strlen(name)))
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

store_t *
store_new(const char *conninfo, const char *chain, const tf_identity_t *signer,
          const store_limits_t *limits, bool *retry_later, char *err, size_t errlen)
{
	store_t *self;

	assert(conninfo != NULL && chain != NULL && signer != NULL && limits != NULL);
	assert(retry_later != NULL);
	*retry_later = false;
	/* Every receipt names the chain, and a reader refuses a name that
	 * would not print as it is (receipt.h). */
	if (strlen(chain) == 0 || strlen(chain) > TF_CHAIN_NAME_MAX || !s_printable(chain)) {
		snprintf(err, errlen, "chain name must be 1 to %d bytes of UTF-8 with no control "
		         "character", TF_CHAIN_NAME_MAX);
		return NULL;
	}
	self = calloc(1, sizeof *self);
	if (self == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&self->cancel_lock, NULL);
	self->limits = *limits;
	self->signer = signer;
	self->conninfo = strdup(conninfo);
	self->chain = strdup(chain);
	self->backoff_ms = BACKOFF_MIN_MS;
	self->messages = copybuf_new();
	self->results = copybuf_new();
	self->candidates = copybuf_new();
	if (self->conninfo == NULL || self->chain == NULL || self->messages == NULL || self->results == NULL
	    || self->candidates == NULL) {
		snprintf(err, errlen, "out of memory");
		store_destroy(&self);
		return NULL;
	}
	if (s_connect(self, err, errlen) != 0) {
		*retry_later = self->retry_later;
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
	s_disconnect(self);
	pthread_mutex_destroy(&self->cancel_lock);
	copybuf_destroy(&self->messages);
	copybuf_destroy(&self->results);
	copybuf_destroy(&self->candidates);
	free(self->conninfo);
	free(self->chain);
	free(self);
	*self_p = NULL;
}

bool
store_ready(store_t *self)
{
	char err[1024];

	if (self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK) {
		if (!self->limits.synchronous || zclock_mono() < self->next_replication_check)
			return true;
		if (s_replication_check(self, false, err, sizeof err) == 0)
			return true;
		log_warnx("%s", err);
		s_disconnect(self);
	}
	if (!self->was_down) {
		log_warnx("database unavailable; not acknowledging until it is back "
		          "(agents keep their messages)");
		self->was_down = true;
	}
	if (zclock_mono() < self->next_try)
		return false;
	s_disconnect(self);
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
	return tf_db_load_registry(self->conn, err, errlen);
}

int
store_begin(store_t *self)
{
	tf_db_clear_failure();
	memset(&self->timing, 0, sizeof self->timing);
	self->txn_link = self->link;
	memcpy(self->txn_head, self->head, TF_HASH_LEN);
	/* Not sent yet: a round trip saved, and none at all for a batch that
	 * writes nothing (every message stored already).  The checks read
	 * before it, as they would in it: each statement of a READ COMMITTED
	 * transaction has a snapshot of its own. */
	self->in_transaction = true;
	self->begun = false;
	return 0;
}

/* Send the BEGIN store_begin put off; 0, or -1 (logged). */
static int
s_begin_now(store_t *self)
{
	assert(self->in_transaction);
	if (self->begun)
		return 0;
	self->begun = true;     /* a ROLLBACK is owed even if BEGIN fails half way */
	return tf_db_exec(self->conn, "BEGIN", "begin");
}

static void
s_chain_restore(store_t *self)
{
	self->link = self->txn_link;
	memcpy(self->head, self->txn_head, TF_HASH_LEN);
}

/* The new head, and the collector's signature of it, in the transaction
 * that moves it: a head is signed if and only if its rows are stored. */
static int
s_head_write(store_t *self, int64_t signed_ms, uint8_t signature[TF_SIGNATURE_LEN])
{
	const tf_peer_t *peer = tf_identity_peer(self->signer);
	char link[24], signed_at[64];
	const char *values[7] = { self->chain, link, (const char *)self->head, signed_at,
		                  peer->name, (const char *)peer->sign_public,
		                  (const char *)signature };
	int lengths[7] = { 0, 0, TF_HASH_LEN, 0, 0, TF_SIGN_PUBLIC_LEN, TF_SIGNATURE_LEN };
	PGresult *res;

	snprintf(link, sizeof link, "%lld", (long long)self->link);
	s_timestamp(signed_ms, signed_at);
	if (tf_chain_head_sign(self->signer, self->chain, self->link, self->head, signed_ms,
	                       signature) != 0) {
		log_warnx("could not sign the head of chain %s", self->chain);
		return -1;
	}
	res = s_exec(self, "heads", 7, values, lengths, PGRES_COMMAND_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* The transaction's COMMIT; 0 once what the batch answers may be
 * acknowledged.  Nothing written (no BEGIN sent): nothing to commit, but
 * with limits.synchronous what the batch answers from stored rows
 * (DUPLICATE) may be on this server only (a commit before, released
 * without its standby): a transaction with an xid of its own waits, at
 * its COMMIT, until a synchronous standby has the WAL up to it, so up to
 * every row committed before it.  A commit not promised on a standby is
 * committed here and not acknowledged: the connection is dropped (the
 * chain's head is read again at the reconnect) and the batch tried again,
 * then answered DUPLICATE after such a barrier. */
static int
s_commit_sent(store_t *self)
{
	int rc;

	if (!self->begun && !self->limits.synchronous)
		return 0;
	pthread_mutex_lock(&self->cancel_lock);
	self->committing = true;
	pthread_mutex_unlock(&self->cancel_lock);
	self->warned = false;
	if (self->begun)
		rc = tf_db_commit(self->conn, "commit");
	else
		rc = tf_db_exec(self->conn, "BEGIN; SELECT pg_catalog.pg_current_xact_id(); COMMIT",
		                "the standby's barrier");
	if (rc == 0 && self->limits.synchronous && s_commit_promised(self) != 0) {
		s_disconnect(self);
		rc = -1;
	}
	pthread_mutex_lock(&self->cancel_lock);
	self->committing = false;
	pthread_mutex_unlock(&self->cancel_lock);
	return rc;
}

int
store_commit(store_t *self)
{
	uint8_t signature[TF_SIGNATURE_LEN];
	char hex[2 * TF_HASH_LEN + 1], sig_hex[2 * TF_SIGNATURE_LEN + 1];
	int64_t signed_ms = tf_now_ms(), t0 = zclock_usecs(), t1;
	bool moved = self->link != self->txn_link;

	self->head_signed = false;
	if (moved && s_head_write(self, signed_ms, signature) != 0) {
		store_rollback(self);
		return -1;
	}
	t1 = zclock_usecs();
	self->timing.head = t1 - t0;
	if (s_commit_sent(self) != 0) {
		self->in_transaction = self->begun = false;
		s_chain_restore(self);
		return -1;
	}
	self->in_transaction = self->begun = false;
	self->timing.commit = zclock_usecs() - t1;
	if (moved) {
		self->head_signed = true;
		self->signed_ms = signed_ms;
		memcpy(self->signature, signature, TF_SIGNATURE_LEN);
	}
	/* Published beside the table: a line an outsider's log keeps. */
	if (moved && (self->head_logged_ms == 0
	              || zclock_mono() - self->head_logged_ms >= HEAD_LOG_EVERY_MS)) {
		sodium_bin2hex(hex, sizeof hex, self->head, TF_HASH_LEN);
		sodium_bin2hex(sig_hex, sizeof sig_hex, signature, TF_SIGNATURE_LEN);
		log_info("chain %s head: link %lld row_hash %s signed_ms %lld by %s signature %s",
		         self->chain, (long long)self->link, hex, (long long)signed_ms,
		         tf_identity_peer(self->signer)->name, sig_hex);
		self->head_logged_ms = zclock_mono();
	}
	return 0;
}

bool
store_signed_head(const store_t *self, const char **chain, int64_t *link,
                  const uint8_t **row_hash, int64_t *signed_ms, const uint8_t **signature,
                  const tf_peer_t **signer)
{
	if (!self->head_signed)
		return false;
	*chain = self->chain;
	*link = self->link;
	*row_hash = self->head;
	*signed_ms = self->signed_ms;
	*signature = self->signature;
	*signer = tf_identity_peer(self->signer);
	return true;
}

void
store_timing(const store_t *self, store_timing_t *timing)
{
	*timing = self->timing;
}

void
store_rollback(store_t *self)
{
	s_chain_restore(self);
	if (self->begun && PQstatus(self->conn) == CONNECTION_OK)
		tf_db_exec(self->conn, "ROLLBACK", "rollback");
	self->in_transaction = self->begun = false;
}

/* The next link: its number, and its hash from the previous one. */
static int64_t
s_chain_next(store_t *self, tf_chain_kind_t kind, const uint8_t entry[TF_HASH_LEN],
             int64_t received_ms, int reason, uint8_t hash[TF_HASH_LEN])
{
	int64_t link = self->link + 1;

	tf_chain_link_hash(self->head, link, kind, entry, received_ms, reason, hash);
	return link;
}

static void
s_chain_advance(store_t *self, int64_t link, const uint8_t hash[TF_HASH_LEN])
{
	assert(link == self->link + 1);
	self->link = link;
	memcpy(self->head, hash, TF_HASH_LEN);
}

/* A row of this collector's chain, as a receipt names it. */
static void
s_row_here(const store_t *self, int64_t link, const uint8_t hash[TF_HASH_LEN],
           int64_t received_ms, store_row_t *row)
{
	snprintf(row->chain, sizeof row->chain, "%s", self->chain);
	row->link = link;
	memcpy(row->row_hash, hash, TF_HASH_LEN);
	row->received_ms = received_ms;
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
	if (s_begin_now(self) != 0)
		return NULL;
	for (int i = 0; i < n; i++)
		formats[i] = lengths[i] > 0 ? 1 : 0;
	res = PQexecPrepared(self->conn, name, n, values, lengths, formats, 0);
	if (PQresultStatus(res) != want) {
		tf_db_note_failure(res);
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

/* Append an element to a "{a,b,c}" array literal, quoted: an agent id may
 * hold any printable character, braces and commas included. */
static void
s_array_add(zchunk_t *array, const char *value)
{
	if (zchunk_size(array) > 1)
		zchunk_extend(array, ",", 1);
	zchunk_extend(array, "\"", 1);
	for (const char *p = value; *p; p++) {
		if (*p == '"' || *p == '\\')
			zchunk_extend(array, "\\", 1);
		zchunk_extend(array, p, 1);
	}
	zchunk_extend(array, "\"", 1);
}

static void
s_array_add_uint(zchunk_t *array, unsigned long long value)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", value);
	s_array_add(array, num);
}

static void
s_array_close(zchunk_t *array)
{
	zchunk_extend(array, "}", 2);   /* with the terminating NUL */
}

enum {
	ARG_IDS, ARG_UNITS, ARG_COMMITTEES, ARG_ROUNDS, ARG_REVISIONS, ARG_AGENTS, ARG_SEQUENCES,
	ARG_PHOTOS, ARG_REGISTERED, ARG_TOOK_PART, ARG_ISSUED, ARG_RETURNED, ARG_VALID,
	ARG_INVALID, ARG_COUNT
};

/* The report's sheet photo hash as 64 hex digits; "" and false if none. */
static bool
s_photo_hex(const tf_report_t *r, char out[2 * TF_HASH_LEN + 1])
{
	out[0] = '\0';
	if (r->sheet_photo_sha256.len != TF_HASH_LEN)
		return false;
	sodium_bin2hex(out, 2 * TF_HASH_LEN + 1, r->sheet_photo_sha256.data, TF_HASH_LEN);
	return true;
}

static void
s_refuse(store_entry_t *e, int reason, const char *detail)
{
	e->outcome = STORE_REFUSED;
	e->check->reason = reason;
	snprintf(e->check->detail, sizeof e->check->detail, "%s", detail);
}

/* The checks within the batch that the database cannot see: a runoff
 * whose round 1 is earlier in the same batch, a photo or a sequence number
 * used twice in it. */
static void
s_check_in_batch(store_entry_t *entries, size_t count, tf_prior_round_t *priors)
{
	zhashx_t *photos = zhashx_new(), *sequences = zhashx_new();

	zhashx_set_destructor(photos, NULL);
	zhashx_set_duplicator(photos, NULL);
	zhashx_set_destructor(sequences, NULL);
	zhashx_set_duplicator(sequences, NULL);
	for (size_t i = 0; i < count; i++) {
		store_entry_t *e = &entries[i];
		const tf_report_t *r = e->report;
		char key[TF_AGENT_ID_MAX + 32], photo[2 * TF_HASH_LEN + 1];
		const char *other;

		if (e->outcome != STORE_ACCEPTED)
			continue;
		snprintf(key, sizeof key, "%s/%llu", e->envelope->agent_id,
		         (unsigned long long)e->envelope->sequence);
		if (zhashx_lookup(sequences, key) != NULL) {
			s_refuse(e, TALLYFEED__REASON__REASON_REPLAYED_SEQUENCE,
			         "this agent's sequence number came twice in one batch");
			continue;
		}
		zhashx_insert(sequences, key, (void *)1);
		/* The latest revision of the round before, earlier in this batch,
		 * counts over what was stored before it. */
		if (r->round >= 2) {
			unsigned best = 0;
			for (size_t j = 0; j < i; j++) {
				const tf_report_t *o = entries[j].report;
				if (entries[j].outcome != STORE_ACCEPTED || o->round >= r->round
				    || (r->round == 2 && o->round != 1)
				    || o->committee != r->committee || strcmp(o->unit_code, r->unit_code) != 0
				    || o->revision < best)
					continue;
				best = o->revision;
				priors[i].stored = true;
				priors[i].election_valid = entries[j].check->election_valid;
				tf_rules_unfilled(o, NULL, priors[i].unfilled);
			}
			/* Without its earlier round stored the message is not
			 * wrong, only early (a file queued before its round 1, a
			 * bundle carried ahead): deferred, it comes again.  A
			 * runoff for seats round 1 filled is wrong: refused. */
			if (tf_rules_check_sequence(r, &priors[i], e->check) != 0) {
				e->outcome = e->check->reason == TALLYFEED__REASON__REASON_RUNOFF_WITHOUT_ROUND1
				             ? STORE_DEFERRED : STORE_REFUSED;
				continue;
			}
		}
		if (s_photo_hex(r, photo)) {
			other = zhashx_lookup(photos, photo);
			if (other != NULL && strcmp(other, r->unit_code) != 0)
				e->check->warnings |= TF_WARN_PHOTO_REUSED;
			else if (other == NULL)
				zhashx_insert(photos, photo, r->unit_code);
		}
	}
	zhashx_destroy(&photos);
	zhashx_destroy(&sequences);
}

/* A later copy of a message in the same batch hears DUPLICATE only if
 * the first copy is stored; else what the first heard (deferred or
 * refused), so an agent never takes "stored" for a message that is not.
 * A second message for a key whose first holder is not stored waits
 * (deferred) for a batch of its own. */
static void
s_settle_copies(store_entry_t *entries, size_t count, const size_t *first_id,
                const size_t *first_key)
{
	for (size_t i = 0; i < count; i++) {
		store_entry_t *e = &entries[i], *first;

		if (first_id[i] != 0 && e->outcome == STORE_DUPLICATE) {
			first = &entries[first_id[i] - 1];
			if (first->outcome == STORE_ACCEPTED) {
				e->copy_of = first_id[i];       /* its row, once written */
				continue;
			}
			e->outcome = first->outcome;
			e->check->reason = first->check->reason;
			snprintf(e->check->detail, sizeof e->check->detail, "%s", first->check->detail);
		} else if (first_id[i] == 0 && first_key[i] != 0 && e->outcome == STORE_REVISION_EXISTS) {
			first = &entries[first_key[i] - 1];
			if (first->outcome == STORE_ACCEPTED)
				continue;
			e->outcome = STORE_DEFERRED;
			e->check->reason = TALLYFEED__REASON__REASON_REVISION_EXISTS;
			snprintf(e->check->detail, sizeof e->check->detail,
			         "another message for this revision came in the same batch and was not "
			         "stored; send it again");
		}
	}
}

/* batch_checks prepared afresh: its plan is made at its next execution,
 * on the tables as they are then.  0, or -1 (logged). */
static int
s_prepare_checks(store_t *self)
{
	char err[512];

	assert(strcmp(s_statements[0].name, "batch_checks") == 0);
	if (self->checks_prepared) {
		if (tf_db_exec(self->conn, "DEALLOCATE batch_checks", "deallocate") != 0)
			return -1;
		self->checks_prepared = false;
	}
	if (s_prepare(self, 0, err, sizeof err) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	self->checks_prepared = true;
	self->checked_since_plan = 0;
	return 0;
}

static bool
s_same_bytes(const store_entry_t *a, const store_entry_t *b)
{
	return a->raw_len == b->raw_len && memcmp(a->raw, b->raw, a->raw_len) == 0;
}

/* The chain row a duplicate finding names (batch_checks' columns 6 to 9),
 * if the bytes it holds (column 10, their SHA-256) are digest: a message
 * id stored with other bytes names no row of this message. */
static bool
s_stored_row(const PGresult *res, int row, const uint8_t digest[TF_HASH_LEN], store_row_t *out)
{
	const char *hex = PQgetvalue(res, row, 8), *sha = PQgetvalue(res, row, 10);
	uint8_t stored[TF_HASH_LEN];

	*out = (store_row_t){ .link = 0 };
	if (sodium_hex2bin(stored, sizeof stored, sha, strlen(sha), NULL, NULL, NULL) != 0
	    || sodium_memcmp(stored, digest, TF_HASH_LEN) != 0)
		return false;
	if (sodium_hex2bin(out->row_hash, sizeof out->row_hash, hex, strlen(hex), NULL, NULL,
	                   NULL) != 0)
		return false;   /* the schema's CHECK makes it 32 bytes: never */
	snprintf(out->chain, sizeof out->chain, "%s", PQgetvalue(res, row, 6));
	out->link = strtoll(PQgetvalue(res, row, 7), NULL, 10);
	out->received_ms = strtoll(PQgetvalue(res, row, 9), NULL, 10);
	return true;
}

/* Mark the entries the database (or an earlier entry of the batch)
 * already holds, and those a check against stored results refuses or
 * flags. */
static int
s_find_conflicts(store_t *self, store_entry_t *entries, size_t count)
{
	zchunk_t *arrays[ARG_COUNT];
	zhashx_t *ids = zhashx_new(), *keys = zhashx_new();
	const char *values[ARG_COUNT];
	tf_prior_round_t *priors = calloc(count, sizeof *priors);
	size_t *first_id = calloc(count, sizeof *first_id);     /* 1 + index of the same id, or 0 */
	size_t *first_key = calloc(count, sizeof *first_key);   /* 1 + index of the same key, or 0 */
	PGresult *res = NULL;
	int rc = -1;

	for (int a = 0; a < ARG_COUNT; a++)
		arrays[a] = zchunk_new("{", 1);         /* zchunk_extend grows it */
	zhashx_set_destructor(ids, NULL);
	zhashx_set_duplicator(ids, NULL);
	zhashx_set_destructor(keys, NULL);
	zhashx_set_duplicator(keys, NULL);
	if (priors == NULL || first_id == NULL || first_key == NULL)
		goto out;
	for (size_t i = 0; i < count; i++) {
		const tf_report_t *r = entries[i].report;
		char hex[2 * TF_MESSAGE_ID_LEN + 1], key[64], photo[2 * TF_HASH_LEN + 1];

		tf_message_id_hex(entries[i].envelope->message_id.data,
		                  entries[i].envelope->message_id.len, hex);
		snprintf(key, sizeof key, "%s/%d/%u/%u", r->unit_code, (int)r->committee, r->round,
		         r->revision);
		entries[i].outcome = STORE_ACCEPTED;
		entries[i].row = (store_row_t){ .link = 0 };
		entries[i].copy_of = 0;
		/* Within the batch: an agent may resend before the first copy's
		 * ack.  What a later copy hears is settled once the first copy's
		 * fate is known (s_settle_copies). */
		first_id[i] = (size_t)zhashx_lookup(ids, hex);
		first_key[i] = (size_t)zhashx_lookup(keys, key);
		if (first_id[i] != 0 && !s_same_bytes(&entries[first_id[i] - 1], &entries[i])) {
			s_refuse(&entries[i], TALLYFEED__REASON__REASON_MESSAGE_ID_REUSED,
			         "this message id came earlier in the batch with other bytes: not "
			         "this message");
			first_id[i] = 0;
		} else if (first_id[i] != 0)
			entries[i].outcome = STORE_DUPLICATE;
		else if (first_key[i] != 0)
			entries[i].outcome = STORE_REVISION_EXISTS;
		else {
			zhashx_update(ids, hex, (void *)(i + 1));
			zhashx_update(keys, key, (void *)(i + 1));
		}
		s_photo_hex(r, photo);
		s_array_add(arrays[ARG_IDS], hex);
		s_array_add(arrays[ARG_UNITS], r->unit_code);
		s_array_add(arrays[ARG_COMMITTEES], tf_committee_word(r->committee));
		s_array_add_uint(arrays[ARG_ROUNDS], r->round);
		s_array_add_uint(arrays[ARG_REVISIONS], r->revision);
		s_array_add(arrays[ARG_AGENTS], entries[i].envelope->agent_id);
		s_array_add_uint(arrays[ARG_SEQUENCES], entries[i].envelope->sequence & INT64_MAX);
		s_array_add(arrays[ARG_PHOTOS], photo);
		s_array_add_uint(arrays[ARG_REGISTERED], r->registered);
		s_array_add_uint(arrays[ARG_TOOK_PART], r->took_part);
		s_array_add_uint(arrays[ARG_ISSUED], r->ballots_issued);
		s_array_add_uint(arrays[ARG_RETURNED], r->ballots_returned);
		s_array_add_uint(arrays[ARG_VALID], r->ballots_valid);
		s_array_add_uint(arrays[ARG_INVALID], r->ballots_invalid);
	}
	for (int a = 0; a < ARG_COUNT; a++) {
		s_array_close(arrays[a]);
		values[a] = (const char *)zchunk_data(arrays[a]);
	}
	if ((!self->checks_prepared || self->checked_since_plan >= CHECKS_REPLAN_EVERY)
	    && s_prepare_checks(self) != 0)
		goto out;
	self->checked_since_plan += (int64_t)count;
	res = PQexecPrepared(self->conn, "batch_checks", ARG_COUNT, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		tf_db_note_failure(res);
		log_warnx("batch_checks failed: %s", tf_db_error(self->conn));
		goto out;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		const char *kind = PQgetvalue(res, row, 0);
		long item = strtol(PQgetvalue(res, row, 1), NULL, 10) - 1;
		store_entry_t *e;

		if (item < 0 || (size_t)item >= count)
			continue;
		e = &entries[item];
		/* A stored message id wins over a stored key: it is the same message. */
		if (strcmp(kind, "duplicate") == 0) {
			uint8_t digest[TF_HASH_LEN];

			/* The same message id is the same message only with the
			 * same bytes: a DUPLICATE receipt must name the row of
			 * what this sender sent, never another's. */
			crypto_hash_sha256(digest, e->raw, e->raw_len);
			if (s_stored_row(res, row, digest, &e->row))
				e->outcome = STORE_DUPLICATE;
			else
				s_refuse(e, TALLYFEED__REASON__REASON_MESSAGE_ID_REUSED,
				         "this message id is stored with other bytes: not this message");
		}
		else if (strcmp(kind, "revision_exists") == 0) {
			if (e->outcome == STORE_ACCEPTED)
				e->outcome = STORE_REVISION_EXISTS;
		} else if (strcmp(kind, "replayed") == 0) {
			if (e->outcome == STORE_ACCEPTED)
				s_refuse(e, TALLYFEED__REASON__REASON_REPLAYED_SEQUENCE,
				         "this agent's sequence number is stored under another message id");
		} else if (strcmp(kind, "prior") == 0) {
			priors[item].stored = true;
			priors[item].election_valid = strcmp(PQgetvalue(res, row, 2), "t") == 0;
			priors[item].unfilled[TALLYFEED__POSITION__POSITION_HEAD] =
			    (unsigned)strtoul(PQgetvalue(res, row, 3), NULL, 10);
			priors[item].unfilled[TALLYFEED__POSITION__POSITION_DEPUTY] =
			    (unsigned)strtoul(PQgetvalue(res, row, 4), NULL, 10);
			priors[item].unfilled[TALLYFEED__POSITION__POSITION_MEMBER] =
			    (unsigned)strtoul(PQgetvalue(res, row, 5), NULL, 10);
		} else if (strcmp(kind, "photo_reused") == 0)
			e->check->warnings |= TF_WARN_PHOTO_REUSED;
		else if (strcmp(kind, "identical_figures") == 0)
			e->check->warnings |= TF_WARN_IDENTICAL_FIGURES;
	}
	s_check_in_batch(entries, count, priors);
	s_settle_copies(entries, count, first_id, first_key);
	rc = 0;
out:
	PQclear(res);
	for (int a = 0; a < ARG_COUNT; a++)
		zchunk_destroy(&arrays[a]);
	zhashx_destroy(&ids);
	zhashx_destroy(&keys);
	free(priors);
	free(first_id);
	free(first_key);
	return rc;
}

static const char s_message_columns[] =
    "message_id, agent_id, sequence, created_at, payload_type, envelope, envelope_sha256, "
    "signature, received_at, chain, link, row_hash";
/* A millisecond time as PostgreSQL timestamptz text, exactly. */
static void
s_timestamp(int64_t ms, char out[64])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - secs * 1000));
}

static void
s_message_row(store_t *self, store_entry_t *e, int64_t received_ms)
{
	copybuf_t *buf = self->messages;
	const tf_envelope_t *env = e->envelope;
	uint8_t digest[crypto_hash_sha256_BYTES], hash[TF_HASH_LEN];
	char created[64], received[64];
	int64_t link;

	crypto_hash_sha256(digest, e->raw, e->raw_len);
	s_timestamp(env->created_unix_ms, created);
	s_timestamp(received_ms, received);
	link = s_chain_next(self, TF_CHAIN_MESSAGE, digest, received_ms, 0, hash);
	s_chain_advance(self, link, hash);
	s_row_here(self, link, hash, received_ms, &e->row);
	copybuf_bytea(buf, env->message_id.data, env->message_id.len);
	copybuf_text(buf, env->agent_id);
	copybuf_int(buf, (long long)env->sequence);
	copybuf_text(buf, created);
	copybuf_int(buf, env->payload_type);
	copybuf_bytea(buf, e->raw, e->raw_len);
	copybuf_bytea(buf, digest, sizeof digest);
	copybuf_bytea(buf, env->signature.data, env->signature.len);
	copybuf_text(buf, received);
	copybuf_text(buf, self->chain);
	copybuf_int(buf, link);
	copybuf_bytea(buf, hash, sizeof hash);
	copybuf_end_row(buf);
}

/* The result row: the columns the signed report gives, then what the
 * collector derived from it (who the rules elect, the W flags). */
static void
s_result_row(copybuf_t *buf, const store_entry_t *e)
{
	const char *warnings[TF_WARN_COUNT];
	size_t nwarnings = 0;

	for (int bit = 0; bit < TF_WARN_COUNT; bit++)
		if (e->check->warnings & (1u << bit))
			warnings[nwarnings++] = tf_warning_name(bit);
	tf_rows_result_signed(buf, &e->envelope->message_id, e->report);
	copybuf_int(buf, e->check->seats_filled);
	copybuf_bool(buf, e->check->election_valid);
	copybuf_words(buf, warnings, nwarnings);
	copybuf_end_row(buf);
}

/* The tables store_results copies into, parents before children: the
 * foreign keys are checked row by row. */
static const char *const s_copy_tables[3] = {
	"tallyfeed.message", "tallyfeed.result", "tallyfeed.candidate"
};
static const char *const s_copy_columns[3] = {
	s_message_columns,
	TF_ROWS_RESULT_SIGNED_COLUMNS ", seats_filled, election_valid, warnings",
	TF_ROWS_CANDIDATE_COLUMNS
};

int
store_results(store_t *self, store_entry_t *entries, size_t count)
{
	copybuf_t *const bufs[3] = { self->messages, self->results, self->candidates };
	int64_t received_ms, t0 = zclock_usecs(), t1, t2;
	const char *before;
	bool sending;

	if (count == 0)
		return 0;
	if (s_find_conflicts(self, entries, count) != 0)
		return -1;
	t1 = zclock_usecs();
	self->timing.checks += t1 - t0;
	copybuf_reset(self->messages);
	copybuf_reset(self->results);
	copybuf_reset(self->candidates);
	received_ms = tf_now_ms();
	for (size_t i = 0; i < count; i++) {
		if (entries[i].outcome != STORE_ACCEPTED)
			continue;
		s_message_row(self, &entries[i], received_ms);
		s_result_row(self->results, &entries[i]);
		tf_rows_candidates(self->candidates, &entries[i].envelope->message_id,
		                   entries[i].report);
	}
	for (size_t i = 0; i < count; i++)
		if (entries[i].outcome == STORE_DUPLICATE && entries[i].copy_of != 0)
			entries[i].row = entries[entries[i].copy_of - 1].row;
	t2 = zclock_usecs();
	self->timing.rows += t2 - t1;
	/* The three COPYs in one query string, with the BEGIN put off. */
	assert(self->in_transaction);
	sending = copybuf_rows(self->messages) > 0;
	before = sending && !self->begun ? "BEGIN" : NULL;
	if (sending)
		self->begun = true;     /* sent with them, or before */
	if (copybuf_send(self->conn, before, bufs, s_copy_tables, s_copy_columns, 3) != 0)
		return -1;
	self->timing.copy += zclock_usecs() - t2;
	return 0;
}

/* The quarantine row kept before for these very bytes. */
static int
s_quarantined_row(store_t *self, const uint8_t digest[TF_HASH_LEN], store_row_t *row)
{
	const char *values[1] = { (const char *)digest };
	int lengths[1] = { TF_HASH_LEN };
	PGresult *res;

	*row = (store_row_t){ .link = 0 };
	res = s_exec(self, "quarantine_row", 1, values, lengths, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1)
		s_stored_row(res, 0, digest, row);
	PQclear(res);
	return 0;
}

int
store_quarantine(store_t *self, const tf_envelope_t *env, const uint8_t *raw, size_t raw_len,
                 size_t keep, int reason, const char *detail, bool *written, store_row_t *row)
{
	char sequence[24], reason_text[12], received[64], link_text[24], size_text[24];
	const char *values[13];
	int lengths[13] = { 0 };
	char agent[TF_AGENT_ID_MAX * 4 + 1] = "";
	char safe_detail[TF_DETAIL_MAX];
	uint8_t digest[TF_HASH_LEN], hash[TF_HASH_LEN];
	int64_t received_ms = tf_now_ms(), link;
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
	         env != NULL ? (unsigned long long)(env->sequence & INT64_MAX) : 0ULL);
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
	assert(keep <= raw_len);
	if (written != NULL)
		*written = false;
	/* The SHA-256 is of the whole frame, whatever of it is kept. */
	s_bytea(raw, keep, &values[6], &lengths[6]);
	crypto_hash_sha256(digest, raw, raw_len);
	s_bytea(digest, sizeof digest, &values[7], &lengths[7]);
	s_timestamp(received_ms, received);
	values[8] = received;
	values[9] = self->chain;
	link = s_chain_next(self, TF_CHAIN_QUARANTINE, digest, received_ms, reason, hash);
	snprintf(link_text, sizeof link_text, "%lld", (long long)link);
	values[10] = link_text;
	s_bytea(hash, sizeof hash, &values[11], &lengths[11]);
	snprintf(size_text, sizeof size_text, "%zu", raw_len);
	values[12] = size_text;
	res = s_exec(self, "quarantine", 13, values, lengths, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	/* No row: this message id, or these very bytes, are quarantined
	 * already, and the link unused. */
	if (PQntuples(res) == 1) {
		s_chain_advance(self, link, hash);
		s_row_here(self, link, hash, received_ms, row);
		if (written != NULL)
			*written = true;
		PQclear(res);
		return 0;
	}
	PQclear(res);
	return s_quarantined_row(self, digest, row);
}

int
store_heartbeat(store_t *self, const tf_envelope_t *env, const Tallyfeed__Heartbeat *hb,
                const char *township)
{
	char depth[12], age[12], acked[24], uptime[24], version[40], created[64];
	const char *values[8] = { env->agent_id, depth, age, acked, version, uptime, township,
		                  created };
	int lengths[8] = { 0 };
	PGresult *res;
	int rc;

	snprintf(depth, sizeof depth, "%u", hb->spool_depth > INT32_MAX ? INT32_MAX : hb->spool_depth);
	snprintf(age, sizeof age, "%u", hb->oldest_pending_age_s > INT32_MAX ? INT32_MAX
	                                                                    : hb->oldest_pending_age_s);
	snprintf(acked, sizeof acked, "%llu", (unsigned long long)(hb->last_acked_sequence & INT64_MAX));
	snprintf(uptime, sizeof uptime, "%llu", (unsigned long long)(hb->uptime_s & INT64_MAX));
	snprintf(version, sizeof version, "%.32s", hb->software_version);
	s_timestamp(env->created_unix_ms, created);
	res = s_exec(self, "heartbeat", 8, values, lengths, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) == 1 ? 0 : 1;
	PQclear(res);
	return rc;
}
