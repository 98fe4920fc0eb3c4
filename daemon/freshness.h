/*
 * freshness: how old the figures a reader is shown are.  The provincial
 * office reads from a hot standby when there is one (TF_DB_PREFER_STANDBY),
 * and a standby shows the primary's data as of the last transaction it
 * replayed; the console and the dashboard both say so, from one reading
 * of the server's own recovery functions (pg_is_in_recovery,
 * pg_last_wal_receive_lsn, pg_last_wal_replay_lsn,
 * pg_last_xact_replay_timestamp).
 */
#ifndef TF_FRESHNESS_H
#define TF_FRESHNESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
	bool standby;           /* the server is in recovery */
	double as_of;           /* the server's clock when asked (s since the epoch) */
	/* How far the figures trail the primary: 0 on the primary and on a
	 * standby that has replayed all the WAL it received (caught_up);
	 * otherwise at most the time since the last transaction it replayed
	 * was committed (the primary may have been idle for part of it).
	 * behind_known is false on a standby that is not streaming now (no
	 * WAL receiver: its primary down or unreachable, so how much more the
	 * primary has is not to be known here), has received nothing by
	 * streaming, or has replayed nothing yet: no figure then. */
	bool behind_known;
	double behind_s;
	bool caught_up;
	/* The commit time (on the primary) of the last transaction a standby
	 * replayed; has_last_change false on a primary, or before any. */
	bool has_last_change;
	double last_change;
} tf_freshness_t;

#define TF_FRESHNESS_TEXT_MAX 160       /* tf_freshness_text's longest line, with its NUL */

/* Read conn's freshness now.  Read it before the query whose figures it
 * describes: replay only moves forward, so the figures are then at least
 * as fresh as it says.  0, or -1 with err. */
int tf_freshness_read(PGconn *conn, tf_freshness_t *out, char *err, size_t errlen);

/* On a standby: wait, at most timeout_ms, until it has replayed all the
 * WAL it had received when asked.  A synchronous standby has received
 * every commit acknowledged before (synchronous_commit on: on its disk),
 * so then it shows every result stored by then, as the primary would.
 * 0 on a primary or once replayed; 1 if not in time, or if the standby
 * is not streaming (nothing then says what the primary has); -1 with err. */
int tf_freshness_wait_replayed(PGconn *conn, int timeout_ms, char *err, size_t errlen);

/* One line in this process's local time, e.g. "as of 21:04:07, 0 s
 * behind, last change at 20:51:13 (standby)" (it replayed all it
 * received), "as of 21:04:07, at most 0.3 s behind (standby)" or "as of
 * 21:04:07 (primary)".  Into out (TF_FRESHNESS_TEXT_MAX bytes hold
 * any). */
void tf_freshness_text(const tf_freshness_t *f, char *out, size_t len);

/* {"server": "primary"|"standby", "as_of": ISO 8601 UTC, "behind_s": s
 * (at most that when caught_up is false) or null, "caught_up": bool, or
 * null on a primary, "last_change": ISO 8601 UTC or null, "text":
 * tf_freshness_text's line}.  New reference, or NULL out of memory. */
json_t *tf_freshness_json(const tf_freshness_t *f);

#endif
