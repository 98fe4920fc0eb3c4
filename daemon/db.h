/*
 * db: PostgreSQL connections the way PostgreSQL's own tools make them:
 * PQconnectdbParams with a fallback application name, a safe search_path,
 * and errors reported as one line.
 */
#ifndef TF_DB_H
#define TF_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

/* Connect using a conninfo string (may be "" to use the PG* environment).
 * Unless conninfo says otherwise, a server that does not answer within
 * 10 s is given up (connect_timeout), and a TCP connection is probed after
 * 10 s of silence and dropped when 3 probes 5 s apart go unanswered or
 * sent data stays unacknowledged for 30 s (keepalives, tcp_user_timeout):
 * a dead server or link is noticed, not waited on.  Of the hosts a
 * conninfo lists, libpq takes the first that answers and is what target
 * asks for (target_session_attrs; the conninfo's own overrides it).
 * Returns an open connection or NULL with the reason in err. */
PGconn *tf_db_connect(const char *conninfo, const char *appname, const char *target, char *err,
                      size_t errlen);
/* target_session_attrs for tf_db_connect: of a multi-host conninfo, the
 * server that takes writes (a collector's), or a standby if one answers
 * (the provincial office's queries), or the primary even for reading
 * (verify holds the data to heads and receipts a standby may not have
 * replayed yet).  NULL: as the conninfo and the environment say. */
#define TF_DB_WRITER "read-write"
#define TF_DB_PREFER_STANDBY "prefer-standby"
#define TF_DB_PRIMARY "primary"
/* The role every reading program (console, dashboard) works as. */
#define TF_DB_READER_ROLE "tallyfeed_reader"
/* Work as role from now on, with every transaction read-only: whatever
 * the login may do, this session can only read.  A reader waits at most
 * 10 s for a lock (a writer's LOCK TABLE does not hold it for ever), is
 * closed after 60 s idle in a transaction, and has its statements cancelled
 * after statement_timeout_ms (0: never, for a command a person can stop).
 * 0, or -1 with err. */
int tf_db_read_only(PGconn *conn, const char *role, int statement_timeout_ms, char *err,
                    size_t errlen);
/* The last libpq error of conn on one line (newlines folded). */
const char *tf_db_error(PGconn *conn);
/* COMMIT; 0 only if the server answered COMMIT (a transaction aborted
 * before answers ROLLBACK, and nothing of it is stored); -1 logged with
 * what. */
int tf_db_commit(PGconn *conn, const char *what);
/* For a session whose commits are promised to others: synchronous_commit
 * on, and refuse (-1 with err) a server that runs with fsync off. */
int tf_db_durable(PGconn *conn, char *err, size_t errlen);
/* The session's limits, in ms (0: none): statement_timeout, lock_timeout,
 * idle_in_transaction_session_timeout; and the server's TCP keepalives
 * (10 s idle, 3 probes 5 s apart, 30 s unacknowledged), so the server
 * drops a session whose client host is gone.  0, or -1 with err. */
int tf_db_session_limits(PGconn *conn, int statement_ms, int lock_ms, int idle_ms, char *err,
                         size_t errlen);
/* The SHA-256 (hex) of the definitions of every view, function, trigger
 * (and whether it is enabled) and constraint of schema tallyfeed: what
 * `db migrate` records after migrating (tallyfeed.schema_digest) and
 * `verify` compares, so a redefined view or a dropped trigger shows.  The
 * same definitions give the same digest in any database.  Call inside a
 * transaction.  Into out (65 bytes); 0, or -1 with err. */
int tf_db_schema_digest(PGconn *conn, char out[65], char *err, size_t errlen);
/* Record the SQLSTATE of a failed result, and the constraint it names
 * (NULL: out of memory or no connection), for tf_db_retryable; every
 * failure this module's callers detect passes through here.  Per thread. */
void tf_db_note_failure(const PGresult *res);
/* Forget the failure recorded (before a transaction begins). */
void tf_db_clear_failure(void);
/* True if the failure recorded, on conn, is of the moment and the same
 * work should be tried again unchanged: the connection is lost, or the
 * server said so (class 08 connection, 40 rollback (serialization,
 * deadlock), 53 resources (disk full, too many connections), 57 operator
 * intervention (statement timeout, shutdown), 58 system error, 55P03 lock
 * timeout, 25P03 idle in transaction too long, 25006 a read-only server (a
 * standby after a failover)).  False for anything the data itself might
 * cause. */
bool tf_db_retryable(PGconn *conn);
/* The SQLSTATE recorded ("" if none): for logs. */
const char *tf_db_failure_state(void);
/* The constraint the failure recorded names (PG_DIAG_CONSTRAINT_NAME; ""
 * if none): which unique key a 23505 is of. */
const char *tf_db_failure_constraint(void);
/* Run a command that returns no rows; 0 or -1 (error logged with what). */
int tf_db_exec(PGconn *conn, const char *sql, const char *what);
/* The registry as the database holds it (prefectures, counties, townships,
 * units), as the collector judges by it.  Caller owns; NULL with err. */
tf_registry_t *tf_db_load_registry(PGconn *conn, char *err, size_t errlen);

#endif
