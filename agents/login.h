/*
 * login: who may use the entry desk (entry.h).  One password per agent,
 * set at enrolment by `tallyfeed-agent password` and kept only as its
 * Argon2id hash (libsodium's crypto_pwhash_str at its interactive limits:
 * 64 MiB, a tenth of a second; one hash at a time) in a file of mode 0600, read without
 * following a link.  A right password opens a session: a random 32-byte
 * token for the cookie (HttpOnly, SameSite=Strict) and another for the
 * CSRF header every write carries; both are compared in constant time
 * (sodium_memcmp).  Sessions end LOGIN_IDLE_S after their last use and
 * LOGIN_LIFE_S after their start, whichever comes first; at most
 * LOGIN_SESSIONS_MAX are open (a new one ends the oldest).  Attempts are
 * rate-limited by client address — LOGIN_BURST at once, then one every
 * LOGIN_REFILL_MS, so one client guessing cannot lock out another (the
 * last LOGIN_CLIENTS_MAX addresses are remembered) — and every client
 * together: LOGIN_ALL_BURST, then one every LOGIN_ALL_REFILL_MS, which
 * bounds guesses from many addresses.  A refused attempt's password is not
 * even hashed.  On 127.0.0.1 every local client is one address.
 *
 * Thread-safe: the desk's HTTP threads share one.
 */
#ifndef TF_LOGIN_H
#define TF_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGIN_PASSWORD_MIN 8            /* bytes */
#define LOGIN_PASSWORD_MAX 128
#define LOGIN_TOKEN_BYTES 32            /* a session's and a CSRF token's randomness */
#define LOGIN_TOKEN_HEX (2 * LOGIN_TOKEN_BYTES + 1)     /* as hex text, with the NUL */
#define LOGIN_SESSIONS_MAX 16
#define LOGIN_IDLE_S (30 * 60)
#define LOGIN_LIFE_S (12 * 3600)
#define LOGIN_BURST 5                   /* attempts at once */
#define LOGIN_REFILL_MS 10000           /* then one every so often */
#define LOGIN_ALL_BURST (4 * LOGIN_BURST)       /* every client together */
#define LOGIN_ALL_REFILL_MS (LOGIN_REFILL_MS / 4)
#define LOGIN_CLIENTS_MAX 64            /* client addresses remembered */
#define LOGIN_FILE "entry.password"     /* in the spool directory */

typedef struct _login_t login_t;

typedef enum {
	LOGIN_OK,
	LOGIN_WRONG,                    /* wrong password */
	LOGIN_LIMITED,                  /* too many attempts: try again later */
	LOGIN_UNSET                     /* no password has been set */
} login_result_t;

/* Hash password and write it to path (mode 0600, atomically, replacing a
 * link rather than following it).  0, or -1 with why in err. */
int login_password_set(const char *path, const char *password, char *err, size_t errlen);

/* The login of the password file at path.  A missing file is no error:
 * every attempt is then LOGIN_UNSET until the desk is restarted after
 * `tallyfeed-agent password`.  NULL (with why in err) if the file is there
 * but unsound (a link, open to others, not a hash). */
login_t *login_new(const char *path, char *err, size_t errlen);
void login_destroy(login_t **self_p);

/* Try a password from a client address (its first TF_ADDRLIMIT_ADDRESS_MAX
 * bytes count, addrlimit.h) at now_ms (a monotonic clock).  LOGIN_OK fills
 * session and csrf (hex) with the new session's tokens. */
login_result_t login_attempt(login_t *self, const char *address, const char *password,
                             int64_t now_ms, char session[LOGIN_TOKEN_HEX],
                             char csrf[LOGIN_TOKEN_HEX]);

/* Is session (the cookie's value) open at now_ms?  With csrf not NULL,
 * it must also be that session's CSRF token.  A session found is kept
 * alive; when found and csrf_out is not NULL, its CSRF token is copied
 * there. */
bool login_check(login_t *self, const char *session, const char *csrf, int64_t now_ms,
                 char csrf_out[LOGIN_TOKEN_HEX]);

/* End a session (if open). */
void login_logout(login_t *self, const char *session, int64_t now_ms);

#endif
