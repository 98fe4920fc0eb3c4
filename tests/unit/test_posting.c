/*
 * test_posting: what a posting sheet's QR code carries.  A posting built
 * from a report reads back the same from its query (and from a whole URL);
 * every parameter is required, once; each malformed one is refused with
 * why; the figures that differ from a report are named, bit by bit.
 */
#include "testutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "posting.h"
#include "report.h"

static tf_report_t *
s_example(void)
{
	char err[256];
	tf_report_t *r = tf_report_from_file(TF_SOURCE_DIR "/deploy/examples/villagers.json", err,
	                                     sizeof err);

	if (r == NULL)
		print_error("%s\n", err);
	return r;
}

static void
s_posting(const tf_report_t *r, tf_posting_t *p)
{
	uint8_t digest[32], sig[64];

	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		sig[i] = (uint8_t)(255 - i);
	assert_int_equal(tf_posting_of(r, digest, sig, p), 0);
}

static void
test_round_trip(void **state)
{
	tf_report_t *r = s_example();
	tf_posting_t p, back;
	char query[TF_POSTING_QUERY_MAX], url[TF_POSTING_QUERY_MAX + 64], why[256];

	(void)state;
	assert_non_null(r);
	s_posting(r, &p);
	assert_int_equal(tf_posting_query(&p, query, sizeof query), 0);
	assert_contains(query, "u=630121100201&c=villagers&r=1&v=1&d=000102");
	assert_contains(query, "&f=1180.0.1003.23.1003.1001.990.11_612e.370.540e");
	assert_int_equal(tf_posting_parse(query, &back, why, sizeof why), 0);
	assert_memory_equal(&back, &p, sizeof p);
	snprintf(url, sizeof url, "https://check.example.cn/check?%s#top", query);
	assert_int_equal(tf_posting_parse(url, &back, why, sizeof why), 0);
	assert_memory_equal(&back, &p, sizeof p);
	assert_int_equal(tf_posting_differs(&p, r), 0);
	/* Too small a buffer: refused, not cut. */
	assert_int_equal(tf_posting_query(&p, query, 100), -1);
	tf_report_destroy(&r);
}

static void
test_differs(void **state)
{
	tf_report_t *r = s_example();
	tf_posting_t p;

	(void)state;
	s_posting(r, &p);
	p.figures[6] = 999;             /* valid ballots */
	assert_int_equal(tf_posting_differs(&p, r), 1u << 6);
	p.figures[6] = r->ballots_valid;
	p.votes[0]++;
	assert_int_equal(tf_posting_differs(&p, r), TF_POSTING_CANDIDATES_DIFFER);
	p.votes[0]--;
	p.elected[1] = !p.elected[1];
	assert_int_equal(tf_posting_differs(&p, r), TF_POSTING_CANDIDATES_DIFFER);
	p.elected[1] = !p.elected[1];
	p.candidates--;
	assert_int_equal(tf_posting_differs(&p, r), TF_POSTING_CANDIDATES_DIFFER);
	assert_string_equal(tf_posting_label(TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS, 6), "有效票数");
	assert_string_equal(tf_posting_label(TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, 0),
	                    "应到会党员数");
	tf_report_destroy(&r);
}

/* Each malformed parameter refused, saying which. */
static void
test_refused(void **state)
{
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
		{ "u=630121100201", "u=63012110020", "unit (u)" },
		{ "u=630121100201", "u=63012110020x", "unit (u)" },
		{ "c=villagers", "c=village", "committee (c)" },
		{ "r=1", "r=0", "round (r)" },
		{ "r=1", "r=12345678901", "round (r)" },
		/* Beyond the rules' bounds: no collector stores it (the round is
		 * a smallint in the database, which refused 40000 with an error). */
		{ "r=1", "r=10", "round (r)" },
		{ "r=1", "r=40000", "round (r)" },
		{ "v=1", "v=1000001", "revision (v)" },
		{ "v=1", "v=", "revision (v)" },
		{ "d=00", "d=0", "digest (d)" },
		{ "d=00", "d=zz", "digest (d)" },
		{ "s=__", "s=_", "signature (s)" },
		{ "s=__", "s=*_", "signature (s)" },
		{ "f=1180.", "f=1180_", "figures (f)" },
		{ "f=1180.", "f=x1180.", "figures (f)" },
		{ "_612e.", "_612e..", "candidate 2's votes (f) are not a number" },
		{ "_612e.", "_612x.", "joined by" },
		{ ".210", ".210.", "joined by" },
		{ "c=villagers", "c=villagers&c=residents", "given twice" },
		{ "&v=1", "", "\"v\" is missing" },
	};
	tf_report_t *r = s_example();
	tf_posting_t p, back;
	char query[TF_POSTING_QUERY_MAX], bad[TF_POSTING_QUERY_MAX + 64], why[256];
	char *long_query;

	(void)state;
	s_posting(r, &p);
	assert_int_equal(tf_posting_query(&p, query, sizeof query), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *at = strstr(query, cases[i].from);

		assert_non_null(at);
		snprintf(bad, sizeof bad, "%.*s%s%s", (int)(at - query), query, cases[i].to,
		         at + strlen(cases[i].from));
		why[0] = '\0';
		if (tf_posting_parse(bad, &back, why, sizeof why) != -1)
			fail_msg("accepted: %s", bad);
		assert_contains(why, cases[i].why);
	}
	/* The bounds themselves are taken. */
	snprintf(bad, sizeof bad, "%s", query);
	memcpy(strstr(bad, "r=1"), "r=9", 3);
	assert_int_equal(tf_posting_parse(bad, &back, why, sizeof why), 0);
	assert_int_equal(back.round, TF_ROUND_MAX);
	/* Over its bound: refused before it is read. */
	long_query = malloc(TF_POSTING_QUERY_MAX + 2);
	assert_non_null(long_query);
	memset(long_query, '1', TF_POSTING_QUERY_MAX + 1);
	long_query[TF_POSTING_QUERY_MAX + 1] = '\0';
	assert_int_equal(tf_posting_parse(long_query, &back, why, sizeof why), -1);
	assert_contains(why, "longer than");
	free(long_query);
	/* More candidates than a posting carries. */
	snprintf(bad, sizeof bad, "%s", query);
	*strchr(strstr(bad, "&f="), '_') = '\0';
	strcat(bad, "_");
	for (int i = 0; i <= TF_POSTING_CANDIDATES_MAX; i++)
		strcat(bad, i ? ".1" : "1");
	assert_int_equal(tf_posting_parse(bad, &back, why, sizeof why), -1);
	assert_contains(why, "more than");
	tf_report_destroy(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_differs),
		cmocka_unit_test(test_refused),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
