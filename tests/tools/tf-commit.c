/*
 * tf-commit: tf_db_commit against a real PostgreSQL server (the PG*
 * environment, or CONNINFO).  A sound transaction commits; one in which a
 * statement failed unnoticed is aborted, and its COMMIT "succeeds"
 * (PGRES_COMMAND_OK) with the tag ROLLBACK: tf_db_commit must say it
 * failed.  Prints one line per case; exit 0 if both are as promised.
 *
 *   tf-commit [CONNINFO]
 */
#include "db.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	char err[1024];
	PGconn *conn = tf_db_connect(argc > 1 ? argv[1] : "", "tf-commit", TF_DB_WRITER, err, sizeof err);
	int rc = 0;

	if (conn == NULL) {
		fprintf(stderr, "tf-commit: %s\n", err);
		return 1;
	}
	if (tf_db_exec(conn, "BEGIN", "begin") != 0 || tf_db_exec(conn, "SELECT 1", "select") != 0)
		return 1;
	if (tf_db_commit(conn, "commit") == 0)
		printf("ok: a sound transaction commits\n");
	else {
		printf("FAIL: a sound transaction did not commit\n");
		rc = 1;
	}
	if (tf_db_exec(conn, "BEGIN", "begin") != 0)
		return 1;
	/* A failed statement whose error nobody looks at: the transaction is
	 * aborted from here on. */
	PQclear(PQexec(conn, "SELECT 1/0"));
	if (tf_db_commit(conn, "commit") != 0)
		printf("ok: COMMIT of an aborted transaction is a failure\n");
	else {
		printf("FAIL: COMMIT of an aborted transaction was taken for a commit\n");
		rc = 1;
	}
	PQfinish(conn);
	return rc;
}
