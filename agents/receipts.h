/*
 * receipts: `tallyfeed-agent receipts`, the collector's signed receipts the
 * spool keeps, listed for the township's staff or written out one file
 * each (for `tallyfeed receipt check` and `tallyfeed verify --receipts`).
 */
#ifndef TF_RECEIPTS_H
#define TF_RECEIPTS_H

#include "spool.h"

/* argv: "receipts" [--unit CODE] [--export DIR].  Returns the exit status:
 * 0, 1 (the spool or a file failed), 2 (bad arguments). */
int receipts_command(spool_t *spool, int argc, char **argv);

#endif
