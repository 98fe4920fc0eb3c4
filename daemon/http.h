/*
 * http: a small HTTP server for tallyfeed's read-only pages (the dashboard
 * and its JSON API now; metrics and health later), on libmicrohttpd.
 *
 * One thread of libmicrohttpd's own serves every request in turn, so a
 * handler may use one database connection without locks.  Only GET and
 * HEAD are served; anything with a body is refused.  Every reply carries
 * the same protective headers (no sniffing, a same-origin content policy).
 */
#ifndef TF_HTTP_H
#define TF_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tf_http tf_http_t;
typedef struct tf_http_request tf_http_request_t;

/* What a handler answers.  body is malloc'ed (freed by the server) unless
 * body_static; content_type and cache_control are static strings. */
typedef struct {
	unsigned status;
	const char *content_type;
	const char *cache_control;      /* NULL: "no-store" */
	char *body;
	size_t length;
	bool body_static;
} tf_http_reply_t;

typedef void tf_http_handler_fn(void *arg, const tf_http_request_t *request,
                                tf_http_reply_t *reply);

/* Listen on ADDRESS:PORT ("127.0.0.1:8080", "[::1]:8080", "*:8080"; port 0
 * takes a free one) and serve every request with handler.  NULL with the
 * reason in err. */
tf_http_t *tf_http_new(const char *listen, tf_http_handler_fn *handler, void *arg,
                       char *err, size_t errlen);
/* Is listen an address tf_http_new can bind (by its form; nothing is
 * bound)?  0, or -1 with why in err. */
int tf_http_check_listen(const char *listen, char *err, size_t errlen);
/* Stop serving (waits for the request in hand) and free. */
void tf_http_destroy(tf_http_t **self_p);
/* The port actually bound (useful after port 0). */
unsigned tf_http_port(const tf_http_t *self);

/* The request's path (without the query string) and method. */
const char *tf_http_path(const tf_http_request_t *request);
const char *tf_http_method(const tf_http_request_t *request);
/* A query-string argument, URL-decoded, or NULL when absent. */
const char *tf_http_arg(const tf_http_request_t *request, const char *name);

/* Fill reply with a copy of text (or, with tf_http_reply_static, text
 * itself, which must outlive the reply). */
void tf_http_reply_text(tf_http_reply_t *reply, unsigned status, const char *content_type,
                        const char *text);
void tf_http_reply_static(tf_http_reply_t *reply, unsigned status, const char *content_type,
                          const void *data, size_t length);

#endif
