/*
 * status: what the spool holds, for the township's staff.  `status` counts
 * pending, in flight, answered and rejected messages (and lists them, or
 * the rejected with the collector's reasons); `export` writes every
 * unanswered message to a bundle for the USB stick (bundle.h).
 */
#ifndef TF_STATUS_H
#define TF_STATUS_H

#include "spool.h"

/* argv: "status" [--all].  Returns the exit status: 0, 1, 2. */
int status_command(spool_t *spool, int argc, char **argv);

/* argv: "export" --to FILE, the bundle of agent_id.  Returns the exit
 * status: 0, 1 (the spool or the file failed), 2 (bad arguments). */
int export_command(spool_t *spool, const char *agent_id, int argc, char **argv);

#endif
