/*
 * copybuf: COPY text-format rows.  libpq moves COPY data but leaves its
 * encoding to the caller, so this small encoder is ours.
 */
#include "copybuf.h"
#include "db.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _copybuf_t {
	char *data;
	size_t len;
	size_t capacity;
	size_t rows;
	int fields;             /* fields in the current row so far */
	int failed;             /* out of memory while building */
};

copybuf_t *
copybuf_new(void)
{
	return calloc(1, sizeof(copybuf_t));
}

void
copybuf_destroy(copybuf_t **self_p)
{
	assert(self_p != NULL);
	if (*self_p == NULL)
		return;
	free((*self_p)->data);
	free(*self_p);
	*self_p = NULL;
}

void
copybuf_reset(copybuf_t *self)
{
	self->len = 0;
	self->rows = 0;
	self->fields = 0;
	self->failed = 0;
}

static int
s_reserve(copybuf_t *self, size_t more)
{
	size_t want = self->len + more;

	if (want <= self->capacity)
		return 0;
	size_t cap = self->capacity ? self->capacity : 65536;
	while (cap < want)
		cap *= 2;
	char *grown = realloc(self->data, cap);
	if (grown == NULL) {
		self->failed = 1;
		return -1;
	}
	self->data = grown;
	self->capacity = cap;
	return 0;
}

static void
s_put(copybuf_t *self, const char *bytes, size_t n)
{
	if (s_reserve(self, n) != 0)
		return;
	memcpy(self->data + self->len, bytes, n);
	self->len += n;
}

static void
s_separator(copybuf_t *self)
{
	if (self->fields++ > 0)
		s_put(self, "\t", 1);
}

void
copybuf_text(copybuf_t *self, const char *text)
{
	s_separator(self);
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '\\':
			s_put(self, "\\\\", 2);
			break;
		case '\t':
			s_put(self, "\\t", 2);
			break;
		case '\n':
			s_put(self, "\\n", 2);
			break;
		case '\r':
			s_put(self, "\\r", 2);
			break;
		default:
			s_put(self, p, 1);
		}
	}
}

void
copybuf_int(copybuf_t *self, long long value)
{
	/* By hand, not snprintf: this runs a dozen times per candidate row and
	 * printf's machinery was the collector's largest single cost. */
	char text[24], *p = text + sizeof text;
	unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (value < 0)
		*--p = '-';
	s_separator(self);
	s_put(self, p, (size_t)(text + sizeof text - p));
}

void
copybuf_bool(copybuf_t *self, int value)
{
	s_separator(self);
	s_put(self, value ? "t" : "f", 1);
}

void
copybuf_bytea(copybuf_t *self, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	s_separator(self);
	/* bytea's hex form is \x..., and COPY text doubles the backslash. */
	if (s_reserve(self, 3 + 2 * len) != 0)
		return;
	memcpy(self->data + self->len, "\\\\x", 3);
	self->len += 3;
	for (size_t i = 0; i < len; i++) {
		self->data[self->len++] = digits[data[i] >> 4];
		self->data[self->len++] = digits[data[i] & 0x0f];
	}
}

void
copybuf_null(copybuf_t *self)
{
	s_separator(self);
	s_put(self, "\\N", 2);
}

void
copybuf_words(copybuf_t *self, const char *const *words, size_t n)
{
	s_separator(self);
	s_put(self, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			s_put(self, ",", 1);
		s_put(self, words[i], strlen(words[i]));
	}
	s_put(self, "}", 1);
}

void
copybuf_end_row(copybuf_t *self)
{
	s_put(self, "\n", 1);
	self->rows++;
	self->fields = 0;
}

size_t
copybuf_rows(const copybuf_t *self)
{
	return self->rows;
}

const char *
copybuf_data(const copybuf_t *self, size_t *len)
{
	*len = self->failed ? 0 : self->len;
	return self->data;
}

/* The index of the first buffer from i on that has rows (n: none). */
static size_t
s_next_with_rows(copybuf_t *const *bufs, size_t n, size_t i)
{
	while (i < n && bufs[i]->rows == 0)
		i++;
	return i;
}

int
copybuf_send(PGconn *conn, const char *before, copybuf_t *const *bufs,
             const char *const *tables, const char *const *columns, size_t n)
{
	size_t size = 1, used = 0, i;
	char *sql;
	PGresult *res;
	int rc = 0;

	if (s_next_with_rows(bufs, n, 0) == n)
		return 0;
	if (before != NULL)
		size += strlen(before) + sizeof "; ";
	for (i = s_next_with_rows(bufs, n, 0); i < n; i = s_next_with_rows(bufs, n, i + 1)) {
		if (bufs[i]->failed) {
			log_warnx("COPY %s: out of memory building rows", tables[i]);
			return -1;
		}
		size += strlen(tables[i]) + strlen(columns[i]) + sizeof "COPY  () FROM STDIN; ";
	}
	if ((sql = malloc(size)) == NULL) {
		log_warnx("COPY: out of memory");
		return -1;
	}
	if (before != NULL)
		used += (size_t)snprintf(sql, size, "%s; ", before);
	for (i = s_next_with_rows(bufs, n, 0); i < n; i = s_next_with_rows(bufs, n, i + 1))
		used += (size_t)snprintf(sql + used, size - used, "COPY %s (%s) FROM STDIN; ",
		                         tables[i], columns[i]);
	if (PQsendQuery(conn, sql) != 1) {
		log_warnx("COPY: %s", tf_db_error(conn));
		free(sql);
		return -1;
	}
	free(sql);
	/* One result per statement: before's, then per COPY the wait for its
	 * data (COPY_IN) and its end; the server goes from one to the next
	 * without waiting for a new query, and stops at the first error. */
	i = n;          /* the buffer whose COPY is under way */
	while ((res = PQgetResult(conn)) != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_COPY_IN:
			i = s_next_with_rows(bufs, n, i == n ? 0 : i + 1);
			if (i == n) {
				/* More COPYs than the string holds: not a server's. */
				PQputCopyEnd(conn, "no rows for this COPY");
				rc = -1;
				break;
			}
			if (PQputCopyData(conn, bufs[i]->data, (int)bufs[i]->len) != 1
			    || PQputCopyEnd(conn, NULL) != 1) {
				log_warnx("COPY %s: %s", tables[i], tf_db_error(conn));
				rc = -1;
			}
			break;
		case PGRES_COMMAND_OK:
			break;
		default:
			tf_db_note_failure(res);
			/* The server's message names the table and line (CONTEXT). */
			log_warnx("COPY: %s", tf_db_error(conn));
			rc = -1;
			break;
		}
		PQclear(res);
	}
	return rc;
}
