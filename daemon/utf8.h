/*
 * utf8: strict UTF-8 validation for names that come from outside.
 */
#ifndef TF_UTF8_H
#define TF_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF) and holds no control characters. */
bool tf_utf8_valid(const char *s, size_t len);

/* Copy src into dst (size bytes), cutting at a character boundary so a
 * truncated UTF-8 string stays UTF-8. */
void tf_text_bound(char *dst, size_t size, const char *src);

#endif
