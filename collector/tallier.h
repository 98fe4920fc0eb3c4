/*
 * tallier: the thread that keeps the townships' tallies up to date
 * (deploy/sql/0009), on a database connection of its own, off the path of
 * the writer's commits.  Every interval it has the database compute again
 * the rows of the pending townships (tallyfeed.tally_refresh), a bounded
 * number a call, until none is left that another session does not hold.
 * Nothing waits for it: until a township's row is computed, the rollups
 * compute that township from its results.  Under load it waits longer
 * than the interval, so that it keeps the database busy at most a fifth
 * of the time: the writer's commits come first.  If the database is away it
 * tries again next interval, and says so once.
 */
#ifndef TF_TALLIER_H
#define TF_TALLIER_H

#include <stdbool.h>

#include "store.h"

typedef struct _tallier_t tallier_t;

/* Start the thread (it connects by itself); NULL if it could not start.
 * every_ms: the interval (> 0).  limits: the session's timeouts. */
tallier_t *tallier_new(const char *conninfo, int every_ms, const store_limits_t *limits);
/* Stop the thread and free it, waiting at most a few seconds for the
 * refresh running; a thread that does not come back (a frozen server) is
 * left to end with the process, and false returned. */
bool tallier_destroy(tallier_t **self_p);

#endif
