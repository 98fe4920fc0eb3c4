/*
 * test_inbox: the agent's inbox against real files in a mkdtemp directory.
 * A sound file is queued once it has looked the same at two looks
 * TF_INBOX_SETTLE_MS apart, not at a look sooner, and a look says when
 * the next is due; a change of the directory is seen at once; a
 * file still being written is not read half; a symbolic link, FIFO,
 * directory, device and oversized file named *.json are refused unread,
 * with a .why naming what they are, and the look returns (a FIFO once
 * wedged it: an alarm fails the test rather than letting it hang); a
 * queued/ or refused/ that is a link or not a directory stops the inbox
 * from starting; a link planted at refused/NAME.json.why is replaced, and
 * what it pointed at is untouched; `submit`'s reader refuses the same;
 * a missing inbox is made, and one made anew by staff is followed.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "forwarder.h"
#include "inbox.h"
#include "report.h"
#include "rules.h"
#include "spool.h"

#define AGENT "agent-630121100"
#define ALARM_S 20              /* a look that blocks fails the test */

typedef struct {
	char base[64];          /* mkdtemp directory, removed afterwards */
	char inbox[128];        /* base/inbox */
	char example[4096];     /* a sound result file */
	forwarder_config_t fc;
	spool_t *spool;
	tf_inbox_t *inbox_obj;
} fixture_t;

static int
s_teardown(void **state)
{
	fixture_t *fx = *state;

	alarm(0);
	if (fx == NULL)
		return 0;
	tf_inbox_destroy(&fx->inbox_obj);
	spool_close(&fx->spool);
	if (fx->base[0] != '\0')
		tf_test_remove_tree(fx->base);
	free(fx);
	return 0;
}

static int
s_setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	char path[256], err[1024];

	if (fx == NULL)
		return -1;
	*state = fx;
	alarm(ALARM_S);
	snprintf(fx->base, sizeof fx->base, "/tmp/test_inbox.XXXXXX");
	if (mkdtemp(fx->base) == NULL) {
		fx->base[0] = '\0';
		goto fail;
	}
	snprintf(fx->inbox, sizeof fx->inbox, "%s/inbox", fx->base);
	snprintf(path, sizeof path, "%s/spool", fx->base);
	snprintf(fx->example, sizeof fx->example, "%s/deploy/examples/villagers.json",
	         TF_SOURCE_DIR);
	if (mkdir(fx->inbox, 0750) != 0)
		goto fail;
	fx->spool = spool_open(path, err, sizeof err);
	if (fx->spool == NULL) {
		print_error("%s\n", err);
		goto fail;
	}
	fx->fc.agent_id = AGENT;
	tf_rules_config_default(&fx->fc.rules);
	return 0;
fail:
	/* cmocka runs no teardown when the setup fails. */
	s_teardown(state);
	*state = NULL;
	return -1;
}

/* The inbox of the fixture, which must start. */
static tf_inbox_t *
s_inbox(fixture_t *fx)
{
	char err[1024];

	fx->inbox_obj = tf_inbox_new(fx->inbox, fx->spool, &fx->fc, err, sizeof err);
	if (fx->inbox_obj == NULL)
		fail_msg("tf_inbox_new: %s", err);
	return fx->inbox_obj;
}

static char *
s_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *text = malloc(1024 * 1024 + 1);
	size_t n;

	assert_non_null(fp);
	assert_non_null(text);
	n = fread(text, 1, 1024 * 1024, fp);
	fclose(fp);
	text[n] = '\0';
	if (len != NULL)
		*len = n;
	return text;
}

