/*
 * ingest: receive, judge, hand to the writer, and acknowledge what it
 * committed (see ingest.h).
 */
#include "ingest.h"
#include "batch.h"
#include "service.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "receipt.h"
#include "writer.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 200             /* the loop's longest wait: it turns at least this often */
#define TAKE_MAX 1000           /* messages read per turn, before the loop looks round */
#define STOP_WAIT_MS 10000      /* on SIGTERM, how long the batch in hand may take to commit */
#define STOP_GIVE_UP_MS 5000    /* and then, cancelled, to come back */
#define SLOW_BATCH_US 1000000   /* a batch written slower than this is logged */
/* The worst one message can add to a batch: a frame as large as ZeroMQ
 * lets through (collector/main.c), its routing id (a ROUTER's are 5
 * bytes, charged as tf_budget_cost(5) = 32; 256 leaves room) and its
 * decode. */
#define MESSAGE_MEMORY_MAX (tf_budget_cost(4 * TF_MESSAGE_MAX) + 256 + TF_DECODE_MAX)

#define REFUSAL_LOG_EVERY_MS 60000      /* one log line per refused key per minute */
#define CONNECTED_WINDOW_MS 90000       /* "connected": heard from within this (3 heartbeats) */
#define VERDICTS 5                      /* Tallyfeed__Verdict values, 0..4 */
#define REASONS_MAX 64                  /* Tallyfeed__Reason values counted */

/* Token buckets per connection key: messages, bytes, and bytes of
 * quarantine kept whole. */
typedef struct ingest_bucket {
	double tokens;
	int64_t last_ms;
	int64_t logged_ms;      /* when we last logged a refusal or a deferral */
	int64_t seen_ms;        /* when we last heard from it, enrolled */
	uint64_t deferred;      /* messages deferred since then */
	double byte_tokens;
	int64_t byte_last_ms;
	double quarantine_tokens;
	int64_t quarantine_last_ms;
	int64_t quarantine_logged_ms;   /* when we last logged its quarantine cut short */
	uint64_t cut;           /* messages kept short since then */
} bucket_t;

/* Where the next message can go. */
typedef enum {
	ROOM_NONE,              /* nowhere: leave it in the socket (the writer is busy, not stalled) */
	ROOM_BATCH,             /* the batch being filled */
	ROOM_DEFER              /* an answer at once, DEFERRED: the writer is stalled */
} room_t;

struct _ingest_t {
	zsock_t *router;
	writer_t *writer;       /* owns the store */
	const tf_registry_t *registry;
	const tf_identity_t *signer;    /* signs every Ack's receipt */
	const tf_enrolment_t *enrolment;
	zactor_t *monitor;      /* the ROUTER's failed handshakes, or NULL */
	zhashx_t *buckets;      /* CURVE key -> bucket_t */
	zhashx_t *inflight;     /* message id (hex) -> batch_item_t, not yet answered */
	ingest_config_t config;
	batch_t *fill;          /* being filled */
	batch_t *spare;         /* the other batch, while not with the writer */
	batch_t *one;           /* one message as it is read and judged */
	int64_t stall_said;     /* the stall of the batch in hand is in the log */
	uint64_t stall_deferred;        /* messages deferred during it */
	int with_writer;        /* messages in the batch with the writer */
	int64_t submitted_ms;   /* when that batch went to the writer */
	bool stopping;          /* writer_stop was called */
	bool stuck;             /* left with a write that did not come back */
	feed_t *feed;           /* the live feed, or NULL */
	tf_metrics_t *metrics;  /* or NULL */
	struct {                /* NULL until ingest_set_outputs */
		tf_metric_t *received, *heartbeats, *ignored, *published;
		tf_metric_t *verdict[VERDICTS];
		tf_metric_t *rejected[REASONS_MAX];
		tf_metric_t *batch_size, *commit_seconds;
		tf_metric_t *database_up, *queue_depth, *agents_connected, *subscriptions;
		tf_metric_t *quarantine_cut, *quarantine_kept;
		tf_metric_t *stalled_seconds, *absorbed, *store_refused;
	} m;
	int64_t counted_ms;     /* when agents_connected was last counted */
};

/* Count the agents heard from within CONNECTED_WINDOW_MS. */
static void
s_count_connected(ingest_t *self, int64_t now)
{
	size_t connected = 0;

	self->counted_ms = now;
	if (self->m.agents_connected == NULL)
		return;
	for (bucket_t *b = zhashx_first(self->buckets); b != NULL; b = zhashx_next(self->buckets))
		if (b->seen_ms != 0 && now - b->seen_ms < CONNECTED_WINDOW_MS)
			connected++;
	tf_metric_set(self->m.agents_connected, (double)connected);
}

/* A message from b's agent.  One not counted as connected is counted now,
 * before its answer goes: a scrape after the answer sees it. */
static void
s_heard(ingest_t *self, bucket_t *b)
{
	int64_t now = zclock_mono();
	bool counted = b->seen_ms != 0 && now - b->seen_ms < CONNECTED_WINDOW_MS;

	b->seen_ms = now;
	if (!counted)
		s_count_connected(self, now);
}


static void
s_bucket_destroy(void **item)
{
	free(*item);
	*item = NULL;
}

static void
s_batches_destroy(ingest_t *self)
{
	batch_destroy(&self->fill);
	batch_destroy(&self->spare);
	batch_destroy(&self->one);
}

/* The three batches for batch_max; -1 if out of memory (none made). */
static int
s_batches_new(ingest_t *self, int batch_max)
{
	batch_t *fill = batch_new(batch_max), *spare = batch_new(batch_max), *one = batch_new(1);

	if (fill == NULL || spare == NULL || one == NULL) {
		batch_destroy(&fill);
		batch_destroy(&spare);
		batch_destroy(&one);
		return -1;
	}
	s_batches_destroy(self);
	self->fill = fill;
	self->spare = spare;
	self->one = one;
	return 0;
}

