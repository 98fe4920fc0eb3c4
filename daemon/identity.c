/*
 * identity: CURVE and Ed25519 keys in CZMQ certificates (see identity.h).
 *
 * The certificate files are CZMQ's ZPL format, so zcertstore and zauth
 * read the public ones as they are.  The Ed25519 keys ride in the
 * certificate's metadata: "sign-public" (hex) in both files, "sign-seed"
 * (hex) only in the secret one.
 */
#include "identity.h"
#include "atomicfile.h"
#include "config.h"
#include "infile.h"
#include "utf8.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TF_CERT_FILE_MAX (64 * 1024)    /* a certificate is a few hundred bytes */

struct _tf_identity_t {
	tf_peer_t peer;
	zcert_t *cert;                          /* CURVE keys and metadata */
	uint8_t sign_secret[crypto_sign_SECRETKEYBYTES];
};

const char *
tf_role_name(tf_role_t role)
{
	switch (role) {
	case TF_ROLE_AGENT:
		return "agent";
	case TF_ROLE_IMPORTER:
		return "importer";
	case TF_ROLE_COLLECTOR:
		return "collector";
	}
	return "unknown";
}

static int
s_role_parse(const char *text, tf_role_t *role)
{
	for (int r = TF_ROLE_AGENT; r <= TF_ROLE_COLLECTOR; r++)
		if (strcmp(text, tf_role_name((tf_role_t)r)) == 0) {
			*role = (tf_role_t)r;
			return 0;
		}
	return -1;
}

static bool
s_township_code_valid(const char *code)
{
	/* A township's 12-digit code ends in the three zeros of "no unit". */
	return tf_code_valid(code) && strcmp(code + 9, "000") == 0 && strcmp(code + 6, "000000") != 0;
}

/* Check the fields of a peer that both generate and load must hold. */
static int
s_peer_check(const tf_peer_t *peer, char *err, size_t errlen)
{
	if (!tf_agent_id_valid(peer->name)) {
		snprintf(err, errlen, "name \"%.64s\" must be 1 to 64 printable ASCII characters, "
		         "no spaces", peer->name);
		return -1;
	}
	if (peer->role == TF_ROLE_AGENT && !s_township_code_valid(peer->township)) {
		snprintf(err, errlen, "township \"%.16s\" is not a 12-digit township code "
		         "(like 630121100000)", peer->township);
		return -1;
	}
	if (peer->role != TF_ROLE_AGENT && peer->township[0] != '\0') {
		snprintf(err, errlen, "only an agent names a township");
		return -1;
	}
	return 0;
}

static tf_identity_t *
s_identity_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	return calloc(1, sizeof(tf_identity_t));
}

tf_identity_t *
tf_identity_generate(tf_role_t role, const char *name, const char *township, char *err,
                     size_t errlen)
{
	tf_identity_t *self = s_identity_new();

	if (self == NULL) {
		snprintf(err, errlen, "out of memory, or libsodium would not start");
		return NULL;
	}
	self->peer.role = role;
	snprintf(self->peer.name, sizeof self->peer.name, "%s", name);
	snprintf(self->peer.township, sizeof self->peer.township, "%s",
	         township != NULL ? township : "");
	if (strlen(name) > TF_AGENT_ID_MAX || (township != NULL && strlen(township) > TF_CODE_LEN)
	    || s_peer_check(&self->peer, err, errlen) != 0)
		goto fail;
	self->cert = zcert_new();
	if (self->cert == NULL) {
		snprintf(err, errlen, "could not create a CURVE key pair");
		goto fail;
	}
	snprintf(self->peer.curve_public, sizeof self->peer.curve_public, "%s",
	         zcert_public_txt(self->cert));
	crypto_sign_keypair(self->peer.sign_public, self->sign_secret);
	return self;
fail:
	tf_identity_destroy(&self);
	return NULL;
}

static void
s_hex(const uint8_t *data, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, data, len);
}