static void
s_write(const char *path, const char *data, size_t len, const char *mode)
{
	FILE *fp = fopen(path, mode);

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* inbox/SUB/NAME's lstat type, or 0 if there is none. */
static mode_t
s_type(const fixture_t *fx, const char *sub, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s%s%s", fx->inbox, sub, *sub ? "/" : "", name);
	if (lstat(path, &st) != 0)
		return 0;
	return st.st_mode & S_IFMT;
}

/* Fail unless refused/NAME.why holds want, and refused/NAME is what was dropped. */
static void
s_assert_refused(const fixture_t *fx, const char *name, mode_t type, const char *want)
{
	char path[512];
	char *why;

	assert_int_equal(s_type(fx, "", name), 0);
	assert_int_equal(s_type(fx, "refused", name), type);
	snprintf(path, sizeof path, "%s/refused/%s.why", fx->inbox, name);
	assert_int_equal(s_type(fx, "refused", strrchr(path, '/') + 1), S_IFREG);
	why = s_slurp(path, NULL);
	assert_contains(why, want);
	free(why);
}

/* The looks' clock: most tests look TF_INBOX_SETTLE_MS apart, as an idle
 * agent does. */
static int64_t s_clock;

static int64_t
s_look(tf_inbox_t *inbox)
{
	s_clock += TF_INBOX_SETTLE_MS;
	return tf_inbox_scan(inbox, s_clock);
}

static int64_t
s_queued_count(const fixture_t *fx)
{
	spool_stats_t st;

	assert_int_equal(spool_stats(fx->spool, &st), 0);
	return st.pending + st.in_flight;
}

static void
test_sound_file_queued_when_finished(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], *text;
	size_t len;

	text = s_slurp(fx->example, &len);
	snprintf(path, sizeof path, "%s/a.json", fx->inbox);
	s_write(path, text, len, "wb");
	free(text);
	/* First seen: looked at again next time before it is read. */
	s_look(inbox);
	assert_int_equal(s_type(fx, "", "a.json"), S_IFREG);
	s_look(inbox);
	assert_int_equal(s_type(fx, "", "a.json"), 0);
	assert_int_equal(s_type(fx, "queued", "a.json"), S_IFREG);
	assert_int_equal(s_queued_count(fx), 1);
}

static void
test_half_written_not_read(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], *text;
	size_t len;

	text = s_slurp(fx->example, &len);
	snprintf(path, sizeof path, "%s/h.json", fx->inbox);
	s_write(path, text, len / 2, "wb");
	s_look(inbox);
	assert_int_equal(s_type(fx, "", "h.json"), S_IFREG);
	assert_int_equal(s_type(fx, "refused", "h.json"), 0);
	/* The tool writes the rest: changed, so still not read. */
	s_write(path, text + len / 2, len - len / 2, "ab");
	free(text);
	s_look(inbox);
	assert_int_equal(s_type(fx, "", "h.json"), S_IFREG);
	assert_int_equal(s_type(fx, "refused", "h.json"), 0);
	assert_int_equal(s_queued_count(fx), 0);
	/* The same at two looks: finished, and whole. */
	s_look(inbox);
	assert_int_equal(s_type(fx, "queued", "h.json"), S_IFREG);
	assert_int_equal(s_type(fx, "refused", "h.json"), 0);
	assert_int_equal(s_queued_count(fx), 1);
}

static void
test_symlink_refused(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512];

	/* A link to a sound report is still a link: not followed. */
	snprintf(path, sizeof path, "%s/l.json", fx->inbox);
	assert_int_equal(symlink(fx->example, path), 0);
	s_look(inbox);
	s_assert_refused(fx, "l.json", S_IFLNK, "not read: a symbolic link");
	assert_int_equal(s_queued_count(fx), 0);
}

static void
test_fifo_refused(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512];

	snprintf(path, sizeof path, "%s/f.json", fx->inbox);
	assert_int_equal(mkfifo(path, 0640), 0);
	s_look(inbox);                  /* returns: the alarm would end the test */
	s_assert_refused(fx, "f.json", S_IFIFO, "not read: a FIFO");
}

static void
test_directory_refused(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512];

	snprintf(path, sizeof path, "%s/d.json", fx->inbox);
	assert_int_equal(mkdir(path, 0750), 0);
	s_look(inbox);
	s_assert_refused(fx, "d.json", S_IFDIR, "not read: a directory");
}