ingest_t *
ingest_new(zsock_t *router, store_t **store_p, const tf_registry_t *registry,
           const tf_identity_t *signer, const ingest_config_t *config)
{
	ingest_t *self;

	assert(router != NULL && store_p != NULL && *store_p != NULL && registry != NULL
	       && signer != NULL && config != NULL);
	assert(config->batch_max > 0);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->buckets = zhashx_new();
	self->inflight = zhashx_new();
	if (self->buckets == NULL || self->inflight == NULL
	    || s_batches_new(self, config->batch_max) != 0
	    || (self->writer = writer_new(store_p)) == NULL) {
		zhashx_destroy(&self->buckets);
		zhashx_destroy(&self->inflight);
		s_batches_destroy(self);
		free(self);
		return NULL;
	}
	zhashx_set_destructor(self->buckets, s_bucket_destroy);
	self->router = router;
	self->registry = registry;
	self->signer = signer;
	self->config = *config;
	return self;
}

void
ingest_destroy(ingest_t **self_p)
{
	ingest_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	assert(!self->stuck);
	writer_destroy(&self->writer);
	s_batches_destroy(self);
	zhashx_destroy(&self->buckets);
	zhashx_destroy(&self->inflight);
	free(self);
	*self_p = NULL;
}

bool
ingest_drained(const ingest_t *self)
{
	return !self->stuck;
}

void
ingest_set_config(ingest_t *self, const ingest_config_t *config)
{
	assert(config->batch_max > 0);
	self->config = *config;
}

void
ingest_set_enrolment(ingest_t *self, const tf_enrolment_t *enrolment)
{
	assert(self != NULL && enrolment != NULL);
	self->enrolment = enrolment;
}

/* An empty batch not of batch_max messages (batch_max changed on a reload)
 * is made again to it; out of memory, it keeps its size until next time. */
static void
s_fit(ingest_t *self, batch_t **b)
{
	batch_t *fresh;

	if (*b == NULL || (*b)->count != 0 || (*b)->max == self->config.batch_max)
		return;
	if ((fresh = batch_new(self->config.batch_max)) == NULL) {
		log_warnx("out of memory for a batch of %d; keeping batches of %d",
		          self->config.batch_max, (*b)->max);
		return;
	}
	batch_destroy(b);
	*b = fresh;
}

static bucket_t *
s_bucket(ingest_t *self, const char *key)
{
	bucket_t *b = zhashx_lookup(self->buckets, key);

	if (b == NULL) {
		b = calloc(1, sizeof *b);
		if (b == NULL)
			return NULL;
		b->tokens = self->config.rate_burst;
		b->last_ms = zclock_mono();
		b->byte_tokens = self->config.byte_burst;
		b->byte_last_ms = b->last_ms;
		b->quarantine_tokens = self->config.quarantine_per_hour;
		b->quarantine_last_ms = b->last_ms;
		zhashx_insert(self->buckets, key, b);
	}
	return b;
}

/* Take a token from this agent's bucket b (NULL if out of memory: no
 * limit); false if it has none left. */
static bool
s_rate_allows(ingest_t *self, const tf_peer_t *peer, bucket_t *b)
{
	int64_t now = zclock_mono();

	if (self->config.rate_per_s <= 0 || peer->role != TF_ROLE_AGENT)
		return true;    /* importers carry a whole township's bundle at once */
	if (b == NULL)
		return true;
	b->tokens += (double)(now - b->last_ms) * self->config.rate_per_s / 1000.0;
	if (b->tokens > self->config.rate_burst)
		b->tokens = self->config.rate_burst;
	b->last_ms = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	b->deferred++;
	if (now - b->logged_ms >= REFUSAL_LOG_EVERY_MS) {
		log_warnx("agent %s is over its rate limit (%.0f/s, burst %.0f): %llu message(s) "
		          "deferred", peer->name, self->config.rate_per_s, self->config.rate_burst,
		          (unsigned long long)b->deferred);
		b->logged_ms = now;
		b->deferred = 0;
	}
	return false;
}

/* Take bytes from the sender's byte bucket b (NULL: no limit); false if
 * it has not that many.  Agents and importers alike: a bundle goes in at
 * the pace of the link it would have had.  A frame larger than the burst
 * goes once the bucket is full. */
static bool
s_byte_rate_allows(ingest_t *self, const tf_peer_t *peer, bucket_t *b, size_t bytes)
{
	int64_t now = zclock_mono();
	double need = (double)bytes;

	if (self->config.byte_rate_per_s <= 0 || b == NULL)
		return true;
	b->byte_tokens += (double)(now - b->byte_last_ms) * self->config.byte_rate_per_s / 1000.0;
	if (b->byte_tokens > self->config.byte_burst)
		b->byte_tokens = self->config.byte_burst;
	b->byte_last_ms = now;
	if (need > self->config.byte_burst)
		need = self->config.byte_burst;
	if (b->byte_tokens >= need) {
		b->byte_tokens -= need;
		return true;
	}
	b->deferred++;
	if (now - b->logged_ms >= REFUSAL_LOG_EVERY_MS) {
		log_warnx("%s %s is over its byte rate limit (%.0f bytes/s, burst %.0f): %llu "
		          "message(s) deferred", peer->role == TF_ROLE_AGENT ? "agent" : "importer",
		          peer->name, self->config.byte_rate_per_s, self->config.byte_burst,
		          (unsigned long long)b->deferred);
		b->logged_ms = now;
		b->deferred = 0;
	}
	return false;
}

/* How much of a refused frame of len bytes to keep: all of it while its
 * sender's quarantine budget lasts, else its first bytes. */
