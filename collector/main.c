/*
 * tallyfeed-collector: the county collector.  Binds a ZeroMQ ROUTER,
 * validates what township agents send, stores it in PostgreSQL and
 * acknowledges each message only after its transaction has committed.
 */
#include "config.h"
#include "enrolment.h"
#include "feed.h"
#include "http.h"
#include "metrics.h"
#include "service.h"
#include "envelope.h"
#include "identity.h"
#include "ingest.h"
#include "log.h"
#include "signals.h"
#include "store.h"
#include "tallier.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT "tcp://*:7401"
#define DEFAULT_FEED "tcp://127.0.0.1:7402"
#define DEFAULT_METRICS "127.0.0.1:7403"
/* How long a collector waits between tries to reach its database at start. */
#define STORE_OPEN_MIN_MS 500
#define STORE_OPEN_MAX_MS 30000

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed-collector [-nv] [-f FILE] [-e ENDPOINT] [-d CONNINFO]\n"
	    "                           [-k KEY] [-C CERT_DIR] [--endpoint-file FILE]\n"
	    "Receive township results over ZeroMQ, validate, store in PostgreSQL,\n"
	    "and acknowledge each message after its transaction has committed.\n"
	    "A thread of its own writes to the database, so the loop goes on while a\n"
	    "commit waits; past database_stall_ms new messages are answered DEFERRED.\n"
	    "Runs in the foreground and logs to stderr; SIGTERM or SIGINT finishes\n"
	    "the batches in hand, acknowledges them and exits (waiting at most about\n"
	    "15 s on a database that does not answer).  SIGHUP re-reads the\n"
	    "configuration file (batches, rate limits, rules) and the\n"
	    "certificate directory (revoke an agent: remove its NAME.cert, send SIGHUP);\n"
	    "whatever is unsound in the new stays as it was.\n"
	    "\n"
	    "  -f FILE        configuration (ZPL), section \"collector\": endpoint, database,\n"
	    "                 key, certs, chain, batch_max, database_stall_ms,\n"
	    "                 database_statement_timeout_ms, database_lock_timeout_ms,\n"
	    "                 database_idle_in_transaction_timeout_ms, replication,\n"
	    "                 rate_per_s, rate_burst, byte_rate_per_s, byte_burst,\n"
	    "                 quarantine_bytes_per_hour, accept_protocol_1, tally_refresh_ms,\n"
	    "                 feed, metrics,\n"
	    "                 and a \"rules\" subsection (see deploy/examples/collector.cfg)\n"
	    "  -k KEY         this collector's secret certificate (collector/key), from\n"
	    "                 `tallyfeed keygen --collector NAME`\n"
	    "  -C DIR         the enrolled agents' and importers' certificates\n"
	    "                 (collector/certs); only their CURVE keys may connect\n"
	    "  -e ENDPOINT    ZeroMQ endpoint to bind (default %s; port * takes the first\n"
	    "                 free port from 49152, port ! a random free one)\n"
	    "  -d CONNINFO    PostgreSQL connection string (default: the PG* environment);\n"
	    "                 of several hosts (host=a,b), the one that takes writes, found\n"
	    "                 again after a failover.  replication = synchronous: write\n"
	    "                 only where synchronous_standby_names is set (an ack means\n"
	    "                 two servers' disks), warn while no standby streams\n"
	    "  --endpoint-file FILE  write the bound endpoint to FILE once collecting\n"
	    "  --feed ENDPOINT  where to publish the live feed, a ZeroMQ XPUB socket\n"
	    "                 (collector/feed; default %s)\n"
	    "  --feed-file FILE  write the feed's bound endpoint to FILE\n"
	    "  --metrics ADDR:PORT  serve /metrics (Prometheus), /healthz and /readyz\n"
	    "                 (collector/metrics; default %s; port 0: a free one)\n"
	    "  --metrics-file FILE  write the metrics address (http://HOST:PORT/) to FILE\n"
	    "  --syslog       log to syslog (facility daemon) instead of stderr\n"
	    "  -n             check the configuration and exit (0 if it is sound)\n"
	    "  -v             log every message (debug); -vv also every connection's\n"
	    "                 CURVE key, admitted or not (zauth)\n"
	    "  -h, --help     this text\n"
	    "\n"
	    "Command-line options override the file.  Exit status: 0 after a clean\n"
	    "shutdown or a sound check, 1 on a bad configuration, an unreachable\n"
	    "database at start or one running with fsync = off, or a shutdown with a\n"
	    "commit the database never answered, 2 on bad arguments.\n", DEFAULT_ENDPOINT, DEFAULT_FEED,
	    DEFAULT_METRICS);
}

