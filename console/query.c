/*
 * query: the provincial office's questions (see query.h).
 */
#include "query.h"
#include "db.h"
#include "envelope.h"
#include "identity.h"
#include "registry.h"

#include <assert.h>
#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column types from pg_type that are numbers or booleans in JSON. */
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define NUMERICOID 1700
#define BOOLOID 16

static const char *const s_report_function[] = {
	[REPORT_TOTALS] = "totals",
	[REPORT_PROGRESS] = "progress",
	[REPORT_COMPOSITION] = "composition",
};

/* $1: the area (or unit) to look inside, or NULL for everywhere. */
#define UNDER_SQL(p) \
	"($1::text IS NULL OR $1 IN (" p "unit_code, " p "township_code, " p "county_code, " \
	p "prefecture_code, " p "province_code))"

static const char *const s_list_sql[] = {
	[LIST_OUTSTANDING] =
	"SELECT unit_code, unit_name, township_code, township_name, committee "
	"FROM tallyfeed.outstanding WHERE " UNDER_SQL("") " "
	"ORDER BY unit_code, committee",
	[LIST_RUNOFFS] =
	"SELECT unit_code, unit_name, township_name, committee, seats_total, seats_filled, "
	"       seats_open "
	"FROM tallyfeed.runoff_pending WHERE " UNDER_SQL("") " "
	"ORDER BY unit_code, committee",
	[LIST_FLAGS] =
	"SELECT r.unit_code, p.unit_name, t.name AS township_name, r.committee, r.round, "
	"       r.revision, array_to_string(r.warnings, ' ') AS warnings "
	"FROM tallyfeed.result_current r "
	"JOIN tallyfeed.unit_place p ON p.unit_code = r.unit_code "
	"JOIN tallyfeed.township t ON t.code = p.township_code "
	"WHERE cardinality(r.warnings) > 0 AND " UNDER_SQL("p.") " "
	"ORDER BY r.unit_code, r.committee, r.round",
	[LIST_UNITS] =
	"SELECT unit_code, unit_name, committee, reported, registered, took_part, turnout, "
	"       election_valid, seats_total, seats_filled, runoff_needed, rounds, revisions, "
	"       last_received_at, warnings "
	"FROM tallyfeed.unit_status WHERE " UNDER_SQL("") " "
	"ORDER BY unit_code, committee",
};

static const char *const s_list_name[] = {
	[LIST_OUTSTANDING] = "outstanding units",
	[LIST_RUNOFFS] = "runoffs",
	[LIST_FLAGS] = "flags",
	[LIST_UNITS] = "units",
};

int
query_level_valid(const char *level)
{
	static const char *const levels[] = { "province", "prefecture", "county", "township" };

	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strcmp(level, levels[i]) == 0)
			return 0;
	return -1;
}

/* Run sql with params; QUERY_OK with the rows in *out, or QUERY_FAILED. */
static query_status_t
s_rows(PGconn *conn, const char *sql, int nparams, const char *const *params,
       const char *what, PGresult **out, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not read %s: %s", what, tf_db_error(conn));
		PQclear(res);
		return QUERY_FAILED;
	}
	*out = res;
	return QUERY_OK;
}

query_status_t
query_check_form(const char *level, const char *code, char *err, size_t errlen)
{
	if (level != NULL && query_level_valid(level) != 0) {
		snprintf(err, errlen, "level \"%.40s\" is not province, prefecture, county or township",
		         level);
		return QUERY_BAD_ARGUMENT;
	}
	if (code != NULL && !tf_code_valid(code)) {
		snprintf(err, errlen, "\"%.40s\" is not a 12-digit division code", code);
		return QUERY_BAD_ARGUMENT;
	}
	return QUERY_OK;
}

query_status_t
query_check_code(PGconn *conn, const char *code, char *err, size_t errlen)
{
	PGresult *res = NULL;
	query_status_t status;

	if ((status = query_check_form(NULL, code, err, errlen)) != QUERY_OK)
		return status;
	status = s_rows(conn, "SELECT 1 FROM tallyfeed.area WHERE code = $1 "
	                "UNION ALL SELECT 1 FROM tallyfeed.unit WHERE code = $1",
	                1, &code, "the registry", &res, err, errlen);
	if (status == QUERY_OK && PQntuples(res) == 0) {
		snprintf(err, errlen, "no area or unit has code %s", code);
		status = QUERY_NOT_FOUND;
	}
	PQclear(res);
	return status;
}

