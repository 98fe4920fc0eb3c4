/*
 * check: the public check of a posting sheet (see check.h).
 */
#include "check.h"
#include "db.h"
#include "envelope.h"
#include "receipt.h"
#include "report.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BEIJING_OFFSET_S (8 * 3600)

/* The stored result of the sheet's key, the row of its message, where it
 * sits, and the latest revision of its round. */
static const char s_result_sql[] =
    "SELECT encode(m.message_id, 'hex'), m.sequence, encode(m.envelope, 'hex'),"
    " encode(m.envelope_sha256, 'hex'), m.chain, m.link, encode(m.row_hash, 'hex'),"
    " (extract(epoch FROM m.received_at) * 1000)::bigint, u.name, t.name,"
    " l.revision, (extract(epoch FROM l.received_at) * 1000)::bigint"
    " FROM tallyfeed.result r JOIN tallyfeed.message m USING (message_id)"
    " LEFT JOIN tallyfeed.unit u ON u.code = r.unit_code"
    " LEFT JOIN tallyfeed.township t ON t.code = u.township_code"
    " CROSS JOIN LATERAL (SELECT r2.revision, m2.received_at FROM tallyfeed.result r2"
    "  JOIN tallyfeed.message m2 USING (message_id)"
    "  WHERE r2.unit_code = r.unit_code AND r2.committee = r.committee AND r2.round = r.round"
    "  ORDER BY r2.revision DESC LIMIT 1) l"
    " WHERE r.unit_code = $1 AND r.committee = $2 AND r.round = $3 AND r.revision = $4";

enum {
	COL_ID, COL_SEQUENCE, COL_ENVELOPE, COL_ENVELOPE_SHA256, COL_CHAIN, COL_LINK, COL_ROW_HASH,
	COL_RECEIVED_MS, COL_UNIT_NAME, COL_TOWNSHIP_NAME, COL_LATEST, COL_LATEST_MS
};

static bool
s_hex(const PGresult *res, int col, uint8_t *out, size_t len)
{
	const char *hex = PQgetvalue(res, 0, col);
	size_t got;

	return sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL) == 0 && got == len;
}

/* The receipt a collector gave for the stored message, rebuilt from its
 * row: is the sheet's signature one of the collectors' over it (as its
 * ACCEPTED receipt, or a DUPLICATE one)?  The signer, or NULL. */
static const tf_peer_t *
s_receipt_signer(const PGresult *res, const tf_enrolment_t *collectors,
                 const tf_posting_t *posting)
{
	static const Tallyfeed__Verdict stored[] = { TALLYFEED__VERDICT__VERDICT_ACCEPTED,
		                                     TALLYFEED__VERDICT__VERDICT_DUPLICATE };
	tf_receipt_fields_t r = { .message_id_len = TF_MESSAGE_ID_LEN };

	if (!s_hex(res, COL_ID, r.message_id, TF_MESSAGE_ID_LEN)
	    || !s_hex(res, COL_ENVELOPE_SHA256, r.envelope_sha256, TF_HASH_LEN)
	    || !s_hex(res, COL_ROW_HASH, r.row_hash, TF_HASH_LEN)
	    || strlen(PQgetvalue(res, 0, COL_CHAIN)) > TF_CHAIN_NAME_MAX)
		return NULL;
	r.sequence = strtoull(PQgetvalue(res, 0, COL_SEQUENCE), NULL, 10);
	snprintf(r.chain, sizeof r.chain, "%s", PQgetvalue(res, 0, COL_CHAIN));
	r.link = strtoll(PQgetvalue(res, 0, COL_LINK), NULL, 10);
	r.at_ms = strtoll(PQgetvalue(res, 0, COL_RECEIVED_MS), NULL, 10);
	memcpy(r.signature, posting->signature, TF_SIGNATURE_LEN);
	for (size_t i = 0; i < tf_enrolment_size(collectors); i++) {
		const tf_peer_t *c = tf_enrolment_at(collectors, i);

		snprintf(r.collector, sizeof r.collector, "%s", c->name);
		for (size_t v = 0; v < sizeof stored / sizeof stored[0]; v++) {
			r.verdict = stored[v];
			if (tf_receipt_signature_valid(&r, c->sign_public))
				return c;
		}
	}
	return NULL;
}

/* The signed report in the stored envelope, and its payload's SHA-256.
 * NULL if the stored bytes do not read (verify would name them). */
static tf_report_t *
s_stored_report(const PGresult *res, uint8_t digest[TF_HASH_LEN])
{
	const char *hex = PQgetvalue(res, 0, COL_ENVELOPE);
	size_t hexlen = strlen(hex), len;
	tf_envelope_t *env = NULL;
	tf_report_t *report = NULL;
	uint8_t *bytes;
	tf_check_t why;

	if (hexlen / 2 > TF_MESSAGE_MAX || (bytes = malloc(hexlen / 2 + 1)) == NULL)
		return NULL;
	if (sodium_hex2bin(bytes, hexlen / 2 + 1, hex, hexlen, NULL, &len, NULL) == 0
	    && (env = tf_envelope_decode(bytes, len, &why, NULL)) != NULL
	    && (report = tf_envelope_report(env, NULL, &why)) != NULL)
		crypto_hash_sha256(digest, env->payload.data, env->payload.len);
	tf_envelope_destroy(&env);
	free(bytes);
	return report;
}

