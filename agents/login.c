/*
 * login: the entry desk's password, sessions and CSRF tokens (login.h).
 *
 * Tokens are kept as bytes and compared with sodium_memcmp after a
 * length check on the hex, so a guess learns nothing from the time a
 * comparison takes.  Hashing takes 64 MiB and a tenth of a second: one
 * attempt hashes at a time, under a lock of its own (the sessions' lock is
 * not held meanwhile, so a guess does not stall the desk's other
 * requests), and the rate limits are taken before it.
 */
#include "login.h"
#include "addrlimit.h"
#include "atomicfile.h"
#include "infile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	bool open;
	uint8_t token[LOGIN_TOKEN_BYTES];
	uint8_t csrf[LOGIN_TOKEN_BYTES];
	int64_t started_ms, used_ms;
} s_session_t;

struct _login_t {
	pthread_mutex_t lock;                   /* the sessions' */
	pthread_mutex_t hash_lock;              /* one hash at a time */
	bool set;                               /* a hash was read (fixed once made) */
	char hash[crypto_pwhash_STRBYTES];
	s_session_t sessions[LOGIN_SESSIONS_MAX];
	tf_addrlimit_t *by_client;              /* attempts per client address */
	tf_addrlimit_t *all;                    /* and every client together */
};

int
login_password_set(const char *path, const char *password, char *err, size_t errlen)
{
	char hash[crypto_pwhash_STRBYTES];
	size_t len;

	assert(path != NULL && password != NULL);
	len = strlen(password);
	if (len < LOGIN_PASSWORD_MIN || len > LOGIN_PASSWORD_MAX) {
		snprintf(err, errlen, "a password has %d to %d bytes", LOGIN_PASSWORD_MIN,
		         LOGIN_PASSWORD_MAX);
		return -1;
	}
	if (sodium_init() < 0
	    || crypto_pwhash_str(hash, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                         crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, errlen, "could not hash the password (out of memory?)");
		return -1;
	}
	if (tf_atomicfile_write(path, hash, strlen(hash), 0600, 0, err, errlen) != 0)
		return -1;
	return 0;
}

login_t *
login_new(const char *path, char *err, size_t errlen)
{
	login_t *self;
	struct stat st;
	char why[256];
	char *text;
	size_t len;

	assert(path != NULL);
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not start");
		return NULL;
	}
	if ((self = calloc(1, sizeof *self)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&self->lock, NULL);
	pthread_mutex_init(&self->hash_lock, NULL);
	self->by_client = tf_addrlimit_new(LOGIN_BURST, LOGIN_REFILL_MS, LOGIN_CLIENTS_MAX);
	self->all = tf_addrlimit_new(LOGIN_ALL_BURST, LOGIN_ALL_REFILL_MS, 1);
	if (self->by_client == NULL || self->all == NULL) {
		snprintf(err, errlen, "out of memory");
		login_destroy(&self);
		return NULL;
	}
	if (lstat(path, &st) != 0 && errno == ENOENT)
		return self;
	/* Not through a link, and no one else's to read: like a secret key. */
	text = tf_infile_read(AT_FDCWD, path, sizeof self->hash - 1, TF_INFILE_PRIVATE, &len, NULL,
	                      why, sizeof why);
	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		login_destroy(&self);
		return NULL;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\0'))
		text[--len] = '\0';
	if (strncmp(text, crypto_pwhash_STRPREFIX, strlen(crypto_pwhash_STRPREFIX)) != 0
	    || len >= sizeof self->hash) {
		snprintf(err, errlen, "%s: not a password hash of `tallyfeed-agent password`", path);
		sodium_memzero(text, len);
		free(text);
		login_destroy(&self);
		return NULL;
	}
	memcpy(self->hash, text, len + 1);
	self->set = true;
	sodium_memzero(text, len);
	free(text);
	return self;
}

void
login_destroy(login_t **self_p)
{
	assert(self_p != NULL);
	if (*self_p == NULL)
		return;
	pthread_mutex_destroy(&(*self_p)->lock);
	pthread_mutex_destroy(&(*self_p)->hash_lock);
	tf_addrlimit_destroy(&(*self_p)->by_client);
	tf_addrlimit_destroy(&(*self_p)->all);
	sodium_memzero(*self_p, sizeof **self_p);
	free(*self_p);
	*self_p = NULL;
}

/* May address make one more attempt at now?  Takes it from the limits
 * (each thread-safe: no lock of ours is needed). */
static bool
s_take_attempt(login_t *self, const char *address, int64_t now_ms)
{
	/* The client's own first: one refused there takes nothing from the
	 * others' allowance. */
	return tf_addrlimit_take(self->by_client, address, now_ms)
	       && tf_addrlimit_take(self->all, "", now_ms);
}

