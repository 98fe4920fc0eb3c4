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
 */
#ifndef TF_CHAIN_H
#define TF_CHAIN_H

#include <stdint.h>

#define TF_HASH_LEN 32

typedef enum { TF_CHAIN_MESSAGE = 'M', TF_CHAIN_QUARANTINE = 'Q' } tf_chain_kind_t;

void tf_chain_link_hash(const uint8_t previous[TF_HASH_LEN], int64_t link, tf_chain_kind_t kind,
                        const uint8_t entry_sha256[TF_HASH_LEN], int64_t received_ms,
                        int32_t reason, uint8_t out[TF_HASH_LEN]);

#endif
