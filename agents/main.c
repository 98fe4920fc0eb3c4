/*
 * tallyfeed-agent: the township agent.
 *
 *   run      the daemon: watches the inbox, forwards the spool, records answers
 *   submit   check result files (JSON, or a filled-in spreadsheet) and queue
 *            them in the spool (durably)
 *   template write the spreadsheet (CSV) of the township's units to fill in
 *   status   what the spool holds: pending, in flight, answered, rejected and why
 *   export   write every unanswered message to a bundle for the USB stick
 *   receipts the collector's signed receipts the spool keeps
 *   sheet    the posting sheet (公示) of an accepted result, with its QR code
 *   password set the entry desk's password (entry.h, login.h)
 */
#include "atomicfile.h"
#include "bundle.h"
#include "config.h"
#include "entry.h"
#include "envelope.h"
#include "forwarder.h"
#include "http.h"
#include "inbox.h"
#include "login.h"
#include "metrics.h"
#include "receipts.h"
#include "sheet.h"
#include "log.h"
#include "signals.h"
#include "registry.h"
#include "spool.h"
#include "spreadsheet.h"
#include "utf8.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:7401"
#define DEFAULT_METRICS "127.0.0.1:7404"
#define FILES_MAX 100000

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
	return 0;
}

/* One line of at most size - 1 bytes from fd, without its newline, into
 * buf.  0, or -1 if longer or unreadable. */
static int
s_read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t got = read(fd, &c, 1);

		if (got < 0)
			return -1;
		if (got == 0 || c == '\n')
			break;
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

