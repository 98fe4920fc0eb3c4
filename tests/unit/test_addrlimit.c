/*
 * test_addrlimit: the rate limit per client address.  A burst, then one
 * request per refill interval, not before; a full bucket does not save
 * up; one address spent leaves another untouched; more addresses than
 * remembered reuse the slot seen longest ago (that address starts again
 * full) and never the one of an address still in use; addresses longer
 * than kept are told apart by their first bytes.
 */
#include "testutil.h"

#include "addrlimit.h"

#define BURST 3
#define REFILL 1000

static void
test_burst_and_refill(void **state)
{
	tf_addrlimit_t *l = tf_addrlimit_new(BURST, REFILL, 4);
	int64_t t = 50000;

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < BURST; i++)
		assert_true(tf_addrlimit_take(l, "10.0.0.1", t));
	assert_false(tf_addrlimit_take(l, "10.0.0.1", t));
	assert_false(tf_addrlimit_take(l, "10.0.0.1", t + REFILL - 1));
	assert_true(tf_addrlimit_take(l, "10.0.0.1", t + REFILL));
	assert_false(tf_addrlimit_take(l, "10.0.0.1", t + REFILL));
	/* Another address has its own. */
	assert_true(tf_addrlimit_take(l, "10.0.0.2", t + REFILL));
	/* A long wait refills to the burst, no more. */
	t += 100 * REFILL;
	for (int i = 0; i < BURST; i++)
		assert_true(tf_addrlimit_take(l, "10.0.0.1", t));
	assert_false(tf_addrlimit_take(l, "10.0.0.1", t));
	tf_addrlimit_destroy(&l);
	assert_null(l);
}

static void
test_table_reuse(void **state)
{
	tf_addrlimit_t *l = tf_addrlimit_new(1, REFILL, 2);
	int64_t t = 50000;

	(void)state;
	assert_non_null(l);
	assert_true(tf_addrlimit_take(l, "a", t));
	assert_true(tf_addrlimit_take(l, "b", t + 1));
	assert_false(tf_addrlimit_take(l, "a", t + 2));     /* a seen last now */
	/* A third address takes b's slot (seen longest ago), not a's. */
	assert_true(tf_addrlimit_take(l, "c", t + 3));
	assert_false(tf_addrlimit_take(l, "a", t + 4));
	assert_false(tf_addrlimit_take(l, "c", t + 5));
	/* b was forgotten: it starts again full. */
	assert_true(tf_addrlimit_take(l, "b", t + 6));
	tf_addrlimit_destroy(&l);
}

static void
test_long_addresses(void **state)
{
	char a[200], b[200];
	tf_addrlimit_t *l = tf_addrlimit_new(1, REFILL, 4);

	(void)state;
	assert_non_null(l);
	memset(a, 'x', sizeof a - 1);
	a[sizeof a - 1] = '\0';
	memcpy(b, a, sizeof b);
	b[sizeof b - 2] = 'y';          /* differs past the bytes kept */
	assert_true(tf_addrlimit_take(l, a, 1000));
	assert_false(tf_addrlimit_take(l, b, 1000));
	tf_addrlimit_destroy(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_and_refill),
		cmocka_unit_test(test_table_reuse),
		cmocka_unit_test(test_long_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
