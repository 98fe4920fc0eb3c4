/*
 * tallyfeed: the console.  Migrates the database, loads a province's
 * registry, and answers the provincial office's questions.
 */
#include "config.h"
#include "console.h"
#include "db.h"
#include "freshness.h"
#include "log.h"

#include <getopt.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed [-v] [-f FILE] [-d CONNINFO] [-R CONNINFO] COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n"
	    "  db migrate [--sql-dir DIR]   apply the SQL migrations not yet applied\n"
	    "  registry load DIR            check and load a province's division registry\n"
	    "  totals --level L [--under CODE] [--format table|csv|json]\n"
	    "                               figures per area, computed from the stored results\n"
	    "  progress --level L [--under CODE] [--outstanding] [--format ...]\n"
	    "                               expected, reported, outstanding, runoffs pending\n"
	    "  composition --level L [--under CODE] [--format table|csv|json]\n"
	    "                               the make-up of those elected, per area and committee\n"
	    "  unit CODE [--certs DIR] [--format table|csv|json]\n"
	    "                               every revision of a unit's results, who sent\n"
	    "                               each and when, its flags and its signature\n"
	    "  runoffs [--under CODE] [--format table|csv|json]\n"
	    "                               where a runoff (另行选举) is owed\n"
	    "  flags [--under CODE] [--format table|csv|json]\n"
	    "                               the current results the rules flagged (W checks)\n"
	    "  import [-c ENDPOINT] [-k KEY] [-K CERT] BUNDLE\n"
	    "                               send an agent's offline bundle to the collector\n"
	    "  status [--county CODE] [--silent-after S] [--format ...]\n"
	    "                               each township's agent: heartbeat, spool, results;\n"
	    "                               silent ones first\n"
	    "  feed [-c ENDPOINT] [--county CODE] [--rejected] [--count N]\n"
	    "                               the collector's live feed, a line per answer\n"
	    "  keygen --agent ID --township CODE --out DIR  (or --importer/--collector NAME)\n"
	    "                               enrol: CURVE and Ed25519 keys in a certificate\n"
	    "  verify [--certs DIR] [--collector-cert CERT] [--heads FILE] [--receipts DIR]\n"
	    "                               re-check every stored result against its signed\n"
	    "                               envelope and the hash chain of the log, and the\n"
	    "                               chain against heads the collector signed, and\n"
	    "                               receipts against what is stored\n"
	    "  heads [--all] [--out FILE]   the chain heads the collectors signed, to be\n"
	    "                               kept away from the database\n"
	    "  check URL [--collector-certs DIR]\n"
	    "                               the public check of a posting sheet (公示): is\n"
	    "                               what its QR code's URL carries counted as posted?\n"
	    "  receipt check FILE --cert COLLECTOR.cert\n"
	    "                               check a collector's receipt offline (from\n"
	    "                               `tallyfeed-agent receipts --export`)\n"
	    "\n"
	    "Options:\n"
	    "  -d CONNINFO   PostgreSQL connection string or URI (default: the PG* environment)\n"
	    "  -R, --read-database CONNINFO\n"
	    "                another for the commands that only read (default: -d's)\n"
	    "  -f FILE       configuration file (ZPL), section \"console\": database\n"
	    "                (CONNINFO), read_database (-R; with -d alone on the command\n"
	    "                line, -d's is used for reads too); collector, key,\n"
	    "                collector_cert (for import);\n"
	    "                feed (the collector's feed endpoint, for feed);\n"
	    "                silent_after_s (for status)\n"
	    "                certs (for verify); collector_certs (for check)\n"
	    "  -v            more logging\n"
	    "  -h, --help    this text; `tallyfeed COMMAND --help` for a command's own\n"
	    "\n"
	    "Every command but db migrate and registry load works as the read-only\n"
	    "role tallyfeed_reader (SET ROLE): the login must be a member of it.\n"
	    "\n"
	    "Of a connection string's hosts, the commands that only read (totals,\n"
	    "progress, composition, runoffs, flags, unit, status, check, heads) take a\n"
	    "hot standby if one answers (target_session_attrs=prefer-standby), through\n"
	    "the read connection (-R) if there is one.  Those that show figures say how\n"
	    "old they are, in a line after them (on stderr with --format csv or json:\n"
	    "stdout stays the data): \"as of 21:04:07, 0 s behind, last change at\n"
	    "20:51:13 (standby)\" (it replayed all it received), \"as of 21:04:07, at\n"
	    "most 0.3 s behind (standby)\" (the time since the last change it\n"
	    "replayed), or \"as of 21:04:07 (primary)\".  db migrate and registry load\n"
	    "write, and verify holds the data to heads and receipts a standby may not\n"
	    "have replayed yet: they use -d's connection (never -R's), take its primary\n"
	    "(read-write; verify: primary) and refuse a standby.  A connection string's\n"
	    "own target_session_attrs wins over these (PGTARGETSESSIONATTRS does not).\n"
	    "\n"
	    "Exit status: 0 done, 1 failed (database, data), 2 bad arguments.\n");
}