/* Ask for a line on the terminal, not echoed (or read a line from stdin). */
static int
s_ask(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	int rc;

	fputs(prompt, stderr);
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = s_read_line(STDIN_FILENO, buf, size);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* password [--fd N]: the entry desk's password, hashed into the spool
 * directory. */
static int
s_password(const char *spool_dir, int argc, char **argv)
{
	char first[LOGIN_PASSWORD_MAX + 2] = "", again[LOGIN_PASSWORD_MAX + 2] = "";
	char path[4096], err[1024];
	long fd = -1;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--fd") == 0) {
		if (tf_parse_long(argv[2], 0, 1023, &fd) != 0) {
			log_warnx("--fd takes a descriptor number");
			return 2;
		}
	} else if (argc != 1) {
		log_warnx("usage: password [--fd N]");
		return 2;
	}
	snprintf(path, sizeof path, "%s/%s", spool_dir, LOGIN_FILE);
	if (fd >= 0) {
		if (s_read_line((int)fd, first, sizeof first) != 0) {
			log_warnx("password: no line of at most %d bytes on descriptor %ld",
			          LOGIN_PASSWORD_MAX, fd);
			goto out;
		}
	} else if (s_ask("new password for the entry desk: ", first, sizeof first) != 0
	           || s_ask("the same again: ", again, sizeof again) != 0) {
		log_warnx("password: not read (at most %d bytes)", LOGIN_PASSWORD_MAX);
		goto out;
	} else if (strcmp(first, again) != 0) {
		log_warnx("password: the two differ; nothing changed");
		goto out;
	}
	if (login_password_set(path, first, err, sizeof err) != 0) {
		log_warnx("password: %s", err);
		goto out;
	}
	printf("password set in %s (a running agent takes it when restarted)\n", path);
	rc = 0;
out:
	sodium_memzero(first, sizeof first);
	sodium_memzero(again, sizeof again);
	return rc;
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

/* A message `submit` queued, and what to call it when its answer comes. */
typedef struct {
	char *label;            /* the file, or FILE:ROW of a spreadsheet's election */
	int64_t sequence;       /* 0: not queued */
} submitted_t;

/* One more entry of *items (grown as needed); NULL out of memory. */
static submitted_t *
s_submitted_add(submitted_t **items, size_t *n, size_t *capacity)
{
	if (*n == *capacity) {
		size_t more = *capacity ? 2 * *capacity : 16;
		submitted_t *grown = realloc(*items, more * sizeof *grown);

		if (grown == NULL)
			return NULL;
		*items = grown;
		*capacity = more;
	}
	memset(&(*items)[*n], 0, sizeof **items);
	return &(*items)[(*n)++];
}

static bool
s_is_spreadsheet(const char *path)
{
	size_t len = strlen(path);

	return len > 4 && strcasecmp(path + len - 4, ".csv") == 0;
}

/* submit FILE.csv: every election of the spreadsheet queued, or none of
 * them (a refused cell, a rule broken, the spool failing): staff correct
 * the file and submit it whole again, and what an earlier submission of
 * it queued is recognised by its content.  0, or -1 (said on stdout). */
static int
s_submit_spreadsheet(agent_t *agent, spool_t *spool, const char *path, bool quiet,
                     submitted_t **items, size_t *n, size_t *capacity)
{
	tf_spreadsheet_t *sheet = tf_spreadsheet_read(path);
	tf_spreadsheet_queued_t *queued = NULL;
	char *shown = tf_text_escape_dup(path), err[1024];
	size_t refused, count;
	int rc = -1;

	if (sheet == NULL || shown == NULL) {
		printf("%s: NOT QUEUED: out of memory\n", shown != NULL ? shown : "?");
		goto out;
	}
	/* Every election read is checked, even beside refused cells: staff
	 * see all that is wrong with the file at once. */
	tf_spreadsheet_check(sheet, &agent->fc.rules, agent->registry, agent->fc.township);
	count = tf_spreadsheet_size(sheet);
	if (tf_spreadsheet_encoding(sheet) != NULL)
		printf("%s: read as %s: %zu elections filled in, %zu left blank (skipped)\n", shown,
		       tf_spreadsheet_encoding(sheet), count, tf_spreadsheet_blank(sheet));
	refused = tf_spreadsheet_refused(sheet);
	if (refused > 0) {
		for (size_t i = 0; i < tf_spreadsheet_errors(sheet); i++)
			printf("%s\n", tf_spreadsheet_error(sheet, i));
		if (refused > tf_spreadsheet_errors(sheet))
			printf("%s: and %zu more\n", shown, refused - tf_spreadsheet_errors(sheet));
		printf("%s: NOT QUEUED: %zu refused; nothing of this file is queued (correct it "
		       "and submit it again)\n", shown, refused);
		goto out;
	}
	if (count == 0) {
		printf("%s: nothing to queue: every election in it is blank\n", shown);
		rc = 0;
		goto out;
	}
	if ((queued = calloc(count, sizeof *queued)) == NULL) {
		printf("%s: NOT QUEUED: out of memory\n", shown);
		goto out;
	}
	if (tf_spreadsheet_queue(sheet, spool, &agent->fc, queued, err, sizeof err) != 0) {
		printf("%s: NOT QUEUED: %s; nothing of this file is queued\n", shown, err);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const tf_report_t *r = tf_spreadsheet_report(sheet, i);
		submitted_t *item = s_submitted_add(items, n, capacity);

		if (item == NULL || asprintf(&item->label, "%s:%u: %s %s round %u revision %u",
		                             shown, tf_spreadsheet_row(sheet, i), r->unit_code,
		                             tf_committee_word(r->committee), r->round,
		                             queued[i].revision) < 0) {
			/* Queued all the same: only its answer will not be shown. */
			if (item != NULL)
				item->label = NULL;
			continue;
		}
		item->sequence = queued[i].sequence;
		if (!quiet)
			printf("%s: QUEUED%s as message %lld\n", item->label,
			       queued[i].existed ? " already" : "", (long long)queued[i].sequence);
	}
	rc = 0;
out:
	free(queued);
	free(shown);
	tf_spreadsheet_destroy(&sheet);
	return rc;
}

static int
s_submit(agent_t *agent, spool_t *spool, int argc, char **argv)
{
	static const struct option options[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	submitted_t *items = NULL;
	size_t nitems = 0, capacity = 0;
	long wait_s = -1;
	int ch, nfiles, refused = 0, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ch != 'w')
			return 2;
		if (tf_parse_long(optarg, 0, 30 * 86400, &wait_s) != 0) {
			log_warnx("--wait takes seconds (0 to 2592000)");
			return 2;
		}
	}
	nfiles = argc - optind;
	if (nfiles < 1 || nfiles > FILES_MAX) {
		log_warnx("submit: give 1 to %d result files", FILES_MAX);
		return 2;
	}
	for (int i = 0; i < nfiles; i++) {
		const char *path = argv[optind + i];
		char err[1024];
		bool existed;
		int reason;
		submitted_t *item;

		if (s_is_spreadsheet(path)) {
			if (s_submit_spreadsheet(agent, spool, path, wait_s >= 0, &items, &nitems,
			                         &capacity) != 0)
				refused++;
			continue;
		}
		if ((item = s_submitted_add(&items, &nitems, &capacity)) == NULL
		    || (item->label = strdup(path)) == NULL) {
			log_warnx("out of memory");
			goto out;
		}
		if (tf_inbox_queue_file(spool, &agent->fc, path, &item->sequence, &existed, &reason,
		                        err, sizeof err) != 0) {
			printf("%s: NOT QUEUED: %s\n", path, err);
			item->sequence = 0;
			refused++;
		} else if (wait_s < 0)
			printf("%s: QUEUED%s as message %lld\n", path, existed ? " already" : "",
			       (long long)item->sequence);
	}
	if (wait_s < 0) {
		rc = refused ? 1 : 0;
		goto out;
	}
	/* Wait for the running agent to hear the collector's answers. */
	int64_t deadline = zclock_mono() + wait_s * 1000;
	int bad = refused;
	for (size_t i = 0; i < nitems; i++) {
		spool_state_t state = SPOOL_PENDING;
		char reason[64] = "", detail[TF_DETAIL_MAX] = "";
		char shown[TF_TEXT_ESCAPED_MAX(TF_DETAIL_MAX)];    /* the collector's words, escaped */
		const char *label = items[i].label;

		if (items[i].sequence == 0 || label == NULL)
			continue;
		for (;;) {
			if (spool_get(spool, items[i].sequence, &state, reason, sizeof reason, detail,
			              sizeof detail) != 0 || state != SPOOL_PENDING
			    || zclock_mono() >= deadline || tf_stop_requested)
				break;
			zclock_sleep(100);
		}
		switch (state) {
		case SPOOL_ACCEPTED:
			printf("%s: ACCEPTED\n", label);
			break;
		case SPOOL_DUPLICATE:
			tf_text_escape(shown, sizeof shown, detail, strlen(detail));
			printf("%s: DUPLICATE: %s\n", label, shown);
			break;
		case SPOOL_REJECTED:
			tf_text_escape(shown, sizeof shown, reason, strlen(reason));
			printf("%s: REJECTED: %s", label, shown);
			tf_text_escape(shown, sizeof shown, detail, strlen(detail));
			printf(": %s\n", shown);
			bad++;
			break;
		case SPOOL_PENDING:
			printf("%s: UNANSWERED (queued as message %lld; still in the spool)\n",
			       label, (long long)items[i].sequence);
			bad++;
			break;
		}
	}
	rc = bad ? 1 : 0;
out:
	for (size_t i = 0; i < nitems; i++)
		free(items[i].label);
	free(items);
	return rc;
}

