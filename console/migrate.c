/*
 * migrate: `tallyfeed db migrate` applies the numbered migrations
 * (NNNN_name.sql) that the database has not seen, in order, each in its
 * own transaction, and records each in tallyfeed.schema_migration.  An
 * advisory lock keeps two migrators apart.  The migrations are those of
 * deploy/sql/ compiled into the program (embedded.h), so an installed
 * tallyfeed needs no source tree; --sql-dir reads them from a directory.
 */
#include "console.h"
#include "db.h"
#include "embedded.h"
#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATIONS_MAX 1000
#define MIGRATION_FILE_MAX (4 * 1024 * 1024)
#define MIGRATE_LOCK_KEY "7469616c6c79"   /* any constant; ours */

static const char s_bootstrap[] =
    "CREATE SCHEMA IF NOT EXISTS tallyfeed;"
    "CREATE TABLE IF NOT EXISTS tallyfeed.schema_migration ("
    "    version integer PRIMARY KEY,"
    "    name text NOT NULL,"
    "    applied_at timestamptz NOT NULL DEFAULT now())";

/* NNNN_lowercase_name.sql */
static int
s_migration_version(const char *name)
{
	size_t len = strlen(name);

	if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
		return -1;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)name[i]))
			return -1;
	for (size_t i = 5; i < len - 4; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i])
		    && name[i] != '_')
			return -1;
	return atoi(name);
}

/* One migration: its file name, and its text once known. */
typedef struct {
	char *name;
	const char *sql;                /* built in; NULL: read it from the directory */
} migration_t;

static int
s_compare(const void *a, const void *b)
{
	return strcmp(((const migration_t *)a)->name, ((const migration_t *)b)->name);
}

static char *
s_read_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *text = NULL;
	size_t len;

	if (fp == NULL) {
		log_warn("%s", path);
		return NULL;
	}
	text = malloc(MIGRATION_FILE_MAX + 1);
	if (text == NULL)
		goto out;
	len = fread(text, 1, MIGRATION_FILE_MAX + 1, fp);
	if (ferror(fp) || len > MIGRATION_FILE_MAX) {
		log_warnx("%s: unreadable or larger than %d bytes", path, MIGRATION_FILE_MAX);
		free(text);
		text = NULL;
		goto out;
	}
	text[len] = '\0';
out:
	fclose(fp);
	return text;
}

static int
s_applied(PGconn *conn, int version)
{
	char param[16];
	const char *values[1] = { param };
	PGresult *res;
	int applied;

	snprintf(param, sizeof param, "%d", version);
	res = PQexecParams(conn, "SELECT 1 FROM tallyfeed.schema_migration WHERE version = $1",
	                   1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read schema_migration: %s", tf_db_error(conn));
		applied = -1;
	} else
		applied = PQntuples(res) > 0;
	PQclear(res);
	return applied;
}

/* Apply one migration: the built-in text, or dir/name's. */
/* The digest of what the migrations made (tf_db_schema_digest), recorded
 * when it is new and printed: `verify` holds the schema to it. */
static int
s_record_digest(PGconn *conn, int version)
{
	char digest[65], err[1024], param[16];
	const char *values[2] = { param, digest };
	PGresult *res = NULL;
	int rc = -1;

	snprintf(param, sizeof param, "%d", version);
	if (tf_db_exec(conn, "BEGIN", "begin") != 0)
		return -1;
	if (tf_db_schema_digest(conn, digest, err, sizeof err) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	/* A schema from before 0008 has nowhere to keep it. */
	res = PQexec(conn, "SELECT to_regclass('tallyfeed.schema_digest') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not look for tallyfeed.schema_digest: %s", tf_db_error(conn));
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] == 't') {
		PQclear(res);
		res = PQexecParams(conn, "INSERT INTO tallyfeed.schema_digest (migration, digest) "
		                   "SELECT $1::integer, $2::text WHERE $2::text IS DISTINCT FROM "
		                   "(SELECT digest FROM tallyfeed.schema_digest ORDER BY id DESC "
		                   "LIMIT 1)", 2, NULL, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_warnx("could not record the schema digest: %s", tf_db_error(conn));
			goto out;
		}
	}
	if (tf_db_commit(conn, "commit") != 0)
		goto out;
	printf("schema digest %s (keep it: tallyfeed verify --schema-digest)\n", digest);
	rc = 0;
out:
	PQclear(res);
	if (rc != 0)
		tf_db_exec(conn, "ROLLBACK", "rollback");
	return rc;
}

