/*
 * inbox: the directory township staff (or their tools) drop result files
 * in.  Each look takes the NAME.json files, oldest name first, checks each
 * with the election rules and queues it in the spool, then moves it to
 * queued/, or to refused/ with NAME.json.why saying why.  A spool that
 * cannot be written is not the file's fault: the file stays for the next
 * look.
 *
 * Nothing in the inbox can stop the agent: a name is judged on its open
 * descriptor (infile.h) before a byte is read, so a symbolic link, FIFO,
 * device, directory or a file over TF_REPORT_FILE_MAX is refused unread,
 * and queued/ and refused/ are the agent's own directories, opened once,
 * so a link planted there is replaced, never written through.  A file is
 * read only once its size and times have stayed the same for
 * TF_INBOX_SETTLE_MS, seen at two looks: a tool still writing it is not
 * read half.  Tools should still write a temporary name (not *.json, or a
 * hidden one) and rename it into place.  Looks may come as often as the
 * caller likes (tf_inbox_changed says when a name came or went); how long
 * a file must settle does not depend on it.
 */
#ifndef TF_INBOX_H
#define TF_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forwarder.h"
#include "spool.h"

/* How long a file must look the same before it is read. */
#define TF_INBOX_SETTLE_MS 1000

typedef struct _tf_inbox_t tf_inbox_t;

/* The inbox dir, queueing into spool by config's rules (both borrowed;
 * config may be rewritten by a reload).  Makes dir (mode 0770: the
 * agent's group drops files), dir/queued and dir/refused (0750) if need
 * be, and refuses (NULL with err) if queued/ or refused/ is not a
 * directory, is a symbolic link, or is not owned by this user.  If the
 * path is later made to name another directory, a look follows it once
 * it passes the same checks. */
tf_inbox_t *tf_inbox_new(const char *dir, spool_t *spool, const forwarder_config_t *config,
                         char *err, size_t errlen);
void tf_inbox_destroy(tf_inbox_t **self_p);

/* The directory it watches. */
const char *tf_inbox_dir(const tf_inbox_t *self);

/* One look at now (zclock_mono() milliseconds, never going back): take in
 * the files that have looked the same since a look TF_INBOX_SETTLE_MS ago
 * or longer, refuse what is unsound (at most INBOX_MOVES_MAX of them
 * together, so a look stays short), note the rest for a later look.
 * Never blocks on a file.  Returns when the next look is due for what it
 * noted (at most now + TF_INBOX_SETTLE_MS; now or earlier when files were
 * left for want of room in this look), or INT64_MAX if it noted nothing. */
int64_t tf_inbox_scan(tf_inbox_t *self, int64_t now);

/* True if the inbox directory changed (a name was added, removed or
 * renamed) since the last look began: one fstat, cheap enough for every
 * turn of the loop.  A change within the look's own clock tick may go
 * unseen until the next look; a file rewritten in place is not a change
 * of the directory (the look due for it sees it). */
bool tf_inbox_changed(tf_inbox_t *self);

/* Check a result file (as the inbox does: a regular file, bounded, not
 * through a link) and queue it; for `submit`.  Returns 0 and fills
 * *sequence (and *existed if it was queued before), or -1 with the reason
 * in err (*reason is the rule's reason code, or 0 when the file could not
 * be read or parsed). */
int tf_inbox_queue_file(spool_t *spool, const forwarder_config_t *config, const char *path,
                        int64_t *sequence, bool *existed, int *reason, char *err,
                        size_t errlen);

/* The same for a result's JSON text already in memory (the entry desk's
 * form); source is what the spool records it came from. */
int tf_inbox_queue_text(spool_t *spool, const forwarder_config_t *config, const char *source,
                        const char *text, size_t len, int64_t *sequence, bool *existed,
                        int *reason, char *err, size_t errlen);

#endif
