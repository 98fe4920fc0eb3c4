/*
 * writer: the collector's database thread (see writer.h).
 *
 * A CZMQ actor: the loop sends "BATCH" and a pointer on the actor's pipe,
 * the thread answers "DONE" and the same pointer.  Between the two the
 * batch is the thread's (batch.h says which fields the loop may still
 * touch); the pipe's messages order every write of one side before every
 * read of the other.
 */
#include "writer.h"
#include "db.h"
#include "log.h"

#include <assert.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MIN_MS 100        /* first wait before a batch is tried again */
#define RETRY_MAX_MS 5000
#define WAIT_STEP_MS 100        /* how often a wait looks at the stop flag */
#define SPLIT_AFTER 3           /* failures of a batch, the connection up, before it is split */

struct _writer_t {
	zactor_t *actor;
	store_t *store;
	atomic_bool stopping;           /* give up retrying */
	_Atomic int64_t busy_since;     /* zclock_mono() when the batch went; 0: idle */
	atomic_bool database_up;
};

/* Sleep ms, in steps, unless told to stop; false if told. */
static bool
s_wait(writer_t *self, int ms)
{
	for (int waited = 0; waited < ms; waited += WAIT_STEP_MS) {
		if (atomic_load(&self->stopping))
			return false;
		zclock_sleep(WAIT_STEP_MS);
	}
	return !atomic_load(&self->stopping);
}

/* The verdict for a result from what the store found. */
static void
s_result_verdict(batch_item_t *item, store_outcome_t outcome)
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
}

static int
s_quarantine(writer_t *self, batch_item_t *item)
{
	return store_quarantine(self->store, item->envelope, zframe_data(item->raw),
	                        zframe_size(item->raw), item->keep, item->check.reason,
	                        item->check.detail, &item->written, &item->row);
}

/* The head the commit signed, for the loop to publish. */
static void
s_note_head(writer_t *self, batch_t *b)
{
	const char *chain;
	const uint8_t *hash, *signature;
	const tf_peer_t *signer;
	int64_t link, signed_ms;

	if (!store_signed_head(self->store, &chain, &link, &hash, &signed_ms, &signature, &signer))
		return;
	b->head_signed = true;
	snprintf(b->chain, sizeof b->chain, "%s", chain);
	b->link = link;
	memcpy(b->row_hash, hash, TF_HASH_LEN);
	b->signed_ms = signed_ms;
	memcpy(b->signature, signature, TF_SIGNATURE_LEN);
	b->signer = signer;
}

/* Store items [from, to) in one transaction; 0 if committed.  Results go
 * in one COPY per table; the rare refused message and the periodic
 * heartbeat one statement each. */
static int
s_store_range(writer_t *self, batch_t *b, int from, int to)
{
	size_t n = 0;

	if (store_begin(self->store) != 0)
		goto fail;
	for (int i = from; i < to; i++) {
		batch_item_t *item = &b->items[i];

		item->written = false;
		item->row = (store_row_t){ .link = 0 };
		if (item->action != BATCH_RESULT)
			continue;
		b->entries[n] = (store_entry_t){
			.envelope = item->envelope, .raw = zframe_data(item->raw),
			.raw_len = zframe_size(item->raw), .report = item->report,
			.check = &item->check
		};
		item->entry = n++;
	}
	if (store_results(self->store, b->entries, n) != 0)
		goto fail;
	for (int i = from; i < to; i++) {
		batch_item_t *item = &b->items[i];
		int rc = 0;

		switch (item->action) {
		case BATCH_RESULT:
			s_result_verdict(item, b->entries[item->entry].outcome);
			item->row = b->entries[item->entry].row;
			if (item->verdict == TALLYFEED__VERDICT__VERDICT_REJECTED)
				rc = s_quarantine(self, item);
			break;
		case BATCH_QUARANTINE:
			rc = s_quarantine(self, item);
			break;
		case BATCH_HEARTBEAT:
			/* A failed attempt before may have said DUPLICATE. */
			item->verdict = TALLYFEED__VERDICT__VERDICT_ACCEPTED;
			rc = store_heartbeat(self->store, item->envelope, item->heartbeat,
			                     item->author.township);
			if (rc == 1) {
				/* A replayed or overtaken heartbeat: nothing changed. */
				item->verdict = TALLYFEED__VERDICT__VERDICT_DUPLICATE;
				snprintf(item->check.detail, sizeof item->check.detail,
				         "older than the newest heartbeat stored for this agent; "
				         "not applied");
				rc = 0;
			}
			break;
		case BATCH_REFUSE:
		case BATCH_DEFER:
		case BATCH_IGNORE:
			break;          /* nothing of theirs is stored */
		}
		if (rc != 0)
			goto fail;
	}
	if (store_commit(self->store) != 0)
		return -1;
	s_note_head(self, b);
	store_timing(self->store, &b->timing);
	b->transactions++;
	for (int i = from; i < to; i++)
		b->items[i].stored = true;
	return 0;
fail:
	store_rollback(self->store);
	/* Rolled back: no row a receipt could name exists. */
	for (int i = from; i < to; i++)
		b->items[i].row = (store_row_t){ .link = 0 };
	return -1;
}

