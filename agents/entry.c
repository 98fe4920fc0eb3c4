/*
 * entry: the entry desk's HTTP handlers (entry.h).
 *
 * The desk runs in libmicrohttpd's threads beside the forwarder's loop, so
 * it keeps its own spool handle (SQLite orders its writes with the
 * forwarder's, as it does `submit`'s) behind its own lock, and its own
 * copy of the settings.  A save goes through tf_inbox_queue_text, the
 * path of `submit`: the collector's rules, then one durable commit.
 */
#include "entry.h"
#include "config.h"
#include "embedded.h"
#include "envelope.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "login.h"
#include "report.h"
#include "rules.h"
#include "sheet.h"
#include "spool.h"

#include <assert.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_COOKIE "tf_session"
#define ENTRY_SOURCE "entry form"       /* what the spool records a save came from */
#define ROWS_MAX 100000                 /* spool messages looked at for the list */

struct _entry_t {
	tf_http_t *http;
	login_t *login;
	forwarder_config_t config;      /* a copy: a reload rewrites the forwarder's */
	pthread_mutex_t rules_lock;     /* config.rules', which a reload rewrites */
	pthread_mutex_t lock;           /* the spool handle's */
	spool_t *spool;
	char *check_url;                /* NULL: no posting sheets */
};

/* One spooled message, from spool_foreach's key "UNIT/COMMITTEE/rN/vN". */
typedef struct {
	int64_t sequence;
	char unit[TF_CODE_LEN + 1];
	char committee[16];
	unsigned round, revision;
	spool_state_t state;
	int attempts;
	char reason[64];
	char detail[TF_DETAIL_MAX];
} s_row_t;

typedef struct {
	s_row_t *rows;
	size_t count, size;
	bool failed;
} s_rows_t;

/* ---- replies ---- */

/* Answer obj (stolen) as JSON. */
static void
s_json(tf_http_reply_t *reply, unsigned status, json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (text == NULL) {
		tf_http_reply_text(reply, 500, "text/plain; charset=utf-8", "out of memory\n");
		return;
	}
	reply->status = status;
	reply->content_type = "application/json; charset=utf-8";
	reply->body = text;
	reply->length = strlen(text);
	reply->body_static = false;
}

static void
s_error(tf_http_reply_t *reply, unsigned status, const char *message)
{
	s_json(reply, status, json_pack("{ss}", "error", message));
}

/* ---- the spool, under the lock ---- */

static void
s_collect_row(void *arg, int64_t sequence, const char *source, const char *key,
              spool_state_t state, int attempts, int64_t created_ms, const char *reason,
              const char *detail)
{
	s_rows_t *rows = arg;
	s_row_t row;
	int n = 0;

	(void)source;
	(void)created_ms;
	if (rows->failed || key == NULL)
		return;
	memset(&row, 0, sizeof row);
	if (sscanf(key, "%12[0-9]/%15[a-z_]/r%u/v%u%n", row.unit, row.committee, &row.round,
	           &row.revision, &n) != 4 || key[n] != '\0')
		return;         /* not a report's: nothing of the form's */
	if (rows->count == ROWS_MAX) {
		rows->failed = true;
		return;
	}
	if (rows->count == rows->size) {
		size_t size = rows->size ? rows->size * 2 : 64;
		s_row_t *grown = realloc(rows->rows, size * sizeof *grown);

		if (grown == NULL) {
			rows->failed = true;
			return;
		}
		rows->rows = grown;
		rows->size = size;
	}
	row.sequence = sequence;
	row.state = state;
	row.attempts = attempts;
	snprintf(row.reason, sizeof row.reason, "%s", reason != NULL ? reason : "");
	snprintf(row.detail, sizeof row.detail, "%s", detail != NULL ? detail : "");
	rows->rows[rows->count++] = row;
}

/* Every report the spool holds, in sequence order.  0 or -1. */
static int
s_rows(entry_t *self, s_rows_t *rows)
{
	memset(rows, 0, sizeof *rows);
	if (spool_foreach(self->spool, -1, s_collect_row, rows) != 0 || rows->failed) {
		free(rows->rows);
		memset(rows, 0, sizeof *rows);
		return -1;
	}
	return 0;
}

