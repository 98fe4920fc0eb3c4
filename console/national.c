/*
 * national: a national database from the provinces' (see national.h).
 *
 * Why logical replication of the provinces' own rows, not their figures:
 * the national database then holds every signed envelope its figures come
 * from, so `tallyfeed verify` there (with every province's agents'
 * certificates) re-checks each national number down to a signature, as it
 * does in a province.  The tallies travel too (they are derived, and
 * verify recomputes them), so the national rollups add up township rows
 * as a province's do; and since a province's transactions are applied in
 * the order they committed, each province's part of the figures is that
 * province's figures at one moment, never half a batch.
 */
#include "national.h"
#include "db.h"
#include "log.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The migration that made the schema a national database needs (0012). */
#define NATIONAL_MIGRATION 12
#define STATEMENT_MAX 4096

/* What a province publishes, in order: the registry (province itself is
 * every database's own, from 0001), the log, the results, the tallies.
 * message and quarantine go without their serial id (0012); agent_status
 * (heartbeats) and the schema's own records stay in the province. */
#define PUBLISHED_TABLES                                                         \
	"{prefecture,county,township,unit,message,quarantine,result,candidate,"  \
	"chain_head,signed_head,township_tally,tally_pending}"
#define PUBLISHED_OWN_ID "{f,f,f,f,t,t,f,f,f,f,f,f}"

/* The newest migration applied, 0 if none; -1 (logged) if this is no
 * tallyfeed database at all. */
static int
s_schema_version(PGconn *conn, const char *which)
{
	PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) "
	                       "FROM tallyfeed.schema_migration");
	int version = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_warnx("%s: could not read its migrations (is it a tallyfeed database? "
		          "tallyfeed db migrate): %s", which, tf_db_error(conn));
	else
		version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return version;
}

/* The schema is new enough for a national database (0 or -1, logged). */
static int
s_schema_ready(PGconn *conn, const char *which)
{
	int version = s_schema_version(conn, which);

	if (version < 0)
		return -1;
	if (version < NATIONAL_MIGRATION) {
		log_warnx("%s: its schema is at migration %d, older than this tallyfeed's "
		          "(run tallyfeed db migrate there first)", which, version);
		return -1;
	}
	return 0;
}

/* The rows of a query with text parameters; NULL (logged with what) if it
 * failed.  Caller clears. */
static PGresult *
s_rows(PGconn *conn, const char *sql, int nparams, const char *const *params,
       const char *what)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read %s: %s", what, tf_db_error(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* The provinces whose registry the database holds: their codes, space-
 * separated, into out; their number, or -1 (logged). */
static int
s_provinces_held(PGconn *conn, char *out, size_t outlen)
{
	PGresult *res = s_rows(conn,
	    "SELECT count(DISTINCT province_code), "
	    "       coalesce(string_agg(DISTINCT province_code, ' '), '') "
	    "FROM tallyfeed.prefecture", 0, NULL, "the registry's provinces");
	int n;

	if (res == NULL)
		return -1;
	n = atoi(PQgetvalue(res, 0, 0));
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return n;
}

static void
s_publish_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed db publish\n"
	    "On a province's database: publish (PostgreSQL logical replication,\n"
	    "publication \"" NATIONAL_PUBLICATION "\") its registry, its log (every signed\n"
	    "envelope, every refused frame, the collectors' chains and signed heads), its\n"
	    "results and its townships' tallies, for a national database to subscribe to\n"
	    "(tallyfeed db subscribe, there).  Run it again after a db migrate: it\n"
	    "publishes the tables as this tallyfeed knows them.  Run it as db migrate's\n"
	    "login (a member of tallyfeed_owner, which owns the tables, with CREATE on the\n"
	    "database).  The server must run with wal_level = logical, and the national\n"
	    "server's login here needs the REPLICATION attribute and SELECT on the\n"
	    "schema's tables (membership of tallyfeed_reader).  A database that holds\n"
	    "more than one province's registry is refused: a national database\n"
	    "subscribes to one province per database.\n");
}

