/*
 * submit: the township staff's files into the spool.  `submit` checks
 * result files (JSON, or a filled-in spreadsheet: a name ending in .csv)
 * by the collector's rules and queues each durably, optionally waiting
 * for the running agent to hear the collector's answers; `template`
 * writes the spreadsheet of the township's units to fill in.
 */
#ifndef TF_SUBMIT_H
#define TF_SUBMIT_H

#include "forwarder.h"
#include "registry.h"
#include "spool.h"

/* argv: "submit" [--wait S] FILE...  Returns the exit status: 0, 1 (a file
 * refused, rejected or unanswered), 2 (bad arguments). */
int submit_command(spool_t *spool, const forwarder_config_t *fc, int argc, char **argv);

/* argv: "template" --out FILE.csv, for township_code of registry (either
 * NULL: refused as bad arguments).  Returns the exit status: 0, 1, 2. */
int template_command(const tf_registry_t *registry, const char *township_code, int argc,
                     char **argv);

#endif
