/*
 * batch: the messages of one transaction (see batch.h).
 */
#include "batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

batch_t *
batch_new(int max)
{
	batch_t *self;

	assert(max > 0);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->max = max;
	self->items = calloc((size_t)max, sizeof *self->items);
	self->entries = calloc((size_t)max, sizeof *self->entries);
	self->budget = tf_budget_new(BATCH_MEMORY_MAX, NULL);
	if (self->budget != NULL)
		self->message_budget = tf_budget_new(TF_DECODE_MAX, self->budget);
	if (self->items == NULL || self->entries == NULL || self->message_budget == NULL)
		batch_destroy(&self);
	return self;
}

void
batch_item_clear(batch_item_t *item)
{
	zframe_destroy(&item->reply);
	zframe_destroy(&item->raw);
	tf_envelope_destroy(&item->envelope);
	tf_report_destroy(&item->report);
	if (item->heartbeat != NULL)
		tallyfeed__heartbeat__free_unpacked(item->heartbeat, NULL);
	memset(item, 0, sizeof *item);
}

void
batch_clear(batch_t *self)
{
	for (int i = 0; i < self->count; i++)
		batch_item_clear(&self->items[i]);
	self->count = 0;
	self->transactions = 0;
	self->write_us = 0;
	self->head_signed = false;
	self->signer = NULL;
	tf_budget_reset(self->message_budget);
	tf_budget_reset(self->budget);
}

void
batch_destroy(batch_t **self_p)
{
	batch_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	if (self->items != NULL)
		batch_clear(self);
	free(self->items);
	free(self->entries);
	tf_budget_destroy(&self->message_budget);
	tf_budget_destroy(&self->budget);
	free(self);
	*self_p = NULL;
}

bool
batch_full(const batch_t *self, size_t worst)
{
	return self->count >= self->max || tf_budget_left(self->budget) < worst;
}