/* The settings a reload may change: batches, rate limits, rules.  0, or
 * -1 with err. */
static int
s_settings(zconfig_t *config, ingest_config_t *ic, char *err, size_t errlen)
{
	long batch_max, stall, rate, burst, byte_rate, byte_burst, quarantine, accept_v1;

	if (tf_config_int(config, "collector", "batch_max", 1000, 1, 10000, &batch_max, err,
	                  errlen) != 0
	    || tf_config_int(config, "collector", "database_stall_ms", 2000, 100, 3600000, &stall,
	                     err, errlen) != 0
	    || tf_config_int(config, "collector", "rate_per_s", 20, 0, 1000000, &rate, err,
	                     errlen) != 0
	    || tf_config_int(config, "collector", "rate_burst", 200, 1, 1000000, &burst, err,
	                     errlen) != 0
	    || tf_config_int(config, "collector", "byte_rate_per_s", 1048576, 0, 1073741824,
	                     &byte_rate, err, errlen) != 0
	    || tf_config_int(config, "collector", "byte_burst", 4194304, 1048576, 1073741824,
	                     &byte_burst, err, errlen) != 0
	    || tf_config_int(config, "collector", "quarantine_bytes_per_hour", 16777216, 0,
	                     1099511627776L, &quarantine, err, errlen) != 0
	    || tf_config_int(config, "collector", "accept_protocol_1", 0, 0, 1, &accept_v1, err,
	                     errlen) != 0
	    || tf_rules_config_load(&ic->rules, config, "collector", err, errlen) != 0)
		return -1;
	ic->batch_max = (int)batch_max;
	ic->stall_ms = (int)stall;
	ic->rate_per_s = (double)rate;
	ic->rate_burst = (double)burst;
	ic->byte_rate_per_s = (double)byte_rate;
	ic->byte_burst = (double)byte_burst;
	ic->quarantine_per_hour = (double)quarantine;
	ic->accept_protocol_1 = accept_v1 != 0;
	return 0;
}

/* The limits of the collector's database session (a restart changes
 * them).  0, or -1 with err. */
static int
s_limits(zconfig_t *config, store_limits_t *limits, char *err, size_t errlen)
{
	const char *replication = tf_config_str(config, "collector", "replication", "none");
	long statement, lock, idle;

	if (tf_config_int(config, "collector", "database_statement_timeout_ms", 60000, 0,
	                  86400000, &statement, err, errlen) != 0
	    || tf_config_int(config, "collector", "database_lock_timeout_ms", 10000, 0, 86400000,
	                     &lock, err, errlen) != 0
	    || tf_config_int(config, "collector", "database_idle_in_transaction_timeout_ms", 60000,
	                     0, 86400000, &idle, err, errlen) != 0)
		return -1;
	limits->statement_timeout_ms = (int)statement;
	limits->lock_timeout_ms = (int)lock;
	limits->idle_in_transaction_ms = (int)idle;
	if (strcmp(replication, "synchronous") == 0) {
		limits->synchronous = true;
	} else if (strcmp(replication, "none") == 0) {
		limits->synchronous = false;
	} else {
		snprintf(err, errlen, "collector/replication: '%s' is neither synchronous nor none",
		         replication);
		return -1;
	}
	return 0;
}

