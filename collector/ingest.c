/*
 * ingest: batch, validate, store, commit, then acknowledge.
 */
#include "ingest.h"
#include "service.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 200             /* how often an idle loop looks at the stop flag */
/* The worst one message can add to a batch: a frame as large as ZeroMQ
 * lets through (collector/main.c) and its decode. */
#define MESSAGE_MEMORY_MAX (tf_budget_cost(4 * TF_MESSAGE_MAX) + 256 + TF_DECODE_MAX)

typedef enum {
	ACTION_RESULT,          /* store the report */
	ACTION_HEARTBEAT,       /* store the agent's state */
	ACTION_QUARANTINE,      /* keep the raw bytes and the reason */
	ACTION_REFUSE,          /* answer REJECTED, store nothing: not this agent's to send */
	ACTION_DEFER,           /* answer DEFERRED, store nothing: over the rate limit */
	ACTION_IGNORE           /* answer nothing, store nothing: the key is not enrolled */
} action_t;

#define REFUSAL_LOG_EVERY_MS 60000      /* one log line per refused key per minute */
#define CONNECTED_WINDOW_MS 90000       /* "connected": heard from within this (3 heartbeats) */
#define VERDICTS 5                      /* Tallyfeed__Verdict values, 0..4 */
#define REASONS_MAX 64                  /* Tallyfeed__Reason values counted */

/* Token buckets per connection key: messages, bytes, and bytes of
 * quarantine kept whole. */
