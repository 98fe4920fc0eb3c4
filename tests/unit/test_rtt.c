/*
 * test_rtt: the agent's retransmission wait.  With no answer yet it is
 * the configured floor; the first answer sets srtt = r and rttvar = r/2
 * (wait 3r); steady answers bring the wait down towards r, never below
 * the floor; answers growing slower raise it past them, so a message is
 * not sent again while answers take that long; each further send doubles
 * the wait, up to the cap.  Figures by RFC 6298's formulas.
 */
#include "testutil.h"

#include "rtt.h"

static void
test_unmeasured_is_floor(void **state)
{
	rtt_t rtt = RTT_INIT;

	(void)state;
	assert_int_equal(rtt_wait(&rtt, 1, 5000, 60000), 5000);
	assert_int_equal(rtt_wait(&rtt, 2, 5000, 60000), 10000);
	assert_int_equal(rtt_wait(&rtt, 3, 5000, 60000), 20000);
	assert_int_equal(rtt_wait(&rtt, 5, 5000, 60000), 60000);       /* capped */
	assert_int_equal(rtt_wait(&rtt, 1000, 5000, 60000), 60000);    /* no overflow */
}

static void
test_first_sample(void **state)
{
	rtt_t rtt = RTT_INIT;

	(void)state;
	rtt_sample(&rtt, 4000);         /* srtt 4000, rttvar 2000: 4000 + 4 * 2000 */
	assert_int_equal(rtt_wait(&rtt, 1, 500, 60000), 12000);
	assert_int_equal(rtt_wait(&rtt, 2, 500, 60000), 24000);
	assert_int_equal(rtt_wait(&rtt, 1, 20000, 60000), 20000);      /* the floor wins */
	assert_int_equal(rtt_wait(&rtt, 1, 500, 9000), 9000);          /* the cap wins */
}

static void
test_second_sample(void **state)
{
	rtt_t rtt = RTT_INIT;

	(void)state;
	rtt_sample(&rtt, 100);          /* srtt 100, rttvar 50 */
	rtt_sample(&rtt, 900);          /* rttvar 3/4 50 + 1/4 800 = 237.5; srtt 7/8 100 + 1/8 900 = 200 */
	assert_int_equal(rtt_wait(&rtt, 1, 10, 60000), 200 + 950);
}

static void
test_steady_answers_converge(void **state)
{
	rtt_t rtt = RTT_INIT;

	(void)state;
	for (int i = 0; i < 200; i++)
		rtt_sample(&rtt, 40);
	/* srtt 40, rttvar decays to (almost) 0 */
	assert_in_range(rtt_wait(&rtt, 1, 1, 60000), 40, 43);
	assert_int_equal(rtt_wait(&rtt, 1, 5000, 60000), 5000);        /* floor */
}

static void
test_slower_answers_raise_wait(void **state)
{
	rtt_t rtt = RTT_INIT;
	int64_t before, r = 50;

	(void)state;
	for (int i = 0; i < 20; i++)
		rtt_sample(&rtt, 50);
	before = rtt_wait(&rtt, 1, 10, 120000);
	/* A county's collector loaded with the province: each answer slower
	 * than the one before, up to 8 s.  The wait stays above the latest
	 * answer all the way. */
	while (r < 8000) {
		r += r / 4;
		rtt_sample(&rtt, r);
		assert_true(rtt_wait(&rtt, 1, 10, 120000) > r);
	}
	assert_true(rtt_wait(&rtt, 1, 10, 120000) > before);
}

static void
test_negative_sample_is_zero(void **state)
{
	rtt_t rtt = RTT_INIT;

	(void)state;
	rtt_sample(&rtt, -5);
	assert_int_equal(rtt_wait(&rtt, 1, 1, 60000), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmeasured_is_floor),
		cmocka_unit_test(test_first_sample),
		cmocka_unit_test(test_second_sample),
		cmocka_unit_test(test_steady_answers_converge),
		cmocka_unit_test(test_slower_answers_raise_wait),
		cmocka_unit_test(test_negative_sample_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