/* The store, once the database lets it write: a server that is down, a
 * chain still held by a killed collector's session (its commit waiting
 * for a synchronous standby), no synchronous standby where one is asked
 * for -- each is waited out, with backoff, rather than exiting into a
 * restart loop systemd would give up on.  NULL on a failure the server
 * will give again (logged), or when told to stop. */
static store_t *
s_store_open(const char *conninfo, const char *chain, const tf_identity_t *identity,
             const store_limits_t *limits)
{
	char err[1024], status[1100];
	int wait_ms = STORE_OPEN_MIN_MS;
	bool retry_later;
	store_t *store;

	while (!tf_stop_requested) {
		store = store_new(conninfo, chain, identity, limits, &retry_later, err, sizeof err);
		if (store != NULL)
			return store;
		if (!retry_later) {
			log_warnx("%s", err);
			return NULL;
		}
		log_warnx("%s; not collecting yet, trying again in %d ms", err, wait_ms);
		snprintf(status, sizeof status, "waiting for the database: %s", err);
		tf_service_starting(status, wait_ms + 60000);
		for (int slept = 0; slept < wait_ms && !tf_stop_requested; slept += 100)
			zclock_sleep(100);
		wait_ms = wait_ms * 2 > STORE_OPEN_MAX_MS ? STORE_OPEN_MAX_MS : wait_ms * 2;
	}
	log_info("told to stop before the database could be written");
	return NULL;
}

/* SIGHUP: the configuration file's settings again (endpoints, database,
 * key and chain take a restart); keep the old ones if the file is unsound. */
static void
s_reload_settings(ingest_t *ingest, const char *config_path, const char *const *keys)
{
	char err[1024], where[1400];
	zconfig_t *config;
	ingest_config_t ic;

	if (config_path == NULL)
		return;
	config = tf_config_load(config_path, "collector", keys, err, sizeof err);
	if (config == NULL) {
		log_warnx("reload: %s; keeping the settings in force", err);
		return;
	}
	if (s_settings(config, &ic, err, sizeof err) != 0) {
		tf_config_where(config, err, where, sizeof where);
		log_warnx("reload: %s; keeping the settings in force", where);
	} else {
		ingest_set_config(ingest, &ic);
		log_info("reload: batch_max %d, database_stall_ms %d, rate %.0f/s burst %.0f, %.0f "
		         "bytes/s burst %.0f, quarantine %.0f bytes/h, rules from %s", ic.batch_max,
		         ic.stall_ms, ic.rate_per_s, ic.rate_burst, ic.byte_rate_per_s,
		         ic.byte_burst, ic.quarantine_per_hour, config_path);
	}
	zconfig_destroy(&config);
}

/* SIGHUP: read the certificates again; keep the old ones if the new are
 * unsound.  zauth reads the same directory for new connections; the
 * table decides for connections already open. */
static void
s_reload(tf_enrolment_t **enrolment, zactor_t *auth, const char *certs_dir)
{
	char err[1024];
	tf_enrolment_t *fresh = tf_enrolment_load(certs_dir, err, sizeof err);

	if (fresh == NULL) {
		log_warnx("reload: %s; keeping the %zu certificates in force", err,
		          tf_enrolment_count(*enrolment, TF_ROLE_AGENT)
		          + tf_enrolment_count(*enrolment, TF_ROLE_IMPORTER));
		return;
	}
	tf_enrolment_destroy(enrolment);
	*enrolment = fresh;
	zstr_sendx(auth, "CURVE", certs_dir, NULL);
	zsock_wait(auth);
	log_info("reload: %zu agents and %zu importers enrolled",
	         tf_enrolment_count(fresh, TF_ROLE_AGENT), tf_enrolment_count(fresh, TF_ROLE_IMPORTER));
}

