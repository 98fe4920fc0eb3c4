/*
 * api: tallyfeed-web's JSON API and pages (see api.h).
 */
#include "api.h"
#include "addrlimit.h"
#include "check.h"
#include "db.h"
#include "config.h"
#include "enrolment.h"
#include "livefeed.h"
#include "log.h"
#include "query.h"
#include "registry.h"
#include "embedded.h"
#include "envelope.h"
#include "freshness.h"

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_PREFIX "/api/v1/"
#define API_CHECK_ADDRESSES 4096        /* client addresses the check's limit remembers */
/* How long a check waits for a standby to replay what it has received. */
#define CHECK_REPLAY_WAIT_MS 2000
#define JSON_TYPE "application/json; charset=utf-8"
#define FEED_LIMIT_DEFAULT 100          /* summaries in one answer of /feed */
/* A query of the dashboard's that runs longer is cancelled: a serving thread
 * is not held for ever by one request (the rollups answer in milliseconds). */
#define API_STATEMENT_TIMEOUT_MS 30000

/* The certificates in force, shared by the requests that use them: a
 * request holds a reference for as long as it checks signatures, so a
 * SIGHUP swaps them without waiting for a query. */
typedef struct {
	tf_enrolment_t *enrolment;      /* the agents', or NULL */
	tf_enrolment_t *collectors;     /* the collectors' (the public check), or NULL */
	unsigned refs;
} s_certs_t;

struct api {
	char *conninfo;
	char *certs;                    /* NULL: signatures are not checked */
	char *collector_certs;          /* NULL: no public check (/api/v1/check) */
	bool check_only;                /* the public check alone (api_serve_check_only) */
	tf_addrlimit_t *check_limit;    /* checks per client address, or NULL: none */
	/* Each serving thread has its own read-only connection (a PGconn may
	 * not be used by two threads at once, and one shared behind a lock
	 * would make every request wait for the slowest query). */
	pthread_key_t conn_key;
	pthread_mutex_t lock;           /* guards current (SIGHUP swaps it) */
	s_certs_t *current;
	livefeed_t *feed;               /* borrowed; NULL: no live feed */
};

/* A serving thread's connection, closed when the thread ends. */
static void
s_conn_free(void *conn)
{
	PQfinish(conn);
}

/* The certificates of the directories given (either NULL: none of
 * those), or NULL with err. */
