/*
 * test_feedseq: counting what a live feed reader missed from the gaps in
 * each collector run's sequence numbers.
 */
#include "testutil.h"

#include "feedseq.h"

static void
test_consecutive_summaries_miss_nothing(void **state)
{
	tf_feedseq_t *seqs = tf_feedseq_new();

	(void)state;
	assert_non_null(seqs);
	for (int64_t seq = 1; seq <= 10; seq++)
		assert_int_equal(tf_feedseq_note(seqs, 1000, seq), 0);
	assert_int_equal(tf_feedseq_missed(seqs), 0);
	tf_feedseq_destroy(&seqs);
	assert_null(seqs);
}

static void
test_a_gap_is_counted_once(void **state)
{
	tf_feedseq_t *seqs = tf_feedseq_new();

	(void)state;
	assert_int_equal(tf_feedseq_note(seqs, 1000, 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 1000, 2), 0);
	assert_int_equal(tf_feedseq_note(seqs, 1000, 5), 2);
	assert_int_equal(tf_feedseq_note(seqs, 1000, 6), 0);
	assert_int_equal(tf_feedseq_note(seqs, 1000, 16), 9);
	assert_int_equal(tf_feedseq_missed(seqs), 11);
	tf_feedseq_destroy(&seqs);
}

static void
test_joining_late_is_no_gap(void **state)
{
	tf_feedseq_t *seqs = tf_feedseq_new();

	(void)state;
	assert_int_equal(tf_feedseq_note(seqs, 1000, 7340), 0);
	assert_int_equal(tf_feedseq_missed(seqs), 0);
	tf_feedseq_destroy(&seqs);
}

static void
test_runs_are_followed_apart(void **state)
{
	tf_feedseq_t *seqs = tf_feedseq_new();

	(void)state;
	/* Two collectors interleaved, then the first restarted (a new run). */
	assert_int_equal(tf_feedseq_note(seqs, 1000, 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 2000, 40), 0);
	assert_int_equal(tf_feedseq_note(seqs, 1000, 2), 0);
	assert_int_equal(tf_feedseq_note(seqs, 2000, 41), 0);
	assert_int_equal(tf_feedseq_note(seqs, 2000, 44), 2);
	assert_int_equal(tf_feedseq_note(seqs, 1000, 4), 1);
	assert_int_equal(tf_feedseq_note(seqs, 3000, 1), 0);
	assert_int_equal(tf_feedseq_missed(seqs), 3);
	/* One older than the last of its run is a restart, not a gap. */
	assert_int_equal(tf_feedseq_note(seqs, 3000, 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 3000, 3), 1);
	assert_int_equal(tf_feedseq_missed(seqs), 4);
	tf_feedseq_destroy(&seqs);
}

static void
test_the_run_heard_longest_ago_is_forgotten(void **state)
{
	tf_feedseq_t *seqs = tf_feedseq_new();

	(void)state;
	for (int64_t run = 1; run <= TF_FEEDSEQ_RUNS; run++)
		assert_int_equal(tf_feedseq_note(seqs, run, 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 1, 3), 1);      /* run 1 heard again */
	/* One run more: run 2, heard longest ago, makes room. */
	assert_int_equal(tf_feedseq_note(seqs, TF_FEEDSEQ_RUNS + 1, 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 2, 10), 0);      /* new to it again */
	assert_int_equal(tf_feedseq_note(seqs, 1, 5), 1);       /* still followed */
	/* Run 2's return made room by forgetting run 3 (whose return now
	 * forgets run 4); run 5 is still followed. */
	assert_int_equal(tf_feedseq_note(seqs, 3, 5), 0);
	assert_int_equal(tf_feedseq_note(seqs, 5, 3), 1);
	assert_int_equal(tf_feedseq_missed(seqs), 3);
	tf_feedseq_destroy(&seqs);
}

static void
test_huge_sequence_numbers_neither_overflow_nor_wrap(void **state)
{
	tf_feedseq_t *seqs = tf_feedseq_new();

	(void)state;
	/* seq comes off the network: the extremes of int64_t. */
	assert_int_equal(tf_feedseq_note(seqs, 9, INT64_MAX - 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 9, INT64_MAX), 0);
	assert_int_equal(tf_feedseq_note(seqs, 10, INT64_MIN), 0);
	assert_true(tf_feedseq_note(seqs, 10, INT64_MAX) == UINT64_MAX - 1);
	assert_true(tf_feedseq_missed(seqs) == UINT64_MAX - 1);
	assert_int_equal(tf_feedseq_note(seqs, 11, 1), 0);
	assert_int_equal(tf_feedseq_note(seqs, 11, 4), 2);
	assert_true(tf_feedseq_missed(seqs) == UINT64_MAX);    /* held there */
	tf_feedseq_destroy(&seqs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive_summaries_miss_nothing),
		cmocka_unit_test(test_a_gap_is_counted_once),
		cmocka_unit_test(test_joining_late_is_no_gap),
		cmocka_unit_test(test_runs_are_followed_apart),
		cmocka_unit_test(test_the_run_heard_longest_ago_is_forgotten),
		cmocka_unit_test(test_huge_sequence_numbers_neither_overflow_nor_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
