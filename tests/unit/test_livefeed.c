/*
 * test_livefeed: tallyfeed-web's copy of the live feed, fed by a real PUB
 * socket on 127.0.0.1 publishing what a collector publishes — the gaps in
 * a run's sequence counted as missed, the filters by area and verdict,
 * the ring's bound, and endpoints refused with a reason.
 */
#include "testutil.h"

#include "livefeed.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	zsock_t *pub;
	livefeed_t *feed;
	long long run;
	long long seq;          /* the last published in run */
} fixture_t;

/* Publish one summary as a collector's feed does (collector/feed.c):
 * topic "<verdict> <county>", then the JSON. */
static void
s_publish(fixture_t *f, long long seq, const char *verdict, const char *unit,
          const char *township)
{
	json_t *body = json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?}", "seq", (json_int_t)seq,
	                         "run", (json_int_t)f->run, "time", "2026-11-25T08:00:00Z",
	                         "verdict", verdict, "unit", unit, "township", township);
	char *text = json_dumps(body, JSON_COMPACT);
	zmsg_t *msg = zmsg_new();

	assert_non_null(text);
	zmsg_addstrf(msg, "%s 630121000000", verdict);
	zmsg_addstr(msg, text);
	assert_int_equal(zmsg_send(&msg, f->pub), 0);
	free(text);
	json_decref(body);
	f->seq = seq;
}

/* received, as the feed reports it. */
static long long
s_received(fixture_t *f)
{
	json_t *body = livefeed_json(f->feed, 0, NULL, NULL, 1);
	long long n;

	assert_non_null(body);
	n = json_integer_value(json_object_get(body, "received"));
	json_decref(body);
	return n;
}

/* Wait (5 s at most) until the feed has received want. */
static void
s_wait_received(fixture_t *f, long long want)
{
	for (int i = 0; i < 500 && s_received(f) < want; i++)
		zclock_sleep(10);
	assert_int_equal(s_received(f), want);
}

static int
s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	char err[256];

	assert_non_null(f);
	f->pub = zsock_new_pub("tcp://127.0.0.1:*");
	assert_non_null(f->pub);
	f->feed = livefeed_new(zsock_endpoint(f->pub), err, sizeof err);
	assert_non_null(f->feed);
	f->run = 1000;
	/* A SUB hears only what is published after it has joined: publish
	 * until one is heard.  The feed takes that as where the run starts. */
	for (int i = 0; i < 500 && s_received(f) == 0; i++) {
		s_publish(f, f->seq + 1, "duplicate", "630121100201", "630121100000");
		zclock_sleep(10);
	}
	assert_true(s_received(f) > 0);
	/* Let any probe still in flight land before the test counts. */
	s_publish(f, f->seq + 1, "duplicate", "630121100201", "630121100000");
	for (int i = 0; i < 500; i++) {
		json_t *body = livefeed_json(f->feed, 0, NULL, NULL, 1);
		json_t *row = json_array_get(json_object_get(body, "rows"), 0);
		int done = json_integer_value(json_object_get(row, "seq")) == f->seq;

		json_decref(body);
		if (done)
			break;
		zclock_sleep(10);
	}
	*state = f;
	return 0;
}

static int
s_teardown(void **state)
{
	fixture_t *f = *state;

	livefeed_destroy(&f->feed);
	assert_null(f->feed);
	zsock_destroy(&f->pub);
	free(f);
	return 0;
}

static void
test_gaps_in_a_run_are_counted_as_missed(void **state)
{
	fixture_t *f = *state;
	long long before = s_received(f);
	json_t *body;

	long long seq;

	s_publish(f, f->seq + 1, "accepted", "630121100201", NULL);
	s_publish(f, f->seq + 3, "accepted", "630121100202", NULL);   /* 2 dropped */
	seq = f->seq;
	f->run = 2000;                                               /* a new collector run */
	s_publish(f, 500, "accepted", "630121100203", NULL);         /* joined late: no gap */
	s_publish(f, 501, "accepted", "630121100204", NULL);
	f->run = 1000;
	s_publish(f, seq + 1, "accepted", "630121100205", NULL);     /* run 1000 goes on */
	s_wait_received(f, before + 5);
	body = livefeed_json(f->feed, 0, NULL, NULL, LIVEFEED_KEEP);
	assert_int_equal(json_integer_value(json_object_get(body, "missed")), 2);
	assert_int_equal(json_array_size(json_object_get(body, "rows")), before + 5);
	/* Newest first, numbered in the order received. */
	json_t *rows = json_object_get(body, "rows");
	for (size_t i = 0; i < json_array_size(rows); i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, i), "n")),
		                 before + 5 - (long long)i);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "unit")),
	                    "630121100205");
	json_decref(body);
}