int
console_db_publish(console_db_t *db, int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *params[3] = { PUBLISHED_TABLES, PUBLISHED_OWN_ID, NATIONAL_PUBLICATION };
	char held[128], sql[STATEMENT_MAX];
	PGconn *conn;
	PGresult *res = NULL;
	bool exists, begun = false;
	int ch, n, rc = CONSOLE_FAILED;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			s_publish_usage(stdout);
			return CONSOLE_OK;
		default:
			s_publish_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		s_publish_usage(stderr);
		return CONSOLE_USAGE;
	}
	if ((conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	if (s_schema_ready(conn, "this database") != 0)
		return CONSOLE_FAILED;
	if ((n = s_provinces_held(conn, held, sizeof held)) < 0)
		return CONSOLE_FAILED;
	if (n > 1) {
		log_warnx("this database holds the registries of provinces %s: a national "
		          "database subscribes to one province per database", held);
		return CONSOLE_FAILED;
	}
	if ((res = s_rows(conn, "SELECT current_setting('wal_level')", 0, NULL,
	                  "wal_level")) == NULL)
		return CONSOLE_FAILED;
	if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0)
		log_warnx("wal_level is %s on this server: no subscription can start until it "
		          "is logical (postgresql.conf, then a restart)", PQgetvalue(res, 0, 0));
	PQclear(res);

	if (tf_db_exec(conn, "BEGIN", "begin") != 0)
		return CONSOLE_FAILED;
	begun = true;
	/* The tables, each message and quarantine column but the serial id,
	 * as the schema has them now (quote_ident: names are the catalog's). */
	res = s_rows(conn,
	    "SELECT string_agg(format('tallyfeed.%I', t.name) || CASE WHEN t.own_id THEN "
	    "    ' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) "
	    "             FROM pg_attribute a "
	    "             WHERE a.attrelid = format('tallyfeed.%I', t.name)::regclass "
	    "               AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
	    "               AND a.attname <> 'id') || ')' ELSE '' END, ', ' ORDER BY t.i), "
	    "       EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $3) "
	    "FROM unnest($1::text[], $2::boolean[]) WITH ORDINALITY AS t(name, own_id, i)",
	    3, params, "the tables to publish");
	if (res == NULL)
		goto out;
	exists = PQgetvalue(res, 0, 1)[0] == 't';
	if (snprintf(sql, sizeof sql, "%s PUBLICATION " NATIONAL_PUBLICATION " %s TABLE %s",
	             exists ? "ALTER" : "CREATE", exists ? "SET" : "FOR",
	             PQgetvalue(res, 0, 0)) >= (int)sizeof sql) {
		log_warnx("the publication's statement is longer than %d bytes", STATEMENT_MAX);
		goto out;
	}
	if (tf_db_exec(conn, sql, "publish") != 0)
		goto out;
	begun = false;
	if (tf_db_commit(conn, "publish") != 0)
		goto out;
	printf("publication %s %s: the registry, the log, the results and the tallies "
	       "(message and quarantine without their serial id)%s%s\n", NATIONAL_PUBLICATION,
	       exists ? "updated" : "created", n == 1 ? ", province " : "", n == 1 ? held : "");
	rc = CONSOLE_OK;
out:
	PQclear(res);
	if (begun)
		tf_db_exec(conn, "ROLLBACK", "rollback");
	return rc;
}

static void
s_subscribe_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed db subscribe --province CODE CONNINFO\n"
	    "On the national database (migrated, with no registry loaded): subscribe to\n"
	    "the province's database at CONNINFO (PostgreSQL logical replication:\n"
	    "subscription " NATIONAL_SUBSCRIPTION_PREFIX "CODE to its publication \""
	    NATIONAL_PUBLICATION "\", made\n"
	    "there by tallyfeed db publish).  Its tables are copied first, then every\n"
	    "change streams as it commits there; tallyfeed provinces shows how far each\n"
	    "province has come.  totals, progress and composition here answer for every\n"
	    "province subscribed.\n"
	    "  --province CODE  the province's code: 2 digits (63) or 12 (630000000000)\n"
	    "  CONNINFO         as the national server (not this command) reaches the\n"
	    "                   province's database, e.g. \"host=H dbname=tallyfeed\n"
	    "                   user=U\"; U needs REPLICATION there.  tallyfeed connects\n"
	    "                   with it first, to check that the database there is that\n"
	    "                   province's, publishes, and has no chain (collector name)\n"
	    "                   that another province's rows here have already.\n"
	    "Creating a subscription takes a superuser here (PostgreSQL 15).  The\n"
	    "string is stored in pg_subscription, readable only by superusers; keep a\n"
	    "password in the national server's password file rather than in it.\n");
}

