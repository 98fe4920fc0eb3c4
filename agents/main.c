/*
 * tallyfeed-agent: the township agent.  This file reads the options and
 * the configuration and hands over to the command:
 *
 *   run      the daemon: watches the inbox, forwards the spool, records
 *            answers, serves the entry desk (forwarder.h, inbox.h, entry.h)
 *   submit   check result files (JSON, or a filled-in spreadsheet) and queue
 *            them in the spool (durably) (submit.h)
 *   template write the spreadsheet (CSV) of the township's units to fill in
 *            (submit.h)
 *   status   what the spool holds: pending, in flight, answered, rejected and
 *            why (status.h)
 *   export   write every unanswered message to a bundle for the USB stick
 *            (status.h)
 *   receipts the collector's signed receipts the spool keeps (receipts.h)
 *   sheet    the posting sheet (公示) of an accepted result, with its QR code
 *            (sheet.h)
 *   password set the entry desk's password (password.h, login.h)
 */
#include "config.h"
#include "entry.h"
#include "envelope.h"
#include "forwarder.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "password.h"
#include "receipts.h"
#include "registry.h"
#include "sheet.h"
#include "signals.h"
#include "spool.h"
#include "status.h"
#include "submit.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:7401"
#define DEFAULT_METRICS "127.0.0.1:7404"

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed-agent [-v] [-f FILE] [-s SPOOL] [-k KEY] [-K COLLECTOR_CERT]\n"
	    "                       [-i AGENT_ID] [-t TOWNSHIP] [-r REGISTRY_DIR] [-c ENDPOINT]\n"
	    "                       COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n"
	    "  run [--inbox DIR]       the agent: forwards the spool to the collector, sends\n"
	    "                          unanswered messages again (same bytes, same id) until\n"
	    "                          answered, records each answer; takes in result files\n"
	    "                          dropped in DIR (moved to DIR/queued, or DIR/refused\n"
	    "                          with NAME.json.why): regular *.json files only, read\n"
	    "                          once unchanged for a second, at two looks (write a\n"
	    "                          temporary name and rename it); DIR/queued and\n"
	    "                          DIR/refused must be this user's own directories,\n"
	    "                          not links\n"
	    "  submit [--wait SECONDS] FILE...\n"
	    "                          check each file with the collector's rules and queue\n"
	    "                          it; returns once it is on disk.  RESULT.json: one\n"
	    "                          result (a regular file, not a link, at most 1 MiB).\n"
	    "                          FILE.csv: a spreadsheet from `template`, filled in\n"
	    "                          (UTF-8 with or without BOM, or GB18030/GBK as Excel\n"
	    "                          saves \"CSV (逗号分隔)\"; at most 4 MiB): every\n"
	    "                          election filled in is queued, elections left blank\n"
	    "                          are skipped; a refused cell is named FILE:ROW:COLUMN\n"
	    "                          and then nothing of that file is queued.  The agent\n"
	    "                          numbers a spreadsheet's revisions: 1, or the next\n"
	    "                          after the spool's latest when the figures changed\n"
	    "                          (the same figures again are the message queued\n"
	    "                          before).  --wait: also wait up to SECONDS for the\n"
	    "                          collector's answers (sent by a running agent) and\n"
	    "                          print them\n"
	    "  template --out FILE.csv the spreadsheet of this township's units (-r, and\n"
	    "                          -t or the key's township) for WPS or Excel: a row per\n"
	    "                          unit and committee it can have, rows for candidates\n"
	    "                          below, Chinese headers; UTF-8 with BOM.  Never\n"
	    "                          overwrites FILE.csv.  Needs no spool and no key\n"
	    "  status [--all]          counts of pending, in-flight, accepted and rejected\n"
	    "                          messages, the oldest pending age, rejections and why\n"
	    "  export --to FILE        every unanswered message into a bundle file, for\n"
	    "                          `tallyfeed import` at the county\n"
	    "  receipts [--unit CODE] [--export DIR]\n"
	    "                          the collector's signed receipts the spool keeps (one\n"
	    "                          per answer taken: an answer is taken only with a\n"
	    "                          receipt signed by the collector's certificate, of the\n"
	    "                          very bytes sent); --export writes each to DIR as\n"
	    "                          UNIT-COMMITTEE-rROUND-vREVISION-SEQ-VERDICT.receipt,\n"
	    "                          for `tallyfeed receipt check` and `tallyfeed verify\n"
	    "                          --receipts`\n"
	    "  sheet SEQUENCE [--out FILE.html] [--check-url URL] [--url-only]\n"
	    "                          the posting sheet (公示) of message SEQUENCE once the\n"
	    "                          collector has stored it: an A4 HTML page to print,\n"
	    "                          with a QR code of the province's check page\n"
	    "                          (agent/check_url, or --check-url) that says whether\n"
	    "                          the province counts exactly what it shows;\n"
	    "                          --url-only prints only that URL\n"
	    "  password [--fd N]       set the entry desk's password (%d to %d bytes),\n"
	    "                          kept as its Argon2id hash in SPOOL/%s (mode\n"
	    "                          0600): asked twice on the terminal, or one line\n"
	    "                          read from descriptor N (0: stdin) for scripts.\n"
	    "                          A running agent reads it when it starts\n"
	    "\n"
	    "The entry desk: `run` serves the township staff's page (in Chinese) at\n"
	    "agent/web (default %s; port 0: a free one; \"off\": none), only on the\n"
	    "address given.  The page lists the township's units and takes results,\n"
	    "checked by the collector's rules as they are typed and queued as `submit`\n"
	    "queues files.  Everything but the page's own files needs a login with the\n"
	    "password (a session cookie, 30 min idle, 12 h at most); every write also\n"
	    "its CSRF token.  Results carry candidates' particulars: keep it on\n"
	    "127.0.0.1 unless the township's network is trusted.\n"
	    "\n"
	    "Options (override the configuration file):\n"
	    "  -f FILE        configuration (ZPL), section \"agent\": key, collector_cert, id,\n"
	    "                 township, collector, registry, spool, inbox, window, timeout_ms,\n"
	    "                 retry_max_ms, heartbeat_ms, metrics, web, check_url, and a\n"
	    "                 \"rules\" subsection\n"
	    "                 (see deploy/examples/agent.cfg)\n"
	    "  -s SPOOL       spool directory (required, but by template)\n"
	    "  -k KEY         this agent's secret certificate, NAME.cert_secret from\n"
	    "                 `tallyfeed keygen` (required by run and submit): its CURVE\n"
	    "                 keys open the link, its Ed25519 key signs every result\n"
	    "  -K CERT        the collector's public certificate (required by run)\n"
	    "  -i AGENT_ID    this agent's id; must match the certificate's (default: it)\n"
	    "  -t TOWNSHIP    this agent's township; must match the certificate's (default:\n"
	    "                 it).  Results for units of other townships are refused before\n"
	    "                 queueing\n"
	    "  -r DIR         registry to check unit codes against (deploy/registry/qinghai);\n"
	    "                 template's units\n"
	    "  -c ENDPOINT    the collector (default %s)\n"
	    "  -M ADDR:PORT   run: serve /metrics (Prometheus), /healthz and /readyz here\n"
	    "                 (agent/metrics; default %s, skipped with a warning if that\n"
	    "                 port is taken; port 0: a free one)\n"
	    "  --metrics-file FILE  run: write the metrics address to FILE\n"
	    "  --web ADDR:PORT  run: serve the entry desk here (agent/web)\n"
	    "  --web-file FILE  run: write the entry desk's address to FILE\n"
	    "  --syslog       log to syslog (facility daemon) instead of stderr\n"
	    "  -n             check the configuration (as `run` reads it) and exit: 0 if\n"
	    "                 it is sound\n"
	    "  -v             more logging\n"
	    "  -h, --help     this text\n"
	    "\n"
	    "Exit status: 0 success; 1 a file was refused, rejected or unanswered, or the\n"
	    "spool, registry or configuration failed; 2 bad arguments.\n", LOGIN_PASSWORD_MIN,
	    LOGIN_PASSWORD_MAX, LOGIN_FILE, ENTRY_DEFAULT_LISTEN, DEFAULT_ENDPOINT, DEFAULT_METRICS);
}

