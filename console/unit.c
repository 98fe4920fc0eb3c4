/*
 * unit: `tallyfeed unit CODE` — every revision of every round of one
 * unit's results: which agent sent it and when, whether it counts, its
 * figures and flags, and its signature's status, checked here against
 * the agents' certificates when they are given (--certs or console/certs).
 */
#include "config.h"
#include "console.h"
#include "db.h"
#include "enrolment.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "registry.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char *const s_headings[] = {
	"委员会", "轮次", "修订", "计入", "发送者", "序号", "生成时间", "接收时间", "消息",
	"登记", "参加", "有效票", "有效选举", "已选", "应选", "提示", "签名", "链", "环节"
};

static void
s_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyfeed unit CODE [--certs DIR] [--format table|csv|json]\n"
	    "Every revision of every round of the unit's results, oldest first: the\n"
	    "agent that sent it, its sequence number, when it was made and received,\n"
	    "its message id, whether it counts (the latest revision of its round), its\n"
	    "figures, its flags, its signature and its link in the collector's chain.\n"
	    "  --certs DIR   the agents' public certificates: check each signature\n"
	    "                (default: console/certs; without, the signature is only\n"
	    "                reported as stored)\n"
	    "  --format F    table (default), csv or json\n");
}

/* "verified (agent X)", "FAILS", ...: one status per stored envelope. */
static const char *
s_signature_status(const tf_enrolment_t *enrolment, const uint8_t *raw, size_t len,
                   char *out, size_t outlen)
{
	tf_check_t why;
	tf_envelope_t *env = tf_envelope_decode(raw, len, &why, NULL);
	const tf_peer_t *agent;

	if (env == NULL)
		snprintf(out, outlen, "envelope does not decode");
	else if (enrolment == NULL)
		snprintf(out, outlen, "stored (%zu bytes), not checked", env->signature.len);
	else if ((agent = tf_enrolment_by_name(enrolment, env->agent_id)) == NULL)
		snprintf(out, outlen, "agent has no certificate here");
	else if (tf_signature_valid(agent->sign_public, env->payload.data, env->payload.len,
	                            env->signature.data, env->signature.len))
		snprintf(out, outlen, "verified");
	else
		snprintf(out, outlen, "FAILS");
	tf_envelope_destroy(&env);
	return out;
}

int
console_unit(PGconn *conn, zconfig_t *config, int argc, char **argv)
{
	static const struct option options[] = {
		{ "certs", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *certs = tf_config_str(config, "console", "certs", NULL), *code;
	table_format_t format = TABLE_TEXT;
	tf_enrolment_t *enrolment = NULL;
	zchunk_t *ids = NULL, *statuses = NULL;
	PGresult *res = NULL;
	char err[1024];
	int ch, rc = CONSOLE_FAILED;

	/* 0, not 1: glibc then forgets main's "+" (stop at the first word), so
	 * the unit code may come before the options. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			certs = optarg;
			break;
		case 'F':
			if (table_format_parse(optarg, &format) != 0) {
				log_warnx("--format: \"%s\" is not table, csv or json", optarg);
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
	if (argc - optind != 1) {
		s_usage(stderr);
		return CONSOLE_USAGE;
	}
	code = argv[optind];
	if (!tf_code_valid(code)) {
		log_warnx("\"%s\" is not a 12-digit unit code", code);
		return CONSOLE_USAGE;
	}
	res = PQexecParams(conn, "SELECT 1 FROM tallyfeed.unit WHERE code = $1", 1, NULL, &code,
	                   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			log_warnx("no unit has code %s", code);
			rc = CONSOLE_USAGE;
		} else
			log_warnx("could not look up %s: %s", code, tf_db_error(conn));
		goto out;
	}
	PQclear(res);
	if (certs != NULL && (enrolment = tf_enrolment_load(certs, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	/* The signatures are checked here, then handed back to the query as
	 * two arrays, so every format prints them like any other column. */
	res = PQexecParams(conn,
	    "SELECT encode(m.message_id, 'hex'), m.envelope FROM tallyfeed.result r "
	    "JOIN tallyfeed.message m ON m.message_id = r.message_id WHERE r.unit_code = $1",
	    1, NULL, &code, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read %s's envelopes: %s", code, tf_db_error(conn));
		goto out;
	}
	ids = zchunk_new("{", 1);
	statuses = zchunk_new("{", 1);
	for (int i = 0; i < PQntuples(res); i++) {
		char status[128];

		s_signature_status(enrolment, (const uint8_t *)PQgetvalue(res, i, 1),
		                   (size_t)PQgetlength(res, i, 1), status, sizeof status);
		if (i > 0) {
			zchunk_extend(ids, ",", 1);
			zchunk_extend(statuses, ",", 1);
		}
		zchunk_extend(ids, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
		zchunk_extend(statuses, "\"", 1);
		zchunk_extend(statuses, status, strlen(status));
		zchunk_extend(statuses, "\"", 1);
	}
	zchunk_extend(ids, "}", 2);
	zchunk_extend(statuses, "}", 2);
	PQclear(res);
	{
		const char *values[3] = { code, (const char *)zchunk_data(ids),
			                  (const char *)zchunk_data(statuses) };

		res = PQexecParams(conn,
		    "SELECT h.committee, h.round, h.revision, h.counts, h.agent_id, h.sequence, "
		    "       h.created_at, h.received_at, h.message_id, h.registered, h.took_part, "
		    "       h.ballots_valid, h.election_valid, h.seats_filled, h.seats_total, "
		    "       h.warnings, s.status AS signature, h.chain, h.link "
		    "FROM tallyfeed.unit_history h "
		    "LEFT JOIN unnest($2::text[], $3::text[]) AS s(message_id, status) "
		    "       ON s.message_id = h.message_id "
		    "WHERE h.unit_code = $1 "
		    "ORDER BY h.committee, h.round, h.revision", 3, NULL, values, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read %s's results: %s", code, tf_db_error(conn));
		goto out;
	}
	table_print(res, format == TABLE_TEXT ? s_headings : NULL, format);
	rc = CONSOLE_OK;
out:
	PQclear(res);
	zchunk_destroy(&ids);
	zchunk_destroy(&statuses);
	tf_enrolment_destroy(&enrolment);
	return rc;
}