query_status_t
check_posting(PGconn *conn, const tf_enrolment_t *collectors, const tf_posting_t *posting,
              check_answer_t *answer, char *err, size_t errlen)
{
	char round[12], revision[12];
	const char *params[4] = { posting->unit, tf_committee_word(posting->committee), round,
		                  revision };
	uint8_t digest[TF_HASH_LEN];
	const tf_peer_t *signer;
	tf_report_t *report;
	PGresult *res;

	assert(conn != NULL && collectors != NULL && posting != NULL && answer != NULL);
	memset(answer, 0, sizeof *answer);
	snprintf(round, sizeof round, "%u", posting->round);
	snprintf(revision, sizeof revision, "%u", posting->revision);
	res = PQexecParams(conn, s_result_sql, 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "check: %s", tf_db_error(conn));
		PQclear(res);
		return QUERY_FAILED;
	}
	if (PQntuples(res) != 1) {
		answer->verdict = CHECK_NOT_KNOWN;
		PQclear(res);
		return QUERY_OK;
	}
	/* Forged says no more than not known would: the names only once the
	 * receipt is a collector's. */
	if ((signer = s_receipt_signer(res, collectors, posting)) == NULL) {
		answer->verdict = CHECK_FORGED;
		PQclear(res);
		return QUERY_OK;
	}
	snprintf(answer->unit_name, sizeof answer->unit_name, "%s", PQgetvalue(res, 0, COL_UNIT_NAME));
	snprintf(answer->township_name, sizeof answer->township_name, "%s",
	         PQgetvalue(res, 0, COL_TOWNSHIP_NAME));
	snprintf(answer->collector, sizeof answer->collector, "%s", signer->name);
	answer->received_ms = strtoll(PQgetvalue(res, 0, COL_RECEIVED_MS), NULL, 10);
	if ((report = s_stored_report(res, digest)) == NULL) {
		snprintf(err, errlen, "check: the stored envelope of unit %s %s round %u revision %u "
		         "does not read (tallyfeed verify names it)", posting->unit,
		         tf_committee_word(posting->committee), posting->round, posting->revision);
		PQclear(res);
		return QUERY_FAILED;
	}
	answer->differs = tf_posting_differs(posting, report);
	answer->digest_differs = sodium_memcmp(digest, posting->payload_sha256, TF_HASH_LEN) != 0;
	answer->superseded_by = (unsigned)strtoul(PQgetvalue(res, 0, COL_LATEST), NULL, 10);
	answer->superseded_ms = strtoll(PQgetvalue(res, 0, COL_LATEST_MS), NULL, 10);
	if (answer->differs != 0 || answer->digest_differs)
		answer->verdict = CHECK_ALTERED;
	else if (answer->superseded_by > posting->revision)
		answer->verdict = CHECK_SUPERSEDED;
	else
		answer->verdict = CHECK_COUNTED;
	if (answer->verdict != CHECK_SUPERSEDED)
		answer->superseded_by = 0, answer->superseded_ms = 0;
	/* The sheet's digest and figures are the stored ones: the stored
	 * report is the one the sheet was printed from. */
	if (answer->verdict == CHECK_COUNTED || answer->verdict == CHECK_SUPERSEDED)
		answer->posted = report;
	else
		tf_report_destroy(&report);
	PQclear(res);
	return QUERY_OK;
}

void
check_answer_clear(check_answer_t *answer)
{
	assert(answer != NULL);
	tf_report_destroy(&answer->posted);
}

const char *
check_verdict_word(check_verdict_t verdict)
{
	switch (verdict) {
	case CHECK_COUNTED:
		return "counted";
	case CHECK_SUPERSEDED:
		return "superseded";
	case CHECK_ALTERED:
		return "altered";
	case CHECK_NOT_KNOWN:
		return "not_known";
	case CHECK_FORGED:
		return "forged";
	}
	return "?";
}

static void
s_beijing(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000) + BEIJING_OFFSET_S;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y年%m月%d日 %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* The differing figures' names, joined by "、". */
static void
s_differing(const tf_posting_t *posting, const check_answer_t *a, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i <= TF_POSTING_FIGURES; i++) {
		if (!(a->differs & (1u << i)))
			continue;
		int n = snprintf(out + used, outlen - used, "%s%s", used ? "、" : "",
		                 tf_posting_label(posting->committee, i));
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
	}
}