/* How a command uses the database. */
typedef enum {
	USE_READS,              /* as the reader role, a standby preferred */
	USE_AUDITS,             /* as the reader role, on the primary (verify) */
	USE_WRITES              /* as the login, on the primary */
} s_use_t;

struct console_db {
	const char *conninfo;           /* -d, console/database; NULL: the PG* environment */
	const char *read_conninfo;      /* -R, console/read_database; NULL: conninfo's */
	const char *command;            /* its name, for messages */
	s_use_t use;
	PGconn *conn;
	bool fresh;                     /* freshness read (USE_READS) */
	tf_freshness_t freshness;
};

PGconn *
console_db_conn(console_db_t *db)
{
	static const char *const targets[] = { TF_DB_PREFER_STANDBY, TF_DB_PRIMARY, TF_DB_WRITER };
	const char *conninfo = db->conninfo;
	char err[1024];

	if (db->conn != NULL)
		return db->conn;
	if (db->use == USE_READS && db->read_conninfo != NULL)
		conninfo = db->read_conninfo;
	db->conn = tf_db_connect(conninfo != NULL ? conninfo : "", "tallyfeed", targets[db->use],
	                         err, sizeof err);
	if (db->conn == NULL) {
		if (db->use == USE_READS)
			log_warnx("%s", err);
		else
			log_warnx("%s %s on the primary (target_session_attrs=%s, of -d, "
			          "console/database or the PG* environment; never the read "
			          "connection): %s", db->command,
			          db->use == USE_WRITES ? "writes" : "reads", targets[db->use], err);
		return NULL;
	}
	/* Before any query: the figures are then at least as fresh as said. */
	if (tf_freshness_read(db->conn, &db->freshness, err, sizeof err) != 0) {
		log_warnx("%s", err);
		goto fail;
	}
	/* A conninfo's own target_session_attrs wins, and may name a standby. */
	if (db->use != USE_READS && db->freshness.standby) {
		log_warnx("%s %s on the primary, and the server of this connection is a standby "
		          "(in recovery; its conninfo's target_session_attrs lets it): refused",
		          db->command, db->use == USE_WRITES ? "writes" : "reads");
		goto fail;
	}
	if (db->use != USE_WRITES
	    && tf_db_read_only(db->conn, TF_DB_READER_ROLE, 0, err, sizeof err) != 0) {
		log_warnx("%s", err);
		goto fail;
	}
	db->fresh = db->use == USE_READS;
	return db->conn;
fail:
	PQfinish(db->conn);
	db->conn = NULL;
	return NULL;
}