static size_t
s_quarantine_keep(ingest_t *self, batch_item_t *item, size_t len)
{
	bucket_t *b = item->bucket;
	int64_t now = zclock_mono();

	if (self->config.quarantine_per_hour <= 0 || b == NULL)
		return len;
	b->quarantine_tokens += (double)(now - b->quarantine_last_ms)
	                        * self->config.quarantine_per_hour / 3600000.0;
	if (b->quarantine_tokens > self->config.quarantine_per_hour)
		b->quarantine_tokens = self->config.quarantine_per_hour;
	b->quarantine_last_ms = now;
	/* A frame no longer than what a short row keeps costs nothing. */
	if (b->quarantine_tokens >= (double)len || len <= INGEST_QUARANTINE_HEAD)
		return len;
	item->cut = true;
	return INGEST_QUARANTINE_HEAD;
}

/* What of the item to keep if it is quarantined.  One refused already
 * takes its bytes from its sender's budget now (so that a batch of them
 * cannot overdraw it), given back if no row is written; a result refused
 * by the store pays once it is written. */
static void
s_decide_keep(ingest_t *self, batch_item_t *item)
{
	size_t len = zframe_size(item->raw);

	item->keep = s_quarantine_keep(self, item, len);
	if (item->action == BATCH_QUARANTINE && item->keep == len && len > INGEST_QUARANTINE_HEAD
	    && item->bucket != NULL && self->config.quarantine_per_hour > 0) {
		item->bucket->quarantine_tokens -= (double)len;
		item->charged = true;
	}
}

/* A row kept short: counted, and logged once a minute per sender. */
static void
s_tell_cut(ingest_t *self, const batch_item_t *item)
{
	bucket_t *b = item->bucket;
	int64_t now = zclock_mono();

	if (self->m.quarantine_cut != NULL)
		tf_metric_add(self->m.quarantine_cut, 1);
	b->cut++;
	if (b->quarantine_logged_ms == 0 || now - b->quarantine_logged_ms >= REFUSAL_LOG_EVERY_MS) {
		log_warnx("%s is over its quarantine budget (%.0f bytes an hour): %llu refused "
		          "message(s) kept as their SHA-256, size, reason and first %d bytes",
		          item->enrolled ? item->sender.name : "?",
		          self->config.quarantine_per_hour, (unsigned long long)b->cut,
		          INGEST_QUARANTINE_HEAD);
		b->quarantine_logged_ms = now;
		b->cut = 0;
	}
}

/* After its transaction: the quarantine budget settled for what was
 * written (or not). */
static void
s_settle_quarantine(ingest_t *self, batch_item_t *item)
{
	size_t len = zframe_size(item->raw);
	bool written = item->stored && item->written;

	if (item->charged && !written)
		item->bucket->quarantine_tokens += (double)len;         /* a copy: kept once */
	else if (!item->charged && written && item->keep == len && len > INGEST_QUARANTINE_HEAD
	         && item->bucket != NULL && self->config.quarantine_per_hour > 0)
		item->bucket->quarantine_tokens -= (double)len;
	if (written && item->cut && item->bucket != NULL)
		s_tell_cut(self, item);
	if (written && self->m.quarantine_kept != NULL)
		tf_metric_add(self->m.quarantine_kept, (double)item->keep);
}

/* Log a refused connection key, at most once a minute per key. */
static void
s_log_refusal(ingest_t *self, const char *key, const char *address)
{
	bucket_t *b = s_bucket(self, key);
	int64_t now = zclock_mono();

	if (b != NULL && b->logged_ms != 0 && now - b->logged_ms < REFUSAL_LOG_EVERY_MS)
		return;
	if (b != NULL)
		b->logged_ms = now;
	log_warnx("refused a message from %s: its CURVE key %s is not enrolled (revoked?); "
	          "nothing stored", address ? address : "?", key);
}

static void
s_quarantine(batch_item_t *item, int reason, const char *detail)
{
	item->action = BATCH_QUARANTINE;
	item->verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
	item->check.reason = reason;
	if (detail != item->check.detail)
		snprintf(item->check.detail, sizeof item->check.detail, "%s", detail);
}

static bool
s_heartbeat_sound(const Tallyfeed__Heartbeat *hb)
{
	size_t len = strlen(hb->software_version);

	if (len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (hb->software_version[i] < 0x20 || hb->software_version[i] > 0x7e)
			return false;
	return true;
}

/* Decode the envelope, within the message's budget; false (and the item
 * quarantined) if it does not. */
static bool
s_decode(batch_t *b, batch_item_t *item)
{
	tf_envelope_t *env;

	env = tf_envelope_decode_within(zframe_data(item->raw), zframe_size(item->raw),
	                                b->message_budget, &item->check, &item->envelope);
	if (env == NULL) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return false;
	}
	item->envelope = env;
	return true;
}

/* Validate a decoded envelope: decide what the item is, before any
 * database work. */