/* run: the metrics endpoint.  One configured (-M, agent/metrics) must
 * come up; the default is skipped with a warning if its port is taken
 * (several agents on one host), for forwarding results matters more. */
static int
s_serve_metrics(zconfig_t *config, const char *listen, const char *file,
                tf_metrics_t **metrics, tf_http_t **http)
{
	const char *chosen = listen != NULL ? listen : tf_config_str(config, "agent", "metrics", NULL);
	const char *where = chosen != NULL ? chosen : DEFAULT_METRICS;
	char err[512], address[128];

	*metrics = tf_metrics_new();
	if (*metrics == NULL)
		fatalx("out of memory");
	*http = tf_metrics_serve(*metrics, where, NULL, NULL, err, sizeof err);
	if (*http == NULL) {
		if (chosen != NULL) {
			log_warnx("metrics: %s", err);
			return -1;
		}
		log_warnx("metrics: %s; running without them", err);
		return 0;
	}
	snprintf(address, sizeof address, "http://%.*s:%u/", (int)(strrchr(where, ':') - where),
	         where, tf_http_port(*http));
	log_info("metrics on %smetrics", address);
	if (file != NULL && tf_write_line_file(file, address) != 0) {
		log_warn("could not write %s", file);
		return -1;
	}
	return 0;
}

