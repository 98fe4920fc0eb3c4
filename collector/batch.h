/*
 * batch: the messages of one transaction, from arrival to their Acks.
 *
 * The loop (ingest) fills a batch and hands it to the writer; two batches
 * take turns, one being written while the other fills.  While the writer
 * has a batch, the loop touches only each item's reply (where its Ack
 * goes: a resend on a new connection moves it there), and the writer only
 * what storing decides: outcome, verdict, check, written, stored.
 */
#ifndef TF_BATCH_H
#define TF_BATCH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "chain.h"
#include "envelope.h"
#include "identity.h"
#include "report.h"
#include "rules.h"
#include "store.h"

typedef enum {
	BATCH_RESULT,           /* store the report */
	BATCH_HEARTBEAT,        /* store the agent's state */
	BATCH_QUARANTINE,       /* keep the raw bytes and the reason */
	BATCH_REFUSE,           /* answer REJECTED, store nothing: not this agent's to send */
	BATCH_DEFER,            /* answer DEFERRED, store nothing: over the rate limit */
	BATCH_IGNORE            /* answer nothing, store nothing: the key is not enrolled */
} batch_action_t;

struct ingest_bucket;

/* One message. */
typedef struct {
	zframe_t *reply;        /* the ROUTER's routing id to answer (the loop's) */
	zframe_t *raw;          /* the frame as received */
	/* Copies, not pointers into the enrolment: a reload (SIGHUP) replaces
	 * the table while batches are still with the writer. */
	tf_peer_t sender;       /* whose CURVE key the connection used */
	tf_peer_t author;       /* whose signature the payload must carry */
	bool enrolled;          /* sender holds an enrolled certificate */
	struct ingest_bucket *bucket;   /* the sender's, or NULL */
	tf_envelope_t *envelope;        /* NULL if it did not decode */
	tf_report_t *report;
	Tallyfeed__Heartbeat *heartbeat;
	tf_check_t check;       /* reason, detail, warnings */
	batch_action_t action;
	Tallyfeed__Verdict verdict;
	size_t keep;            /* bytes of raw to keep if it is quarantined */
	bool cut;               /* keep < its size: its sender is over its quarantine budget */
	bool charged;           /* its bytes were taken from its sender's quarantine budget */
	bool written;           /* its quarantine row was added (not a copy of one kept) */
	bool stored;            /* its transaction committed */
	bool store_refused;     /* alone, the database refused it: answered DEFERRED */
	size_t entry;           /* its index in the batch's store entries */
	store_row_t row;        /* the chain row that holds it, for its receipt */
} batch_item_t;

typedef struct {
	batch_item_t *items;
	store_entry_t *entries; /* the results, for the store */
	int count;
	int max;
	tf_budget_t *budget;            /* frames held and what decoding them took */
	tf_budget_t *message_budget;    /* the message being decoded, within budget */
	/* What the writer reports: */
	int transactions;       /* committed */
	int64_t write_us;       /* from the first BEGIN to the last COMMIT */
	store_timing_t timing;  /* of its last transaction */
	int64_t waited_ms;      /* from its handing over to its coming back (the loop's) */
	bool head_signed;       /* a commit moved the chain; its last signed head: */
	char chain[TF_CHAIN_NAME_MAX + 1];
	int64_t link;
	uint8_t row_hash[TF_HASH_LEN];
	int64_t signed_ms;
	uint8_t signature[TF_SIGNATURE_LEN];
	const tf_peer_t *signer;
} batch_t;

/* Memory one batch may hold: its frames as received and what decoding
 * them took. */
#define BATCH_MEMORY_MAX (32 * 1024 * 1024)

/* A batch of at most max messages; NULL if out of memory. */
batch_t *batch_new(int max);
void batch_destroy(batch_t **self_p);
/* Free every item, forget what the writer reported, reset the budgets. */
void batch_clear(batch_t *self);
/* No room for another message: max of them, or less memory left than one
 * can bring (worst, bytes). */
bool batch_full(const batch_t *self, size_t worst);
/* Free one item's frames and decodes. */
void batch_item_clear(batch_item_t *item);

#endif
