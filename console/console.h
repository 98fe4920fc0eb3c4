/*
 * console: the `tallyfeed` command's subcommands.  Each takes its own
 * arguments (after the subcommand words) and the database, which it
 * connects to only once its arguments are sound (so a mistake in them is
 * said as such even when the database is away), and returns the process
 * exit status.
 */
#ifndef TF_CONSOLE_H
#define TF_CONSOLE_H

#include <czmq.h>
#include <libpq-fe.h>

#include "query.h"

/* Exit statuses, as documented in --help. */
enum {
	CONSOLE_OK = 0,
	CONSOLE_FAILED = 1,     /* the command ran and failed (database, data) */
	CONSOLE_USAGE = 2       /* bad arguments */
};

/* The database of a command: connected on first use, as the read-only
 * role unless the command writes, on a standby if one answers and the
 * command only reads (main.c). */
typedef struct console_db console_db_t;
/* The connection, opened now if need be; NULL once why is logged. */
PGconn *console_db_conn(console_db_t *db);

int console_migrate(console_db_t *db, int argc, char **argv);
int console_registry_load(console_db_t *db, int argc, char **argv);
int console_totals(console_db_t *db, int argc, char **argv);
int console_flags(console_db_t *db, int argc, char **argv);
int console_composition(console_db_t *db, int argc, char **argv);
int console_progress(console_db_t *db, int argc, char **argv);
int console_runoffs(console_db_t *db, int argc, char **argv);
/* The exit status for a query's outcome; err is logged unless it is OK. */
int console_status(query_status_t status, const char *err);
/* Need no database: import talks to a collector, keygen writes files. */
int console_import(zconfig_t *config, int argc, char **argv);
int console_keygen(int argc, char **argv);
/* receipt check reads a receipt file and a certificate, no database. */
int console_receipt(int argc, char **argv);
/* feed listens to a collector; status reads the database (below). */
int console_feed(zconfig_t *config, int argc, char **argv);
/* verify needs the database and the certificates (console/certs). */
int console_verify(console_db_t *db, zconfig_t *config, int argc, char **argv);
/* check reads console/collector_certs: the keys receipts verify under. */
int console_check(console_db_t *db, zconfig_t *config, int argc, char **argv);
/* heads prints the chain heads the collectors signed. */
int console_heads(console_db_t *db, int argc, char **argv);
/* unit reads console/certs too, to check each signature. */
int console_unit(console_db_t *db, zconfig_t *config, int argc, char **argv);
/* status reads console/silent_after_s. */
int console_township_status(console_db_t *db, zconfig_t *config, int argc, char **argv);

/* Output formats shared by the query commands. */
typedef enum { TABLE_TEXT, TABLE_CSV, TABLE_JSON } table_format_t;

/* "table", "csv", "json" -> format; -1 if none of them (said in the log). */
int table_format_parse(const char *word, table_format_t *out);
/* Print a result set with the given column headings (NULL = column names)
 * to stdout.  Numeric columns are right-aligned in text form; widths follow
 * the terminal display width of Chinese text, not its byte length. */
void table_print(PGresult *res, const char *const *headings, table_format_t format);
/* After a command's figures: how old they are (freshness.h), read when it
 * connected, before its queries.  A line on stdout after a table, on
 * stderr beside CSV or JSON (stdout stays what a program parses).
 * Nothing for a command that does not only read. */
void console_db_freshness(console_db_t *db, table_format_t format);

#endif
