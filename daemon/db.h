/*
 * db: PostgreSQL connections the way PostgreSQL's own tools make them:
 * PQconnectdbParams with a fallback application name, a safe search_path,
 * and errors reported as one line.
 */
#ifndef TF_DB_H
#define TF_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "registry.h"

/* Connect using a conninfo string (may be "" to use the PG* environment).
 * Returns an open connection or NULL with the reason in err. */
PGconn *tf_db_connect(const char *conninfo, const char *appname, char *err, size_t errlen);
/* The role every reading program (console, dashboard) works as. */
#define TF_DB_READER_ROLE "tallyfeed_reader"
/* Work as role from now on, with every transaction read-only: whatever
 * the login may do, this session can only read.  0, or -1 with err. */
int tf_db_read_only(PGconn *conn, const char *role, char *err, size_t errlen);
/* The last libpq error of conn on one line (newlines folded). */
const char *tf_db_error(PGconn *conn);
/* COMMIT; 0 only if the server answered COMMIT (a transaction aborted
 * before answers ROLLBACK, and nothing of it is stored); -1 logged with
 * what. */
int tf_db_commit(PGconn *conn, const char *what);
/* For a session whose commits are promised to others: synchronous_commit
 * on, and refuse (-1 with err) a server that runs with fsync off. */
int tf_db_durable(PGconn *conn, char *err, size_t errlen);
/* The SHA-256 (hex) of the definitions of every view, function, trigger
 * (and whether it is enabled) and constraint of schema tallyfeed: what
 * `db migrate` records after migrating (tallyfeed.schema_digest) and
 * `verify` compares, so a redefined view or a dropped trigger shows.  The
 * same definitions give the same digest in any database.  Call inside a
 * transaction.  Into out (65 bytes); 0, or -1 with err. */
int tf_db_schema_digest(PGconn *conn, char out[65], char *err, size_t errlen);
/* Run a command that returns no rows; 0 or -1 (error logged with what). */
int tf_db_exec(PGconn *conn, const char *sql, const char *what);
/* The registry as the database holds it (prefectures, counties, townships,
 * units), as the collector judges by it.  Caller owns; NULL with err. */
tf_registry_t *tf_db_load_registry(PGconn *conn, char *err, size_t errlen);

#endif
