/*
 * keygen: `tallyfeed keygen` enrols a party: fresh CURVE and Ed25519 key
 * pairs in NAME.cert (public: copy it into the county collector's
 * certificate directory) and NAME.cert_secret (stays on the agent's
 * machine, mode 0600).
 */
#include "console.h"
#include "identity.h"
#include "log.h"
#include "registry.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed keygen --agent ID --township CODE [-r REGISTRY_DIR] --out DIR\n"
	    "       tallyfeed keygen --importer NAME --out DIR\n"
	    "       tallyfeed keygen --collector NAME --out DIR\n"
	    "Create a CURVE key pair (the ZeroMQ link) and an Ed25519 key pair (the\n"
	    "signature on every result) and write them as DIR/NAME.cert (public) and\n"
	    "DIR/NAME.cert_secret (secret, mode 0600).  Existing files are never\n"
	    "overwritten.\n"
	    "  --agent ID        a township agent; its certificate names its township, the\n"
	    "                    only one whose units it may report\n"
	    "  --township CODE   the agent's 12-digit township code\n"
	    "  -r DIR            check that the township is in this registry\n"
	    "  --importer NAME   the county console that imports offline bundles\n"
	    "  --collector NAME  a county collector (agents are given its NAME.cert)\n"
	    "  --out DIR         where to write the two files (must exist)\n"
	    "The collector admits the agents and importers whose NAME.cert is in its\n"
	    "certificate directory (collector/certs); remove one and send SIGHUP to revoke.\n");
}

int
console_keygen(int argc, char **argv)
{
	static const struct option options[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "importer", required_argument, NULL, 'i' },
		{ "collector", required_argument, NULL, 'c' },
		{ "township", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL, *township = NULL, *out_dir = NULL, *registry_dir = NULL;
	tf_role_t role = TF_ROLE_AGENT;
	tf_identity_t *identity = NULL;
	int ch, roles = 0, rc = CONSOLE_FAILED;
	char err[1024];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:h", options, NULL)) != -1) {
		switch (ch) {
		case 'a':
		case 'i':
		case 'c':
			role = ch == 'a' ? TF_ROLE_AGENT : ch == 'i' ? TF_ROLE_IMPORTER : TF_ROLE_COLLECTOR;
			name = optarg;
			roles++;
			break;
		case 't':
			township = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'r':
			registry_dir = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc || roles != 1 || out_dir == NULL) {
		log_warnx("keygen: give exactly one of --agent, --importer, --collector, and --out");
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	if ((role == TF_ROLE_AGENT) != (township != NULL)) {
		log_warnx("keygen: --township goes with --agent, and only with it");
		return CONSOLE_USAGE;
	}
	identity = tf_identity_generate(role, name, township, err, sizeof err);
	if (identity == NULL) {
		log_warnx("keygen: %s", err);
		return CONSOLE_USAGE;
	}
	if (registry_dir != NULL && township != NULL) {
		tf_registry_t *registry = tf_registry_new();
		bool known;

		if (registry == NULL || tf_registry_load_dir(registry, registry_dir, err, sizeof err) != 0) {
			log_warnx("keygen: registry: %s", registry ? err : "out of memory");
			tf_registry_destroy(&registry);
			goto out;
		}
		known = tf_registry_find(registry, TF_LEVEL_TOWNSHIP, township) != NULL;
		tf_registry_destroy(&registry);
		if (!known) {
			log_warnx("keygen: township %s is not in the registry %s", township, registry_dir);
			goto out;
		}
	}
	if (tf_identity_save(identity, out_dir, err, sizeof err) != 0) {
		log_warnx("keygen: %s", err);
		goto out;
	}
	printf("%s/%s.cert: %s %s%s%s, CURVE key %s\n", out_dir, name, tf_role_name(role), name,
	       township ? " of township " : "", township ? township : "",
	       tf_identity_peer(identity)->curve_public);
	rc = CONSOLE_OK;
out:
	tf_identity_destroy(&identity);
	return rc;
}
