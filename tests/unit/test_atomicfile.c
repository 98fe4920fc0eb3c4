/*
 * test_atomicfile: the one writer of files others rely on.  A file is
 * written whole with its mode; a link at the name is replaced, and what it
 * pointed at is untouched; NOREPLACE refuses an existing name (a link
 * too) and leaves it as it was; no temporary name is left behind either
 * way; a failure says which file and sets errno.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

typedef struct {
	char dir[64];
} fixture_t;

static int
s_setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_atomicfile.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
s_teardown(void **state)
{
	fixture_t *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void
s_read(const char *path, char *out, size_t len)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(out, 1, len - 1, fp);
	out[n] = '\0';
	fclose(fp);
}

/* How many names in dir (besides . and ..). */
static int
s_entries(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void
test_write_whole_with_mode(void **state)
{
	fixture_t *fx = *state;
	char path[128], text[64], err[512];
	struct stat st;

	snprintf(path, sizeof path, "%s/a", fx->dir);
	assert_int_equal(tf_atomicfile_write(path, "one\n", 4, 0600, 0, err, sizeof err), 0);
	assert_int_equal(tf_atomicfile_write(path, "two\n", 4, 0600, 0, err, sizeof err), 0);
	s_read(path, text, sizeof text);
	assert_string_equal(text, "two\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(s_entries(fx->dir), 1);
}

static void
test_link_replaced_not_followed(void **state)
{
	fixture_t *fx = *state;
	char path[128], victim[128], text[64], err[512];
	struct stat st;

	snprintf(victim, sizeof victim, "%s/victim", fx->dir);
	snprintf(path, sizeof path, "%s/b.why", fx->dir);
	assert_int_equal(tf_atomicfile_write(victim, "precious\n", 9, 0600, 0, err, sizeof err), 0);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(tf_atomicfile_write(path, "why\n", 4, 0640, 0, err, sizeof err), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	s_read(victim, text, sizeof text);
	assert_string_equal(text, "precious\n");
	assert_int_equal(s_entries(fx->dir), 2);
}

static void
test_noreplace(void **state)
{
	fixture_t *fx = *state;
	char path[128], link[128], text[64], err[512];

	snprintf(path, sizeof path, "%s/key", fx->dir);
	assert_int_equal(tf_atomicfile_write(path, "first\n", 6, 0600, TF_ATOMICFILE_NOREPLACE, err,
	                                     sizeof err), 0);
	errno = 0;
	assert_int_equal(tf_atomicfile_write(path, "second\n", 7, 0600, TF_ATOMICFILE_NOREPLACE,
	                                     err, sizeof err), -1);
	assert_int_equal(errno, EEXIST);
	assert_contains(err, path);
	s_read(path, text, sizeof text);
	assert_string_equal(text, "first\n");
	/* A dangling link counts as there. */
	snprintf(link, sizeof link, "%s/dangling", fx->dir);
	assert_int_equal(symlink("/nonexistent/target", link), 0);
	assert_int_equal(tf_atomicfile_write(link, "x", 1, 0600, TF_ATOMICFILE_NOREPLACE, err,
	                                     sizeof err), -1);
	assert_int_equal(s_entries(fx->dir), 2);
}

static void
test_failure_names_file(void **state)
{
	fixture_t *fx = *state;
	char path[128], err[512];

	snprintf(path, sizeof path, "%s/no-such-dir/x", fx->dir);
	errno = 0;
	assert_int_equal(tf_atomicfile_write(path, "x", 1, 0600, 0, err, sizeof err), -1);
	assert_int_equal(errno, ENOENT);
	assert_contains(err, path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_whole_with_mode, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_link_replaced_not_followed, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_noreplace, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_failure_names_file, s_setup, s_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
