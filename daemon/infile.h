/*
 * infile: a file that comes from outside the program (a result file in
 * the inbox, a key, a certificate), read whole and bounded.  It is opened
 * O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and judged by fstat on that descriptor,
 * before a byte is read: a symbolic link, FIFO, device, socket or
 * directory is refused by name (a FIFO would block a reader for ever, a
 * link can point anywhere), and so is a file over the caller's ceiling.
 * The checks are on the descriptor that is read, so nothing can be swapped
 * in between the check and the read.
 */
#ifndef TF_INFILE_H
#define TF_INFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Also refuse a file not owned by this user (or root), or writable by
 * others: a certificate that decides whom the program trusts. */
#define TF_INFILE_OURS 0x1
/* Also refuse a file not owned by this user, or open to group or others
 * in any way (mode 0600 or stricter): a secret key. */
#define TF_INFILE_PRIVATE 0x2

/* Follow a symbolic link at the name (a configuration file an admin
 * links into place); what it names is still judged on its descriptor. */
#define TF_INFILE_FOLLOW 0x4

/* What kind of file st is, as a reason: "a symbolic link", "a FIFO", "a
 * directory", "a device", "a socket"; NULL for a regular file. */
const char *tf_infile_kind(const struct stat *st);

/* Read name (relative to the directory dirfd, or AT_FDCWD) whole: at most
 * max bytes, a NUL after them.  Returns the owned text (free it; wipe it
 * first if secret) with *len and, if st is not NULL, the descriptor's
 * fstat in *st.  NULL with the reason in err, without the name: "a FIFO",
 * "larger than N bytes", "owned by uid N, not by this user", "readable by
 * group or others (chmod 600)", or the system's error. */
char *tf_infile_read(int dirfd, const char *name, size_t max, int flags, size_t *len,
                     struct stat *st, char *err, size_t errlen);

#endif
