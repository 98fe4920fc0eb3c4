/*
 * forwarder: the running agent's loop.  Takes unanswered messages from the
 * spool in sequence order, keeps a window of them in flight on a DEALER
 * socket, sends each again (the same bytes) when its answer is overdue,
 * with a doubling timeout capped at retry_max_ms, for as long as it takes,
 * records each Ack in the spool once its receipt is checked (an answer
 * without a sound receipt of this very message is not taken: the message
 * is sent again), sends a heartbeat now and then, and takes
 * in the result files township staff drop in the inbox (inbox.h).
 *
 * Only one message per (unit, committee) is in flight at a time, so a
 * unit's revisions and rounds reach the collector in the order they were
 * queued (a runoff is refused unless its round 1 is stored).
 */
#ifndef TF_FORWARDER_H
#define TF_FORWARDER_H

#include <signal.h>

#include "identity.h"
#include "metrics.h"
#include "registry.h"
#include "rules.h"
#include "spool.h"

typedef struct forwarder_config {
	const char *agent_id;
	const tf_identity_t *identity;  /* signs every payload; CURVE keys for the link */
	const char *collector_key;      /* the collector's CURVE public key (Z85) */
	const tf_peer_t *collector;     /* its certificate: who signs every receipt */
	const char *endpoint;           /* the collector */
	const char *inbox;              /* directory watched for result files; NULL for none */
	const char *township;           /* the only township it may report for; may be NULL */
	const tf_registry_t *registry;  /* may be NULL */
	int window;                     /* messages in flight */
	int timeout_ms;                 /* first wait for an answer */
	int retry_max_ms;               /* cap of the doubling wait */
	int heartbeat_ms;               /* between heartbeats */
	tf_rules_config_t rules;
	tf_metrics_t *metrics;          /* series declared by forwarder_run; may be NULL */
	/* SIGHUP: fill a copy of the settings anew (0), or say why not (-1, the
	 * old ones stay).  NULL: nothing to reload. */
	int (*reload)(void *arg, struct forwarder_config *fresh, char *err, size_t errlen);
	void *reload_arg;
} forwarder_config_t;

/* Run until *stop is set; when *reload is set, take new settings from
 * config->reload (a new collector endpoint or certificate reconnects; what
 * is in flight is sent again on the new link).  Returns 0 on a clean stop,
 * -1 if the socket or the spool failed. */
int forwarder_run(spool_t *spool, forwarder_config_t *config, volatile sig_atomic_t *stop,
                  volatile sig_atomic_t *reload);

#endif
