/*
 * api: what tallyfeed-web answers.  The JSON API under /api/v1/ asks the
 * questions of query.h as the read-only role; every other path is one of
 * the dashboard's files (embedded.h).
 *
 *   /api/v1/totals|progress|composition?level=L[&under=CODE]
 *   /api/v1/outstanding|runoffs|flags|units[?under=CODE]
 *   /api/v1/area/CODE      where an area sits, and the level below it
 *   /api/v1/unit/CODE      a unit: where it sits, its state per committee,
 *                          every revision of its results with its signature
 *   /api/v1/check?u=&c=&r=&v=&d=&s=&f=
 *                          the public check of a posting sheet (check.h):
 *                          what its QR code carries, answered from the
 *                          database and the collectors' keys; /check is
 *                          the page that asks it
 *   /api/v1/feed[?under=CODE&verdict=V&after=N&limit=N]
 *                          the latest of the collectors' live feed, newest
 *                          first (livefeed.h; from memory, not the database)
 *
 * Lists come as {"generated_at", "freshness", "level", "under", "rows": [...]}
 * (freshness: how old the figures are, tf_freshness_json; the area's and the
 * unit's answers carry it too); errors
 * as {"error": "why"} with 400 (bad argument), 404 (no such thing), 500
 * (the database refused the question) or 503 (the database does not
 * answer); the database's own words go to the log, never to the client.
 * Requests are served by several threads at once, each with its own
 * database connection.
 */
#ifndef TF_API_H
#define TF_API_H

#include "http.h"
#include "livefeed.h"

#include <stddef.h>

typedef struct api api_t;

/* conninfo: the database ("" = the PG* environment), a hot standby of its
 * hosts taken if one answers (target_session_attrs=prefer-standby, unless
 * conninfo says otherwise); certs: the agents'
 * certificates to check signatures with, or NULL; collector_certs: the
 * collectors' certificates, for the public check, or NULL; feed: the live feed to
 * answer /api/v1/feed from (borrowed, outlives the api), or NULL.  The
 * database need not be up yet: each serving thread connects when it is
 * not connected.  NULL with err if the certificates cannot be read. */
api_t *api_new(const char *conninfo, const char *certs, const char *collector_certs,
               livefeed_t *feed, char *err, size_t errlen);
void api_destroy(api_t **self_p);

/* Read the certificate directory again; on failure the old ones stay.
 * 0, or -1 with err. */
int api_reload(api_t *self, char *err, size_t errlen);

/* Is the database reachable now, as the read-only role?  0, or -1 with err. */
int api_check_database(api_t *self, char *err, size_t errlen);

/* Limit /api/v1/check to per_s (at most 1000) requests a second from each
 * client address (a burst of twice that; 0: no limit), answering 429
 * beyond it.  Behind
 * a proxy every client has the proxy's address.  Set before serving.  0,
 * or -1 out of memory. */
#define API_CHECK_PER_S 10      /* the default */
int api_limit_checks(api_t *self, unsigned per_s);

/* Serve the public check alone (/check, its page's files, /api/v1/check):
 * everything else, the dashboard and its API, answers 404.  Set before
 * serving. */
void api_serve_check_only(api_t *self);

/* The http handler (arg: the api_t). */
tf_http_handler_fn api_handle;

#endif
