/*
 * tallyfeed-collector: the county collector.  Binds a ZeroMQ ROUTER,
 * validates what township agents send, stores it in PostgreSQL and
 * acknowledges each message only after its transaction has committed.
 */
#include "config.h"
#include "envelope.h"
#include "ingest.h"
#include "log.h"
#include "signals.h"
#include "store.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT "tcp://*:7401"

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed-collector [-nv] [-f FILE] [-e ENDPOINT] [-d CONNINFO]\n"
	    "                           [--endpoint-file FILE]\n"
	    "Receive township results over ZeroMQ, validate, store in PostgreSQL,\n"
	    "and acknowledge each message after its transaction has committed.\n"
	    "Runs in the foreground and logs to stderr; SIGTERM or SIGINT finishes\n"
	    "the batch in hand, acknowledges it and exits.\n"
	    "\n"
	    "  -f FILE        configuration (ZPL), section \"collector\": endpoint, database,\n"
	    "                 batch_max, batch_wait_ms (see deploy/examples/collector.cfg)\n"
	    "  -e ENDPOINT    ZeroMQ endpoint to bind (default %s; port * takes the first\n"
	    "                 free port from 49152, port ! a random free one)\n"
	    "  -d CONNINFO    PostgreSQL connection string (default: the PG* environment)\n"
	    "  --endpoint-file FILE  write the bound endpoint to FILE once listening\n"
	    "  -n             check the configuration and exit (0 if it is sound)\n"
	    "  -v             log every message (debug)\n"
	    "  -h, --help     this text\n"
	    "\n"
	    "Command-line options override the file.  Exit status: 0 after a clean\n"
	    "shutdown or a sound check, 1 on a bad configuration or an unreachable\n"
	    "database at start, 2 on bad arguments.\n", DEFAULT_ENDPOINT);
}

static int
s_write_endpoint(const char *path, const char *endpoint)
{
	char tmp[4096];
	FILE *fp;

	/* Write then rename, so a reader never sees half an endpoint. */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "%s\n", endpoint);
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "endpoint-file", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const keys[] = {
		"endpoint", "database", "batch_max", "batch_wait_ms", NULL
	};
	const char *config_path = NULL, *endpoint = NULL, *conninfo = NULL;
	const char *endpoint_file = NULL;
	zconfig_t *config = NULL;
	zsock_t *router = NULL;
	store_t *store = NULL;
	tf_registry_t *registry = NULL;
	ingest_t *ingest = NULL;
	ingest_config_t ic;
	char err[1024], *bound = NULL;
	long batch_max, batch_wait;
	int ch, check_only = 0, verbose = 0, rc = 1;

	log_init("tallyfeed-collector", 0);
	while ((ch = getopt_long(argc, argv, "f:e:d:nvh", options, NULL)) != -1) {
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
		case 'E':
			endpoint_file = optarg;
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
	if (tf_config_int(config, "collector", "batch_max", 1000, 1, 10000, &batch_max, err,
	                  sizeof err) != 0
	    || tf_config_int(config, "collector", "batch_wait_ms", 10, 0, 10000, &batch_wait,
	                     err, sizeof err) != 0) {
		log_warnx("%s: %s", config_path, err);
		goto out;
	}
	if (check_only) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}

	tf_signals_install();
	zsys_set_logstream(stderr);
	zsys_set_logident("tallyfeed-collector");

	store = store_new(conninfo, err, sizeof err);
	if (store == NULL) {
		log_warnx("%s", err);
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

	router = zsock_new(ZMQ_ROUTER);
	if (router == NULL)
		fatalx("could not create a ROUTER socket");
	/* Frames past this are dropped by ZeroMQ itself (and the peer
	 * disconnected); frames between TF_MESSAGE_MAX and this are read,
	 * refused with MESSAGE_TOO_LARGE and kept in quarantine. */
	zsock_set_maxmsgsize(router, 4 * TF_MESSAGE_MAX);
	/* A ROUTER drops what exceeds a peer's send high-water mark.  A
	 * batch's acks go out in one burst; room for several batches keeps an
	 * honest agent's acks from being dropped (a dropped ack only costs a
	 * resend and a DUPLICATE, but under load that is wasted work). */
	zsock_set_sndhwm(router, (int)(batch_max * 4 > 1000 ? batch_max * 4 : 1000));
	zsock_set_linger(router, 1000);
	if (zsock_bind(router, "%s", endpoint) < 0) {
		log_warn("could not bind %s", endpoint);
		goto out;
	}
	bound = zsock_last_endpoint(router);
	log_info("listening on %s; registry: %zu units in %zu townships", bound,
	         tf_registry_size(registry, TF_LEVEL_UNIT),
	         tf_registry_size(registry, TF_LEVEL_TOWNSHIP));
	if (endpoint_file != NULL && s_write_endpoint(endpoint_file, bound) != 0) {
		log_warn("could not write %s", endpoint_file);
		goto out;
	}

	ic.batch_max = (int)batch_max;
	ic.batch_wait_ms = (int)batch_wait;
	tf_rules_config_default(&ic.rules);
	ingest = ingest_new(router, store, registry, &ic);
	if (ingest == NULL)
		fatalx("out of memory");
	ingest_run(ingest, &tf_stop_requested);
	log_info("shutting down");
	rc = 0;
out:
	ingest_destroy(&ingest);
	zsock_destroy(&router);
	tf_registry_destroy(&registry);
	store_destroy(&store);
	zconfig_destroy(&config);
	zstr_free(&bound);
	return rc;
}
