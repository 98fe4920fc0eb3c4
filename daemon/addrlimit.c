/*
 * addrlimit: a rate limit per client address (see addrlimit.h).  A linear
 * scan of the table: the callers remember 64 to 4,096 addresses (some
 * microseconds of strcmp), and each request they limit costs far more (a
 * password hash, or a database query and signature checks).
 */
#include "addrlimit.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char address[TF_ADDRLIMIT_ADDRESS_MAX + 1];
	bool used;
	unsigned tokens;
	int64_t refilled_ms;            /* when the last token came back */
	int64_t seen_ms;                /* the last request: which slot to reuse */
} s_slot_t;

struct _tf_addrlimit_t {
	pthread_mutex_t lock;
	unsigned burst;
	int64_t refill_ms;
	size_t size;
	s_slot_t *slots;
};

tf_addrlimit_t *
tf_addrlimit_new(unsigned burst, int64_t refill_ms, size_t addresses)
{
	tf_addrlimit_t *self;

	assert(burst >= 1 && refill_ms >= 1 && addresses >= 1);
	if ((self = calloc(1, sizeof *self)) == NULL)
		return NULL;
	if ((self->slots = calloc(addresses, sizeof *self->slots)) == NULL) {
		free(self);
		return NULL;
	}
	pthread_mutex_init(&self->lock, NULL);
	self->burst = burst;
	self->refill_ms = refill_ms;
	self->size = addresses;
	return self;
}

void
tf_addrlimit_destroy(tf_addrlimit_t **self_p)
{
	tf_addrlimit_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	pthread_mutex_destroy(&self->lock);
	free(self->slots);
	free(self);
	*self_p = NULL;
}

/* address's slot: its own, an unused one, or the one seen longest ago
 * (then started again, full). */
static s_slot_t *
s_slot(tf_addrlimit_t *self, const char *address, int64_t now_ms)
{
	s_slot_t *pick = &self->slots[0];       /* size >= 1 (tf_addrlimit_new) */

	for (size_t i = 0; i < self->size; i++) {
		s_slot_t *s = &self->slots[i];

		if (s->used && strcmp(s->address, address) == 0)
			return s;
		if (pick->used && (!s->used || s->seen_ms < pick->seen_ms))
			pick = s;
	}
	memset(pick, 0, sizeof *pick);
	snprintf(pick->address, sizeof pick->address, "%s", address);
	pick->used = true;
	pick->tokens = self->burst;
	pick->refilled_ms = now_ms;
	return pick;
}

bool
tf_addrlimit_take(tf_addrlimit_t *self, const char *address, int64_t now_ms)
{
	char key[TF_ADDRLIMIT_ADDRESS_MAX + 1];
	s_slot_t *s;
	bool taken;

	assert(self != NULL && address != NULL);
	snprintf(key, sizeof key, "%s", address);
	pthread_mutex_lock(&self->lock);
	s = s_slot(self, key, now_ms);
	s->seen_ms = now_ms;
	while (s->tokens < self->burst && now_ms - s->refilled_ms >= self->refill_ms) {
		s->tokens++;
		s->refilled_ms += self->refill_ms;
	}
	if (s->tokens == self->burst)
		s->refilled_ms = now_ms;        /* a full bucket does not save up */
	taken = s->tokens > 0;
	if (taken)
		s->tokens--;
	pthread_mutex_unlock(&self->lock);
	return taken;
}
