/*
 * test_utf8: tf_utf8_valid, the strict validator every name from outside
 * passes through (RFC 3629 and Unicode table 3-7, no control characters).
 */
#include "testutil.h"

#include "utf8.h"

/* Valid for exactly its bytes (sizeof - 1, so embedded NULs count). */
#define VALID(lit) tf_utf8_valid((lit), sizeof(lit) - 1)

static void
test_ascii_printable_accepted(void **state)
{
	char all[0x7f - 0x20 + 1];

	(void)state;
	for (int c = 0x20; c < 0x7f; c++)
		all[c - 0x20] = (char)c;
	assert_true(tf_utf8_valid(all, sizeof all - 1));
	assert_true(VALID("Qinghai 63 West Street"));
	assert_true(tf_utf8_valid("", 0));
}

static void
test_c0_controls_and_del_rejected(void **state)
{
	(void)state;
	for (int c = 0x00; c < 0x20; c++) {
		char s[3] = { 'a', (char)c, 'b' };
		if (tf_utf8_valid(s, sizeof s)) {
			print_error("control character 0x%02x accepted\n", c);
			fail();
		}
	}
	assert_false(VALID("a\x7f" "b"));
	assert_false(VALID("tab\there"));
	assert_false(VALID("line\nbreak"));
	assert_false(VALID("nul\0inside"));
}

/* U+0080..U+009F are control characters too (Unicode category Cc; U+0085
 * is NEL, a line break); the header promises "no control characters". */
static void
test_c1_controls_rejected(void **state)
{
	(void)state;
	assert_false(VALID("a\xc2\x80" "b"));        /* U+0080 */
	assert_false(VALID("a\xc2\x85" "b"));        /* U+0085 NEL */
	assert_false(VALID("a\xc2\x9f" "b"));        /* U+009F */
	assert_true(VALID("a\xc2\xa0" "b"));         /* U+00A0, first after C1 */
}

static void
test_overlongs_rejected(void **state)
{
	(void)state;
	assert_false(VALID("\xc0\x80"));             /* U+0000 in two bytes */
	assert_false(VALID("\xc0\xaf"));             /* '/' in two bytes */
	assert_false(VALID("\xc1\xbf"));             /* U+007F in two bytes */
	assert_false(VALID("\xe0\x80\x80"));         /* U+0000 in three */
	assert_false(VALID("\xe0\x9f\xbf"));         /* U+07FF in three */
	assert_false(VALID("\xf0\x80\x80\x80"));     /* U+0000 in four */
	assert_false(VALID("\xf0\x8f\xbf\xbf"));     /* U+FFFF in four */
	/* The shortest forms at the same boundaries are fine. */
	assert_true(VALID("\xdf\xbf"));              /* U+07FF */
	assert_true(VALID("\xe0\xa0\x80"));          /* U+0800 */
	assert_true(VALID("\xef\xbf\xbd"));          /* U+FFFD */
	assert_true(VALID("\xf0\x90\x80\x80"));      /* U+10000 */
}

static void
test_surrogates_rejected(void **state)
{
	(void)state;
	assert_false(VALID("\xed\xa0\x80"));         /* U+D800 */
	assert_false(VALID("\xed\xaf\xbf"));         /* U+DBFF */
	assert_false(VALID("\xed\xb0\x80"));         /* U+DC00 */
	assert_false(VALID("\xed\xbf\xbf"));         /* U+DFFF */
	assert_false(VALID("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
	assert_true(VALID("\xed\x9f\xbf"));          /* U+D7FF */
	assert_true(VALID("\xee\x80\x80"));          /* U+E000 */
}

static void
test_above_max_rejected(void **state)
{
	(void)state;
	assert_true(VALID("\xf4\x8f\xbf\xbf"));      /* U+10FFFF */
	assert_false(VALID("\xf4\x90\x80\x80"));     /* U+110000 */
	assert_false(VALID("\xf5\x80\x80\x80"));
	assert_false(VALID("\xf7\xbf\xbf\xbf"));
	assert_false(VALID("\xf8\x88\x80\x80\x80")); /* old five-byte form */
	assert_false(VALID("\xfc\x84\x80\x80\x80\x80"));
	assert_false(VALID("\xfe"));
	assert_false(VALID("\xff"));
}

static void
test_truncated_and_stray_rejected(void **state)
{
	(void)state;
	assert_false(VALID("\xc3"));
	assert_false(VALID("\xe4\xb8"));
	assert_false(VALID("\xf0\x9f\x98"));
	assert_false(VALID("\xe4\xb8" "A"));         /* cut short by ASCII */
	assert_false(VALID("\xe4" "AB"));
	assert_false(VALID("\x80"));                 /* continuation on its own */
	assert_false(VALID("a\xbf" "b"));
	assert_false(VALID("\xe4\xb8\xad\xad"));     /* one continuation too many */
	/* The length bounds the check: a whole character cut by len fails... */
	assert_false(tf_utf8_valid("\xe4\xb8\xad", 2));
	/* ...and bytes past len are not looked at. */
	assert_true(tf_utf8_valid("ok\xff", 2));
}

static void
test_chinese_and_tibetan_accepted(void **state)
{
	(void)state;
	assert_true(VALID("青海省西宁市城东区东关大街街道"));
	assert_true(VALID("上毛佰胜村委会"));
	assert_true(VALID("乐荣村（十村)委会"));
	assert_true(VALID("བོད་ཡིག"));                 /* Tibetan script */
	assert_true(VALID("བཀྲ་ཤིས་བདེ་ལེགས། 扎西德勒"));
	assert_true(VALID("ᠮᠣᠩᠭᠣᠯ"));                 /* Mongolian script */
	assert_true(VALID("\xf0\xa0\x80\x80"));      /* U+20000, CJK extension B */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_printable_accepted),
		cmocka_unit_test(test_c0_controls_and_del_rejected),
		cmocka_unit_test(test_c1_controls_rejected),
		cmocka_unit_test(test_overlongs_rejected),
		cmocka_unit_test(test_surrogates_rejected),
		cmocka_unit_test(test_above_max_rejected),
		cmocka_unit_test(test_truncated_and_stray_rejected),
		cmocka_unit_test(test_chinese_and_tibetan_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
