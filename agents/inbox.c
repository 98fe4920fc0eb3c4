/*
 * inbox: result files dropped by township staff (see inbox.h).
 *
 * The directory and its queued/ and refused/ are held open for the life
 * of the inbox and every name is resolved against those descriptors
 * (openat, renameat), so replacing a directory by a link after the start
 * changes nothing.
 */
#include "inbox.h"
#include "atomicfile.h"
#include "infile.h"
#include "log.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INBOX_FILES_MAX 1000    /* names read per look */
/* Files taken in or refused per look: each costs a durable spool commit or
 * fsyncs, and the agent's loop (acks, heartbeats, the watchdog) waits for
 * the look to end; a stick of thousands of files goes in over several. */
#define INBOX_MOVES_MAX 100
#define INBOX_MODE 0770         /* the inbox, when the agent makes it: its group drops files */
#define SUBDIR_MODE 0750        /* queued/ and refused/: the agent, its group reads */
#define STUCK_MAX 4096          /* names remembered as unmovable; then forgotten (logged again) */
#define WHY_MODE 0640

/* What a file looked like at a look, and since when (the look that first
 * saw it so): the same for TF_INBOX_SETTLE_MS, it is finished. */
typedef struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int64_t since;          /* zclock_mono() of the first look that saw it so */
} look_t;

struct _tf_inbox_t {
	spool_t *spool;
	const forwarder_config_t *config;      /* the caller's; a reload rewrites it */
	char *dir;
	int dirfd, queuedfd, refusedfd;
	zhashx_t *looks;        /* name -> look_t at the previous look, owned */
	zhashx_t *stuck;        /* names that could not be moved (logged once) -> 1 */
	bool replaced_logged;   /* the path names an unsound directory now: said */
	bool moved_queued, moved_refused;      /* this look moved a file there */
	/* The files this look queued, in one spool transaction (a batch):
	 * moved to queued/ once it is committed.  Fewer than INBOX_MOVES_MAX. */
	bool batch;
	size_t ntaken;
	struct {
		char name[NAME_MAX + 1];
		int64_t sequence;
		bool existed;
	} taken[INBOX_MOVES_MAX];
	bool dir_known;         /* dir_mtime and dir_ctime hold the last look's */
	struct timespec dir_mtime, dir_ctime;  /* the directory's when the last look began */
};

static void
s_look_of(const struct stat *st, look_t *look)
{
	memset(look, 0, sizeof *look);
	look->dev = st->st_dev;
	look->ino = st->st_ino;
	look->size = st->st_size;
	look->mtime = st->st_mtim;
	look->ctime = st->st_ctim;
}

