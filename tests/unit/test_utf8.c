/*
 * test_utf8: tf_utf8_valid, the strict validator every name from outside
 * passes through (RFC 3629 and Unicode table 3-7, no control characters),
 * and tf_text_escape, what every text from outside goes through before a
 * log line or a terminal.
 */
#include "testutil.h"

#include "utf8.h"

#include <stdlib.h>

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

/* tf_text_escape of a literal (its bytes, NULs too), as a new string. */
static char *
s_escape(const char *src, size_t len)
{
	static char out[512];

	tf_text_escape(out, sizeof out, src, len);
	return out;
}
#define ESCAPED(lit) s_escape((lit), sizeof(lit) - 1)

static void
test_escape_keeps_text(void **state)
{
	(void)state;
	assert_string_equal(ESCAPED("Qinghai 63, West Street: ok"), "Qinghai 63, West Street: ok");
	assert_string_equal(ESCAPED("元树尔村委会"), "元树尔村委会");
	assert_string_equal(ESCAPED("\xc2\xa0" "nbsp"), "\xc2\xa0" "nbsp");     /* U+00A0 */
	assert_string_equal(ESCAPED("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");   /* U+1F600 */
	assert_string_equal(ESCAPED(""), "");
}

/* No line can be forged: every C0 control and DEL is escaped. */
static void
test_escape_c0_and_del(void **state)
{
	char in[2], out[16];

	(void)state;
	assert_string_equal(ESCAPED("a\nb\rc\td"), "a\\nb\\rc\\td");
	assert_string_equal(ESCAPED("fake\ntallyfeed-collector: info: stored"),
	                    "fake\\ntallyfeed-collector: info: stored");
	assert_string_equal(ESCAPED("\x1b[2J\x1b]0;title\x07"), "\\x1b[2J\\x1b]0;title\\x07");
	assert_string_equal(ESCAPED("nul\0inside"), "nul\\x00inside");
	assert_string_equal(ESCAPED("del\x7f"), "del\\x7f");
	for (int c = 0; c < 0x20; c++) {
		in[0] = (char)c;
		in[1] = 'x';
		tf_text_escape(out, sizeof out, in, 2);
		assert_int_equal(out[0], '\\');
		for (const char *p = out; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static void
test_escape_backslash_reads_back_one_way(void **state)
{
	(void)state;
	/* A literal backslash-n is not an escaped newline. */
	assert_string_equal(ESCAPED("a\\nb"), "a\\\\nb");
}

/* C1 controls, the separators and the bidi controls: each as \u{XXXX}. */
static void
test_escape_hidden_code_points(void **state)
{
	(void)state;
	assert_string_equal(ESCAPED("a\xc2\x85" "b"), "a\\u{0085}b");      /* NEL */
	assert_string_equal(ESCAPED("\xc2\x80\xc2\x9f"), "\\u{0080}\\u{009f}");
	assert_string_equal(ESCAPED("\xe2\x80\xa8\xe2\x80\xa9"), "\\u{2028}\\u{2029}");
	assert_string_equal(ESCAPED("\xe2\x80\xaa\xe2\x80\xae"), "\\u{202a}\\u{202e}");
	assert_string_equal(ESCAPED("\xe2\x81\xa6\xe2\x81\xa9"), "\\u{2066}\\u{2069}");
	/* Their neighbours are text. */
	assert_string_equal(ESCAPED("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa"),
	                    "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
	/* "evil\u202Etxt.exe" cannot turn round on screen. */
	assert_string_equal(ESCAPED("evil\xe2\x80\xaetxt.exe"), "evil\\u{202e}txt.exe");
}

static void
test_escape_ill_formed_bytes(void **state)
{
	(void)state;
	assert_string_equal(ESCAPED("\xff"), "\\xff");
	assert_string_equal(ESCAPED("\xc0\x8a"), "\\xc0\\x8a");          /* overlong newline */
	assert_string_equal(ESCAPED("\xed\xa0\x80"), "\\xed\\xa0\\x80");  /* a surrogate */
	assert_string_equal(ESCAPED("cut\xe5\x85"), "cut\\xe5\\x85");      /* truncated */
	assert_true(tf_utf8_valid(ESCAPED("\xff\xfe\n\xc2\x85"), strlen(ESCAPED("\xff\xfe\n\xc2\x85"))));
}

/* Cut to fit, between characters and escapes, and always terminated. */
static void
test_escape_bounded(void **state)
{
	char out[8];
	size_t n;

	(void)state;
	n = tf_text_escape(out, sizeof out, "abc\ndef", 8);
	assert_string_equal(out, "abc\\nde");
	assert_int_equal(n, 7);
	n = tf_text_escape(out, sizeof out, "abcdef\n", 8);
	assert_string_equal(out, "abcdef");            /* not half of "\\n" */
	assert_int_equal(n, 6);
	n = tf_text_escape(out, sizeof out, "ab元树", strlen("ab元树"));
	assert_string_equal(out, "ab元");               /* not half of 树 */
	n = tf_text_escape(out, 1, "abc", 3);
	assert_string_equal(out, "");
	assert_int_equal(n, 0);
}

/* TF_TEXT_ESCAPED_MAX holds the worst case whole. */
static void
test_escape_dup_whole(void **state)
{
	char worst[64];
	char *out;

	(void)state;
	memset(worst, 0x01, sizeof worst - 1);
	worst[sizeof worst - 1] = '\0';
	out = tf_text_escape_dup(worst);
	assert_non_null(out);
	assert_int_equal(strlen(out), 4 * (sizeof worst - 1));
	free(out);
	assert_null(tf_text_escape_dup(NULL));
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
		cmocka_unit_test(test_escape_keeps_text),
		cmocka_unit_test(test_escape_c0_and_del),
		cmocka_unit_test(test_escape_backslash_reads_back_one_way),
		cmocka_unit_test(test_escape_hidden_code_points),
		cmocka_unit_test(test_escape_ill_formed_bytes),
		cmocka_unit_test(test_escape_bounded),
		cmocka_unit_test(test_escape_dup_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