void
console_db_freshness(console_db_t *db, table_format_t format)
{
	char text[TF_FRESHNESS_TEXT_MAX];

	if (!db->fresh)
		return;
	tf_freshness_text(&db->freshness, text, sizeof text);
	/* A program reads stdout: beside CSV or JSON the line goes to stderr. */
	fprintf(format == TABLE_TEXT ? stdout : stderr, "%s\n", text);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "read-database", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const config_keys[] = {
		"database", "read_database", "collector", "key", "collector_cert", "certs", "feed",
		"silent_after_s", "collector_certs", NULL
	};
	const char *conninfo = NULL, *read_conninfo = NULL, *config_path = NULL;
	zconfig_t *config = NULL;
	console_db_t db = { 0 };
	char err[1024];
	int ch, verbose = 0, rc = CONSOLE_USAGE;

	setlocale(LC_CTYPE, "C.UTF-8");
	log_init("tallyfeed", 0);
	/* '+': options end at the command word; the command parses its own. */
	while ((ch = getopt_long(argc, argv, "+d:R:f:vh", options, NULL)) != -1) {
		switch (ch) {
		case 'd':
			conninfo = optarg;
			break;
		case 'R':
			read_conninfo = optarg;
			break;
		case 'f':
			config_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	log_setverbose(verbose);
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if (config_path != NULL) {
		config = tf_config_load(config_path, "console", config_keys, err, sizeof err);
		if (config == NULL) {
			log_warnx("%s", err);
			return CONSOLE_FAILED;
		}
		/* -d alone is for reads too: what the command line names is
		 * what is read, whatever the file's read_database. */
		if (conninfo == NULL) {
			conninfo = tf_config_str(config, "console", "database", NULL);
			if (read_conninfo == NULL)
				read_conninfo = tf_config_str(config, "console", "read_database",
				                              NULL);
		}
	}

	/* Which command?  Check the words before connecting, so a typo is a
	 * usage error even when the database is away. */
	int (*command)(console_db_t *, int, char **) = NULL;
	/* Commands that also read the configuration (for console/certs). */
	int (*configured)(console_db_t *, zconfig_t *, int, char **) = NULL;
	int skip = 1;
	/* Commands that only read work as the read-only role, on a standby
	 * if one answers. */
	s_use_t use = USE_READS;
	if (strcmp(argv[0], "db") == 0 && argc >= 2 && strcmp(argv[1], "migrate") == 0) {
		command = console_migrate;
		skip = 1;
		use = USE_WRITES;
	} else if (strcmp(argv[0], "registry") == 0 && argc >= 2
	           && strcmp(argv[1], "load") == 0) {
		command = console_registry_load;
		skip = 1;
		use = USE_WRITES;
	} else if (strcmp(argv[0], "import") == 0) {
		rc = console_import(config, argc, argv);
		goto out;
	} else if (strcmp(argv[0], "feed") == 0) {
		rc = console_feed(config, argc, argv);
		goto out;
	} else if (strcmp(argv[0], "keygen") == 0) {
		rc = console_keygen(argc, argv);
		goto out;
	} else if (strcmp(argv[0], "receipt") == 0) {
		rc = console_receipt(argc, argv);
		goto out;
	} else if (strcmp(argv[0], "check") == 0) {
		configured = console_check;
		skip = 0;
	} else if (strcmp(argv[0], "verify") == 0) {
		configured = console_verify;
		skip = 0;
		use = USE_AUDITS;
	} else if (strcmp(argv[0], "heads") == 0) {
		command = console_heads;
		skip = 0;
	} else if (strcmp(argv[0], "status") == 0) {
		configured = console_township_status;
		skip = 0;
	} else if (strcmp(argv[0], "unit") == 0) {
		configured = console_unit;
		skip = 0;
	} else if (strcmp(argv[0], "totals") == 0) {
		command = console_totals;
		skip = 0;
	} else if (strcmp(argv[0], "progress") == 0) {
		command = console_progress;
		skip = 0;
	} else if (strcmp(argv[0], "composition") == 0) {
		command = console_composition;
		skip = 0;
	} else if (strcmp(argv[0], "runoffs") == 0) {
		command = console_runoffs;
		skip = 0;
	} else if (strcmp(argv[0], "flags") == 0) {
		command = console_flags;
		skip = 0;
	} else {
		log_warnx("unknown command \"%s%s%s\" (tallyfeed --help lists them)", argv[0],
		          argc >= 2 ? " " : "", argc >= 2 ? argv[1] : "");
		goto out;
	}
	/* Its name, for messages: "db migrate", "verify". */
	char name[32];

	snprintf(name, sizeof name, "%s%s%s", argv[0], skip ? " " : "", skip ? argv[1] : "");
	argc -= skip;
	argv += skip;
	/* The command connects once its arguments are sound. */
	db.conninfo = conninfo;
	db.read_conninfo = read_conninfo;
	db.command = name;
	db.use = use;
	rc = configured ? configured(&db, config, argc, argv) : command(&db, argc, argv);
out:
	PQfinish(db.conn);
	zconfig_destroy(&config);
	return rc;
}
