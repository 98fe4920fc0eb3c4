/*
 * http: tallyfeed's read-only HTTP pages on libmicrohttpd (see http.h).
 *
 * libmicrohttpd's own timeout is an idle timeout: a client that sends one
 * byte of its headers every second keeps it from firing forever, and 64 of
 * them used to fill the server.  So every connection is also kept in a
 * list here (MHD_OPTION_NOTIFY_CONNECTION) with the time its request
 * started, and a sweeping thread shuts down the socket of one past its
 * deadline; libmicrohttpd then reads the end of the stream and closes it
 * itself.  libmicrohttpd has no call to close a connection from outside
 * its handler (1.0's MHD_OPTION_CLIENT_DISCIPLINE_LVL bounds bytes, not
 * time), hence the hand-written sweep.
 */
#include "http.h"
#include "log.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define HTTP_IDLE_TIMEOUT_S 10          /* an idle connection is closed after */
#define HTTP_LISTEN_MAX 300             /* bytes in ADDRESS:PORT */
#define HTTP_HOST_MAX 256               /* bytes in a Host header or a name */
#define HTTP_SWEEP_MS 250               /* how often deadlines are checked */
#define HTTP_LOG_WINDOW_S 60            /* libmicrohttpd's complaints: at most */
#define HTTP_LOG_LINES 20               /* this many lines in each window */

/* A connection, from libmicrohttpd's STARTED to its CLOSED notification
 * (the socket is closed after CLOSED, so a shutdown under the lock never
 * reaches a descriptor reused by another). */
typedef struct s_conn {
	struct s_conn *prev, *next;
	int fd;
	int64_t start_ms;               /* this request's start */
	bool headers_in;                /* the handler has been called */
	bool shut;                      /* past its deadline, shut down */
	char peer[INET6_ADDRSTRLEN];
} s_conn_t;

struct tf_http {
	struct MHD_Daemon *daemon;
	tf_http_handler_fn *handler;
	void *arg;
	unsigned port;
	/* POST: the largest body taken (0: none) and its media type. */
	size_t body_max;
	char body_type[64];
	/* The address listened on, for the Host check. */
	int family;
	unsigned char address[16];
	bool wildcard, loopback;
	bool check_host;
	size_t nhosts;
	char hosts[TF_HTTP_HOSTS_MAX][HTTP_HOST_MAX];
	/* Every open connection, and the thread that holds them to their deadline. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	s_conn_t *conns;
	bool stopping;
	bool sweeping;
	pthread_t sweeper;
	/* libmicrohttpd's complaints, rate-limited (a flood would repeat one per connection). */
	int64_t log_window_ms;
	unsigned log_lines, log_dropped;
};

struct tf_http_request {
	struct MHD_Connection *connection;
	const char *method;
	const char *path;
	const char *body;               /* NULL without one */
	size_t body_length;
	const char *peer;
};

/* A POST's body as it comes in: its length is known from its headers
 * and bounded before it is allocated. */
typedef struct {
	size_t want, got;
	char data[];                    /* want bytes and a NUL */
} s_body_t;

/* The request state of one whose answer is queued (or being read: an
 * s_body_t). */
static int s_answered;

static int64_t
s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libmicrohttpd's own complaints (a refused connection, a bad request line)
 * go to our log, as one line each, at most HTTP_LOG_LINES a minute. */
static void
s_mhd_log(void *arg, const char *fmt, va_list ap)
{
	tf_http_t *self = arg;
	char line[512];
	char *nl;
	unsigned dropped = 0;
	int64_t now = s_now_ms();
	bool say;

	pthread_mutex_lock(&self->lock);
	if (now - self->log_window_ms >= HTTP_LOG_WINDOW_S * 1000) {
		dropped = self->log_dropped;
		self->log_window_ms = now;
		self->log_lines = 0;
		self->log_dropped = 0;
	}
	say = self->log_lines < HTTP_LOG_LINES;
	if (say)
		self->log_lines++;
	else
		self->log_dropped++;
	pthread_mutex_unlock(&self->lock);
	if (dropped != 0)
		log_info("http: %u more messages of libmicrohttpd's in the last minute not logged",
		         dropped);
	if (!say)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	while ((nl = strchr(line, '\n')) != NULL)
		*nl = nl[1] == '\0' ? '\0' : ' ';
	log_info("http: %s", line);
}

