/*
 * copybuf: rows for PostgreSQL's COPY FROM STDIN in text format, built in
 * memory and sent in one stream.  Fields are escaped as COPY's text format
 * requires (backslash, tab, newline, carriage return); bytea goes as hex.
 */
#ifndef TF_COPYBUF_H
#define TF_COPYBUF_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _copybuf_t copybuf_t;

copybuf_t *copybuf_new(void);
void copybuf_destroy(copybuf_t **self_p);
/* Forget the rows, keep the memory. */
void copybuf_reset(copybuf_t *self);

void copybuf_text(copybuf_t *self, const char *text);
void copybuf_int(copybuf_t *self, long long value);
void copybuf_bool(copybuf_t *self, int value);
void copybuf_bytea(copybuf_t *self, const uint8_t *data, size_t len);
void copybuf_null(copybuf_t *self);
/* A text[] literal of the given words (no quoting needed: plain words). */
void copybuf_words(copybuf_t *self, const char *const *words, size_t n);
void copybuf_end_row(copybuf_t *self);

size_t copybuf_rows(const copybuf_t *self);
/* The rows as COPY text, for comparing with what COPY TO gives back
 * (`tallyfeed verify`); *len is 0 if building them ran out of memory. */
const char *copybuf_data(const copybuf_t *self, size_t *len);
/* Run "COPY tables[i] (columns[i]) FROM STDIN" with the rows of each of
 * the n buffers, in one query string after the statement before (NULL:
 * none): one round trip to the server per table, none for before.  The
 * buffers with no rows are left out; if none has rows, nothing is sent,
 * before included (so it needs no connection).  0, or -1 (logged) at the
 * first failure. */
int copybuf_send(PGconn *conn, const char *before, copybuf_t *const *bufs,
                 const char *const *tables, const char *const *columns, size_t n);

#endif
