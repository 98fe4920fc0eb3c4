/*
 * verify: `tallyfeed verify` re-checks, offline, everything the collectors
 * stored, against the agents' public keys and the hash chains:
 *
 *  - every chain: links 1, 2, 3 ... with none missing or repeated, each
 *    row_hash recomputed from the previous one and the row (daemon/chain.h),
 *    the last link equal to the chain's head;
 *  - every stored envelope: its SHA-256, its fields, and its Ed25519
 *    signature under the enrolled key of the agent it names: protocol 2
 *    over the whole envelope (proto/tallyfeed.proto), protocol 1 (taken
 *    only where a collector was told to) over the payload alone, which
 *    it says, message by message;
 *  - every result and candidate row: rebuilt from the signed envelope
 *    (daemon/rows.h) and compared byte for byte with what the database
 *    gives back; a row without a signed envelope is reported too;
 *  - every result's derived columns (seats_filled, election_valid, the W
 *    flags): recomputed from the signed report under the rules in force
 *    (--rules) and the registry (--registry, else the database's own),
 *    the flags that depend on what was stored before from those rows;
 *    with --registry, every unit of the database where the registry puts
 *    it;
 *  - the chains against the heads the collector signed (signed_head, and
 *    --heads kept elsewhere);
 *  - every quarantined message: its raw bytes against their SHA-256;
 *  - the schema's views, functions, triggers and constraints against the
 *    digest db migrate recorded (and --schema-digest, kept elsewhere);
 *  - with --receipts, the collectors' receipts an agent kept
 *    (`tallyfeed-agent receipts --export`): each signed by a
 *    --collector-cert in its name, and the message it receipts as stored
 *    stored at the chain row it names, with the envelope it names.
 *
 * It reads through any role that may SELECT (the reader role will do) and
 * changes nothing.  Each finding is one line; the exit status is 1 if
 * there is any.
 */
#include "chain.h"
#include "config.h"
#include "console.h"
#include "db.h"
#include "enrolment.h"
#include "envelope.h"
#include "identity.h"
#include "infile.h"
#include "log.h"
#include "receipt.h"
#include "registry.h"
#include "rows.h"
#include "rules.h"
#include "utf8.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FINDINGS_SHOWN_MAX 1000  /* findings printed; the count goes on */
#define HEADS_FILE_MAX (64 * 1024 * 1024)   /* bytes in a --heads file */
#define HEAD_LINE_MAX 1024
#define COLLECTORS_MAX 16       /* --collector-cert given */

/* A signed chain head: from the database's signed_head, or kept elsewhere
 * (a --heads file). */
typedef struct {
	char chain[TF_CHAIN_NAME_MAX + 1];
	int64_t link;
	uint8_t hash[TF_HASH_LEN];
	int64_t signed_ms;
	char signer[TF_AGENT_ID_MAX + 1];
	uint8_t sign_public[TF_SIGN_PUBLIC_LEN];
	uint8_t signature[TF_SIGNATURE_LEN];
	char where[256];        /* "FILE:LINE" or "signed_head" */
	bool trusted;           /* its signature verified under a key given */
	bool seen;              /* its chain is in the database */
} head_t;

/* One link as recomputed from the rows alone, from link 1 on. */
typedef struct {
	int64_t link;
	uint8_t hash[TF_HASH_LEN];
} relink_t;

typedef struct {
	PGconn *conn;
	const tf_enrolment_t *enrolment;
	const tf_peer_t *collectors;    /* the collectors' keys given (--collector-cert) */
	size_t ncollectors;
	head_t *heads;          /* kept elsewhere (--heads), then the table's */
	size_t nheads, nkept;
	tf_rules_config_t rules;        /* the rules in force (--rules) */
	tf_registry_t *registry;        /* what results are judged by, or NULL */
	zhashx_t *derived;      /* "\\x" + message id hex -> its derived columns */
	long rederived;         /* results whose derived columns were recomputed */
	long findings;
	long messages;
	long quarantined;
	long links;
	long v1, v2;            /* messages checked as protocol 1 and 2 */
	long receipts;          /* --receipts files checked */
	long receipts_unkept;   /* of them, answers that name nothing kept (DEFERRED...) */
} verify_t;

static void
s_finding(verify_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_finding(verify_t *v, const char *fmt, ...)
{
	va_list ap;

	v->findings++;
	if (v->findings > FINDINGS_SHOWN_MAX)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed verify [--certs DIR] [--rules FILE] [--registry DIR]\n"
	    "                        [--schema-digest HEX] [--collector-cert CERT]...\n"
	    "                        [--heads FILE] [--receipts DIR]\n"
	    "Re-check every stored result against its signed envelope and the agents'\n"
	    "public keys, and every collector's hash chain: report each row whose data\n"
	    "no longer matches its signed envelope, each envelope whose signature fails\n"
	    "(protocol 2: over the whole envelope; each protocol 1 message, signed over\n"
	    "its payload alone, is named), each column the collector derived (validity,\n"
	    "seats filled, W flags) that the signed report does not give again, each\n"
	    "missing, repeated or altered link, each township's tally (what the rollups\n"
	    "add up; a pending township's is not compared, the rollups compute it) that\n"
	    "its stored results do not give again, and a schema whose\n"
	    "views, functions, triggers or constraints are not the migrations'.\n"
	    "Changes nothing.\n"
	    "  --certs DIR   the agents' public certificates (console/certs in the\n"
	    "                configuration): the collector's certificate directory\n"
	    "  --collector-cert CERT  a collector's public NAME.cert: the key its signed\n"
	    "                chain heads must verify under (given again for each collector)\n"
	    "  --rules FILE  the collector's configuration whose \"rules\" the results were\n"
	    "                judged by (default: the strict defaults)\n"
	    "  --registry DIR  the registry they were judged by (CSV, as `registry load`\n"
	    "                takes); each unit in the database must be where it puts it\n"
	    "                (default: judge by the database's own registry)\n"
	    "  --schema-digest HEX  what `db migrate` printed: the schema's views,\n"
	    "                functions, triggers and constraints must still digest to it\n"
	    "                (they are always held to the digest it recorded)\n"
	    "  --heads FILE  chain heads kept away from the database (`tallyfeed heads\n"
	    "                --out FILE`): each must be signed by a --collector-cert and\n"
	    "                match the chain recomputed from the rows, so a chain rewritten\n"
	    "                since, even by the database's superuser, is named\n"
	    "  --receipts DIR  the collectors' receipts an agent kept (`tallyfeed-agent\n"
	    "                receipts --export DIR`, files NAME.receipt): each must be signed\n"
	    "                by a --collector-cert in its name, and the message it receipts\n"
	    "                as stored must be in the database, at the chain row it names,\n"
	    "                with the envelope it names (a receipt for a message the\n"
	    "                database lacks is a finding)\n"
	    "The heads the collector signed into tallyfeed.signed_head are checked the\n"
	    "same way (their signatures under a --collector-cert if one is given).\n"
	    "Exit status: 0 all sound, 1 something found (or the check could not run),\n"
	    "2 bad arguments.\n");
}