static int
s_apply(PGconn *conn, const char *dir, const migration_t *migration, int version)
{
	char path[4096], param[16];
	const char *name = migration->name, *values[2] = { param, name };
	const char *sql = migration->sql;
	char *read = NULL;
	PGresult *res = NULL;
	int rc = -1;

	snprintf(param, sizeof param, "%d", version);
	if (sql == NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, name);
		if ((sql = read = s_read_file(path)) == NULL)
			goto out;
	}
	if (tf_db_exec(conn, "BEGIN", "begin") != 0)
		goto out;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("migration %s failed: %s", name, tf_db_error(conn));
		goto rollback;
	}
	PQclear(res);
	res = PQexecParams(conn, "INSERT INTO tallyfeed.schema_migration (version, name) "
	                   "VALUES ($1, $2)", 2, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("could not record migration %s: %s", name, tf_db_error(conn));
		goto rollback;
	}
	if (tf_db_commit(conn, "commit") != 0)
		goto out;
	printf("applied %s\n", name);
	rc = 0;
	goto out;
rollback:
	tf_db_exec(conn, "ROLLBACK", "rollback");
out:
	PQclear(res);
	free(read);
	return rc;
}

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed db migrate [--sql-dir DIR]\n"
	    "Apply the numbered migrations (NNNN_name.sql) not yet applied, in order.\n"
	    "They are built into tallyfeed (deploy/sql/ when it was built), so the\n"
	    "schema always matches the program.  Then it prints the digest of the\n"
	    "schema's views, functions, triggers and constraints, and records it in\n"
	    "tallyfeed.schema_digest: keep it; `tallyfeed verify --schema-digest` holds\n"
	    "the schema to it.\n"
	    "  --sql-dir DIR   apply those of DIR instead\n");
}

int
console_migrate(console_db_t *db, int argc, char **argv)
{
	static const struct option options[] = {
		{ "sql-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *from;
	PGconn *conn;
	migration_t migrations[MIGRATIONS_MAX];
	size_t count = 0;
	struct dirent *entry;
	DIR *dp = NULL;
	int ch, rc = CONSOLE_FAILED, applied = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	from = dir != NULL ? dir : "the migrations built in";
	if (dir != NULL && (dp = opendir(dir)) == NULL) {
		log_warn("migrations directory %s", dir);
		return CONSOLE_FAILED;
	}
	for (size_t i = 0;; i++) {
		const char *name;

		if (dp != NULL) {
			if ((entry = readdir(dp)) == NULL)
				break;
			name = entry->d_name;
			if (name[0] == '.' || strstr(name, ".sql") == NULL)
				continue;
		} else if ((name = sql_migrations[i].path) == NULL)
			break;
		if (s_migration_version(name) < 0) {
			log_warnx("%s: %s: not a migration name (NNNN_lowercase_name.sql)", from, name);
			goto out;
		}
		if (count == MIGRATIONS_MAX) {
			log_warnx("%s: more than %d migrations", from, MIGRATIONS_MAX);
			goto out;
		}
		migrations[count].sql = dp != NULL ? NULL : (const char *)sql_migrations[i].data;
		if ((migrations[count].name = strdup(name)) == NULL)
			goto out;
		count++;
	}
	qsort(migrations, count, sizeof migrations[0], s_compare);
	for (size_t i = 1; i < count; i++)
		if (s_migration_version(migrations[i].name)
		    == s_migration_version(migrations[i - 1].name)) {
			log_warnx("%s: two migrations numbered %04d", from,
			          s_migration_version(migrations[i].name));
			goto out;
		}
	if ((conn = console_db_conn(db)) == NULL)
		goto out;
	if (tf_db_exec(conn, "SELECT pg_advisory_lock(x'" MIGRATE_LOCK_KEY "'::bigint)",
	               "lock") != 0 || tf_db_exec(conn, s_bootstrap, "bootstrap") != 0)
		goto out;
	for (size_t i = 0; i < count; i++) {
		int version = s_migration_version(migrations[i].name);
		int done = s_applied(conn, version);

		if (done < 0)
			goto out;
		if (done)
			continue;
		if (s_apply(conn, dir, &migrations[i], version) != 0)
			goto out;
		applied++;
	}
	printf("database is at migration %04d (%d applied now)\n",
	       count ? s_migration_version(migrations[count - 1].name) : 0, applied);
	if (s_record_digest(conn, count ? s_migration_version(migrations[count - 1].name) : 0) != 0)
		goto out;
	rc = CONSOLE_OK;
out:
	for (size_t i = 0; i < count; i++)
		free(migrations[i].name);
	if (dp != NULL)
		closedir(dp);
	return rc;
}