static void
test_device_refused(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox;
	char path[512];

	snprintf(path, sizeof path, "%s/c.json", fx->inbox);
	/* /dev/null's numbers: harmless even if it were opened. */
	if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) != 0) {
		print_message("device case skipped: mknod: %s (needs CAP_MKNOD)\n", strerror(errno));
		skip();
	}
	inbox = s_inbox(fx);
	s_look(inbox);
	s_assert_refused(fx, "c.json", S_IFCHR, "not read: a device");
}

static void
test_oversized_refused(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], want[64];
	int fd;

	/* Sparse: a gigabyte that costs nothing, refused on its size alone. */
	snprintf(path, sizeof path, "%s/big.json", fx->inbox);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1024L * 1024 * 1024), 0);
	close(fd);
	s_look(inbox);
	snprintf(want, sizeof want, "not read: larger than %d bytes", TF_REPORT_FILE_MAX);
	s_assert_refused(fx, "big.json", S_IFREG, want);
}

static void
test_why_link_not_followed(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], victim[512], *text;

	/* Someone plants refused/x.json.why -> the spool (here a stand-in). */
	snprintf(victim, sizeof victim, "%s/precious", fx->base);
	s_write(victim, "precious\n", 9, "wb");
	snprintf(path, sizeof path, "%s/refused/x.json.why", fx->inbox);
	assert_int_equal(symlink(victim, path), 0);
	snprintf(path, sizeof path, "%s/x.json", fx->inbox);
	s_write(path, "{ not json", 10, "wb");
	s_look(inbox);
	s_look(inbox);
	assert_int_equal(s_type(fx, "refused", "x.json"), S_IFREG);
	assert_int_equal(s_type(fx, "refused", "x.json.why"), S_IFREG);
	text = s_slurp(victim, NULL);
	assert_string_equal(text, "precious\n");
	free(text);
	snprintf(path, sizeof path, "%s/refused/x.json.why", fx->inbox);
	text = s_slurp(path, NULL);
	assert_contains(text, "x.json");
	free(text);
}

/* An inbox whose SUB is unsound does not start, and says why. */
static void
s_assert_no_start(fixture_t *fx, const char *want)
{
	char err[1024];

	err[0] = '\0';
	fx->inbox_obj = tf_inbox_new(fx->inbox, fx->spool, &fx->fc, err, sizeof err);
	assert_null(fx->inbox_obj);
	assert_contains(err, want);
}

static void
test_linked_refused_dir(void **state)
{
	fixture_t *fx = *state;
	char path[512], elsewhere[512];

	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", fx->base);
	assert_int_equal(mkdir(elsewhere, 0750), 0);
	snprintf(path, sizeof path, "%s/refused", fx->inbox);
	assert_int_equal(symlink(elsewhere, path), 0);
	s_assert_no_start(fx, "refused is a symbolic link");
}

static void
test_linked_queued_dir(void **state)
{
	fixture_t *fx = *state;
	char path[512], elsewhere[512];

	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", fx->base);
	assert_int_equal(mkdir(elsewhere, 0750), 0);
	snprintf(path, sizeof path, "%s/queued", fx->inbox);
	assert_int_equal(symlink(elsewhere, path), 0);
	s_assert_no_start(fx, "queued is a symbolic link");
	/* Nor a plain file where the directory should be. */
	assert_int_equal(unlink(path), 0);
	s_write(path, "x", 1, "wb");
	s_assert_no_start(fx, "queued is a regular file, not a directory");
}

static void
test_submit_reader_refuses(void **state)
{
	fixture_t *fx = *state;
	char path[512], err[1024];
	int64_t sequence;
	bool existed;
	int reason;

	snprintf(path, sizeof path, "%s/f.json", fx->base);
	assert_int_equal(mkfifo(path, 0640), 0);
	assert_int_equal(tf_inbox_queue_file(fx->spool, &fx->fc, path, &sequence, &existed, &reason,
	                                     err, sizeof err), -1);
	assert_contains(err, "a FIFO");
	snprintf(path, sizeof path, "%s/l.json", fx->base);
	assert_int_equal(symlink(fx->example, path), 0);
	assert_int_equal(tf_inbox_queue_file(fx->spool, &fx->fc, path, &sequence, &existed, &reason,
	                                     err, sizeof err), -1);
	assert_contains(err, "a symbolic link");
	/* The file itself is taken. */
	assert_int_equal(tf_inbox_queue_file(fx->spool, &fx->fc, fx->example, &sequence, &existed,
	                                     &reason, err, sizeof err), 0);
	assert_int_equal(s_queued_count(fx), 1);
}

