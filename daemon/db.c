/*
 * db: PostgreSQL connection helpers shared by the collector and the console.
 */
#include "db.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

PGconn *
tf_db_connect(const char *conninfo, const char *appname, char *err, size_t errlen)
{
	/* Notices ("schema already exists, skipping") are not for our users. */
	const char *keys[] = { "dbname", "fallback_application_name", "options", NULL };
	const char *values[] = { conninfo, appname, "-c client_min_messages=warning", NULL };
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
	/* Only our own schema and pg_catalog: no object of another user's
	 * making is found by an unqualified name. */
	res = PQexec(conn, "SELECT pg_catalog.set_config('search_path', 'tallyfeed, pg_catalog', false)");
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
tf_db_read_only(PGconn *conn, const char *role, char *err, size_t errlen)
{
	char *quoted = PQescapeIdentifier(conn, role, strlen(role));
	char sql[256];
	PGresult *res;
	int rc = 0;

	if (quoted == NULL) {
		snprintf(err, errlen, "could not quote role %s: %s", role, tf_db_error(conn));
		return -1;
	}
	snprintf(sql, sizeof sql, "SET ROLE %s; SET default_transaction_read_only = on", quoted);
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
tf_db_exec(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s failed: %s", what, tf_db_error(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}
