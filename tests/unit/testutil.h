/*
 * testutil: what every unit test file includes — cmocka with the headers it
 * needs before it, and assertions cmocka 1.1 lacks.
 */
#ifndef TF_TESTUTIL_H
#define TF_TESTUTIL_H

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The shipped Qinghai registry, from the source tree the tests were built in. */
#ifndef TF_SOURCE_DIR
#error "TF_SOURCE_DIR must be defined by the build"
#endif
#define TF_QINGHAI_DIR TF_SOURCE_DIR "/deploy/registry/qinghai"

/* Fail, showing both strings, unless needle occurs in haystack. */
#define assert_contains(haystack, needle)                                        \
	do {                                                                     \
		const char *hay_ = (haystack), *needle_ = (needle);              \
		if (strstr(hay_, needle_) == NULL) {                             \
			print_error("\"%s\" does not contain \"%s\"\n", hay_, needle_); \
			fail();                                                  \
		}                                                                \
	} while (0)

/* Fail unless s starts with prefix. */
#define assert_starts_with(s, prefix)                                            \
	do {                                                                     \
		const char *s_ = (s), *prefix_ = (prefix);                       \
		if (strncmp(s_, prefix_, strlen(prefix_)) != 0) {                \
			print_error("\"%s\" does not start with \"%s\"\n", s_, prefix_); \
			fail();                                                  \
		}                                                                \
	} while (0)

/* Remove a test's mkdtemp directory and all in it, links not followed. */
static inline int
tf_test_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void
tf_test_remove_tree(const char *path)
{
	nftw(path, tf_test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
