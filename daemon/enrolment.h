/*
 * enrolment: the certificates a county collector trusts — one public
 * NAME.cert per enrolled agent (and per importer), all in one directory,
 * the same directory zauth admits CURVE keys from.  The collector keeps
 * this table to learn, per message, which agent and township the
 * connection's key belongs to and which Ed25519 key must have signed it;
 * `tallyfeed verify` uses it to re-check stored envelopes offline.
 *
 * Loading is all or nothing: one unreadable certificate, or two that
 * claim the same name or key, fail the load, so a reload (SIGHUP) keeps
 * the table it had.
 */
#ifndef TF_ENROLMENT_H
#define TF_ENROLMENT_H

#include <stddef.h>

#include "identity.h"

typedef struct _tf_enrolment_t tf_enrolment_t;

/* Every *.cert in dir (other files are ignored), each read as
 * tf_peer_load reads it: a regular file, not through a link, owned by
 * this user or root, not writable by others; a FIFO or a link named
 * *.cert fails the load at once.  NULL with err. */
tf_enrolment_t *tf_enrolment_load(const char *dir, char *err, size_t errlen);
/* The same for the collectors' certificates (role collector) in dir and
 * no others: the keys their receipts and chain heads must verify under. */
tf_enrolment_t *tf_enrolment_load_collectors(const char *dir, char *err, size_t errlen);
void tf_enrolment_destroy(tf_enrolment_t **self_p);

/* How many certificates the table holds, and the i-th (i < size). */
size_t tf_enrolment_size(const tf_enrolment_t *self);
const tf_peer_t *tf_enrolment_at(const tf_enrolment_t *self, size_t i);

/* The peer with this CURVE public key (Z85), or NULL. */
const tf_peer_t *tf_enrolment_by_key(const tf_enrolment_t *self, const char *curve_public);
/* The peer with this name (agent id), or NULL. */
const tf_peer_t *tf_enrolment_by_name(const tf_enrolment_t *self, const char *name);
/* How many certificates of this role. */
size_t tf_enrolment_count(const tf_enrolment_t *self, tf_role_t role);

#endif