/* The report a message carries (owned), or NULL. */
static tf_report_t *
s_report_of(entry_t *self, int64_t sequence)
{
	zframe_t *frame = spool_envelope(self->spool, sequence);
	tf_envelope_t *env = NULL;
	tf_report_t *report = NULL;
	tf_check_t why;

	if (frame == NULL)
		return NULL;
	env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);
	if (env != NULL)
		report = tf_envelope_report(env, NULL, &why);
	tf_envelope_destroy(&env);
	zframe_destroy(&frame);
	return report;
}

/* The latest message of (unit, committee, round), round 0 meaning any:
 * the highest round, then revision, then sequence.  NULL if none. */
static const s_row_t *
s_latest(const s_rows_t *rows, const char *unit, const char *committee, unsigned round)
{
	const s_row_t *best = NULL;

	for (size_t i = 0; i < rows->count; i++) {
		const s_row_t *r = &rows->rows[i];

		if (strcmp(r->unit, unit) != 0 || strcmp(r->committee, committee) != 0
		    || (round != 0 && r->round != round))
			continue;
		if (best == NULL || r->round > best->round
		    || (r->round == best->round && r->revision >= best->revision))
			best = r;
	}
	return best;
}

/* The latest accepted revision of (unit, committee, round), or NULL. */
static const s_row_t *
s_latest_accepted(const s_rows_t *rows, const char *unit, const char *committee,
                  unsigned round)
{
	const s_row_t *best = NULL;

	for (size_t i = 0; i < rows->count; i++) {
		const s_row_t *r = &rows->rows[i];

		if (strcmp(r->unit, unit) == 0 && strcmp(r->committee, committee) == 0
		    && r->round == round
		    && (r->state == SPOOL_ACCEPTED || r->state == SPOOL_DUPLICATE)
		    && (best == NULL || r->revision >= best->revision))
			best = r;
	}
	return best;
}

/* The settings a request works by: the desk's, with the rules in force
 * when it began. */
static void
s_settings(entry_t *self, forwarder_config_t *out)
{
	pthread_mutex_lock(&self->rules_lock);
	*out = self->config;
	pthread_mutex_unlock(&self->rules_lock);
}

/* What the stored round before round says, for tf_rules_check_sequence. */
static void
s_prior(entry_t *self, const tf_rules_config_t *rules, const s_rows_t *rows, const char *unit,
        const char *committee, unsigned round, tf_prior_round_t *prior)
{
	const s_row_t *before = round > 1 ? s_latest_accepted(rows, unit, committee, round - 1)
	                                  : NULL;
	tf_report_t *report = before != NULL ? s_report_of(self, before->sequence) : NULL;

	memset(prior, 0, sizeof *prior);
	if (report != NULL)
		tf_rules_prior_round(rules, report, prior);
	tf_report_destroy(&report);
}

static const char *
s_state_word(const s_row_t *row)
{
	switch (row->state) {
	case SPOOL_PENDING:
		return row->attempts > 0 ? "sent" : "queued";
	case SPOOL_ACCEPTED:
	case SPOOL_DUPLICATE:
		return "accepted";
	case SPOOL_REJECTED:
		return "rejected";
	}
	return "unknown";
}

/* The state of one committee of a unit, for the list. */
static json_t *
s_committee_state(entry_t *self, const tf_rules_config_t *rules, const s_rows_t *rows,
                  const char *unit, Tallyfeed__Committee committee)
{
	const char *word = tf_committee_word(committee);
	const s_row_t *row = s_latest(rows, unit, word, 0);
	const char *state;
	tf_prior_round_t prior;
	unsigned unfilled = 0;

	if (row == NULL)
		return json_pack("{sssssi}", "committee", word, "state", "none", "next_round", 1);
	state = s_state_word(row);
	/* Round 1 stored and seats left: the runoff is owed. */
	if (row->round == 1 && strcmp(state, "accepted") == 0) {
		s_prior(self, rules, rows, unit, word, 2, &prior);
		for (int pos = 0; pos < TF_POSITIONS; pos++)
			unfilled += prior.unfilled[pos];
		if (prior.stored && prior.election_valid && unfilled > 0)
			state = "runoff_owed";
	}
	return json_pack("{sssssIsisisssssi}", "committee", word, "state", state, "sequence",
	                 (json_int_t)row->sequence, "round", (int)row->round, "revision",
	                 (int)row->revision, "reason", row->reason, "detail", row->detail,
	                 "unfilled", (int)unfilled);
}

