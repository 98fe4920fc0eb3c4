/*
 * test_metrics: the Prometheus text exposition — counters, gauges and
 * histograms, with and without labels, exactly as a scraper reads them.
 */
#include "testutil.h"

#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void
test_counters_and_gauges_exposed(void **state)
{
	tf_metrics_t *metrics = tf_metrics_new();
	tf_metric_t *received, *bad_sig, *late, *up, *depth;
	char *text;

	(void)state;
	received = tf_metrics_declare(metrics, TF_COUNTER, "tallyfeed_test_received_total",
	                              "Messages received.", NULL, NULL, 0);
	bad_sig = tf_metrics_declare(metrics, TF_COUNTER, "tallyfeed_test_rejected_total",
	                             "Messages rejected, by reason.", "reason=\"BAD_SIGNATURE\"",
	                             NULL, 0);
	late = tf_metrics_declare(metrics, TF_COUNTER, "tallyfeed_test_rejected_total",
	                          "Messages rejected, by reason.", "reason=\"LATE\"", NULL, 0);
	up = tf_metrics_declare(metrics, TF_GAUGE, "tallyfeed_test_database_up",
	                        "1 if the database answers.", NULL, NULL, 0);
	depth = tf_metrics_declare(metrics, TF_GAUGE, "tallyfeed_test_oldest_seconds",
	                           "Age of the oldest.", NULL, NULL, 0);
	tf_metric_add(received, 3);
	tf_metric_add(received, 2);
	tf_metric_add(bad_sig, 1);
	tf_metric_set(up, 1);
	tf_metric_set(depth, 2.5);
	tf_metric_gauge_add(depth, -1.0);
	assert_true(tf_metric_value(received) == 5.0);
	assert_true(tf_metric_value(depth) == 1.5);
	text = tf_metrics_render(metrics, NULL);
	assert_non_null(text);
	assert_string_equal(text,
	    "# HELP tallyfeed_test_received_total Messages received.\n"
	    "# TYPE tallyfeed_test_received_total counter\n"
	    "tallyfeed_test_received_total 5\n"
	    "# HELP tallyfeed_test_rejected_total Messages rejected, by reason.\n"
	    "# TYPE tallyfeed_test_rejected_total counter\n"
	    "tallyfeed_test_rejected_total{reason=\"BAD_SIGNATURE\"} 1\n"
	    "tallyfeed_test_rejected_total{reason=\"LATE\"} 0\n"
	    "# HELP tallyfeed_test_database_up 1 if the database answers.\n"
	    "# TYPE tallyfeed_test_database_up gauge\n"
	    "tallyfeed_test_database_up 1\n"
	    "# HELP tallyfeed_test_oldest_seconds Age of the oldest.\n"
	    "# TYPE tallyfeed_test_oldest_seconds gauge\n"
	    "tallyfeed_test_oldest_seconds 1.5\n");
	(void)late;
	free(text);
	tf_metrics_destroy(&metrics);
	assert_null(metrics);
}

static void
test_histogram_buckets_are_cumulative(void **state)
{
	static const double bounds[] = { 0.25, 0.5, 1 };
	tf_metrics_t *metrics = tf_metrics_new();
	tf_metric_t *commit;
	char *text;
	size_t length;

	(void)state;
	commit = tf_metrics_declare(metrics, TF_HISTOGRAM, "tallyfeed_test_commit_seconds",
	                            "Commit time.", "chain=\"c1\"", bounds, 3);
	tf_metric_observe(commit, 0.125);
	tf_metric_observe(commit, 0.25);       /* on a bound: counted in it (le) */
	tf_metric_observe(commit, 0.75);
	tf_metric_observe(commit, 7);          /* past the last: only +Inf */
	text = tf_metrics_render(metrics, &length);
	assert_non_null(text);
	assert_int_equal(length, strlen(text));
	assert_string_equal(text,
	    "# HELP tallyfeed_test_commit_seconds Commit time.\n"
	    "# TYPE tallyfeed_test_commit_seconds histogram\n"
	    "tallyfeed_test_commit_seconds_bucket{chain=\"c1\",le=\"0.25\"} 2\n"
	    "tallyfeed_test_commit_seconds_bucket{chain=\"c1\",le=\"0.5\"} 2\n"
	    "tallyfeed_test_commit_seconds_bucket{chain=\"c1\",le=\"1\"} 3\n"
	    "tallyfeed_test_commit_seconds_bucket{chain=\"c1\",le=\"+Inf\"} 4\n"
	    "tallyfeed_test_commit_seconds_sum{chain=\"c1\"} 8.125\n"
	    "tallyfeed_test_commit_seconds_count{chain=\"c1\"} 4\n");
	free(text);
	tf_metrics_destroy(&metrics);
}

typedef struct {
	tf_metric_t *counter, *histogram;
} hammer_t;

static void *
s_hammer(void *arg)
{
	hammer_t *h = arg;

	for (int i = 0; i < 100000; i++) {
		tf_metric_add(h->counter, 1);
		tf_metric_observe(h->histogram, 1.0);
	}
	return NULL;
}

/* Updates from several threads are all counted (the values are atomic). */
static void
test_updates_from_threads_all_counted(void **state)
{
	static const double bounds[] = { 0.5, 2 };
	tf_metrics_t *metrics = tf_metrics_new();
	hammer_t h;
	pthread_t threads[4];
	char *text;

	(void)state;
	h.counter = tf_metrics_declare(metrics, TF_COUNTER, "t_total", "t", NULL, NULL, 0);
	h.histogram = tf_metrics_declare(metrics, TF_HISTOGRAM, "t_seconds", "t", NULL, bounds, 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, s_hammer, &h), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	assert_true(tf_metric_value(h.counter) == 400000.0);
	assert_true(tf_metric_value(h.histogram) == 400000.0);
	text = tf_metrics_render(metrics, NULL);
	assert_non_null(strstr(text, "t_seconds_bucket{le=\"2\"} 400000\n"));
	assert_non_null(strstr(text, "t_seconds_sum 400000\n"));
	free(text);
	tf_metrics_destroy(&metrics);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_and_gauges_exposed),
		cmocka_unit_test(test_histogram_buckets_are_cumulative),
		cmocka_unit_test(test_updates_from_threads_all_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
