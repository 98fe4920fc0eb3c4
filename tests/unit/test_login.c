/*
 * test_login: the entry desk's password, sessions and CSRF tokens
 * (agents/login.c): the hash file (0600, Argon2id, never the password, a
 * link or a file open to others refused), a right and a wrong password,
 * the session and CSRF checks (a missing, wrong, short or other session's
 * token refused), expiry when idle and at the end of a session's life,
 * the bound on sessions, logout, and the rate limit.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "login.h"

#define HERE "127.0.0.1"
#define PW "correct-horse"

static char s_dir[] = "/tmp/test_login.XXXXXX";
static char s_path[256];

static int
s_setup(void **state)
{
	char err[256];

	(void)state;
	if (mkdtemp(s_dir) == NULL)
		return -1;
	snprintf(s_path, sizeof s_path, "%s/%s", s_dir, LOGIN_FILE);
	return login_password_set(s_path, PW, err, sizeof err);
}

static int
s_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_hash_file(void **state)
{
	struct stat st;
	char text[256] = "", err[256];
	FILE *fp;

	(void)state;
	assert_int_equal(stat(s_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fp = fopen(s_path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof text, fp));
	fclose(fp);
	assert_int_equal(strncmp(text, "$argon2id$", 10), 0);
	assert_null(strstr(text, PW));
	assert_int_equal(login_password_set(s_path, "short", err, sizeof err), -1);
}

static void
test_unsound_files_refused(void **state)
{
	char link[300], open_path[300], err[256];
	login_t *login;

	(void)state;
	snprintf(link, sizeof link, "%s/link", s_dir);
	assert_int_equal(symlink(s_path, link), 0);
	assert_null(login_new(link, err, sizeof err));
	snprintf(open_path, sizeof open_path, "%s/open", s_dir);
	assert_int_equal(login_password_set(open_path, PW, err, sizeof err), 0);
	assert_int_equal(chmod(open_path, 0644), 0);
	assert_null(login_new(open_path, err, sizeof err));
	assert_non_null(strstr(err, "chmod 600"));
	/* No file at all: a login that no one can pass. */
	snprintf(open_path, sizeof open_path, "%s/none", s_dir);
	login = login_new(open_path, err, sizeof err);
	assert_non_null(login);
	char session[LOGIN_TOKEN_HEX], csrf[LOGIN_TOKEN_HEX];
	assert_int_equal(login_attempt(login, HERE, PW, 1000, session, csrf), LOGIN_UNSET);
	login_destroy(&login);
	assert_null(login);
}

static void
test_sessions_and_csrf(void **state)
{
	char err[256], session[LOGIN_TOKEN_HEX], csrf[LOGIN_TOKEN_HEX], other[LOGIN_TOKEN_HEX];
	char other_csrf[LOGIN_TOKEN_HEX], got[LOGIN_TOKEN_HEX], wrong[LOGIN_TOKEN_HEX];
	login_t *login = login_new(s_path, err, sizeof err);
	int64_t t = 1000000;

	(void)state;
	assert_non_null(login);
	assert_int_equal(login_attempt(login, HERE, "not it at all", t, session, csrf), LOGIN_WRONG);
	assert_int_equal(login_attempt(login, HERE, PW, t, session, csrf), LOGIN_OK);
	assert_int_equal(strlen(session), 64);
	assert_string_not_equal(session, csrf);
	assert_true(login_check(login, session, NULL, t, got));
	assert_string_equal(got, csrf);
	assert_true(login_check(login, session, csrf, t, NULL));
	assert_false(login_check(login, session, "", t, NULL));
	assert_false(login_check(login, session, session, t, NULL));
	snprintf(wrong, sizeof wrong, "%s", csrf);
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	assert_false(login_check(login, session, wrong, t, NULL));
	wrong[63] = '\0';
	assert_false(login_check(login, session, wrong, t, NULL));
	assert_false(login_check(login, NULL, NULL, t, NULL));
	assert_false(login_check(login, "zz", NULL, t, NULL));
	/* Another session's token is not this one's. */
	assert_int_equal(login_attempt(login, HERE, PW, t, other, other_csrf), LOGIN_OK);
	assert_false(login_check(login, session, other_csrf, t, NULL));
	/* Idle too long: gone; used, kept. */
	assert_true(login_check(login, session, NULL, t + (LOGIN_IDLE_S - 1) * 1000LL, NULL));
	assert_false(login_check(login, other, NULL, t + LOGIN_IDLE_S * 1000LL, NULL));
	/* Kept alive, it still ends at the end of its life. */
	for (int64_t at = t; at < t + LOGIN_LIFE_S * 1000LL; at += (LOGIN_IDLE_S - 60) * 1000LL)
		assert_true(login_check(login, session, NULL, at, NULL));
	assert_false(login_check(login, session, NULL, t + LOGIN_LIFE_S * 1000LL, NULL));
	login_destroy(&login);
}