/* ---- the API ---- */

/* GET /api/units */
static void
s_units(entry_t *self, tf_http_reply_t *reply)
{
	const tf_registry_t *registry = self->config.registry;
	const char *township = self->config.township;
	const tf_area_t *town;
	json_t *units = json_array();
	forwarder_config_t fc;
	s_rows_t rows;

	s_settings(self, &fc);
	if (registry == NULL || township == NULL) {
		json_decref(units);
		s_error(reply, 503, "本代理未配置区划名录（-r）或乡镇：无法列出单位");
		return;
	}
	if (s_rows(self, &rows) != 0) {
		json_decref(units);
		s_error(reply, 503, "无法读取发送队列");
		return;
	}
	for (size_t i = 0; i < tf_registry_size(registry, TF_LEVEL_UNIT); i++) {
		const tf_area_t *u = tf_registry_at(registry, TF_LEVEL_UNIT, i);
		tf_unit_kind_t kind = tf_unit_kind_of(u->code);
		json_t *committees;

		if (strcmp(u->parent, township) != 0)
			continue;
		committees = json_array();
		for (int c = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
		     c <= TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH; c++)
			if (tf_rules_unit_has(kind, (Tallyfeed__Committee)c))
				json_array_append_new(committees,
				                      s_committee_state(self, &fc.rules, &rows, u->code,
				                                        (Tallyfeed__Committee)c));
		json_array_append_new(units, json_pack("{ssssssso}", "code", u->code, "name", u->name,
		                                       "kind", tf_unit_kind_name(kind),
		                                       "committees", committees));
	}
	free(rows.rows);
	town = tf_registry_find(registry, TF_LEVEL_TOWNSHIP, township);
	s_json(reply, 200, json_pack("{ssssssso}", "agent", self->config.agent_id, "township",
	                             township, "township_name", town != NULL ? town->name : "",
	                             "units", units));
}

/* committee word -> enum, or UNSPECIFIED */
static Tallyfeed__Committee
s_committee_of(const char *word)
{
	for (int c = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
	     c <= TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH; c++)
		if (word != NULL && strcmp(word, tf_committee_word((Tallyfeed__Committee)c)) == 0)
			return (Tallyfeed__Committee)c;
	return TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED;
}

/* The revision the next save of (unit, committee, round) gets. */
static unsigned
s_next_revision(const s_rows_t *rows, const char *unit, const char *committee, unsigned round)
{
	const s_row_t *row = s_latest(rows, unit, committee, round);

	return row != NULL ? row->revision + 1 : 1;
}

/* GET /api/result?unit=&committee=&round= */
static void
s_result(entry_t *self, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	const char *unit = tf_http_arg(request, "unit"), *word = tf_http_arg(request, "committee");
	const char *round_text = tf_http_arg(request, "round");
	long round = 0;
	const s_row_t *row;
	tf_report_t *report = NULL;
	json_t *answer, *parsed = NULL;
	char *json;
	s_rows_t rows;

	if (unit == NULL || !tf_code_valid(unit) || s_committee_of(word) == 0 || round_text == NULL
	    || tf_parse_long(round_text, 1, 9, &round) != 0) {
		s_error(reply, 400, "需要 unit（12 位代码）、committee 和 round（1–9）");
		return;
	}
	if (s_rows(self, &rows) != 0) {
		s_error(reply, 503, "无法读取发送队列");
		return;
	}
	row = s_latest(&rows, unit, word, (unsigned)round);
	answer = json_pack("{si}", "next_revision",
	                   (int)s_next_revision(&rows, unit, word, (unsigned)round));
	if (row != NULL && (report = s_report_of(self, row->sequence)) != NULL
	    && (json = tf_report_to_json(report, 0)) != NULL) {
		parsed = json_loads(json, 0, NULL);
		free(json);
	}
	if (row != NULL)
		json_object_update_new(answer, json_pack("{sIsissssssso*}", "sequence",
		                                         (json_int_t)row->sequence, "revision",
		                                         (int)row->revision, "state", s_state_word(row),
		                                         "reason", row->reason, "detail", row->detail,
		                                         "report", parsed));
	else
		json_decref(parsed);
	tf_report_destroy(&report);
	free(rows.rows);
	s_json(reply, 200, answer);
}

