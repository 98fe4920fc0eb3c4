/*
 * chain: the link hash of the collector's log (see chain.h).
 */
#include "chain.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

static void
s_be64(uint8_t *out, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

void
tf_chain_link_hash(const uint8_t previous[TF_HASH_LEN], int64_t link, tf_chain_kind_t kind,
                   const uint8_t entry_sha256[TF_HASH_LEN], int64_t received_ms, int32_t reason,
                   uint8_t out[TF_HASH_LEN])
{
	static const char tag[] = "tallyfeed-chain-1";
	uint8_t buf[sizeof tag - 1 + TF_HASH_LEN + 8 + 1 + TF_HASH_LEN + 8 + 4], *p = buf;

	assert(previous != NULL && entry_sha256 != NULL && out != NULL && link >= 1);
	memcpy(p, tag, sizeof tag - 1);
	p += sizeof tag - 1;
	memcpy(p, previous, TF_HASH_LEN);
	p += TF_HASH_LEN;
	s_be64(p, (uint64_t)link);
	p += 8;
	*p++ = (uint8_t)kind;
	memcpy(p, entry_sha256, TF_HASH_LEN);
	p += TF_HASH_LEN;
	s_be64(p, (uint64_t)received_ms);
	p += 8;
	for (int i = 3; i >= 0; i--)
		*p++ = (uint8_t)((uint32_t)reason >> (8 * i));
	assert((size_t)(p - buf) == sizeof buf);
	crypto_hash_sha256(out, buf, sizeof buf);
}
