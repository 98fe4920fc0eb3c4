/*
 * store: the collector's PostgreSQL writer.  It owns the connection,
 * reconnects with backoff when the database goes away, and writes a batch
 * of verdicts in one transaction — results, quarantined messages and
 * heartbeats — so that the collector can acknowledge them only after the
 * commit.  Message-id uniqueness is enforced in that same transaction.
 *
 * Every row it writes to the log (message, quarantine) takes the next link
 * of this collector's hash chain (daemon/chain.h); the chain's head is
 * written in the same transaction.  One collector writes one chain: a
 * second one with the same chain name is refused at connect.
 */
#ifndef TF_STORE_H
#define TF_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "chain.h"
#include "envelope.h"
#include "identity.h"
#include "registry.h"
#include "report.h"
#include "rules.h"

typedef struct _store_t store_t;

/* What became of one result of a batch. */
typedef enum {
	STORE_ACCEPTED,
	STORE_DUPLICATE,        /* this message id is stored already */
	STORE_REVISION_EXISTS,  /* another message holds this unit/committee/round/revision */
	STORE_REFUSED,          /* a check against what is stored failed: reason in check */
	STORE_DEFERRED          /* its earlier round is not stored yet: reason in check */
} store_outcome_t;

/* The row of a chain that holds a message, as a receipt names it
 * (receipt.h): chain "" when there is none. */
typedef struct {
	char chain[TF_CHAIN_NAME_MAX + 1];
	int64_t link;
	uint8_t row_hash[TF_HASH_LEN];
	int64_t received_ms;
} store_row_t;

/* One accepted report of a batch, and (after store_results) its outcome. */
typedef struct {
	const tf_envelope_t *envelope;
	const uint8_t *raw;             /* the envelope's bytes as received */
	size_t raw_len;
	const tf_report_t *report;
	tf_check_t *check;              /* warnings, validity, seats filled; the store
	                                 * adds the W flags that need stored results,
	                                 * and the reason when it refuses */
	store_outcome_t outcome;
	store_row_t row;                /* ACCEPTED: its new row; DUPLICATE: the stored
	                                 * copy's (in the database, or earlier in the batch) */
	size_t copy_of;                 /* 1 + the index of an earlier copy in the batch, or 0 */
} store_entry_t;

/* How long the server lets this collector's session wait, in ms (0: no
 * limit): a statement, a lock, a transaction left open.  Each, past its
 * limit, fails the transaction, which is tried again (store_retryable). */
typedef struct {
	int statement_timeout_ms;
	int lock_timeout_ms;
	int idle_in_transaction_ms;
	/* collector/replication = synchronous: write only to a server that
	 * names synchronous standbys (synchronous_standby_names), so that a
	 * commit, and the ack after it, means the result is on two servers'
	 * disks.  Checked at every connect and every REPLICATION_CHECK_MS:
	 * a server without them is refused (disconnected, tried again with
	 * backoff; nothing is acknowledged meanwhile), one whose standbys do
	 * not stream now is written to with a warning (its commits wait). */
	bool synchronous;
} store_limits_t;

struct _tf_identity_t;
/* Connect now (the caller decides whether failure is fatal); NULL with err,
 * and *retry_later true if the failure is of the moment (no server
 * answers, the chain is held, no synchronous standby) rather than one the
 * server will answer the same way again (a schema not migrated, fsync
 * off, a bad chain name).  Every session it opens has limits (copied).
 * chain names this collector's hash chain (1 to 64 bytes); signer (the
 * collector's identity, borrowed) signs its head at each commit that
 * moves it (tallyfeed.signed_head, and a log line at most every 10 s). */
store_t *store_new(const char *conninfo, const char *chain, const struct _tf_identity_t *signer,
                   const store_limits_t *limits, bool *retry_later, char *err,
                   size_t errlen);
void store_destroy(store_t **self_p);

/* True if the connection is usable; if not, try to reconnect, at most once
 * per backoff interval (doubling from 0.5 s to 30 s).  Logs what it does. */
bool store_ready(store_t *self);

/* Read the registry from the database (owned by the caller), or NULL. */
tf_registry_t *store_load_registry(store_t *self, char *err, size_t errlen);

/* The head the last commit signed: true (and the head's fields set) if
 * that commit moved the chain; signature 64 bytes, signer the collector. */
bool store_signed_head(const store_t *self, const char **chain, int64_t *link,
                       const uint8_t **row_hash, int64_t *signed_ms, const uint8_t **signature,
                       const tf_peer_t **signer);

/* From any thread, while another works with the store: ask the server to
 * cancel the statement running, if any (its transaction then fails).  It
 * does not wait: the request goes from a thread of its own, once per
 * connection. */
void store_cancel(store_t *self);
/* After a failed call: true if the same transaction may succeed when tried
 * again (connection lost, timeout, deadlock, disk full: tf_db_retryable),
 * false if the data may be the cause. */
bool store_retryable(const store_t *self);
/* After a failed call: true if it failed on a unique key the checks look
 * at before writing (a message id, a unit/committee/round/revision): a row
 * another session committed after this transaction's checks read, as when
 * two collectors are sent the same message at once.  Its commit is seen
 * by the next check, so the same batch tried again is answered by what is
 * stored (DUPLICATE naming that row, or REVISION_EXISTS). */
bool store_lost_race(const store_t *self);

/* Where the last transaction's time went, in microseconds (for the
 * per-batch timing log). */
typedef struct {
	int64_t checks;         /* the query for what is stored already */
	int64_t rows;           /* building the COPY rows */
	int64_t copy;           /* the three COPYs */
	int64_t head;           /* signing and writing the chain's head */
	int64_t commit;         /* COMMIT, to its answer */
} store_timing_t;
void store_timing(const store_t *self, store_timing_t *timing);

int store_begin(store_t *self);
/* 0 if committed; -1 if not (nothing of the transaction is stored). */
int store_commit(store_t *self);
void store_rollback(store_t *self);

/* Within a transaction: a batch of accepted reports.  Finds the ones
 * stored already (by message id, also within the batch), the ones whose
 * (unit, committee, round, revision) another message holds, replayed
 * sequence numbers and runoffs without their round 1 (refused), flags
 * photos and figures seen at other units, and COPYs the rest into message,
 * result and candidate.  -1 on a database error (the transaction is lost). */
int store_results(store_t *self, store_entry_t *entries, size_t count);
/* Within a transaction: a refused message, kept with the first keep bytes
 * of its raw_len (all of them, or fewer past its sender's quarantine
 * budget), its size and the SHA-256 of them all.  envelope may be NULL
 * when the frame could not be decoded.  A message id, or bytes, quarantined
 * before are not stored twice.  *written (if not NULL) says whether a row
 * was added; *row is the row that holds the message: the new one, or the
 * one kept before (chain "" if none is found). */
int store_quarantine(store_t *self, const tf_envelope_t *envelope, const uint8_t *raw,
                     size_t raw_len, size_t keep, int reason, const char *detail,
                     bool *written, store_row_t *row);
/* Within a transaction: an agent's heartbeat, and the township its
 * certificate names.  Applied only if its envelope's creation time is
 * later than the newest heartbeat stored for the agent: 0 if applied, 1
 * if not (older or the same, e.g. replayed), -1 on a database error.  A
 * time ahead of the database's clock is kept as at most 5 minutes ahead,
 * so an agent whose clock ran fast and is set right is heard again within
 * 5 minutes. */
int store_heartbeat(store_t *self, const tf_envelope_t *envelope,
                    const Tallyfeed__Heartbeat *heartbeat, const char *township);

#endif
