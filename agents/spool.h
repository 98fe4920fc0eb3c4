/*
 * spool: the agent's durable outbox, an SQLite database in WAL mode with
 * synchronous=FULL.  A result is given its sequence number, message id and
 * envelope bytes in one transaction, and only after that transaction has
 * committed is anyone told it is queued.  The envelope bytes never change
 * afterwards: every retransmission, after any restart, is the same message
 * with the same id.  Messages are never deleted; an Ack marks them done
 * (ACCEPTED or DUPLICATE) or REJECTED with the collector's reason, which
 * stays for the township staff to read.
 *
 * Several processes may open one spool (the running agent and `submit`);
 * SQLite's locking orders their writes.
 */
#ifndef TF_SPOOL_H
#define TF_SPOOL_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "identity.h"
#include "receipt.h"
#include "registry.h"
#include "report.h"

typedef struct _spool_t spool_t;

typedef enum {
	SPOOL_PENDING,          /* not yet answered */
	SPOOL_ACCEPTED,         /* stored by the collector */
	SPOOL_DUPLICATE,        /* the collector had it already: stored */
	SPOOL_REJECTED          /* refused; reason and detail kept */
} spool_state_t;

/* One pending message, as the forwarder needs it. */
typedef struct {
	int64_t sequence;
	uint8_t message_id[TF_MESSAGE_ID_LEN];
	char key[48];           /* unit/committee: one in flight at a time, so round 1
	                         * is answered before its runoff is sent */
	zframe_t *envelope;     /* owned */
} spool_msg_t;

typedef struct {
	int64_t pending;        /* not answered, never sent */
	int64_t in_flight;      /* not answered, sent at least once */
	int64_t accepted;       /* ACCEPTED or DUPLICATE */
	int64_t rejected;
	int64_t oldest_pending_ms;      /* created time of the oldest unanswered; 0 if none */
	int64_t last_acked_sequence;
} spool_stats_t;

/* Open (creating if need be) dir/spool.db.  NULL with the reason in err. */
spool_t *spool_open(const char *dir, char *err, size_t errlen);
void spool_close(spool_t **self_p);
/* The number a new spool gives its first message (from the clock when the
 * spool was created); -1 on error. */
int64_t spool_first_sequence(spool_t *self);

/* The content hash spool_enqueue's callers give as source_sha256: the
 * SHA-256 of the report's canonical JSON (tf_report_to_json, compact).
 * The same figures queued again, from any file or form, are recognised by
 * it.  0, or -1 out of memory. */
int spool_content_sha256(const tf_report_t *report, uint8_t digest[32]);

/* Queue a report for sending.  If a file with the same content was queued
 * before, nothing is added and *existed is set.  On success *sequence and
 * message_id say what it is now.  0, or -1 with err. */
int spool_enqueue(spool_t *self, const char *agent_id, const tf_identity_t *signer,
                  const tf_report_t *report,
                  const char *source, const uint8_t source_sha256[32], int64_t *sequence,
                  uint8_t message_id[TF_MESSAGE_ID_LEN], bool *existed, char *err,
                  size_t errlen);

/* A batch: the spool_enqueue calls between these are one transaction, so
 * one durable commit (one sync of the spool) for them all; an enqueue
 * that fails undoes only itself.  Nothing of the batch is on disk, nor
 * may be said to be queued, before spool_batch_commit returns 0 (-1: none
 * of it is stored).  begin: 0, or -1 if the spool is busy or unwritable. */
int spool_batch_begin(spool_t *self);
int spool_batch_commit(spool_t *self);
/* End a batch storing none of it (a caller that found one of its reports
 * unsound after the first enqueues: all or nothing). */
void spool_batch_abort(spool_t *self);

/* The latest revision queued for (unit, committee word, round), whatever
 * its state: 0 and *revision = 0 when there is none, else 0 with its
 * revision, its source_sha256 and its state.  -1 on error (logged).  For
 * a caller that numbers revisions itself (the spreadsheet): inside a
 * batch, the answer holds until the batch ends. */