/* template --out FILE.csv: the township's spreadsheet, written whole,
 * never over a file that exists (it may be the one staff filled in). */
static int
s_template(agent_t *agent, int argc, char **argv)
{
	const tf_area_t *township;
	size_t len, elections, skipped;
	char err[1024], *text;
	int rc = 1;

	if (argc != 3 || strcmp(argv[1], "--out") != 0) {
		log_warnx("usage: template --out FILE.csv");
		return 2;
	}
	if (agent->registry == NULL || agent->fc.township == NULL) {
		log_warnx("template needs the registry (-r or agent/registry) and the township "
		          "(-t, agent/township or the key's)");
		return 2;
	}
	township = tf_registry_find(agent->registry, TF_LEVEL_TOWNSHIP, agent->fc.township);
	text = tf_spreadsheet_template(agent->registry, agent->fc.township, &len, &elections,
	                               &skipped, err, sizeof err);
	if (text == NULL) {
		log_warnx("template: %s", err);
		return 1;
	}
	if (tf_atomicfile_write(argv[2], text, len, 0644, TF_ATOMICFILE_NOREPLACE, err,
	                        sizeof err) != 0) {
		if (errno == EEXIST)
			log_warnx("template: %s exists: not overwritten (it may be filled in already); "
			          "remove it or name another file", argv[2]);
		else
			log_warnx("template: %s", err);
		goto out;
	}
	printf("wrote %s: %zu elections of township %s %s%s; fill it in with WPS or Excel, save "
	       "it as CSV, then: tallyfeed-agent submit %s\n", argv[2], elections,
	       agent->fc.township, township != NULL ? township->name : "",
	       skipped ? " (units whose code maps to no committee type left out: see the log)" : "",
	       argv[2]);
	rc = 0;
out:
	free(text);
	return rc;
}

