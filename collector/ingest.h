/*
 * ingest: the collector's loop, which never waits on the database.  It
 * reads the ROUTER socket, decodes and validates each message, and gathers
 * them in a batch; the writer (writer.h), a thread with the database
 * connection, writes a batch in one transaction while the next gathers,
 * and the loop sends each agent its Ack only after the COMMIT that stored
 * its message has returned.  Group commit: a batch goes the moment the
 * writer is free, so an idle collector writes each message as it comes and
 * a busy one in batches of up to batch_max; no timer waits.
 *
 * While the writer is busy and the next batch is full, the loop stops
 * reading (ZeroMQ holds what comes, then the agents' queues and TCP).  Once
 * the batch with the writer has waited past stall_ms (a lock, a frozen or
 * lost server), the loop reads on and answers each new message DEFERRED
 * (COLLECTOR_BUSY: the agent sends it again after its own backoff), and a
 * resend of a message not yet answered, byte for byte, is dropped: its
 * answer goes where the resend came from.  The loop keeps turning
 * throughout (the watchdog and /healthz see it); /readyz says the stall.
 *
 * Trust, in the order it is checked: the connection's CURVE key (already
 * admitted by ZAP) must still be enrolled, or the message is ignored and
 * the refusal logged (a revoked agent); the agent must be under its rate
 * limits (messages and bytes a second), or the message is DEFERRED
 * (nothing stored; the agent sends it again); the envelope's agent id must
 * be the certificate's, or it is refused AGENT_MISMATCH and not stored;
 * then the protocol version (1 only where accepted) and the Ed25519
 * signature over the whole envelope, the township and the election rules,
 * whose failures are quarantined.  A heartbeat older than the newest
 * stored for its agent is not applied.
 *
 * Memory: every decode runs within a budget (daemon/budget.h) of
 * TF_DECODE_MAX per message and INGEST_BATCH_MEMORY_MAX per batch; a
 * message over it is quarantined DECODE_TOO_LARGE.  The quarantine keeps
 * identical bytes once, and each sender's refused frames whole only up to
 * quarantine_per_hour bytes (logged once a minute past it).
 */
#ifndef TF_INGEST_H
#define TF_INGEST_H

#include <czmq.h>
#include <signal.h>

#include "enrolment.h"
#include "feed.h"
#include "identity.h"
#include "metrics.h"
#include "registry.h"
#include "rules.h"
#include "store.h"

typedef struct {
	int batch_max;          /* messages per transaction */
	int stall_ms;           /* a commit waited this long is a stall: defer new messages */
	tf_rules_config_t rules;
	double rate_per_s;      /* messages per second per agent (0: no limit) */
	double rate_burst;      /* messages an agent may send at once */
	double byte_rate_per_s; /* bytes of frames per second per sender, agents and
	                           importers alike (0: no limit) */
	double byte_burst;      /* bytes a sender may send at once */
	double quarantine_per_hour;     /* bytes of refused frames kept whole per sender
	                                   per hour; past it only their SHA-256, size,
	                                   reason and first bytes */
	bool accept_protocol_1; /* take envelopes whose signature covers only the payload */
} ingest_config_t;

/* The first bytes of a refused frame kept past its sender's quarantine
 * budget. */
#define INGEST_QUARANTINE_HEAD 256

typedef struct _ingest_t ingest_t;

/* The ingest loop over a bound ROUTER socket (borrowed, like registry and
 * signer, the collector's identity, which signs every Ack's receipt);
 * it takes the store for its writer (*store_p becomes NULL).  NULL if out
 * of memory (the store is then still the caller's). */
ingest_t *ingest_new(zsock_t *router, store_t **store_p, const tf_registry_t *registry,
                     const tf_identity_t *signer, const ingest_config_t *config);
/* Only if ingest_drained. */
void ingest_destroy(ingest_t **self_p);
/* False if the last run, told to stop, left with a write the database
 * never answered: the process should exit without freeing (the writer's
 * thread is still in it). */
bool ingest_drained(const ingest_t *self);

/* New settings, between runs, with batches still in hand: they apply to
 * messages read from now on (a new batch_max to each batch as it is next
 * empty). */
void ingest_set_config(ingest_t *self, const ingest_config_t *config);

/* The certificates to judge connections by (borrowed).  May be replaced
 * between runs, with batches in hand: their messages carry copies of what
 * they need of it. */
void ingest_set_enrolment(ingest_t *self, const tf_enrolment_t *enrolment);

/* Publish every answered result on feed, and count what happens in
 * metrics (both borrowed; declared here: call once, before any scrape). */
int ingest_set_outputs(ingest_t *self, feed_t *feed, tf_metrics_t *metrics);

/* The gauges /readyz goes by, after the above: the database is up (1), and
 * how long a commit has stalled (0: none). */
const tf_metric_t *ingest_database_up(const ingest_t *self);
const tf_metric_t *ingest_database_stalled(const ingest_t *self);

/* Log the failed handshakes a zmonitor of the ROUTER reports (borrowed). */
void ingest_watch(ingest_t *self, zactor_t *monitor);

/* Run until *stop or *reload becomes non-zero.  A stop writes and answers
 * the batches in hand first (it waits at most about 15 s on the database);
 * a reload returns at once, whatever the writer is doing, and the caller
 * handles it and runs again. */
void ingest_run(ingest_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

#endif
