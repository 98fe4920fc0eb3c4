/*
 * inbox: the directory township staff (or their tools) drop result files
 * in.  Each look takes the finished NAME.json files, oldest name first,
 * checks each with the election rules and queues it in the spool, then
 * moves it to queued/, or to refused/ with NAME.json.why saying why.
 * A spool that cannot be written is not the file's fault: the file stays
 * for the next look.
 */
#ifndef TF_INBOX_H
#define TF_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forwarder.h"
#include "spool.h"

typedef struct _tf_inbox_t tf_inbox_t;

/* An inbox at config->inbox (read at every look: a reload may change it),
 * queueing into spool.  Both are borrowed and must outlive the inbox.
 * NULL if out of memory. */
tf_inbox_t *tf_inbox_new(spool_t *spool, const forwarder_config_t *config);
void tf_inbox_destroy(tf_inbox_t **self_p);

/* Take in the result files in the inbox now. */
void tf_inbox_scan(tf_inbox_t *self);

/* Check a result file and queue it.  Used by the inbox and by `submit`.
 * Returns 0 and fills *sequence (and *existed if it was queued before), or
 * -1 with the reason in err (*reason is the rule's reason code, or 0 when
 * the file could not be read or parsed). */
int tf_inbox_queue_file(spool_t *spool, const forwarder_config_t *config, const char *path,
                        int64_t *sequence, bool *existed, int *reason, char *err,
                        size_t errlen);

#endif