typedef struct {
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

/* One message of a batch, from arrival to its Ack. */
typedef struct {
	zframe_t *identity;     /* the ROUTER's routing id of the sender */
	zframe_t *raw;          /* the frame as received */
	const tf_peer_t *sender;        /* whose CURVE key the connection used */
	const tf_peer_t *author;        /* whose signature the payload must carry */
	bucket_t *bucket;       /* the sender's, or NULL */
	tf_envelope_t *envelope;        /* NULL if it did not decode */
	tf_report_t *report;
	Tallyfeed__Heartbeat *heartbeat;
	tf_check_t check;       /* reason, detail, warnings */
	action_t action;
	Tallyfeed__Verdict verdict;
	size_t entry;           /* its index in the batch's store entries */
	bool stored;            /* written in the current transaction */
	bool cut;               /* kept short: its sender is over its quarantine budget */
} item_t;

struct _ingest_t {
	zsock_t *router;
	store_t *store;
	const tf_registry_t *registry;
	const tf_enrolment_t *enrolment;
	zactor_t *monitor;      /* the ROUTER's failed handshakes, or NULL */
	zhashx_t *buckets;      /* CURVE key -> bucket_t */
	ingest_config_t config;
	item_t *items;
	store_entry_t *entries; /* the results of a batch, for the store */
	int count;
	tf_budget_t *batch_budget;      /* frames held by the batch, and their decodes */
	tf_budget_t *message_budget;    /* one message's decode, within the batch's */
	feed_t *feed;           /* the live feed, or NULL */
	tf_metrics_t *metrics;  /* or NULL */
	struct {                /* NULL until ingest_set_outputs */
		tf_metric_t *received, *heartbeats, *ignored, *published;
		tf_metric_t *verdict[VERDICTS];
		tf_metric_t *rejected[REASONS_MAX];
		tf_metric_t *batch_size, *commit_seconds;
		tf_metric_t *database_up, *queue_depth, *agents_connected, *subscriptions;
		tf_metric_t *quarantine_cut, *quarantine_kept;
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

ingest_t *
ingest_new(zsock_t *router, store_t *store, const tf_registry_t *registry,
           const ingest_config_t *config)
{
	ingest_t *self;

	assert(router != NULL && store != NULL && registry != NULL && config != NULL);
	assert(config->batch_max > 0);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->items = calloc((size_t)config->batch_max, sizeof *self->items);
	self->entries = calloc((size_t)config->batch_max, sizeof *self->entries);
	self->buckets = zhashx_new();
	self->batch_budget = tf_budget_new(INGEST_BATCH_MEMORY_MAX, NULL);
	if (self->batch_budget != NULL)
		self->message_budget = tf_budget_new(TF_DECODE_MAX, self->batch_budget);
	if (self->items == NULL || self->entries == NULL || self->buckets == NULL
	    || self->message_budget == NULL) {
		free(self->items);
		free(self->entries);
		zhashx_destroy(&self->buckets);
		tf_budget_destroy(&self->message_budget);
		tf_budget_destroy(&self->batch_budget);
		free(self);
		return NULL;
	}
	zhashx_set_destructor(self->buckets, s_bucket_destroy);
	self->router = router;
	self->store = store;
	self->registry = registry;
	self->config = *config;
	return self;
}

static void
s_item_clear(item_t *item)
{
	zframe_destroy(&item->identity);
	zframe_destroy(&item->raw);
	tf_envelope_destroy(&item->envelope);
	tf_report_destroy(&item->report);
	if (item->heartbeat != NULL)
		tallyfeed__heartbeat__free_unpacked(item->heartbeat, NULL);
	memset(item, 0, sizeof *item);
}

void
ingest_destroy(ingest_t **self_p)
{
	ingest_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	for (int i = 0; i < self->config.batch_max; i++)
		s_item_clear(&self->items[i]);
	free(self->items);
	free(self->entries);
	zhashx_destroy(&self->buckets);
	tf_budget_destroy(&self->message_budget);
	tf_budget_destroy(&self->batch_budget);
	free(self);
	*self_p = NULL;
}

int
ingest_set_config(ingest_t *self, const ingest_config_t *config)
{
	item_t *items;
	store_entry_t *entries;

	assert(self->count == 0 && config->batch_max > 0);
	if (config->batch_max != self->config.batch_max) {
		items = calloc((size_t)config->batch_max, sizeof *items);
		entries = calloc((size_t)config->batch_max, sizeof *entries);
		if (items == NULL || entries == NULL) {
			free(items);
			free(entries);
			return -1;
		}
		for (int i = 0; i < self->config.batch_max; i++)
			s_item_clear(&self->items[i]);
		free(self->items);
		free(self->entries);
		self->items = items;
		self->entries = entries;
	}
	self->config = *config;
	return 0;
}

void
ingest_set_enrolment(ingest_t *self, const tf_enrolment_t *enrolment)
{
	assert(self != NULL && enrolment != NULL);
	assert(self->count == 0);       /* items point into the old table */
	self->enrolment = enrolment;
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
s_quarantine_keep(ingest_t *self, item_t *item, size_t len)
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

/* A row kept short: counted, and logged once a minute per sender. */
static void
s_tell_cut(ingest_t *self, const item_t *item)
{
	bucket_t *b = item->bucket;
	int64_t now = zclock_mono();

	if (self->m.quarantine_cut != NULL)
		tf_metric_add(self->m.quarantine_cut, 1);
	b->cut++;
	if (b->quarantine_logged_ms == 0 || now - b->quarantine_logged_ms >= REFUSAL_LOG_EVERY_MS) {
		log_warnx("%s is over its quarantine budget (%.0f bytes an hour): %llu refused "
		          "message(s) kept as their SHA-256, size, reason and first %d bytes",
		          item->sender != NULL ? item->sender->name : "?",
		          self->config.quarantine_per_hour, (unsigned long long)b->cut,
		          INGEST_QUARANTINE_HEAD);
		b->quarantine_logged_ms = now;
		b->cut = 0;
	}
}

/* Keep a refused item in quarantine, within its sender's budget. */
static int
s_store_quarantine(ingest_t *self, item_t *item)
{
	size_t len = zframe_size(item->raw);
	size_t keep = s_quarantine_keep(self, item, len);
	bool written = false;

	if (store_quarantine(self->store, item->envelope, zframe_data(item->raw), len, keep,
	                     item->check.reason, item->check.detail, &written) != 0)
		return -1;
	/* Only new bytes kept whole cost budget: a copy is not kept at all. */
	if (written && keep == len && len > INGEST_QUARANTINE_HEAD && item->bucket != NULL
	    && self->config.quarantine_per_hour > 0)
		item->bucket->quarantine_tokens -= (double)len;
	if (written && item->cut)
		s_tell_cut(self, item);
	if (written && self->m.quarantine_kept != NULL)
		tf_metric_add(self->m.quarantine_kept, (double)keep);
	return 0;
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
s_quarantine(item_t *item, int reason, const char *detail)
{
	item->action = ACTION_QUARANTINE;
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

/* Decode and validate: decide what the item is, before any database work. */
static void
s_judge(ingest_t *self, item_t *item)
{
	tf_envelope_t *env;

	env = tf_envelope_decode_within(zframe_data(item->raw), zframe_size(item->raw),
	                                self->message_budget, &item->check, &item->envelope);
	if (env == NULL) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	item->envelope = env;
	/* Who may speak: an agent only as itself; an importer for any
	 * enrolled agent, whose signature the payload must then carry. */
	if (item->sender->role == TF_ROLE_AGENT) {
		if (strcmp(env->agent_id, item->sender->name) != 0) {
			item->action = ACTION_REFUSE;
			item->verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
			item->check.reason = TALLYFEED__REASON__REASON_AGENT_MISMATCH;
			snprintf(item->check.detail, sizeof item->check.detail,
			         "the connection's certificate is agent %s's, not %.64s's",
			         item->sender->name, env->agent_id);
			return;
		}
		item->author = item->sender;
	} else {
		item->author = tf_enrolment_by_name(self->enrolment, env->agent_id);
		if (item->author == NULL || item->author->role != TF_ROLE_AGENT) {
			s_quarantine(item, TALLYFEED__REASON__REASON_UNKNOWN_AGENT,
			             "no enrolled agent has this agent id");
			return;
		}
	}
	if (tf_envelope_verify(env, item->author->sign_public, self->config.accept_protocol_1,
	                       &item->check) != 0) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	if (env->payload_type == TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT) {
		item->heartbeat = tf_envelope_heartbeat(env, self->message_budget, &item->check);
		if (item->heartbeat == NULL)
			s_quarantine(item, item->check.reason, item->check.detail);
		else if (!s_heartbeat_sound(item->heartbeat))
			s_quarantine(item, TALLYFEED__REASON__REASON_MALFORMED_PAYLOAD,
			             "payload is not a sound Heartbeat");
		else {
			item->action = ACTION_HEARTBEAT;
			item->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
		}
		return;
	}
	item->report = tf_envelope_report(env, self->message_budget, &item->check);
	if (item->report == NULL) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	/* The agent's certificate names the only township it speaks for. */
	if (tf_rules_check(&self->config.rules, item->report, self->registry,
	                   item->author->township, &item->check) != 0) {
		s_quarantine(item, item->check.reason, item->check.detail);
		return;
	}
	item->action = ACTION_RESULT;
	item->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
}

/* Receive one message into the next free item; false if none was waiting. */
static bool
s_receive(ingest_t *self)
{
	item_t *item = &self->items[self->count];
	zmsg_t *msg = zmsg_recv_nowait(self->router);

	if (msg == NULL)
		return false;
	if (self->m.received != NULL)
		tf_metric_add(self->m.received, 1);
	item->identity = zmsg_pop(msg);
	item->raw = zmsg_pop(msg);
	/* What the frames take, charged to the batch (ingest_run leaves room
	 * for the worst a message can bring, so this always fits). */
	tf_budget_reset(self->message_budget);
	tf_budget_charge(self->batch_budget,
	                 (item->identity != NULL ? tf_budget_cost(zframe_size(item->identity)) : 0)
	                 + (item->raw != NULL ? tf_budget_cost(zframe_size(item->raw)) : 0));
	if (item->raw != NULL) {
		/* zauth sets User-Id to the CURVE key it admitted.  Enrolment may
		 * have changed since (SIGHUP): the key must be enrolled now. */
		const char *key = zframe_meta(item->raw, "User-Id");
		bucket_t *b;

		item->sender = tf_enrolment_by_key(self->enrolment, key);
		if (item->sender == NULL) {
			s_log_refusal(self, key ? key : "(none)", zframe_meta(item->raw, "Peer-Address"));
			item->action = ACTION_IGNORE;
			goto counted;
		}
		/* One bucket per key: when it was last heard (agents_connected)
		 * and its rate-limit tokens. */
		if ((b = s_bucket(self, key)) != NULL)
			s_heard(self, b);
		item->bucket = b;
		if (!s_rate_allows(self, item->sender, b)
		    || !s_byte_rate_allows(self, item->sender, b, zframe_size(item->raw))) {
			tf_check_t why;
			tf_envelope_t *env;

			item->action = ACTION_DEFER;
			item->verdict = TALLYFEED__VERDICT__VERDICT_DEFERRED;
			item->check.reason = TALLYFEED__REASON__REASON_RATE_LIMITED;
			snprintf(item->check.detail, sizeof item->check.detail,
			         "over the limit of %.0f messages or %.0f bytes a second; send it "
			         "again later", self->config.rate_per_s, self->config.byte_rate_per_s);
			/* The message id, to answer by; nothing else is looked at,
			 * and the decode is bounded like any other. */
			env = tf_envelope_decode_within(zframe_data(item->raw), zframe_size(item->raw),
			                                self->message_budget, &why, &item->envelope);
			if (env != NULL)
				item->envelope = env;
			goto counted;
		}
	}
	if (item->raw == NULL || zmsg_size(msg) > 0) {
		/* A DEALER sends one frame per message: anything else is
		 * malformed, kept whole as far as we can. */
		if (item->raw == NULL)
			item->raw = zframe_new_empty();
		s_quarantine(item, TALLYFEED__REASON__REASON_MALFORMED_ENVELOPE,
		             "expected exactly one frame per message");
	} else
		s_judge(self, item);
counted:
	zmsg_destroy(&msg);
	self->count++;
	return true;
}

/* The verdict for a result from what the store found. */
static int
s_result_verdict(item_t *item, store_outcome_t outcome)
{
	const tf_report_t *r = item->report;

	switch (outcome) {
	case STORE_ACCEPTED:
		item->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
		snprintf(item->check.detail, sizeof item->check.detail, "stored");
		break;
	case STORE_DUPLICATE:
		item->verdict = TALLYFEED__VERDICT__VERDICT_DUPLICATE;
		snprintf(item->check.detail, sizeof item->check.detail,
		         "this message is stored already");
		break;
	case STORE_REFUSED:
		/* The store put the reason and detail in the item's check. */
		item->verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
		break;
	case STORE_DEFERRED:
		item->verdict = TALLYFEED__VERDICT__VERDICT_DEFERRED;
		break;
	case STORE_REVISION_EXISTS:
		item->verdict = TALLYFEED__VERDICT__VERDICT_REJECTED;
		item->check.reason = TALLYFEED__REASON__REASON_REVISION_EXISTS;
		snprintf(item->check.detail, sizeof item->check.detail,
		         "unit %s %s round %u revision %u is stored from another message; "
		         "send a higher revision", r->unit_code, tf_committee_word(r->committee),
		         r->round, r->revision);
		break;
	}
	return 0;
}

/* The head the commit just signed, on the live feed. */
static void
s_publish_head(ingest_t *self)
{
	const char *chain;
	const uint8_t *hash, *signature;
	const tf_peer_t *signer;
	int64_t link, signed_ms;

	if (self->feed != NULL
	    && store_signed_head(self->store, &chain, &link, &hash, &signed_ms, &signature, &signer))
		feed_publish_head(self->feed, chain, link, hash, signed_ms, signer->name,
		                  signer->sign_public, signature);
}

/* Store items [from, to) in one transaction; 0 if committed.  Results go
 * in one COPY per table; the rare refused message and the periodic
 * heartbeat one statement each. */
static int
s_store_range(ingest_t *self, int from, int to)
{
	size_t n = 0;
	int64_t began = zclock_usecs();

	if (store_begin(self->store) != 0)
		return -1;
	for (int i = from; i < to; i++) {
		item_t *item = &self->items[i];
		if (item->action != ACTION_RESULT)
			continue;
		self->entries[n] = (store_entry_t){
			.envelope = item->envelope, .raw = zframe_data(item->raw),
			.raw_len = zframe_size(item->raw), .report = item->report,
			.check = &item->check
		};
		item->entry = n++;
	}
	if (store_results(self->store, self->entries, n) != 0)
		goto fail;
	for (int i = from; i < to; i++) {
		item_t *item = &self->items[i];
		int rc = 0;

		switch (item->action) {
		case ACTION_RESULT:
			rc = s_result_verdict(item, self->entries[item->entry].outcome);
			if (item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED)
				rc = s_store_quarantine(self, item);
			break;
		case ACTION_QUARANTINE:
			rc = s_store_quarantine(self, item);
			break;
		case ACTION_HEARTBEAT:
			rc = store_heartbeat(self->store, item->envelope, item->heartbeat,
			                     item->author->township);
			if (rc == 1) {
				/* A replayed or overtaken heartbeat: nothing changed. */
				item->verdict = TALLYFEED__VERDICT__VERDICT_DUPLICATE;
				snprintf(item->check.detail, sizeof item->check.detail,
				         "older than the newest heartbeat stored for this agent; "
				         "not applied");
				rc = 0;
			}
			break;
		case ACTION_REFUSE:
		case ACTION_DEFER:
		case ACTION_IGNORE:
			break;          /* nothing of theirs is stored */
		}
		if (rc != 0)
			goto fail;
	}
	if (store_commit(self->store) != 0)
		return -1;
	s_publish_head(self);
	if (self->m.commit_seconds != NULL) {
		tf_metric_observe(self->m.commit_seconds, (double)(zclock_usecs() - began) / 1e6);
		tf_metric_observe(self->m.batch_size, (double)(to - from));
	}
	for (int i = from; i < to; i++)
		self->items[i].stored = true;
	return 0;
fail:
	store_rollback(self->store);
	return -1;
}

static void
s_log_item(const item_t *item)
{
	char id[2 * TF_MESSAGE_ID_LEN + 1] = "-";
	const char *agent = "-";

	if (item->envelope != NULL) {
		tf_message_id_hex(item->envelope->message_id.data, item->envelope->message_id.len, id);
		agent = item->envelope->agent_id;
	}
	if (item->action == ACTION_REFUSE)
		log_warnx("refused message %s from agent %s: %s: %s; nothing stored", id,
		          item->sender->name, tf_reason_name(item->check.reason), item->check.detail);
	else if (item->action == ACTION_DEFER)
		log_debug("deferred message %s from agent %s: rate limit", id, item->sender->name);
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

static void
s_acknowledge(ingest_t *self, item_t *item)
{
	const tf_envelope_t *env = item->envelope;
	zframe_t *ack;

	ack = tf_ack_build(env != NULL ? env->message_id.data : NULL,
	                   env != NULL ? env->message_id.len : 0,
	                   env != NULL ? env->sequence : 0, item->verdict,
	                   item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED
	                   || item->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED ? item->check.reason : 0,
	                   item->check.detail);
	if (ack == NULL) {
		log_warnx("out of memory building an ack");
		return;
	}
	/* If the agent has gone, the ack is dropped; it will send again and
	 * hear DUPLICATE. */
	zframe_send(&item->identity, self->router, ZFRAME_MORE);
	zframe_send(&ack, self->router, 0);
}

/* Count an answered message, and put it on the live feed (results and
 * refusals; heartbeats are in agent_status and `tallyfeed status`). */
static void
s_tell(ingest_t *self, const item_t *item)
{
	const tf_envelope_t *env = item->envelope;
	bool refused = item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED
	               || item->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED;
	feed_item_t fi;

	if (item->action == ACTION_HEARTBEAT) {
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
		         : item->sender != NULL ? item->sender->name : NULL,
		.township = item->sender != NULL && item->sender->township[0] != '\0'
		            ? item->sender->township : NULL,
		.report = item->report,
		.message_id = env != NULL ? env->message_id.data : NULL,
		.message_id_len = env != NULL ? env->message_id.len : 0,
	};
	feed_publish(self->feed, &fi);
	if (self->m.published != NULL)
		tf_metric_add(self->m.published, 1);
}

/* Write the batch, then acknowledge what was committed. */
static void
s_flush(ingest_t *self)
{
	if (self->count == 0)
		return;
	if (self->m.queue_depth != NULL)
		tf_metric_set(self->m.queue_depth, self->count);
	if (s_store_range(self, 0, self->count) != 0 && store_ready(self->store)) {
		/* The database is up but refused the batch: find the message it
		 * refuses by storing one at a time.  A message that still fails is
		 * not acknowledged; its agent will send it again. */
		log_warnx("batch of %d not stored; retrying one message at a time", self->count);
		for (int i = 0; i < self->count; i++)
			if (s_store_range(self, i, i + 1) != 0)
				log_warnx("message %d of the batch could not be stored; not acknowledged", i);
	}
	for (int i = 0; i < self->count; i++) {
		item_t *item = &self->items[i];
		if (item->stored && item->action != ACTION_IGNORE) {
			s_log_item(item);
			s_acknowledge(self, item);
			s_tell(self, item);
		} else if (item->stored && self->m.ignored != NULL)
			tf_metric_add(self->m.ignored, 1);
		s_item_clear(item);
	}
	self->count = 0;
	tf_budget_reset(self->message_budget);
	tf_budget_reset(self->batch_budget);
	if (self->m.queue_depth != NULL)
		tf_metric_set(self->m.queue_depth, 0);
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
	    "Messages read and not yet acknowledged (the batch being written).", NULL, NULL, 0);
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
	if (self->m.received == NULL || self->m.agents_connected == NULL
	    || self->m.subscriptions == NULL || self->m.quarantine_cut == NULL
	    || self->m.quarantine_kept == NULL)
		return -1;
	tf_metric_set(self->m.database_up, store_ready(self->store) ? 1 : 0);
	return 0;
}

const tf_metric_t *
ingest_database_up(const ingest_t *self)
{
	return self->m.database_up;
}

/* Refresh the gauges that are states, not events: agents_connected once a
 * second, for those whose window ran out (one heard anew counts at once,
 * in s_heard). */
static void
s_gauges(ingest_t *self)
{
	int64_t now = zclock_mono();
	/* Read the feed's subscription news with or without metrics: its
	 * socket keeps what is not read. */
	size_t subscriptions = self->feed != NULL ? feed_subscriptions(self->feed) : 0;

	if (self->m.database_up == NULL)
		return;
	tf_metric_set(self->m.database_up, store_ready(self->store) ? 1 : 0);
	tf_metric_set(self->m.subscriptions, (double)subscriptions);
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

void
ingest_run(ingest_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
	zpoller_t *poller = zpoller_new(self->router, NULL);

	if (poller == NULL)
		fatalx("could not create a poller");
	assert(self->enrolment != NULL);
	while (!*stop && !*reload) {
		int64_t deadline;

		s_log_refused_connections(self);
		s_gauges(self);
		if (self->metrics != NULL)
			tf_metrics_alive(self->metrics);
		tf_service_alive();
		/* While the database is away, leave messages in the socket's queue
		 * (bounded by its high-water mark): nothing is acknowledged, and
		 * the agents keep their copies. */
		if (!store_ready(self->store)) {
			zclock_sleep(POLL_MS);
			continue;
		}
		if (zpoller_wait(poller, POLL_MS) == NULL)
			continue;
		deadline = zclock_mono() + self->config.batch_wait_ms;
		/* Bounded in count and in memory: at most batch_max frames, and
		 * room left for the worst the next can bring. */
		while (self->count < self->config.batch_max
		       && tf_budget_left(self->batch_budget) >= MESSAGE_MEMORY_MAX) {
			if (s_receive(self))
				continue;
			if (*stop || zclock_mono() >= deadline)
				break;
			if (zpoller_wait(poller, (int)(deadline - zclock_mono())) == NULL
			    && zclock_mono() >= deadline)
				break;
		}
		s_flush(self);
	}
	zpoller_destroy(&poller);
}