query_status_t
query_area_report(PGconn *conn, query_report_t report, const char *level, const char *under,
                  PGresult **out, char *err, size_t errlen)
{
	const char *params[2] = { level, under };
	char sql[96];
	query_status_t status;

	assert(report <= REPORT_COMPOSITION);
	if (level == NULL) {
		snprintf(err, errlen, "a level is needed: province, prefecture, county or township");
		return QUERY_BAD_ARGUMENT;
	}
	if ((status = query_check_form(level, NULL, err, errlen)) != QUERY_OK)
		return status;
	if (under != NULL && (status = query_check_code(conn, under, err, errlen)) != QUERY_OK)
		return status;
	snprintf(sql, sizeof sql, "SELECT * FROM tallyfeed.%s($1, $2)", s_report_function[report]);
	return s_rows(conn, sql, 2, params, s_report_function[report], out, err, errlen);
}

query_status_t
query_unit_list(PGconn *conn, query_list_t list, const char *under, PGresult **out,
                char *err, size_t errlen)
{
	query_status_t status;

	assert(list <= LIST_UNITS);
	if (under != NULL && (status = query_check_code(conn, under, err, errlen)) != QUERY_OK)
		return status;
	return s_rows(conn, s_list_sql[list], 1, &under, s_list_name[list], out, err, errlen);
}

query_status_t
query_township_status(PGconn *conn, const char *county, long silent_after_s, PGresult **out,
                      char *err, size_t errlen)
{
	char silent[24], connected[24];
	const char *params[3] = { county, silent, connected };
	query_status_t status;

	if (county != NULL && (status = query_check_code(conn, county, err, errlen)) != QUERY_OK)
		return status;
	snprintf(silent, sizeof silent, "%ld", silent_after_s);
	snprintf(connected, sizeof connected, "%d", QUERY_CONNECTED_S);
	return s_rows(conn,
	    "SELECT township_code, township_name, agent_id, "
	    "       CASE WHEN last_heartbeat IS NULL AND accepted + rejected = 0 THEN 'never heard' "
	    "            WHEN last_heartbeat IS NULL THEN 'no heartbeat' "
	    "            WHEN heartbeat_age_s > $2::bigint THEN 'SILENT' ELSE 'ok' END AS state, "
	    "       coalesce(heartbeat_age_s <= $3::bigint, false) AS connected, "
	    "       to_char(last_heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "           AS last_heartbeat, heartbeat_age_s, spool_depth, oldest_pending_age_s, "
	    "       accepted, rejected, "
	    "       to_char(last_result_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "           AS last_result_at "
	    "FROM tallyfeed.township_status "
	    "WHERE $1::text IS NULL OR $1 IN (county_code, township_code, "
	    "                                 left(county_code, 4) || '00000000') "
	    "ORDER BY (last_heartbeat IS NULL OR heartbeat_age_s > $2::bigint) DESC, "
	    "         heartbeat_age_s DESC NULLS FIRST, township_code",
	    3, params, "the townships' status", out, err, errlen);
}

query_status_t
query_area_path(PGconn *conn, const char *code, PGresult **out, char *err, size_t errlen)
{
	query_status_t status = query_check_code(conn, code, err, errlen);

	if (status != QUERY_OK)
		return status;
	return s_rows(conn, "SELECT depth, code, name, level FROM tallyfeed.area_path($1) "
	              "ORDER BY depth", 1, &code, "where it sits", out, err, errlen);
}

/* "verified", "FAILS", ...: the status of one stored envelope's signature. */
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
	else if (tf_envelope_signature_valid(env, agent->sign_public))
		snprintf(out, outlen, env->protocol_version == TF_PROTOCOL_VERSION_1
		                      ? "verified (protocol 1: the payload only)" : "verified");
	else
		snprintf(out, outlen, "FAILS");
	tf_envelope_destroy(&env);
	return out;
}

