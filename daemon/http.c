/*
 * http: tallyfeed's read-only HTTP pages on libmicrohttpd (see http.h).
 */
#include "http.h"
#include "log.h"

#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HTTP_CONNECTIONS_MAX 64         /* at once; more are refused */
#define HTTP_IDLE_TIMEOUT_S 30          /* an idle connection is closed after */
#define HTTP_LISTEN_MAX 300             /* bytes in ADDRESS:PORT */

struct tf_http {
	struct MHD_Daemon *daemon;
	tf_http_handler_fn *handler;
	void *arg;
	unsigned port;
};

struct tf_http_request {
	struct MHD_Connection *connection;
	const char *method;
	const char *path;
};

/* libmicrohttpd's own complaints (a refused connection, a bad request line)
 * go to our log, as one line each. */
static void
s_mhd_log(void *arg, const char *fmt, va_list ap)
{
	char line[512];
	char *nl;

	(void)arg;
	vsnprintf(line, sizeof line, fmt, ap);
	while ((nl = strchr(line, '\n')) != NULL)
		*nl = nl[1] == '\0' ? '\0' : ' ';
	log_info("http: %s", line);
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

static enum MHD_Result
s_answer(void *arg, struct MHD_Connection *connection, const char *url, const char *method,
         const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
	static int first_call;
	tf_http_t *self = arg;
	tf_http_request_t request = { connection, method, url };
	tf_http_reply_t reply;
	struct MHD_Response *response;
	enum MHD_Result rc;
	bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

	(void)version;
	(void)upload_data;
	/* libmicrohttpd calls once for the headers, then for any body: answer
	 * on the first call, before a body is read. */
	if (*state == NULL)
		*state = &first_call;
	memset(&reply, 0, sizeof reply);
	if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		tf_http_reply_text(&reply, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
		                   "only GET and HEAD are served here\n");
	else if (*upload_data_size != 0)
		tf_http_reply_text(&reply, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8",
		                   "a GET takes no body\n");
	else
		self->handler(self->arg, &request, &reply);
	*upload_data_size = 0;
	if (reply.body == NULL && reply.length == 0)
		reply.body_static = true;
	response = MHD_create_response_from_buffer(reply.length, reply.body,
	                                           reply.body_static ? MHD_RESPMEM_PERSISTENT
	                                                             : MHD_RESPMEM_MUST_FREE);
	if (response == NULL) {
		if (!reply.body_static)
			free(reply.body);
		return MHD_NO;
	}
	if (reply.status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (reply.content_type != NULL)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
	                        reply.cache_control != NULL ? reply.cache_control : "no-store");
	/* Nothing here is meant to be framed, sniffed or to load from elsewhere. */
	MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(response, "X-Frame-Options", "DENY");
	MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(response, "Content-Security-Policy",
	                        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	log_debug("http: %s %s -> %u (%zu bytes)", method, url, reply.status, reply.length);
	rc = MHD_queue_response(connection, reply.status, response);
	MHD_destroy_response(response);
	return rc;
}

tf_http_t *
tf_http_new(const char *listen, tf_http_handler_fn *handler, void *arg, char *err,
            size_t errlen)
{
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	tf_http_t *self;

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
	/* The logger first, or libmicrohttpd complains on its own. */
	self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, s_answer, self,
	                                MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
	                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
	                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
	                                MHD_OPTION_END);
	if (self->daemon == NULL) {
		snprintf(err, errlen, "could not listen on %s (address in use, or not this host's?)",
		         listen);
		free(self);
		return NULL;
	}
	info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
	self->port = info != NULL ? info->port : 0;
	return self;
}

void
tf_http_destroy(tf_http_t **self_p)
{
	tf_http_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	MHD_stop_daemon(self->daemon);
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