/* The inbox is made if missing; made again by staff, it is followed. */
static void
test_inbox_made_and_followed(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox;
	char path[512], cmd[600], *text;
	size_t len;

	assert_int_equal(rmdir(fx->inbox), 0);
	inbox = s_inbox(fx);
	assert_int_equal(s_type(fx, "", "queued"), S_IFDIR);
	snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir %s", fx->inbox, fx->inbox);
	assert_int_equal(system(cmd), 0);
	text = s_slurp(fx->example, &len);
	snprintf(path, sizeof path, "%s/n.json", fx->inbox);
	s_write(path, text, len, "wb");
	free(text);
	s_look(inbox);
	s_look(inbox);
	assert_int_equal(s_type(fx, "queued", "n.json"), S_IFREG);
	assert_int_equal(s_queued_count(fx), 1);
}

/* A stick of many files goes in over several looks, a hundred a look, so
 * the agent's loop is not held for the whole of it. */
static void
test_many_files_over_looks(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], *text;
	size_t len;
	int queued = 0, left = 0;

	text = s_slurp(fx->example, &len);
	for (int i = 0; i < 105; i++) {
		snprintf(path, sizeof path, "%s/m%03d.json", fx->inbox, i);
		s_write(path, text, len, "wb");
	}
	free(text);
	s_look(inbox);                  /* first seen */
	/* A hundred taken; the rest are due at once. */
	assert_true(s_look(inbox) <= s_clock);
	for (int i = 0; i < 105; i++) {
		char name[16];

		snprintf(name, sizeof name, "m%03d.json", i);
		queued += s_type(fx, "queued", name) == S_IFREG;
		left += s_type(fx, "", name) == S_IFREG;
	}
	assert_int_equal(queued, 100);
	assert_int_equal(left, 5);
	assert_int_equal(s_type(fx, "", "m104.json"), S_IFREG);      /* oldest name first */
	s_look(inbox);                  /* the rest, still unchanged */
	assert_int_equal(s_type(fx, "queued", "m104.json"), S_IFREG);
	assert_int_equal(s_type(fx, "", "m100.json"), 0);
	assert_int_equal(s_queued_count(fx), 1);                    /* one content, one message */
}

/* A file is read once it has looked the same for TF_INBOX_SETTLE_MS,
 * however often it is looked at meanwhile: a look 100 ms after the first
 * leaves it (the agent looks as soon as the directory changes), and each
 * look says when the file will be due. */
static void
test_settles_before_read(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], *text;
	size_t len;

	assert_true(tf_inbox_scan(inbox, 1000) == INT64_MAX);   /* nothing noted */
	text = s_slurp(fx->example, &len);
	snprintf(path, sizeof path, "%s/s.json", fx->inbox);
	s_write(path, text, len, "wb");
	free(text);
	assert_true(tf_inbox_scan(inbox, 2000) == 2000 + TF_INBOX_SETTLE_MS);
	assert_true(tf_inbox_scan(inbox, 2100) == 2000 + TF_INBOX_SETTLE_MS);
	assert_int_equal(s_type(fx, "", "s.json"), S_IFREG);
	assert_true(tf_inbox_scan(inbox, 2000 + TF_INBOX_SETTLE_MS - 1)
	            == 2000 + TF_INBOX_SETTLE_MS);
	assert_int_equal(s_type(fx, "", "s.json"), S_IFREG);
	assert_int_equal(s_queued_count(fx), 0);
	assert_true(tf_inbox_scan(inbox, 2000 + TF_INBOX_SETTLE_MS) == INT64_MAX);
	assert_int_equal(s_type(fx, "queued", "s.json"), S_IFREG);
	assert_int_equal(s_queued_count(fx), 1);
}