static void
s_judge(ingest_t *self, batch_t *b, batch_item_t *item)
{
	const tf_envelope_t *env = item->envelope;
	/* Who may speak: an agent only as itself; an importer for any
	 * enrolled agent, whose signature the payload must then carry. */
	if (item->sender.role == TF_ROLE_AGENT) {
		if (strcmp(env->agent_id, item->sender.name) != 0) {
			item->action = BATCH_REFUSE;
			item->verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
			item->check.reason = TALLYFEED__REASON__REASON_AGENT_MISMATCH;
			snprintf(item->check.detail, sizeof item->check.detail,
			         "the connection's certificate is agent %s's, not %.64s's",
			         item->sender.name, env->agent_id);
			return;
		}
		item->author = item->sender;
	} else {
		const tf_peer_t *author = tf_enrolment_by_name(self->enrolment, env->agent_id);

		if (author == NULL || author->role != TF_ROLE_AGENT) {
			s_quarantine(item, TALLYFEED__REASON__REASON_UNKNOWN_AGENT,
			             "no enrolled agent has this agent id");
			return;
		}
		item->author = *author;
	}
	if (tf_envelope_verify(env, item->author.sign_public, self->config.accept_protocol_1,
	                       &item->check) != 0) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	if (env->payload_type == TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT) {
		item->heartbeat = tf_envelope_heartbeat(env, b->message_budget, &item->check);
		if (item->heartbeat == NULL)
			s_quarantine(item, item->check.reason, item->check.detail);
		else if (!s_heartbeat_sound(item->heartbeat))
			s_quarantine(item, TALLYFEED__REASON__REASON_MALFORMED_PAYLOAD,
			             "payload is not a sound Heartbeat");
		else {
			item->action = BATCH_HEARTBEAT;
			item->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
		}
		return;
	}
	item->report = tf_envelope_report(env, b->message_budget, &item->check);
	if (item->report == NULL) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	/* The agent's certificate names the only township it speaks for. */
	if (tf_rules_check(&self->config.rules, item->report, self->registry,
	                   item->author.township, &item->check) != 0) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	item->action = BATCH_RESULT;
	item->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
}

static void
s_log_item(const batch_item_t *item)
{
	char id[2 * TF_MESSAGE_ID_LEN + 1] = "-";
	const char *agent = "-";

	if (item->envelope != NULL) {
		tf_message_id_hex(item->envelope->message_id.data, item->envelope->message_id.len, id);
		agent = item->envelope->agent_id;
	}
	if (item->action == BATCH_REFUSE)
		log_warnx("refused message %s from agent %s: %s: %s; nothing stored", id,
		          item->sender.name, tf_reason_name(item->check.reason), item->check.detail);
	else if (item->action == BATCH_DEFER)
		log_debug("deferred message %s from agent %s: rate limit", id, item->sender.name);
	else if (item->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED)
		log_info("deferred message %s from agent %.64s: %s: %s", id, agent,
		         tf_reason_name(item->check.reason), item->check.detail);
	else if (item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED && item->cut)
		/* Its sender's once-a-minute line says it in bulk. */
		log_debug("rejected message %s from agent %.64s: %s: %s (kept short)", id, agent,
		          tf_reason_name(item->check.reason), item->check.detail);
	else if (item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED)
		log_info("rejected message %s from agent %.64s: %s: %s", id, agent,
		         tf_reason_name(item->check.reason), item->check.detail);
	else if (item->report != NULL)
		log_debug("%s message %s from agent %.64s: unit %s %s round %u revision %u",
		          tf_verdict_name(item->verdict), id, agent, item->report->unit_code,
		          tf_committee_word(item->report->committee), item->report->round,
		          item->report->revision);
}

/* The receipt for an answer: what was received, the verdict, and the row
 * that holds the message (receipt.h); signed.  -1 if it cannot be. */
static int
s_receipt(const ingest_t *self, const batch_item_t *item, int reason, tf_receipt_fields_t *r)
{
	const tf_envelope_t *env = item->envelope;

	memset(r, 0, sizeof *r);
	snprintf(r->collector, sizeof r->collector, "%s", tf_identity_peer(self->signer)->name);
	if (env != NULL && env->message_id.len == TF_MESSAGE_ID_LEN) {
		memcpy(r->message_id, env->message_id.data, TF_MESSAGE_ID_LEN);
		r->message_id_len = TF_MESSAGE_ID_LEN;
		r->sequence = env->sequence;
	}
	crypto_hash_sha256(r->envelope_sha256, zframe_data(item->raw), zframe_size(item->raw));
	r->verdict = item->verdict;
	r->reason = reason;
	r->at_ms = tf_now_ms();
	/* A row only for an answer that says something is kept: a DEFERRED
	 * message has none, whatever a failed attempt left. */
	if (item->row.link > 0 && item->verdict != TALLYFEED__VERDICT__VERDICT_DEFERRED) {
		snprintf(r->chain, sizeof r->chain, "%s", item->row.chain);
		r->link = item->row.link;
		memcpy(r->row_hash, item->row.row_hash, TF_HASH_LEN);
		r->at_ms = item->row.received_ms;
	}
	return tf_receipt_sign(r, self->signer);
}

static void
s_acknowledge(ingest_t *self, batch_item_t *item)
{
	const tf_envelope_t *env = item->envelope;
	int reason = item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED
	             || item->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED ? item->check.reason : 0;
	tf_receipt_fields_t receipt;
	tf_receipt_t wire;
	zframe_t *ack;

	if (s_receipt(self, item, reason, &receipt) != 0) {
		log_warnx("could not sign a receipt (a name over its bound); not answered");
		return;
	}
	tf_receipt_wire(&receipt, &wire);
	ack = tf_ack_build(env != NULL ? env->message_id.data : NULL,
	                   env != NULL ? env->message_id.len : 0,
	                   env != NULL ? env->sequence : 0, item->verdict, reason,
	                   item->check.detail, &wire);
	if (ack == NULL) {
		log_warnx("out of memory building an ack");
		return;
	}
	/* If the agent has gone, the ack is dropped; it will send again and
	 * hear DUPLICATE. */
	zframe_send(&item->reply, self->router, ZFRAME_MORE);
	zframe_send(&ack, self->router, 0);
}

/* Count an answered message, and put it on the live feed (results and
 * refusals; heartbeats are in agent_status and `tallyfeed status`). */