/* "63" or "630000000000" -> "63" in out[3]; -1 if neither. */
static int
s_province_code(const char *text, char out[3])
{
	size_t len = strlen(text);

	if (len != 2 && len != 12)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (text[i] < '0' || text[i] > '9' || (i >= 2 && text[i] != '0'))
			return -1;
	memcpy(out, text, 2);
	out[2] = '\0';
	return 0;
}

/* The province's database at conninfo is code's, is published, and shares
 * no chain with the national database's rows.  0, or -1 (logged). */
static int
s_check_province(PGconn *national, const char *code, const char *conninfo)
{
	char err[1024], held[128], which[64];
	PGconn *conn;
	PGresult *res = NULL, *chains = NULL;
	const char *pub[1] = { NATIONAL_PUBLICATION };
	int n, rc = -1;

	snprintf(which, sizeof which, "province %s's database", code);
	conn = tf_db_connect(conninfo, "tallyfeed db subscribe", NULL, err, sizeof err);
	if (conn == NULL) {
		log_warnx("%s: %s (the national server would connect with the same string)",
		          which, err);
		return -1;
	}
	if (s_schema_ready(conn, which) != 0)
		goto out;
	if ((n = s_provinces_held(conn, held, sizeof held)) < 0)
		goto out;
	if (n != 1 || strcmp(held, code) != 0) {
		if (n == 0)
			log_warnx("%s holds no registry (tallyfeed registry load there)", which);
		else
			log_warnx("%s holds the registry of province%s %s, not %s's", which,
			          n > 1 ? "s" : "", held, code);
		goto out;
	}
	if ((res = s_rows(conn, "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, pub,
	                  "its publications")) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		log_warnx("%s publishes nothing yet (tallyfeed db publish there)", which);
		goto out;
	}
	PQclear(res);
	/* The national database's chains, as an array literal PostgreSQL
	 * itself quoted, asked of the province's. */
	if ((chains = s_rows(national, "SELECT coalesce(array_agg(chain), '{}')::text "
	                     "FROM tallyfeed.chain_head", 0, NULL, "the chains here")) == NULL)
		goto out;
	res = s_rows(conn, "SELECT chain FROM tallyfeed.chain_head WHERE chain = ANY ($1::text[]) "
	             "ORDER BY chain LIMIT 10", 1,
	             (const char *const[]){ PQgetvalue(chains, 0, 0) }, "its chains");
	if (res == NULL)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		log_warnx("%s: chain \"%s\" is in the national database already, from another "
		          "province's collector of that name: chains must be named apart across "
		          "the country", which, PQgetvalue(res, i, 0));
	if (PQntuples(res) > 0)
		goto out;
	rc = 0;
out:
	PQclear(res);
	PQclear(chains);
	PQfinish(conn);
	return rc;
}