/* GET /api/message?seq=N */
static void
s_message(entry_t *self, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	const char *seq = tf_http_arg(request, "seq");
	spool_state_t state;
	char reason[64], detail[TF_DETAIL_MAX];
	s_row_t row;
	long n;

	if (seq == NULL || tf_parse_long(seq, 1, INT64_MAX / 2, &n) != 0) {
		s_error(reply, 400, "需要 seq（消息编号）");
		return;
	}
	if (spool_get(self->spool, n, &state, reason, sizeof reason, detail, sizeof detail) != 0) {
		s_error(reply, 404, "没有这条消息");
		return;
	}
	/* spool_get does not say whether it was sent: the list does. */
	memset(&row, 0, sizeof row);
	row.state = state;
	if (state == SPOOL_PENDING) {
		s_rows_t rows;

		if (s_rows(self, &rows) == 0) {
			for (size_t i = 0; i < rows.count; i++)
				if (rows.rows[i].sequence == n)
					row.attempts = rows.rows[i].attempts;
			free(rows.rows);
		}
	}
	s_json(reply, 200, json_pack("{sIssssss}", "sequence", (json_int_t)n, "state",
	                             s_state_word(&row), "reason", reason, "detail", detail));
}

/* A report from the form's body with the agent's revision, or NULL with
 * the reader's complaint in err ("path: reason"). */
static tf_report_t *
s_form_report(const tf_http_request_t *request, const s_rows_t *rows, char *err,
              size_t errlen)
{
	size_t len;
	const char *body = tf_http_body(request, &len);
	tf_report_t *report = tf_report_from_json(body, len, err, errlen);

	if (report == NULL)
		return NULL;
	report->revision = s_next_revision(rows, report->unit_code,
	                                   tf_committee_word(report->committee), report->round);
	return report;
}

/* The reader's complaint as a finding: "path: reason" names the field. */
static json_t *
s_parse_finding(const char *err)
{
	const char *colon = strstr(err, ": ");
	char field[TF_FIELD_MAX] = "";

	if (colon != NULL && (size_t)(colon - err) < sizeof field)
		snprintf(field, sizeof field, "%.*s", (int)(colon - err), err);
	return json_pack("{sssssissss+}", "field", field, "severity", "error", "reason", 0,
	                 "detail", err, "message", "此项未填或格式不对：",
	                 colon != NULL ? colon + 2 : err);
}

/* Every finding on report, the round's sequence too, and whom the
 * thresholds elect.  NULL on out of memory. */
static json_t *
s_findings(entry_t *self, const forwarder_config_t *fc, const s_rows_t *rows,
           const tf_report_t *report, bool *accepted)
{
	tf_findings_t *all = malloc(sizeof *all);
	bool elected[TF_CANDIDATES_MAX], valid = false;
	json_t *list = json_array(), *elect = json_array();
	tf_prior_round_t prior;
	tf_check_t sequence;

	if (all == NULL || list == NULL || elect == NULL) {
		free(all);
		json_decref(list);
		json_decref(elect);
		return NULL;
	}
	*accepted = tf_rules_findings(&fc->rules, report, fc->registry, fc->township, all) == 0;
	for (size_t i = 0; i < all->count; i++) {
		const tf_finding_t *f = &all->items[i];

		json_array_append_new(list, json_pack("{sssssssiss}", "field", f->field, "severity",
		                                      f->reason != 0 ? "error" : "warning",
		                                      "message", f->message, "reason", f->reason,
		                                      "detail", f->detail));
	}
	/* The collector will ask what is stored of the round before: so does
	 * the desk, of what its spool holds accepted. */
	if (*accepted) {
		s_prior(self, &fc->rules, rows, report->unit_code,
		        tf_committee_word(report->committee), report->round, &prior);
		memset(&sequence, 0, sizeof sequence);
		if (tf_rules_check_sequence(report, &prior, &sequence) != 0) {
			*accepted = false;
			json_array_insert_new(list, 0, json_pack("{sssssssiss}", "field", "round",
			                                         "severity", "error", "message",
			                                         report->round == 2
			                                         ? "另行选举须在第 1 轮被县里接收、且留有未选满的名额之后"
			                                         : "须先报前一轮并被县里接收",
			                                         "reason", sequence.reason, "detail",
			                                         sequence.detail));
		}
	}
	if (report->n_candidates <= TF_CANDIDATES_MAX) {
		tf_rules_decide(&fc->rules, report, elected, &valid);
		for (size_t i = 0; i < report->n_candidates; i++)
			json_array_append_new(elect, json_boolean(elected[i]));
	}
	free(all);
	return json_pack("{sbsisososb}", "accepted", *accepted, "revision", (int)report->revision,
	                 "findings", list, "elect", elect, "election_valid", valid);
}

