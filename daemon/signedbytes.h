/*
 * signedbytes: the layout of the bytes a tallyfeed signature covers — an
 * envelope's (envelope.h), a chain head's (chain.h), a receipt's
 * (receipt.h): integers unsigned big-endian of a fixed width, byte strings
 * after a 4-byte length, so the bytes never depend on how a message was
 * serialized.  The caller sizes the buffer; each call returns the next
 * place to write.
 */
#ifndef TF_SIGNEDBYTES_H
#define TF_SIGNEDBYTES_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* v in width bytes (at most 8), most significant first. */
static inline uint8_t *
tf_put_be(uint8_t *p, uint64_t v, int width)
{
	assert(width >= 1 && width <= 8);
	for (int i = width - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return p + width;
}

/* len (which must fit 4 bytes) and then the len bytes of data. */
static inline uint8_t *
tf_put_counted(uint8_t *p, const void *data, size_t len)
{
	assert(len <= UINT32_MAX);
	p = tf_put_be(p, len, 4);
	if (len > 0)
		memcpy(p, data, len);
	return p + len;
}

#endif