static s_certs_t *
s_certs_load(const char *agents, const char *collectors, char *err, size_t errlen)
{
	s_certs_t *certs = calloc(1, sizeof *certs);

	if (certs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	certs->refs = 1;
	if ((agents != NULL && (certs->enrolment = tf_enrolment_load(agents, err, errlen)) == NULL)
	    || (collectors != NULL && (certs->collectors = tf_enrolment_load_collectors(
	                                   collectors, err, errlen)) == NULL)) {
		tf_enrolment_destroy(&certs->enrolment);
		free(certs);
		return NULL;
	}
	return certs;
}

static void
s_certs_release(api_t *self, s_certs_t **certs_p)
{
	s_certs_t *certs = *certs_p;
	bool last;

	if (certs == NULL)
		return;
	pthread_mutex_lock(&self->lock);
	last = --certs->refs == 0;
	pthread_mutex_unlock(&self->lock);
	if (last) {
		tf_enrolment_destroy(&certs->enrolment);
		tf_enrolment_destroy(&certs->collectors);
		free(certs);
	}
	*certs_p = NULL;
}

/* The certificates in force (a reference: s_certs_release it). */
static s_certs_t *
s_certs_take(api_t *self)
{
	s_certs_t *certs;

	pthread_mutex_lock(&self->lock);
	if ((certs = self->current) != NULL)
		certs->refs++;
	pthread_mutex_unlock(&self->lock);
	return certs;
}

api_t *
api_new(const char *conninfo, const char *certs, const char *collector_certs, livefeed_t *feed,
        char *err, size_t errlen)
{
	api_t *self = calloc(1, sizeof *self);

	assert(conninfo != NULL);
	if (self != NULL)
		pthread_mutex_init(&self->lock, NULL);
	if (self == NULL || (self->conninfo = strdup(conninfo)) == NULL
	    || (certs != NULL && (self->certs = strdup(certs)) == NULL)
	    || (collector_certs != NULL
	        && (self->collector_certs = strdup(collector_certs)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	self->feed = feed;
	if ((certs != NULL || collector_certs != NULL)
	    && (self->current = s_certs_load(certs, collector_certs, err, errlen)) == NULL)
		goto fail;
	if (pthread_key_create(&self->conn_key, s_conn_free) != 0) {
		snprintf(err, errlen, "out of memory (thread key)");
		goto fail;
	}
	return self;
fail:
	if (self != NULL) {
		s_certs_release(self, &self->current);
		pthread_mutex_destroy(&self->lock);
		free(self->conninfo);
		free(self->certs);
		free(self->collector_certs);
		free(self);
	}
	return NULL;
}

void
api_destroy(api_t **self_p)
{
	api_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	/* The serving threads have ended (the server is stopped first), and
	 * their connections with them; this thread's, if any, goes here. */
	PQfinish(pthread_getspecific(self->conn_key));
	pthread_key_delete(self->conn_key);
	s_certs_release(self, &self->current);
	tf_addrlimit_destroy(&self->check_limit);
	pthread_mutex_destroy(&self->lock);
	free(self->conninfo);
	free(self->certs);
	free(self->collector_certs);
	free(self);
	*self_p = NULL;
}

int
api_reload(api_t *self, char *err, size_t errlen)
{
	s_certs_t *fresh, *old;

	if (self->certs == NULL && self->collector_certs == NULL)
		return 0;
	if ((fresh = s_certs_load(self->certs, self->collector_certs, err, errlen)) == NULL)
		return -1;
	pthread_mutex_lock(&self->lock);
	old = self->current;
	self->current = fresh;
	pthread_mutex_unlock(&self->lock);
	s_certs_release(self, &old);
	return 0;
}

/* A read-only connection as the reader role: the connection, or NULL with
 * the whole reason (libpq's words too: for the log) in err and a short
 * one for the client in why. */
static PGconn *
s_connect(api_t *self, char *err, size_t errlen, char *why, size_t whylen)
{
	PGconn *conn = tf_db_connect(self->conninfo, "tallyfeed-web", TF_DB_PREFER_STANDBY, err,
	                             errlen);

	if (conn == NULL) {
		snprintf(why, whylen, "the database does not answer");
		return NULL;
	}
	if (tf_db_read_only(conn, TF_DB_READER_ROLE, API_STATEMENT_TIMEOUT_MS, err, errlen) != 0) {
		/* Our words, and the login's name from our own configuration. */
		snprintf(why, whylen, "could not read as role %s; grant it to this login: "
		         "GRANT %s TO %s", TF_DB_READER_ROLE, TF_DB_READER_ROLE, PQuser(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* This thread's open read-only connection, connecting (again) if need be. */
static PGconn *
s_connection(api_t *self, char *err, size_t errlen, char *why, size_t whylen)
{
	PGconn *conn = pthread_getspecific(self->conn_key);

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	PQfinish(conn);
	conn = s_connect(self, err, errlen, why, whylen);
	if (pthread_setspecific(self->conn_key, conn) != 0) {
		PQfinish(conn);
		snprintf(err, errlen, "out of memory (thread key)");
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	return conn;
}

int
api_check_database(api_t *self, char *err, size_t errlen)
{
	char why[256];
	PGconn *conn = s_connect(self, err, errlen, why, sizeof why);

	PQfinish(conn);
	return conn != NULL ? 0 : -1;
}

/* Send body (taken) as JSON. */
static void
s_reply_json(tf_http_reply_t *reply, unsigned status, json_t *body)
{
	char *text = body != NULL ? json_dumps(body, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
	                          : NULL;

	json_decref(body);
	if (text == NULL) {
		tf_http_reply_text(reply, 500, JSON_TYPE, "{\"error\":\"out of memory\"}");
		return;
	}
	reply->status = status;
	reply->content_type = JSON_TYPE;
	reply->body = text;
	reply->length = strlen(text);
	reply->body_static = false;
}

static void
s_reply_error(tf_http_reply_t *reply, unsigned status, const char *why)
{
	s_reply_json(reply, status, json_pack("{s:s}", "error", why));
}

/* A query's failure as an HTTP status: the caller's mistake, or ours.  The
 * database's own words go to the log, never to the client (they name
 * tables, roles and hosts). */
static void
s_reply_failure(PGconn *conn, tf_http_reply_t *reply, query_status_t status, const char *err)
{
	switch (status) {
	case QUERY_BAD_ARGUMENT:
		s_reply_error(reply, 400, err);
		return;
	case QUERY_NOT_FOUND:
		s_reply_error(reply, 404, err);
		return;
	case QUERY_OK:
	case QUERY_FAILED:
		break;
	}
	log_warnx("%s", err);
	/* A lost connection is the database being away (503), anything else
	 * a fault of ours (500). */
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		s_reply_error(reply, 503, "the database does not answer");
	else
		s_reply_error(reply, 500, "the database could not answer this question "
		              "(the server's log says why)");
}

static json_t *
s_now(void)
{
	char text[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(text);
}

/* {"generated_at", "freshness", "level", "under", "rows"} from res (cleared). */
static json_t *
s_rows_object(PGresult *res, const tf_freshness_t *fresh, const char *level, const char *under)
{
	json_t *rows = query_rows_json(res);

	PQclear(res);
	return json_pack("{s:o, s:o, s:s?, s:s?, s:o?}", "generated_at", s_now(), "freshness",
	                 tf_freshness_json(fresh), "level", level, "under", under, "rows", rows);
}

static const struct {
	const char *name;
	query_report_t report;
} s_reports[] = {
	{ "totals", REPORT_TOTALS },
	{ "progress", REPORT_PROGRESS },
	{ "composition", REPORT_COMPOSITION },
};

static const struct {
	const char *name;
	query_list_t list;
} s_lists[] = {
	{ "outstanding", LIST_OUTSTANDING },
	{ "runoffs", LIST_RUNOFFS },
	{ "flags", LIST_FLAGS },
	{ "units", LIST_UNITS },
};

/* The level below each level, for the drill-down. */
static const char *
s_child_level(const char *level)
{
	static const char *const order[] = { "province", "prefecture", "county", "township",
		                             "unit", NULL };

	for (int i = 0; order[i] != NULL && order[i + 1] != NULL; i++)
		if (strcmp(level, order[i]) == 0)
			return order[i + 1];
	return NULL;
}

/* /api/v1/area/CODE and /api/v1/unit/CODE. */
static void
s_place(api_t *self, PGconn *conn, const tf_freshness_t *fresh, const char *code, int unit,
        tf_http_reply_t *reply)
{
	PGresult *path = NULL, *status_rows = NULL, *history = NULL;
	s_certs_t *certs = NULL;
	json_t *body = NULL, *steps;
	query_status_t status;
	const char *level;
	char err[1024];
	int last;

	status = query_area_path(conn, code, &path, err, sizeof err);
	if (status != QUERY_OK)
		goto fail;
	last = PQntuples(path) - 1;
	level = last >= 0 ? PQgetvalue(path, last, 3) : "";
	if (last < 0 || (unit != 0) != (strcmp(level, "unit") == 0)) {
		snprintf(err, sizeof err, "%s is %s, not %s (ask /api/v1/%s/%s)", code,
		         unit ? "an area" : "a unit", unit ? "a unit" : "an area",
		         unit ? "area" : "unit", code);
		status = QUERY_NOT_FOUND;
		goto fail;
	}
	steps = query_rows_json(path);
	body = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s?, s:o?}", "generated_at", s_now(),
	                 "freshness", tf_freshness_json(fresh), "code", code,
	                 "name", PQgetvalue(path, last, 2), "level", level,
	                 "children_level", s_child_level(level), "path", steps);
	if (body == NULL)
		goto oom;
	if (unit) {
		status = query_unit_list(conn, LIST_UNITS, code, &status_rows, err, sizeof err);
		if (status != QUERY_OK)
			goto fail;
		certs = s_certs_take(self);
		status = query_unit_history(conn, code, certs != NULL ? certs->enrolment : NULL,
		                            &history, err, sizeof err);
		s_certs_release(self, &certs);
		if (status != QUERY_OK)
			goto fail;
		json_object_set_new(body, "signatures_checked", json_boolean(self->certs != NULL));
		json_object_set_new(body, "committees", query_rows_json(status_rows));
		json_object_set_new(body, "revisions", query_rows_json(history));
	}
	s_reply_json(reply, 200, body);
	body = NULL;
	goto out;
oom:
	s_reply_error(reply, 500, "out of memory");
	goto out;
fail:
	s_reply_failure(conn, reply, status, err);
out:
	json_decref(body);
	PQclear(path);
	PQclear(status_rows);
	PQclear(history);
}

/* /api/v1/feed: the latest summaries of the collectors' live feed, from
 * this process's memory (no database). */
static void
s_feed(api_t *self, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	const char *under = tf_http_arg(request, "under"), *verdict = tf_http_arg(request, "verdict");
	const char *after_text = tf_http_arg(request, "after"), *limit_text = tf_http_arg(request, "limit");
	long after = 0, limit = FEED_LIMIT_DEFAULT;
	json_t *body, *feed;
	char why[160];

	if (under != NULL && !tf_code_valid(under)) {
		snprintf(why, sizeof why, "under: \"%.40s\" is not a 12-digit division code", under);
		s_reply_error(reply, 400, why);
		return;
	}
	if (verdict != NULL && tf_verdict_of_word(verdict) == TALLYFEED__VERDICT__VERDICT_UNSPECIFIED) {
		s_reply_error(reply, 400, "verdict: not accepted, duplicate, rejected or deferred");
		return;
	}
	if (after_text != NULL && tf_parse_long(after_text, 0, LONG_MAX, &after) != 0) {
		s_reply_error(reply, 400, "after: not a whole number from 0");
		return;
	}
	if (limit_text != NULL && tf_parse_long(limit_text, 1, LIVEFEED_KEEP, &limit) != 0) {
		snprintf(why, sizeof why, "limit: not a whole number from 1 to %d", LIVEFEED_KEEP);
		s_reply_error(reply, 400, why);
		return;
	}
	if (self->feed == NULL) {
		s_reply_error(reply, 404, "this server listens to no live feed (tallyfeed-web --feed)");
		return;
	}
	feed = livefeed_json(self->feed, (uint64_t)after, under, verdict, (size_t)limit);
	body = json_pack("{s:o}", "generated_at", s_now());
	if (feed == NULL || body == NULL || json_object_update(body, feed) != 0) {
		json_decref(body);
		body = NULL;
	}
	json_decref(feed);
	s_reply_json(reply, 200, body);
}

/* /api/v1/check?u=&c=&r=&v=&d=&s=&f=: the public check of a posting
 * sheet (check.h), from what its QR code carries. */
static void
s_check(api_t *self, PGconn *conn, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	static const char names[] = "ucrvdsf";
	char query[TF_POSTING_QUERY_MAX + 1], err[1024];
	size_t used = 0;
	check_answer_t answer;
	tf_posting_t posting;
	query_status_t status;
	s_certs_t *certs;

	for (const char *n = names; *n != '\0'; n++) {
		char name[2] = { *n, '\0' };
		const char *value = tf_http_arg(request, name);
		int len;

		if (value == NULL)
			continue;       /* said by the parse */
		len = snprintf(query + used, sizeof query - used, "%s%c=%s", used ? "&" : "", *n,
		               value);
		if (len < 0 || (size_t)len >= sizeof query - used) {
			s_reply_error(reply, 400, "not a posting sheet's check: too long");
			return;
		}
		used += (size_t)len;
	}
	query[used] = '\0';
	if (tf_posting_parse(query, &posting, err, sizeof err) != 0) {
		char why[1100];

		snprintf(why, sizeof why, "not a posting sheet's check: %s", err);
		s_reply_error(reply, 400, why);
		return;
	}
	certs = s_certs_take(self);
	if (certs == NULL || certs->collectors == NULL || tf_enrolment_size(certs->collectors) == 0) {
		s_certs_release(self, &certs);
		s_reply_error(reply, 503, "the check is not configured here (no collector's "
		              "certificate: tallyfeed-web --collector-certs DIR)");
		return;
	}
	status = check_posting(conn, certs->collectors, &posting, &answer, err, sizeof err);
	s_certs_release(self, &certs);
	if (status != QUERY_OK) {
		s_reply_failure(conn, reply, status, err);
		return;
	}
	s_reply_json(reply, 200, check_answer_json(&posting, &answer));
	check_answer_clear(&answer);
}

static void
s_index(tf_http_reply_t *reply)
{
	s_reply_json(reply, 200, json_pack(
	    "{s:s, s:[s,s,s,s,s,s,s,s,s,s,s]}",
	    "api", "tallyfeed v1: every figure computed from the stored results when asked",
	    "endpoints",
	    "/api/v1/totals?level=province|prefecture|county|township[&under=CODE]",
	    "/api/v1/progress?level=...[&under=CODE]",
	    "/api/v1/composition?level=...[&under=CODE]",
	    "/api/v1/outstanding[?under=CODE]",
	    "/api/v1/runoffs[?under=CODE]",
	    "/api/v1/flags[?under=CODE]",
	    "/api/v1/units?under=CODE",
	    "/api/v1/area/CODE",
	    "/api/v1/unit/CODE",
	    "/api/v1/feed[?under=CODE][&verdict=V][&after=N][&limit=N]",
	    "/api/v1/check?u=UNIT&c=COMMITTEE&r=ROUND&v=REVISION&d=DIGEST&s=SIGNATURE&f=FIGURES"));
}

static void
s_api(api_t *self, const char *what, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	const char *level = tf_http_arg(request, "level"), *under = tf_http_arg(request, "under");
	const char *slash = strchr(what, '/');
	size_t name_len = slash != NULL ? (size_t)(slash - what) : strlen(what);
	PGresult *res = NULL;
	PGconn *conn;
	query_status_t status;
	tf_freshness_t fresh;
	char err[1024], why[256];

	if (*what == '\0') {
		s_index(reply);
		return;
	}
	if (strcmp(what, "feed") == 0) {
		s_feed(self, request, reply);
		return;
	}
	/* Before the database: a check costs a query and signature checks,
	 * and anyone may ask. */
	if (strcmp(what, "check") == 0 && self->check_limit != NULL
	    && !tf_addrlimit_take(self->check_limit, tf_http_peer(request), zclock_mono())) {
		s_reply_error(reply, 429, "too many checks from this address: try again in a moment");
		return;
	}
	if ((conn = s_connection(self, err, sizeof err, why, sizeof why)) == NULL) {
		log_warnx("%s", err);
		s_reply_error(reply, 503, why);
		return;
	}
	if (strcmp(what, "check") == 0) {
		/* "Not known" or "counted" from a standby behind the primary
		 * would be false: a check reads only what the primary had
		 * acknowledged when it was asked. */
		int replayed = tf_freshness_wait_replayed(conn, CHECK_REPLAY_WAIT_MS, err, sizeof err);

		if (replayed < 0) {
			s_reply_failure(conn, reply, QUERY_FAILED, err);
			return;
		}
		if (replayed > 0) {
			s_reply_error(reply, 503, "this server's copy of the results is not up to date "
			              "now (a standby behind its primary): try again in a moment");
			return;
		}
		s_check(self, conn, request, reply);
		return;
	}
	/* Before the figures' queries: they are then at least as fresh as said. */
	if (tf_freshness_read(conn, &fresh, err, sizeof err) != 0) {
		s_reply_failure(conn, reply, QUERY_FAILED, err);
		return;
	}
	if (slash != NULL && (strncmp(what, "area", name_len) == 0 && name_len == 4)) {
		s_place(self, conn, &fresh, slash + 1, 0, reply);
		return;
	}
	if (slash != NULL && (strncmp(what, "unit", name_len) == 0 && name_len == 4)) {
		s_place(self, conn, &fresh, slash + 1, 1, reply);
		return;
	}
	for (size_t i = 0; slash == NULL && i < sizeof s_reports / sizeof s_reports[0]; i++) {
		if (strcmp(what, s_reports[i].name) != 0)
			continue;
		if (level == NULL) {
			s_reply_error(reply, 400, "level is required: province, prefecture, county "
			              "or township");
			return;
		}
		status = query_area_report(conn, s_reports[i].report, level, under, &res, err,
		                           sizeof err);
		if (status != QUERY_OK)
			s_reply_failure(conn, reply, status, err);
		else
			s_reply_json(reply, 200, s_rows_object(res, &fresh, level, under));
		return;
	}
	for (size_t i = 0; slash == NULL && i < sizeof s_lists / sizeof s_lists[0]; i++) {
		if (strcmp(what, s_lists[i].name) != 0)
			continue;
		/* Every unit of the province at once is not a page's question. */
		if (s_lists[i].list == LIST_UNITS && under == NULL) {
			s_reply_error(reply, 400, "units needs under=CODE (a township, county or "
			              "prefecture)");
			return;
		}
		status = query_unit_list(conn, s_lists[i].list, under, &res, err, sizeof err);
		if (status != QUERY_OK)
			s_reply_failure(conn, reply, status, err);
		else
			s_reply_json(reply, 200, s_rows_object(res, &fresh, NULL, under));
		return;
	}
	s_reply_error(reply, 404, "no such endpoint (GET /api/v1/ lists them)");
}

int
api_limit_checks(api_t *self, unsigned per_s)
{
	assert(self != NULL && self->check_limit == NULL && per_s <= 1000);
	if (per_s == 0)
		return 0;
	/* A burst of two seconds' worth: a family scanning sheets together. */
	self->check_limit = tf_addrlimit_new(2 * per_s, 1000 / per_s, API_CHECK_ADDRESSES);
	return self->check_limit != NULL ? 0 : -1;
}

void
api_serve_check_only(api_t *self)
{
	assert(self != NULL);
	self->check_only = true;
}

/* Is path part of the public check (its page, the page's files, its API)? */
static bool
s_public_path(const char *path)
{
	static const char *const paths[] = { "/check", "/check.js", "/style.css",
		                             API_PREFIX "check", NULL };

	for (size_t i = 0; paths[i] != NULL; i++)
		if (strcmp(path, paths[i]) == 0)
			return true;
	return false;
}

void
api_handle(void *arg, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	api_t *self = arg;
	const char *path = tf_http_path(request);

	if (self->check_only && !s_public_path(path)) {
		tf_http_reply_text(reply, 404, "text/plain; charset=utf-8",
		                   "not found (this server answers the public check alone: /check)\n");
		return;
	}

	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0) {
		s_api(self, path + strlen(API_PREFIX), request, reply);
		return;
	}
	if (strcmp(path, "/api/v1") == 0) {
		s_index(reply);
		return;
	}
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	else if (strcmp(path, "/check") == 0)
		path = "/check.html";   /* the public check; its query is its page's */
	for (const embedded_file_t *asset = web_assets; asset->path != NULL; asset++)
		if (strcmp(path, asset->path) == 0) {
			tf_http_reply_static(reply, 200, asset->content_type, asset->data,
			                     asset->length);
			reply->cache_control = "no-cache";
			return;
		}
	tf_http_reply_text(reply, 404, "text/plain; charset=utf-8", "not found\n");
}