/* POST /api/check */
static void
s_check(entry_t *self, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	char err[512];
	forwarder_config_t fc;
	tf_report_t *report;
	json_t *answer;
	bool accepted;
	s_rows_t rows;

	s_settings(self, &fc);
	if (s_rows(self, &rows) != 0) {
		s_error(reply, 503, "无法读取发送队列");
		return;
	}
	report = s_form_report(request, &rows, err, sizeof err);
	if (report == NULL)
		answer = json_pack("{sbs[o]s[]}", "accepted", false, "findings", s_parse_finding(err),
		                   "elect");
	else
		answer = s_findings(self, &fc, &rows, report, &accepted);
	tf_report_destroy(&report);
	free(rows.rows);
	s_json(reply, 200, answer);
}

/* POST /api/save */
static void
s_save(entry_t *self, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	char err[1024];
	tf_report_t *report;
	json_t *answer;
	char *json = NULL;
	int64_t sequence = 0;
	bool existed = false, accepted = false;
	int reason = 0;
	forwarder_config_t fc;
	s_rows_t rows;

	s_settings(self, &fc);
	if (s_rows(self, &rows) != 0) {
		s_error(reply, 503, "无法读取发送队列");
		return;
	}
	report = s_form_report(request, &rows, err, sizeof err);
	if (report == NULL) {
		s_json(reply, 422, json_pack("{sbs[o]s[]}", "accepted", false, "findings",
		                             s_parse_finding(err), "elect"));
		goto out;
	}
	/* What the form shows is what is refused: the same list as a check. */
	answer = s_findings(self, &fc, &rows, report, &accepted);
	if (!accepted || answer == NULL) {
		s_json(reply, answer != NULL ? 422 : 500, answer);
		goto out;
	}
	json_decref(answer);
	if ((json = tf_report_to_json(report, 0)) == NULL) {
		s_error(reply, 500, "out of memory");
		goto out;
	}
	if (tf_inbox_queue_text(self->spool, &fc, ENTRY_SOURCE, json, strlen(json),
	                        &sequence, &existed, &reason, err, sizeof err) != 0) {
		log_warnx("entry: a result for %s not queued: %s", report->unit_code, err);
		s_json(reply, reason != 0 ? 422 : 503,
		       json_pack("{ssss}", "error", reason != 0 ? "未通过检查" : "无法写入发送队列",
		                 "detail", err));
		goto out;
	}
	log_info("entry: %s %s round %u revision %u queued as message %lld", report->unit_code,
	         tf_committee_word(report->committee), report->round, report->revision,
	         (long long)sequence);
	s_json(reply, 200, json_pack("{sIsisbss}", "sequence", (json_int_t)sequence, "revision",
	                             (int)report->revision, "existed", existed, "state", "queued"));
out:
	free(json);
	tf_report_destroy(&report);
	free(rows.rows);
}

