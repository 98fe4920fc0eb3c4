/*
 * test_copybuf: the COPY text-format row encoder.  Text is escaped as COPY
 * requires, integers read back as printf would write them (all of int64),
 * bytea is \\x and lowercase hex, NULL is \N, text[] is a plain {a,b}
 * literal; fields are tab-separated and rows newline-terminated; reset
 * leaves nothing behind.
 *
 * The encoder's bytes are the thing under test, but copybuf_t is opaque and
 * its only reader is copybuf_send, which needs a live PostgreSQL.  Rather
 * than widen the module's API for a test, this file includes copybuf.c
 * itself, so the test sees the struct (data, len) while the collector's
 * code stays exactly as shipped.
 */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../daemon/copybuf.c"

/* Fail unless the buffer holds exactly want. */
static void
s_expect(const copybuf_t *cb, const char *want)
{
	static char got[1 << 16];

	assert_false(cb->failed);
	if (cb->len >= sizeof got)
		fail_msg("buffer holds %zu bytes, expected \"%s\"", cb->len, want);
	if (cb->len > 0)
		memcpy(got, cb->data, cb->len);
	got[cb->len] = '\0';
	assert_int_equal(strlen(got), cb->len);         /* no NUL inside */
	assert_string_equal(got, want);
}

static copybuf_t *
s_new(void)
{
	copybuf_t *cb = copybuf_new();

	assert_non_null(cb);
	assert_int_equal(copybuf_rows(cb), 0);
	return cb;
}

static void
test_text_escapes(void **state)
{
	copybuf_t *cb = s_new();

	(void)state;
	copybuf_text(cb, "back\\slash");
	s_expect(cb, "back\\\\slash");
	copybuf_reset(cb);
	copybuf_text(cb, "tab\there");
	s_expect(cb, "tab\\there");
	copybuf_reset(cb);
	copybuf_text(cb, "new\nline");
	s_expect(cb, "new\\nline");
	copybuf_reset(cb);
	copybuf_text(cb, "carriage\rreturn");
	s_expect(cb, "carriage\\rreturn");
	copybuf_reset(cb);

	/* All at once, at the ends, and doubled. */
	copybuf_text(cb, "\\\t\n\r\\\\x\t\t\r\n");
	s_expect(cb, "\\\\\\t\\n\\r\\\\\\\\x\\t\\t\\r\\n");
	copybuf_reset(cb);

	/* What looks like an escape or COPY's end marker is data, escaped. */
	copybuf_text(cb, "\\N");
	s_expect(cb, "\\\\N");
	copybuf_reset(cb);
	copybuf_text(cb, "\\.");
	s_expect(cb, "\\\\.");
	copybuf_reset(cb);

	/* Everything else, UTF-8 included, goes as it is. */
	copybuf_text(cb, "马永福 藏族 {a,b} \"q\" 'q' ,;|");
	s_expect(cb, "马永福 藏族 {a,b} \"q\" 'q' ,;|");
	copybuf_reset(cb);

	/* The empty string is an empty field, not NULL. */
	copybuf_text(cb, "");
	copybuf_text(cb, "");
	copybuf_end_row(cb);
	s_expect(cb, "\t\n");
	copybuf_destroy(&cb);
}

static void
test_ints(void **state)
{
	copybuf_t *cb = s_new();

	(void)state;
	copybuf_int(cb, 0);
	copybuf_int(cb, 1);
	copybuf_int(cb, -1);
	copybuf_int(cb, 9);
	copybuf_int(cb, 10);
	copybuf_int(cb, -10);
	copybuf_int(cb, 1000000);
	copybuf_int(cb, LLONG_MAX);
	copybuf_int(cb, LLONG_MIN);
	copybuf_int(cb, LLONG_MIN + 1);
	copybuf_int(cb, INT_MAX);
	copybuf_int(cb, (long long)INT_MIN - 1);
	copybuf_end_row(cb);
	s_expect(cb, "0\t1\t-1\t9\t10\t-10\t1000000\t9223372036854775807\t"
	             "-9223372036854775808\t-9223372036854775807\t2147483647\t-2147483649\n");
	copybuf_destroy(&cb);
}

