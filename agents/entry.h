/*
 * entry: the entry desk, the township staff's web page served by the
 * running agent (`tallyfeed-agent run`, agent/web).  The page (agents/web/,
 * compiled in) lists the township's units with each committee's state,
 * and takes a result in a form; this module answers its JSON API:
 *
 *   POST /api/login    {"password": "..."} -> a session cookie and a CSRF token
 *   GET  /api/session  whether the cookie is a session (and its CSRF token)
 *   POST /api/logout
 *   GET  /api/units    the township's units, each committee's state: none,
 *                      queued, sent, accepted, rejected (and why), runoff_owed
 *   GET  /api/result?unit=&committee=&round=
 *                      the latest revision spooled for it, as the result JSON,
 *                      and the revision the next save will have
 *   GET  /api/message?seq=N   one message's state (after a save)
 *   POST /api/check    a result (the inbox's JSON) -> every rule's finding
 *                      with its field and a Chinese message, and whom the
 *                      thresholds elect
 *   POST /api/save     check and queue it, as `submit` does (durably)
 *
 * The pages themselves are open; every /api/ call but login and session
 * needs a session (401), and every POST but login its CSRF token in the
 * X-CSRF-Token header (403), because the answers carry candidates'
 * particulars.  A POST whose Origin is not the desk's own is refused
 * (403).  Bodies: JSON only, at most ENTRY_BODY_MAX bytes (http.h).  The
 * revision of a save is the agent's: one more than the highest the spool
 * holds for that unit, committee and round, whatever the form says.
 */
#ifndef TF_ENTRY_H
#define TF_ENTRY_H

#include <stddef.h>

#include "forwarder.h"

#define ENTRY_BODY_MAX (256 * 1024)     /* bytes of a POST */
#define ENTRY_DEFAULT_LISTEN "127.0.0.1:7405"

typedef struct _entry_t entry_t;

typedef struct {
	const char *listen;             /* ADDRESS:PORT (port 0: a free one) */
	const char *spool_dir;          /* opened again here: the desk's own handle */
	const char *password_path;      /* login.h; see LOGIN_FILE */
	const char *check_url;          /* the province's check page (agent/check_url),
	                                 * for posting sheets (sheet.h); NULL: none */
	const forwarder_config_t *config;       /* agent id, key, township, registry,
	                                 * rules: copied at start (new rules come
	                                 * by entry_set_rules) */
} entry_config_t;

/* Start the desk.  NULL with why in err. */
entry_t *entry_new(const entry_config_t *config, char *err, size_t errlen);
/* Stop serving and free. */
void entry_destroy(entry_t **self_p);
/* The rules a reload read: the desk checks and queues by them from its
 * next request on.  Safe beside the desk's threads. */
void entry_set_rules(entry_t *self, const tf_rules_config_t *rules);
/* The port it listens on. */
unsigned entry_port(const entry_t *self);

#endif
