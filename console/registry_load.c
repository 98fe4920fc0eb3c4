/*
 * registry_load: `tallyfeed registry load DIR` checks a province's registry
 * (the CSV form of deploy/registry/qinghai) row by row and writes it to
 * the database in one transaction: all of it or none of it.  Loading the
 * same registry again changes nothing; a renamed area takes its new name.
 */
#include "console.h"
#include "db.h"
#include "log.h"
#include "registry.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char *s_upsert[TF_LEVEL_COUNT] = {
	"INSERT INTO tallyfeed.prefecture (code, name, province_code) VALUES ($1, $2, $3) "
	"ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name",
	"INSERT INTO tallyfeed.county (code, name, prefecture_code) VALUES ($1, $2, $3) "
	"ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, prefecture_code = EXCLUDED.prefecture_code",
	"INSERT INTO tallyfeed.township (code, name, county_code) VALUES ($1, $2, $3) "
	"ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, county_code = EXCLUDED.county_code",
	"INSERT INTO tallyfeed.unit (code, name, township_code, urban_rural, kind) "
	"VALUES ($1, $2, $3, $4, $5) "
	"ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, township_code = EXCLUDED.township_code, "
	"urban_rural = EXCLUDED.urban_rural, kind = EXCLUDED.kind"
};

static int
s_store_level(PGconn *conn, const tf_registry_t *registry, tf_level_t level)
{
	char stmt[16];
	PGresult *res;

	snprintf(stmt, sizeof stmt, "upsert%d", (int)level);
	res = PQprepare(conn, stmt, s_upsert[level], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("could not prepare registry insert: %s", tf_db_error(conn));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	for (size_t i = 0; i < tf_registry_size(registry, level); i++) {
		const tf_area_t *a = tf_registry_at(registry, level, i);
		/* A prefecture's parent is its province's two-digit code. */
		const char *values[5] = {
			a->code, a->name,
			level == TF_LEVEL_PREFECTURE ? tf_registry_province(registry) : a->parent,
			a->urban_rural,
			tf_unit_kind_name(tf_unit_kind_of(a->code))
		};
		int n = level == TF_LEVEL_UNIT ? 5 : 3;

		res = PQexecPrepared(conn, stmt, n, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_warnx("could not store %s %s: %s", level == TF_LEVEL_UNIT ? "unit" : "area",
			          a->code, tf_db_error(conn));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed registry load DIR\n"
	    "Check and load a province's division registry: DIR holds prefectures.csv,\n"
	    "counties.csv, townships.csv and villages.csv (see deploy/registry/qinghai/README.md).\n");
}

int
console_registry_load(console_db_t *db, int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	tf_registry_t *registry = NULL;
	PGconn *conn;
	char err[1024];
	const char *province_values[1];
	PGresult *res = NULL;
	int ch, rc = CONSOLE_FAILED;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (ch == 'h') {
			s_usage(stdout);
			return CONSOLE_OK;
		}
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if (argc - optind != 1) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	registry = tf_registry_new();
	if (registry == NULL)
		fatalx("out of memory");
	if (tf_registry_load_dir(registry, argv[optind], err, sizeof err) != 0) {
		log_warnx("registry not loaded: %s", err);
		goto out;
	}
	if ((conn = console_db_conn(db)) == NULL)
		goto out;
	province_values[0] = tf_registry_province(registry);
	res = PQexecParams(conn, "SELECT name FROM tallyfeed.province WHERE code = $1", 1, NULL,
	                   province_values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read provinces (has `tallyfeed db migrate` run?): %s",
		          tf_db_error(conn));
		goto out;
	}
	if (PQntuples(res) != 1) {
		log_warnx("registry not loaded: province code %s is not a province of GB/T 2260",
		          province_values[0]);
		goto out;
	}
	if (tf_db_exec(conn, "BEGIN", "begin") != 0)
		goto out;
	for (int level = TF_LEVEL_PREFECTURE; level < TF_LEVEL_COUNT; level++)
		if (s_store_level(conn, registry, (tf_level_t)level) != 0) {
			tf_db_exec(conn, "ROLLBACK", "rollback");
			goto out;
		}
	if (tf_db_commit(conn, "commit") != 0)
		goto out;
	printf("registry loaded: %s %s: %zu prefectures, %zu counties, %zu townships, %zu units\n",
	       province_values[0], PQgetvalue(res, 0, 0),
	       tf_registry_size(registry, TF_LEVEL_PREFECTURE),
	       tf_registry_size(registry, TF_LEVEL_COUNTY),
	       tf_registry_size(registry, TF_LEVEL_TOWNSHIP),
	       tf_registry_size(registry, TF_LEVEL_UNIT));
	rc = CONSOLE_OK;
out:
	PQclear(res);
	tf_registry_destroy(&registry);
	return rc;
}