/* A file that changed between looks settles from the look that saw the
 * change, not from the first. */
static void
test_change_restarts_settling(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], *text;
	size_t len;

	text = s_slurp(fx->example, &len);
	snprintf(path, sizeof path, "%s/c.json", fx->inbox);
	s_write(path, text, len / 2, "wb");
	tf_inbox_scan(inbox, 0);
	s_write(path, text + len / 2, len - len / 2, "ab");
	free(text);
	assert_true(tf_inbox_scan(inbox, 600) == 600 + TF_INBOX_SETTLE_MS);
	tf_inbox_scan(inbox, TF_INBOX_SETTLE_MS);
	assert_int_equal(s_type(fx, "", "c.json"), S_IFREG);
	tf_inbox_scan(inbox, 600 + TF_INBOX_SETTLE_MS);
	assert_int_equal(s_type(fx, "queued", "c.json"), S_IFREG);
	assert_int_equal(s_type(fx, "refused", "c.json"), 0);
}

/* tf_inbox_changed: quiet after a look, true once a name is renamed in
 * (the directory's times are set back first, so the rename cannot fall
 * in the look's own clock tick). */
static void
test_changed_after_rename(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	struct timespec old[2] = { { 1, 0 }, { 1, 0 } };
	char path[512], tmp[512], *text;
	size_t len;

	text = s_slurp(fx->example, &len);
	snprintf(tmp, sizeof tmp, "%s/.r.json.tmp", fx->inbox);
	s_write(tmp, text, len, "wb");
	free(text);
	assert_true(tf_inbox_changed(inbox));          /* never looked at */
	assert_int_equal(utimensat(AT_FDCWD, fx->inbox, old, 0), 0);
	assert_true(tf_inbox_scan(inbox, 0) == INT64_MAX);     /* a hidden name: not noted */
	assert_false(tf_inbox_changed(inbox));
	snprintf(path, sizeof path, "%s/r.json", fx->inbox);
	assert_int_equal(rename(tmp, path), 0);
	assert_true(tf_inbox_changed(inbox));
	assert_true(tf_inbox_scan(inbox, 10) == 10 + TF_INBOX_SETTLE_MS);
}

/* The look syncs its directories once, after its moves: a crash before
 * then can leave a queued file back in the inbox.  Taken in again, it is
 * the message already queued, and it goes to queued/ again. */
static void
test_move_lost_queues_nothing_new(void **state)
{
	fixture_t *fx = *state;
	tf_inbox_t *inbox = s_inbox(fx);
	char path[512], back[512], *text;
	size_t len;

	text = s_slurp(fx->example, &len);
	snprintf(path, sizeof path, "%s/q.json", fx->inbox);
	s_write(path, text, len, "wb");
	free(text);
	s_look(inbox);
	s_look(inbox);
	assert_int_equal(s_type(fx, "queued", "q.json"), S_IFREG);
	assert_int_equal(s_queued_count(fx), 1);
	snprintf(back, sizeof back, "%s/queued/q.json", fx->inbox);
	assert_int_equal(rename(back, path), 0);
	s_look(inbox);
	s_look(inbox);
	assert_int_equal(s_type(fx, "", "q.json"), 0);
	assert_int_equal(s_type(fx, "queued", "q.json"), S_IFREG);
	assert_int_equal(s_queued_count(fx), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sound_file_queued_when_finished, s_setup,
		                                s_teardown),
		cmocka_unit_test_setup_teardown(test_half_written_not_read, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_directory_refused, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_device_refused, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_refused, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_why_link_not_followed, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_linked_refused_dir, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_linked_queued_dir, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_submit_reader_refuses, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_inbox_made_and_followed, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_many_files_over_looks, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_settles_before_read, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_change_restarts_settling, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_changed_after_rename, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_move_lost_queues_nothing_new, s_setup,
		                                s_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