/* The sweeping thread: shut down every connection past its deadline. */
static void *
s_sweep(void *arg)
{
	tf_http_t *self = arg;
	struct timespec until;

	pthread_mutex_lock(&self->lock);
	while (!self->stopping) {
		int64_t now = s_now_ms();

		for (s_conn_t *c = self->conns; c != NULL; c = c->next) {
			int64_t limit_ms = (c->headers_in ? TF_HTTP_REQUEST_DEADLINE_S
			                                  : TF_HTTP_HEADER_DEADLINE_S) * 1000;

			if (c->shut || now - c->start_ms <= limit_ms)
				continue;
			shutdown(c->fd, SHUT_RDWR);
			c->shut = true;
			log_debug("http: closed %s's connection: %s not in within %d s", c->peer,
			          c->headers_in ? "the whole request" : "its headers",
			          (int)(limit_ms / 1000));
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += HTTP_SWEEP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&self->wake, &self->lock, &until);
	}
	pthread_mutex_unlock(&self->lock);
	return NULL;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection is opened or closed. */
static void
s_notify_connection(void *arg, struct MHD_Connection *connection, void **socket_context,
                    enum MHD_ConnectionNotificationCode code)
{
	tf_http_t *self = arg;
	s_conn_t *c;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((c = *socket_context) == NULL)
			return;
		pthread_mutex_lock(&self->lock);
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			self->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		pthread_mutex_unlock(&self->lock);
		free(c);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(connection,
	                                         MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *peer = MHD_get_connection_info(connection,
	                                           MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	if (fd == NULL)
		return;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		/* Unwatched, it could be held forever: refuse it now. */
		shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	c->fd = fd->connect_fd;
	c->start_ms = s_now_ms();
	snprintf(c->peer, sizeof c->peer, "?");
	if (peer != NULL && peer->client_addr != NULL) {
		const struct sockaddr *sa = peer->client_addr;

		getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                          : sizeof(struct sockaddr_in),
		            c->peer, sizeof c->peer, NULL, 0, NI_NUMERICHOST);
	}
	pthread_mutex_lock(&self->lock);
	c->next = self->conns;
	if (c->next != NULL)
		c->next->prev = c;
	self->conns = c;
	pthread_mutex_unlock(&self->lock);
	*socket_context = c;
}

/* The connection's record (NULL if it has none). */
static s_conn_t *
s_conn_of(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection,
	                                           MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info != NULL ? info->socket_context : NULL;
}

/* MHD_OPTION_NOTIFY_COMPLETED: a request is over; the next one on the same
 * connection has its own deadline, from now. */
static void
s_request_done(void *arg, struct MHD_Connection *connection, void **state,
               enum MHD_RequestTerminationCode code)
{
	tf_http_t *self = arg;
	s_conn_t *c = s_conn_of(connection);

	(void)code;
	/* A body read (or half read: the client went away) is freed here. */
	if (*state != NULL && *state != &s_answered)
		free(*state);
	*state = NULL;
	if (c == NULL)
		return;
	pthread_mutex_lock(&self->lock);
	c->start_ms = s_now_ms();
	c->headers_in = false;
	pthread_mutex_unlock(&self->lock);
}

/* Split "NAME", "NAME:PORT", "[V6]" or "[V6]:PORT" into name (bytes) and
 * port (0 when none).  0, or -1 if it is none of these. */
static int
s_split_host(const char *host, char *name, size_t namelen, unsigned *port)
{
	const char *end, *colon;
	size_t n;

	*port = 0;
	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return -1;
		n = (size_t)(end - host - 1);
		host++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(host, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1;      /* a bare IPv6 address is not a Host */
		n = colon != NULL ? (size_t)(colon - host) : strlen(host);
	}
	if (n == 0 || n >= namelen)
		return -1;
	memcpy(name, host, n);
	name[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && strchr(".-:_", name[i]) == NULL)
			return -1;
	if (colon != NULL) {
		const char *p = colon + 1;
		unsigned long v;

		if (*p == '\0' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
			return -1;
		v = strtoul(p, NULL, 10);
		if (v == 0 || v > 65535)
			return -1;
		*port = (unsigned)v;
	}
	return 0;
}

/* Does a Host header name this server?  See http.h. */
static bool
s_host_allowed(const tf_http_t *self, const char *host)
{
	char name[HTTP_HOST_MAX], allowed[HTTP_HOST_MAX];
	unsigned port, allowed_port;
	unsigned char bytes[16];

	if (host == NULL || strlen(host) >= HTTP_HOST_MAX
	    || s_split_host(host, name, sizeof name, &port) != 0)
		return false;
	for (size_t i = 0; i < self->nhosts; i++) {
		if (s_split_host(self->hosts[i], allowed, sizeof allowed, &allowed_port) != 0)
			continue;
		if (strcasecmp(name, allowed) == 0 && (allowed_port == 0 || allowed_port == port))
			return true;
	}
	if ((port == 0 ? 80 : port) != self->port)
		return false;
	if (strcasecmp(name, "localhost") == 0)
		return self->loopback || self->wildcard;
	if (inet_pton(AF_INET, name, bytes) == 1)
		return self->wildcard || (self->family == AF_INET && memcmp(bytes, self->address, 4) == 0);
	if (host[0] == '[' && inet_pton(AF_INET6, name, bytes) == 1)
		return self->wildcard
		       || (self->family == AF_INET6 && memcmp(bytes, self->address, 16) == 0);
	return false;
}

char **
tf_http_parse_hosts(const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char **list;
	char *copy, *name, *save = NULL, bytes[HTTP_HOST_MAX];
	size_t n = 0;
	unsigned port;

	if (len >= TF_HTTP_HOSTS_MAX * HTTP_HOST_MAX) {
		snprintf(err, errlen, "host list is longer than %d bytes",
		         TF_HTTP_HOSTS_MAX * HTTP_HOST_MAX - 1);
		return NULL;
	}
	list = malloc((TF_HTTP_HOSTS_MAX + 1) * sizeof *list + len + 1);
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	copy = (char *)(list + TF_HTTP_HOSTS_MAX + 1);
	memcpy(copy, text, len + 1);
	for (name = strtok_r(copy, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
		char *end;

		while (*name == ' ')
			name++;
		end = name + strlen(name);
		while (end > name && end[-1] == ' ')
			*--end = '\0';
		if (*name == '\0')
			continue;
		if (s_split_host(name, bytes, sizeof bytes, &port) != 0) {
			snprintf(err, errlen, "host \"%.80s\" is not NAME or NAME:PORT", name);
			free(list);
			return NULL;
		}
		if (n == TF_HTTP_HOSTS_MAX) {
			snprintf(err, errlen, "more than %d hosts", TF_HTTP_HOSTS_MAX);
			free(list);
			return NULL;
		}
		list[n++] = name;
	}
	list[n] = NULL;
	return list;
}

/* "HOST:PORT", "[V6]:PORT" or "*:PORT" -> an address to bind. */
static int
s_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addrlen,
               char *err, size_t errlen)
{
	char copy[HTTP_LISTEN_MAX];
	char *host = copy, *port, *end;
	struct addrinfo hints, *found = NULL;
	int rc;

	if (strlen(listen) >= sizeof copy) {
		snprintf(err, errlen, "listen address is longer than %d bytes", HTTP_LISTEN_MAX - 1);
		return -1;
	}
	strcpy(copy, listen);
	if (copy[0] == '[') {
		host = copy + 1;
		if ((end = strchr(host, ']')) == NULL || end[1] != ':') {
			snprintf(err, errlen, "listen address \"%s\" is not [ADDRESS]:PORT", listen);
			return -1;
		}
		*end = '\0';
		port = end + 2;
	} else {
		if ((port = strrchr(copy, ':')) == NULL) {
			snprintf(err, errlen, "listen address \"%s\" is not ADDRESS:PORT", listen);
			return -1;
		}
		*port++ = '\0';
	}
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5
	    || atoi(port) > 65535) {
		snprintf(err, errlen, "listen address \"%s\": \"%s\" is not a port number", listen, port);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &found);
	if (rc != 0) {
		snprintf(err, errlen, "listen address \"%s\": %s (give a numeric address)", listen,
		         gai_strerror(rc));
		return -1;
	}
	assert(found->ai_addrlen <= sizeof *addr);
	memcpy(addr, found->ai_addr, found->ai_addrlen);
	*addrlen = found->ai_addrlen;
	freeaddrinfo(found);
	return 0;
}

int
tf_http_check_listen(const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	socklen_t addrlen;

	return s_parse_listen(listen, &addr, &addrlen, err, errlen);
}

/* Does the request carry a body?  libmicrohttpd hands a body to the handler
 * only after its first call, so the headers tell. */
static bool
s_has_body(struct MHD_Connection *connection)
{
	const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
	                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
	                                MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL)
		return true;
	return length != NULL && strspn(length, "0") != strlen(length);
}

/* Does the Content-Type name the media type the server takes?
 * Parameters (a charset) after ";" are allowed, case is not significant. */
static bool
s_type_allowed(const tf_http_t *self, const char *type)
{
	size_t n = strlen(self->body_type);

	if (type == NULL || strncasecmp(type, self->body_type, n) != 0)
		return false;
	type += n;
	while (*type == ' ' || *type == '\t')
		type++;
	return *type == '\0' || *type == ';';
}

/* The query's names, as s_query_fault counts them. */
typedef struct {
	const char *names[TF_HTTP_ARGS_MAX];
	size_t count;
	bool too_many;
	const char *repeated;           /* the first name given twice, or NULL */
} query_names_t;

static enum MHD_Result
s_query_name(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	query_names_t *q = cls;

	(void)kind;
	(void)value;
	if (key == NULL)
		return MHD_YES;
	for (size_t i = 0; i < q->count; i++)
		if (strcmp(q->names[i], key) == 0) {
			q->repeated = q->names[i];
			return MHD_NO;
		}
	if (q->count == TF_HTTP_ARGS_MAX) {
		q->too_many = true;
		return MHD_NO;
	}
	q->names[q->count++] = key;
	return MHD_YES;
}

/* Why the query is refused for every handler, into why, or NULL: a name
 * given twice (which would count?  libmicrohttpd's lookup gives the
 * first), or more than TF_HTTP_ARGS_MAX arguments. */
static const char *
s_query_fault(struct MHD_Connection *connection, char *why, size_t whylen)
{
	query_names_t q = { .count = 0 };

	MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, s_query_name, &q);
	if (q.too_many)
		snprintf(why, whylen, "more than %d query arguments\n", TF_HTTP_ARGS_MAX);
	else if (q.repeated != NULL)
		snprintf(why, whylen, "\"%.64s\" given twice in the query\n", q.repeated);
	else
		return NULL;
	return why;
}