static int
s_unhex(const char *text, uint8_t *out, size_t len)
{
	size_t got = 0;

	if (text == NULL || strlen(text) != 2 * len)
		return -1;
	if (sodium_hex2bin(out, len, text, strlen(text), NULL, &got, NULL) != 0 || got != len)
		return -1;
	return 0;
}

/* The metadata every certificate of ours carries. */
static void
s_set_public_meta(const tf_identity_t *self)
{
	char hex[2 * TF_SIGN_PUBLIC_LEN + 1];

	zcert_set_meta(self->cert, "role", "%s", tf_role_name(self->peer.role));
	zcert_set_meta(self->cert, "name", "%s", self->peer.name);
	if (self->peer.role == TF_ROLE_AGENT)
		zcert_set_meta(self->cert, "township", "%s", self->peer.township);
	s_hex(self->peer.sign_public, sizeof self->peer.sign_public, hex);
	zcert_set_meta(self->cert, "sign-public", "%s", hex);
}

/* Wipe the text of a secret value in a parsed certificate (zconfig frees
 * without clearing). */
static void
s_wipe_value(zconfig_t *file, const char *keypath)
{
	zconfig_t *item = zconfig_locate(file, keypath);
	char *value = item != NULL ? zconfig_value(item) : NULL;

	if (value != NULL)
		sodium_memzero(value, strlen(value));
}

/* The text of a certificate file as CZMQ writes it (ZPL: metadata, then
 * curve), the secret halves and seed_hex too when seed_hex is not NULL.
 * Owned; NULL if out of memory.  Wipe it after use if secret. */
static char *
s_cert_text(const tf_identity_t *self, const char *seed_hex)
{
	char sign_hex[2 * TF_SIGN_PUBLIC_LEN + 1];
	zconfig_t *root = zconfig_new("root", NULL);
	char *text = NULL;

	if (root == NULL)
		return NULL;
	zconfig_set_comment(root, "   ZeroMQ CURVE %s Certificate (tallyfeed)",
	                    seed_hex != NULL ? "**Secret**" : "Public");
	if (seed_hex != NULL)
		zconfig_set_comment(root, "   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
		                    "permissions.");
	s_hex(self->peer.sign_public, sizeof self->peer.sign_public, sign_hex);
	zconfig_put(root, "metadata/role", tf_role_name(self->peer.role));
	zconfig_put(root, "metadata/name", self->peer.name);
	if (self->peer.role == TF_ROLE_AGENT)
		zconfig_put(root, "metadata/township", self->peer.township);
	zconfig_put(root, "metadata/sign-public", sign_hex);
	if (seed_hex != NULL)
		zconfig_put(root, "metadata/sign-seed", seed_hex);
	zconfig_put(root, "curve/public-key", zcert_public_txt(self->cert));
	if (seed_hex != NULL)
		zconfig_put(root, "curve/secret-key", zcert_secret_txt(self->cert));
	text = zconfig_str_save(root);
	if (seed_hex != NULL) {
		s_wipe_value(root, "metadata/sign-seed");
		s_wipe_value(root, "curve/secret-key");
	}
	zconfig_destroy(&root);
	return text;
}