/* Try [from, to) until it commits (0).  -1 if it fails for its data, if
 * the writer is told to stop, or if a range of several messages has
 * failed SPLIT_AFTER times in a row with the connection up: a batch that
 * times out every time (too big for a slow server) is then stored one
 * message at a time rather than tried whole for ever. */
static int
s_store_until(writer_t *self, batch_t *b, int from, int to)
{
	int backoff = RETRY_MIN_MS;
	int failed = 0, raced = 0;

	while (!atomic_load(&self->stopping)) {
		if (!store_ready(self->store)) {        /* reconnects, with its own backoff */
			atomic_store(&self->database_up, false);
			if (!s_wait(self, WAIT_STEP_MS))
				break;
			continue;
		}
		atomic_store(&self->database_up, true);
		if (s_store_range(self, b, from, to) == 0)
			return 0;
		/* Another session (a second collector sent the same message, an
		 * import) committed a row of this range after its checks read:
		 * tried again at once, the checks see that row and answer by it
		 * (DUPLICATE naming it, or REVISION_EXISTS).  Taken for bad data,
		 * the batch was split and such a message answered DEFERRED
		 * (STORE_REFUSED), an alarm for the operator.  Each such failure
		 * takes one message out of what is written, so a range meets at
		 * most as many as it holds; more is no race, and goes the way of
		 * any other error. */
		if (store_lost_race(self->store) && raced++ < to - from) {
			log_info("%d message(s): one was stored by another session meanwhile (SQLSTATE "
			         "23505, %s); checking them again", to - from,
			         tf_db_failure_constraint());
			continue;
		}
		if (!store_retryable(self->store))
			return -1;
		if (to - from > 1 && store_ready(self->store) && ++failed >= SPLIT_AFTER) {
			log_warnx("%d message(s) failed %d times together (SQLSTATE %s); storing them "
			          "one at a time", to - from, failed, tf_db_failure_state());
			return -1;
		}
		log_warnx("%d message(s) not stored yet (%s%s): trying again in %d ms; none is "
		          "acknowledged before its commit", to - from,
		          tf_db_failure_state()[0] != '\0' ? "SQLSTATE " : "the connection",
		          tf_db_failure_state()[0] != '\0' ? tf_db_failure_state() : " is lost",
		          backoff);
		if (!s_wait(self, backoff))
			break;
		backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
	}
	return -1;
}

/* A message the database refuses to store, alone, for what is in it (a
 * constraint the checks before missed, a trigger's error): answered
 * DEFERRED with the server's reason, so its agent keeps it and sends it
 * again after its backoff (stored then, once the cause is mended) instead
 * of waiting out its resend timer into the same failure; the operator
 * reads the SQLSTATE in the log and in tallyfeed_collector_store_refused_total. */
static void
s_refused_by_store(batch_item_t *item)
{
	char id[2 * TF_MESSAGE_ID_LEN + 1] = "-";

	if (item->envelope != NULL)
		tf_message_id_hex(item->envelope->message_id.data, item->envelope->message_id.len, id);
	item->verdict = TALLYFEED__VERDICT__VERDICT_DEFERRED;
	item->check.reason = TALLYFEED__REASON__REASON_STORE_REFUSED;
	snprintf(item->check.detail, sizeof item->check.detail,
	         "the collector's database refused to store it (SQLSTATE %s); nothing stored: "
	         "the collector's operator is told, send it again later",
	         tf_db_failure_state()[0] != '\0' ? tf_db_failure_state() : "none");
	item->store_refused = true;
	item->stored = true;    /* answered; nothing of it is written */
	item->written = false;
	item->row = (store_row_t){ .link = 0 };
	log_warnx("the database refused to store message %s (SQLSTATE %s): answered DEFERRED, "
	          "nothing stored; its agent will send it again", id,
	          tf_db_failure_state()[0] != '\0' ? tf_db_failure_state() : "none");
}

