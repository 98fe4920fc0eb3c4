/*
 * utf8: strict UTF-8 validation (RFC 3629, Unicode table 3-7).  Hand-written
 * because none of our libraries exports a validator (jansson checks UTF-8
 * internally but only for whole JSON texts), and it is one table.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

bool
tf_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;

	while (p < end) {
		uint8_t c = *p;
		size_t need;
		uint8_t lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		/* U+0080..U+009F are C1 controls (NEL among them splits log lines). */
		if (c == 0xc2 && p + 1 < end && p[1] < 0xa0)
			return false;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if ((size_t)(end - p) <= need)
			return false;
		if (p[1] < lo || p[1] > hi)
			return false;
		for (size_t i = 2; i <= need; i++)
			if (p[i] < 0x80 || p[i] > 0xbf)
				return false;
		p += need + 1;
	}
	return true;
}

void
tf_text_bound(char *dst, size_t size, const char *src)
{
	size_t n;

	if (size == 0)
		return;
	n = strlen(src);
	if (n < size) {
		memcpy(dst, src, n + 1);
		return;
	}
	n = size - 1;
	/* Step back over continuation bytes to the start of the cut character. */
	while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}
