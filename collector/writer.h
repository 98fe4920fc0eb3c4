/*
 * writer: the thread that owns the collector's database connection, so
 * that the loop never waits on PostgreSQL.  The loop hands it a batch; it
 * writes the batch in one transaction (results, quarantine, heartbeats,
 * the chain's signed head) and hands it back once the COMMIT has returned,
 * each item that transaction stored marked stored.  If the database
 * refused the batch for its data, it stores what it can one message at a
 * time.  A failure of the moment (the connection lost, a lock or statement
 * timeout, a deadlock, the disk full) is tried again with the same batch,
 * with backoff, until it commits or the writer is told to stop: an item
 * not marked stored was not committed, and is not to be acknowledged.
 */
#ifndef TF_WRITER_H
#define TF_WRITER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "store.h"

typedef struct _writer_t writer_t;

/* A writer over store, which it takes (*store_p becomes NULL); NULL if the
 * thread could not start (the store is then still the caller's). */
writer_t *writer_new(store_t **store_p);
/* End the thread and close the store.  Only while writer_idle: a batch
 * with the writer is the caller's to wait for (writer_stop hastens it). */
void writer_destroy(writer_t **self_p);

/* Readable (for a poller) when a batch comes back. */
zsock_t *writer_sock(writer_t *self);

/* Hand over batch (the writer must be idle); 0, or -1 if it could not be
 * sent (it is then still the caller's). */
int writer_submit(writer_t *self, batch_t *batch);
/* The batch back, once writer_sock is readable (NULL if nothing came). */
batch_t *writer_collect(writer_t *self);

/* No batch with the writer. */
bool writer_idle(const writer_t *self);
/* How long the batch in hand has been with the writer, in ms (0: idle). */
int64_t writer_busy_ms(const writer_t *self);
/* The database answered the last time the writer asked (for the gauge). */
bool writer_database_up(const writer_t *self);

/* From the loop, on the way out: stop trying the batch in hand again,
 * cancel the statement running; the batch comes back with what was
 * committed marked stored. */
void writer_stop(writer_t *self);
#endif