/* Is a POST refused by its headers?  true with the refusal in reply, or
 * false with the body's length in *want. */
static bool
s_post_refused(tf_http_t *self, struct MHD_Connection *connection, tf_http_reply_t *reply,
               size_t *want)
{
	const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
	                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
	                                               MHD_HTTP_HEADER_CONTENT_TYPE);
	unsigned long long n = 0;

	/* A chunked body has no length to judge it by before it is read. */
	if (MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
	                                MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL || length == NULL) {
		tf_http_reply_text(reply, MHD_HTTP_LENGTH_REQUIRED, "text/plain; charset=utf-8",
		                   "a POST needs a Content-Length\n");
		return true;
	}
	if (length[0] == '\0' || strspn(length, "0123456789") != strlen(length)
	    || strlen(length) > 12 || (n = strtoull(length, NULL, 10)) > self->body_max) {
		char text[128];

		snprintf(text, sizeof text, "a body takes at most %zu bytes\n", self->body_max);
		tf_http_reply_text(reply, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
		                   text);
		return true;
	}
	if (!s_type_allowed(self, type)) {
		char text[128];

		snprintf(text, sizeof text, "a body must be %s\n", self->body_type);
		tf_http_reply_text(reply, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		                   "text/plain; charset=utf-8", text);
		return true;
	}
	*want = (size_t)n;
	return false;
}

