/*
 * tallyfeed-agent: the township agent.  `submit` reads result files written
 * by township staff, checks them with the same rules the collector uses,
 * sends each as a signed-to-be Envelope and prints the collector's verdict.
 */
#include "config.h"
#include "envelope.h"
#include "log.h"
#include "registry.h"
#include "report.h"
#include "rules.h"
#include "sender.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:7401"
#define FILES_MAX 100000

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed-agent [-v] [-f FILE] [-c ENDPOINT] [-i AGENT_ID] [-t TOWNSHIP]\n"
	    "                       [-r REGISTRY_DIR] [--timeout MS] [--retries N] [--window N]\n"
	    "                       submit RESULT.json...\n"
	    "\n"
	    "submit: check each result file (format: deploy/examples/README.md) with the\n"
	    "collector's own rules, send it, wait for the collector's answer and print\n"
	    "one line per file: ACCEPTED, DUPLICATE (the collector had it already),\n"
	    "REJECTED with the reason, or UNANSWERED.  A file that fails the local\n"
	    "check is not sent.\n"
	    "\n"
	    "  -f FILE        configuration (ZPL), section \"agent\": id, township,\n"
	    "                 collector, registry, timeout_ms, retries, window\n"
	    "                 (see deploy/examples/agent.cfg)\n"
	    "  -c ENDPOINT    the collector (default %s)\n"
	    "  -i AGENT_ID    this agent's id (required; printable ASCII, at most 64 bytes)\n"
	    "  -t TOWNSHIP    12-digit code of this agent's township: results for units\n"
	    "                 of other townships are refused before sending\n"
	    "  -r DIR         registry to check unit codes against (deploy/registry/qinghai)\n"
	    "  --timeout MS   first wait for an answer, doubling per resend (default 5000)\n"
	    "  --retries N    resends before a message counts as unanswered (default 5)\n"
	    "  --window N     messages in flight at once (default 64)\n"
	    "  -v             more logging\n"
	    "  -h, --help     this text\n"
	    "\n"
	    "Exit status: 0 if every file was accepted (or was already stored),\n"
	    "1 if any was refused locally, rejected or unanswered, 2 on bad arguments.\n",
	    DEFAULT_ENDPOINT);
}

/* One file of the command line and what became of it. */
typedef struct {
	const char *path;
	char local_error[1024];         /* set when the file was not sent */
	int local_reason;
	int send_index;                 /* index into the sender's items, or -1 */
} submission_t;

