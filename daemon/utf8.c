/*
 * utf8: strict UTF-8 validation (RFC 3629, Unicode table 3-7).  Hand-written
 * because none of our libraries exports a validator (jansson checks UTF-8
 * internally but only for whole JSON texts), and it is one table.  The
 * escape beside it is ours for the same reason: vis(3) is BSD's, and glibc
 * has nothing that knows UTF-8's hidden characters.
 */
#include "utf8.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the well-formed UTF-8 sequence at p (before end) that is
 * not ASCII, or 0 if it is not one. */
static size_t
s_sequence(const uint8_t *p, const uint8_t *end)
{
	uint8_t c = *p;
	size_t need;
	uint8_t lo = 0x80, hi = 0xbf;

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
		return 0;
	if ((size_t)(end - p) <= need)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need + 1;
}

/* The code point of a well-formed sequence of n bytes. */
static uint32_t
s_code_point(const uint8_t *p, size_t n)
{
	static const uint8_t lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = p[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/* A code point that is not text for a reader: C1 controls, the line and
 * paragraph separators, bidirectional overrides and isolates. */
static bool
s_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029
	       || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
tf_text_escape(char *dst, size_t size, const char *src, size_t len)
{
	const uint8_t *p = (const uint8_t *)src, *end = p + len;
	size_t out = 0;

	assert(dst != NULL && size > 0 && (src != NULL || len == 0));
	while (p < end) {
		char piece[12];
		const char *from = piece;
		size_t n, step;

		if (*p < 0x80) {
			step = 1;
			if (*p == '\n')
				n = (size_t)snprintf(piece, sizeof piece, "\\n");
			else if (*p == '\r')
				n = (size_t)snprintf(piece, sizeof piece, "\\r");
			else if (*p == '\t')
				n = (size_t)snprintf(piece, sizeof piece, "\\t");
			else if (*p == '\\')
				n = (size_t)snprintf(piece, sizeof piece, "\\\\");
			else if (*p < 0x20 || *p == 0x7f)
				n = (size_t)snprintf(piece, sizeof piece, "\\x%02x", *p);
			else {
				from = (const char *)p;
				n = 1;
			}
		} else if ((step = s_sequence(p, end)) == 0) {
			step = 1;
			n = (size_t)snprintf(piece, sizeof piece, "\\x%02x", *p);
		} else if (s_hidden(s_code_point(p, step)))
			n = (size_t)snprintf(piece, sizeof piece, "\\u{%04x}",
			                     (unsigned)s_code_point(p, step));
		else {
			from = (const char *)p;
			n = step;
		}
		if (out + n >= size)
			break;
		memcpy(dst + out, from, n);
		out += n;
		p += step;
	}
	dst[out] = '\0';
	return out;
}

char *
tf_text_escape_dup(const char *src)
{
	size_t len, size;
	char *dst;

	if (src == NULL)
		return NULL;
	len = strlen(src);
	size = TF_TEXT_ESCAPED_MAX(len);
	if ((dst = malloc(size)) == NULL)
		return NULL;
	tf_text_escape(dst, size, src, len);
	return dst;
}

bool
tf_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;
	size_t n;

	while (p < end) {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false;
			p++;
			continue;
		}
		/* U+0080..U+009F are C1 controls (NEL among them splits log lines). */
		if ((n = s_sequence(p, end)) == 0 || s_code_point(p, n) <= 0x9f)
			return false;
		p += n;
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