/* Queue reply (its body is the response's from here on). */
static enum MHD_Result
s_send(tf_http_t *self, struct MHD_Connection *connection, const char *method, const char *url,
       tf_http_reply_t *reply)
{
	struct MHD_Response *response;
	enum MHD_Result rc;

	if (reply->body == NULL && reply->length == 0)
		reply->body_static = true;
	response = MHD_create_response_from_buffer(reply->length, reply->body,
	                                           reply->body_static ? MHD_RESPMEM_PERSISTENT
	                                                              : MHD_RESPMEM_MUST_FREE);
	if (response == NULL) {
		if (!reply->body_static)
			free(reply->body);
		return MHD_NO;
	}
	if (reply->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW,
		                        self->body_max > 0 ? "GET, HEAD, POST" : "GET, HEAD");
	if (reply->content_type != NULL)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
	if (reply->cookie[0] != '\0')
		MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, reply->cookie);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
	                        reply->cache_control != NULL ? reply->cache_control : "no-store");
	/* Nothing here is meant to be framed, sniffed or to load from elsewhere. */
	MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(response, "X-Frame-Options", "DENY");
	MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(response, "Content-Security-Policy",
	                        reply->content_policy != NULL ? reply->content_policy
	                        : "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	log_debug("http: %s %s -> %u (%zu bytes)", method, url, reply->status, reply->length);
	rc = MHD_queue_response(connection, reply->status, response);
	MHD_destroy_response(response);
	return rc;
}

