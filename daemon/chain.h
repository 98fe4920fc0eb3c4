/*
 * chain: the hash chain over the collector's log (deploy/sql/0002_trust.sql).
 *
 * Each row a collector writes to message or quarantine takes the next link
 * of its chain, and
 *
 *   row_hash = SHA-256( "tallyfeed-chain-1"
 *                       || previous row_hash          (32 zero bytes at link 1)
 *                       || link                       (8 bytes, big-endian)
 *                       || kind                       ('M' message, 'Q' quarantine)
 *                       || entry_sha256               (envelope or raw bytes, 32)
 *                       || received_ms                (8 bytes, big-endian)
 *                       || reason                     (4 bytes, big-endian; 0 for 'M') )
 *
 * The stored data is re-derived from the envelope by `tallyfeed verify`;
 * the chain makes a deleted, inserted or reordered row visible.
 *
 * The head of a chain (its last link and row_hash) is signed by the
 * collector's Ed25519 key at each commit that moves it, over
 *
 *   "tallyfeed chain head v1" and one 0x00 byte
 *   || length of the chain's name (4 bytes, big-endian) || the name
 *   || link (8 bytes, big-endian) || row_hash (32)
 *   || signed_ms (8 bytes, big-endian: when, ms since 1970 UTC)
 *
 * so that heads copied out of the database (tallyfeed.signed_head,
 * `tallyfeed heads`) prove what the chain was, whoever rewrites it later.
 */
#ifndef TF_CHAIN_H
#define TF_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TF_HASH_LEN 32
#define TF_HEAD_CONTEXT "tallyfeed chain head v1"
#define TF_CHAIN_NAME_MAX 64    /* bytes in a chain's name */

struct _tf_identity_t;

typedef enum { TF_CHAIN_MESSAGE = 'M', TF_CHAIN_QUARANTINE = 'Q' } tf_chain_kind_t;

void tf_chain_link_hash(const uint8_t previous[TF_HASH_LEN], int64_t link, tf_chain_kind_t kind,
                        const uint8_t entry_sha256[TF_HASH_LEN], int64_t received_ms,
                        int32_t reason, uint8_t out[TF_HASH_LEN]);

/* Sign a chain head with the collector's key.  -1 if the name is longer
 * than TF_CHAIN_NAME_MAX. */
int tf_chain_head_sign(const struct _tf_identity_t *signer, const char *chain, int64_t link,
                       const uint8_t hash[TF_HASH_LEN], int64_t signed_ms, uint8_t signature[64]);
/* True if signature (sig_len bytes) is key's signature of this head. */
bool tf_chain_head_valid(const uint8_t *key, const char *chain, int64_t link,
                         const uint8_t hash[TF_HASH_LEN], int64_t signed_ms,
                         const uint8_t *signature, size_t sig_len);

#endif
