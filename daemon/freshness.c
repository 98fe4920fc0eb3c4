/*
 * freshness: how old the figures are (see freshness.h).
 */
#include "freshness.h"
#include "db.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
tf_freshness_read(PGconn *conn, tf_freshness_t *out, char *err, size_t errlen)
{
	/* One statement, so every figure is of one moment.  A standby whose
	 * received WAL is all replayed shows everything it was sent: it is
	 * not behind however long ago its last replayed transaction was (an
	 * idle primary sends nothing).  The receive position is NULL until
	 * streaming starts; it then keeps the last position received, also
	 * once the WAL receiver is gone (the primary down or unreachable):
	 * then nothing says how much more the primary has.  Whether a
	 * receiver runs, every role may see (pg_stat_wal_receiver's pid). */
	static const char sql[] =
	    "SELECT pg_catalog.pg_is_in_recovery(), "
	    "pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()), "
	    "pg_catalog.date_part('epoch', pg_catalog.pg_last_xact_replay_timestamp()), "
	    "pg_catalog.pg_last_wal_receive_lsn() IS NOT NULL AND EXISTS (SELECT 1 FROM "
	    "pg_catalog.pg_stat_wal_receiver WHERE pid IS NOT NULL), "
	    "pg_catalog.pg_last_wal_receive_lsn() <= pg_catalog.pg_last_wal_replay_lsn()";
	PGresult *res;
	bool streamed;
	int rc = -1;

	assert(conn != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 5) {
		tf_db_note_failure(res);
		snprintf(err, errlen, "could not ask the server how fresh its data is: %s",
		         tf_db_error(conn));
		goto out;
	}
	out->standby = PQgetvalue(res, 0, 0)[0] == 't';
	out->as_of = strtod(PQgetvalue(res, 0, 1), NULL);
	if (!out->standby) {
		out->behind_known = true;
		rc = 0;
		goto out;
	}
	out->has_last_change = !PQgetisnull(res, 0, 2);
	if (out->has_last_change)
		out->last_change = strtod(PQgetvalue(res, 0, 2), NULL);
	streamed = PQgetvalue(res, 0, 3)[0] == 't';
	out->caught_up = streamed && !PQgetisnull(res, 0, 4) && PQgetvalue(res, 0, 4)[0] == 't';
	if (out->caught_up) {
		out->behind_known = true;
	} else if (streamed && out->has_last_change) {
		/* What it has yet to replay was committed after its last change,
		 * and the primary held what it shows until then: the time since
		 * that change is as far behind as it can be, no nearer figure
		 * (the commit times of WAL not yet replayed are not to be had
		 * here).  The standby's clock against the primary's commit time:
		 * a skew between the two hosts shows in it; a negative one is
		 * said 0. */
		out->behind_known = true;
		out->behind_s = fmax(0.0, out->as_of - out->last_change);
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* One row of one value from sql, or NULL (err set). */
static PGresult *
s_value(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1)
		return res;
	tf_db_note_failure(res);
	snprintf(err, errlen, "could not ask the server how far it has replayed: %s",
	         tf_db_error(conn));
	PQclear(res);
	return NULL;
}

int
tf_freshness_wait_replayed(PGconn *conn, int timeout_ms, char *err, size_t errlen)
{
	char sql[160];
	PGresult *res;
	int rc = 1;

	assert(conn != NULL && timeout_ms >= 0);
	/* The position received by a receiver that runs; "" on a primary,
	 * NULL on a standby that does not stream. */
	res = s_value(conn, "SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN '' "
	              "WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_wal_receiver "
	              "WHERE pid IS NOT NULL) THEN pg_catalog.pg_last_wal_receive_lsn()::text END",
	              err, errlen);
	if (res == NULL)
		return -1;
	if (PQgetisnull(res, 0, 0) || strlen(PQgetvalue(res, 0, 0)) > 32) {
		PQclear(res);
		return 1;
	}
	if (PQgetvalue(res, 0, 0)[0] == '\0') {
		PQclear(res);
		return 0;
	}
	/* An LSN is hex digits and a slash: nothing to quote. */
	snprintf(sql, sizeof sql, "SELECT pg_catalog.pg_last_wal_replay_lsn() >= '%s'::pg_lsn",
	         PQgetvalue(res, 0, 0));
	PQclear(res);
	for (int waited = 0;; waited += 20) {
		if ((res = s_value(conn, sql, err, errlen)) == NULL)
			return -1;
		rc = PQgetvalue(res, 0, 0)[0] == 't' ? 0 : 1;
		PQclear(res);
		if (rc == 0 || waited >= timeout_ms)
			return rc;
		usleep(20000);
	}
}

/* A moment as local HH:MM:SS, with the date in front when it is not the
 * day of ref. */
static void
s_local(double t, double ref, char *out, size_t len)
{
	time_t s = (time_t)floor(t), r = (time_t)floor(ref);
	struct tm tm, tr;

	localtime_r(&s, &tm);
	localtime_r(&r, &tr);
	if (tm.tm_year == tr.tm_year && tm.tm_yday == tr.tm_yday)
		strftime(out, len, "%H:%M:%S", &tm);
	else
		strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

void
tf_freshness_text(const tf_freshness_t *f, char *out, size_t len)
{
	char as_of[32], change[32], behind[48];

	assert(f != NULL && out != NULL);
	s_local(f->as_of, f->as_of, as_of, sizeof as_of);
	if (!f->standby) {
		snprintf(out, len, "as of %s (primary)", as_of);
		return;
	}
	if (!f->behind_known)
		snprintf(behind, sizeof behind, "%s", "how far behind unknown (not streaming)");
	else if (f->caught_up)
		snprintf(behind, sizeof behind, "0 s behind");
	else
		snprintf(behind, sizeof behind, "at most %.1f s behind", f->behind_s);
	/* Behind, the figure says it all; otherwise the last change says how
	 * old the newest of the figures is. */
	if (f->has_last_change && (f->caught_up || !f->behind_known)) {
		s_local(f->last_change, f->as_of, change, sizeof change);
		snprintf(out, len, "as of %s, %s, last change at %s (standby)", as_of, behind, change);
	} else
		snprintf(out, len, "as of %s, %s (standby)", as_of, behind);
}

/* A moment as ISO 8601 in UTC, to the millisecond. */
static json_t *
s_iso(double t)
{
	time_t s = (time_t)floor(t);
	unsigned ms = (unsigned)floor((t - (double)s) * 1000.0) % 1000u;
	char text[48];
	size_t n;
	struct tm tm;

	gmtime_r(&s, &tm);
	n = strftime(text, sizeof text - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(text + n, sizeof text - n, ".%03uZ", ms);
	return json_string(text);
}

json_t *
tf_freshness_json(const tf_freshness_t *f)
{
	char text[TF_FRESHNESS_TEXT_MAX];

	assert(f != NULL);
	tf_freshness_text(f, text, sizeof text);
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s}",
	                 "server", f->standby ? "standby" : "primary",
	                 "as_of", s_iso(f->as_of),
	                 "behind_s", f->behind_known ? json_real(round(f->behind_s * 1000.0) / 1000.0)
	                                               : json_null(),
	                 "caught_up", f->standby ? json_boolean(f->caught_up) : json_null(),
	                 "last_change", f->has_last_change ? s_iso(f->last_change) : json_null(),
	                 "text", text);
}