static void
s_write(writer_t *self, batch_t *b)
{
	int64_t began = zclock_usecs();

	if (s_store_until(self, b, 0, b->count) != 0 && !atomic_load(&self->stopping)) {
		/* The database refused the batch: find the message it refuses
		 * by storing one at a time. */
		log_warnx("batch of %d not stored; trying one message at a time", b->count);
		for (int i = 0; i < b->count && !atomic_load(&self->stopping); i++)
			if (s_store_until(self, b, i, i + 1) != 0 && !atomic_load(&self->stopping))
				s_refused_by_store(&b->items[i]);
	}
	b->write_us = zclock_usecs() - began;
}

static void
s_actor(zsock_t *pipe, void *arg)
{
	writer_t *self = arg;
	sigset_t all;

	/* Signals are the loop's: one delivered here would interrupt the
	 * pipe's read and end the thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	zsock_signal(pipe, 0);
	for (;;) {
		zmsg_t *msg = zmsg_recv(pipe);
		char *command;
		zframe_t *frame;
		batch_t *b = NULL;

		if (msg == NULL)
			break;          /* interrupted */
		command = zmsg_popstr(msg);
		if (command != NULL && strcmp(command, "$TERM") == 0) {
			zstr_free(&command);
			zmsg_destroy(&msg);
			break;
		}
		frame = zmsg_pop(msg);
		if (command != NULL && strcmp(command, "BATCH") == 0 && frame != NULL
		    && zframe_size(frame) == sizeof b) {
			memcpy(&b, zframe_data(frame), sizeof b);
			s_write(self, b);
			zsock_send(pipe, "sp", "DONE", b);
		} else
			log_warnx("writer: unexpected command %s", command != NULL ? command : "(none)");
		zframe_destroy(&frame);
		zstr_free(&command);
		zmsg_destroy(&msg);
	}
}

writer_t *
writer_new(store_t **store_p)
{
	writer_t *self;

	assert(store_p != NULL && *store_p != NULL);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->store = *store_p;
	atomic_init(&self->stopping, false);
	atomic_init(&self->busy_since, 0);
	atomic_init(&self->database_up, true);
	self->actor = zactor_new(s_actor, self);
	if (self->actor == NULL) {
		free(self);
		return NULL;
	}
	*store_p = NULL;
	return self;
}

void
writer_destroy(writer_t **self_p)
{
	writer_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	assert(writer_idle(self));
	zactor_destroy(&self->actor);
	store_destroy(&self->store);
	free(self);
	*self_p = NULL;
}

zsock_t *
writer_sock(writer_t *self)
{
	return zactor_sock(self->actor);
}

int
writer_submit(writer_t *self, batch_t *batch)
{
	assert(writer_idle(self) && batch != NULL);
	atomic_store(&self->busy_since, zclock_mono());
	if (zsock_send(self->actor, "sp", "BATCH", batch) != 0) {
		atomic_store(&self->busy_since, 0);
		return -1;
	}
	return 0;
}

batch_t *
writer_collect(writer_t *self)
{
	char *command = NULL;
	void *batch = NULL;

	if (zsock_recv(self->actor, "sp", &command, &batch) != 0)
		return NULL;
	if (command == NULL || strcmp(command, "DONE") != 0)
		batch = NULL;
	zstr_free(&command);
	if (batch != NULL)
		atomic_store(&self->busy_since, 0);
	return batch;
}

bool
writer_idle(const writer_t *self)
{
	return atomic_load(&((writer_t *)self)->busy_since) == 0;
}

int64_t
writer_busy_ms(const writer_t *self)
{
	int64_t since = atomic_load(&((writer_t *)self)->busy_since);

	return since == 0 ? 0 : zclock_mono() - since;
}

bool
writer_database_up(const writer_t *self)
{
	return atomic_load(&((writer_t *)self)->database_up);
}

void
writer_stop(writer_t *self)
{
	atomic_store(&self->stopping, true);
	store_cancel(self->store);
}
