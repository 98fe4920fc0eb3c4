/*
 * test_freshness: the line and the JSON that say how old the figures are,
 * from readings of each kind (the reading itself asks a real server:
 * tests/integration/standby.sh).  A primary is not behind; a standby that
 * replayed all it received is 0 s behind whatever its last change's age,
 * and says when that was; one that has not is at most the time since its
 * last replayed commit behind; one that never streamed does not know.
 */
#include "testutil.h"

#include "freshness.h"

#include <stdlib.h>
#include <time.h>

/* 2026-12-03 21:04:07.25 UTC */
#define AS_OF 1796331847.25

static void
s_utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

static void
test_primary(void **state)
{
	tf_freshness_t f = { .standby = false, .as_of = AS_OF, .behind_known = true };
	char text[TF_FRESHNESS_TEXT_MAX];
	json_t *j;

	(void)state;
	s_utc();
	tf_freshness_text(&f, text, sizeof text);
	assert_string_equal(text, "as of 21:04:07 (primary)");
	j = tf_freshness_json(&f);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "server")), "primary");
	assert_string_equal(json_string_value(json_object_get(j, "as_of")),
	                    "2026-12-03T21:04:07.250Z");
	assert_true(json_real_value(json_object_get(j, "behind_s")) == 0.0);
	assert_true(json_is_null(json_object_get(j, "caught_up")));
	assert_true(json_is_null(json_object_get(j, "last_change")));
	json_decref(j);
}

static void
test_caught_up(void **state)
{
	/* The last change an hour and a day ago: not behind for all that. */
	tf_freshness_t f = { .standby = true, .as_of = AS_OF, .behind_known = true,
		             .caught_up = true, .has_last_change = true,
		             .last_change = AS_OF - 3600.0 };
	char text[TF_FRESHNESS_TEXT_MAX];
	json_t *j;

	(void)state;
	s_utc();
	tf_freshness_text(&f, text, sizeof text);
	assert_string_equal(text, "as of 21:04:07, 0 s behind, last change at 20:04:07 (standby)");
	f.last_change = AS_OF - 86400.0;
	tf_freshness_text(&f, text, sizeof text);
	assert_string_equal(text,
	                    "as of 21:04:07, 0 s behind, last change at 2026-12-02 21:04:07 "
	                    "(standby)");
	j = tf_freshness_json(&f);
	assert_string_equal(json_string_value(json_object_get(j, "server")), "standby");
	assert_true(json_is_true(json_object_get(j, "caught_up")));
	assert_true(json_real_value(json_object_get(j, "behind_s")) == 0.0);
	assert_string_equal(json_string_value(json_object_get(j, "last_change")),
	                    "2026-12-02T21:04:07.250Z");
	assert_string_equal(json_string_value(json_object_get(j, "text")), text);
	json_decref(j);
}

static void
test_behind(void **state)
{
	tf_freshness_t f = { .standby = true, .as_of = AS_OF, .behind_known = true,
		             .behind_s = 0.3004, .has_last_change = true,
		             .last_change = AS_OF - 0.3004 };
	char text[TF_FRESHNESS_TEXT_MAX];
	json_t *j;

	(void)state;
	s_utc();
	tf_freshness_text(&f, text, sizeof text);
	assert_string_equal(text, "as of 21:04:07, at most 0.3 s behind (standby)");
	j = tf_freshness_json(&f);
	assert_true(json_is_false(json_object_get(j, "caught_up")));
	assert_true(json_real_value(json_object_get(j, "behind_s")) == 0.3);
	json_decref(j);
}

static void
test_unknown(void **state)
{
	tf_freshness_t f = { .standby = true, .as_of = AS_OF };
	char text[TF_FRESHNESS_TEXT_MAX];
	json_t *j;

	(void)state;
	s_utc();
	tf_freshness_text(&f, text, sizeof text);
	assert_string_equal(text, "as of 21:04:07, how far behind unknown (not streaming) "
	                          "(standby)");
	f.has_last_change = true;
	f.last_change = AS_OF - 5.0;
	tf_freshness_text(&f, text, sizeof text);
	assert_string_equal(text, "as of 21:04:07, how far behind unknown (not streaming), "
	                          "last change at 21:04:02 (standby)");
	assert_true(strlen(text) < TF_FRESHNESS_TEXT_MAX);
	j = tf_freshness_json(&f);
	assert_true(json_is_null(json_object_get(j, "behind_s")));
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_primary),
		cmocka_unit_test(test_caught_up),
		cmocka_unit_test(test_behind),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