/* POST /api/login */
static void
s_login(entry_t *self, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	size_t len;
	const char *body = tf_http_body(request, &len);
	char session[LOGIN_TOKEN_HEX], csrf[LOGIN_TOKEN_HEX];
	json_t *obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *password = json_string_value(json_object_get(obj, "password"));

	switch (password == NULL ? LOGIN_WRONG
	        : login_attempt(self->login, tf_http_peer(request), password, zclock_mono(),
	                        session, csrf)) {
	case LOGIN_OK:
		snprintf(reply->cookie, sizeof reply->cookie,
		         ENTRY_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d", session,
		         LOGIN_LIFE_S);
		s_json(reply, 200, json_pack("{sssb}", "csrf", csrf, "sheet", self->check_url != NULL));
		log_info("entry: login from %s", tf_http_peer(request));
		break;
	case LOGIN_WRONG:
		s_error(reply, 401, "密码不对");
		log_warnx("entry: a wrong password from %s", tf_http_peer(request));
		break;
	case LOGIN_LIMITED:
		s_error(reply, 429, "尝试次数过多，请稍后再试");
		break;
	case LOGIN_UNSET:
		s_error(reply, 503, "尚未设置密码：请在本机运行 tallyfeed-agent password");
		break;
	}
	sodium_memzero(session, sizeof session);
	json_decref(obj);
}

/* Is a POST from the desk's own page?  A browser names the page's origin;
 * another site's page is not this one (with SameSite=Strict and JSON
 * only, a second wall behind the CSRF token). */
