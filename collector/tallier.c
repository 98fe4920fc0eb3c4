/*
 * tallier: the townships' tallies computed again off the writer's path
 * (see tallier.h).
 *
 * A plain thread, not a CZMQ actor: zactor_destroy waits for the actor
 * however long its call to the server takes, and a stop must not wait on
 * a server that does not answer (nor cancel: PQcancel waits for the
 * postmaster, which may be the one frozen).  A refresh is bounded by the
 * session's statement_timeout on a server that runs; the thread touches
 * only this struct, so one that does not come back can be left to end
 * with the process.
 */
#include "tallier.h"

#include <czmq.h>
#include "db.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFRESH_MAX "50"        /* townships a call computes again */
#define CALLS_MAX 8             /* calls an interval: under full load townships are
                                 * pending again at once, and the rollups compute
                                 * them meanwhile; the database is the writer's first */
#define STOP_WAIT_MS 5000       /* how long a stop waits for the thread */
#define SHARE_PERCENT 20        /* of the time, at most, the tallier keeps the database
                                 * busy: under full load every township is pending
                                 * again at once, and computing them again and again
                                 * took a third of the server's CPU from the writer
                                 * (tests/bench/ingest) */

struct _tallier_t {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* stopping set, or done set */
	bool stopping;
	bool done;              /* the thread has ended */
	char *conninfo;
	int every_ms;
	store_limits_t limits;
	PGconn *conn;           /* the thread's */
	bool failing;           /* the last try failed (said once) */
};

static void
s_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
s_stopping(tallier_t *self)
{
	bool stopping;

	pthread_mutex_lock(&self->lock);
	stopping = self->stopping;
	pthread_mutex_unlock(&self->lock);
	return stopping;
}

static void
s_disconnect(tallier_t *self)
{
	PQfinish(self->conn);
	self->conn = NULL;
}

/* 0 with self->conn open and its session's limits set; -1 with err. */
static int
s_connect(tallier_t *self, char *err, size_t errlen)
{
	self->conn = tf_db_connect(self->conninfo, "tallyfeed-collector tallier", TF_DB_WRITER, err,
	                           errlen);
	if (self->conn == NULL)
		return -1;
	if (tf_db_session_limits(self->conn, self->limits.statement_timeout_ms,
	                         self->limits.lock_timeout_ms, self->limits.idle_in_transaction_ms,
	                         err, errlen) != 0) {
		s_disconnect(self);
		return -1;
	}
	return 0;
}

/* Compute pending townships again until none is left, CALLS_MAX calls
 * have been made, or a stop; how long it took, in ms. */
static int64_t
s_refresh(tallier_t *self)
{
	char err[1024];
	long total = 0;
	int64_t began = zclock_usecs();

	if (self->conn == NULL && s_connect(self, err, sizeof err) != 0) {
		if (!self->failing)
			log_warnx("tallies: %s; the rollups compute pending townships from their "
			          "results meanwhile", err);
		self->failing = true;
		return 0;
	}
	for (int calls = 0; calls < CALLS_MAX && !s_stopping(self); calls++) {
		const char *values[1] = { REFRESH_MAX };
		PGresult *res = PQexecParams(self->conn, "SELECT tallyfeed.tally_refresh($1::integer)",
		                             1, NULL, values, NULL, NULL, 0);
		long n;

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			if (!self->failing && !s_stopping(self))
				log_warnx("tallies: could not compute them again: %s; the rollups compute "
				          "pending townships from their results meanwhile",
				          tf_db_error(self->conn));
			self->failing = true;
			PQclear(res);
			s_disconnect(self);
			return 0;
		}
		n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		total += n;
		if (n < strtol(REFRESH_MAX, NULL, 10))
			break;
	}
	if (self->failing)
		log_info("tallies: computed again (the database answers)");
	self->failing = false;
	if (total > 0)
		log_debug("tallies: %ld township(s) computed again in %.1f ms", total,
		          (double)(zclock_usecs() - began) / 1000.0);
	return (zclock_usecs() - began) / 1000;
}

/* The wait before the next refresh: the interval, or longer after a long
 * refresh, so that refreshing takes at most SHARE_PERCENT of the time. */
static int
s_next_wait(const tallier_t *self, int64_t took_ms)
{
	int64_t share = took_ms * (100 - SHARE_PERCENT) / SHARE_PERCENT;

	return share > self->every_ms ? (int)(share < 3600000 ? share : 3600000) : self->every_ms;
}

static void *
s_run(void *arg)
{
	tallier_t *self = arg;
	sigset_t all;

	/* Signals are the main loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (int wait_ms = self->every_ms;;) {
		struct timespec until;
		bool stopping;

		s_deadline(&until, wait_ms);
		pthread_mutex_lock(&self->lock);
		while (!self->stopping
		       && pthread_cond_timedwait(&self->wake, &self->lock, &until) != ETIMEDOUT)
			;
		stopping = self->stopping;
		pthread_mutex_unlock(&self->lock);
		if (stopping)
			break;
		wait_ms = s_next_wait(self, s_refresh(self));
	}
	if (self->conn != NULL)
		s_disconnect(self);
	pthread_mutex_lock(&self->lock);
	self->done = true;
	pthread_cond_broadcast(&self->wake);
	pthread_mutex_unlock(&self->lock);
	return NULL;
}

tallier_t *
tallier_new(const char *conninfo, int every_ms, const store_limits_t *limits)
{
	tallier_t *self;

	assert(conninfo != NULL && every_ms > 0 && limits != NULL);
	self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->conninfo = strdup(conninfo);
	self->every_ms = every_ms;
	self->limits = *limits;
	pthread_mutex_init(&self->lock, NULL);
	pthread_cond_init(&self->wake, NULL);
	if (self->conninfo == NULL || pthread_create(&self->thread, NULL, s_run, self) != 0) {
		pthread_mutex_destroy(&self->lock);
		pthread_cond_destroy(&self->wake);
		free(self->conninfo);
		free(self);
		return NULL;
	}
	return self;
}

bool
tallier_destroy(tallier_t **self_p)
{
	tallier_t *self;
	struct timespec until;
	bool done;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return true;
	*self_p = NULL;
	pthread_mutex_lock(&self->lock);
	self->stopping = true;
	pthread_cond_broadcast(&self->wake);
	s_deadline(&until, STOP_WAIT_MS);
	while (!self->done
	       && pthread_cond_timedwait(&self->wake, &self->lock, &until) != ETIMEDOUT)
		;
	done = self->done;
	pthread_mutex_unlock(&self->lock);
	if (!done) {
		/* In a call to a server that does not answer: it ends with the
		 * process; nothing of it is freed under it. */
		log_warnx("tallies: the refresh has not come back in %d s; leaving it",
		          STOP_WAIT_MS / 1000);
		pthread_detach(self->thread);
		return false;
	}
	pthread_join(self->thread, NULL);
	pthread_mutex_destroy(&self->lock);
	pthread_cond_destroy(&self->wake);
	free(self->conninfo);
	free(self);
	return true;
}