static void
s_print_row(void *arg, int64_t sequence, const char *source, const char *key,
            spool_state_t state, int attempts, int64_t created_ms, const char *reason,
            const char *detail)
{
	/* The file's name and the collector's words, escaped for the terminal. */
	char *k = tf_text_escape_dup(key), *s = tf_text_escape_dup(source);
	char *r = tf_text_escape_dup(reason != NULL ? reason : "?");
	char *d = tf_text_escape_dup(detail != NULL ? detail : "");

	(void)arg;
	(void)created_ms;
	printf("%6lld  %-9s  %3d sends  %s  %s", (long long)sequence, spool_state_name(state),
	       attempts, k != NULL ? k : "?", s != NULL ? s : "?");
	if (state == SPOOL_REJECTED)
		printf("  %s: %s", r != NULL ? r : "?", d != NULL ? d : "?");
	putchar('\n');
	free(k);
	free(s);
	free(r);
	free(d);
}

static void
s_duration(char *out, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s < 120)
		snprintf(out, len, "%lld s", (long long)s);
	else if (s < 7200)
		snprintf(out, len, "%lld min", (long long)(s / 60));
	else
		snprintf(out, len, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

static int
s_status(spool_t *spool, int argc, char **argv)
{
	spool_stats_t st;
	char age[64] = "-";
	bool all = argc > 1 && strcmp(argv[1], "--all") == 0;

	if (argc > 2 || (argc == 2 && !all)) {
		log_warnx("status takes only --all");
		return 2;
	}
	if (spool_stats(spool, &st) != 0)
		return 1;
	if (st.oldest_pending_ms != 0)
		s_duration(age, sizeof age, tf_now_ms() - st.oldest_pending_ms);
	printf("pending %lld, in flight %lld, accepted %lld, rejected %lld; oldest unanswered %s; "
	       "last answered message %lld\n", (long long)st.pending, (long long)st.in_flight,
	       (long long)st.accepted, (long long)st.rejected, age,
	       (long long)st.last_acked_sequence);
	if (all)
		return spool_foreach(spool, -1, s_print_row, NULL) == 0 ? 0 : 1;
	if (st.rejected > 0) {
		printf("rejected (correct the file and submit it as the next revision):\n");
		spool_foreach(spool, SPOOL_REJECTED, s_print_row, NULL);
	}
	return 0;
}

static int
s_export(agent_t *agent, spool_t *spool, int argc, char **argv)
{
	zlist_t *frames = zlist_new();
	char err[1024];
	int rc = 1;

	if (argc != 3 || strcmp(argv[1], "--to") != 0) {
		log_warnx("usage: export --to FILE");
		zlist_destroy(&frames);
		return 2;
	}
	if (spool_unanswered_envelopes(spool, frames) != 0)
		goto out;
	if (tf_bundle_write(argv[2], agent->fc.agent_id, frames, err, sizeof err) != 0) {
		log_warnx("export: %s", err);
		goto out;
	}
	printf("exported %zu unanswered messages to %s\n", zlist_size(frames), argv[2]);
	rc = 0;
out:
	while (zlist_size(frames) > 0) {
		zframe_t *f = zlist_pop(frames);
		zframe_destroy(&f);
	}
	zlist_destroy(&frames);
	return rc;
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
		rc = s_template(&agent, argc - optind, argv + optind);
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
		agent.fc.reload = s_reload;
		agent.fc.reload_arg = &agent;
		agent.retired_configs = zlist_new();
		agent.retired_peers = zlist_new();
		if (agent.retired_configs == NULL || agent.retired_peers == NULL)
			fatalx("out of memory");
		rc = forwarder_run(spool, &agent.fc, &tf_stop_requested, &tf_reload_requested) == 0
		     ? 0 : 1;
	} else if (strcmp(command, "submit") == 0)
		rc = s_submit(&agent, spool, argc, argv);
	else if (strcmp(command, "status") == 0)
		rc = s_status(spool, argc, argv);
	else if (strcmp(command, "receipts") == 0)
		rc = receipts_command(spool, argc, argv);
	else if (strcmp(command, "sheet") == 0)
		rc = sheet_command(spool, agent.registry, tf_config_str(config, "agent", "check_url", NULL),
		                   argc, argv);
	else if (strcmp(command, "password") == 0)
		rc = s_password(spool_dir, argc, argv);
	else
		rc = s_export(&agent, spool, argc, argv);
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