static int
s_submit(const char *endpoint, const char *agent_id, const char *township,
         const tf_registry_t *registry, const sender_config_t *sc, char **files, int nfiles)
{
	submission_t *subs = calloc((size_t)nfiles, sizeof *subs);
	sender_item_t *items = calloc((size_t)nfiles, sizeof *items);
	tf_rules_config_t rules;
	size_t nitems = 0, accepted = 0, duplicate = 0, rejected = 0, unanswered = 0, refused = 0;
	/* A durable per-agent sequence arrives with the spool; until then the
	 * clock in microseconds keeps sequences rising across invocations. */
	uint64_t sequence = (uint64_t)zclock_usecs();
	int rc = 1;

	if (subs == NULL || items == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	tf_rules_config_default(&rules);
	for (int i = 0; i < nfiles; i++) {
		submission_t *sub = &subs[i];
		tf_report_t *report;
		tf_check_t check;
		sender_item_t *item;

		sub->path = files[i];
		sub->send_index = -1;
		report = tf_report_from_file(files[i], sub->local_error, sizeof sub->local_error);
		if (report == NULL)
			continue;
		if (tf_rules_check(&rules, report, registry, township, &check) != 0) {
			sub->local_reason = check.reason;
			snprintf(sub->local_error, sizeof sub->local_error, "%s: %s",
			         tf_reason_name(check.reason), check.detail);
			tf_report_destroy(&report);
			continue;
		}
		item = &items[nitems];
		tf_message_id_new(item->message_id);
		item->frame = tf_envelope_build(agent_id, sequence++, item->message_id, tf_now_ms(),
		                                TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT,
		                                &report->base);
		tf_report_destroy(&report);
		if (item->frame == NULL) {
			log_warnx("out of memory");
			goto out;
		}
		sub->send_index = (int)nitems++;
	}
	if (nitems > 0 && sender_deliver(endpoint, sc, items, nitems) != 0)
		goto out;
	for (int i = 0; i < nfiles; i++) {
		submission_t *sub = &subs[i];
		sender_item_t *item;

		if (sub->send_index < 0) {
			printf("%s: NOT SENT: %s\n", sub->path, sub->local_error);
			refused++;
			continue;
		}
		item = &items[sub->send_index];
		if (!item->answered) {
			printf("%s: UNANSWERED: no answer from %s\n", sub->path, endpoint);
			unanswered++;
		} else if (item->verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED) {
			printf("%s: ACCEPTED\n", sub->path);
			accepted++;
		} else if (item->verdict == TALLYFEED__VERDICT__VERDICT_DUPLICATE) {
			printf("%s: DUPLICATE: %s\n", sub->path, item->detail);
			duplicate++;
		} else {
			printf("%s: REJECTED: %s: %s\n", sub->path, tf_reason_name(item->reason),
			       item->detail);
			rejected++;
		}
	}
	printf("submitted %d files: %zu accepted, %zu duplicate, %zu rejected, %zu unanswered, "
	       "%zu not sent\n", nfiles, accepted, duplicate, rejected, unanswered, refused);
	rc = (rejected || unanswered || refused) ? 1 : 0;
out:
	if (items != NULL)
		for (size_t i = 0; i < nitems; i++)
			zframe_destroy(&items[i].frame);
	free(items);
	free(subs);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 'T' },
		{ "retries", required_argument, NULL, 'R' },
		{ "window", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const keys[] = {
		"id", "township", "collector", "registry", "timeout_ms", "retries", "window", NULL
	};
	const char *config_path = NULL, *endpoint = NULL, *agent_id = NULL, *township = NULL;
	const char *registry_dir = NULL, *timeout_arg = NULL, *retries_arg = NULL;
	const char *window_arg = NULL;
	zconfig_t *config = NULL;
	tf_registry_t *registry = NULL;
	sender_config_t sc;
	char err[1024];
	long timeout, retries, window;
	int ch, verbose = 0, rc = 2;

	log_init("tallyfeed-agent", 0);
	while ((ch = getopt_long(argc, argv, "+f:c:i:t:r:vh", options, NULL)) != -1) {
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
		case 'T':
			timeout_arg = optarg;
			break;
		case 'R':
			retries_arg = optarg;
			break;
		case 'W':
			window_arg = optarg;
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
	if (optind >= argc || strcmp(argv[optind], "submit") != 0) {
		log_warnx(optind >= argc ? "no command given" : "unknown command \"%s\"",
		          optind < argc ? argv[optind] : "");
		s_usage(stderr);
		return 2;
	}
	optind++;
	if (optind >= argc) {
		log_warnx("submit: no result files given");
		return 2;
	}
	if (argc - optind > FILES_MAX) {
		log_warnx("submit: more than %d files at once", FILES_MAX);
		return 2;
	}
	if (config_path != NULL) {
		config = tf_config_load(config_path, "agent", keys, err, sizeof err);
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
	if (agent_id == NULL || !tf_agent_id_valid(agent_id)) {
		log_warnx("an agent id is required (-i or agent/id): printable ASCII, 1 to %d bytes",
		          TF_AGENT_ID_MAX);
		goto out;
	}
	if (township != NULL && (!tf_code_valid(township) || strcmp(township + 9, "000") != 0)) {
		log_warnx("township \"%s\" is not a 12-digit township code", township);
		goto out;
	}
	if (tf_config_int(config, "agent", "timeout_ms", 5000, 10, 3600000, &timeout, err, sizeof err) != 0
	    || tf_config_int(config, "agent", "retries", 5, 0, 1000, &retries, err, sizeof err) != 0
	    || tf_config_int(config, "agent", "window", 64, 1, 10000, &window, err, sizeof err) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	if ((timeout_arg && tf_parse_long(timeout_arg, 10, 3600000, &timeout) != 0)
	    || (retries_arg && tf_parse_long(retries_arg, 0, 1000, &retries) != 0)
	    || (window_arg && tf_parse_long(window_arg, 1, 10000, &window) != 0)) {
		log_warnx("--timeout (10..3600000), --retries (0..1000) and --window (1..10000) "
		          "take whole numbers");
		goto out;
	}
	if (registry_dir != NULL) {
		registry = tf_registry_new();
		if (registry == NULL)
			fatalx("out of memory");
		if (tf_registry_load_dir(registry, registry_dir, err, sizeof err) != 0) {
			log_warnx("registry: %s", err);
			rc = 1;
			goto out;
		}
		if (township != NULL && tf_registry_find(registry, TF_LEVEL_TOWNSHIP, township) == NULL) {
			log_warnx("township %s is not in the registry %s", township, registry_dir);
			goto out;
		}
	}
	zsys_set_logstream(stderr);
	sc.timeout_ms = (int)timeout;
	sc.retries = (int)retries;
	sc.window = (int)window;
	rc = s_submit(endpoint, agent_id, township, registry, &sc, argv + optind, argc - optind);
out:
	tf_registry_destroy(&registry);
	zconfig_destroy(&config);
	return rc;
}
