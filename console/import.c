/*
 * import: `tallyfeed import FILE` hands an offline bundle's envelopes to a
 * collector, byte for byte, as if they had come over the network: the same
 * checks, the same idempotence.  Importing a bundle twice, or importing it
 * and later receiving the same messages from the agent, stores each once.
 */
#include "bundle.h"
#include "console.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "config.h"
#include "sender.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed import [-c ENDPOINT] [-k KEY] [-K CERT] [-t SECONDS] BUNDLE\n"
	    "Send an offline bundle (from `tallyfeed-agent export`) to the collector and\n"
	    "print what it answered.  Messages it has already are answered DUPLICATE.\n"
	    "Each message keeps its agent's signature; the collector checks it, and the\n"
	    "agent's township, as if the agent had sent it.  A bundle is at most 64 MiB.\n"
	    "Answers are matched by message id; an envelope without a sound one of its\n"
	    "own goes alone on a connection of its own.  Whatever the bundle holds, it\n"
	    "ends within the deadline, names each message that got no answer (its\n"
	    "index, and its sequence when it has one), and exits 1 if any did.\n"
	    "  -c ENDPOINT   the collector (default: console/collector in the configuration,\n"
	    "                else tcp://127.0.0.1:7401)\n"
	    "  -k KEY        this console's importer secret certificate (console/key), from\n"
	    "                `tallyfeed keygen --importer NAME`\n"
	    "  -K CERT       the collector's public certificate (console/collector_cert)\n"
	    "  -t SECONDS    give up on what is unanswered after this long (default 300)\n");
}

/* The matchable items together, in windows; then each other one on a
 * connection of its own, so that whatever answers there answers it.  0, or
 * -1 if the endpoint could not be used. */
static int
s_deliver(const char *endpoint, const sender_config_t *sc, sender_item_t *items,
          const bool *alone, size_t count)
{
	sender_item_t *together = calloc(count + 1, sizeof *together);
	sender_config_t one = *sc;
	size_t n = 0;
	int rc = -1;

	if (together == NULL) {
		log_warnx("out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		if (!alone[i])
			together[n++] = items[i];
	if (sender_deliver(endpoint, sc, together, n) != 0)
		goto out;
	n = 0;
	for (size_t i = 0; i < count; i++)
		if (!alone[i])
			items[i] = together[n++];
	one.window = 1;
	one.any_answer = true;
	for (size_t i = 0; i < count && zclock_mono() < sc->deadline; i++)
		if (alone[i] && sender_deliver(endpoint, &one, &items[i], 1) != 0)
			goto out;
	rc = 0;
out:
	free(together);
	return rc;
}

int
console_import(zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "deadline", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *endpoint = tf_config_str(config, "console", "collector", "tcp://127.0.0.1:7401");
	const char *key_path = tf_config_str(config, "console", "key", NULL);
	const char *cert_path = tf_config_str(config, "console", "collector_cert", NULL);
	tf_identity_t *identity = NULL;
	tf_peer_t collector;
	sender_config_t sc = { .window = 256, .timeout_ms = 5000, .retries = 5 };
	sender_item_t *items = NULL;
	tf_bundle_t *bundle = NULL;
	size_t accepted = 0, duplicate = 0, rejected = 0, unanswered = 0;
	uint64_t *sequences = NULL;     /* each envelope's, 0 if it has none */
	bool *alone = NULL;             /* to go on a connection of its own */
	zhashx_t *ids = NULL;           /* message ids seen, to find repeats */
	long deadline_s = 300;
	char err[1024], *end;
	int ch, rc = CONSOLE_FAILED;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:k:K:t:h", options, NULL)) != -1) {
		switch (ch) {
		case 't':
			deadline_s = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || deadline_s < 1 || deadline_s > 86400) {
				log_warnx("-t %s: not a number of seconds from 1 to 86400", optarg);
				return CONSOLE_USAGE;
			}
			break;
		case 'c':
			endpoint = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'K':
			cert_path = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (argc - optind != 1) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if (key_path == NULL || cert_path == NULL) {
		log_warnx("import needs the importer's key (-k) and the collector's certificate (-K)");
		return CONSOLE_USAGE;
	}
	identity = tf_identity_load(key_path, err, sizeof err);
	if (identity == NULL || tf_peer_load(cert_path, &collector, err, sizeof err) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	sc.identity = identity;
	sc.server_key = collector.curve_public;
	bundle = tf_bundle_read(argv[optind], err, sizeof err);
	if (bundle == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	items = calloc(bundle->n_envelopes + 1, sizeof *items);
	sequences = calloc(bundle->n_envelopes + 1, sizeof *sequences);
	alone = calloc(bundle->n_envelopes + 1, sizeof *alone);
	ids = zhashx_new();
	if (items == NULL || sequences == NULL || alone == NULL || ids == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	for (size_t i = 0; i < bundle->n_envelopes; i++) {
		tf_check_t why;
		tf_envelope_t *env, *partial = NULL;
		ProtobufCBinaryData *raw = &bundle->envelopes[i];
		char hex[2 * TF_MESSAGE_ID_LEN + 1];

		items[i].frame = zframe_new(raw->data, raw->len);
		if (items[i].frame == NULL) {
			log_warnx("out of memory");
			goto out;
		}
		/* The id to match answers by; the collector judges the rest.  An
		 * envelope with none, or one another envelope of the bundle has
		 * too, cannot be matched by it: it goes alone. */
		env = tf_envelope_decode(raw->data, raw->len, &why, &partial);
		if (env == NULL)
			env = partial;
		alone[i] = true;
		if (env != NULL) {
			sequences[i] = env->sequence;
			if (env->message_id.len == TF_MESSAGE_ID_LEN) {
				tf_message_id_hex(env->message_id.data, env->message_id.len, hex);
				memcpy(items[i].message_id, env->message_id.data, TF_MESSAGE_ID_LEN);
				alone[i] = zhashx_insert(ids, hex, (void *)1) != 0;
			}
		}
		tf_envelope_destroy(&env);
	}
	sc.deadline = zclock_mono() + deadline_s * 1000;
	if (s_deliver(endpoint, &sc, items, alone, bundle->n_envelopes) != 0)
		goto out;
	for (size_t i = 0; i < bundle->n_envelopes; i++) {
		if (!items[i].answered) {
			unanswered++;
			if (sequences[i] != 0)
				printf("message %zu (sequence %llu): no answer\n", i + 1,
				       (unsigned long long)sequences[i]);
			else
				printf("message %zu: no answer\n", i + 1);
		} else if (items[i].verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED)
			accepted++;
		else if (items[i].verdict == TALLYFEED__VERDICT__VERDICT_DUPLICATE)
			duplicate++;
		else {
			rejected++;
			printf("message %zu: %s: %s: %s\n", i + 1, tf_verdict_name(items[i].verdict),
			       tf_reason_name(items[i].reason), items[i].detail);
		}
	}
	printf("imported %zu messages from agent %s: %zu accepted, %zu duplicate, %zu rejected, "
	       "%zu unanswered\n", bundle->n_envelopes, bundle->agent_id, accepted, duplicate,
	       rejected, unanswered);
	rc = (rejected || unanswered) ? CONSOLE_FAILED : CONSOLE_OK;
out:
	if (items != NULL && bundle != NULL)
		for (size_t i = 0; i < bundle->n_envelopes; i++)
			zframe_destroy(&items[i].frame);
	free(items);
	free(sequences);
	free(alone);
	zhashx_destroy(&ids);
	tf_bundle_destroy(&bundle);
	tf_identity_destroy(&identity);
	return rc;
}
