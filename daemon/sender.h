/*
 * sender: delivers a set of envelopes to the collector over a DEALER
 * socket and collects one Ack per envelope.  A window of messages is in
 * flight at once; an unanswered message is sent again, byte for byte (same
 * message id, so the collector answers DUPLICATE if it had stored it), with
 * a doubling timeout, until it is answered or the retries run out.
 */
#ifndef TF_SENDER_H
#define TF_SENDER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "identity.h"

typedef struct {
	int window;             /* messages in flight at once */
	int timeout_ms;         /* first wait for an ack; doubles per retry */
	int retries;            /* sends after the first before giving up */
	const tf_identity_t *identity;  /* our CURVE keys (NULL: a plain-text link) */
	const char *server_key; /* the collector's CURVE public key (Z85), with identity */
	int64_t deadline;       /* zclock_mono() past which what is unanswered stays so
	                           (0: none) */
	bool any_answer;        /* one item: any Ack on its connection answers it, whatever
	                           message id it names (an envelope without a sound one) */
} sender_config_t;

/* One message to deliver and, after sender_deliver, its answer. */
typedef struct {
	zframe_t *frame;        /* the envelope as sent (owned by the caller) */
	uint8_t message_id[TF_MESSAGE_ID_LEN];
	bool answered;
	Tallyfeed__Verdict verdict;
	int reason;
	char detail[TF_DETAIL_MAX];
} sender_item_t;

/* Deliver items to endpoint.  Returns 0 when the socket worked (each item
 * says whether it was answered), -1 if the endpoint could not be used. */
int sender_deliver(const char *endpoint, const sender_config_t *config,
                   sender_item_t *items, size_t count);

#endif
