/*
 * http: a small HTTP server for tallyfeed's pages (the dashboard and its
 * JSON API, the daemons' metrics and health: read-only; the agent's entry
 * desk: also POST), on libmicrohttpd.
 *
 * A small pool of libmicrohttpd's threads serves the requests, so one slow
 * handler (a long query) holds up only the connections of its thread: a
 * handler runs in several threads at once, and one that needs a database
 * connection keeps one per thread.  No client can hold the server:
 *  - a request's headers must arrive within TF_HTTP_HEADER_DEADLINE_S of
 *    its start (the connection, or the end of the request before it on
 *    the same connection), and the whole exchange must end within
 *    TF_HTTP_REQUEST_DEADLINE_S, however slowly the bytes trickle (an
 *    idle timeout alone is defeated by one byte a second);
 *  - one client address holds at most TF_HTTP_PER_ADDRESS connections
 *    (more are closed as they come), and all together
 *    TF_HTTP_CONNECTIONS_MAX.
 * Only GET and HEAD are served; one with a body (Content-Length or
 * Transfer-Encoding) is refused with 400.  A server started with
 * tf_http_options_t.body_max also takes POST, with a body of at most that
 * many bytes, of the one media type body_type, and a Content-Length: a
 * longer one is refused with 413 from its headers, before a byte of it is
 * read (and 100-continue is not sent), a chunked one with 411, another
 * type with 415; the body is in memory, whole, when the handler is called.
 * Every other server refuses POST with 405, as before.  With tf_http_options_t.hosts,
 * the Host header must name this server (its address and port, or
 * localhost on a loopback address; any address literal when listening on
 * every address) or one of the hosts given, or the request is refused with
 * 421 (a DNS-rebinding page cannot read it).  A query that gives a name
 * twice, or more than TF_HTTP_ARGS_MAX arguments, is refused with 400:
 * no handler guesses which value counts.  Every reply carries the same
 * protective headers (no sniffing, a same-origin content policy).
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
	char cookie[256];               /* a Set-Cookie header's value; "" for none */
	const char *content_policy;     /* static; NULL: the same-origin policy every
	                                 * reply carries (a page that needs its own,
	                                 * e.g. one inline style by its hash) */
} tf_http_reply_t;

typedef void tf_http_handler_fn(void *arg, const tf_http_request_t *request,
                                tf_http_reply_t *reply);

#define TF_HTTP_HEADER_DEADLINE_S 5     /* a request's headers, from its start */
#define TF_HTTP_REQUEST_DEADLINE_S 30   /* the whole request, reply sent */
#define TF_HTTP_PER_ADDRESS 16          /* connections one client address may hold */
#define TF_HTTP_THREADS 4               /* serving threads */
#define TF_HTTP_HOSTS_MAX 16            /* names in tf_http_options_t.hosts */
#define TF_HTTP_CONNECTIONS_MAX 256     /* at once, every client together */
#define TF_HTTP_BODY_MAX (1024 * 1024)  /* the largest body_max a server may take */
#define TF_HTTP_ARGS_MAX 32             /* query arguments in one request */

typedef struct {
	/* Check the Host header: NULL (no check), or a NULL-terminated list
	 * of names the server also answers to besides its own address: "NAME"
	 * (any port) or "NAME:PORT".  An empty list checks it too. */
	const char *const *hosts;
	/* Connections one client address may hold (0: TF_HTTP_PER_ADDRESS).
	 * Behind a proxy every client has the proxy's address. */
	unsigned per_address;
	/* POST: 0 (refused with 405), or the largest body taken, in bytes
	 * (at most TF_HTTP_BODY_MAX), of the media type body_type
	 * ("application/json"; parameters such as charset are allowed). */
	size_t body_max;
	const char *body_type;
} tf_http_options_t;

/* Listen on ADDRESS:PORT ("127.0.0.1:8080", "[::1]:8080", "*:8080"; port 0
 * takes a free one) and serve every request with handler.  NULL with the
 * reason in err. */
tf_http_t *tf_http_new(const char *listen, tf_http_handler_fn *handler, void *arg,
                       char *err, size_t errlen);
/* The same with options (NULL: as tf_http_new). */
tf_http_t *tf_http_start(const char *listen, const tf_http_options_t *options,
                         tf_http_handler_fn *handler, void *arg, char *err, size_t errlen);
/* text as the list tf_http_options_t.hosts takes: comma-separated names,
 * NAME or NAME:PORT (DNS names or address literals, at most
 * TF_HTTP_HOSTS_MAX).  One block, names and all (the caller frees it with
 * free()), or NULL with why in err. */
char **tf_http_parse_hosts(const char *text, char *err, size_t errlen);
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
/* A request header's value, or NULL when absent. */
const char *tf_http_header(const tf_http_request_t *request, const char *name);
/* A cookie's value, or NULL when absent. */
const char *tf_http_cookie(const tf_http_request_t *request, const char *name);
/* A POST's body (NUL-terminated; *length without the NUL), or NULL for
 * a request without one. */
const char *tf_http_body(const tf_http_request_t *request, size_t *length);
/* The client's address, numeric ("127.0.0.1", "::1"). */
const char *tf_http_peer(const tf_http_request_t *request);

/* Fill reply with a copy of text (or, with tf_http_reply_static, text
 * itself, which must outlive the reply). */
void tf_http_reply_text(tf_http_reply_t *reply, unsigned status, const char *content_type,
                        const char *text);
void tf_http_reply_static(tf_http_reply_t *reply, unsigned status, const char *content_type,
                          const void *data, size_t length);

#endif
