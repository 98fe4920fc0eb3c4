/*
 * addrlimit: a rate limit per client address, for the HTTP servers' costly
 * requests (the entry desk's logins, the public check).  Each address has a
 * bucket of burst requests, refilled one every refill_ms; a full bucket
 * does not save up.  The last `addresses` addresses are remembered in a
 * fixed table (the one used longest ago is reused), so memory is bounded
 * whatever the clients do; an address forgotten starts again full.
 * Thread-safe.  One address ("" will do) makes a limit for every client
 * together.
 */
#ifndef TF_ADDRLIMIT_H
#define TF_ADDRLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TF_ADDRLIMIT_ADDRESS_MAX 63     /* bytes of an address kept (an IPv6 literal fits) */

typedef struct _tf_addrlimit_t tf_addrlimit_t;

/* burst >= 1, refill_ms >= 1, addresses >= 1.  NULL out of memory. */
tf_addrlimit_t *tf_addrlimit_new(unsigned burst, int64_t refill_ms, size_t addresses);
void tf_addrlimit_destroy(tf_addrlimit_t **self_p);

/* May address (its first TF_ADDRLIMIT_ADDRESS_MAX bytes) make one more
 * request at now_ms (a monotonic clock)?  Takes it from its bucket. */
bool tf_addrlimit_take(tf_addrlimit_t *self, const char *address, int64_t now_ms);

#endif
