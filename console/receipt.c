/*
 * receipt: `tallyfeed receipt check FILE --cert COLLECTOR.cert` checks one
 * receipt offline (a file `tallyfeed-agent receipts --export` wrote): it
 * reads, it is signed by that collector's key in that collector's name,
 * and a receipt of a stored message names its chain row.  It needs no
 * database; `tallyfeed verify --receipts` asks the database too.
 */
#include "console.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "receipt.h"
#include "utf8.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed receipt check FILE --cert COLLECTOR.cert\n"
	    "Check a collector's receipt offline (a file `tallyfeed-agent receipts\n"
	    "--export DIR` wrote): say what it receipts (message, verdict, chain row,\n"
	    "time) and whether the collector's certificate signed it.  The database is\n"
	    "not asked: `tallyfeed verify --receipts DIR` checks receipts against it.\n"
	    "  --cert CERT   the collector's public NAME.cert\n"
	    "Exit status: 0 sound, 1 not (forged, altered, unreadable), 2 bad arguments.\n");
}

/* What the receipt says, for the terminal (names escaped). */
static void
s_print(const char *path, const tf_receipt_fields_t *f)
{
	char id[2 * TF_MESSAGE_ID_LEN + 1], hash[2 * TF_HASH_LEN + 1], at[40];
	char name[TF_TEXT_ESCAPED_MAX(TF_COLLECTOR_NAME_MAX + 1)];
	char chain[TF_TEXT_ESCAPED_MAX(TF_CHAIN_NAME_MAX + 1)];
	time_t t = (time_t)(f->at_ms / 1000);
	struct tm tm;

	tf_message_id_hex(f->message_id, f->message_id_len, id);
	sodium_bin2hex(hash, sizeof hash, f->envelope_sha256, TF_HASH_LEN);
	if (gmtime_r(&t, &tm) == NULL || strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(at, sizeof at, "?");
	tf_text_escape(name, sizeof name, f->collector, strlen(f->collector));
	printf("%s:\n  collector  %s\n  message    %s (sequence %llu)\n  envelope   SHA-256 %s\n"
	       "  verdict    %s", path, name, f->message_id_len ? id : "(unreadable)",
	       (unsigned long long)f->sequence, hash, tf_verdict_name(f->verdict));
	if (f->reason != 0)
		printf(" (%s)", tf_reason_name(f->reason));
	printf("\n  at         %s.%03d UTC\n", at, (int)(f->at_ms % 1000));
	if (f->link > 0) {
		tf_text_escape(chain, sizeof chain, f->chain, strlen(f->chain));
		sodium_bin2hex(hash, sizeof hash, f->row_hash, TF_HASH_LEN);
		printf("  chain row  %s link %lld, row hash %s\n", chain, (long long)f->link, hash);
	}
}

int
console_receipt(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cert = NULL, *path;
	tf_receipt_fields_t fields;
	tf_peer_t collector;
	char err[1024];
	int ch;

	/* argv[0] is "receipt", argv[1] the verb. */
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			s_usage(stdout);
			return CONSOLE_OK;
		}
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	argc--;
	argv++;
	optind = 0;     /* glibc: scan this argv afresh, options anywhere */
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cert = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc - 1 || cert == NULL) {
		log_warnx("receipt check takes one FILE and --cert COLLECTOR.cert");
		return CONSOLE_USAGE;
	}
	path = argv[optind];
	if (sodium_init() < 0)
		return CONSOLE_FAILED;
	if (tf_peer_load(cert, &collector, err, sizeof err) != 0) {
		log_warnx("receipt check: %s", err);
		return CONSOLE_USAGE;
	}
	if (collector.role != TF_ROLE_COLLECTOR) {
		log_warnx("receipt check: %s is not a collector's certificate", cert);
		return CONSOLE_USAGE;
	}
	if (tf_receipt_load(path, &fields, err, sizeof err) != 0) {
		printf("NOT SOUND: %s\n", err);
		return CONSOLE_FAILED;
	}
	s_print(path, &fields);
	if (tf_receipt_check(&fields, &collector, err, sizeof err) != 0) {
		printf("NOT SOUND: %s\n", err);
		return CONSOLE_FAILED;
	}
	printf("sound: signed by collector %s (%s)\n", collector.name, cert);
	return CONSOLE_OK;
}
