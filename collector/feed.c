/*
 * feed: the collector's live feed on a PUB socket (see feed.h).
 */
#include "feed.h"
#include "envelope.h"
#include "log.h"
#include "rules.h"

#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Publications queued per subscriber before PUB drops for it: a few
 * batches' worth, so a reader that is only briefly late misses nothing. */
#define FEED_HWM 20000
/* Subscription news read per feed_subscriptions call. */
#define FEED_NEWS_MAX 1024

struct _feed_t {
	zsock_t *pub;
	char *endpoint;
	const tf_registry_t *registry;
	uint64_t seq;
	int64_t run;                    /* this run's start, ms since the epoch */
	size_t subscriptions;           /* held by the readers (feed_subscriptions) */
};

feed_t *
feed_new(const char *endpoint, const tf_registry_t *registry, char *err, size_t errlen)
{
	feed_t *self = calloc(1, sizeof *self);

	/* XPUB, not PUB: it publishes the same way, and tells us each reader's
	 * subscriptions (every one, and every one dropped: VERBOSER), so
	 * whoever starts a reader can see it is heard before publishing. */
	if (self == NULL || (self->pub = zsock_new(ZMQ_XPUB)) == NULL) {
		snprintf(err, errlen, "could not create the feed's XPUB socket");
		free(self);
		return NULL;
	}
	zsock_set_sndhwm(self->pub, FEED_HWM);
	zsock_set_xpub_verboser(self->pub, 1);
	zsock_set_linger(self->pub, 0);
	if (zsock_bind(self->pub, "%s", endpoint) < 0) {
		snprintf(err, errlen, "could not bind the feed on %s: %s", endpoint,
		         zmq_strerror(zmq_errno()));
		zsock_destroy(&self->pub);
		free(self);
		return NULL;
	}
	self->endpoint = zsock_last_endpoint(self->pub);
	self->registry = registry;
	self->run = zclock_time();
	return self;
}

void
feed_destroy(feed_t **self_p)
{
	feed_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	zsock_destroy(&self->pub);
	zstr_free(&self->endpoint);
	free(self);
	*self_p = NULL;
}

const char *
feed_endpoint(const feed_t *self)
{
	return self->endpoint;
}

uint64_t
feed_published(const feed_t *self)
{
	return self->seq;
}

size_t
feed_subscriptions(feed_t *self)
{
	zframe_t *frame;

	/* Each is one frame: 1 (subscribe) or 0 (unsubscribe), then the topic.
	 * XPUB keeps what is not read, so read them, but a bounded number a
	 * call: a reader sending subscriptions without end must not hold up
	 * the ingest loop. */
	for (int n = 0; n < FEED_NEWS_MAX && (frame = zframe_recv_nowait(self->pub)) != NULL; n++) {
		const uint8_t *data = zframe_data(frame);

		if (zframe_size(frame) >= 1 && data[0] == 1)
			self->subscriptions++;
		else if (zframe_size(frame) >= 1 && data[0] == 0 && self->subscriptions > 0)
			self->subscriptions--;
		zframe_destroy(&frame);
	}
	return self->subscriptions;
}

/* The county a code sits in: its first six digits. */
static void
s_county(const char *code, char out[TF_CODE_LEN + 1])
{
	if (code == NULL || strlen(code) != TF_CODE_LEN) {
		snprintf(out, TF_CODE_LEN + 1, "000000000000");
		return;
	}
	snprintf(out, TF_CODE_LEN + 1, "%.6s000000", code);
}

void
feed_publish(feed_t *self, const feed_item_t *item)
{
	const tf_report_t *r = item->report;
	const tf_area_t *unit = NULL;
	char county[TF_CODE_LEN + 1], id[2 * TF_MESSAGE_ID_LEN + 1] = "";
	char when[32], township[TF_CODE_LEN + 1] = "";
	const char *word = tf_verdict_word(item->verdict);
	struct tm tm;
	time_t now = time(NULL);
	json_t *body;
	char *text;
	zmsg_t *msg;

	if (r != NULL && r->unit_code != NULL
	    && (unit = tf_registry_find(self->registry, TF_LEVEL_UNIT, r->unit_code)) != NULL)
		snprintf(township, sizeof township, "%s", unit->parent);
	else if (item->township != NULL)
		snprintf(township, sizeof township, "%s", item->township);
	s_county(township[0] != '\0' ? township : NULL, county);
	if (item->message_id != NULL)
		tf_message_id_hex(item->message_id, item->message_id_len, id);
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	self->seq++;
	/* json_pack's "s?" makes a NULL string a JSON null; bad UTF-8 from a
	 * refused message's detail would make it fail, so details are the
	 * collector's own words (tf_ack_build scrubs the same text). */
	body = json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s,"
	                 " s:s?, s:o, s:o, s:s?}",
	                 "seq", (json_int_t)self->seq, "run", (json_int_t)self->run,
	                 "time", when, "verdict", word,
	                 "reason", item->reason != 0 ? tf_reason_name(item->reason) : NULL,
	                 "detail", item->detail,
	                 "agent", item->agent,
	                 "unit", r != NULL ? r->unit_code : NULL,
	                 "unit_name", unit != NULL ? unit->name : NULL,
	                 "township", township[0] != '\0' ? township : NULL,
	                 "county", county,
	                 "committee", r != NULL ? tf_committee_word(r->committee) : NULL,
	                 "round", r != NULL ? json_integer(r->round) : json_null(),
	                 "revision", r != NULL ? json_integer(r->revision) : json_null(),
	                 "message_id", id[0] != '\0' ? id : NULL);
	if (body == NULL) {
		log_debug("feed: message %s not published: not UTF-8", id);
		return;
	}
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (text == NULL)
		return;
	msg = zmsg_new();
	zmsg_addstrf(msg, "%s %s", word, county);
	zmsg_addstr(msg, text);
	free(text);
	/* PUB never blocks: past the high-water mark it drops for that
	 * subscriber, who sees the gap in seq. */
	if (zmsg_send(&msg, self->pub) != 0)
		zmsg_destroy(&msg);
}

void
feed_publish_head(feed_t *self, const char *chain, int64_t link, const uint8_t *row_hash,
                  int64_t signed_ms, const char *signer, const uint8_t *sign_public,
                  const uint8_t *signature)
{
	char hash[2 * 32 + 1], key[2 * 32 + 1], sig[2 * 64 + 1];
	json_t *body;
	char *text;
	zmsg_t *msg;

	sodium_bin2hex(hash, sizeof hash, row_hash, 32);
	sodium_bin2hex(key, sizeof key, sign_public, 32);
	sodium_bin2hex(sig, sizeof sig, signature, 64);
	body = json_pack("{s:{s:s, s:I, s:s, s:I, s:s, s:s, s:s}}", "head", "chain", chain,
	                 "link", (json_int_t)link, "row_hash", hash, "signed_ms",
	                 (json_int_t)signed_ms, "signer", signer, "sign_public", key,
	                 "signature", sig);
	if (body == NULL)
		return;
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (text == NULL)
		return;
	msg = zmsg_new();
	zmsg_addstrf(msg, "head %s", chain);
	zmsg_addstr(msg, text);
	free(text);
	if (zmsg_send(&msg, self->pub) != 0)
		zmsg_destroy(&msg);
}