int
console_db_subscribe(console_db_t *db, int argc, char **argv)
{
	static const struct option options[] = {
		{ "province", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *province = NULL, *conninfo;
	char code[3], name[3 + sizeof NATIONAL_SUBSCRIPTION_PREFIX], sql[STATEMENT_MAX];
	char *literal = NULL, *parse_err = NULL;
	PQconninfoOption *parsed;
	PGconn *conn;
	PGresult *res = NULL;
	int ch, rc = CONSOLE_FAILED;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			province = optarg;
			break;
		case 'h':
			s_subscribe_usage(stdout);
			return CONSOLE_OK;
		default:
			s_subscribe_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (province == NULL || optind != argc - 1) {
		s_subscribe_usage(stderr);
		return CONSOLE_USAGE;
	}
	conninfo = argv[optind];
	if (s_province_code(province, code) != 0) {
		log_warnx("\"%.40s\" is not a province's code (2 digits, or 12 ending in ten "
		          "zeros)", province);
		return CONSOLE_USAGE;
	}
	if (strlen(conninfo) > 1024 || (parsed = PQconninfoParse(conninfo, &parse_err)) == NULL) {
		size_t len = parse_err != NULL ? strlen(parse_err) : 0;

		if (parse_err == NULL)
			log_warnx("not a connection string: longer than 1024 bytes (or no memory)");
		else    /* libpq's message ends in a newline */
			log_warnx("not a connection string: %.*s",
			          (int)(len > 0 && parse_err[len - 1] == '\n' ? len - 1 : len), parse_err);
		PQfreemem(parse_err);
		return CONSOLE_USAGE;
	}
	PQconninfoFree(parsed);
	snprintf(name, sizeof name, NATIONAL_SUBSCRIPTION_PREFIX "%s", code);

	if ((conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	if (s_schema_ready(conn, "this database") != 0)
		return CONSOLE_FAILED;
	res = s_rows(conn,
	    "SELECT p.name, "
	    "       EXISTS (SELECT 1 FROM pg_subscription s WHERE s.subname = $2 AND s.subdbid = "
	    "               (SELECT oid FROM pg_database WHERE datname = current_database())), "
	    "       (SELECT count(*) FROM tallyfeed.prefecture f WHERE f.province_code = p.code), "
	    /* The slot on the province's server: named after this server and
	     * database too, so that two national databases (a rehearsal's and
	     * the night's) can subscribe to one province. */
	    "       $2 || '_' || (SELECT system_identifier FROM pg_control_system()) || '_' || "
	    "       (SELECT oid FROM pg_database WHERE datname = current_database()) "
	    "FROM tallyfeed.province p WHERE p.code = $1", 2,
	    (const char *const[]){ code, name }, "the provinces");
	if (res == NULL)
		return CONSOLE_FAILED;
	if (PQntuples(res) == 0) {
		log_warnx("no province has code %s", code);
		rc = CONSOLE_USAGE;
		goto out;
	}
	if (PQgetvalue(res, 0, 1)[0] == 't') {
		log_warnx("this database subscribes to province %s already (subscription %s)",
		          code, name);
		goto out;
	}
	if (atoi(PQgetvalue(res, 0, 2)) > 0) {
		log_warnx("this database holds province %s's registry already (loaded here, or "
		          "left by a subscription dropped): the first copy would collide with it",
		          code);
		goto out;
	}
	if (s_check_province(conn, code, conninfo) != 0)
		goto out;
	if ((literal = PQescapeLiteral(conn, conninfo, strlen(conninfo))) == NULL) {
		log_warnx("could not quote the connection string: %s", tf_db_error(conn));
		goto out;
	}
	/* Not in a transaction: CREATE SUBSCRIPTION makes its slot on the
	 * province's server, which it cannot undo. */
	snprintf(sql, sizeof sql, "CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION "
	         NATIONAL_PUBLICATION " WITH (slot_name = '%s')", name, literal,
	         PQgetvalue(res, 0, 3));
	if (tf_db_exec(conn, sql, "subscribe") != 0)
		goto out;
	printf("subscribed: %s, to province %s %s (slot %s there); its tables are being "
	       "copied (tallyfeed provinces says when it streams)\n", name, code,
	       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 3));
	rc = CONSOLE_OK;
out:
	PQfreemem(literal);
	PQclear(res);
	return rc;
}

static const char *const s_provinces_headings[] = {
	"代码", "名称", "订阅", "状态", "已复制表", "表", "截至(该省时钟)", "至多落后(秒)",
	"上次收到(秒前)", "应用错误", "复制错误"
};

static void
s_provinces_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed provinces [--format table|csv|json]\n"
	    "On the national database: each province it subscribes to (tallyfeed db\n"
	    "subscribe) and how far that province's rows have come (the names of csv and\n"
	    "json; a table's headings say the same in Chinese):\n"
	    "  state         streaming; copying (its tables' first copy: its figures are\n"
	    "                incomplete); stopped (no worker applies its changes: starting,\n"
	    "                or failing, see apply_errors and this server's log); disabled;\n"
	    "                no tables\n"
	    "  tables_ready, tables   of its tables, those copied and streaming\n"
	    "  as_of         while streaming: everything the province had committed by\n"
	    "                this time (its server's clock) is here.  Its server says so\n"
	    "                each time it has sent all there is, and when idle only when\n"
	    "                asked, about every wal_receiver_timeout / 2 of this server\n"
	    "                (30 s by default)\n"
	    "  behind_s      seconds since as_of: at most this much of its results can be\n"
	    "                missing (if the two servers' clocks agree); not a measure of\n"
	    "                what is missing: an idle province is nothing behind\n"
	    "  last_heard_s  seconds since its server last sent anything\n"
	    "  apply_errors, sync_errors   failures applying its changes, copying its\n"
	    "                tables (pg_stat_subscription_stats)\n"
	    "  --format F    table (default), csv or json\n"
	    "It reads on the primary, and refuses a standby: only the primary runs the\n"
	    "subscriptions' workers.\n");
}

int
console_provinces(console_db_t *db, int argc, char **argv)
{
	static const struct option options[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	table_format_t format = TABLE_TEXT;
	PGconn *conn;
	PGresult *res;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'F':
			if (table_format_parse(optarg, &format) != 0)
				return CONSOLE_USAGE;
			break;
		case 'h':
			s_provinces_usage(stdout);
			return CONSOLE_OK;
		default:
			s_provinces_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		s_provinces_usage(stderr);
		return CONSOLE_USAGE;
	}
	if ((conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	res = s_rows(conn,
	    "SELECT code, name, subscription, state, tables_ready, tables, "
	    "       to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS as_of, "
	    "       behind_s, last_heard_s, apply_errors, sync_errors "
	    "FROM tallyfeed.province_replication ORDER BY code", 0, NULL,
	    "the provinces' replication");
	if (res == NULL)
		return CONSOLE_FAILED;
	if (PQntuples(res) == 0)
		log_warnx("this database subscribes to no province (tallyfeed db subscribe)");
	table_print(res, format == TABLE_TEXT ? s_provinces_headings : NULL, format);
	PQclear(res);
	return CONSOLE_OK;
}

void
national_note(PGconn *conn, table_format_t format)
{
	FILE *fp = format == TABLE_TEXT ? stdout : stderr;
	PGresult *res;

	res = s_rows(conn,
	    "SELECT code, name, state, tables_ready, tables, "
	    "       to_char(as_of AT TIME ZONE 'UTC', 'HH24:MI:SS\"Z\"'), behind_s, apply_errors "
	    "FROM tallyfeed.province_replication ORDER BY code", 0, NULL,
	    "the provinces' replication");
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		return;
	}
	fprintf(fp, "the provinces' figures, as this national database has them:\n");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *code = PQgetvalue(res, i, 0), *name = PQgetvalue(res, i, 1);
		const char *state = PQgetvalue(res, i, 2);

		if (strcmp(state, "streaming") == 0)
			fprintf(fp, "  %s %s: streaming; all it had committed by %s (its clock) is "
			        "here: at most %s s behind\n", code, name, PQgetvalue(res, i, 5),
			        PQgetvalue(res, i, 6));
		else if (strcmp(state, "copying") == 0)
			fprintf(fp, "  %s %s: copying its tables (%s of %s done): its figures are "
			        "incomplete\n", code, name, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		else if (strcmp(state, "on a standby") == 0)
			fprintf(fp, "  %s %s: of an age only the national primary knows (tallyfeed "
			        "provinces there)\n", code, name);
		else
			fprintf(fp, "  %s %s: %s (%s apply errors; this server's log says why): its "
			        "figures are of an unknown age\n", code, name, state,
			        PQgetvalue(res, i, 7));
	}
	PQclear(res);
}