static bool
s_look_same(const look_t *a, const look_t *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size
	       && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec
	       && a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void
s_free_item(void **item)
{
	free(*item);
	*item = NULL;
}

static zhashx_t *
s_looks_new(void)
{
	zhashx_t *looks = zhashx_new();

	if (looks != NULL) {
		zhashx_set_destructor(looks, s_free_item);
		zhashx_set_duplicator(looks, NULL);
	}
	return looks;
}

/* Create dir/name if need be and open it: it must be a directory, not a
 * link, owned by this user.  fd, or -1 with err. */
static int
s_open_subdir(int dirfd, const char *dir, const char *name, char *err, size_t errlen)
{
	struct stat st;
	const char *kind;
	int fd;

	if (mkdirat(dirfd, name, SUBDIR_MODE) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "could not create %s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	kind = tf_infile_kind(&st);
	if (kind == NULL || strcmp(kind, "a directory") != 0) {
		snprintf(err, errlen, "%s/%s is %s, not a directory of this agent's own",
		         dir, name, kind != NULL ? kind : "a regular file");
		return -1;
	}
	/* Judged again on the descriptor kept: it is what every move uses. */
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, name,
		         errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s/%s: not a directory", dir, name);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s/%s is owned by uid %lu, not by this agent's user (uid %lu)",
		         dir, name, (unsigned long)st.st_uid, (unsigned long)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

/* Open dir (made 0770 if missing: staff of the agent's group drop files
 * in it) and its queued/ and refused/ into fds; 0, or -1 with err and
 * nothing left open. */
static int
s_open_dirs(const char *dir, int fds[3], char *err, size_t errlen)
{
	fds[0] = fds[1] = fds[2] = -1;
	if (mkdir(dir, INBOX_MODE) == 0)
		log_info("inbox: made %s", dir);
	else if (errno != EEXIST) {
		snprintf(err, errlen, "could not make %s: %s", dir, strerror(errno));
		return -1;
	}
	fds[0] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fds[0] < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	fds[1] = s_open_subdir(fds[0], dir, "queued", err, errlen);
	if (fds[1] >= 0)
		fds[2] = s_open_subdir(fds[0], dir, "refused", err, errlen);
	if (fds[1] < 0 || fds[2] < 0) {
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		fds[0] = fds[1] = fds[2] = -1;
		return -1;
	}
	return 0;
}

tf_inbox_t *
tf_inbox_new(const char *dir, spool_t *spool, const forwarder_config_t *config, char *err,
             size_t errlen)
{
	tf_inbox_t *self;
	int fds[3];

	assert(dir != NULL && spool != NULL && config != NULL);
	self = calloc(1, sizeof *self);
	if (self == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	self->dirfd = self->queuedfd = self->refusedfd = -1;
	self->spool = spool;
	self->config = config;
	self->dir = strdup(dir);
	self->looks = s_looks_new();
	self->stuck = zhashx_new();
	if (self->dir == NULL || self->looks == NULL || self->stuck == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	zhashx_set_destructor(self->stuck, NULL);
	zhashx_set_duplicator(self->stuck, NULL);
	if (s_open_dirs(dir, fds, err, errlen) != 0)
		goto fail;
	self->dirfd = fds[0];
	self->queuedfd = fds[1];
	self->refusedfd = fds[2];
	return self;
fail:
	tf_inbox_destroy(&self);
	return NULL;
}

/* Staff may remove the inbox and make it again: follow the path to the
 * directory it names now, checked as at the start; an unsound one is
 * logged once and the old descriptors kept. */
static void
s_follow_path(tf_inbox_t *self)
{
	struct stat now, held;
	char err[1024];
	int fds[3];

	if (fstat(self->dirfd, &held) != 0)
		return;
	if (stat(self->dir, &now) == 0 && now.st_dev == held.st_dev && now.st_ino == held.st_ino) {
		self->replaced_logged = false;
		return;
	}
	if (s_open_dirs(self->dir, fds, err, sizeof err) != 0) {
		if (!self->replaced_logged)
			log_warnx("inbox: %s is gone or was replaced, and the new one is unsound: %s",
			          self->dir, err);
		self->replaced_logged = true;
		return;
	}
	log_info("inbox: %s was replaced; reading the new one", self->dir);
	close(self->dirfd);
	close(self->queuedfd);
	close(self->refusedfd);
	self->dirfd = fds[0];
	self->queuedfd = fds[1];
	self->refusedfd = fds[2];
	self->replaced_logged = false;
	zhashx_purge(self->looks);
	zhashx_purge(self->stuck);
}

void
tf_inbox_destroy(tf_inbox_t **self_p)
{
	tf_inbox_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	if (self->dirfd >= 0)
		close(self->dirfd);
	if (self->queuedfd >= 0)
		close(self->queuedfd);
	if (self->refusedfd >= 0)
		close(self->refusedfd);
	zhashx_destroy(&self->looks);
	zhashx_destroy(&self->stuck);
	free(self->dir);
	free(self);
	*self_p = NULL;
}

const char *
tf_inbox_dir(const tf_inbox_t *self)
{
	assert(self != NULL);
	return self->dir;
}

/* Check a result file's text and queue it; source is what the spool
 * records it came from. */
int
tf_inbox_queue_text(spool_t *spool, const forwarder_config_t *config, const char *source,
             const char *text, size_t len, int64_t *sequence, bool *existed, int *reason,
             char *err, size_t errlen)
{
	uint8_t digest[crypto_hash_sha256_BYTES], message_id[TF_MESSAGE_ID_LEN];
	tf_report_t *report = NULL;
	tf_check_t check;
	char why[512];
	int rc = -1;

	*reason = 0;
	report = tf_report_from_json(text, len, why, sizeof why);
	if (report == NULL) {
		snprintf(err, errlen, "%s: %s", source, why);
		goto out;
	}
	if (tf_rules_check(&config->rules, report, config->registry, config->township, &check) != 0) {
		*reason = check.reason;
		snprintf(err, errlen, "%s: %s", tf_reason_name(check.reason), check.detail);
		goto out;
	}
	/* The same content queued twice is one message: a file moved back into
	 * the inbox, or a crash between queueing and moving it, sends nothing new. */
	if (spool_content_sha256(report, digest) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = spool_enqueue(spool, config->agent_id, config->identity, report, source, digest,
	                   sequence, message_id, existed, err, errlen);
out:
	tf_report_destroy(&report);
	return rc;
}

int
tf_inbox_queue_file(spool_t *spool, const forwarder_config_t *config, const char *path,
                    int64_t *sequence, bool *existed, int *reason, char *err, size_t errlen)
{
	char why[512];
	char *text;
	size_t len;
	int rc;

	assert(spool != NULL && config != NULL && path != NULL);
	*reason = 0;
	text = tf_infile_read(AT_FDCWD, path, TF_REPORT_FILE_MAX, 0, &len, NULL, why, sizeof why);
	if (text == NULL) {
		snprintf(err, errlen, "%s: not read: %s", path, why);
		return -1;
	}
	rc = tf_inbox_queue_text(spool, config, path, text, len, sequence, existed, reason, err,
	                         errlen);
	free(text);
	return rc;
}

/* Move inbox/NAME to SUBDIR/NAME (the descriptor todir); for a refused
 * file, say why beside it first, in a file written whole. */
static void
s_move(tf_inbox_t *self, const char *name, int todir, const char *subdir, const char *why)
{
	char whyname[NAME_MAX + 8], err[1024];
	bool logged = zhashx_lookup(self->stuck, name) != NULL;

	if (why != NULL) {
		size_t len = strlen(why);
		char *line = malloc(len + 2);

		snprintf(whyname, sizeof whyname, "%s.why", name);
		if (line == NULL)
			log_warnx("inbox: out of memory");
		else {
			memcpy(line, why, len);
			line[len] = '\n';
			if (tf_atomicfile_write_at(todir, whyname, line, len + 1, WHY_MODE, 0, err,
			                           sizeof err) != 0 && !logged)
				log_warnx("inbox: %s/%s/%s", self->dir, subdir, err);
			free(line);
		}
	}
	if (renameat(self->dirfd, name, todir, name) != 0) {
		if (!logged) {
			log_warn("inbox: could not move %s/%s to %s/%s/%s", self->dir, name, self->dir,
			         subdir, name);
			zhashx_update(self->stuck, name, (void *)1);
		}
		return;
	}
	zhashx_delete(self->stuck, name);
	/* The move is on disk once both directories are: synced once for the
	 * whole look (s_sync_moves), not per file (two fsyncs a file were
	 * about a seventh of an agent's CPU taking in a township's files).  A
	 * move lost to a crash before then leaves the file in the inbox:
	 * queued again, it is the message already queued (the spool knows its
	 * content); refused again, its .why is written anew. */
	if (todir == self->queuedfd)
		self->moved_queued = true;
	else
		self->moved_refused = true;
}

/* The look's moves on disk: the directories they entered and left. */
static void
s_sync_moves(tf_inbox_t *self)
{
	if (!self->moved_queued && !self->moved_refused)
		return;
	if ((self->moved_queued && fsync(self->queuedfd) != 0)
	    || (self->moved_refused && fsync(self->refusedfd) != 0) || fsync(self->dirfd) != 0)
		log_warn("inbox: fsync of %s", self->dir);
	self->moved_queued = self->moved_refused = false;
}

static void
s_refuse(tf_inbox_t *self, const char *name, const char *why)
{
	if (zhashx_lookup(self->stuck, name) == NULL)
		log_info("inbox: %s refused: %s", name, why);
	s_move(self, name, self->refusedfd, "refused", why);
}

/* Read name, which looked finished, and queue it; a file found changed,
 * or left for the spool, is noted in looks as seen at now. */
static void
s_take(tf_inbox_t *self, const char *name, const look_t *look, zhashx_t *looks, int64_t now_ms)
{
	char path[4096], why[512], err[1024];
	struct stat st;
	look_t now;
	char *text;
	size_t len;
	int64_t sequence;
	bool existed;
	int reason;

	text = tf_infile_read(self->dirfd, name, TF_REPORT_FILE_MAX, 0, &len, &st, why,
	                      sizeof why);
	if (text == NULL) {
		char line[600];

		if (fstatat(self->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
			return;         /* taken away meanwhile */
		snprintf(line, sizeof line, "not read: %s", why);
		s_refuse(self, name, line);
		return;
	}
	s_look_of(&st, &now);
	if (!s_look_same(&now, look)) {
		/* Changed since it was looked at: not finished after all. */
		look_t *copy = malloc(sizeof *copy);

		if (copy != NULL) {
			*copy = now;
			copy->since = now_ms;
			zhashx_update(looks, name, copy);
		}
		free(text);
		return;
	}
	snprintf(path, sizeof path, "%s/%s", self->dir, name);
	/* One durable spool commit for the look's files, not one a file: a
	 * look that cannot have the batch queues each on its own. */
	if (!self->batch && self->ntaken == 0)
		self->batch = spool_batch_begin(self->spool) == 0;
	if (tf_inbox_queue_text(self->spool, self->config, path, text, len, &sequence, &existed,
	                        &reason, err, sizeof err) != 0) {
		/* A spool that cannot be written is not the file's fault:
		 * leave it for the next look. */
		if (strncmp(err, "spool", 5) == 0 || strncmp(err, "out of memory", 13) == 0) {
			look_t *copy = malloc(sizeof *copy);

			log_warnx("inbox: %s: %s", name, err);
			if (copy != NULL) {
				*copy = now;
				copy->since = now_ms;
				zhashx_update(looks, name, copy);
			}
		} else
			s_refuse(self, name, err);
	} else if (self->batch) {
		/* Moved once the batch is on disk (s_finish_batch). */
		assert(self->ntaken < INBOX_MOVES_MAX);
		snprintf(self->taken[self->ntaken].name, sizeof self->taken[0].name, "%s", name);
		self->taken[self->ntaken].sequence = sequence;
		self->taken[self->ntaken].existed = existed;
		self->ntaken++;
	} else {
		log_info("inbox: %s %s as message %lld", name,
		         existed ? "was queued already" : "queued", (long long)sequence);
		s_move(self, name, self->queuedfd, "queued", NULL);
	}
	free(text);
}

/* Commit the look's batch, then move what it queued to queued/; if the
 * commit fails, none of it is queued and the files stay for a later look. */
static void
s_finish_batch(tf_inbox_t *self)
{
	if (!self->batch)
		return;
	self->batch = false;
	if (spool_batch_commit(self->spool) != 0) {
		log_warnx("inbox: could not queue %zu files in the spool; they stay in %s",
		          self->ntaken, self->dir);
		self->ntaken = 0;
		return;
	}
	for (size_t i = 0; i < self->ntaken; i++) {
		log_info("inbox: %s %s as message %lld", self->taken[i].name,
		         self->taken[i].existed ? "was queued already" : "queued",
		         (long long)self->taken[i].sequence);
		s_move(self, self->taken[i].name, self->queuedfd, "queued", NULL);
	}
	self->ntaken = 0;
}

static int
s_name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool
tf_inbox_changed(tf_inbox_t *self)
{
	struct stat st;

	assert(self != NULL);
	if (!self->dir_known || fstat(self->dirfd, &st) != 0)
		return true;
	return st.st_mtim.tv_sec != self->dir_mtime.tv_sec
	       || st.st_mtim.tv_nsec != self->dir_mtime.tv_nsec
	       || st.st_ctim.tv_sec != self->dir_ctime.tv_sec
	       || st.st_ctim.tv_nsec != self->dir_ctime.tv_nsec;
}

/* Oldest name first. */
int64_t
tf_inbox_scan(tf_inbox_t *self, int64_t now_ms)
{
	char *names[INBOX_FILES_MAX];
	size_t count = 0, moves = 0;
	int64_t due = INT64_MAX;
	bool left = false;
	struct dirent *entry;
	struct stat dirst;
	zhashx_t *looks;
	DIR *dp;
	int fd;

	assert(self != NULL);
	s_follow_path(self);
	if (zhashx_size(self->stuck) > STUCK_MAX)
		zhashx_purge(self->stuck);
	/* The directory as it is before it is read: a name added while it is
	 * read changes it again, and tf_inbox_changed says so. */
	self->dir_known = fstat(self->dirfd, &dirst) == 0;
	if (self->dir_known) {
		self->dir_mtime = dirst.st_mtim;
		self->dir_ctime = dirst.st_ctim;
	}
	looks = s_looks_new();
	/* A descriptor of our own for readdir: closedir closes it. */
	fd = dup(self->dirfd);
	dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (looks == NULL || dp == NULL) {
		log_warn("inbox %s", self->dir);
		if (fd >= 0 && dp == NULL)
			close(fd);
		zhashx_destroy(&looks);
		self->dir_known = false;
		return now_ms + TF_INBOX_SETTLE_MS;
	}
	rewinddir(dp);
	while ((entry = readdir(dp)) != NULL && count < INBOX_FILES_MAX) {
		size_t len = strlen(entry->d_name);
		/* Staff (or their tools) write NAME.json.tmp and rename: only
		 * .json files are read. */
		if (entry->d_name[0] == '.' || len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0)
			continue;
		names[count] = strdup(entry->d_name);
		if (names[count] != NULL)
			count++;
	}
	closedir(dp);
	qsort(names, count, sizeof names[0], s_name_compare);
	for (size_t i = 0; i < count; i++) {
		const char *name = names[i];
		const look_t *before = zhashx_lookup(self->looks, name);
		bool room = moves < INBOX_MOVES_MAX, unchanged;
		struct stat st;
		look_t now, *copy;
		char why[128];

		if (fstatat(self->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			goto next;              /* taken away meanwhile */
		/* Refused without being opened: opening a device can do things. */
		if (tf_infile_kind(&st) != NULL) {
			snprintf(why, sizeof why, "not read: %s", tf_infile_kind(&st));
			if (room) {
				s_refuse(self, name, why);
				moves++;
			} else
				left = true;
			goto next;
		}
		if (st.st_size > TF_REPORT_FILE_MAX) {
			snprintf(why, sizeof why, "not read: larger than %d bytes", TF_REPORT_FILE_MAX);
			if (room) {
				s_refuse(self, name, why);
				moves++;
			} else
				left = true;
			goto next;
		}
		s_look_of(&st, &now);
		unchanged = before != NULL && s_look_same(before, &now);
		if (room && unchanged && now_ms - before->since >= TF_INBOX_SETTLE_MS) {
			s_take(self, name, &now, looks, now_ms);
			moves++;
		} else if ((copy = malloc(sizeof *copy)) != NULL) {
			/* First seen or changed since: it settles from now.  Not
			 * settled yet, or no room left in this look: it keeps the
			 * time it was first seen so, and is taken once unchanged at a
			 * look that long after. */
			*copy = now;
			copy->since = unchanged ? before->since : now_ms;
			zhashx_update(looks, name, copy);
		}
next:
		free(names[i]);
	}
	s_finish_batch(self);
	s_sync_moves(self);
	zhashx_destroy(&self->looks);
	self->looks = looks;
	for (look_t *look = zhashx_first(looks); look != NULL; look = zhashx_next(looks))
		if (look->since + TF_INBOX_SETTLE_MS < due)
			due = look->since + TF_INBOX_SETTLE_MS;
	/* A file refused unread for want of room is not noted: due at once. */
	return left && due > now_ms ? now_ms : due;
}
