/*
 * tallyfeed: the console.  Migrates the database, loads a province's
 * registry, and answers the provincial office's questions.
 */
#include "config.h"
#include "console.h"
#include "db.h"
#include "log.h"
#include "national.h"

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
	    "usage: tallyfeed [-v] [-f FILE] [-d CONNINFO] COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n"
	    "  db migrate [--sql-dir DIR]   apply the SQL migrations not yet applied\n"
	    "  registry load DIR            check and load a province's division registry\n"
	    "  db publish                   on a province's database: publish it for a\n"
	    "                               national database (logical replication)\n"
	    "  db subscribe --province CODE CONNINFO\n"
	    "                               on the national database: subscribe to a\n"
	    "                               province's; totals, progress and composition\n"
	    "                               there are the country's, by province\n"
	    "  provinces [--format ...]     on the national database: how far each\n"
	    "                               province's rows have come (replication lag)\n"
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
	    "  -f FILE       configuration file (ZPL), section \"console\": database\n"
	    "                (CONNINFO); collector, key, collector_cert (for import);\n"
	    "                feed (the collector's feed endpoint, for feed);\n"
	    "                silent_after_s (for status)\n"
	    "                certs (for verify); collector_certs (for check)\n"
	    "  -v            more logging\n"
	    "  -h, --help    this text; `tallyfeed COMMAND --help` for a command's own\n"
	    "\n"
	    "Every command but db migrate, db publish, db subscribe and registry load\n"
	    "works as the read-only role tallyfeed_reader (SET ROLE): the login must be\n"
	    "a member of it.\n"
	    "\n"
	    "Exit status: 0 done, 1 failed (database, data), 2 bad arguments.\n");
}

struct console_db {
	const char *conninfo;
	bool reads;                     /* as the read-only role */
	PGconn *conn;
};

PGconn *
console_db_conn(console_db_t *db)
{
	char err[1024];

	if (db->conn != NULL)
		return db->conn;
	db->conn = tf_db_connect(db->conninfo != NULL ? db->conninfo : "", "tallyfeed", NULL, err,
	                         sizeof err);
	if (db->conn == NULL) {
		log_warnx("%s", err);
		return NULL;
	}
	if (db->reads && tf_db_read_only(db->conn, TF_DB_READER_ROLE, 0, err, sizeof err) != 0) {
		log_warnx("%s", err);
		PQfinish(db->conn);
		db->conn = NULL;
	}
	return db->conn;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const config_keys[] = {
		"database", "collector", "key", "collector_cert", "certs", "feed",
		"silent_after_s", "collector_certs", NULL
	};
	const char *conninfo = NULL, *config_path = NULL;
	zconfig_t *config = NULL;
	console_db_t db = { NULL, true, NULL };
	char err[1024];
	int ch, verbose = 0, rc = CONSOLE_USAGE;

	setlocale(LC_CTYPE, "C.UTF-8");
	log_init("tallyfeed", 0);
	/* '+': options end at the command word; the command parses its own. */
	while ((ch = getopt_long(argc, argv, "+d:f:vh", options, NULL)) != -1) {
		switch (ch) {
		case 'd':
			conninfo = optarg;
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
		if (conninfo == NULL)
			conninfo = tf_config_str(config, "console", "database", NULL);
	}

	/* Which command?  Check the words before connecting, so a typo is a
	 * usage error even when the database is away. */
	int (*command)(console_db_t *, int, char **) = NULL;
	/* Commands that also read the configuration (for console/certs). */
	int (*configured)(console_db_t *, zconfig_t *, int, char **) = NULL;
	int skip = 1;
	/* Commands that only read work as the read-only role. */
	int reads = 1;
	if (strcmp(argv[0], "db") == 0 && argc >= 2 && strcmp(argv[1], "migrate") == 0) {
		command = console_migrate;
		skip = 1;
		reads = 0;
	} else if (strcmp(argv[0], "db") == 0 && argc >= 2 && strcmp(argv[1], "publish") == 0) {
		command = console_db_publish;
		skip = 1;
		reads = 0;
	} else if (strcmp(argv[0], "db") == 0 && argc >= 2
	           && strcmp(argv[1], "subscribe") == 0) {
		command = console_db_subscribe;
		skip = 1;
		reads = 0;
	} else if (strcmp(argv[0], "provinces") == 0) {
		command = console_provinces;
		skip = 0;
	} else if (strcmp(argv[0], "registry") == 0 && argc >= 2
	           && strcmp(argv[1], "load") == 0) {
		command = console_registry_load;
		skip = 1;
		reads = 0;
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
	argc -= skip;
	argv += skip;
	/* The command connects once its arguments are sound. */
	db.conninfo = conninfo;
	db.reads = reads;
	rc = configured ? configured(&db, config, argc, argv) : command(&db, argc, argv);
out:
	PQfinish(db.conn);
	zconfig_destroy(&config);
	return rc;
}
