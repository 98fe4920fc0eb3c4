/*
 * utf8: strict UTF-8 validation for names that come from outside, and the
 * one escape every text from outside goes through before a log line or a
 * terminal.
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

/* Bytes tf_text_escape may write for len bytes of input, NUL included:
 * every byte can become four ("\xHH"). */
#define TF_TEXT_ESCAPED_MAX(len) (4 * (size_t)(len) + 1)

/* Copy src[0..len) into dst (size bytes, NUL-terminated) with nothing a
 * terminal or a log reader could take for anything but text: C0 controls
 * and DEL (\n, \r, \t, else \xHH), C1 controls (U+0080-009F), the line
 * and paragraph separators (U+2028-2029) and the bidirectional overrides
 * and isolates (U+202A-202E, U+2066-2069) as \u{XXXX}; a byte that is not
 * well-formed UTF-8 as \xHH; a backslash as \\ (so the escape reads back
 * one way).  Everything else (Chinese names, say) is kept as it is.  When
 * dst is too small the text is cut between characters, never inside one
 * or inside an escape.  Returns the length written (without the NUL). */
size_t tf_text_escape(char *dst, size_t size, const char *src, size_t len);

/* tf_text_escape of a NUL-terminated string, into a buffer of its own
 * (caller frees), or NULL when out of memory.  src NULL: NULL. */
char *tf_text_escape_dup(const char *src);

#endif
