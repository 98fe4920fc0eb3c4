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
/* Bytes in one bundle file: thousands of results (a result's envelope
 * takes a few KiB).  tf_bundle_read refuses a larger file before it
 * allocates for it. */
#define TF_BUNDLE_MAX (64 * 1024 * 1024)
/* Heap the decode of a bundle of len bytes may take: its envelopes' bytes
 * and their records, with room to spare; unknown fields or empty envelopes
 * by the million take more and are refused. */
#define TF_BUNDLE_DECODE_MAX(len) (2 * (size_t)(len) + 1024 * 1024)

typedef Tallyfeed__Bundle tf_bundle_t;

/* Write the frames (envelopes) to path, durably and whole (atomicfile.h:
 * a fresh temporary name, fsync, rename, fsync of the directory).  0, or
 * -1 with the reason in err. */
int tf_bundle_write(const char *path, const char *agent_id, zlist_t *frames, char *err,
                    size_t errlen);
/* Read a bundle (owned; free with tf_bundle_destroy), or NULL with err: a
 * symlink, not a regular file, over TF_BUNDLE_MAX, or over its decode
 * budget are each said as such. */
tf_bundle_t *tf_bundle_read(const char *path, char *err, size_t errlen);
/* Decode a bundle's bytes within TF_BUNDLE_DECODE_MAX(len) (what
 * tf_bundle_read does once it has read the file), or NULL with err. */
tf_bundle_t *tf_bundle_decode(const uint8_t *bytes, size_t len, char *err, size_t errlen);
void tf_bundle_destroy(tf_bundle_t **bundle_p);

#endif