static void
test_bound_logout_and_rate(void **state)
{
	char err[256], first[LOGIN_TOKEN_HEX], session[LOGIN_TOKEN_HEX], csrf[LOGIN_TOKEN_HEX];
	login_t *login = login_new(s_path, err, sizeof err);
	int64_t t = 5000000;

	(void)state;
	assert_non_null(login);
	assert_int_equal(login_attempt(login, HERE, PW, t, first, csrf), LOGIN_OK);
	/* The burst is spent: the next attempt waits, right password or not. */
	for (int i = 1; i < LOGIN_BURST; i++)
		assert_int_equal(login_attempt(login, HERE, "wrong wrong", t, session, csrf), LOGIN_WRONG);
	assert_int_equal(login_attempt(login, HERE, PW, t, session, csrf), LOGIN_LIMITED);
	assert_int_equal(login_attempt(login, HERE, PW, t + LOGIN_REFILL_MS - 1, session, csrf),
	                 LOGIN_LIMITED);
	assert_int_equal(login_attempt(login, HERE, PW, t + LOGIN_REFILL_MS, session, csrf), LOGIN_OK);
	/* More sessions than kept: the one used longest ago ends. */
	t += 10 * LOGIN_REFILL_MS * LOGIN_SESSIONS_MAX;
	for (int i = 0; i < LOGIN_SESSIONS_MAX; i++)
		assert_int_equal(login_attempt(login, HERE, PW, t + i * LOGIN_REFILL_MS, session, csrf),
		                 LOGIN_OK);
	assert_false(login_check(login, first, NULL, t + LOGIN_SESSIONS_MAX * LOGIN_REFILL_MS, NULL));
	assert_true(login_check(login, session, csrf, t + LOGIN_SESSIONS_MAX * LOGIN_REFILL_MS, NULL));
	login_logout(login, session, t + LOGIN_SESSIONS_MAX * LOGIN_REFILL_MS);
	assert_false(login_check(login, session, NULL, t + LOGIN_SESSIONS_MAX * LOGIN_REFILL_MS, NULL));
	login_destroy(&login);
}

/* One address spending its attempts does not lock out another; many
 * addresses together are still bounded. */
static void
test_rate_by_address(void **state)
{
	char err[256], session[LOGIN_TOKEN_HEX], csrf[LOGIN_TOKEN_HEX], address[32];
	login_t *login = login_new(s_path, err, sizeof err);
	int64_t t = 9000000;
	int n = 0;

	(void)state;
	assert_non_null(login);
	for (int i = 0; i < LOGIN_BURST; i++)
		assert_int_equal(login_attempt(login, "10.0.0.66", "wrong wrong", t, session, csrf),
		                 LOGIN_WRONG);
	assert_int_equal(login_attempt(login, "10.0.0.66", PW, t, session, csrf), LOGIN_LIMITED);
	/* The staff's own machine is still let in, at once. */
	assert_int_equal(login_attempt(login, HERE, PW, t, session, csrf), LOGIN_OK);
	/* New addresses, one guess each, until every client's allowance is
	 * spent: LOGIN_BURST + 1 were taken above. */
	for (; n < LOGIN_ALL_BURST; n++) {
		snprintf(address, sizeof address, "10.0.1.%d", n);
		if (login_attempt(login, address, "wrong wrong", t, session, csrf) != LOGIN_WRONG)
			break;
	}
	assert_int_equal(n, LOGIN_ALL_BURST - LOGIN_BURST - 1);
	assert_int_equal(login_attempt(login, "10.0.2.1", PW, t, session, csrf), LOGIN_LIMITED);
	assert_int_equal(login_attempt(login, "10.0.2.1", PW, t + LOGIN_ALL_REFILL_MS, session, csrf),
	                 LOGIN_OK);
	login_destroy(&login);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_file),
		cmocka_unit_test(test_unsound_files_refused),
		cmocka_unit_test(test_sessions_and_csrf),
		cmocka_unit_test(test_bound_logout_and_rate),
		cmocka_unit_test(test_rate_by_address),
	};

	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
