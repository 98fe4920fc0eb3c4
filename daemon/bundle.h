/*
 * bundle: an agent's unanswered envelopes in one file, for a person to
 * carry to the county when the link is down (proto message Bundle).
 */
#ifndef TF_BUNDLE_H
#define TF_BUNDLE_H

#include <czmq.h>
#include <stddef.h>

#include "tallyfeed.pb-c.h"

#define TF_BUNDLE_VERSION 1
#define TF_BUNDLE_MAX (512 * 1024 * 1024)   /* bytes in one bundle file */

typedef Tallyfeed__Bundle tf_bundle_t;

/* Write the frames (envelopes) to path, durably and whole (atomicfile.h:
 * a fresh temporary name, fsync, rename, fsync of the directory).  0, or
 * -1 with the reason in err. */
int tf_bundle_write(const char *path, const char *agent_id, zlist_t *frames, char *err,
                    size_t errlen);
/* Read a bundle (owned; free with tf_bundle_destroy), or NULL with err. */
tf_bundle_t *tf_bundle_read(const char *path, char *err, size_t errlen);
void tf_bundle_destroy(tf_bundle_t **bundle_p);

#endif
