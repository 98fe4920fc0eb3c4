/*
 * ingest: the collector's loop.  Drains the ROUTER socket in batches
 * (bounded by count and time), decodes and validates each message, writes
 * the whole batch in one transaction, and only after COMMIT sends each
 * agent its Ack.  When the database is away it stops reading — agents keep
 * their messages — and resumes by itself when it returns.
 */
#ifndef TF_INGEST_H
#define TF_INGEST_H

#include <czmq.h>
#include <signal.h>

#include "registry.h"
#include "rules.h"
#include "store.h"

typedef struct {
	int batch_max;          /* messages per transaction */
	int batch_wait_ms;      /* how long a batch waits to fill after its first message */
	tf_rules_config_t rules;
} ingest_config_t;

typedef struct _ingest_t ingest_t;

/* The ingest loop over a bound ROUTER socket; borrows all three. */
ingest_t *ingest_new(zsock_t *router, store_t *store, const tf_registry_t *registry,
                     const ingest_config_t *config);
void ingest_destroy(ingest_t **self_p);

/* Run until *stop becomes non-zero; finishes the batch in hand first. */
void ingest_run(ingest_t *self, volatile sig_atomic_t *stop);

#endif