/* xorshift64*: a fixed sequence on every platform, unlike rand(). */
static uint64_t
s_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ULL;
}

static void
test_ints_match_printf(void **state)
{
	copybuf_t *cb = s_new();
	uint64_t seed = 0x7a11feed5eedULL;        /* fixed: the same 10,000 every run */
	char want[32];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		uint64_t r = s_next(&seed);
		/* Every magnitude: shift the bits right by 0..63, then pick a sign. */
		long long v = (long long)(r >> (s_next(&seed) % 64));

		if (s_next(&seed) & 1)
			v = v == LLONG_MIN ? v : -v;
		snprintf(want, sizeof want, "%lld", v);
		copybuf_reset(cb);
		copybuf_int(cb, v);
		if (cb->len != strlen(want) || memcmp(cb->data, want, cb->len) != 0)
			fail_msg("value %d: %lld wrote \"%.*s\"", i, v, (int)cb->len, cb->data);
	}
	copybuf_destroy(&cb);
}

static void
test_bools(void **state)
{
	copybuf_t *cb = s_new();

	(void)state;
	copybuf_bool(cb, 1);
	copybuf_bool(cb, 0);
	copybuf_bool(cb, 2);
	copybuf_bool(cb, -1);
	copybuf_end_row(cb);
	s_expect(cb, "t\tf\tt\tt\n");
	copybuf_destroy(&cb);
}

static void
test_bytea(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x09, 0x0a, 0x10, 0x7f, 0x80, 0xab, 0xcd,
		                         0xef, 0xfe, 0xff };
	uint8_t all[256];
	char want[3 + 2 * 256 + 1];
	copybuf_t *cb = s_new();

	(void)state;
	/* \\x: bytea's hex form, its backslash doubled for COPY. */
	copybuf_bytea(cb, bytes, sizeof bytes);
	s_expect(cb, "\\\\x0001090a107f80abcdeffeff");
	copybuf_reset(cb);
	copybuf_bytea(cb, bytes, 0);
	s_expect(cb, "\\\\x");
	copybuf_reset(cb);

	/* Every byte value, lowercase. */
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	memcpy(want, "\\\\x", 3);
	for (int i = 0; i < 256; i++)
		snprintf(want + 3 + 2 * i, 3, "%02x", i);
	copybuf_bytea(cb, all, sizeof all);
	s_expect(cb, want);
	copybuf_reset(cb);

	/* A field among others. */
	copybuf_int(cb, 7);
	copybuf_bytea(cb, bytes + 10, 2);
	copybuf_int(cb, 8);
	copybuf_end_row(cb);
	s_expect(cb, "7\t\\\\xfeff\t8\n");
	copybuf_destroy(&cb);
}

static void
test_null(void **state)
{
	copybuf_t *cb = s_new();

	(void)state;
	copybuf_null(cb);
	copybuf_text(cb, "x");
	copybuf_null(cb);
	copybuf_end_row(cb);
	s_expect(cb, "\\N\tx\t\\N\n");
	copybuf_destroy(&cb);
}

static void
test_words(void **state)
{
	static const char *const words[] = { "invalid_election", "no_woman", "size" };
	copybuf_t *cb = s_new();

	(void)state;
	copybuf_words(cb, words, 3);
	copybuf_words(cb, words, 1);
	copybuf_words(cb, words, 0);
	copybuf_end_row(cb);
	s_expect(cb, "{invalid_election,no_woman,size}\t{invalid_election}\t{}\n");
	copybuf_destroy(&cb);
}