int
tf_identity_save(const tf_identity_t *self, const char *dir, char *err, size_t errlen)
{
	char public_path[4096], secret_path[4096 + 8], seed_hex[2 * crypto_sign_SEEDBYTES + 1];
	char why[1024], *text = NULL;
	uint8_t seed[crypto_sign_SEEDBYTES];
	int rc = -1;

	assert(self != NULL && dir != NULL);
	snprintf(public_path, sizeof public_path, "%s/%s.cert", dir, self->peer.name);
	snprintf(secret_path, sizeof secret_path, "%s_secret", public_path);
	if (access(public_path, F_OK) == 0 || access(secret_path, F_OK) == 0) {
		snprintf(err, errlen, "%s exists already: keys are never overwritten "
		         "(remove it yourself if you mean to replace it)", public_path);
		return -1;
	}
	s_set_public_meta(self);
	/* Written whole, never over an existing name (nor through a link
	 * planted there since the look above: NOREPLACE). */
	text = s_cert_text(self, NULL);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (tf_atomicfile_write(public_path, text, strlen(text), 0644, TF_ATOMICFILE_NOREPLACE, why,
	                        sizeof why) != 0) {
		snprintf(err, errlen, "could not write %s", why);
		free(text);
		return -1;
	}
	free(text);
	/* The seed goes only into the secret file, which only its owner reads. */
	crypto_sign_ed25519_sk_to_seed(seed, self->sign_secret);
	s_hex(seed, sizeof seed, seed_hex);
	text = s_cert_text(self, seed_hex);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(seed_hex, sizeof seed_hex);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (tf_atomicfile_write(secret_path, text, strlen(text), 0600, TF_ATOMICFILE_NOREPLACE, why,
	                        sizeof why) != 0) {
		snprintf(err, errlen, "could not write %s", why);
		goto out;
	}
	rc = 0;
out:
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	if (rc != 0)
		unlink(public_path);
	return rc;
}