typedef struct {
	const char *spool_dir;
	forwarder_config_t fc;
	tf_registry_t *registry;
	/* For SIGHUP: where the settings came from, and what a reload read
	 * (kept to the end: the forwarder's settings point into them). */
	const char *config_path, *endpoint_option, *collector_cert_option, *inbox_option;
	zlist_t *retired_configs;       /* zconfig_t read by reloads */
	zlist_t *retired_peers;         /* tf_peer_t (the collector's) read by reloads */
	entry_t *entry;                 /* the entry desk, or NULL: a reload's rules go there */
} agent_t;

/* The settings of the agent section that a reload may change: window,
 * timeouts, heartbeat, inbox, rules.  0, or -1 with err. */
static int
s_settings(zconfig_t *config, forwarder_config_t *fc, char *err, size_t errlen)
{
	long window, timeout, retry_max, heartbeat;

	if (tf_config_int(config, "agent", "window", 64, 1, 10000, &window, err, errlen) != 0
	    || tf_config_int(config, "agent", "timeout_ms", 5000, 10, 3600000, &timeout, err,
	                     errlen) != 0
	    || tf_config_int(config, "agent", "retry_max_ms", 60000, 10, 86400000, &retry_max, err,
	                     errlen) != 0
	    || tf_config_int(config, "agent", "heartbeat_ms", 30000, 100, 86400000, &heartbeat, err,
	                     errlen) != 0
	    || tf_rules_config_load(&fc->rules, config, "agent", err, errlen) != 0)
		return -1;
	fc->window = (int)window;
	fc->timeout_ms = (int)timeout;
	fc->retry_max_ms = (int)retry_max;
	fc->heartbeat_ms = (int)heartbeat;
	fc->inbox = tf_config_str(config, "agent", "inbox", NULL);
	return 0;
}

static const char *const s_config_keys[] = {
	"id", "township", "collector", "registry", "spool", "inbox", "window", "timeout_ms",
	"retry_max_ms", "heartbeat_ms", "key", "collector_cert", "rules", "metrics", "check_url",
	"web", NULL
};

/* SIGHUP, from the forwarder: read the configuration file and the
 * collector's certificate again into fresh.  The agent's own key, id,
 * township and spool stay as they are (a new key is a new agent: restart). */