static bool
s_same_origin(const tf_http_request_t *request)
{
	const char *origin = tf_http_header(request, "Origin");
	const char *host = tf_http_header(request, "Host");

	if (origin == NULL)
		return true;    /* not a browser's cross-site request: curl, a script */
	return host != NULL && strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

/* GET /sheet?seq=N: the posting sheet of an accepted message (sheet.h),
 * for the browser's print.  It shows candidates' names: logged in only. */
static void
s_sheet(entry_t *self, const tf_http_request_t *request, const char *session,
        tf_http_reply_t *reply)
{
	const char *seq = tf_http_arg(request, "seq");
	char why[1024];
	long sequence;
	size_t len;
	int status;
	char *html;

	if (session == NULL || !login_check(self->login, session, NULL, zclock_mono(), NULL)) {
		tf_http_reply_text(reply, 401, "text/plain; charset=utf-8", "请先登录\n");
		return;
	}
	if (self->check_url == NULL) {
		tf_http_reply_text(reply, 404, "text/plain; charset=utf-8",
		                   "未配置省里的核对页面地址（agent/check_url），不能打印公示单\n");
		return;
	}
	if (seq == NULL || tf_parse_long(seq, 1, INT64_MAX, &sequence) != 0) {
		tf_http_reply_text(reply, 400, "text/plain; charset=utf-8", "seq 不是消息编号\n");
		return;
	}
	pthread_mutex_lock(&self->lock);
	html = sheet_render(self->spool, sequence, self->check_url, self->config.registry, &len,
	                    &status, why, sizeof why);
	pthread_mutex_unlock(&self->lock);
	if (html == NULL) {
		log_warnx("entry desk: sheet of message %ld: %s", sequence, why);
		tf_http_reply_text(reply, status == 1 ? 404 : 500, "text/plain; charset=utf-8",
		                   status == 1 ? "这条消息还没有被县里接收并签收，没有公示单\n"
		                               : "公示单生成失败（详见日志）\n");
		return;
	}
	reply->status = 200;
	reply->content_type = "text/html; charset=utf-8";
	reply->body = html;
	reply->length = len;
	reply->content_policy = sheet_content_policy();
}

static void
s_handle(void *arg, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	entry_t *self = arg;
	const char *path = tf_http_path(request), *method = tf_http_method(request);
	const char *session = tf_http_cookie(request, ENTRY_COOKIE);
	const char *csrf_header = tf_http_header(request, "X-CSRF-Token");
	bool post = strcmp(method, "POST") == 0;
	char csrf[LOGIN_TOKEN_HEX];
	int64_t now = zclock_mono();

	if (strcmp(path, "/sheet") == 0 && !post) {
		s_sheet(self, request, session, reply);
		return;
	}
	if (strncmp(path, "/api/", 5) != 0) {
		const char *want = strcmp(path, "/") == 0 ? "/index.html" : path;

		for (const embedded_file_t *f = entry_assets; f->path != NULL && !post; f++)
			if (strcmp(f->path, want) == 0) {
				tf_http_reply_static(reply, 200, f->content_type, f->data, f->length);
				return;
			}
		tf_http_reply_text(reply, post ? 405 : 404, "text/plain; charset=utf-8",
		                   post ? "POST only to /api/\n" : "not found\n");
		return;
	}
	if (post && !s_same_origin(request)) {
		s_error(reply, 403, "来自其他网站的请求被拒绝");
		return;
	}
	if (strcmp(path, "/api/login") == 0 && post) {
		s_login(self, request, reply);
		return;
	}
	if (strcmp(path, "/api/session") == 0 && !post) {
		bool in = session != NULL && login_check(self->login, session, NULL, now, csrf);

		/* sheet: posting sheets can be printed (agent/check_url is set). */
		s_json(reply, 200, in ? json_pack("{sbsssb}", "logged_in", true, "csrf", csrf, "sheet",
		                                  self->check_url != NULL)
		                      : json_pack("{sb}", "logged_in", false));
		return;
	}
	if (session == NULL || !login_check(self->login, session, NULL, now, NULL)) {
		s_error(reply, 401, "请先登录");
		return;
	}
	/* A write without the header is refused as one with a wrong token. */
	if (post && !login_check(self->login, session, csrf_header != NULL ? csrf_header : "", now,
	                         NULL)) {
		s_error(reply, 403, "缺少或不符的 CSRF 令牌：请重新载入页面");
		return;
	}
	if (strcmp(path, "/api/logout") == 0 && post) {
		login_logout(self->login, session, now);
		snprintf(reply->cookie, sizeof reply->cookie,
		         ENTRY_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
		s_json(reply, 200, json_pack("{sb}", "logged_in", false));
		return;
	}
	pthread_mutex_lock(&self->lock);
	if (strcmp(path, "/api/units") == 0 && !post)
		s_units(self, reply);
	else if (strcmp(path, "/api/result") == 0 && !post)
		s_result(self, request, reply);
	else if (strcmp(path, "/api/message") == 0 && !post)
		s_message(self, request, reply);
	else if (strcmp(path, "/api/check") == 0 && post)
		s_check(self, request, reply);
	else if (strcmp(path, "/api/save") == 0 && post)
		s_save(self, request, reply);
	else
		s_error(reply, 404, "没有这个接口");
	pthread_mutex_unlock(&self->lock);
}

entry_t *
entry_new(const entry_config_t *config, char *err, size_t errlen)
{
	entry_t *self;

	assert(config != NULL && config->listen != NULL && config->spool_dir != NULL
	       && config->password_path != NULL && config->config != NULL);
	if ((self = calloc(1, sizeof *self)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&self->lock, NULL);
	pthread_mutex_init(&self->rules_lock, NULL);
	self->config = *config->config;
	if (config->check_url != NULL && (self->check_url = strdup(config->check_url)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	self->config.inbox = NULL;
	self->config.reload = NULL;
	if ((self->login = login_new(config->password_path, err, errlen)) == NULL
	    || (self->spool = spool_open(config->spool_dir, err, errlen)) == NULL)
		goto fail;
	/* Last: the first request may come as soon as it listens. */
	self->http = tf_http_start(config->listen,
	                           &(tf_http_options_t){ .hosts = (const char *const[]){ NULL },
	                                                 .body_max = ENTRY_BODY_MAX,
	                                                 .body_type = "application/json" },
	                           s_handle, self, err, errlen);
	if (self->http == NULL)
		goto fail;
	return self;
fail:
	entry_destroy(&self);
	return NULL;
}

void
entry_destroy(entry_t **self_p)
{
	entry_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	/* The server first: no handler runs after this. */
	tf_http_destroy(&self->http);
	spool_close(&self->spool);
	login_destroy(&self->login);
	pthread_mutex_destroy(&self->lock);
	pthread_mutex_destroy(&self->rules_lock);
	free(self->check_url);
	free(self);
	*self_p = NULL;
}

void
entry_set_rules(entry_t *self, const tf_rules_config_t *rules)
{
	assert(self != NULL && rules != NULL);
	pthread_mutex_lock(&self->rules_lock);
	self->config.rules = *rules;
	pthread_mutex_unlock(&self->rules_lock);
}

unsigned
entry_port(const entry_t *self)
{
	assert(self != NULL);
	return tf_http_port(self->http);
}
