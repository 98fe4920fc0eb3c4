/*
 * livefeed: tallyfeed-web's copy of the collectors' live feed (see
 * livefeed.h).  The SUB socket lives in a zactor; the ring of summaries is
 * shared with the http thread under a mutex, and the http thread only ever
 * takes copies out of it.
 */
#include "livefeed.h"
#include "feedseq.h"
#include "log.h"
#include "registry.h"

#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX 16384               /* bytes in one summary */
#define ENDPOINT_MAX 256                /* bytes in one endpoint */

struct livefeed {
	zactor_t *actor;
	zsock_t *sub;                   /* owned by the actor once it runs */
	json_t *sources;                /* the endpoints, as a JSON array */
	tf_feedseq_t *seqs;             /* the actor's alone */
	pthread_mutex_t lock;           /* guards what follows */
	json_t *ring[LIVEFEED_KEEP];    /* summary n sits at (n - 1) % KEEP */
	uint64_t received;              /* summaries received; the newest's n */
	uint64_t missed;                /* summaries PUB dropped for us */
};

/* One message off the SUB socket into the ring. */
static void
s_take(livefeed_t *self)
{
	zmsg_t *msg = zmsg_recv(self->sub);
	char *topic = NULL, *text = NULL;
	json_t *body = NULL, *old;
	uint64_t gap, n, missed;

	if (msg == NULL)
		return;
	topic = zmsg_popstr(msg);
	text = zmsg_popstr(msg);
	zmsg_destroy(&msg);
	/* A collector's signed chain head (collector/feed.h): not a summary. */
	if (topic != NULL && strncmp(topic, "head ", 5) == 0)
		goto out;
	if (text != NULL && strlen(text) <= SUMMARY_MAX)
		body = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(body) || json_integer_value(json_object_get(body, "seq")) < 1
	    || json_integer_value(json_object_get(body, "run")) < 1) {
		log_warnx("feed: a message that is not a summary (topic \"%.40s\"): ignored",
		          topic != NULL ? topic : "");
		goto out;
	}
	gap = tf_feedseq_note(self->seqs, json_integer_value(json_object_get(body, "run")),
	                      json_integer_value(json_object_get(body, "seq")));
	missed = tf_feedseq_missed(self->seqs);
	pthread_mutex_lock(&self->lock);
	n = self->received + 1;
	self->missed = missed;
	json_object_set_new(body, "n", json_integer((json_int_t)n));
	old = self->ring[(n - 1) % LIVEFEED_KEEP];
	self->ring[(n - 1) % LIVEFEED_KEEP] = body;
	self->received = n;
	pthread_mutex_unlock(&self->lock);
	body = NULL;
	json_decref(old);
	if (gap > 0)
		log_warnx("feed: missed %llu summaries (%llu in all): too slow for the feed",
		          (unsigned long long)gap, (unsigned long long)missed);
out:
	json_decref(body);
	zstr_free(&topic);
	zstr_free(&text);
}

static void
s_actor(zsock_t *pipe, void *arg)
{
	livefeed_t *self = arg;
	zpoller_t *poller = zpoller_new(pipe, self->sub, NULL);

	if (poller == NULL)
		log_warnx("feed: out of memory; the live feed is not listened to");
	zsock_signal(pipe, 0);
	while (poller != NULL) {
		void *which = zpoller_wait(poller, -1);

		if (which == self->sub)
			s_take(self);
		else if (which == pipe) {
			char *command = zstr_recv(pipe);
			int term = command == NULL || strcmp(command, "$TERM") == 0;

			zstr_free(&command);
			if (term)
				break;
		} else if (zpoller_terminated(poller))
			break;
	}
	zpoller_destroy(&poller);
}