static int64_t
s_int8(const PGresult *res, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(res, row, col);
	uint64_t v = 0;

	if (PQgetlength(res, row, col) != 8)
		return -1;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static int32_t
s_int4(const PGresult *res, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(res, row, col);
	uint32_t v = 0;

	if (PQgetlength(res, row, col) != 4)
		return -1;
	for (int i = 0; i < 4; i++)
		v = v << 8 | p[i];
	return (int32_t)v;
}

/* A query with binary results, or NULL (logged). */
static PGresult *
s_query(verify_t *v, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(v->conn, sql, nparams, NULL, params, NULL, NULL, 1);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("verify: %s", tf_db_error(v->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

static void
s_hex(const uint8_t *data, size_t len, char *out, size_t outlen)
{
	if (outlen < 2 * len + 1)
		len = (outlen - 1) / 2;
	sodium_bin2hex(out, outlen, data, len);
}

/* The recomputed link of that number, or NULL. */
static const relink_t *
s_relink(const relink_t *relinks, size_t n, int64_t link)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (relinks[mid].link == link)
			return &relinks[mid];
		if (relinks[mid].link < link)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Every signed head of this chain against the chain the rows make: the
 * first that disagrees is named, with how many later ones disagree too
 * (a rewrite at one link changes every hash after it). */
static void
s_check_heads(verify_t *v, const char *chain, const relink_t *relinks, size_t n)
{
	for (int kept = 1; kept >= 0; kept--) {
		const head_t *first = NULL;
		long later = 0;

		for (size_t i = kept ? 0 : v->nkept; i < (kept ? v->nkept : v->nheads); i++) {
			head_t *h = &v->heads[i];
			const relink_t *r;

			if (strcmp(h->chain, chain) != 0 || (kept && !h->trusted))
				continue;
			h->seen = true;
			r = s_relink(relinks, n, h->link);
			if (r != NULL && memcmp(r->hash, h->hash, TF_HASH_LEN) == 0)
				continue;
			if (first == NULL) {
				first = h;
				if (r == NULL)
					s_finding(v, "chain %s: link %lld, signed by %s at %lld ms (%s), is no "
					          "longer in the chain: rows were removed", chain,
					          (long long)h->link, h->signer, (long long)h->signed_ms,
					          h->where);
				else
					s_finding(v, "chain %s: link %lld is not what %s signed at %lld ms "
					          "(%s): the chain was rewritten at or before link %lld", chain,
					          (long long)h->link, h->signer, (long long)h->signed_ms,
					          h->where, (long long)h->link);
			} else
				later++;
		}
		if (later > 0)
			s_finding(v, "chain %s: %ld later signed head%s (%s) disagree%s too", chain,
			          later, later == 1 ? "" : "s", kept ? "kept" : "signed_head",
			          later == 1 ? "s" : "");
	}
}

/* Is key one of the collectors' given?  Its name then, else NULL. */
static const char *
s_collector_of(const verify_t *v, const uint8_t *key)
{
	for (size_t i = 0; i < v->ncollectors; i++)
		if (memcmp(v->collectors[i].sign_public, key, TF_SIGN_PUBLIC_LEN) == 0)
			return v->collectors[i].name;
	return NULL;
}

/* A head's own signature, and whose key it is under. */
static void
s_head_trust(verify_t *v, head_t *h)
{
	if (!tf_chain_head_valid(h->sign_public, h->chain, h->link, h->hash, h->signed_ms,
	                         h->signature, TF_SIGNATURE_LEN))
		s_finding(v, "%s: the head of chain %s at link %lld: its signature does not verify",
		          h->where, h->chain, (long long)h->link);
	else if (v->ncollectors > 0 && s_collector_of(v, h->sign_public) == NULL)
		s_finding(v, "%s: the head of chain %s at link %lld is signed by a key no "
		          "--collector-cert gives (\"%s\")", h->where, h->chain, (long long)h->link,
		          h->signer);
	else
		h->trusted = true;
}

static int
s_head_add(verify_t *v, const head_t *h)
{
	head_t *grown;

	if (v->nheads % 256 == 0) {
		grown = realloc(v->heads, (v->nheads + 256) * sizeof *grown);
		if (grown == NULL)
			return -1;
		v->heads = grown;
	}
	v->heads[v->nheads++] = *h;
	return 0;
}

static bool
s_unhex(const char *text, size_t text_len, uint8_t *out, size_t len)
{
	size_t got = 0;

	return text_len == 2 * len
	       && sodium_hex2bin(out, len, text, text_len, NULL, &got, NULL) == 0 && got == len;
}

/* One line of a heads file (see tallyfeed heads): chain, link, row_hash,
 * signed_ms, signer, sign_public, signature, tab-separated. */
static int
s_head_parse(char *line, head_t *h)
{
	char *field[7], *save = NULL, *end;
	int n = 0;

	for (char *f = strtok_r(line, "\t", &save); f != NULL && n < 7; f = strtok_r(NULL, "\t", &save))
		field[n++] = f;
	if (n != 7 || strtok_r(NULL, "\t", &save) != NULL || strlen(field[0]) > TF_CHAIN_NAME_MAX
	    || strlen(field[4]) > TF_AGENT_ID_MAX)
		return -1;
	snprintf(h->chain, sizeof h->chain, "%s", field[0]);
	h->link = strtoll(field[1], &end, 10);
	if (*end != '\0' || h->link < 1)
		return -1;
	h->signed_ms = strtoll(field[3], &end, 10);
	if (*end != '\0')
		return -1;
	snprintf(h->signer, sizeof h->signer, "%s", field[4]);
	if (!s_unhex(field[2], strlen(field[2]), h->hash, TF_HASH_LEN)
	    || !s_unhex(field[5], strlen(field[5]), h->sign_public, TF_SIGN_PUBLIC_LEN)
	    || !s_unhex(field[6], strlen(field[6]), h->signature, TF_SIGNATURE_LEN))
		return -1;
	return 0;
}

/* The heads kept elsewhere.  -1 (logged) if the file cannot be read at
 * all; a line that is not a head is a finding. */
static int
s_load_kept_heads(verify_t *v, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[HEAD_LINE_MAX + 2];
	long number = 0;
	struct stat st;
	int rc = -1;

	if (fp == NULL || fstat(fileno(fp), &st) != 0) {
		log_warn("verify: %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > HEADS_FILE_MAX) {
		log_warnx("verify: %s: not a regular file of at most %d MiB", path,
		          HEADS_FILE_MAX / (1024 * 1024));
		goto out;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		size_t len = strlen(line);
		head_t h = { 0 };

		number++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			s_finding(v, "%s:%ld: longer than %d bytes: not a head", path, number,
			          HEAD_LINE_MAX);
			int c;
			while ((c = fgetc(fp)) != EOF && c != '\n')
				;
			continue;
		}
		if (len == 0 || line[0] == '#')
			continue;
		if (s_head_parse(line, &h) != 0) {
			s_finding(v, "%s:%ld: not a head (chain, link, row_hash, signed_ms, signer, "
			          "sign_public, signature, tab-separated)", path, number);
			continue;
		}
		snprintf(h.where, sizeof h.where, "%.230s:%ld", path, number);
		s_head_trust(v, &h);
		if (s_head_add(v, &h) != 0)
			goto out;
	}
	v->nkept = v->nheads;
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

#define SIGNED_HEAD_SQL                                                                      \
	"SELECT chain, link, row_hash, (extract(epoch FROM signed_at) * 1000)::bigint, signer, " \
	"       sign_public, signature FROM tallyfeed.signed_head "

/* A signed_head row as a head. */
static int
s_head_of_row(const PGresult *res, int row, head_t *h)
{
	memset(h, 0, sizeof *h);
	if (PQgetlength(res, row, 0) > TF_CHAIN_NAME_MAX || PQgetlength(res, row, 4) > TF_AGENT_ID_MAX
	    || PQgetlength(res, row, 2) != TF_HASH_LEN
	    || PQgetlength(res, row, 5) != TF_SIGN_PUBLIC_LEN
	    || PQgetlength(res, row, 6) != TF_SIGNATURE_LEN)
		return -1;
	snprintf(h->chain, sizeof h->chain, "%s", PQgetvalue(res, row, 0));
	h->link = s_int8(res, row, 1);
	memcpy(h->hash, PQgetvalue(res, row, 2), TF_HASH_LEN);
	h->signed_ms = s_int8(res, row, 3);
	snprintf(h->signer, sizeof h->signer, "%s", PQgetvalue(res, row, 4));
	memcpy(h->sign_public, PQgetvalue(res, row, 5), TF_SIGN_PUBLIC_LEN);
	memcpy(h->signature, PQgetvalue(res, row, 6), TF_SIGNATURE_LEN);
	return 0;
}

/* The heads the collectors signed into the database. */
static int
s_load_table_heads(verify_t *v)
{
	PGresult *res = s_query(v, SIGNED_HEAD_SQL "ORDER BY chain, link", 0, NULL);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		head_t h;

		if (s_head_of_row(res, i, &h) != 0) {
			s_finding(v, "signed_head row %d is malformed", i + 1);
			continue;
		}
		snprintf(h.where, sizeof h.where, "signed_head");
		s_head_trust(v, &h);
		if (!h.trusted)
			continue;
		if (s_head_add(v, &h) != 0) {
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return 0;
}

/* One chain: links in order, each hash from the one before, the head. */
static int
s_check_chain(verify_t *v, const char *chain)
{
	const char *params[1] = { chain };
	PGresult *rows, *head;
	uint8_t previous[TF_HASH_LEN] = { 0 }, hash[TF_HASH_LEN];
	uint8_t recomputed[TF_HASH_LEN] = { 0 };        /* from the rows alone */
	int64_t expect = 1, last = 0;
	bool have_previous = true;
	relink_t *relinks = NULL;
	size_t nrelinks = 0;

	rows = s_query(v,
	    "SELECT 'M'::text, link, row_hash, envelope_sha256, "
	    "       (extract(epoch FROM received_at) * 1000)::bigint, 0, id, message_id "
	    "FROM tallyfeed.message WHERE chain = $1 "
	    "UNION ALL "
	    "SELECT 'Q', link, row_hash, raw_sha256, "
	    "       (extract(epoch FROM received_at) * 1000)::bigint, reason::integer, id, "
	    "       message_id "
	    "FROM tallyfeed.quarantine WHERE chain = $1 "
	    "ORDER BY 2, 1", 1, params);
	if (rows == NULL)
		return -1;
	relinks = calloc((size_t)PQntuples(rows) + 1, sizeof *relinks);
	if (relinks == NULL) {
		PQclear(rows);
		return -1;
	}
	for (int i = 0; i < PQntuples(rows); i++) {
		char kind = PQgetvalue(rows, i, 0)[0];
		int64_t link = s_int8(rows, i, 1), id = s_int8(rows, i, 6);
		const char *what = kind == 'M' ? "message" : "quarantine";

		v->links++;
		if (link == last) {
			s_finding(v, "chain %s: link %lld is held twice (%s row %lld too): a row was "
			          "inserted", chain, (long long)link, what, (long long)id);
			continue;
		}
		if (link == expect + 1)
			s_finding(v, "chain %s: link %lld is missing: a row was deleted", chain,
			          (long long)expect);
		else if (link > expect)
			s_finding(v, "chain %s: links %lld to %lld are missing: rows were deleted", chain,
			          (long long)expect, (long long)link - 1);
		if (link > expect)
			have_previous = false;
		if (PQgetlength(rows, i, 2) != TF_HASH_LEN || PQgetlength(rows, i, 3) != TF_HASH_LEN) {
			s_finding(v, "chain %s: link %lld (%s row %lld) has a malformed hash", chain,
			          (long long)link, what, (long long)id);
			have_previous = false;
		} else {
			tf_chain_link_hash(previous, link, (tf_chain_kind_t)kind,
			                   (const uint8_t *)PQgetvalue(rows, i, 3), s_int8(rows, i, 4),
			                   s_int4(rows, i, 5), hash);
			if (have_previous && memcmp(hash, PQgetvalue(rows, i, 2), TF_HASH_LEN) != 0)
				s_finding(v, "chain %s: link %lld (%s row %lld) does not match its hash: "
				          "the row was altered, or inserted in another's place", chain,
				          (long long)link, what, (long long)id);
			/* The chain as the rows alone make it, never reset to what
			 * is stored: what a signed head is held against. */
			tf_chain_link_hash(recomputed, link, (tf_chain_kind_t)kind,
			                   (const uint8_t *)PQgetvalue(rows, i, 3), s_int8(rows, i, 4),
			                   s_int4(rows, i, 5), recomputed);
			relinks[nrelinks].link = link;
			memcpy(relinks[nrelinks].hash, recomputed, TF_HASH_LEN);
			nrelinks++;
			/* Go on from the stored hash, so one bad row is one finding. */
			memcpy(previous, PQgetvalue(rows, i, 2), TF_HASH_LEN);
			have_previous = true;
		}
		last = link;
		expect = link + 1;
	}
	head = s_query(v, "SELECT link, row_hash FROM tallyfeed.chain_head WHERE chain = $1", 1,
	               params);
	if (head == NULL) {
		PQclear(rows);
		return -1;
	}
	if (PQntuples(head) != 1)
		s_finding(v, "chain %s: no head recorded (chain_head row deleted?)", chain);
	else {
		int64_t head_link = s_int8(head, 0, 0);

		if (head_link == last + 1)
			s_finding(v, "chain %s: link %lld is missing at the end: the head says link "
			          "%lld, the last row is link %lld", chain, (long long)head_link,
			          (long long)head_link, (long long)last);
		else if (head_link > last)
			s_finding(v, "chain %s: links %lld to %lld are missing at the end: the head "
			          "says link %lld, the last row is link %lld", chain, (long long)last + 1,
			          (long long)head_link, (long long)head_link, (long long)last);
		else if (head_link < last)
			s_finding(v, "chain %s: rows beyond the head (link %lld > %lld): inserted", chain,
			          (long long)last, (long long)head_link);
		else if (PQgetlength(head, 0, 1) != TF_HASH_LEN
		         || memcmp(PQgetvalue(head, 0, 1), previous, TF_HASH_LEN) != 0)
			s_finding(v, "chain %s: the head's hash is not the last row's", chain);
	}
	PQclear(head);
	PQclear(rows);
	s_check_heads(v, chain, relinks, nrelinks);
	free(relinks);
	return 0;
}

/* COPY TO STDOUT into a map: first field -> every line with it, in order. */
static zhashx_t *
s_copy_out(verify_t *v, const char *sql)
{
	zhashx_t *map = zhashx_new();
	PGresult *res = PQexec(v->conn, sql);
	char *line;
	int n;

	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		log_warnx("verify: %s", tf_db_error(v->conn));
		PQclear(res);
		zhashx_destroy(&map);
		return NULL;
	}
	PQclear(res);
	zhashx_set_destructor(map, (zhashx_destructor_fn *)zstr_free);
	zhashx_set_duplicator(map, NULL);
	while ((n = PQgetCopyData(v->conn, &line, 0)) > 0) {
		/* libpq ends each line with a NUL past its newline. */
		char *key = strndup(line, strcspn(line, "\t"));
		const char *old = key != NULL ? zhashx_lookup(map, key) : NULL;

		if (key != NULL)
			zhashx_update(map, key, old != NULL ? zsys_sprintf("%s%s", old, line)
			                                    : strdup(line));
		free(key);
		PQfreemem(line);
	}
	res = PQgetResult(v->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("verify: %s", tf_db_error(v->conn));
		zhashx_destroy(&map);
	}
	PQclear(res);
	return map;
}

/* Which columns of two COPY lines differ, as "a, b". */
static void
s_differing(const char *want, const char *got, const char *columns, char *out, size_t outlen)
{
	char cols[1024];
	char *save = NULL, *col;

	snprintf(cols, sizeof cols, "%s", columns);
	out[0] = '\0';
	col = strtok_r(cols, ", ", &save);
	while (col != NULL && *want && *got) {
		size_t wl = strcspn(want, "\t\n"), gl = strcspn(got, "\t\n");

		if (wl != gl || memcmp(want, got, wl) != 0) {
			size_t used = strlen(out);
			snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", col);
		}
		want += wl + (want[wl] != '\0');
		got += gl + (got[gl] != '\0');
		col = strtok_r(NULL, ", ", &save);
	}
	if (out[0] == '\0')
		snprintf(out, outlen, "the number of rows");
}

/* The rows of one signed report against the database's. */
static void
s_check_rows(verify_t *v, const tf_envelope_t *env, const tf_report_t *report,
             zhashx_t *results, zhashx_t *candidates, copybuf_t *buf, const char *idhex)
{
	char key[2 * TF_MESSAGE_ID_LEN + 8], diff[512];
	const char *want, *got;
	size_t len;

	snprintf(key, sizeof key, "\\\\x%s", idhex);
	copybuf_reset(buf);
	tf_rows_result_signed(buf, &env->message_id, report);
	copybuf_end_row(buf);
	want = copybuf_data(buf, &len);
	got = zhashx_lookup(results, key);
	if (got == NULL)
		s_finding(v, "message %s: its result row is missing (deleted)", idhex);
	else if (strlen(got) != len || memcmp(got, want, len) != 0) {
		s_differing(want, got, TF_ROWS_RESULT_SIGNED_COLUMNS, diff, sizeof diff);
		s_finding(v, "message %s: the result row differs from the signed envelope in %s",
		          idhex, diff);
	}
	zhashx_delete(results, key);

	copybuf_reset(buf);
	tf_rows_candidates(buf, &env->message_id, report);
	want = copybuf_data(buf, &len);
	got = zhashx_lookup(candidates, key);
	if (got == NULL && len > 0)
		s_finding(v, "message %s: its candidate rows are missing (deleted)", idhex);
	else if (got != NULL && (strlen(got) != len || memcmp(got, want, len) != 0)) {
		/* Find the first line that differs, to name its columns. */
		const char *w = want, *g = got;
		while (*w && *g) {
			size_t wl = strcspn(w, "\n"), gl = strcspn(g, "\n");
			if (wl != gl || memcmp(w, g, wl) != 0)
				break;
			w += wl + 1;
			g += gl + 1;
		}
		s_differing(w, g, TF_ROWS_CANDIDATE_COLUMNS, diff, sizeof diff);
		s_finding(v, "message %s: the candidate rows differ from the signed envelope in %s",
		          idhex, diff);
	}
	zhashx_delete(candidates, key);
}

/* What the collector derived for one stored result, and what the stored
 * results around it say the collector-set flags must be. */
typedef struct {
	int seats_filled;
	bool election_valid;
	char warnings[512];     /* as PostgreSQL prints text[] */
	bool photo_reused;      /* another unit's result with its photo was stored before */
	bool figures_before;    /* ... with its six figures, in an earlier transaction */
	bool figures_same_txn;  /* ... in a transaction of the same millisecond: either way */
} derived_t;

static void
s_derived_destroy(void **item)
{
	free(*item);
	*item = NULL;
}

/* Each result's derived columns, and what the flags that depend on what
 * was stored before it (photo_reused, identical_figures) must be: the
 * collector asks of the results stored before the batch, and of the
 * batch's earlier entries for the photo (daemon/rules.h, store.c). */
static zhashx_t *
s_load_derived(verify_t *v)
{
	PGresult *res = PQexec(v->conn,
	    "SELECT '\\x' || encode(r.message_id, 'hex'), r.seats_filled, r.election_valid, "
	    "       r.warnings::text, "
	    "       EXISTS (SELECT 1 FROM tallyfeed.result o JOIN tallyfeed.message om "
	    "               ON om.message_id = o.message_id "
	    "               WHERE r.sheet_photo_sha256 IS NOT NULL "
	    "                 AND o.sheet_photo_sha256 = r.sheet_photo_sha256 "
	    "                 AND o.unit_code <> r.unit_code AND om.id < m.id), "
	    "       EXISTS (SELECT 1 FROM tallyfeed.result o JOIN tallyfeed.message om "
	    "               ON om.message_id = o.message_id "
	    "               WHERE r.registered >= 100 AND o.committee = r.committee "
	    "                 AND o.registered = r.registered AND o.took_part = r.took_part "
	    "                 AND o.ballots_issued = r.ballots_issued "
	    "                 AND o.ballots_returned = r.ballots_returned "
	    "                 AND o.ballots_valid = r.ballots_valid "
	    "                 AND o.ballots_invalid = r.ballots_invalid "
	    "                 AND o.unit_code <> r.unit_code AND om.received_at < m.received_at), "
	    "       EXISTS (SELECT 1 FROM tallyfeed.result o JOIN tallyfeed.message om "
	    "               ON om.message_id = o.message_id "
	    "               WHERE r.registered >= 100 AND o.committee = r.committee "
	    "                 AND o.registered = r.registered AND o.took_part = r.took_part "
	    "                 AND o.ballots_issued = r.ballots_issued "
	    "                 AND o.ballots_returned = r.ballots_returned "
	    "                 AND o.ballots_valid = r.ballots_valid "
	    "                 AND o.ballots_invalid = r.ballots_invalid "
	    "                 AND o.unit_code <> r.unit_code AND om.received_at = m.received_at "
	    "                 AND om.id < m.id) "
	    "FROM tallyfeed.result r JOIN tallyfeed.message m ON m.message_id = r.message_id");
	zhashx_t *map = zhashx_new();

	if (PQresultStatus(res) != PGRES_TUPLES_OK || map == NULL) {
		log_warnx("verify: %s", tf_db_error(v->conn));
		PQclear(res);
		zhashx_destroy(&map);
		return NULL;
	}
	zhashx_set_destructor(map, s_derived_destroy);
	zhashx_set_duplicator(map, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		derived_t *d = calloc(1, sizeof *d);

		if (d == NULL)
			break;
		d->seats_filled = atoi(PQgetvalue(res, i, 1));
		d->election_valid = PQgetvalue(res, i, 2)[0] == 't';
		snprintf(d->warnings, sizeof d->warnings, "%s", PQgetvalue(res, i, 3));
		d->photo_reused = PQgetvalue(res, i, 4)[0] == 't';
		d->figures_before = PQgetvalue(res, i, 5)[0] == 't';
		d->figures_same_txn = PQgetvalue(res, i, 6)[0] == 't';
		zhashx_update(map, PQgetvalue(res, i, 0), d);
	}
	PQclear(res);
	return map;
}

/* The W flags as PostgreSQL prints the text[] the collector stores. */
static void
s_warning_words(unsigned bits, char *out, size_t outlen)
{
	size_t used = 0;

	used += (size_t)snprintf(out, outlen, "{");
	for (int bit = 0; bit < TF_WARN_COUNT && used < outlen; bit++)
		if (bits & (1u << bit))
			used += (size_t)snprintf(out + used, outlen - used, "%s%s",
			                         out[used - 1] == '{' ? "" : ",", tf_warning_name(bit));
	if (used < outlen)
		snprintf(out + used, outlen - used, "}");
}

/* The columns the collector derived, recomputed from the signed report
 * under the rules in force and the registry, against what is stored. */
static void
s_check_derived(verify_t *v, const tf_peer_t *agent, const tf_report_t *report,
                const char *key, const char *idhex)
{
	const derived_t *d = zhashx_lookup(v->derived, key);
	char want[512], other[512];
	tf_check_t check;
	unsigned bits;

	if (d == NULL || v->registry == NULL)
		return;         /* a missing row is named by s_check_rows */
	v->rederived++;
	if (tf_rules_check(&v->rules, report, v->registry, agent->township, &check) != 0) {
		s_finding(v, "message %s: stored, but the rules in force and the registry refuse it: "
		          "%s: %s", idhex, tf_reason_name(check.reason), check.detail);
		return;
	}
	if ((int)check.seats_filled != d->seats_filled)
		s_finding(v, "message %s: seats_filled is %d; the signed report fills %u", idhex,
		          d->seats_filled, check.seats_filled);
	if (check.election_valid != d->election_valid)
		s_finding(v, "message %s: election_valid is %s; the signed report makes it %s", idhex,
		          d->election_valid ? "true" : "false", check.election_valid ? "true" : "false");
	bits = check.warnings & ~(unsigned)(TF_WARN_PHOTO_REUSED | TF_WARN_IDENTICAL_FIGURES);
	if (d->photo_reused)
		bits |= TF_WARN_PHOTO_REUSED;
	if (d->figures_before)
		bits |= TF_WARN_IDENTICAL_FIGURES;
	s_warning_words(bits, want, sizeof want);
	/* Two transactions in one millisecond: the figures flag either way. */
	s_warning_words(bits | (d->figures_same_txn ? TF_WARN_IDENTICAL_FIGURES : 0), other,
	                sizeof other);
	if (strcmp(want, d->warnings) != 0 && strcmp(other, d->warnings) != 0)
		s_finding(v, "message %s: the W flags are %s; the signed report and what was stored "
		          "before it give %s", idhex, d->warnings, want);
}

/* The database's units against the registry given: each where the file
 * puts it, none the file does not have. */
static int
s_check_units(verify_t *v, const char *dir)
{
	PGresult *res = PQexecParams(v->conn, "SELECT code, township_code, name FROM tallyfeed.unit "
	                             "ORDER BY code", 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("verify: %s", tf_db_error(v->conn));
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *code = PQgetvalue(res, i, 0), *township = PQgetvalue(res, i, 1);
		const tf_area_t *unit = tf_registry_find(v->registry, TF_LEVEL_UNIT, code);

		if (unit == NULL)
			s_finding(v, "unit %s: in the database, not in the registry %s", code, dir);
		else if (strcmp(unit->parent, township) != 0 || strcmp(unit->name, PQgetvalue(res, i, 2)) != 0)
			s_finding(v, "unit %s: the database puts it in township %s as \"%s\"; the registry "
			          "%s, in %s as \"%s\"", code, township, PQgetvalue(res, i, 2), dir,
			          unit->parent, unit->name);
	}
	if ((size_t)PQntuples(res) != tf_registry_size(v->registry, TF_LEVEL_UNIT))
		s_finding(v, "the database holds %d units, the registry %s %zu", PQntuples(res), dir,
		          tf_registry_size(v->registry, TF_LEVEL_UNIT));
	PQclear(res);
	return 0;
}

/* The schema's views, functions, triggers and constraints against the
 * digest db migrate recorded, and the one kept elsewhere (kept, or NULL). */
static int
s_check_schema(verify_t *v, const char *kept)
{
	char digest[65], err[1024];
	PGresult *res;

	if (tf_db_schema_digest(v->conn, digest, err, sizeof err) != 0) {
		log_warnx("verify: %s", err);
		return -1;
	}
	if (kept != NULL && strcmp(kept, digest) != 0)
		s_finding(v, "the schema's views, functions, triggers or constraints are not those "
		          "of the digest given: %s, not %s", digest, kept);
	res = PQexecParams(v->conn, "SELECT digest, migration, recorded_at FROM "
	                   "tallyfeed.schema_digest ORDER BY id DESC LIMIT 1", 0, NULL, NULL, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("verify: %s", tf_db_error(v->conn));
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) == 0)
		s_finding(v, "no schema digest recorded (tallyfeed db migrate records one): the "
		          "views and functions cannot be checked against the migrations'");
	else if (strcmp(PQgetvalue(res, 0, 0), digest) != 0)
		s_finding(v, "the schema's views, functions, triggers or constraints are not what "
		          "the migrations made: digest %s, recorded by db migrate (migration %s, %s) "
		          "%s", digest, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		          PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Every stored envelope: hash, fields, signature, and the rows from it. */
static int
s_check_messages(verify_t *v)
{
	zhashx_t *results, *candidates;
	copybuf_t *buf = copybuf_new();
	PGresult *res;
	int rc = -1;

	results = s_copy_out(v, "COPY (SELECT " TF_ROWS_RESULT_SIGNED_COLUMNS
	                        " FROM tallyfeed.result) TO STDOUT");
	candidates = s_copy_out(v, "COPY (SELECT " TF_ROWS_CANDIDATE_COLUMNS
	                           " FROM tallyfeed.candidate ORDER BY message_id, ordinal) TO STDOUT");
	res = s_query(v,
	    "SELECT id, message_id, agent_id, sequence, "
	    "       (extract(epoch FROM created_at) * 1000)::bigint, payload_type::integer, "
	    "       envelope, envelope_sha256, signature "
	    "FROM tallyfeed.message ORDER BY id", 0, NULL);
	if (results == NULL || candidates == NULL || res == NULL || buf == NULL)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		const uint8_t *raw = (const uint8_t *)PQgetvalue(res, i, 6);
		size_t raw_len = (size_t)PQgetlength(res, i, 6);
		uint8_t digest[TF_HASH_LEN];
		char idhex[2 * TF_MESSAGE_ID_LEN + 1];
		const tf_peer_t *agent;
		tf_envelope_t *env;
		tf_report_t *report;
		tf_check_t why;

		v->messages++;
		s_hex((const uint8_t *)PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1), idhex,
		      sizeof idhex);
		crypto_hash_sha256(digest, raw, raw_len);
		if (PQgetlength(res, i, 7) != TF_HASH_LEN
		    || memcmp(digest, PQgetvalue(res, i, 7), TF_HASH_LEN) != 0)
			s_finding(v, "message %s: the stored envelope does not match its SHA-256", idhex);
		env = tf_envelope_decode(raw, raw_len, &why, NULL);
		if (env == NULL) {
			s_finding(v, "message %s: the stored envelope does not decode: %s", idhex,
			          why.detail);
			continue;
		}
		if (env->message_id.len != (size_t)PQgetlength(res, i, 1)
		    || memcmp(env->message_id.data, PQgetvalue(res, i, 1), env->message_id.len) != 0
		    || strcmp(env->agent_id, PQgetvalue(res, i, 2)) != 0
		    || (int64_t)env->sequence != s_int8(res, i, 3)
		    || env->created_unix_ms != s_int8(res, i, 4)
		    || (int32_t)env->payload_type != s_int4(res, i, 5)
		    || env->signature.len != (size_t)PQgetlength(res, i, 8)
		    || memcmp(env->signature.data, PQgetvalue(res, i, 8), env->signature.len) != 0)
			s_finding(v, "message %s: the message row's fields differ from its envelope",
			          idhex);
		agent = tf_enrolment_by_name(v->enrolment, env->agent_id);
		if (agent == NULL)
			s_finding(v, "message %s: agent %s has no certificate here: its signature "
			          "cannot be checked", idhex, env->agent_id);
		else if (!tf_envelope_signature_valid(env, agent->sign_public))
			s_finding(v, "message %s: the protocol %u signature does not verify under "
			          "agent %s's key", idhex, env->protocol_version, env->agent_id);
		/* Version 1 signed the payload alone: what the envelope says
		 * around it (id, sequence, time, type) is not the agent's word. */
		if (env->protocol_version == TF_PROTOCOL_VERSION_1) {
			v->v1++;
			if (v->v1 <= FINDINGS_SHOWN_MAX)
				printf("message %s: protocol 1: only the payload is signed (its message "
				       "id, sequence, time and type are not)\n", idhex);
		} else
			v->v2++;
		if (env->payload_type == TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT) {
			report = tf_report_unpack(env->payload.data, env->payload.len);
			if (report == NULL)
				s_finding(v, "message %s: the payload is not a result report", idhex);
			else {
				char key[2 * TF_MESSAGE_ID_LEN + 8];

				snprintf(key, sizeof key, "\\x%s", idhex);     /* as s_load_derived */
				if (agent != NULL)
					s_check_derived(v, agent, report, key, idhex);
				s_check_rows(v, env, report, results, candidates, buf, idhex);
			}
			tf_report_destroy(&report);
		}
		tf_envelope_destroy(&env);
	}
	/* What is left has no signed envelope behind it. */
	for (const char *line = zhashx_first(results); line != NULL; line = zhashx_next(results))
		s_finding(v, "result row for message %.40s has no stored envelope: inserted",
		          (const char *)zhashx_cursor(results) + 3);
	for (const char *line = zhashx_first(candidates); line != NULL;
	     line = zhashx_next(candidates))
		s_finding(v, "candidate rows for message %.40s have no stored envelope: inserted",
		          (const char *)zhashx_cursor(candidates) + 3);
	rc = 0;
out:
	PQclear(res);
	zhashx_destroy(&results);
	zhashx_destroy(&candidates);
	copybuf_destroy(&buf);
	return rc;
}

static int
s_check_quarantine(verify_t *v)
{
	/* A row kept past its sender's quarantine budget holds only the first
	 * bytes (0007): its SHA-256, in the chain, is all there is to check. */
	PGresult *res = s_query(v, "SELECT id, raw, raw_sha256, "
	                        "coalesce(raw_size <> length(raw), false) "
	                        "FROM tallyfeed.quarantine ORDER BY id", 0, NULL);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		uint8_t digest[TF_HASH_LEN];

		v->quarantined++;
		if (PQgetlength(res, i, 3) == 1 && PQgetvalue(res, i, 3)[0] == 1)
			continue;
		crypto_hash_sha256(digest, (const uint8_t *)PQgetvalue(res, i, 1),
		                   (size_t)PQgetlength(res, i, 1));
		if (PQgetlength(res, i, 2) != TF_HASH_LEN
		    || memcmp(digest, PQgetvalue(res, i, 2), TF_HASH_LEN) != 0)
			s_finding(v, "quarantine row %lld: the raw bytes do not match their SHA-256",
			          (long long)s_int8(res, i, 0));
	}
	PQclear(res);
	return 0;
}

/* The townships' tallies (0009), which the rollups add up, computed again
 * from the registry and the stored results (checked against their
 * envelopes above): a row that differs, is missing or has nothing behind
 * it is named.  A pending township's row waits for the collectors' tallier
 * and the rollups compute that township from its results meanwhile, so it
 * is not compared; how many are pending is said. */
static int
s_check_tally(verify_t *v)
{
	PGresult *res = s_query(v,
	    "WITH p AS (SELECT township_code FROM tallyfeed.tally_pending),"
	    " c AS (SELECT * FROM tallyfeed.tally_compute(ARRAY("
	    "    SELECT code FROM tallyfeed.township EXCEPT SELECT township_code FROM p))),"
	    " t AS (SELECT * FROM tallyfeed.township_tally"
	    "       WHERE township_code NOT IN (SELECT township_code FROM p)),"
	    " stored AS (SELECT * FROM t EXCEPT SELECT * FROM c),"
	    " derived AS (SELECT * FROM c EXCEPT SELECT * FROM t)"
	    " SELECT coalesce(s.township_code, d.township_code)::text,"
	    "        coalesce(s.committee, d.committee),"
	    "        CASE WHEN d.township_code IS NULL THEN 'has no units or results behind it'"
	    "             WHEN s.township_code IS NULL THEN 'is missing'"
	    "             ELSE 'differs from its results' END,"
	    "        (SELECT count(*) FROM p)::text"
	    " FROM stored s FULL JOIN derived d"
	    "   ON d.township_code = s.township_code AND d.committee = s.committee"
	    " UNION ALL SELECT NULL, NULL, NULL, (SELECT count(*) FROM p)::text"
	    " ORDER BY 1, 2", 0, NULL);
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		if (!PQgetisnull(res, i, 0))
			s_finding(v, "township_tally: township %s committee %s %s", PQgetvalue(res, i, 0),
			          PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	if (n > 0 && strcmp(PQgetvalue(res, n - 1, 3), "0") != 0)
		printf("township tallies: %s township(s) pending, not compared (the rollups compute "
		       "them from their results until a collector's tallier has)\n",
		       PQgetvalue(res, n - 1, 3));
	PQclear(res);
	return 0;
}

#define RECEIPT_FILES_MAX 10000000    /* files in a --receipts directory */

/* A receipt's chain row against the row the database holds for its
 * message (in message for a stored message, quarantine for a rejected one). */
static void
s_check_receipt_row(verify_t *v, const char *name, const tf_receipt_fields_t *f)
{
	bool stored = f->verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED
	              || f->verdict == TALLYFEED__VERDICT__VERDICT_DUPLICATE;
	const char *params[2] = { NULL, f->chain };
	char id_text[2 + 2 * TF_HASH_LEN + 1], id[2 * TF_MESSAGE_ID_LEN + 1];
	PGresult *res;
	uint8_t hash[TF_HASH_LEN], sha[TF_HASH_LEN];

	if ((!stored && f->verdict != TALLYFEED__VERDICT__VERDICT_REJECTED) || f->link == 0
	    || f->message_id_len != TF_MESSAGE_ID_LEN) {
		v->receipts_unkept++;   /* nothing kept that it could name */
		return;
	}
	tf_message_id_hex(f->message_id, f->message_id_len, id);
	if (stored)
		snprintf(id_text, sizeof id_text, "\\x%s", id);
	else {
		/* A quarantined frame is known by its bytes (0011). */
		memcpy(id_text, "\\x", 2);
		sodium_bin2hex(id_text + 2, sizeof id_text - 2, f->envelope_sha256, TF_HASH_LEN);
	}
	params[0] = id_text;
	res = s_query(v, stored
	              ? "SELECT chain, link, row_hash, (extract(epoch FROM received_at) * 1000)::bigint,"
	                 " envelope_sha256, 0::integer FROM tallyfeed.message WHERE message_id = $1::bytea"
	              : "SELECT chain, link, row_hash, (extract(epoch FROM received_at) * 1000)::bigint,"
	                " raw_sha256, reason::integer FROM tallyfeed.quarantine WHERE raw_sha256 = $1::bytea"
	                " ORDER BY chain = $2 DESC, link LIMIT 1",
	              stored ? 1 : 2, params);
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		s_finding(v, "receipt %s: collector %s receipted message %s as %s at chain %s link "
		          "%lld, and the database has no such message%s", name, f->collector, id,
		          tf_verdict_name(f->verdict), f->chain, (long long)f->link,
		          stored ? "" : " in quarantine");
		goto out;
	}
	if (PQgetlength(res, 0, 2) != TF_HASH_LEN || PQgetlength(res, 0, 4) != TF_HASH_LEN) {
		s_finding(v, "receipt %s: message %s's stored hashes are not 32 bytes", name, id);
		goto out;
	}
	memcpy(hash, PQgetvalue(res, 0, 2), TF_HASH_LEN);
	memcpy(sha, PQgetvalue(res, 0, 4), TF_HASH_LEN);
	if (strcmp(PQgetvalue(res, 0, 0), f->chain) != 0 || s_int8(res, 0, 1) != f->link
	    || memcmp(hash, f->row_hash, TF_HASH_LEN) != 0)
		s_finding(v, "receipt %s: message %s is receipted at chain %s link %lld, and the "
		          "database has it at chain %s link %lld%s", name, id, f->chain,
		          (long long)f->link, PQgetvalue(res, 0, 0), (long long)s_int8(res, 0, 1),
		          memcmp(hash, f->row_hash, TF_HASH_LEN) != 0 ? " with another row hash" : "");
	else if (s_int8(res, 0, 3) != f->at_ms)
		s_finding(v, "receipt %s: message %s is receipted as received at %lld ms, and the "
		          "database says %lld ms", name, id, (long long)f->at_ms,
		          (long long)s_int8(res, 0, 3));
	if (memcmp(sha, f->envelope_sha256, TF_HASH_LEN) != 0)
		s_finding(v, "receipt %s: message %s's stored bytes are not the ones receipted "
		          "(another SHA-256)", name, id);
	if (!stored && s_int4(res, 0, 5) != f->reason)
		s_finding(v, "receipt %s: message %s is receipted as rejected for %s, and the "
		          "quarantine says %s", name, id, tf_reason_name(f->reason),
		          tf_reason_name(s_int4(res, 0, 5)));
out:
	PQclear(res);
}

/* Every NAME.receipt in dir: signed by a collector given, in its own name,
 * and what it names is what the database holds. */
static int
s_check_receipts(verify_t *v, const char *dir)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	long files = 0;

	if (dirfd < 0 || (d = fdopendir(dirfd)) == NULL) {
		log_warn("verify: --receipts %s", dir);
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), n;
		const tf_peer_t *signer = NULL;
		tf_receipt_fields_t f;
		char why[512], name[TF_TEXT_ESCAPED_MAX(sizeof de->d_name)], *data;

		if (len <= 8 || strcmp(de->d_name + len - 8, ".receipt") != 0)
			continue;
		if (++files > RECEIPT_FILES_MAX) {
			s_finding(v, "%s: over %d receipt files; the rest not checked", dir,
			          RECEIPT_FILES_MAX);
			break;
		}
		v->receipts++;
		/* A file's name may hold anything: escaped before it is shown. */
		tf_text_escape(name, sizeof name, de->d_name, len);
		data = tf_infile_read(dirfd, de->d_name, TF_RECEIPT_MAX, 0, &n, NULL, why, sizeof why);
		if (data == NULL || tf_receipt_decode((const uint8_t *)data, n, &f, why,
		                                      sizeof why) != 0) {
			s_finding(v, "receipt %s: does not read: %s", name, why);
			free(data);
			continue;
		}
		free(data);
		for (size_t i = 0; i < v->ncollectors && signer == NULL; i++)
			if (strcmp(v->collectors[i].name, f.collector) == 0)
				signer = &v->collectors[i];
		if (signer == NULL) {
			s_finding(v, "receipt %s: signed in the name of collector %s, whose certificate "
			          "is not given (--collector-cert)", name, f.collector);
			continue;
		}
		if (tf_receipt_check(&f, signer, why, sizeof why) != 0) {
			s_finding(v, "receipt %s: %s", name, why);
			continue;
		}
		s_check_receipt_row(v, name, &f);
	}
	closedir(d);
	return 0;
}

int
console_verify(console_db_t *db, zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "certs", required_argument, NULL, 'c' },
		{ "collector-cert", required_argument, NULL, 'C' },
		{ "heads", required_argument, NULL, 'H' },
		{ "rules", required_argument, NULL, 'R' },
		{ "schema-digest", required_argument, NULL, 'S' },
		{ "registry", required_argument, NULL, 'r' },
		{ "receipts", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *certs = tf_config_str(config, "console", "certs", NULL);
	const char *receipts_dir = NULL;
	const char *heads_path = NULL, *rules_path = NULL, *registry_dir = NULL;
	const char *schema_digest = NULL;
	tf_peer_t collectors[COLLECTORS_MAX];
	size_t ncollectors = 0;
	tf_enrolment_t *enrolment = NULL;
	PGconn *conn;
	verify_t v = { 0 };
	PGresult *chains = NULL;
	char err[1024];
	int ch, rc = CONSOLE_FAILED;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			certs = optarg;
			break;
		case 'C':
			if (ncollectors == COLLECTORS_MAX) {
				log_warnx("verify: at most %d --collector-cert", COLLECTORS_MAX);
				return CONSOLE_USAGE;
			}
			if (tf_peer_load(optarg, &collectors[ncollectors], err, sizeof err) != 0) {
				log_warnx("verify: %s", err);
				return CONSOLE_USAGE;
			}
			if (collectors[ncollectors].role != TF_ROLE_COLLECTOR) {
				log_warnx("verify: %s is not a collector's certificate", optarg);
				return CONSOLE_USAGE;
			}
			ncollectors++;
			break;
		case 'H':
			heads_path = optarg;
			break;
		case 'R':
			rules_path = optarg;
			break;
		case 'S':
			if (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdef") != 64) {
				log_warnx("verify: --schema-digest takes 64 lowercase hex digits "
				          "(as db migrate prints it)");
				return CONSOLE_USAGE;
			}
			schema_digest = optarg;
			break;
		case 'r':
			registry_dir = optarg;
			break;
		case 'E':
			receipts_dir = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return CONSOLE_OK;
		default:
			s_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc || certs == NULL) {
		log_warnx("verify needs the agents' certificates (--certs DIR or console/certs)");
		return CONSOLE_USAGE;
	}
	if (receipts_dir != NULL && ncollectors == 0) {
		log_warnx("verify: --receipts needs the keys they must be signed by "
		          "(--collector-cert)");
		return CONSOLE_USAGE;
	}
	if (heads_path != NULL && ncollectors == 0) {
		log_warnx("verify: --heads needs the key they must be signed by (--collector-cert)");
		return CONSOLE_USAGE;
	}
	tf_rules_config_default(&v.rules);
	if (rules_path != NULL) {
		zconfig_t *root = tf_zpl_load(rules_path, 1024 * 1024, err, sizeof err);

		if (root == NULL || tf_rules_config_load(&v.rules, root, "collector", err,
		                                         sizeof err) != 0) {
			log_warnx("verify: --rules %s: %s", rules_path, err);
			zconfig_destroy(&root);
			return CONSOLE_USAGE;
		}
		zconfig_destroy(&root);
	}
	if (registry_dir != NULL) {
		v.registry = tf_registry_new();
		if (v.registry == NULL
		    || tf_registry_load_dir(v.registry, registry_dir, err, sizeof err) != 0) {
			log_warnx("verify: --registry: %s", v.registry ? err : "out of memory");
			tf_registry_destroy(&v.registry);
			return CONSOLE_FAILED;
		}
	}
	if (sodium_init() < 0)
		return CONSOLE_FAILED;
	enrolment = tf_enrolment_load(certs, err, sizeof err);
	if (enrolment == NULL) {
		log_warnx("verify: %s", err);
		return CONSOLE_FAILED;
	}
	v.enrolment = enrolment;
	v.collectors = collectors;
	v.ncollectors = ncollectors;
	if ((heads_path != NULL && s_load_kept_heads(&v, heads_path) != 0)
	    || (conn = console_db_conn(db)) == NULL) {
		tf_enrolment_destroy(&enrolment);
		tf_registry_destroy(&v.registry);
		free(v.heads);
		return CONSOLE_FAILED;
	}
	v.conn = conn;
	/* One snapshot for the whole check; dates as COPY writes them. */
	if (tf_db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin") != 0
	    || tf_db_exec(conn, "SET LOCAL DateStyle = ISO", "datestyle") != 0)
		goto out;
	chains = s_query(&v, "SELECT chain FROM tallyfeed.message UNION "
	                     "SELECT chain FROM tallyfeed.quarantine UNION "
	                     "SELECT chain FROM tallyfeed.chain_head ORDER BY 1", 0, NULL);
	if (chains == NULL || s_load_table_heads(&v) != 0)
		goto out;
	/* The results are judged again by the registry given, or else by the
	 * database's own, as the collector reads it. */
	if (registry_dir != NULL) {
		if (s_check_units(&v, registry_dir) != 0)
			goto out;
	} else if ((v.registry = tf_db_load_registry(v.conn, err, sizeof err)) == NULL)
		s_finding(&v, "the database's registry does not hold together: %s; results not "
		          "judged again", err);
	if ((v.derived = s_load_derived(&v)) == NULL)
		goto out;
	for (int i = 0; i < PQntuples(chains); i++)
		if (s_check_chain(&v, PQgetvalue(chains, i, 0)) != 0)
			goto out;
	/* A chain kept heads name that the database no longer has at all. */
	for (size_t i = 0; i < v.nkept; i++) {
		bool named = false;

		if (!v.heads[i].trusted || v.heads[i].seen)
			continue;
		for (size_t j = 0; j < i && !named; j++)
			named = v.heads[j].trusted && !v.heads[j].seen
			        && strcmp(v.heads[j].chain, v.heads[i].chain) == 0;
		if (!named)
			s_finding(&v, "chain %s: %s signed its head at link %lld (%s), and the database "
			          "has no such chain: removed", v.heads[i].chain, v.heads[i].signer,
			          (long long)v.heads[i].link, v.heads[i].where);
	}
	if (s_check_messages(&v) != 0 || s_check_quarantine(&v) != 0
	    || s_check_tally(&v) != 0 || s_check_schema(&v, schema_digest) != 0
	    || (receipts_dir != NULL && s_check_receipts(&v, receipts_dir) != 0))
		goto out;
	if (v.findings > FINDINGS_SHOWN_MAX)
		printf("... and %ld more\n", v.findings - FINDINGS_SHOWN_MAX);
	printf("verify: %ld messages (%ld protocol 2, whole envelope signed; %ld protocol 1, "
	       "payload only), %ld results judged again, %ld quarantined, %d chain%s of %ld "
	       "links, %zu signed heads (%zu kept elsewhere): %s%ld finding%s\n",
	       v.messages, v.v2, v.v1, v.rederived, v.quarantined, PQntuples(chains),
	       PQntuples(chains) == 1 ? "" : "s", v.links, v.nheads, v.nkept,
	       v.findings ? "" : "all sound, ", v.findings, v.findings == 1 ? "" : "s");
	if (receipts_dir != NULL)
		printf("verify: %ld receipts from %s checked against the database (%ld of them "
		       "name nothing kept: signatures checked only)\n", v.receipts, receipts_dir,
		       v.receipts_unkept);
	rc = v.findings ? CONSOLE_FAILED : CONSOLE_OK;
out:
	PQclear(chains);
	tf_db_exec(conn, "ROLLBACK", "rollback");
	tf_enrolment_destroy(&enrolment);
	tf_registry_destroy(&v.registry);
	zhashx_destroy(&v.derived);
	free(v.heads);
	return rc;
}