static void
test_rows_and_fields(void **state)
{
	static const uint8_t id[] = { 0xde, 0xad };
	static const char *const flags[] = { "size" };
	copybuf_t *cb = s_new();

	(void)state;
	copybuf_text(cb, "630121100201");
	copybuf_int(cb, -3);
	copybuf_bool(cb, 0);
	copybuf_bytea(cb, id, sizeof id);
	copybuf_null(cb);
	copybuf_words(cb, flags, 1);
	copybuf_end_row(cb);
	assert_int_equal(copybuf_rows(cb), 1);
	/* The next row's first field has no tab before it. */
	copybuf_words(cb, flags, 1);
	copybuf_null(cb);
	copybuf_bytea(cb, id, 1);
	copybuf_bool(cb, 1);
	copybuf_int(cb, 42);
	copybuf_text(cb, "a\tb");
	copybuf_end_row(cb);
	assert_int_equal(copybuf_rows(cb), 2);
	/* A row of one field, and an empty row. */
	copybuf_int(cb, 5);
	copybuf_end_row(cb);
	copybuf_end_row(cb);
	assert_int_equal(copybuf_rows(cb), 4);
	s_expect(cb, "630121100201\t-3\tf\t\\\\xdead\t\\N\t{size}\n"
	             "{size}\t\\N\t\\\\xde\tt\t42\ta\\tb\n"
	             "5\n"
	             "\n");
	copybuf_destroy(&cb);
	assert_null(cb);
	copybuf_destroy(&cb);                           /* safe on NULL */
}

static void
test_reset_keeps_nothing(void **state)
{
	copybuf_t *cb = s_new();
	const char *data;
	size_t capacity;

	(void)state;
	copybuf_text(cb, "one");
	copybuf_int(cb, 1);
	copybuf_end_row(cb);
	copybuf_text(cb, "half a row");
	copybuf_reset(cb);
	assert_int_equal(copybuf_rows(cb), 0);
	assert_int_equal(cb->len, 0);
	assert_int_equal(cb->fields, 0);
	s_expect(cb, "");
	/* A row begun before the reset leaves no separator behind. */
	copybuf_int(cb, 2);
	copybuf_end_row(cb);
	s_expect(cb, "2\n");
	assert_int_equal(copybuf_rows(cb), 1);

	/* Forget the rows, keep the memory. */
	data = cb->data;
	capacity = cb->capacity;
	copybuf_reset(cb);
	assert_ptr_equal(cb->data, data);
	assert_int_equal(cb->capacity, capacity);

	/* An empty buffer sends nothing, so needs no connection. */
	{
		const char *table = "t", *columns = "a";

		assert_int_equal(copybuf_send(NULL, "BEGIN", &cb, &table, &columns, 1), 0);
	}
	copybuf_destroy(&cb);
}

static void
test_grows(void **state)
{
	copybuf_t *cb = s_new();
	char *want;
	size_t wlen = 0, wcap = 1 << 21;
	uint8_t blob[3000];

	(void)state;
	/* Well past the first 64 KiB, with fields that straddle each growth. */
	want = malloc(wcap);
	assert_non_null(want);
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)(i * 7);
	for (int row = 0; row < 300; row++) {
		copybuf_int(cb, (long long)row * 1000003);
		wlen += (size_t)snprintf(want + wlen, wcap - wlen, "%lld\t", (long long)row * 1000003);
		copybuf_bytea(cb, blob, (size_t)row * 10);
		memcpy(want + wlen, "\\\\x", 3);
		wlen += 3;
		for (int i = 0; i < row * 10; i++)
			wlen += (size_t)snprintf(want + wlen, wcap - wlen, "%02x", blob[i]);
		copybuf_text(cb, "x\\y");
		wlen += (size_t)snprintf(want + wlen, wcap - wlen, "\tx\\\\y\n");
		copybuf_end_row(cb);
	}
	assert_true(wlen > 65536 * 8);
	assert_false(cb->failed);
	assert_int_equal(copybuf_rows(cb), 300);
	assert_int_equal(cb->len, wlen);
	assert_memory_equal(cb->data, want, wlen);
	assert_true(cb->capacity >= cb->len);
	free(want);
	copybuf_destroy(&cb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_escapes),
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_ints_match_printf),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_bytea),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_rows_and_fields),
		cmocka_unit_test(test_reset_keeps_nothing),
		cmocka_unit_test(test_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