#define RCVHWM 32               /* frames queued per connection (see main) */

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "endpoint-file", required_argument, NULL, 'E' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "feed", required_argument, NULL, 'F' },
		{ "feed-file", required_argument, NULL, 'G' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "metrics-file", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const keys[] = {
		"endpoint", "database", "batch_max", "database_stall_ms", "key", "certs", "chain",
		"database_statement_timeout_ms", "database_lock_timeout_ms",
		"database_idle_in_transaction_timeout_ms",
		"rate_per_s", "rate_burst", "rules", "feed", "metrics", "byte_rate_per_s",
		"byte_burst", "quarantine_bytes_per_hour", "accept_protocol_1", "tally_refresh_ms",
		"replication", NULL
	};
	const char *config_path = NULL, *endpoint = NULL, *conninfo = NULL;
	const char *endpoint_file = NULL, *key_path = NULL, *certs_dir = NULL, *chain;
	const char *feed_at = NULL, *feed_file = NULL, *metrics_listen = NULL;
	const char *metrics_file = NULL;
	feed_t *feed = NULL;
	tf_metrics_t *metrics = NULL;
	tf_http_t *http = NULL;
	tf_identity_t *identity = NULL;
	tf_enrolment_t *enrolment = NULL;
	zactor_t *auth = NULL, *monitor = NULL;
	zconfig_t *config = NULL;
	zsock_t *router = NULL;
	store_t *store = NULL;
	tf_registry_t *registry = NULL;
	ingest_t *ingest = NULL;
	tallier_t *tallier = NULL;
	ingest_config_t ic;
	long tally_ms;
	store_limits_t limits;
	char err[1024], *bound = NULL;
	int ch, check_only = 0, verbose = 0, rc = 1;

	log_init("tallyfeed-collector", 0);
	while ((ch = getopt_long(argc, argv, "f:e:d:k:C:nvh", options, NULL)) != -1) {
		switch (ch) {
		case 'f':
			config_path = optarg;
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'd':
			conninfo = optarg;
			break;
		case 'S':
			log_to_syslog();
			break;
		case 'E':
			endpoint_file = optarg;
			break;
		case 'F':
			feed_at = optarg;
			break;
		case 'G':
			feed_file = optarg;
			break;
		case 'M':
			metrics_listen = optarg;
			break;
		case 'N':
			metrics_file = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'C':
			certs_dir = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			s_usage(stdout);
			return 0;
		default:
			s_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		log_warnx("unexpected argument \"%s\"", argv[optind]);
		s_usage(stderr);
		return 2;
	}
	log_setverbose(verbose);
	if (config_path != NULL) {
		config = tf_config_load(config_path, "collector", keys, err, sizeof err);
		if (config == NULL) {
			log_warnx("%s", err);
			return 1;
		}
	}
	if (endpoint == NULL)
		endpoint = tf_config_str(config, "collector", "endpoint", DEFAULT_ENDPOINT);
	if (conninfo == NULL)
		conninfo = tf_config_str(config, "collector", "database", "");
	if (feed_at == NULL)
		feed_at = tf_config_str(config, "collector", "feed", DEFAULT_FEED);
	if (metrics_listen == NULL)
		metrics_listen = tf_config_str(config, "collector", "metrics", DEFAULT_METRICS);
	if (tf_http_check_listen(metrics_listen, err, sizeof err) != 0) {
		tf_config_warn(config, "collector/metrics: %s", err);
		goto out;
	}
	if (s_settings(config, &ic, err, sizeof err) != 0
	    || s_limits(config, &limits, err, sizeof err) != 0
	    || tf_config_int(config, "collector", "tally_refresh_ms", 500, 0, 3600000, &tally_ms,
	                     err, sizeof err) != 0) {
		tf_config_warn(config, "%s", err);
		goto out;
	}
	if (key_path == NULL)
		key_path = tf_config_str(config, "collector", "key", NULL);
	if (certs_dir == NULL)
		certs_dir = tf_config_str(config, "collector", "certs", NULL);
	if (key_path == NULL || certs_dir == NULL) {
		log_warnx("the collector needs its key (-k, collector/key) and the enrolled agents' "
		          "certificates (-C, collector/certs): it accepts no one else");
		goto out;
	}
	if (check_only) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	identity = tf_identity_load(key_path, err, sizeof err);
	if (identity == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	enrolment = tf_enrolment_load(certs_dir, err, sizeof err);
	if (enrolment == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	chain = tf_config_str(config, "collector", "chain", tf_identity_peer(identity)->name);

	tf_signals_install();
	zsys_set_logstream(stderr);
	zsys_set_logident("tallyfeed-collector");

	store = s_store_open(conninfo, chain, identity, &limits);
	if (store == NULL) {
		rc = tf_stop_requested ? 0 : 1;
		goto out;
	}
	registry = store_load_registry(store, err, sizeof err);
	if (registry == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (tf_registry_size(registry, TF_LEVEL_UNIT) == 0) {
		log_warnx("the registry in the database is empty: run `tallyfeed registry load DIR`");
		goto out;
	}

	/* ZAP: CURVE clients are admitted only if their public key has a
	 * certificate in certs_dir; plain-text clients fail the handshake. */
	auth = zactor_new(zauth, NULL);
	if (auth == NULL)
		fatalx("could not start the authenticator");
	if (verbose > 1) {
		zstr_send(auth, "VERBOSE");
		zsock_wait(auth);
	}
	zstr_sendx(auth, "CURVE", certs_dir, NULL);
	zsock_wait(auth);

	router = zsock_new(ZMQ_ROUTER);
	if (router == NULL)
		fatalx("could not create a ROUTER socket");
	tf_identity_apply(identity, router);
	zsock_set_curve_server(router, 1);
	zsock_set_zap_domain(router, "tallyfeed");
	/* Frames past this are dropped by ZeroMQ itself (and the peer
	 * disconnected); frames between TF_MESSAGE_MAX and this are read,
	 * refused with MESSAGE_TOO_LARGE and kept in quarantine. */
	zsock_set_maxmsgsize(router, 4 * TF_MESSAGE_MAX);
	/* A ROUTER drops what exceeds a peer's send high-water mark.  A
	 * batch's acks go out in one burst; room for several batches keeps an
	 * honest agent's acks from being dropped (a dropped ack only costs a
	 * resend and a DUPLICATE, but under load that is wasted work). */
	zsock_set_sndhwm(router, ic.batch_max * 4 > 1000 ? ic.batch_max * 4 : 1000);
	/* What ZeroMQ holds for one connection before it stops reading its
	 * socket: at most this many frames (each up to 1 MiB) waiting for us;
	 * the rest waits in the sender's queue and TCP, not in our memory. */
	zsock_set_rcvhwm(router, RCVHWM);
	zsock_set_linger(router, 1000);
	if (zsock_bind(router, "%s", endpoint) < 0) {
		log_warn("could not bind %s", endpoint);
		goto out;
	}
	bound = zsock_last_endpoint(router);
	log_info("listening on %s (CURVE); registry: %zu units in %zu townships; %zu agents and "
	         "%zu importers enrolled; chain \"%s\"", bound,
	         tf_registry_size(registry, TF_LEVEL_UNIT),
	         tf_registry_size(registry, TF_LEVEL_TOWNSHIP),
	         tf_enrolment_count(enrolment, TF_ROLE_AGENT),
	         tf_enrolment_count(enrolment, TF_ROLE_IMPORTER), chain);

	ingest = ingest_new(router, &store, registry, identity, &ic);
	if (ingest == NULL)
		fatalx("out of memory, or could not start the database writer");
	ingest_set_enrolment(ingest, enrolment);
	/* 0: the tallies are another's to keep (another collector's tallier). */
	if (tally_ms > 0 && (tallier = tallier_new(conninfo, (int)tally_ms, &limits)) == NULL)
		fatalx("could not start the tallier");
	feed = feed_new(feed_at, registry, err, sizeof err);
	if (feed == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	metrics = tf_metrics_new();
	if (metrics == NULL || ingest_set_outputs(ingest, feed, metrics) != 0)
		fatalx("out of memory");
	tf_metrics_not_ready_above(metrics, ingest_database_stalled(ingest),
	                           "not ready: a commit has waited %.1f s on the database\n");
	http = tf_metrics_serve(metrics, metrics_listen, ingest_database_up(ingest),
	                        "not ready: the database does not answer\n", err, sizeof err);
	if (http == NULL) {
		log_warnx("metrics: %s", err);
		goto out;
	}
	log_info("live feed on %s; metrics on http://%.*s:%u/metrics", feed_endpoint(feed),
	         (int)(strrchr(metrics_listen, ':') - metrics_listen), metrics_listen,
	         tf_http_port(http));
	if (feed_file != NULL && tf_write_line_file(feed_file, feed_endpoint(feed)) != 0) {
		log_warn("could not write %s", feed_file);
		goto out;
	}
	if (metrics_file != NULL) {
		char address[128];

		snprintf(address, sizeof address, "http://%.*s:%u/",
		         (int)(strrchr(metrics_listen, ':') - metrics_listen), metrics_listen,
		         tf_http_port(http));
		if (tf_write_line_file(metrics_file, address) != 0) {
			log_warn("could not write %s", metrics_file);
			goto out;
		}
	}
	/* Handshakes refused before any message: logged, so an outsider's
	 * attempts leave a trace (zauth logs their keys too with -vv). */
	monitor = zactor_new(zmonitor, router);
	if (monitor == NULL)
		fatalx("could not start the socket monitor");
	zstr_sendx(monitor, "LISTEN", "HANDSHAKE_FAILED_NO_DETAIL", "HANDSHAKE_FAILED_PROTOCOL",
	           "HANDSHAKE_FAILED_AUTH", NULL);
	zstr_sendx(monitor, "START", NULL);
	zsock_wait(monitor);
	ingest_watch(ingest, monitor);
	/* Written last: whoever waits for it finds the collector collecting,
	 * its signal handling, feed and metrics all in place. */
	if (endpoint_file != NULL && tf_write_line_file(endpoint_file, bound) != 0) {
		log_warn("could not write %s", endpoint_file);
		goto out;
	}
	tf_service_ready("collecting");
	while (!tf_stop_requested) {
		ingest_run(ingest, &tf_stop_requested, &tf_reload_requested);
		if (!ingest_drained(ingest)) {
			/* Its writer's thread is still in a call to the server:
			 * leave without freeing what it uses.  Nothing it holds
			 * was acknowledged. */
			tf_service_stopping();
			_exit(1);
		}
		if (tf_reload_requested) {
			tf_reload_requested = 0;
			tf_service_reloading();
			s_reload_settings(ingest, config_path, keys);
			s_reload(&enrolment, auth, certs_dir);
			ingest_set_enrolment(ingest, enrolment);
			tf_service_ready("collecting");
		}
	}
	tf_service_stopping();
	log_info("shutting down");
	rc = 0;
out:
	tf_http_destroy(&http);
	tallier_destroy(&tallier);
	ingest_destroy(&ingest);
	feed_destroy(&feed);
	tf_metrics_destroy(&metrics);
	zactor_destroy(&monitor);
	zsock_destroy(&router);
	zactor_destroy(&auth);
	tf_enrolment_destroy(&enrolment);
	tf_identity_destroy(&identity);
	tf_registry_destroy(&registry);
	store_destroy(&store);
	zconfig_destroy(&config);
	zstr_free(&bound);
	return rc;
}