static void
s_heads_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed heads [--all] [--out FILE]\n"
	    "Print the chain heads the collectors signed (tallyfeed.signed_head): the newest\n"
	    "of each chain, or with --all every one, a line each: chain, link, row_hash,\n"
	    "signed_ms, signer, sign_public, signature (tab-separated, hex).  Keep them away\n"
	    "from the database; `tallyfeed verify --heads FILE --collector-cert CERT` holds\n"
	    "the chain to them later.\n"
	    "  --all         every signed head, not only the newest of each chain\n"
	    "  --out FILE    write to FILE (replaced) instead of stdout\n");
}

int
console_heads(console_db_t *db, int argc, char **argv)
{
	static const struct option options[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out_path = NULL;
	bool all = false;
	verify_t v = { 0 };
	PGresult *res = NULL;
	FILE *fp = stdout;
	int ch, rc = CONSOLE_FAILED;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = true;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			s_heads_usage(stdout);
			return CONSOLE_OK;
		default:
			s_heads_usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		s_heads_usage(stderr);
		return CONSOLE_USAGE;
	}
	if ((v.conn = console_db_conn(db)) == NULL)
		return CONSOLE_FAILED;
	res = s_query(&v, all ? SIGNED_HEAD_SQL "ORDER BY chain, link"
	                      : SIGNED_HEAD_SQL "WHERE (chain, link) IN (SELECT chain, max(link) "
	                        "FROM tallyfeed.signed_head GROUP BY chain) ORDER BY chain",
	              0, NULL);
	if (res == NULL)
		goto out;
	if (out_path != NULL && (fp = fopen(out_path, "w")) == NULL) {
		log_warn("heads: %s", out_path);
		goto out;
	}
	fprintf(fp, "# chain\tlink\trow_hash\tsigned_ms\tsigner\tsign_public\tsignature\n");
	for (int i = 0; i < PQntuples(res); i++) {
		char hash[2 * TF_HASH_LEN + 1], key[2 * TF_SIGN_PUBLIC_LEN + 1];
		char sig[2 * TF_SIGNATURE_LEN + 1];
		head_t h;

		if (s_head_of_row(res, i, &h) != 0) {
			log_warnx("heads: signed_head row %d is malformed; left out", i + 1);
			continue;
		}
		s_hex(h.hash, TF_HASH_LEN, hash, sizeof hash);
		s_hex(h.sign_public, TF_SIGN_PUBLIC_LEN, key, sizeof key);
		s_hex(h.signature, TF_SIGNATURE_LEN, sig, sizeof sig);
		fprintf(fp, "%s\t%lld\t%s\t%lld\t%s\t%s\t%s\n", h.chain, (long long)h.link, hash,
		        (long long)h.signed_ms, h.signer, key, sig);
	}
	if (fflush(fp) != 0 || (fp != stdout && fclose(fp) != 0)) {
		fp = stdout;
		log_warn("heads: %s", out_path ? out_path : "stdout");
		goto out;
	}
	fp = stdout;
	rc = CONSOLE_OK;
out:
	if (fp != stdout)
		fclose(fp);
	PQclear(res);
	return rc;
}
