/*
 * feedseq: what a reader of the collectors' live feed has missed.  Each
 * summary a collector publishes carries its run (the collector process's
 * start, ms since the epoch) and seq (1, 2, ... within that run); PUB
 * drops silently for a reader too slow to keep up, so the reader counts
 * the gaps in seq, run by run.  The first summary heard of a run is no
 * gap: the reader joined late, and lost nothing.
 *
 * Follows up to TF_FEEDSEQ_RUNS runs at once (a province's collectors and
 * their restarts), forgetting the one heard from longest ago.
 */
#ifndef TF_FEEDSEQ_H
#define TF_FEEDSEQ_H

#include <stdint.h>

#define TF_FEEDSEQ_RUNS 128

typedef struct tf_feedseq tf_feedseq_t;

/* NULL if out of memory. */
tf_feedseq_t *tf_feedseq_new(void);
void tf_feedseq_destroy(tf_feedseq_t **self_p);

/* Note a summary heard: how many of its run were missed just before it
 * (0 for the next one, the first of a run, or one older than the last:
 * a collector never publishes out of order, so that is a run restarting
 * with the same start time, and is taken as a new start). */
uint64_t tf_feedseq_note(tf_feedseq_t *self, int64_t run, int64_t seq);

/* Everything missed so far (at most UINT64_MAX: it does not wrap). */
uint64_t tf_feedseq_missed(const tf_feedseq_t *self);

#endif
