/*
 * identity: who a tallyfeed program is, and how others recognise it.
 *
 * Every party has two key pairs: a CURVE pair (ZeroMQ transport: who is
 * on the other end of the link) and an Ed25519 pair (libsodium: who wrote
 * the payload, checkable forever from the stored bytes).  Both live in one
 * CZMQ certificate: NAME.cert holds the public halves and the metadata the
 * collector trusts (role, name, township); NAME.cert_secret (mode 0600)
 * holds the same plus the secret halves, and never leaves its machine.
 *
 * Roles: an agent speaks for one township; an importer (the county's
 * console) carries bundles signed by agents; a collector is what agents
 * connect to.
 */
#ifndef TF_IDENTITY_H
#define TF_IDENTITY_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "registry.h"

#define TF_SIGN_PUBLIC_LEN 32
#define TF_SIGNATURE_LEN 64
#define TF_Z85_KEY_LEN 40

typedef enum {
	TF_ROLE_AGENT,
	TF_ROLE_IMPORTER,
	TF_ROLE_COLLECTOR
} tf_role_t;

/* The public half: what a certificate says. */
typedef struct {
	tf_role_t role;
	char name[TF_AGENT_ID_MAX + 1];         /* the agent id, or the importer's/collector's name */
	char township[TF_CODE_LEN + 1];         /* agents: the only township they speak for */
	char curve_public[TF_Z85_KEY_LEN + 1];  /* Z85 */
	uint8_t sign_public[TF_SIGN_PUBLIC_LEN];
} tf_peer_t;

typedef struct _tf_identity_t tf_identity_t;

/* "agent", "importer", "collector". */
const char *tf_role_name(tf_role_t role);

/* Fresh keys.  township is required for an agent and must be NULL otherwise;
 * name must be a sound agent id.  NULL with err on bad arguments. */
tf_identity_t *tf_identity_generate(tf_role_t role, const char *name, const char *township,
                                    char *err, size_t errlen);
/* Write DIR/NAME.cert and DIR/NAME.cert_secret (0600), each whole
 * (atomicfile.h).  Refuses to overwrite either, or to write through a
 * link at either name: keys are never replaced by accident.  0 or -1
 * with err. */
int tf_identity_save(const tf_identity_t *self, const char *dir, char *err, size_t errlen);
/* Read a NAME.cert_secret file: a regular file, not through a link, owned
 * by this user and mode 0600 or stricter, judged on the descriptor read;
 * the secret text read is wiped.  NULL with err (file and what is wrong). */
tf_identity_t *tf_identity_load(const char *secret_path, char *err, size_t errlen);
void tf_identity_destroy(tf_identity_t **self_p);

const tf_peer_t *tf_identity_peer(const tf_identity_t *self);
/* Put the CURVE keys on a socket (the caller sets server or serverkey). */
void tf_identity_apply(const tf_identity_t *self, zsock_t *sock);
/* Ed25519 over exactly data[0..len). */
void tf_identity_sign(const tf_identity_t *self, const uint8_t *data, size_t len,
                      uint8_t signature[TF_SIGNATURE_LEN]);

/* Read a public NAME.cert file: a regular file, not through a link, owned
 * by this user or root and not writable by others.  0 or -1 with err. */
int tf_peer_load(const char *path, tf_peer_t *out, char *err, size_t errlen);
/* True if signature is sig_len == 64 bytes and verifies data under key. */
bool tf_signature_valid(const uint8_t key[TF_SIGN_PUBLIC_LEN], const uint8_t *data,
                        size_t len, const uint8_t *signature, size_t sig_len);

#endif