static bool
s_alive(const s_session_t *s, int64_t now_ms)
{
	return s->open && now_ms - s->used_ms < (int64_t)LOGIN_IDLE_S * 1000
	       && now_ms - s->started_ms < (int64_t)LOGIN_LIFE_S * 1000;
}

login_result_t
login_attempt(login_t *self, const char *address, const char *password, int64_t now_ms,
              char session[LOGIN_TOKEN_HEX], char csrf[LOGIN_TOKEN_HEX])
{
	s_session_t *slot = NULL;
	bool right;
	size_t len;

	assert(self != NULL && address != NULL && password != NULL && session != NULL
	       && csrf != NULL);
	len = strlen(password);
	if (!self->set)
		return LOGIN_UNSET;
	if (!s_take_attempt(self, address, now_ms))
		return LOGIN_LIMITED;
	/* The hash alone, without the sessions' lock. */
	pthread_mutex_lock(&self->hash_lock);
	right = len <= LOGIN_PASSWORD_MAX && crypto_pwhash_str_verify(self->hash, password, len) == 0;
	pthread_mutex_unlock(&self->hash_lock);
	if (!right)
		return LOGIN_WRONG;
	pthread_mutex_lock(&self->lock);
	/* A free (or ended) slot, else the one used longest ago. */
	for (size_t i = 0; i < LOGIN_SESSIONS_MAX; i++) {
		s_session_t *s = &self->sessions[i];

		if (!s_alive(s, now_ms)) {
			slot = s;
			break;
		}
		if (slot == NULL || s->used_ms < slot->used_ms)
			slot = s;
	}
	randombytes_buf(slot->token, sizeof slot->token);
	randombytes_buf(slot->csrf, sizeof slot->csrf);
	slot->open = true;
	slot->started_ms = slot->used_ms = now_ms;
	sodium_bin2hex(session, LOGIN_TOKEN_HEX, slot->token, sizeof slot->token);
	sodium_bin2hex(csrf, LOGIN_TOKEN_HEX, slot->csrf, sizeof slot->csrf);
	pthread_mutex_unlock(&self->lock);
	return LOGIN_OK;
}

/* hex as a token's bytes: exactly 2 * LOGIN_TOKEN_BYTES hex digits. */
static bool
s_token(const char *hex, uint8_t out[LOGIN_TOKEN_BYTES])
{
	size_t got = 0;

	if (hex == NULL || strlen(hex) != 2 * LOGIN_TOKEN_BYTES)
		return false;
	return sodium_hex2bin(out, LOGIN_TOKEN_BYTES, hex, 2 * LOGIN_TOKEN_BYTES, NULL, &got,
	                      NULL) == 0 && got == LOGIN_TOKEN_BYTES;
}

/* The open session whose token is hex (under the lock), or NULL. */
static s_session_t *
s_find(login_t *self, const char *hex, int64_t now_ms)
{
	uint8_t token[LOGIN_TOKEN_BYTES];
	s_session_t *found = NULL;

	if (!s_token(hex, token))
		return NULL;
	/* Every slot is compared, found or not. */
	for (size_t i = 0; i < LOGIN_SESSIONS_MAX; i++) {
		s_session_t *s = &self->sessions[i];

		if (sodium_memcmp(s->token, token, sizeof token) == 0 && s_alive(s, now_ms))
			found = s;
	}
	return found;
}

bool
login_check(login_t *self, const char *session, const char *csrf, int64_t now_ms,
            char csrf_out[LOGIN_TOKEN_HEX])
{
	uint8_t given[LOGIN_TOKEN_BYTES];
	s_session_t *s;
	bool ok = false;

	assert(self != NULL);
	pthread_mutex_lock(&self->lock);
	if ((s = s_find(self, session, now_ms)) == NULL)
		goto out;
	if (csrf != NULL && (!s_token(csrf, given) || sodium_memcmp(s->csrf, given, sizeof given) != 0))
		goto out;
	s->used_ms = now_ms;
	if (csrf_out != NULL)
		sodium_bin2hex(csrf_out, LOGIN_TOKEN_HEX, s->csrf, sizeof s->csrf);
	ok = true;
out:
	pthread_mutex_unlock(&self->lock);
	return ok;
}

void
login_logout(login_t *self, const char *session, int64_t now_ms)
{
	s_session_t *s;

	assert(self != NULL);
	pthread_mutex_lock(&self->lock);
	if ((s = s_find(self, session, now_ms)) != NULL)
		sodium_memzero(s, sizeof *s);
	pthread_mutex_unlock(&self->lock);
}
