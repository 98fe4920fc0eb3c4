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
 *  - every quarantined message: its raw bytes against their SHA-256.
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
#include "log.h"
#include "rows.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FINDINGS_SHOWN_MAX 1000  /* findings printed; the count goes on */

typedef struct {
	PGconn *conn;
	const tf_enrolment_t *enrolment;
	long findings;
	long messages;
	long quarantined;
	long links;
	long v1, v2;            /* messages checked as protocol 1 and 2 */
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
	    "usage: tallyfeed verify [--certs DIR]\n"
	    "Re-check every stored result against its signed envelope and the agents'\n"
	    "public keys, and every collector's hash chain: report each row whose data\n"
	    "no longer matches its signed envelope, each envelope whose signature fails\n"
	    "(protocol 2: over the whole envelope; each protocol 1 message, signed over\n"
	    "its payload alone, is named), each missing, repeated or altered link.\n"
	    "Changes nothing.\n"
	    "  --certs DIR   the agents' public certificates (console/certs in the\n"
	    "                configuration): the collector's certificate directory\n"
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

/* One chain: links in order, each hash from the one before, the head. */
static int
s_check_chain(verify_t *v, const char *chain)
{
	const char *params[1] = { chain };
	PGresult *rows, *head;
	uint8_t previous[TF_HASH_LEN] = { 0 }, hash[TF_HASH_LEN];
	int64_t expect = 1, last = 0;
	bool have_previous = true;

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
			else
				s_check_rows(v, env, report, results, candidates, buf, idhex);
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
	PGresult *res = s_query(v, "SELECT id, raw, raw_sha256 FROM tallyfeed.quarantine ORDER BY id",
	                        0, NULL);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		uint8_t digest[TF_HASH_LEN];

		v->quarantined++;
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

int
console_verify(console_db_t *db, zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "certs", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *certs = tf_config_str(config, "console", "certs", NULL);
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
	if (sodium_init() < 0)
		return CONSOLE_FAILED;
	enrolment = tf_enrolment_load(certs, err, sizeof err);
	if (enrolment == NULL) {
		log_warnx("verify: %s", err);
		return CONSOLE_FAILED;
	}
	if ((conn = console_db_conn(db)) == NULL) {
		tf_enrolment_destroy(&enrolment);
		return CONSOLE_FAILED;
	}
	v.conn = conn;
	v.enrolment = enrolment;
	/* One snapshot for the whole check; dates as COPY writes them. */
	if (tf_db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin") != 0
	    || tf_db_exec(conn, "SET LOCAL DateStyle = ISO", "datestyle") != 0)
		goto out;
	chains = s_query(&v, "SELECT chain FROM tallyfeed.message UNION "
	                     "SELECT chain FROM tallyfeed.quarantine UNION "
	                     "SELECT chain FROM tallyfeed.chain_head ORDER BY 1", 0, NULL);
	if (chains == NULL)
		goto out;
	for (int i = 0; i < PQntuples(chains); i++)
		if (s_check_chain(&v, PQgetvalue(chains, i, 0)) != 0)
			goto out;
	if (s_check_messages(&v) != 0 || s_check_quarantine(&v) != 0)
		goto out;
	if (v.findings > FINDINGS_SHOWN_MAX)
		printf("... and %ld more\n", v.findings - FINDINGS_SHOWN_MAX);
	printf("verify: %ld messages (%ld protocol 2, whole envelope signed; %ld protocol 1, "
	       "payload only), %ld quarantined, %d chain%s of %ld links: %s%ld finding%s\n",
	       v.messages, v.v2, v.v1, v.quarantined, PQntuples(chains),
	       PQntuples(chains) == 1 ? "" : "s", v.links, v.findings ? "" : "all sound, ",
	       v.findings, v.findings == 1 ? "" : "s");
	rc = v.findings ? CONSOLE_FAILED : CONSOLE_OK;
out:
	PQclear(chains);
	tf_db_exec(conn, "ROLLBACK", "rollback");
	tf_enrolment_destroy(&enrolment);
	return rc;
}