static void
test_filters_by_area_verdict_and_position(void **state)
{
	fixture_t *f = *state;
	long long before = s_received(f);
	json_t *body, *rows;

	s_publish(f, f->seq + 1, "accepted", "632621101001", NULL);          /* 玛沁县 */
	s_publish(f, f->seq + 1, "rejected", "632621101001", NULL);
	s_publish(f, f->seq + 1, "rejected", NULL, "632622100000");          /* 班玛县, no unit */
	s_publish(f, f->seq + 1, "deferred", "630121100201", NULL);          /* 大通县 */
	s_wait_received(f, before + 4);

	body = livefeed_json(f->feed, 0, "632600000000", NULL, 100);         /* 果洛州 */
	assert_int_equal(json_array_size(json_object_get(body, "rows")), 3);
	json_decref(body);
	body = livefeed_json(f->feed, 0, "632621000000", NULL, 100);         /* 玛沁县 */
	assert_int_equal(json_array_size(json_object_get(body, "rows")), 2);
	json_decref(body);
	body = livefeed_json(f->feed, 0, "632622100000", NULL, 100);         /* by township */
	assert_int_equal(json_array_size(json_object_get(body, "rows")), 1);
	json_decref(body);
	body = livefeed_json(f->feed, 0, "632621101001", NULL, 100);         /* one unit */
	assert_int_equal(json_array_size(json_object_get(body, "rows")), 2);
	json_decref(body);
	body = livefeed_json(f->feed, 0, "632600000000", "rejected", 100);
	rows = json_object_get(body, "rows");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "township")),
	                    "632622100000");
	json_decref(body);
	body = livefeed_json(f->feed, (uint64_t)before + 2, NULL, NULL, 100);
	assert_int_equal(json_array_size(json_object_get(body, "rows")), 2);
	json_decref(body);
	body = livefeed_json(f->feed, 0, "632600000000", NULL, 2);            /* cut short */
	assert_int_equal(json_array_size(json_object_get(body, "rows")), 2);
	assert_true(json_is_true(json_object_get(body, "more")));
	json_decref(body);
	body = livefeed_json(f->feed, 0, "632600000000", NULL, 3);            /* just enough */
	assert_true(json_is_false(json_object_get(body, "more")));
	assert_int_equal(json_integer_value(json_object_get(body, "oldest")), 1);
	json_decref(body);
	body = livefeed_json(f->feed, 0, "630000000000", "deferred", 1);
	rows = json_object_get(body, "rows");
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "n")),
	                 before + 4);
	json_decref(body);
}

static void
test_keeps_only_the_newest(void **state)
{
	fixture_t *f = *state;
	long long before = s_received(f);
	const int sent = LIVEFEED_KEEP + 123;
	json_t *body, *rows;

	for (int i = 0; i < sent; i++)
		s_publish(f, f->seq + 1, "accepted", "630121100201", NULL);
	s_wait_received(f, before + sent);
	body = livefeed_json(f->feed, 0, NULL, NULL, 100000);
	rows = json_object_get(body, "rows");
	assert_int_equal(json_array_size(rows), LIVEFEED_KEEP);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "n")),
	                 before + sent);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(rows, LIVEFEED_KEEP - 1), "n")),
	                 before + sent - LIVEFEED_KEEP + 1);
	assert_int_equal(json_integer_value(json_object_get(body, "missed")), 0);
	assert_int_equal(json_integer_value(json_object_get(body, "oldest")),
	                 before + sent - LIVEFEED_KEEP + 1);
	assert_true(json_is_false(json_object_get(body, "more")));
	json_decref(body);
}

static void
test_a_message_that_is_no_summary_is_not_kept(void **state)
{
	fixture_t *f = *state;
	long long before = s_received(f);

	zstr_sendx(f->pub, "accepted 630121000000", "not json", NULL);
	zstr_sendx(f->pub, "accepted 630121000000", "{\"run\": 1}", NULL);
	zstr_sendx(f->pub, "accepted 630121000000", "{\"run\": 1000, \"seq\": -5}", NULL);
	zstr_sendx(f->pub, "accepted 630121000000", "[1, 2]", NULL);
	s_publish(f, f->seq + 1, "accepted", "630121100201", NULL);
	s_wait_received(f, before + 1);
}

static void
test_endpoints_refused_with_a_reason(void **state)
{
	char err[256], many[LIVEFEED_ENDPOINTS_MAX * 24 + 64] = "";

	(void)state;
	assert_null(livefeed_new("nonsense", err, sizeof err));
	assert_contains(err, "\"nonsense\" is no endpoint to connect to");
	assert_null(livefeed_new("tcp://127.0.0.1:7402,,tcp://127.0.0.1:7403", err, sizeof err));
	assert_contains(err, "an empty endpoint");
	for (int i = 0; i <= LIVEFEED_ENDPOINTS_MAX; i++) {
		char one[32];

		snprintf(one, sizeof one, "%stcp://127.0.0.1:%d", i ? "," : "", 20000 + i);
		strcat(many, one);
	}
	assert_null(livefeed_new(many, err, sizeof err));
	assert_contains(err, "at most 64 endpoints");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gaps_in_a_run_are_counted_as_missed,
		                                s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_filters_by_area_verdict_and_position,
		                                s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_keeps_only_the_newest, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_a_message_that_is_no_summary_is_not_kept,
		                                s_setup, s_teardown),
		cmocka_unit_test(test_endpoints_refused_with_a_reason),
	};

	zsys_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
