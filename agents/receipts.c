/*
 * receipts: listing and writing out the receipts a spool keeps (see
 * receipts.h).
 */
#include "receipts.h"
#include "atomicfile.h"
#include "log.h"
#include "registry.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	int dirfd;              /* --export's directory, or -1 */
	const char *dir;
	long count;
	int failed;
} receipts_t;

/* A time as the staff read it: UTC, to the second. */
static void
s_utc(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld ms", (long long)ms);
}

/* One file per receipt: UNIT-COMMITTEE-rROUND-vREVISION-SEQUENCE-VERDICT.receipt,
 * never replacing one written before (a second receipt of the same
 * message, e.g. DUPLICATE after a lost ACCEPTED, gets its own number). */
static int
s_export(receipts_t *self, const spool_receipt_t *r)
{
	char name[160], err[512];

	for (int n = 1; n < 100; n++) {
		char suffix[8] = "";

		if (n > 1)
			snprintf(suffix, sizeof suffix, "-%d", n);
		snprintf(name, sizeof name, "%s-%s-r%u-v%u-%lld-%s%s.receipt", r->unit, r->committee,
		         r->round, r->revision, (long long)r->sequence,
		         tf_verdict_word(r->fields.verdict), suffix);
		if (tf_atomicfile_write_at(self->dirfd, name, r->bytes, r->len, 0644,
		                           TF_ATOMICFILE_NOREPLACE, err, sizeof err) == 0)
			return 0;
		if (errno != EEXIST) {
			log_warnx("receipts: %s", err);
			return -1;
		}
	}
	log_warnx("receipts: %s/%s: too many receipts of one message", self->dir, name);
	return -1;
}

static int
s_one(void *arg, const spool_receipt_t *r)
{
	receipts_t *self = arg;
	const tf_receipt_fields_t *f = &r->fields;
	char id[2 * TF_MESSAGE_ID_LEN + 1], at[32], sig[TF_RECEIPT_SIGNATURE_B64_LEN];
	char collector[TF_TEXT_ESCAPED_MAX(TF_COLLECTOR_NAME_MAX + 1)];
	char chain[TF_TEXT_ESCAPED_MAX(TF_CHAIN_NAME_MAX + 1)];

	tf_message_id_hex(f->message_id, f->message_id_len, id);
	s_utc(f->at_ms, at);
	tf_receipt_signature_b64(f, sig);
	/* Names come from the collector: escaped for the terminal. */
	tf_text_escape(collector, sizeof collector, f->collector, strlen(f->collector));
	tf_text_escape(chain, sizeof chain, f->chain, strlen(f->chain));
	printf("%6lld  %s %-15s r%u v%u  %-9s  %s  by %s", (long long)r->sequence, r->unit,
	       r->committee, r->round, r->revision, tf_verdict_name(f->verdict), at, collector);
	if (f->link > 0)
		printf("  chain %s link %lld", chain, (long long)f->link);
	printf("  message %s  signature %.16s...\n", id, sig);
	self->count++;
	if (self->dirfd >= 0 && s_export(self, r) != 0)
		self->failed++;
	return 0;
}

int
receipts_command(spool_t *spool, int argc, char **argv)
{
	static const struct option options[] = {
		{ "unit", required_argument, NULL, 'u' },
		{ "export", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	receipts_t self = { .dirfd = -1 };
	const char *unit = NULL;
	int ch, rc = 1;

	optind = 0;     /* glibc: scan this argv afresh */
	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (ch) {
		case 'u':
			unit = optarg;
			break;
		case 'e':
			self.dir = optarg;
			break;
		default:
			log_warnx("usage: receipts [--unit CODE] [--export DIR]");
			return 2;
		}
	}
	if (optind != argc) {
		log_warnx("usage: receipts [--unit CODE] [--export DIR]");
		return 2;
	}
	if (unit != NULL && !tf_code_valid(unit)) {
		log_warnx("receipts: --unit %s is not a 12-digit unit code", unit);
		return 2;
	}
	if (self.dir != NULL) {
		self.dirfd = open(self.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (self.dirfd < 0) {
			log_warn("receipts: %s", self.dir);
			return 1;
		}
	}
	if (spool_foreach_receipt(spool, unit, s_one, &self) != 0)
		goto out;
	if (self.count == 0)
		printf("no receipts%s%s\n", unit != NULL ? " for unit " : "", unit != NULL ? unit : "");
	else if (self.dirfd >= 0)
		printf("%ld receipts written to %s\n", self.count - self.failed, self.dir);
	rc = self.failed > 0 ? 1 : 0;
out:
	if (self.dirfd >= 0)
		close(self.dirfd);
	return rc;
}