static enum MHD_Result
s_answer(void *arg, struct MHD_Connection *connection, const char *url, const char *method,
         const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
	tf_http_t *self = arg;
	tf_http_request_t request = { connection, method, url, NULL, 0, "?" };
	tf_http_reply_t reply;
	bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	char why[160];
	const char *fault;
	s_body_t *body = *state != &s_answered ? *state : NULL;
	size_t want = 0;
	s_conn_t *c;

	(void)version;
	/* libmicrohttpd calls once for the headers, then for each piece of a
	 * body, then once more with none.  A refusal is answered on the first
	 * call, before a body is read; a POST taken is answered on the last. */
	if (*state == &s_answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (body != NULL && *upload_data_size != 0) {
		/* libmicrohttpd holds the body to its Content-Length: more is a bug. */
		if (*upload_data_size > body->want - body->got)
			return MHD_NO;
		memcpy(body->data + body->got, upload_data, *upload_data_size);
		body->got += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if ((c = s_conn_of(connection)) != NULL) {
		pthread_mutex_lock(&self->lock);
		c->headers_in = true;
		pthread_mutex_unlock(&self->lock);
		request.peer = c->peer;         /* written once, when it connected */
	}
	memset(&reply, 0, sizeof reply);
	if (body != NULL) {
		/* The last call: the whole body is in. */
		body->data[body->got] = '\0';
		request.body = body->data;
		request.body_length = body->got;
		self->handler(self->arg, &request, &reply);
		return s_send(self, connection, method, url, &reply);
	}
	*state = &s_answered;
	if (self->check_host
	    && !s_host_allowed(self, MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
	                                                         MHD_HTTP_HEADER_HOST)))
		tf_http_reply_text(&reply, 421, "text/plain; charset=utf-8",
		                   "this server does not answer to that Host\n");
	else if ((fault = s_query_fault(connection, why, sizeof why)) != NULL)
		tf_http_reply_text(&reply, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8", fault);
	else if (post && self->body_max > 0) {
		if (!s_post_refused(self, connection, &reply, &want)) {
			/* want <= body_max <= TF_HTTP_BODY_MAX: bounded before this. */
			if ((body = malloc(sizeof *body + want + 1)) == NULL)
				return MHD_NO;
			body->want = want;
			body->got = 0;
			*state = body;
			return MHD_YES;
		}
	} else if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		tf_http_reply_text(&reply, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
		                   self->body_max > 0 ? "only GET, HEAD and POST are served here\n"
		                                      : "only GET and HEAD are served here\n");
	else if (s_has_body(connection))
		tf_http_reply_text(&reply, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8",
		                   "a GET takes no body\n");
	else
		self->handler(self->arg, &request, &reply);
	*upload_data_size = 0;
	return s_send(self, connection, method, url, &reply);
}

tf_http_t *
tf_http_new(const char *listen, tf_http_handler_fn *handler, void *arg, char *err,
            size_t errlen)
{
	return tf_http_start(listen, NULL, handler, arg, err, errlen);
}

/* Where the server listens, for the Host check. */
static void
s_note_address(tf_http_t *self, const struct sockaddr_storage *addr)
{
	self->family = addr->ss_family;
	if (addr->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;

		memcpy(self->address, a, 16);
		self->wildcard = IN6_IS_ADDR_UNSPECIFIED(a);
		self->loopback = IN6_IS_ADDR_LOOPBACK(a);
	} else {
		const struct in_addr *a = &((const struct sockaddr_in *)addr)->sin_addr;

		memcpy(self->address, a, 4);
		self->wildcard = a->s_addr == htonl(INADDR_ANY);
		self->loopback = (ntohl(a->s_addr) >> 24) == 127;
	}
}

tf_http_t *
tf_http_start(const char *listen, const tf_http_options_t *options, tf_http_handler_fn *handler,
              void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	pthread_condattr_t cattr;
	sigset_t all, old;
	tf_http_t *self;
	unsigned port, per_address = TF_HTTP_PER_ADDRESS;

	assert(listen != NULL && handler != NULL);
	if (s_parse_listen(listen, &addr, &addrlen, err, errlen) != 0)
		return NULL;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	self = calloc(1, sizeof *self);
	if (self == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	self->handler = handler;
	self->arg = arg;
	s_note_address(self, &addr);
	/* Known before the first request can come (port 0 is known only once
	 * bound, but then no client knows it either). */
	self->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
	                                              : ((struct sockaddr_in *)&addr)->sin_port);
	if (options != NULL && options->hosts != NULL) {
		self->check_host = true;
		for (size_t i = 0; options->hosts[i] != NULL; i++) {
			char name[HTTP_HOST_MAX];

			if (i == TF_HTTP_HOSTS_MAX || strlen(options->hosts[i]) >= HTTP_HOST_MAX
			    || s_split_host(options->hosts[i], name, sizeof name, &port) != 0) {
				snprintf(err, errlen, "host \"%.80s\": not NAME or NAME:PORT, or too many",
				         options->hosts[i]);
				free(self);
				return NULL;
			}
			snprintf(self->hosts[i], sizeof self->hosts[i], "%s", options->hosts[i]);
			self->nhosts = i + 1;
		}
	}
	if (options != NULL && options->per_address > TF_HTTP_CONNECTIONS_MAX) {
		snprintf(err, errlen, "at most %d connections per address", TF_HTTP_CONNECTIONS_MAX);
		free(self);
		return NULL;
	}
	if (options != NULL && options->per_address != 0)
		per_address = options->per_address;
	if (options != NULL && options->body_max > 0) {
		if (options->body_max > TF_HTTP_BODY_MAX || options->body_type == NULL
		    || strlen(options->body_type) >= sizeof self->body_type) {
			snprintf(err, errlen, "a POST body takes 1 to %d bytes of one media type",
			         TF_HTTP_BODY_MAX);
			free(self);
			return NULL;
		}
		self->body_max = options->body_max;
		snprintf(self->body_type, sizeof self->body_type, "%s", options->body_type);
	}
	pthread_mutex_init(&self->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&self->wake, &cattr);
	pthread_condattr_destroy(&cattr);
	/* The server's threads take no signals: the program's main thread
	 * waits for them (a signal caught by a serving thread would not wake
	 * its loop). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* The logger first, or libmicrohttpd complains on its own. */
	self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, s_answer, self,
	                                MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
	                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                                MHD_OPTION_THREAD_POOL_SIZE, (unsigned)TF_HTTP_THREADS,
	                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)TF_HTTP_CONNECTIONS_MAX,
	                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
	                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
	                                MHD_OPTION_NOTIFY_CONNECTION, s_notify_connection, self,
	                                MHD_OPTION_NOTIFY_COMPLETED, s_request_done, self,
	                                MHD_OPTION_END);
	if (self->daemon != NULL && pthread_create(&self->sweeper, NULL, s_sweep, self) == 0)
		self->sweeping = true;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (self->daemon == NULL || !self->sweeping) {
		snprintf(err, errlen, "could not listen on %s (address in use, or not this host's?)",
		         listen);
		tf_http_destroy(&self);
		return NULL;
	}
	if (self->port == 0) {
		info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
		self->port = info != NULL ? info->port : 0;
	}
	return self;
}