int spool_latest_revision(spool_t *self, const char *unit, const char *committee,
                          unsigned round, unsigned *revision, uint8_t sha256[32],
                          spool_state_t *state);

/* Up to max unanswered messages in sequence order, sequence > after.
 * *msgs is allocated (free with spool_msgs_free).  Returns the count or -1. */
int spool_unanswered(spool_t *self, int64_t after, size_t max, spool_msg_t **msgs);
void spool_msgs_free(spool_msg_t **msgs, size_t count);

/* Record sends (attempt counts, last send time) in one transaction. */
int spool_note_sent(spool_t *self, const int64_t *sequences, size_t count, int64_t now_ms);

/* An answer for one message, to be recorded by spool_commit_answers. */
typedef struct {
	uint8_t message_id[TF_MESSAGE_ID_LEN];
	spool_state_t state;
	int reason;
	char detail[TF_DETAIL_MAX];
	bool has_receipt;
	tf_receipt_fields_t receipt;    /* checked by the caller */
} spool_answer_t;

/* Record answers, and keep their receipts, in one durable transaction.
 * 0 or -1. */
int spool_commit_answers(spool_t *self, const spool_answer_t *answers, size_t count,
                         int64_t now_ms);

int spool_stats(spool_t *self, spool_stats_t *out);
/* A number that changes whenever the spool does, by this handle or
 * another process's (`submit`): a reader that saw the same number last
 * time has nothing new to read.  Cheap: no table is read. */
uint64_t spool_generation(spool_t *self);

/* The state of one message (and, if rejected, why).  0, or -1 if there is
 * no such message. */
int spool_get(spool_t *self, int64_t sequence, spool_state_t *state, char *reason,
              size_t reason_len, char *detail, size_t detail_len);

/* Call fn for each message in a state (all states if state < 0), in
 * sequence order. */
typedef void (spool_row_fn)(void *arg, int64_t sequence, const char *source, const char *key,
                            spool_state_t state, int attempts, int64_t created_ms,
                            const char *reason, const char *detail);
int spool_foreach(spool_t *self, int state, spool_row_fn *fn, void *arg);

/* Every unanswered envelope's bytes, in sequence order, for a bundle. */
int spool_unanswered_envelopes(spool_t *self, zlist_t *frames);

/* A receipt kept, and the message it is for. */
typedef struct {
	int64_t sequence;
	char unit[TF_CODE_LEN + 1];
	char committee[24];
	unsigned round, revision;
	int64_t taken_ms;               /* when the agent checked and kept it */
	const uint8_t *bytes;           /* as kept (a serialized Receipt) */
	size_t len;
	tf_receipt_fields_t fields;     /* what it says */
} spool_receipt_t;

/* Call fn for each receipt kept (of unit's messages only, unless unit is
 * NULL), in sequence order; fn returns 0 to go on.  0, or fn's non-zero
 * return, or -1. */
typedef int (spool_receipt_fn)(void *arg, const spool_receipt_t *receipt);
int spool_foreach_receipt(spool_t *self, const char *unit, spool_receipt_fn *fn, void *arg);

/* What a posting sheet of message sequence needs: its envelope (owned by
 * the caller) and the receipt of its storing (the first ACCEPTED or
 * DUPLICATE one).  0; 1 with why if it has none (not stored, no such
 * message); -1 with why on a spool error. */
int spool_posted(spool_t *self, int64_t sequence, zframe_t **envelope,
                 tf_receipt_fields_t *receipt, char *why, size_t whylen);
/* The envelope bytes of one message, as sent (owned), or NULL if there is
 * no such message or its row is damaged.  Read-only: for the entry desk,
 * which shows what was sent. */
zframe_t *spool_envelope(spool_t *self, int64_t sequence);

const char *spool_state_name(spool_state_t state);

#endif