static void
s_tell(ingest_t *self, const batch_item_t *item)
{
	const tf_envelope_t *env = item->envelope;
	bool refused = item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED
	               || item->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED;
	feed_item_t fi;

	if (item->action == BATCH_HEARTBEAT) {
		if (self->m.heartbeats != NULL && item->verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED)
			tf_metric_add(self->m.heartbeats, 1);
		return;
	}
	if (self->m.received != NULL) {
		if ((unsigned)item->verdict < VERDICTS)
			tf_metric_add(self->m.verdict[item->verdict], 1);
		if (item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED
		    && item->check.reason > 0 && item->check.reason < REASONS_MAX
		    && self->m.rejected[item->check.reason] != NULL)
			tf_metric_add(self->m.rejected[item->check.reason], 1);
	}
	if (self->feed == NULL)
		return;
	fi = (feed_item_t){
		.verdict = item->verdict,
		.reason = refused ? item->check.reason : 0,
		.detail = refused ? item->check.detail : NULL,
		.agent = env != NULL && env->agent_id != NULL ? env->agent_id
		         : item->enrolled ? item->sender.name : NULL,
		.township = item->enrolled && item->sender.township[0] != '\0'
		            ? item->sender.township : NULL,
		.report = item->report,
		.message_id = env != NULL ? env->message_id.data : NULL,
		.message_id_len = env != NULL ? env->message_id.len : 0,
	};
	feed_publish(self->feed, &fi);
	if (self->m.published != NULL)
		tf_metric_add(self->m.published, 1);
}

/* Defer the item: answered at once, nothing stored. */
static void
s_defer(ingest_t *self, batch_item_t *item, int reason, const char *detail);

/* The id a message is known by while it is not yet answered. */
static bool
s_inflight_key(const batch_item_t *item, char key[2 * TF_MESSAGE_ID_LEN + 1])
{
	const tf_envelope_t *env = item->envelope;

	if (env == NULL || env->message_id.len != TF_MESSAGE_ID_LEN)
		return false;
	tf_message_id_hex(env->message_id.data, env->message_id.len, key);
	return true;
}

/* A resend of a message not yet answered, byte for byte: its answer goes
 * where this copy came from (the agent may have a new connection), and the
 * copy is dropped.  True if absorbed so. */
static bool
s_absorb(ingest_t *self, batch_item_t *item)
{
	char key[2 * TF_MESSAGE_ID_LEN + 1];
	batch_item_t *first;

	if (!s_inflight_key(item, key) || (first = zhashx_lookup(self->inflight, key)) == NULL)
		return false;
	/* From the same sender only: an importer relaying the agent's bytes
	 * must not take the agent's answer. */
	if (strcmp(first->sender.curve_public, item->sender.curve_public) != 0)
		return false;
	if (zframe_size(first->raw) != zframe_size(item->raw)
	    || memcmp(zframe_data(first->raw), zframe_data(item->raw), zframe_size(item->raw)) != 0)
		return false;
	zframe_destroy(&first->reply);
	first->reply = item->reply;
	item->reply = NULL;
	if (self->m.absorbed != NULL)
		tf_metric_add(self->m.absorbed, 1);
	return true;
}

/* Move the judged message from self->one into the batch being filled. */
static void
s_enqueue(ingest_t *self, batch_item_t *item)
{
	batch_t *b = self->fill;
	char key[2 * TF_MESSAGE_ID_LEN + 1];
	batch_item_t *slot = &b->items[b->count++];

	assert(b->count <= b->max);
	*slot = *item;
	memset(item, 0, sizeof *item);
	/* The room for it was there before it was read (s_room). */
	tf_budget_charge(b->budget, tf_budget_used(self->one->budget));
	if (s_inflight_key(slot, key) && zhashx_lookup(self->inflight, key) == NULL)
		zhashx_insert(self->inflight, key, slot);
}

/* Read one message, judge it, and put it where it goes: into the batch
 * being filled, or (room == ROOM_DEFER, or over its sender's rate) answered
 * DEFERRED at once, or answered at once when nothing of it is to be stored.
 * False if none was waiting. */
static bool
s_receive(ingest_t *self, room_t room)
{
	batch_t *one = self->one;
	batch_item_t *item = &one->items[0];
	zmsg_t *msg = zmsg_recv_nowait(self->router);

	if (msg == NULL)
		return false;
	if (self->m.received != NULL)
		tf_metric_add(self->m.received, 1);
	batch_clear(one);
	one->count = 1;
	item->reply = zmsg_pop(msg);
	item->raw = zmsg_pop(msg);
	/* What the frames take, charged to the batch they go to. */
	tf_budget_charge(one->budget,
	                 (item->reply != NULL ? tf_budget_cost(zframe_size(item->reply)) : 0)
	                 + (item->raw != NULL ? tf_budget_cost(zframe_size(item->raw)) : 0));
	if (item->raw != NULL) {
		/* zauth sets User-Id to the CURVE key it admitted.  Enrolment may
		 * have changed since (SIGHUP): the key must be enrolled now. */
		const char *key = zframe_meta(item->raw, "User-Id");
		const tf_peer_t *sender = tf_enrolment_by_key(self->enrolment, key);
		bucket_t *b;

		if (sender == NULL) {
			s_log_refusal(self, key ? key : "(none)", zframe_meta(item->raw, "Peer-Address"));
			if (self->m.ignored != NULL)
				tf_metric_add(self->m.ignored, 1);
			goto out;
		}
		/* One bucket per key: when it was last heard (agents_connected)
		 * and its rate-limit tokens. */
		if ((b = s_bucket(self, key)) != NULL)
			s_heard(self, b);
		item->sender = *sender;
		item->enrolled = true;
		item->bucket = b;
		if (!s_rate_allows(self, &item->sender, b)
		    || !s_byte_rate_allows(self, &item->sender, b, zframe_size(item->raw))) {
			char detail[sizeof item->check.detail];
			tf_check_t why;
			tf_envelope_t *env;

			/* The message id, to answer by; nothing else is looked at,
			 * and the decode is bounded like any other. */
			env = tf_envelope_decode_within(zframe_data(item->raw), zframe_size(item->raw),
			                                one->message_budget, &why, &item->envelope);
			if (env != NULL)
				item->envelope = env;
			snprintf(detail, sizeof detail, "over the limit of %.0f messages or %.0f bytes "
			         "a second; send it again later", self->config.rate_per_s,
			         self->config.byte_rate_per_s);
			s_defer(self, item, TALLYFEED__REASON__REASON_RATE_LIMITED, detail);
			goto out;
		}
	}
	if (item->raw == NULL || zmsg_size(msg) > 0) {
		/* A DEALER sends one frame per message: anything else is
		 * malformed, kept whole as far as we can. */
		if (item->raw == NULL)
			item->raw = zframe_new_empty();
		s_quarantine(item, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE,
		             "expected exactly one frame per message");
	} else if (s_decode(one, item)) {
		if (s_absorb(self, item))
			goto out;
		if (room != ROOM_DEFER)
			s_judge(self, one, item);
	}
	if (room == ROOM_DEFER) {
		/* Judged and stored when it is sent again. */
		self->stall_deferred++;
		s_defer(self, item, TALLYFEED__REASON__REASON_COLLECTOR_BUSY,
		        "the collector's database is slow to commit; nothing stored: send it "
		        "again later");
		goto out;
	}
	if (item->action == BATCH_REFUSE) {
		/* Nothing of it is stored: answered now. */
		item->stored = true;
		if (item->store_refused && self->m.store_refused != NULL)
			tf_metric_add(self->m.store_refused, 1);
		s_log_item(item);
		s_acknowledge(self, item);
		s_tell(self, item);
		goto out;
	}
	s_decide_keep(self, item);
	s_enqueue(self, item);
out:
	zmsg_destroy(&msg);
	batch_clear(one);
	return true;
}

