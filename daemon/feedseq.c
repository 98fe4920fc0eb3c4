/*
 * feedseq: the gaps in the live feed's sequence numbers (see feedseq.h).
 */
#include "feedseq.h"

#include <assert.h>
#include <stdlib.h>

typedef struct {
	int64_t run;
	int64_t seq;                    /* the last heard of the run */
	uint64_t heard;                 /* when last heard (notes so far): for LRU */
} run_mark_t;

struct tf_feedseq {
	run_mark_t runs[TF_FEEDSEQ_RUNS];
	size_t nruns;
	uint64_t notes;
	uint64_t missed;
};

tf_feedseq_t *
tf_feedseq_new(void)
{
	return calloc(1, sizeof(tf_feedseq_t));
}

void
tf_feedseq_destroy(tf_feedseq_t **self_p)
{
	assert(self_p != NULL);
	free(*self_p);
	*self_p = NULL;
}

uint64_t
tf_feedseq_note(tf_feedseq_t *self, int64_t run, int64_t seq)
{
	run_mark_t *mark = NULL, *oldest = &self->runs[0];
	uint64_t gap = 0;

	assert(self != NULL);
	for (size_t i = 0; i < self->nruns; i++) {
		if (self->runs[i].run == run)
			mark = &self->runs[i];
		if (self->runs[i].heard < oldest->heard)
			oldest = &self->runs[i];
	}
	if (mark == NULL) {
		mark = self->nruns < TF_FEEDSEQ_RUNS ? &self->runs[self->nruns++] : oldest;
		mark->run = run;
	} else if (seq > mark->seq)
		/* In unsigned arithmetic: seq comes off the network, and the
		 * difference of two int64_t may not fit one. */
		gap = (uint64_t)seq - (uint64_t)mark->seq - 1;
	mark->seq = seq;
	mark->heard = ++self->notes;
	self->missed = gap > UINT64_MAX - self->missed ? UINT64_MAX : self->missed + gap;
	return gap;
}

uint64_t
tf_feedseq_missed(const tf_feedseq_t *self)
{
	return self->missed;
}
