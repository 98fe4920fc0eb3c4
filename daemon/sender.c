/*
 * sender: windowed, retransmitting delivery of envelopes (see sender.h).
 */
#include "sender.h"
#include "log.h"

#include <assert.h>
#include <string.h>

typedef struct {
	int sends;              /* times sent so far */
	int64_t due;            /* zclock_mono() when to send again */
} flight_t;

static int
s_send(zsock_t *dealer, sender_item_t *item, flight_t *flight, const sender_config_t *config)
{
	zframe_t *copy = zframe_dup(item->frame);

	if (copy == NULL || zframe_send(&copy, dealer, 0) != 0) {
		zframe_destroy(&copy);
		return -1;
	}
	flight->due = zclock_mono() + ((int64_t)config->timeout_ms << (flight->sends < 10 ? flight->sends : 10));
	flight->sends++;
	return 0;
}

/* Match an ack to its item by message id; ignore strays (late answers to
 * an earlier send of a message already answered). */
static void
s_take_ack(zframe_t *frame, sender_item_t *items, const flight_t *flights, size_t count,
           size_t *answered, bool any)
{
	tf_ack_t *ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));

	if (ack == NULL) {
		log_warnx("collector sent something that is not an Ack (%zu bytes)", zframe_size(frame));
		return;
	}
	for (size_t i = 0; i < count; i++) {
		sender_item_t *item = &items[i];
		/* sends == 0: not sent yet, or given up and already counted. */
		if (item->answered || flights[i].sends == 0)
			continue;
		/* Alone on its connection, it is what the collector answered. */
		if (!(any && count == 1)
		    && (ack->message_id.len != TF_MESSAGE_ID_LEN
		        || memcmp(ack->message_id.data, item->message_id, TF_MESSAGE_ID_LEN) != 0))
			continue;
		if (ack->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED)
			break;          /* not looked at: it goes again when due */
		item->answered = true;
		item->verdict = ack->verdict;
		item->reason = ack->reason;
		snprintf(item->detail, sizeof item->detail, "%s", ack->detail);
		(*answered)++;
		break;
	}
	tf_ack_destroy(&ack);
}

int
sender_deliver(const char *endpoint, const sender_config_t *config, sender_item_t *items,
               size_t count)
{
	zsock_t *dealer = NULL;
	zpoller_t *poller = NULL;
	flight_t *flights = NULL;
	size_t next = 0, answered = 0, given_up = 0;
	int in_flight = 0, rc = -1;

	assert(endpoint != NULL && config != NULL && config->window > 0);
	flights = calloc(count ? count : 1, sizeof *flights);
	dealer = zsock_new(ZMQ_DEALER);
	if (flights == NULL || dealer == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	zsock_set_linger(dealer, 0);
	zsock_set_maxmsgsize(dealer, TF_MESSAGE_MAX);
	if (config->identity != NULL) {
		assert(config->server_key != NULL);
		tf_identity_apply(config->identity, dealer);
		zsock_set_curve_serverkey(dealer, config->server_key);
	}
	if (zsock_connect(dealer, "%s", endpoint) != 0) {
		log_warnx("could not connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
		goto out;
	}
	poller = zpoller_new(dealer, NULL);
	if (poller == NULL)
		goto out;

	while (answered + given_up < count) {
		int64_t now = zclock_mono(), wait = 1000;

		if (config->deadline != 0 && now >= config->deadline)
			break;          /* what is unanswered is said so by the caller */
		if (config->deadline != 0 && config->deadline - now < wait)
			wait = config->deadline - now;

		/* Fill the window. */
		while (in_flight < config->window && next < count) {
			if (s_send(dealer, &items[next], &flights[next], config) != 0) {
				log_warnx("could not send: %s", zmq_strerror(zmq_errno()));
				goto out;
			}
			next++;
			in_flight++;
		}
		/* Resend what is overdue; give up on what has had its retries. */
		for (size_t i = 0; i < next; i++) {
			if (items[i].answered || flights[i].sends == 0)
				continue;
			if (flights[i].due <= now) {
				if (flights[i].sends > config->retries) {
					flights[i].sends = 0;   /* marks "given up" */
					given_up++;
					in_flight--;
					continue;
				}
				log_debug("no answer yet for message %zu; sending again (send %d)",
				          i + 1, flights[i].sends + 1);
				if (s_send(dealer, &items[i], &flights[i], config) != 0)
					goto out;
			}
			if (flights[i].due - now < wait)
				wait = flights[i].due - now;
		}
		if (answered + given_up == count)
			break;
		if (zpoller_wait(poller, (int)(wait > 0 ? wait : 0)) == dealer) {
			zframe_t *frame;
			while ((frame = zframe_recv_nowait(dealer)) != NULL) {
				size_t before = answered;
				s_take_ack(frame, items, flights, count, &answered,
				           config->any_answer);
				zframe_destroy(&frame);
				if (answered > before)
					in_flight--;
			}
		} else if (zpoller_terminated(poller))
			goto out;
	}
	rc = 0;
out:
	zpoller_destroy(&poller);
	zsock_destroy(&dealer);
	free(flights);
	return rc;
}
