/*
 * atomicfile: a file written whole or not at all, and on disk before the
 * caller says it is.  The bytes go to a fresh temporary name beside the
 * target, created O_CREAT|O_EXCL|O_NOFOLLOW (so a link planted at any name
 * is never written through), are fsynced, renamed over the target (which
 * replaces a link there rather than following it), and the directory is
 * fsynced so the rename itself survives a power cut.  Every tallyfeed
 * program that writes a file others rely on (a refusal's .why, a bundle)
 * writes it here.
 */
#ifndef TF_ATOMICFILE_H
#define TF_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Fail with EEXIST rather than replace an existing name (keys). */
#define TF_ATOMICFILE_NOREPLACE 0x1

/* Write data[0..len) as name in the directory dirfd, with mode (before
 * the umask).  0, or -1 with the reason in err (naming the file) and
 * errno that of the call that failed. */
int tf_atomicfile_write_at(int dirfd, const char *name, const void *data, size_t len,
                           mode_t mode, int flags, char *err, size_t errlen);
/* The same for a path (its directory is opened for the call). */
int tf_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
                        int flags, char *err, size_t errlen);

#endif
