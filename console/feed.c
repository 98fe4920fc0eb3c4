/*
 * feed: `tallyfeed feed` — the collector's live feed, one readable line per
 * answered message, like `tail -f`.  Subscribes to the collector's PUB
 * socket (collector/feed.h for the format) with the filters asked for, and
 * counts what it missed from the gaps in the feed's sequence numbers: PUB
 * drops for a reader too slow to keep up, and says nothing.
 */
#include "config.h"
#include "console.h"
#include "envelope.h"
#include "feedseq.h"
#include "log.h"
#include "registry.h"
#include "signals.h"
#include "utf8.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FEED "tcp://127.0.0.1:7402"
#define FEED_BODY_MAX 16384             /* bytes in one summary */

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed feed [-c ENDPOINT] [--county CODE] [--rejected] [--count N]\n"
	    "                      [--format text|json]\n"
	    "       tallyfeed feed [-c ENDPOINT] --heads [--count N]\n"
	    "Print the collector's live feed: one line per result it answers\n"
	    "(accepted, duplicate, rejected with the reason, deferred), as it answers\n"
	    "it, until interrupted.  A reader too slow for the feed misses lines; it\n"
	    "says how many (\"-- missed N\").\n"
	    "  -c ENDPOINT    the collector's feed (console/feed; default %s)\n"
	    "  --county CODE  only results of units in this county (12-digit code)\n"
	    "  --rejected     only rejected messages\n"
	    "  --count N      stop after N lines\n"
	    "  --format F     text (default) or json (the feed's own JSON, a line each,\n"
	    "                 ASCII only)\n"
	    "  --heads        instead, the chain heads the collector signs, a line each as\n"
	    "                 `tallyfeed heads` writes them: append them to a file kept\n"
	    "                 elsewhere, for `tallyfeed verify --heads`\n"
	    "Text from agents (unit names, details) is printed with control and\n"
	    "direction characters escaped (\\n, \\xHH, \\u{XXXX}).\n",
	    DEFAULT_FEED);
}

/* A field of the summary, escaped for the terminal (tf_text_escape: the
 * text came from an agent, through the collector), into buf. */
static const char *
s_str(json_t *body, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(body, key);

	if (!json_is_string(v))
		return "-";
	tf_text_escape(buf, size, json_string_value(v), json_string_length(v));
	return buf;
}

/* One summary as a line for a person. */
static void
s_print(json_t *body)
{
	json_t *round = json_object_get(body, "round");
	char verdict[64], a[TF_TEXT_ESCAPED_MAX(256)], b[TF_TEXT_ESCAPED_MAX(256)];
	char c[TF_TEXT_ESCAPED_MAX(256)], detail[TF_TEXT_ESCAPED_MAX(FEED_BODY_MAX)];

	s_str(body, "verdict", verdict, sizeof verdict);
	printf("%s  %-9s", s_str(body, "time", a, sizeof a), verdict);
	printf("  %s", s_str(body, "unit", a, sizeof a));
	printf(" %s  %s", s_str(body, "unit_name", b, sizeof b), s_str(body, "committee", c, sizeof c));
	if (json_is_integer(round))
		printf(" r%lld v%lld", (long long)json_integer_value(round),
		       (long long)json_integer_value(json_object_get(body, "revision")));
	printf("  agent %s", s_str(body, "agent", a, sizeof a));
	if (strcmp(verdict, "rejected") == 0 || strcmp(verdict, "deferred") == 0)
		printf("  %s: %s", s_str(body, "reason", a, sizeof a),
		       s_str(body, "detail", detail, sizeof detail));
	putchar('\n');
}

/* The summary as one line of JSON: re-encoded, with every character
 * outside ASCII as \uXXXX, so neither a line break between its tokens nor
 * a bidi override inside a string reaches the terminal. */
static void
s_print_json(json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);

	if (text == NULL) {
		log_warnx("out of memory");
		return;
	}
	puts(text);
	free(text);
}

/* A signed head as a line of a heads file; -1 if it is not one. */
static int
s_print_head(json_t *head)
{
	static const char *hex[] = { "row_hash", "sign_public", "signature" };
	static const size_t hex_len[] = { 64, 64, 128 };
	json_t *link = json_object_get(head, "link"), *ms = json_object_get(head, "signed_ms");
	const char *chain = json_string_value(json_object_get(head, "chain"));
	const char *signer = json_string_value(json_object_get(head, "signer"));

	if (!json_is_integer(link) || !json_is_integer(ms) || chain == NULL || signer == NULL
	    || strlen(chain) > 64 || strlen(signer) > 64 || strpbrk(chain, "\t\n") != NULL
	    || strpbrk(signer, "\t\n") != NULL)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		const char *v = json_string_value(json_object_get(head, hex[i]));
		if (v == NULL || strlen(v) != hex_len[i] || strspn(v, "0123456789abcdef") != hex_len[i])
			return -1;
	}
	printf("%s\t%lld\t%s\t%lld\t%s\t%s\t%s\n", chain, (long long)json_integer_value(link),
	       json_string_value(json_object_get(head, "row_hash")),
	       (long long)json_integer_value(ms), signer,
	       json_string_value(json_object_get(head, "sign_public")),
	       json_string_value(json_object_get(head, "signature")));
	return 0;
}