static void
s_defer(ingest_t *self, batch_item_t *item, int reason, const char *detail)
{
	item->action = BATCH_DEFER;
	item->verdict = TALLYFEED__VERDICT__VERDICT_DEFERRED;
	item->check.reason = reason;
	snprintf(item->check.detail, sizeof item->check.detail, "%s", detail);
	s_log_item(item);
	s_acknowledge(self, item);
	s_tell(self, item);
}

/* Where the next message can go: the batch being filled while it has room
 * for the worst a message can bring; else, once the batch with the writer
 * has waited past stall_ms, an answer DEFERRED; else nowhere (ZeroMQ
 * holds it, and then the sender's queue and TCP). */
static room_t
s_room(ingest_t *self)
{
	if (!batch_full(self->fill, MESSAGE_MEMORY_MAX))
		return ROOM_BATCH;
	if (writer_busy_ms(self->writer) >= self->config.stall_ms)
		return ROOM_DEFER;
	return ROOM_NONE;
}

/* Acknowledge what the batch's transaction stored, and free the batch. */
static void
s_answer(ingest_t *self, batch_t *b)
{
	char line[256];
	int unstored = 0;

	for (int i = 0; i < b->count; i++) {
		batch_item_t *item = &b->items[i];
		char key[2 * TF_MESSAGE_ID_LEN + 1];

		if (s_inflight_key(item, key) && zhashx_lookup(self->inflight, key) == item)
			zhashx_delete(self->inflight, key);
		if (item->action == BATCH_QUARANTINE || item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED)
			s_settle_quarantine(self, item);
		if (!item->stored) {
			unstored++;
			continue;
		}
		if (item->store_refused && self->m.store_refused != NULL)
			tf_metric_add(self->m.store_refused, 1);
		s_log_item(item);
		s_acknowledge(self, item);
		s_tell(self, item);
	}
	if (unstored > 0)
		log_warnx("%d message(s) not stored, and not acknowledged: their agents keep them "
		          "and will send them again", unstored);
	if (b->head_signed && self->feed != NULL)
		feed_publish_head(self->feed, b->chain, b->link, b->row_hash, b->signed_ms,
		                  b->signer->name, b->signer->sign_public, b->signature);
	if (self->m.commit_seconds != NULL && b->transactions > 0) {
		tf_metric_observe(self->m.commit_seconds, (double)b->write_us / 1e6);
		tf_metric_observe(self->m.batch_size, (double)b->count);
	}
	/* A batch slow to write is said, with what it held (the stall log
	 * says only one that waited past stall_ms). */
	snprintf(line, sizeof line, "batch of %d message(s): %d transaction(s), written in %.1f ms "
	         "(checks %.1f, rows %.1f, copy %.1f, head %.1f, commit %.1f); waited %.1f ms for "
	         "the writer", b->count, b->transactions, (double)b->write_us / 1000.0,
	         (double)b->timing.checks / 1000.0, (double)b->timing.rows / 1000.0,
	         (double)b->timing.copy / 1000.0, (double)b->timing.head / 1000.0,
	         (double)b->timing.commit / 1000.0, (double)b->waited_ms);
	/* A slow one is said without -v, with where its time went. */
	if (b->write_us >= SLOW_BATCH_US)
		log_info("%s", line);
	else
		log_debug("%s", line);
	batch_clear(b);
}

/* Hand the batch being filled to the writer if it is free. */
static void
s_dispatch(ingest_t *self)
{
	if (self->fill->count == 0 || self->spare == NULL || !writer_idle(self->writer))
		return;
	if (writer_submit(self->writer, self->fill) != 0) {
		log_warnx("could not hand a batch to the writer; trying again");
		return;
	}
	self->with_writer = self->fill->count;
	self->submitted_ms = zclock_mono();
	self->fill = self->spare;
	self->spare = NULL;
}

/* The writer is done with its batch: give it the next at once, then
 * answer the one it gave back. */