void
tf_http_destroy(tf_http_t **self_p)
{
	tf_http_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	if (self->sweeping) {
		pthread_mutex_lock(&self->lock);
		self->stopping = true;
		pthread_cond_signal(&self->wake);
		pthread_mutex_unlock(&self->lock);
		pthread_join(self->sweeper, NULL);
	}
	if (self->daemon != NULL)
		MHD_stop_daemon(self->daemon);
	pthread_cond_destroy(&self->wake);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}

unsigned
tf_http_port(const tf_http_t *self)
{
	return self->port;
}

const char *
tf_http_path(const tf_http_request_t *request)
{
	return request->path;
}

const char *
tf_http_method(const tf_http_request_t *request)
{
	return request->method;
}

const char *
tf_http_arg(const tf_http_request_t *request, const char *name)
{
	return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

void
tf_http_reply_text(tf_http_reply_t *reply, unsigned status, const char *content_type,
                   const char *text)
{
	reply->status = status;
	reply->content_type = content_type;
	reply->body = strdup(text);
	reply->length = reply->body != NULL ? strlen(reply->body) : 0;
	reply->body_static = false;
	if (reply->body == NULL)
		reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
}

void
tf_http_reply_static(tf_http_reply_t *reply, unsigned status, const char *content_type,
                     const void *data, size_t length)
{
	reply->status = status;
	reply->content_type = content_type;
	reply->body = (char *)data;
	reply->length = length;
	reply->body_static = true;
}

const char *
tf_http_header(const tf_http_request_t *request, const char *name)
{
	return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

const char *
tf_http_cookie(const tf_http_request_t *request, const char *name)
{
	return MHD_lookup_connection_value(request->connection, MHD_COOKIE_KIND, name);
}

const char *
tf_http_body(const tf_http_request_t *request, size_t *length)
{
	if (length != NULL)
		*length = request->body_length;
	return request->body;
}

const char *
tf_http_peer(const tf_http_request_t *request)
{
	return request->peer;
}
