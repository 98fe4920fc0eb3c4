/*
 * chain: the link hash of the collector's log (see chain.h).
 */
#include "chain.h"
#include "identity.h"
#include "signedbytes.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

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
	p = tf_put_be(p, (uint64_t)link, 8);
	*p++ = (uint8_t)kind;
	memcpy(p, entry_sha256, TF_HASH_LEN);
	p += TF_HASH_LEN;
	p = tf_put_be(p, (uint64_t)received_ms, 8);
	p = tf_put_be(p, (uint32_t)reason, 4);
	assert((size_t)(p - buf) == sizeof buf);
	crypto_hash_sha256(out, buf, sizeof buf);
}

/* The bytes a head signature covers (see chain.h); 0 if the name is too long. */
static size_t
s_head_bytes(const char *chain, int64_t link, const uint8_t hash[TF_HASH_LEN],
             int64_t signed_ms, uint8_t *buf)
{
	size_t name_len = strlen(chain);
	uint8_t *p = buf;

	if (name_len > TF_CHAIN_NAME_MAX)
		return 0;
	memcpy(p, TF_HEAD_CONTEXT, sizeof TF_HEAD_CONTEXT);
	p += sizeof TF_HEAD_CONTEXT;
	p = tf_put_counted(p, chain, name_len);
	p = tf_put_be(p, (uint64_t)link, 8);
	memcpy(p, hash, TF_HASH_LEN);
	p += TF_HASH_LEN;
	p = tf_put_be(p, (uint64_t)signed_ms, 8);
	return (size_t)(p - buf);
}

#define HEAD_BYTES_MAX (sizeof TF_HEAD_CONTEXT + 4 + TF_CHAIN_NAME_MAX + 8 + TF_HASH_LEN + 8)

int
tf_chain_head_sign(const struct _tf_identity_t *signer, const char *chain, int64_t link,
                   const uint8_t hash[TF_HASH_LEN], int64_t signed_ms, uint8_t signature[64])
{
	uint8_t buf[HEAD_BYTES_MAX];
	size_t len;

	assert(signer != NULL && chain != NULL && hash != NULL && signature != NULL);
	len = s_head_bytes(chain, link, hash, signed_ms, buf);
	if (len == 0)
		return -1;
	tf_identity_sign(signer, buf, len, signature);
	return 0;
}

bool
tf_chain_head_valid(const uint8_t *key, const char *chain, int64_t link,
                    const uint8_t hash[TF_HASH_LEN], int64_t signed_ms,
                    const uint8_t *signature, size_t sig_len)
{
	uint8_t buf[HEAD_BYTES_MAX];
	size_t len;

	assert(key != NULL && chain != NULL && hash != NULL);
	len = s_head_bytes(chain, link, hash, signed_ms, buf);
	return len != 0 && tf_signature_valid(key, buf, len, signature, sig_len);
}