query_status_t
query_unit_history(PGconn *conn, const char *code, const tf_enrolment_t *enrolment,
                   PGresult **out, char *err, size_t errlen)
{
	zchunk_t *ids = NULL, *statuses = NULL;
	PGresult *res = NULL;
	query_status_t status;

	if (!tf_code_valid(code)) {
		snprintf(err, errlen, "\"%.40s\" is not a 12-digit unit code", code);
		return QUERY_BAD_ARGUMENT;
	}
	status = s_rows(conn, "SELECT 1 FROM tallyfeed.unit WHERE code = $1", 1, &code,
	                "the registry", &res, err, errlen);
	if (status != QUERY_OK)
		goto out;
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "no unit has code %s", code);
		status = QUERY_NOT_FOUND;
		goto out;
	}
	PQclear(res);
	/* The signatures are checked here, then handed back to the query as
	 * two arrays, so every format shows them like any other column. */
	res = PQexecParams(conn,
	    "SELECT encode(m.message_id, 'hex'), m.envelope FROM tallyfeed.result r "
	    "JOIN tallyfeed.message m ON m.message_id = r.message_id WHERE r.unit_code = $1",
	    1, NULL, &code, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not read %s's envelopes: %s", code, tf_db_error(conn));
		status = QUERY_FAILED;
		goto out;
	}
	ids = zchunk_new("{", 1);
	statuses = zchunk_new("{", 1);
	for (int i = 0; i < PQntuples(res); i++) {
		char signature[128];

		s_signature_status(enrolment, (const uint8_t *)PQgetvalue(res, i, 1),
		                   (size_t)PQgetlength(res, i, 1), signature, sizeof signature);
		if (i > 0) {
			zchunk_extend(ids, ",", 1);
			zchunk_extend(statuses, ",", 1);
		}
		zchunk_extend(ids, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
		zchunk_extend(statuses, "\"", 1);
		zchunk_extend(statuses, signature, strlen(signature));
		zchunk_extend(statuses, "\"", 1);
	}
	zchunk_extend(ids, "}", 2);
	zchunk_extend(statuses, "}", 2);
	PQclear(res);
	res = NULL;
	{
		const char *params[3] = { code, (const char *)zchunk_data(ids),
			                  (const char *)zchunk_data(statuses) };

		status = s_rows(conn,
		    "SELECT h.committee, h.round, h.revision, h.counts, h.agent_id, h.sequence, "
		    "       h.created_at, h.received_at, h.message_id, h.registered, h.took_part, "
		    "       h.ballots_valid, h.election_valid, h.seats_filled, h.seats_total, "
		    "       h.warnings, s.status AS signature, h.chain, h.link "
		    "FROM tallyfeed.unit_history h "
		    "LEFT JOIN unnest($2::text[], $3::text[]) AS s(message_id, status) "
		    "       ON s.message_id = h.message_id "
		    "WHERE h.unit_code = $1 "
		    "ORDER BY h.committee, h.round, h.revision", 3, params, "the unit's results",
		    out, err, errlen);
	}
out:
	PQclear(res);
	zchunk_destroy(&ids);
	zchunk_destroy(&statuses);
	return status;
}

static bool
s_integer(Oid type)
{
	return type == INT8OID || type == INT2OID || type == INT4OID;
}

int
query_column_boolean(const PGresult *res, int col)
{
	return PQftype(res, col) == BOOLOID;
}

int
query_column_numeric(const PGresult *res, int col)
{
	Oid type = PQftype(res, col);

	return s_integer(type) || type == NUMERICOID;
}

json_t *
query_rows_json(PGresult *res)
{
	json_t *array = json_array();
	int rows = PQntuples(res), cols = PQnfields(res);

	if (array == NULL)
		return NULL;
	for (int r = 0; r < rows; r++) {
		json_t *row = json_object();

		for (int c = 0; c < cols; c++) {
			const char *v = PQgetvalue(res, r, c);
			Oid type = PQftype(res, c);
			json_t *value;

			if (PQgetisnull(res, r, c))
				value = json_null();
			else if (type == NUMERICOID)
				value = json_real(strtod(v, NULL));
			else if (s_integer(type))
				value = json_integer(strtoll(v, NULL, 10));
			else if (type == BOOLOID)
				value = json_boolean(v[0] == 't');
			else
				value = json_string(v);
			json_object_set_new(row, PQfname(res, c), value);
		}
		json_array_append_new(array, row);
	}
	return array;
}
