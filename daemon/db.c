/*
 * db: PostgreSQL connection helpers shared by the collector and the console.
 */
#include "db.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

PGconn *
tf_db_connect(const char *conninfo, const char *appname, const char *target, char *err,
              size_t errlen)
{
	/* The defaults come before dbname, whose conninfo (expanded) overrides
	 * them; notices ("schema already exists, skipping") are not for our
	 * users.  With no target, the conninfo or PGTARGETSESSIONATTRS says
	 * (or libpq's "any"). */
	const char *keys[] = { "connect_timeout", "keepalives", "keepalives_idle",
		               "keepalives_interval", "keepalives_count", "tcp_user_timeout",
		               "target_session_attrs", "dbname", "fallback_application_name",
		               "options", NULL };
	const char *values[] = { "10", "1", "10", "5", "3", "30000", target, conninfo, appname,
		                 "-c client_min_messages=warning", NULL };
	PGconn *conn;
	PGresult *res;

	assert(conninfo != NULL && appname != NULL);
	/* expand_dbname: dbname may be a whole conninfo string or URI. */
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL) {
		snprintf(err, errlen, "could not connect to database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "could not connect to database: %s", tf_db_error(conn));
		PQfinish(conn);
		return NULL;
	}
	/* pg_catalog first, then our own schema, and pg_temp last (named, or
	 * PostgreSQL would search it first for tables): no object of another
	 * user's making, in our schema or a temporary one, can stand in for a
	 * built-in function or operator found by an unqualified name. */
	res = PQexec(conn, "SELECT pg_catalog.set_config('search_path', "
	                   "'pg_catalog, tallyfeed, pg_temp', false)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not set search_path: %s", tf_db_error(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

int
tf_db_read_only(PGconn *conn, const char *role, int statement_timeout_ms, char *err,
                size_t errlen)
{
	char *quoted = PQescapeIdentifier(conn, role, strlen(role));
	char sql[384];
	PGresult *res;
	int rc = 0;

	if (quoted == NULL) {
		snprintf(err, errlen, "could not quote role %s: %s", role, tf_db_error(conn));
		return -1;
	}
	snprintf(sql, sizeof sql, "SET ROLE %s; SET default_transaction_read_only = on; "
	         "SET lock_timeout = 10000; SET idle_in_transaction_session_timeout = 60000; "
	         "SET statement_timeout = %d", quoted, statement_timeout_ms);
	PQfreemem(quoted);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "could not read as role %s (%s); grant it to this login: "
		         "GRANT %s TO %s", role, tf_db_error(conn), role, PQuser(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

const char *
tf_db_error(PGconn *conn)
{
	static _Thread_local char line[1024];   /* tallyfeed-web: one per serving thread */
	char *p;

	snprintf(line, sizeof line, "%s", PQerrorMessage(conn));
	while ((p = strchr(line, '\n')) != NULL) {
		if (p[1] == '\0')
			*p = '\0';
		else
			*p = ' ';
	}
	return line;
}

int
tf_db_commit(PGconn *conn, const char *what)
{
	PGresult *res = PQexec(conn, "COMMIT");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		tf_db_note_failure(res);
		log_warnx("%s failed: %s", what, tf_db_error(conn));
		rc = -1;
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* COMMIT of a transaction that is already aborted "succeeds"
		 * with the tag ROLLBACK: nothing of it is stored. */
		log_warnx("%s failed: the server answered %s: the transaction was rolled back",
		          what, PQcmdStatus(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
tf_db_session_limits(PGconn *conn, int statement_ms, int lock_ms, int idle_ms, char *err,
                     size_t errlen)
{
	char sql[512];
	PGresult *res;
	int rc = 0;

	/* The server's side of the connection too: a client host that dies
	 * leaves a half-open connection whose backend, and the locks it holds
	 * (a collector's chain), would otherwise live until the operating
	 * system's keepalive gives up, hours later.  Over a Unix socket these
	 * do nothing. */
	snprintf(sql, sizeof sql,
	         "SELECT pg_catalog.set_config('statement_timeout', '%d', false), "
	         "pg_catalog.set_config('lock_timeout', '%d', false), "
	         "pg_catalog.set_config('idle_in_transaction_session_timeout', '%d', false), "
	         "pg_catalog.set_config('tcp_keepalives_idle', '10', false), "
	         "pg_catalog.set_config('tcp_keepalives_interval', '5', false), "
	         "pg_catalog.set_config('tcp_keepalives_count', '3', false), "
	         "pg_catalog.set_config('tcp_user_timeout', '30000', false)",
	         statement_ms, lock_ms, idle_ms);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not set the session's timeouts: %s", tf_db_error(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
tf_db_durable(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res;
	int rc = -1;

	/* on: COMMIT returns once the transaction is flushed to this server's
	 * WAL, and to a synchronous standby's disk where one is configured.
	 * remote_apply would only add that a standby shows it, not that it
	 * survives; local or off would let an ack outlive a crash. */
	res = PQexec(conn, "SELECT pg_catalog.set_config('synchronous_commit', 'on', false), "
	                   "pg_catalog.current_setting('fsync')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(err, errlen, "could not set synchronous_commit: %s", tf_db_error(conn));
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "on") != 0) {
		snprintf(err, errlen, "the PostgreSQL server runs with fsync = %s: a committed "
		         "result could be lost in a crash after its agent was told it is stored; "
		         "refusing to collect (set fsync = on in postgresql.conf)",
		         PQgetvalue(res, 0, 1));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int
tf_db_schema_digest(PGconn *conn, char out[65], char *err, size_t errlen)
{
	/* pg_get_viewdef qualifies what the search_path does not find: with
	 * pg_catalog alone, every name of ours comes out qualified, the same
	 * in any session.  Sorted by byte, whatever the database's collation. */
	static const char sql[] =
	    "SELECT (SELECT encode(sha256(convert_to(coalesce(string_agg(d, E'\\n' ORDER BY d COLLATE \"C\"), "
	    "                                   ''), 'UTF8')), 'hex') FROM ("
	    "   SELECT 'view ' || c.relname || E'\\n' || pg_get_viewdef(c.oid) AS d "
	    "   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	    "   WHERE n.nspname = 'tallyfeed' AND c.relkind IN ('v', 'm') "
	    "   UNION ALL "
	    "   SELECT 'function ' || p.oid::regprocedure::text || E'\\n' || pg_get_functiondef(p.oid) "
	    "   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
	    "   WHERE n.nspname = 'tallyfeed' AND p.prokind IN ('f', 'p') "
	    "   UNION ALL "
	    "   SELECT 'trigger ' || c.relname || '.' || t.tgname || ' ' || t.tgenabled::text || E'\\n' "
	    "          || pg_get_triggerdef(t.oid) "
	    "   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
	    "   JOIN pg_namespace n ON n.oid = c.relnamespace "
	    "   WHERE n.nspname = 'tallyfeed' AND NOT t.tgisinternal "
	    "   UNION ALL "
	    "   SELECT 'constraint ' || c.relname || '.' || k.conname || E'\\n' "
	    "          || pg_get_constraintdef(k.oid) "
	    "   FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
	    "   JOIN pg_namespace n ON n.oid = c.relnamespace "
	    "   WHERE n.nspname = 'tallyfeed') defs)";
	PGresult *res = NULL;
	int rc = -1;

	assert(PQtransactionStatus(conn) == PQTRANS_INTRANS);
	if (tf_db_exec(conn, "SET LOCAL search_path = pg_catalog", "search_path") != 0) {
		snprintf(err, errlen, "could not digest the schema: %s", tf_db_error(conn));
		return -1;
	}
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1
	    || PQgetlength(res, 0, 0) != 64) {
		snprintf(err, errlen, "could not digest the schema: %s", tf_db_error(conn));
		goto out;
	}
	snprintf(out, 65, "%s", PQgetvalue(res, 0, 0));
	rc = 0;
out:
	PQclear(res);
	if (tf_db_exec(conn, "SET LOCAL search_path = pg_catalog, tallyfeed, pg_temp",
	               "search_path") != 0)
		rc = -1;
	return rc;
}

static _Thread_local char s_sqlstate[6];
static _Thread_local char s_constraint[64];    /* NAMEDATALEN */

void
tf_db_note_failure(const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)
	                                     : NULL;

	snprintf(s_sqlstate, sizeof s_sqlstate, "%s", state != NULL ? state : "");
	snprintf(s_constraint, sizeof s_constraint, "%s", constraint != NULL ? constraint : "");
}

void
tf_db_clear_failure(void)
{
	s_sqlstate[0] = '\0';
	s_constraint[0] = '\0';
}

const char *
tf_db_failure_state(void)
{
	return s_sqlstate;
}

const char *
tf_db_failure_constraint(void)
{
	return s_constraint;
}

bool
tf_db_retryable(PGconn *conn)
{
	static const char *const classes[] = { "08", "40", "53", "57", "58" };
	static const char *const states[] = { "55P03", "25P03", "25006" };

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		return true;
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
		if (strncmp(s_sqlstate, classes[i], 2) == 0)
			return true;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(s_sqlstate, states[i]) == 0)
			return true;
	return false;
}

int
tf_db_exec(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		tf_db_note_failure(res);
		log_warnx("%s failed: %s", what, tf_db_error(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* See db.h. */
tf_registry_t *
tf_db_load_registry(PGconn *conn, char *err, size_t errlen)
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
		res = PQexec(conn, queries[level]);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "could not read the registry: %s", tf_db_error(conn));
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