/* Fill peer from a loaded certificate file's metadata and public key. */
static int
s_peer_from(zconfig_t *file, const char *path, tf_peer_t *peer, char *err, size_t errlen)
{
	const char *role = zconfig_get(file, "metadata/role", NULL);
	const char *name = zconfig_get(file, "metadata/name", NULL);
	const char *township = zconfig_get(file, "metadata/township", "");
	const char *curve = zconfig_get(file, "curve/public-key", NULL);
	const char *sign = zconfig_get(file, "metadata/sign-public", NULL);
	char why[256];

	memset(peer, 0, sizeof *peer);
	if (role == NULL || s_role_parse(role, &peer->role) != 0) {
		snprintf(err, errlen, "%s: metadata/role is missing or not agent, importer or "
		         "collector (not a tallyfeed certificate?)", path);
		return -1;
	}
	if (name == NULL || strlen(name) > TF_AGENT_ID_MAX || strlen(township) > TF_CODE_LEN) {
		snprintf(err, errlen, "%s: metadata/name is missing or too long", path);
		return -1;
	}
	snprintf(peer->name, sizeof peer->name, "%s", name);
	snprintf(peer->township, sizeof peer->township, "%s", township);
	if (s_peer_check(peer, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	if (curve == NULL || strlen(curve) != TF_Z85_KEY_LEN) {
		snprintf(err, errlen, "%s: curve/public-key is missing or not 40 Z85 characters", path);
		return -1;
	}
	snprintf(peer->curve_public, sizeof peer->curve_public, "%s", curve);
	if (s_unhex(sign, peer->sign_public, sizeof peer->sign_public) != 0) {
		snprintf(err, errlen, "%s: metadata/sign-public is missing or not 64 hex digits", path);
		return -1;
	}
	return 0;
}

/* Read and parse a certificate file, judged on its descriptor (infile.h:
 * not a link, a regular file, bounded, and the owner and mode flags ask
 * for): no check-then-open race.  The text is wiped once parsed. */
static zconfig_t *
s_cert_load(const char *path, int flags, char *err, size_t errlen)
{
	zconfig_t *file;
	char why[512];
	char *text;
	size_t len;

	text = tf_infile_read(AT_FDCWD, path, TF_CERT_FILE_MAX, flags, &len, NULL, why, sizeof why);
	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	file = tf_zpl_parse(text, path, err, errlen);
	sodium_memzero(text, len);
	free(text);
	return file;
}

int
tf_peer_load(const char *path, tf_peer_t *out, char *err, size_t errlen)
{
	zconfig_t *file;
	int rc;

	assert(path != NULL && out != NULL);
	/* Whoever could write it could enrol himself. */
	file = s_cert_load(path, TF_INFILE_OURS, err, errlen);
	if (file == NULL)
		return -1;
	rc = s_peer_from(file, path, out, err, errlen);
	zconfig_destroy(&file);
	return rc;
}

tf_identity_t *
tf_identity_load(const char *path, char *err, size_t errlen)
{
	tf_identity_t *self = NULL;
	zconfig_t *file = NULL;
	const char *secret;
	uint8_t curve_public[32], curve_secret[32], seed[crypto_sign_SEEDBYTES];
	uint8_t derived[TF_SIGN_PUBLIC_LEN];

	assert(path != NULL);
	/* Owner and mode judged on the descriptor that is read. */
	file = s_cert_load(path, TF_INFILE_PRIVATE, err, errlen);
	if (file == NULL)
		return NULL;
	self = s_identity_new();
	if (self == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (s_peer_from(file, path, &self->peer, err, errlen) != 0)
		goto fail;
	secret = zconfig_get(file, "curve/secret-key", NULL);
	if (secret == NULL || strlen(secret) != TF_Z85_KEY_LEN
	    || zmq_z85_decode(curve_secret, secret) == NULL
	    || zmq_z85_decode(curve_public, self->peer.curve_public) == NULL) {
		snprintf(err, errlen, "%s: curve/secret-key is missing or not 40 Z85 characters "
		         "(is this the .cert_secret file?)", path);
		goto fail;
	}
	if (s_unhex(zconfig_get(file, "metadata/sign-seed", NULL), seed, sizeof seed) != 0) {
		snprintf(err, errlen, "%s: metadata/sign-seed is missing or not 64 hex digits "
		         "(is this the .cert_secret file?)", path);
		goto fail;
	}
	crypto_sign_seed_keypair(derived, self->sign_secret, seed);
	sodium_memzero(seed, sizeof seed);
	if (memcmp(derived, self->peer.sign_public, sizeof derived) != 0) {
		snprintf(err, errlen, "%s: sign-seed does not belong to sign-public", path);
		goto fail;
	}
	self->cert = zcert_new_from(curve_public, curve_secret);
	sodium_memzero(curve_secret, sizeof curve_secret);
	if (self->cert == NULL) {
		snprintf(err, errlen, "%s: could not use the CURVE keys", path);
		goto fail;
	}
	s_wipe_value(file, "curve/secret-key");
	s_wipe_value(file, "metadata/sign-seed");
	zconfig_destroy(&file);
	return self;
fail:
	sodium_memzero(curve_secret, sizeof curve_secret);
	sodium_memzero(seed, sizeof seed);
	if (file != NULL) {
		s_wipe_value(file, "curve/secret-key");
		s_wipe_value(file, "metadata/sign-seed");
	}
	zconfig_destroy(&file);
	tf_identity_destroy(&self);
	return NULL;
}

void
tf_identity_destroy(tf_identity_t **self_p)
{
	tf_identity_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	zcert_destroy(&self->cert);
	sodium_memzero(self, sizeof *self);
	free(self);
	*self_p = NULL;
}

const tf_peer_t *
tf_identity_peer(const tf_identity_t *self)
{
	assert(self != NULL);
	return &self->peer;
}

void
tf_identity_apply(const tf_identity_t *self, zsock_t *sock)
{
	assert(self != NULL && sock != NULL);
	zcert_apply(self->cert, sock);
}

void
tf_identity_sign(const tf_identity_t *self, const uint8_t *data, size_t len,
                 uint8_t signature[TF_SIGNATURE_LEN])
{
	assert(self != NULL && (data != NULL || len == 0));
	crypto_sign_detached(signature, NULL, data, len, self->sign_secret);
}

bool
tf_signature_valid(const uint8_t key[TF_SIGN_PUBLIC_LEN], const uint8_t *data, size_t len,
                   const uint8_t *signature, size_t sig_len)
{
	if (signature == NULL || sig_len != TF_SIGNATURE_LEN || (data == NULL && len != 0)
	    || sodium_init() < 0)
		return false;
	return crypto_sign_verify_detached(signature, data, len, key) == 0;
}
