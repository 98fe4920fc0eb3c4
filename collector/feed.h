/*
 * feed: the collector's live feed.  After each batch commits, every result
 * message it answered (accepted, duplicate, rejected or deferred) is
 * published on a ZeroMQ (X)PUB socket as a short summary, for `tallyfeed feed`
 * and whoever else watches.
 *
 * Each publication is two frames:
 *   topic  "<verdict> <county code>", e.g. "rejected 630121000000", so a
 *          subscriber filters by verdict and county with plain prefixes;
 *   body   one JSON object: seq, run, time, verdict, reason, detail, agent,
 *          unit, unit_name, township, county, committee, round, revision,
 *          message_id (absent fields are null).
 *
 * After each commit that moves the collector's hash chain, its signed head
 * goes out too (feed_publish_head), under the topic "head <chain>", body
 * {"head": {chain, link, row_hash, signed_ms, signer, sign_public,
 * signature}} (hex), without a seq: summaries' seqs stay unbroken, and a
 * reader that wants heads (`tallyfeed feed --heads`) keeps them elsewhere.
 *
 * PUB drops what a slow or absent subscriber cannot take: a monitor must
 * never slow ingestion.  Every publication carries the next seq of this
 * run (run: the collector's start time), so a subscriber counts what it
 * missed from the gaps.
 */
#ifndef TF_FEED_H
#define TF_FEED_H

#include <czmq.h>
#include <stdint.h>

#include "envelope.h"
#include "identity.h"
#include "registry.h"
#include "report.h"

typedef struct _feed_t feed_t;

/* One answered message, as the feed tells it.  Any pointer may be NULL. */
typedef struct {
	Tallyfeed__Verdict verdict;
	int reason;                     /* for rejected and deferred; else 0 */
	const char *detail;
	const char *agent;              /* the envelope's agent, or the sender's name */
	const char *township;           /* the sender's township, when no report */
	const tf_report_t *report;
	const uint8_t *message_id;
	size_t message_id_len;
} feed_item_t;

/* Bind a PUB socket on endpoint ("tcp://127.0.0.1:*" and "!" as for the
 * collector's); the registry names the units (borrowed).  NULL with err. */
feed_t *feed_new(const char *endpoint, const tf_registry_t *registry, char *err, size_t errlen);
void feed_destroy(feed_t **self_p);
/* The endpoint actually bound. */
const char *feed_endpoint(const feed_t *self);
/* Publish one item; never blocks. */
void feed_publish(feed_t *self, const feed_item_t *item);
/* Publish a signed chain head (row_hash 32 bytes, signature 64, the
 * signer's public key 32); never blocks. */
void feed_publish_head(feed_t *self, const char *chain, int64_t link, const uint8_t *row_hash,
                       int64_t signed_ms, const char *signer, const uint8_t *sign_public,
                       const uint8_t *signature);
/* Items published since start. */
uint64_t feed_published(const feed_t *self);
/* The subscriptions the readers hold now (one per topic prefix each; a
 * reader that leaves drops its own).  Reads the socket's news of them;
 * call it often (the ingest loop does, for its metric). */
size_t feed_subscriptions(feed_t *self);

#endif