int
console_feed(zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "county", required_argument, NULL, 'C' },
		{ "rejected", no_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'F' },
		{ "heads", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *endpoint = tf_config_str(config, "console", "feed", DEFAULT_FEED);
	const char *county = NULL;
	int rejected = 0, json = 0, heads = 0, ch, rc = CONSOLE_FAILED;
	long count = 0, printed = 0;
	tf_feedseq_t *seqs = NULL;
	zsock_t *sub = NULL;
	zpoller_t *poller = NULL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			endpoint = optarg;
			break;
		case 'C':
			county = optarg;
			break;
		case 'r':
			rejected = 1;
			break;
		case 'H':
			heads = 1;
			break;
		case 'n':
			if (tf_parse_long(optarg, 1, 1000000000, &count) != 0) {
				log_warnx("--count: \"%s\" is not a whole number from 1", optarg);
				return CONSOLE_USAGE;
			}
			break;
		case 'F':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") != 0) {
				log_warnx("--format: \"%s\" is not text or json", optarg);
				return CONSOLE_USAGE;
			}
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if (county != NULL && (!tf_code_valid(county) || strcmp(county + 6, "000000") != 0
	                       || strcmp(county + 4, "00000000") == 0)) {
		log_warnx("--county: \"%s\" is not a county's 12-digit code (like 630121000000)",
		          county);
		return CONSOLE_USAGE;
	}
	tf_signals_install();
	if ((seqs = tf_feedseq_new()) == NULL)
		goto out;
	sub = zsock_new(ZMQ_SUB);
	if (sub != NULL)        /* refuse a bigger message before it is read */
		zsock_set_maxmsgsize(sub, FEED_BODY_MAX + 256);
	if (sub == NULL || zsock_connect(sub, "%s", endpoint) != 0) {
		log_warnx("could not connect to the feed at %s", endpoint);
		goto out;
	}
	if (heads)
		zsock_set_subscribe(sub, "head ");
	/* Topics are "<verdict> <county>": one prefix per verdict wanted. */
	for (int v = TF_VERDICT_FIRST; v <= TF_VERDICT_LAST && !heads; v++) {
		char topic[64];

		if (rejected && v != TALLYFEED__VERDICT__VERDICT_REJECTED)
			continue;
		snprintf(topic, sizeof topic, "%s %s", tf_verdict_word((Tallyfeed__Verdict)v),
		         county ? county : "");
		zsock_set_subscribe(sub, topic);
	}
	if ((poller = zpoller_new(sub, NULL)) == NULL)
		goto out;
	log_debug("listening to the feed at %s", endpoint);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!tf_stop_requested && (count == 0 || printed < count)) {
		zmsg_t *msg;
		char *topic = NULL, *text = NULL;
		json_t *body;

		/* Wake now and then to see SIGINT/SIGTERM. */
		if (zpoller_wait(poller, 200) == NULL)
			continue;
		if ((msg = zmsg_recv(sub)) == NULL)
			break;
		topic = zmsg_popstr(msg);
		text = zmsg_popstr(msg);
		zmsg_destroy(&msg);
		body = text != NULL && strlen(text) <= FEED_BODY_MAX ? json_loads(text, 0, NULL) : NULL;
		if (heads) {
			if (s_print_head(json_object_get(body, "head")) == 0)
				printed++;
			else
				log_warnx("a feed message that is not a signed head (topic \"%.40s\")",
				          topic ? topic : "");
			json_decref(body);
		} else if (!json_is_object(body) || json_integer_value(json_object_get(body, "seq")) < 1
		    || json_integer_value(json_object_get(body, "run")) < 1) {
			json_decref(body);
			log_warnx("a feed message that is not a summary (topic \"%.40s\")",
			          topic ? topic : "");
		} else {
			/* seq counts every summary of a run, filtered or not:
			 * a gap is a drop only when we take everything. */
			uint64_t gap = tf_feedseq_note(seqs,
			    json_integer_value(json_object_get(body, "run")),
			    json_integer_value(json_object_get(body, "seq")));

			if (gap > 0 && !rejected && county == NULL)
				printf("-- missed %llu (%llu in all): the reader was too slow\n",
				       (unsigned long long)gap,
				       (unsigned long long)tf_feedseq_missed(seqs));
			if (json)
				s_print_json(body);
			else
				s_print(body);
			printed++;
			json_decref(body);
		}
		zstr_free(&topic);
		zstr_free(&text);
	}
	rc = CONSOLE_OK;
out:
	zpoller_destroy(&poller);
	zsock_destroy(&sub);
	tf_feedseq_destroy(&seqs);
	return rc;
}
