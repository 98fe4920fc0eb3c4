/*
 * budget: a counting protobuf-c allocator (see budget.h).
 */
#include "budget.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

struct _tf_budget_t {
	ProtobufCAllocator allocator;   /* allocator_data points back here */
	size_t limit;
	size_t used;
	bool exceeded;
	tf_budget_t *parent;
};

size_t
tf_budget_cost(size_t size)
{
	if (size > SIZE_MAX - 32)
		return SIZE_MAX;
	size = (size + 8 + 15) & ~(size_t)15;
	return size < 32 ? 32 : size;
}

static bool
s_fits(const tf_budget_t *self, size_t cost)
{
	for (const tf_budget_t *b = self; b != NULL; b = b->parent)
		if (cost > b->limit || b->used > b->limit - cost)
			return false;
	return true;
}

bool
tf_budget_charge(tf_budget_t *self, size_t bytes)
{
	assert(self != NULL);
	if (!s_fits(self, bytes)) {
		self->exceeded = true;
		for (tf_budget_t *b = self->parent; b != NULL; b = b->parent)
			if (bytes > b->limit || b->used > b->limit - bytes)
				b->exceeded = true;
		return false;
	}
	for (tf_budget_t *b = self; b != NULL; b = b->parent)
		b->used += bytes;
	return true;
}

static void *
s_alloc(void *data, size_t size)
{
	tf_budget_t *self = data;

	if (!tf_budget_charge(self, tf_budget_cost(size)))
		return NULL;
	return malloc(size ? size : 1);
}

static void
s_free(void *data, void *pointer)
{
	(void)data;
	free(pointer);
}

tf_budget_t *
tf_budget_new(size_t limit, tf_budget_t *parent)
{
	tf_budget_t *self;

	assert(limit > 0);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->allocator.alloc = s_alloc;
	self->allocator.free = s_free;
	self->allocator.allocator_data = self;
	self->limit = limit;
	self->parent = parent;
	return self;
}

void
tf_budget_destroy(tf_budget_t **self_p)
{
	assert(self_p != NULL);
	free(*self_p);
	*self_p = NULL;
}

ProtobufCAllocator *
tf_budget_allocator(tf_budget_t *self)
{
	assert(self != NULL);
	return &self->allocator;
}

size_t
tf_budget_used(const tf_budget_t *self)
{
	assert(self != NULL);
	return self->used;
}

size_t
tf_budget_limit(const tf_budget_t *self)
{
	assert(self != NULL);
	return self->limit;
}

size_t
tf_budget_left(const tf_budget_t *self)
{
	size_t left = SIZE_MAX;

	assert(self != NULL);
	for (const tf_budget_t *b = self; b != NULL; b = b->parent)
		if (b->limit - b->used < left)
			left = b->limit - b->used;
	return left;
}

bool
tf_budget_exceeded(const tf_budget_t *self)
{
	assert(self != NULL);
	return self->exceeded;
}

void
tf_budget_reset(tf_budget_t *self)
{
	assert(self != NULL);
	self->used = 0;
	self->exceeded = false;
}