livefeed_t *
livefeed_new(const char *endpoints, char *err, size_t errlen)
{
	livefeed_t *self = calloc(1, sizeof *self);
	char *list = NULL, *next, *endpoint;
	size_t count = 0;

	assert(endpoints != NULL);
	if (self == NULL || (list = strdup(endpoints)) == NULL
	    || (self->sources = json_array()) == NULL || (self->seqs = tf_feedseq_new()) == NULL
	    || (self->sub = zsock_new(ZMQ_SUB)) == NULL) {
		snprintf(err, errlen, "feed: out of memory");
		goto fail;
	}
	pthread_mutex_init(&self->lock, NULL);
	zsock_set_subscribe(self->sub, "");
	zsock_set_linger(self->sub, 0);
	/* Refuse a bigger message before it is read (the peer is dropped). */
	zsock_set_maxmsgsize(self->sub, SUMMARY_MAX + 256);
	for (next = list; (endpoint = strsep(&next, ",")) != NULL;) {
		endpoint += strspn(endpoint, " \t");
		endpoint[strcspn(endpoint, " \t")] = '\0';
		if (*endpoint == '\0') {
			snprintf(err, errlen, "feed: an empty endpoint in \"%.200s\"", endpoints);
			goto fail_locked;
		}
		if (strlen(endpoint) > ENDPOINT_MAX || ++count > LIVEFEED_ENDPOINTS_MAX) {
			snprintf(err, errlen, "feed: at most %d endpoints of %d bytes each",
			         LIVEFEED_ENDPOINTS_MAX, ENDPOINT_MAX);
			goto fail_locked;
		}
		/* Connecting does not wait for the collector: this only fails
		 * for an endpoint ZeroMQ cannot parse. */
		if (zsock_connect(self->sub, "%s", endpoint) != 0) {
			snprintf(err, errlen, "feed: \"%s\" is no endpoint to connect to: %s", endpoint,
			         zmq_strerror(zmq_errno()));
			goto fail_locked;
		}
		json_array_append_new(self->sources, json_string(endpoint));
	}
	free(list);
	list = NULL;
	/* From here the socket is the actor's (handed over behind
	 * zactor_new's handshake). */
	if ((self->actor = zactor_new(s_actor, self)) == NULL) {
		snprintf(err, errlen, "feed: could not start its thread");
		goto fail_locked;
	}
	return self;
fail_locked:
	pthread_mutex_destroy(&self->lock);
fail:
	free(list);
	if (self != NULL) {
		zsock_destroy(&self->sub);
		json_decref(self->sources);
		tf_feedseq_destroy(&self->seqs);
		free(self);
	}
	return NULL;
}

void
livefeed_destroy(livefeed_t **self_p)
{
	livefeed_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	zactor_destroy(&self->actor);       /* $TERM, and waits for the thread */
	zsock_destroy(&self->sub);
	for (size_t i = 0; i < LIVEFEED_KEEP; i++)
		json_decref(self->ring[i]);
	json_decref(self->sources);
	tf_feedseq_destroy(&self->seqs);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}

/* Is the summary of a unit (or, for a message refused before its unit
 * was known, of a sender's township) under the area of prefix? */
static int
s_under(json_t *row, const char *under, size_t prefix)
{
	const char *code = json_string_value(json_object_get(row, "unit"));

	if (code == NULL || !tf_code_valid(code))
		code = json_string_value(json_object_get(row, "township"));
	return code != NULL && strncmp(code, under, prefix) == 0;
}

json_t *
livefeed_json(livefeed_t *self, uint64_t after, const char *under, const char *verdict,
              size_t limit)
{
	json_t *rows = json_array();
	size_t prefix = under != NULL ? tf_code_prefix_len(under) : 0;
	uint64_t received, missed, oldest;
	int more = 0;

	assert(under == NULL || tf_code_valid(under));
	if (rows == NULL)
		return NULL;
	pthread_mutex_lock(&self->lock);
	received = self->received;
	missed = self->missed;
	oldest = received > LIVEFEED_KEEP ? received - LIVEFEED_KEEP : 0;
	for (uint64_t n = received; n > after && n > oldest; n--) {
		json_t *row = self->ring[(n - 1) % LIVEFEED_KEEP];
		const char *word = json_string_value(json_object_get(row, "verdict"));

		if (under != NULL && !s_under(row, under, prefix))
			continue;
		if (verdict != NULL && (word == NULL || strcmp(word, verdict) != 0))
			continue;
		if (json_array_size(rows) == limit) {
			more = 1;
			break;
		}
		/* A copy: the ring's own may be replaced once we let go. */
		json_array_append_new(rows, json_deep_copy(row));
	}
	pthread_mutex_unlock(&self->lock);
	return json_pack("{s:O, s:I, s:I, s:I, s:b, s:o}", "sources", self->sources,
	                 "received", (json_int_t)received,
	                 "missed", (json_int_t)(missed > INT64_MAX ? INT64_MAX : missed),
	                 "oldest", (json_int_t)(received > oldest ? oldest + 1 : 0),
	                 "more", more, "rows", rows);
}