void
check_answer_text(const tf_posting_t *posting, const check_answer_t *a, char *out, size_t outlen)
{
	char when[48], differing[512];

	switch (a->verdict) {
	case CHECK_COUNTED:
		snprintf(out, outlen, "与公示一致：省里计入的正是本公示的结果（第%u轮第%u版）。",
		         posting->round, posting->revision);
		break;
	case CHECK_SUPERSEDED:
		s_beijing(a->superseded_ms, when, sizeof when);
		snprintf(out, outlen, "本公示（第%u版）已被更正：省里现在计入的是第%u版（%s收到）。",
		         posting->revision, a->superseded_by, when);
		break;
	case CHECK_ALTERED:
		s_differing(posting, a, differing, sizeof differing);
		if (differing[0] != '\0')
			snprintf(out, outlen, "与省里计入的结果不一致：本公示的%s与县里签收的数据不符。",
			         differing);
		else
			snprintf(out, outlen, "与省里计入的结果不一致：本公示的数据摘要与县里签收的数据"
			         "不符。");
		break;
	case CHECK_NOT_KNOWN:
		snprintf(out, outlen, "省里没有这个结果（第%u轮第%u版）：可能尚未报到省里，或公示有误。",
		         posting->round, posting->revision);
		break;
	case CHECK_FORGED:
		snprintf(out, outlen, "签收凭证是伪造的：省里有这个结果，但二维码中的签名不是县级收集端的签名。");
		break;
	}
}

json_t *
check_answer_json(const tf_posting_t *posting, const check_answer_t *a)
{
	char text[1024], when[48];
	json_t *o, *differing, *figures, *candidates;

	check_answer_text(posting, a, text, sizeof text);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "verdict",
	              check_verdict_word(a->verdict), "message", text, "unit", posting->unit,
	              "committee", tf_committee_word(posting->committee), "committee_name",
	              tf_committee_name_zh(posting->committee), "round",
	              (json_int_t)posting->round, "revision", (json_int_t)posting->revision);
	if (o == NULL)
		return NULL;
	if (a->unit_name[0] != '\0')
		json_object_set_new(o, "unit_name", json_string(a->unit_name));
	if (a->township_name[0] != '\0')
		json_object_set_new(o, "township_name", json_string(a->township_name));
	if (a->collector[0] != '\0') {
		json_object_set_new(o, "collector", json_string(a->collector));
		s_beijing(a->received_ms, when, sizeof when);
		json_object_set_new(o, "received_at", json_string(when));
	}
	if (a->verdict == CHECK_SUPERSEDED) {
		json_object_set_new(o, "superseded_by", json_integer(a->superseded_by));
		s_beijing(a->superseded_ms, when, sizeof when);
		json_object_set_new(o, "superseded_at", json_string(when));
	}
	/* The sheet's own figures (the URL's), to set beside the paper; none
	 * the sheet does not carry. */
	figures = json_array();
	for (int i = 0; i < TF_POSTING_FIGURES; i++) {
		bool party = posting->committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;

		if ((i == 1 && !party) || (i == 3 && party))
			continue;       /* not on the sheet (agents/sheet.c) */
		json_array_append_new(figures, json_pack("{s:s, s:i, s:b}", "name",
		    tf_posting_label(posting->committee, i), "posted", (json_int_t)posting->figures[i],
		    "differs", a->verdict == CHECK_ALTERED && (a->differs & (1u << i)) != 0));
	}
	json_object_set_new(o, "figures", figures);
	if (a->posted != NULL && a->posted->held_on != NULL && a->posted->held_on[0] != '\0')
		json_object_set_new(o, "held_on", json_string(a->posted->held_on));
	candidates = json_array();
	for (size_t i = 0; i < posting->candidates; i++) {
		json_t *c = json_pack("{s:i, s:b}", "votes", (json_int_t)posting->votes[i], "elected",
		                      posting->elected[i]);

		/* Counted or superseded, the posted report has the sheet's
		 * candidates, in its order (tf_posting_differs). */
		if (c != NULL && a->posted != NULL && i < a->posted->n_candidates) {
			const Tallyfeed__Candidate *p = a->posted->candidates[i];

			json_object_set_new(c, "name", json_string(p->name != NULL ? p->name : ""));
			json_object_set_new(c, "position",
			                    json_string(tf_position_name_zh(posting->committee,
			                                                    p->position)));
			if (posting->elected[i])
				json_object_set_new(c, "position_won",
				                    json_string(tf_position_name_zh(posting->committee,
				                                                    p->position_won)));
		}
		json_array_append_new(candidates, c);
	}
	json_object_set_new(o, "candidates", candidates);
	json_object_set_new(o, "candidates_differ", json_boolean(a->verdict == CHECK_ALTERED
	                    && (a->differs & TF_POSTING_CANDIDATES_DIFFER) != 0));
	if (a->verdict == CHECK_ALTERED) {
		differing = json_array();
		for (int i = 0; i <= TF_POSTING_FIGURES; i++)
			if (a->differs & (1u << i))
				json_array_append_new(differing,
				                      json_string(tf_posting_label(posting->committee, i)));
		json_object_set_new(o, "differing", differing);
		json_object_set_new(o, "digest_differs", json_boolean(a->digest_differs));
	}
	return o;
}