static int
s_reload(void *arg, forwarder_config_t *fresh, char *err, size_t errlen)
{
	agent_t *agent = arg;
	zconfig_t *config = NULL;
	tf_peer_t *collector;
	const char *cert;

	if (agent->config_path != NULL) {
		config = tf_config_load(agent->config_path, "agent", s_config_keys, err, errlen);
		if (config == NULL)
			return -1;
		zlist_append(agent->retired_configs, config);
		if (s_settings(config, fresh, err, errlen) != 0) {
			char why[1024];

			snprintf(why, sizeof why, "%s", err);
			tf_config_where(config, why, err, errlen);
			return -1;
		}
	}
	if (agent->inbox_option != NULL)
		fresh->inbox = agent->inbox_option;
	fresh->endpoint = agent->endpoint_option != NULL ? agent->endpoint_option
	                  : tf_config_str(config, "agent", "collector", fresh->endpoint);
	cert = agent->collector_cert_option != NULL ? agent->collector_cert_option
	       : tf_config_str(config, "agent", "collector_cert", NULL);
	if (cert != NULL) {
		if ((collector = calloc(1, sizeof *collector)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		zlist_append(agent->retired_peers, collector);
		if (tf_peer_load(cert, collector, err, errlen) != 0)
			return -1;
		fresh->collector_key = collector->curve_public;
		fresh->collector = collector;
	}
	/* The desk checks by the rules the forwarder now takes. */
	if (agent->entry != NULL)
		entry_set_rules(agent->entry, &fresh->rules);
	return 0;
}

/* run: the entry desk, unless agent/web is "off".  One configured must
 * come up; the default is skipped with a warning if its port is taken
 * (several agents on one host), for forwarding results matters more. */
static int
s_serve_entry(zconfig_t *config, const char *listen, const char *file, const char *spool_dir,
              const forwarder_config_t *fc, entry_t **entry)
{
	const char *chosen = listen != NULL ? listen : tf_config_str(config, "agent", "web", NULL);
	const char *where = chosen != NULL ? chosen : ENTRY_DEFAULT_LISTEN;
	char err[1024], path[4096], address[128];

	const char *check_url = tf_config_str(config, "agent", "check_url", NULL);

	if (strcmp(where, "off") == 0)
		return 0;
	if (check_url != NULL && !sheet_check_url_valid(check_url)) {
		tf_config_warn(config, "agent/check_url must be an http:// or https:// URL of printable "
		               "characters without a query or quotes");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", spool_dir, LOGIN_FILE);
	*entry = entry_new(&(entry_config_t){ .listen = where, .spool_dir = spool_dir,
	                                      .password_path = path, .config = fc,
	                                      .check_url = check_url },
	                   err, sizeof err);
	if (*entry == NULL) {
		log_warnx("entry desk: %s%s", err, chosen != NULL ? "" : "; running without it");
		return chosen != NULL ? -1 : 0;
	}
	snprintf(address, sizeof address, "http://%.*s:%u/", (int)(strrchr(where, ':') - where),
	         where, entry_port(*entry));
	log_info("entry desk on %s", address);
	if (access(path, F_OK) != 0)
		log_warnx("entry desk: no password set (`tallyfeed-agent password`): no one can log in");
	if (file != NULL && tf_write_line_file(file, address) != 0) {
		log_warn("could not write %s", file);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "metrics-file", required_argument, NULL, 'N' },
		{ "web", required_argument, NULL, 'W' },
		{ "web-file", required_argument, NULL, 'F' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *endpoint = NULL, *agent_id = NULL, *township = NULL;
	const char *key_path = NULL, *collector_cert = NULL;
	const char *metrics_listen = NULL, *metrics_file = NULL;
	const char *web_listen = NULL, *web_file = NULL;
	entry_t *entry = NULL;
	tf_metrics_t *metrics = NULL;
	tf_http_t *http = NULL;
	tf_identity_t *identity = NULL;
	tf_peer_t collector;
	const char *registry_dir = NULL, *spool_dir = NULL, *command;
	zconfig_t *config = NULL;
	spool_t *spool = NULL;
	agent_t agent;
	char err[1024];
	const char *endpoint_option, *cert_option;
	int ch, verbose = 0, check_only = 0, rc = 2;

	memset(&agent, 0, sizeof agent);
	log_init("tallyfeed-agent", 0);
	while ((ch = getopt_long(argc, argv, "+f:c:i:t:r:s:k:K:M:nvh", options, NULL)) != -1) {
		switch (ch) {
		case 'f':
			config_path = optarg;
			break;
		case 'c':
			endpoint = optarg;
			break;
		case 'i':
			agent_id = optarg;
			break;
		case 't':
			township = optarg;
			break;
		case 'r':
			registry_dir = optarg;
			break;
		case 's':
			spool_dir = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'M':
			metrics_listen = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'S':
			log_to_syslog();
			break;
		case 'N':
			metrics_file = optarg;
			break;
		case 'W':
			web_listen = optarg;
			break;
		case 'F':
			web_file = optarg;
			break;
		case 'K':
			collector_cert = optarg;
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
	log_setverbose(verbose);
	/* -n checks the configuration as `run` would read it, and stops. */
	if (check_only && optind >= argc)
		argv[--optind] = (char *)"run";
	if (optind >= argc) {
		log_warnx("no command given (run, submit, status, export, receipts, sheet, password, "
		          "template)");
		s_usage(stderr);
		return 2;
	}
	command = argv[optind];
	if (strcmp(command, "run") != 0 && strcmp(command, "submit") != 0
	    && strcmp(command, "status") != 0 && strcmp(command, "export") != 0
	    && strcmp(command, "receipts") != 0 && strcmp(command, "sheet") != 0
	    && strcmp(command, "password") != 0 && strcmp(command, "template") != 0) {
		log_warnx("unknown command \"%s\" (run, submit, status, export, receipts, sheet, "
		          "password, template)", command);
		return 2;
	}
	endpoint_option = endpoint;
	cert_option = collector_cert;
	if (config_path != NULL) {
		config = tf_config_load(config_path, "agent", s_config_keys, err, sizeof err);
		if (config == NULL) {
			log_warnx("%s", err);
			rc = 1;
			goto out;
		}
	}
	if (endpoint == NULL)
		endpoint = tf_config_str(config, "agent", "collector", DEFAULT_ENDPOINT);
	if (agent_id == NULL)
		agent_id = tf_config_str(config, "agent", "id", NULL);
	if (township == NULL)
		township = tf_config_str(config, "agent", "township", NULL);
	if (registry_dir == NULL)
		registry_dir = tf_config_str(config, "agent", "registry", NULL);
	if (spool_dir == NULL)
		spool_dir = tf_config_str(config, "agent", "spool", NULL);
	if (key_path == NULL)
		key_path = tf_config_str(config, "agent", "key", NULL);
	if (collector_cert == NULL)
		collector_cert = tf_config_str(config, "agent", "collector_cert", NULL);
	if (strcmp(command, "run") == 0) {
		if (collector_cert == NULL) {
			log_warnx("run needs the collector's certificate (-K or agent/collector_cert)");
			goto out;
		}
		if (!check_only && tf_peer_load(collector_cert, &collector, err, sizeof err) != 0) {
			log_warnx("%s", err);
			rc = 1;
			goto out;
		}
		agent.fc.collector_key = collector.curve_public;
		agent.fc.collector = &collector;
	}
	if (spool_dir == NULL && strcmp(command, "template") != 0) {
		log_warnx("a spool directory is required (-s or agent/spool)");
		goto out;
	}
	if (key_path != NULL && !check_only) {
		const tf_peer_t *me;

		identity = tf_identity_load(key_path, err, sizeof err);
		if (identity == NULL) {
			log_warnx("%s", err);
			rc = 1;
			goto out;
		}
		me = tf_identity_peer(identity);
		if (me->role != TF_ROLE_AGENT) {
			log_warnx("%s is the certificate of %s \"%s\", not of an agent", key_path,
			          tf_role_name(me->role), me->name);
			rc = 1;
			goto out;
		}
		if ((agent_id != NULL && strcmp(agent_id, me->name) != 0)
		    || (township != NULL && strcmp(township, me->township) != 0)) {
			log_warnx("agent %s of township %s does not match the certificate %s "
			          "(agent %s of township %s)", agent_id ? agent_id : me->name,
			          township ? township : me->township, key_path, me->name, me->township);
			rc = 1;
			goto out;
		}
		agent_id = me->name;
		township = me->township;
	} else if (key_path == NULL
	           && (strcmp(command, "run") == 0 || strcmp(command, "submit") == 0)) {
		log_warnx("%s needs this agent's key (-k or agent/key): the secret certificate "
		          "from `tallyfeed keygen`", command);
		goto out;
	}
	/* template signs nothing: it needs only the township. */
	if ((agent_id == NULL && !(check_only && key_path != NULL) && strcmp(command, "template") != 0)
	    || (agent_id != NULL && !tf_agent_id_valid(agent_id))) {
		log_warnx("an agent id is required (-i or agent/id): printable ASCII, 1 to %d bytes",
		          TF_AGENT_ID_MAX);
		goto out;
	}
	if (township != NULL && (!tf_code_valid(township) || strcmp(township + 9, "000") != 0)) {
		log_warnx("township \"%s\" is not a 12-digit township code", township);
		goto out;
	}
	if (s_settings(config, &agent.fc, err, sizeof err) != 0) {
		tf_config_warn(config, "%s", err);
		rc = 1;
		goto out;
	}
	if (registry_dir != NULL && !check_only) {
		agent.registry = tf_registry_new();
		if (agent.registry == NULL)
			fatalx("out of memory");
		if (tf_registry_load_dir(agent.registry, registry_dir, err, sizeof err) != 0) {
			log_warnx("registry: %s", err);
			rc = 1;
			goto out;
		}
		if (township != NULL
		    && tf_registry_find(agent.registry, TF_LEVEL_TOWNSHIP, township) == NULL) {
			log_warnx("township %s is not in the registry %s", township, registry_dir);
			goto out;
		}
	}
	agent.spool_dir = spool_dir;
	agent.fc.agent_id = agent_id;
	agent.fc.identity = identity;
	agent.fc.endpoint = endpoint;
	agent.fc.township = township;
	agent.fc.registry = agent.registry;
	agent.config_path = config_path;
	agent.endpoint_option = endpoint_option;
	agent.collector_cert_option = cert_option;

	if (check_only) {
		/* Like the collector's, -n checks the configuration, not the
		 * files it names (keys, certificates, spool). */
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	tf_signals_install();
	zsys_set_logstream(stderr);

	if (strcmp(command, "template") == 0) {
		rc = template_command(agent.registry, agent.fc.township, argc - optind, argv + optind);
		goto out;
	}
	spool = spool_open(spool_dir, err, sizeof err);
	if (spool == NULL) {
		log_warnx("%s", err);
		rc = 1;
		goto out;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(command, "run") == 0) {
		if (argc == 3 && strcmp(argv[1], "--inbox") == 0)
			agent.fc.inbox = agent.inbox_option = argv[2];
		else if (argc != 1) {
			log_warnx("usage: run [--inbox DIR]");
			goto out;
		}
		if (s_serve_metrics(config, metrics_listen, metrics_file, &metrics, &http) != 0)
			goto out;
		if (s_serve_entry(config, web_listen, web_file, spool_dir, &agent.fc, &entry) != 0)
			goto out;
		agent.fc.metrics = metrics;
		agent.entry = entry;
		agent.fc.reload = s_reload;
		agent.fc.reload_arg = &agent;
		agent.retired_configs = zlist_new();
		agent.retired_peers = zlist_new();
		if (agent.retired_configs == NULL || agent.retired_peers == NULL)
			fatalx("out of memory");
		rc = forwarder_run(spool, &agent.fc, &tf_stop_requested, &tf_reload_requested) == 0
		     ? 0 : 1;
	} else if (strcmp(command, "submit") == 0)
		rc = submit_command(spool, &agent.fc, argc, argv);
	else if (strcmp(command, "status") == 0)
		rc = status_command(spool, argc, argv);
	else if (strcmp(command, "receipts") == 0)
		rc = receipts_command(spool, argc, argv);
	else if (strcmp(command, "sheet") == 0)
		rc = sheet_command(spool, agent.registry, tf_config_str(config, "agent", "check_url", NULL),
		                   argc, argv);
	else if (strcmp(command, "password") == 0)
		rc = password_command(spool_dir, argc, argv);
	else
		rc = export_command(spool, agent.fc.agent_id, argc, argv);
out:
	while (agent.retired_configs != NULL && zlist_size(agent.retired_configs) > 0) {
		zconfig_t *old = zlist_pop(agent.retired_configs);
		zconfig_destroy(&old);
	}
	while (agent.retired_peers != NULL && zlist_size(agent.retired_peers) > 0)
		free(zlist_pop(agent.retired_peers));
	zlist_destroy(&agent.retired_configs);
	zlist_destroy(&agent.retired_peers);
	entry_destroy(&entry);
	tf_http_destroy(&http);
	tf_metrics_destroy(&metrics);
	spool_close(&spool);
	tf_identity_destroy(&identity);
	tf_registry_destroy(&agent.registry);
	zconfig_destroy(&config);
	return rc;
}