static void
s_collect(ingest_t *self)
{
	batch_t *done = writer_collect(self->writer);

	if (done == NULL)
		return;
	done->waited_ms = zclock_mono() - self->submitted_ms;
	self->with_writer = 0;
	if (self->stall_said != 0) {
		log_info("database: the commit came back after %.1f s; %llu message(s) were "
		         "deferred meanwhile", (double)done->waited_ms / 1000.0,
		         (unsigned long long)self->stall_deferred);
		self->stall_said = 0;
		self->stall_deferred = 0;
	}
	self->spare = done;
	s_dispatch(self);
	/* The batch dispatched took the spare's place as the one filling. */
	s_answer(self, done);
}

int
ingest_set_outputs(ingest_t *self, feed_t *feed, tf_metrics_t *metrics)
{
	static const double sizes[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };
	static const double seconds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
		                          0.5, 1, 2.5, 5, 10 };
	const ProtobufCEnumDescriptor *reasons = &tallyfeed__reason__descriptor;
	char labels[96];

	self->feed = feed;
	self->metrics = metrics;
	if (metrics == NULL)
		return 0;
	self->m.received = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_messages_received_total",
	    "Frames read from the ROUTER socket, before any check.", NULL, NULL, 0);
	for (int v = 1; v < VERDICTS; v++) {
		snprintf(labels, sizeof labels, "verdict=\"%s\"",
		         tf_verdict_word((Tallyfeed__Verdict)v));
		self->m.verdict[v] = tf_metrics_declare(metrics, TF_COUNTER,
		    "tallyfeed_collector_messages_total",
		    "Result messages answered, by verdict (after their transaction committed).",
		    labels, NULL, 0);
	}
	for (unsigned i = 0; i < reasons->n_values; i++) {
		int reason = reasons->values[i].value;

		if (reason <= 0 || reason >= REASONS_MAX)
			continue;
		snprintf(labels, sizeof labels, "reason=\"%s\"", tf_reason_name(reason));
		self->m.rejected[reason] = tf_metrics_declare(metrics, TF_COUNTER,
		    "tallyfeed_collector_rejected_total",
		    "Messages answered REJECTED, by reason (each also kept in quarantine).",
		    labels, NULL, 0);
	}
	self->m.heartbeats = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_heartbeats_total", "Agent heartbeats stored.", NULL, NULL, 0);
	self->m.ignored = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_ignored_total",
	    "Messages on connections whose key is no longer enrolled: not answered, not stored.",
	    NULL, NULL, 0);
	self->m.published = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_feed_published_total",
	    "Summaries published on the live feed (a slow subscriber may miss some: it sees "
	    "the gap in seq).", NULL, NULL, 0);
	self->m.batch_size = tf_metrics_declare(metrics, TF_HISTOGRAM,
	    "tallyfeed_collector_batch_messages", "Messages written per committed transaction.",
	    NULL, sizes, sizeof sizes / sizeof sizes[0]);
	self->m.commit_seconds = tf_metrics_declare(metrics, TF_HISTOGRAM,
	    "tallyfeed_collector_commit_seconds",
	    "Time to write and commit one batch (BEGIN to COMMIT).", NULL, seconds,
	    sizeof seconds / sizeof seconds[0]);
	self->m.database_up = tf_metrics_declare(metrics, TF_GAUGE,
	    "tallyfeed_collector_database_up", "1 while PostgreSQL answers, else 0.",
	    NULL, NULL, 0);
	self->m.queue_depth = tf_metrics_declare(metrics, TF_GAUGE,
	    "tallyfeed_collector_queue_depth",
	    "Messages read and not yet acknowledged (the batch being written and the one "
	    "filling).", NULL, NULL, 0);
	self->m.agents_connected = tf_metrics_declare(metrics, TF_GAUGE,
	    "tallyfeed_collector_agents_connected",
	    "Enrolled agents and importers heard from (message or heartbeat) in the last 90 s.",
	    NULL, NULL, 0);
	self->m.subscriptions = tf_metrics_declare(metrics, TF_GAUGE,
	    "tallyfeed_collector_feed_subscriptions",
	    "Subscriptions the live feed's readers hold (tallyfeed feed: one per verdict it "
	    "shows; the dashboard: one).", NULL, NULL, 0);
	self->m.quarantine_cut = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_quarantine_cut_total",
	    "Refused messages kept as their SHA-256, size, reason and first bytes only: their "
	    "sender was over its quarantine budget (quarantine_bytes_per_hour).", NULL, NULL, 0);
	self->m.quarantine_kept = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_quarantine_bytes_total",
	    "Bytes of refused frames written to the quarantine (identical bytes are kept once).",
	    NULL, NULL, 0);
	self->m.stalled_seconds = tf_metrics_declare(metrics, TF_GAUGE,
	    "tallyfeed_collector_database_stalled_seconds",
	    "How long the batch with the database writer has waited for its commit, once past "
	    "database_stall_ms (0 otherwise): new messages are answered DEFERRED meanwhile.",
	    NULL, NULL, 0);
	self->m.absorbed = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_resends_absorbed_total",
	    "Copies of a message not yet answered, byte for byte (an agent sending again while "
	    "its transaction commits): dropped, its answer sent where the copy came from.",
	    NULL, NULL, 0);
	self->m.store_refused = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_collector_store_refused_total",
	    "Messages the database refused to store even one at a time (SQLSTATE in the log): "
	    "answered DEFERRED (STORE_REFUSED), nothing stored; their agents send them again.",
	    NULL, NULL, 0);
	if (self->m.received == NULL || self->m.agents_connected == NULL
	    || self->m.stalled_seconds == NULL || self->m.absorbed == NULL
	    || self->m.store_refused == NULL
	    || self->m.subscriptions == NULL || self->m.quarantine_cut == NULL
	    || self->m.quarantine_kept == NULL)
		return -1;
	tf_metric_set(self->m.database_up, 1);
	return 0;
}

