/*
 * tallyfeed-web: the provincial office's dashboard and JSON API over HTTP,
 * reading the database as the read-only role.  Serves its pages from its
 * own binary; fetches nothing from anywhere else.
 */
#include "api.h"
#include "config.h"
#include "http.h"
#include "livefeed.h"
#include "log.h"
#include "service.h"
#include "signals.h"

#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#define DEFAULT_LISTEN "127.0.0.1:7480"
#define DEFAULT_FEED "tcp://127.0.0.1:7402"     /* the collector's default */

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed-web [-nv] [-f FILE] [-l ADDRESS:PORT] [-d CONNINFO] [-R CONNINFO]\n"
	    "                     [-C CERT_DIR] [-F ENDPOINT[,ENDPOINT...]] [--host NAME[,NAME...]]\n"
	    "                     [--collector-certs DIR] [--address-file FILE] [--serve WHAT]\n"
	    "                     [--checks-per-second N]\n"
	    "Serve the provincial office's dashboard (/), its JSON API (/api/v1/) and\n"
	    "the public check of posting sheets (/check, /api/v1/check),\n"
	    "reading the database as the read-only role tallyfeed_reader.  Every figure\n"
	    "is computed from the stored results when asked.  Runs in the foreground and\n"
	    "logs to stderr; SIGTERM or SIGINT stops it, SIGHUP re-reads the certificate\n"
	    "directories (the old certificates stay if the new are unsound).\n"
	    "\n"
	    "  -f FILE        configuration (ZPL), section \"web\": listen, database,\n"
	    "                 read_database, certs, collector_certs, feed, host,\n"
	    "                 connections_per_address, serve, checks_per_second (see\n"
	    "                 deploy/examples/web.cfg)\n"
	    "  -l ADDR:PORT   where to listen (default %s; port 0 takes a free one;\n"
	    "                 \"*:PORT\" every address — put it behind a proxy with TLS)\n"
	    "  -d CONNINFO    PostgreSQL connection string (default: the PG* environment);\n"
	    "                 the login must be a member of tallyfeed_reader.  Of its\n"
	    "                 hosts a hot standby is taken if one answers\n"
	    "                 (target_session_attrs=prefer-standby, unless CONNINFO says\n"
	    "                 otherwise; PGTARGETSESSIONATTRS does not), and every answer\n"
	    "                 with figures says how old they are (\"freshness\": as of\n"
	    "                 when, how far behind the primary, standby or primary)\n"
	    "  -R, --read-database CONNINFO  read from this instead of -d's (the same\n"
	    "                 preference); with -d alone on the command line, -d's is read\n"
	    "  -C DIR         the agents' certificates: a unit's page then shows each\n"
	    "                 signature checked (without: only that one is stored)\n"
	    "  --collector-certs DIR  the collectors' public NAME.cert files: the keys a\n"
	    "                 posting sheet's receipt must verify under for /check to say\n"
	    "                 \"counted\" (without: /api/v1/check answers 503)\n"
	    "  -F, --feed ENDPOINTS  the collectors' live feeds, comma-separated, shown\n"
	    "                 on the dashboard and at /api/v1/feed (default %s;\n"
	    "                 \"off\" for none)\n"
	    "  --host NAMES   the names (NAME or NAME:PORT, comma-separated) it answers to\n"
	    "                 besides its own address and port (and localhost:PORT on a\n"
	    "                 loopback address): a request whose Host header is none of\n"
	    "                 them gets 421 (DNS rebinding).  Behind a proxy, the name\n"
	    "                 the browser uses\n"
	    "  --serve WHAT   \"all\" (default), or \"check\": the public check alone (/check,\n"
	    "                 its page's files and /api/v1/check; everything else 404, no\n"
	    "                 live feed), for the server the posting sheets' QR codes name,\n"
	    "                 open to anyone: the dashboard's API shows every revision\n"
	    "  --checks-per-second N  /api/v1/check requests a second from one client\n"
	    "                 address, a burst of twice that (default %d; 0: no limit);\n"
	    "                 beyond, 429.  Behind a proxy every client has its address\n"
	    "  --address-file FILE  write the address served (http://HOST:PORT/) to FILE\n"
	    "  --syslog       log to syslog (facility daemon) instead of stderr\n"
	    "  -n             check the configuration and exit (0 if it is sound)\n"
	    "  -v             log every request\n"
	    "  -h, --help     this text\n"
	    "\n"
	    "Command-line options override the file.  Exit status: 0 after a clean\n"
	    "shutdown or a sound check, 1 on a bad configuration or if it cannot listen,\n"
	    "2 on bad arguments.\n", DEFAULT_LISTEN, DEFAULT_FEED, API_CHECK_PER_S);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "address-file", required_argument, NULL, 'A' },
		{ "feed", required_argument, NULL, 'F' },
		{ "read-database", required_argument, NULL, 'R' },
		{ "host", required_argument, NULL, 'H' },
		{ "collector-certs", required_argument, NULL, 'K' },
		{ "serve", required_argument, NULL, 'P' },
		{ "checks-per-second", required_argument, NULL, 'Q' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const keys[] = { "listen", "database", "read_database", "certs",
		                            "collector_certs", "feed", "host",
		                            "connections_per_address", "serve",
		                            "checks_per_second", NULL };
	const char *config_path = NULL, *listen = NULL, *conninfo = NULL, *certs = NULL;
	const char *read_conninfo = NULL;
	const char *feed_endpoints = NULL, *host_names = NULL, *collector_certs = NULL;
	char **hosts = NULL;
	const char *address_file = NULL, *serve = NULL, *checks_option = NULL;
	bool check_alone;
	zconfig_t *config = NULL;
	api_t *api = NULL;
	livefeed_t *feed = NULL;
	tf_http_t *http = NULL;
	sigset_t block, old;
	char err[1024], address[128];
	int ch, check_only = 0, verbose = 0, rc = 1;

	setlocale(LC_CTYPE, "C.UTF-8");
	log_init("tallyfeed-web", 0);
	while ((ch = getopt_long(argc, argv, "f:l:d:R:C:F:nvh", options, NULL)) != -1) {
		switch (ch) {
		case 'f':
			config_path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'd':
			conninfo = optarg;
			break;
		case 'R':
			read_conninfo = optarg;
			break;
		case 'C':
			certs = optarg;
			break;
		case 'F':
			feed_endpoints = optarg;
			break;
		case 'S':
			log_to_syslog();
			break;
		case 'A':
			address_file = optarg;
			break;
		case 'H':
			host_names = optarg;
			break;
		case 'K':
			collector_certs = optarg;
			break;
		case 'P':
			serve = optarg;
			break;
		case 'Q':
			checks_option = optarg;
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
		s_usage(stderr);
		return 2;
	}
	log_setverbose(verbose);
	if (config_path != NULL) {
		config = tf_config_load(config_path, "web", keys, err, sizeof err);
		if (config == NULL) {
			log_warnx("%s", err);
			goto out;
		}
	}
	int listen_from_file = listen == NULL && tf_config_str(config, "web", "listen", NULL) != NULL;

	if (listen == NULL)
		listen = tf_config_str(config, "web", "listen", DEFAULT_LISTEN);
	/* tallyfeed-web only reads: the read connection, if one is named, is
	 * its only one.  -d alone on the command line is read, whatever the
	 * file's read_database. */
	if (conninfo == NULL) {
		conninfo = tf_config_str(config, "web", "database", "");
		if (read_conninfo == NULL)
			read_conninfo = tf_config_str(config, "web", "read_database", NULL);
	}
	if (read_conninfo != NULL)
		conninfo = read_conninfo;
	if (certs == NULL)
		certs = tf_config_str(config, "web", "certs", NULL);
	if (collector_certs == NULL)
		collector_certs = tf_config_str(config, "web", "collector_certs", NULL);
	int serve_from_file = serve == NULL && tf_config_str(config, "web", "serve", NULL) != NULL;

	if (serve == NULL)
		serve = tf_config_str(config, "web", "serve", "all");
	if (strcmp(serve, "all") != 0 && strcmp(serve, "check") != 0) {
		if (serve_from_file)
			tf_config_warn(config, "web/serve must be \"all\" or \"check\"");
		else
			log_warnx("--serve takes \"all\" or \"check\", not \"%s\"", serve);
		goto out;
	}
	check_alone = strcmp(serve, "check") == 0;
	int feed_from_file = feed_endpoints == NULL
	                     && tf_config_str(config, "web", "feed", NULL) != NULL;

	if (feed_endpoints == NULL)
		feed_endpoints = tf_config_str(config, "web", "feed", DEFAULT_FEED);

	int host_from_file = host_names == NULL
	                     && tf_config_str(config, "web", "host", NULL) != NULL;

	if (host_names == NULL)
		host_names = tf_config_str(config, "web", "host", "");
	if ((hosts = tf_http_parse_hosts(host_names, err, sizeof err)) == NULL) {
		if (host_from_file)
			tf_config_warn(config, "web/host: %s", err);
		else
			log_warnx("--host: %s", err);
		goto out;
	}
	long per_address = TF_HTTP_PER_ADDRESS;

	/* Behind a proxy every browser comes from the proxy's address. */
	if (tf_config_int(config, "web", "connections_per_address", TF_HTTP_PER_ADDRESS, 1,
	                  TF_HTTP_CONNECTIONS_MAX, &per_address, err, sizeof err) != 0) {
		tf_config_warn(config, "%s", err);
		goto out;
	}
	long checks_per_s = API_CHECK_PER_S;

	if (checks_option != NULL) {
		if (tf_parse_long(checks_option, 0, 1000, &checks_per_s) != 0) {
			log_warnx("--checks-per-second takes 0 to 1000, not \"%s\"", checks_option);
			goto out;
		}
	} else if (tf_config_int(config, "web", "checks_per_second", API_CHECK_PER_S, 0, 1000,
	                         &checks_per_s, err, sizeof err) != 0) {
		tf_config_warn(config, "%s", err);
		goto out;
	}
	if (tf_http_check_listen(listen, err, sizeof err) != 0) {
		if (listen_from_file)
			tf_config_warn(config, "web/listen: %s", err);   /* names its line */
		else
			log_warnx("%s", err);
		goto out;
	}
	/* The server's and the feed's threads are born with these signals
	 * blocked, so they reach this thread, which waits for them in pselect. */
	tf_signals_install();
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	/* Listening to a feed waits for no collector: a malformed endpoint
	 * is the only way this fails, so -n checks it too. */
	if (check_alone)
		feed_endpoints = "off";         /* the feed is the dashboard's */
	if (strcmp(feed_endpoints, "off") != 0
	    && (feed = livefeed_new(feed_endpoints, err, sizeof err)) == NULL) {
		if (feed_from_file)
			tf_config_warn(config, "web/feed: %s", err);
		else
			log_warnx("%s", err);
		goto out;
	}
	/* Like the collector's, -n checks the configuration, not the files
	 * and the database it names. */
	if (check_only) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	api = api_new(conninfo, certs, collector_certs, feed, err, sizeof err);
	if (api == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (check_alone)
		api_serve_check_only(api);
	if (api_limit_checks(api, (unsigned)checks_per_s) != 0) {
		log_warnx("out of memory");
		goto out;
	}
	if (api_check_database(api, err, sizeof err) != 0)
		log_warnx("%s (serving anyway: the API answers 503 until it is back)", err);

	http = tf_http_start(listen, &(tf_http_options_t){ .hosts = (const char *const *)hosts,
	                                                   .per_address = (unsigned)per_address },
	                     api_handle, api, err, sizeof err);
	if (http == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	{
		char host[100];
		const char *colon = strrchr(listen, ':');
		size_t hostlen = (size_t)(colon - listen);

		snprintf(host, sizeof host, "%.*s", (int)(hostlen < sizeof host ? hostlen : 0), listen);
		if (strcmp(host, "*") == 0 || host[0] == '\0')
			snprintf(host, sizeof host, "127.0.0.1");
		snprintf(address, sizeof address, "http://%s:%u/", host, tf_http_port(http));
	}
	if (check_alone)
		log_info("serving the public check alone at %scheck", address);
	else
		log_info("serving the dashboard at %s%s; live feed from %s", address,
		         certs != NULL ? " (signatures checked)" : "",
		         feed != NULL ? feed_endpoints : "nowhere");
	if (address_file != NULL && tf_write_line_file(address_file, address) != 0) {
		log_warn("could not write %s", address_file);
		goto out;
	}
	tf_service_ready("serving");
	while (!tf_stop_requested) {
		/* Wake for a signal, or every second for the watchdog. */
		struct timespec second = { 1, 0 };

		pselect(0, NULL, NULL, NULL, &second, &old);
		tf_service_alive();
		if (tf_reload_requested) {
			tf_reload_requested = 0;
			tf_service_reloading();
			if (api_reload(api, err, sizeof err) != 0)
				log_warnx("reload: %s; keeping the certificates in force", err);
			else if (certs != NULL)
				log_info("reload: certificates read again from %s", certs);
			tf_service_ready("serving");
		}
	}
	tf_service_stopping();
	log_info("stopping");
	rc = 0;
out:
	tf_http_destroy(&http);
	api_destroy(&api);
	livefeed_destroy(&feed);
	zconfig_destroy(&config);
	free(hosts);
	return rc;
}