const tf_metric_t *
ingest_database_up(const ingest_t *self)
{
	return self->m.database_up;
}

const tf_metric_t *
ingest_database_stalled(const ingest_t *self)
{
	return self->m.stalled_seconds;
}

/* Each turn: the gauges that are states, not events (agents_connected
 * once a second, for those whose window ran out: one heard anew counts at
 * once, in s_heard), and the stall said once in the log. */
static void
s_gauges(ingest_t *self)
{
	int64_t now = zclock_mono();
	int64_t busy = writer_busy_ms(self->writer);
	/* Read the feed's subscription news with or without metrics: its
	 * socket keeps what is not read. */
	size_t subscriptions = self->feed != NULL ? feed_subscriptions(self->feed) : 0;
	bool stalled = busy >= self->config.stall_ms;

	if (stalled && self->stall_said == 0) {
		log_warnx("database: a commit has waited %.1f s; the loop goes on, answering new "
		          "messages DEFERRED until it comes back", (double)busy / 1000.0);
		self->stall_said = now;
	}
	if (self->m.database_up == NULL)
		return;
	tf_metric_set(self->m.database_up, writer_database_up(self->writer) ? 1 : 0);
	tf_metric_set(self->m.stalled_seconds, stalled ? (double)busy / 1000.0 : 0);
	tf_metric_set(self->m.subscriptions, (double)subscriptions);
	tf_metric_set(self->m.queue_depth, self->fill->count + self->with_writer);
	if (now - self->counted_ms >= 1000)
		s_count_connected(self, now);
}

void
ingest_watch(ingest_t *self, zactor_t *monitor)
{
	assert(self != NULL);
	self->monitor = monitor;
}

/* Log the connections refused at the handshake (ZAP said no, or the client
 * does not speak CURVE): nothing of theirs reaches us but this line. */
static void
s_log_refused_connections(ingest_t *self)
{
	zmsg_t *event;

	if (self->monitor == NULL)
		return;
	while ((event = zmsg_recv_nowait(self->monitor)) != NULL) {
		char *name = zmsg_popstr(event), *value = zmsg_popstr(event);
		char *endpoint = zmsg_popstr(event);

		if (name != NULL && strcmp(name, "HANDSHAKE_FAILED_AUTH") == 0)
			log_warnx("refused a connection on %s: its CURVE key is not enrolled "
			          "(ZAP status %s); nothing stored", endpoint ? endpoint : "?",
			          value ? value : "?");
		else if (name != NULL)
			log_warnx("refused a connection on %s: %s: not a CURVE client, or a broken "
			          "handshake; nothing stored", endpoint ? endpoint : "?", name);
		zstr_free(&name);
		zstr_free(&value);
		zstr_free(&endpoint);
		zmsg_destroy(&event);
	}
}


/* On the way out (stop) or before a reload: nothing new is taken, the
 * batch being filled is written, and the loop ends once both are answered.
 * A stop does not wait for ever on a database that does not answer: past
 * STOP_WAIT_MS (at once if the database is down) the writer gives up and
 * cancels, and past STOP_GIVE_UP_MS more the loop leaves without it. */
static bool
s_leave(ingest_t *self, bool stop, int64_t since)
{
	int64_t waited = zclock_mono() - since;

	if (self->fill->count == 0 && writer_idle(self->writer))
		return true;
	if (!stop)
		return false;
	if (!self->stopping && (waited >= STOP_WAIT_MS || !writer_database_up(self->writer))) {
		log_warnx("shutting down: the database has not taken the batch in hand; giving it up "
		          "(its agents keep their messages and will send them again)");
		writer_stop(self->writer);
		self->stopping = true;
	}
	if (self->stopping && waited >= STOP_WAIT_MS + STOP_GIVE_UP_MS
	    && !writer_idle(self->writer)) {
		log_warnx("shutting down with a write that has not come back in %.0f s: nothing of it "
		          "is acknowledged", (double)waited / 1000.0);
		self->stuck = true;
		return true;
	}
	return false;
}

void
ingest_run(ingest_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
	zmq_pollitem_t poll[2] = {
		{ .socket = zsock_resolve(self->router), .events = ZMQ_POLLIN },
		{ .socket = zsock_resolve(writer_sock(self->writer)), .events = ZMQ_POLLIN },
	};
	int64_t leaving_since = 0;

	assert(self->enrolment != NULL);
	for (;;) {
		bool leaving = *stop;
		room_t room;

		/* Nothing of a reload waits on the writer: it may be stuck. */
		if (*reload && !*stop)
			break;
		s_fit(self, &self->fill);
		s_fit(self, &self->spare);

		s_log_refused_connections(self);
		s_gauges(self);
		if (self->metrics != NULL)
			tf_metrics_alive(self->metrics);
		tf_service_alive();
		if (leaving) {
			if (leaving_since == 0)
				leaving_since = zclock_mono();
			if (s_leave(self, *stop, leaving_since))
				break;
		}
		s_dispatch(self);
		/* Group commit: while the writer commits one batch the next
		 * gathers here, and goes the moment the writer is free; an idle
		 * collector writes each message as it comes. */
		for (int n = 0; !leaving && n < TAKE_MAX; n++) {
			room = s_room(self);
			if (room == ROOM_NONE || !s_receive(self, room))
				break;
			s_dispatch(self);
		}
		poll[0].events = !leaving && s_room(self) != ROOM_NONE ? ZMQ_POLLIN : 0;
		if (zmq_poll(poll, 2, POLL_MS) < 0 && errno != EINTR)
			fatal("zmq_poll");
		if (poll[1].revents & ZMQ_POLLIN)
			s_collect(self);
	}
}
