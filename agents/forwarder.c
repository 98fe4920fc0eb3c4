/*
 * forwarder: the running agent's send loop (see forwarder.h).
 */
#include "forwarder.h"
#include "inbox.h"
#include "rtt.h"
#include "service.h"
#include "envelope.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* The loop's longest sleep: how late a resend may be, and how soon a new
 * file in the inbox is seen (it must then settle).  An idle agent's CPU
 * time is mostly these wake-ups. */
#define TICK_MS 250
/* How often the spool is looked at for messages put there by another
 * process (`submit`): it is read only if it changed (spool_generation),
 * or if sendable messages were left in it; the loop's own events (an
 * inbox look, answers, a link up) read it at once. */
#define REFILL_MS 1000
/* The inbox is looked at when its directory changed (a name came or
 * went), when a file noted there has had time to settle, and at least
 * every INBOX_MS (a file rewritten in place does not change the
 * directory); never more often than every INBOX_MIN_MS, however busy the
 * directory. */
#define INBOX_MS 1000
#define INBOX_MIN_MS 100
#define ANSWERS_MAX 1024        /* acks recorded per spool transaction */
#define HEARTBEAT_RETRY_MS 1000 /* after a heartbeat that could not be sent */
/* What the DEALER's monitor reports: a link up (its CURVE handshake done)
 * or down. */
#define LINK_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)

/* A message in flight. */
typedef struct {
	int64_t sequence;
	char key[48];
	zframe_t *envelope;
	int sends;
	int64_t last_sent;      /* zclock_mono() of the latest send, for the round trip */
	int64_t due;            /* zclock_mono() when to send again */
	bool holds_key;         /* it is the one message in flight for its key */
} flight_t;

typedef struct {
	spool_t *spool;
	const forwarder_config_t *config;      /* the caller's; a reload rewrites it */
	zsock_t *dealer;
	zsock_t *link;          /* PAIR: the DEALER's monitor events (LINK_EVENTS) */
	bool greeted;           /* this link's first heartbeat has been tried */
	tf_inbox_t *inbox;
	zhashx_t *flights;      /* message id (hex) -> flight_t, owned */
	zhashx_t *busy_keys;    /* unit/committee in flight -> 1 */
	int64_t started;
	int64_t heartbeat_seq;
	int64_t next_heartbeat; /* zclock_mono() of the next heartbeat */
	int64_t next_gauges;
	uint64_t gauges_generation;     /* the spool's, when the gauges last read it */
	spool_stats_t gauges_stats;     /* what they read then */
	bool gauges_read;
	bool refill_due;        /* read the spool at the next turn: room, or new messages */
	bool backlog;           /* the last refill left sendable messages behind */
	uint64_t refill_generation;     /* the spool's, when it was last read for sending */
	rtt_t rtt;              /* the collector's answer time, for the wait before a resend */
	struct {                /* all NULL without config->metrics */
		tf_metric_t *sends, *retransmits, *heartbeats, *round_trip, *receipts_refused;
		tf_metric_t *acks[5];
		tf_metric_t *spool_depth, *oldest_pending, *in_flight;
	} m;
} forwarder_t;

#define GAUGES_MS 1000          /* how often the spool gauges are read */

static void
s_declare_metrics(forwarder_t *self, tf_metrics_t *metrics)
{
	static const double seconds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
		                          10, 30, 60 };
	char labels[48];

	if (metrics == NULL)
		return;
	self->m.sends = tf_metrics_declare(metrics, TF_COUNTER, "tallyfeed_agent_sends_total",
	    "Messages sent to the collector for the first time.", NULL, NULL, 0);
	self->m.retransmits = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_agent_retransmits_total",
	    "Messages sent again (the same bytes) because their answer was overdue.", NULL, NULL, 0);
	for (int v = TF_VERDICT_FIRST; v <= TF_VERDICT_LAST; v++) {
		snprintf(labels, sizeof labels, "verdict=\"%s\"", tf_verdict_word((Tallyfeed__Verdict)v));
		self->m.acks[v] = tf_metrics_declare(metrics, TF_COUNTER, "tallyfeed_agent_acks_total",
		    "Answers from the collector to messages in flight, by verdict.", labels, NULL, 0);
	}
	self->m.receipts_refused = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_agent_receipts_refused_total",
	    "Answers not taken: no receipt, or one not signed by the collector's key, or not of "
	    "the message sent, or not of the verdict given.", NULL, NULL, 0);
	self->m.heartbeats = tf_metrics_declare(metrics, TF_COUNTER,
	    "tallyfeed_agent_heartbeats_sent_total", "Heartbeats sent.", NULL, NULL, 0);
	self->m.round_trip = tf_metrics_declare(metrics, TF_HISTOGRAM,
	    "tallyfeed_agent_round_trip_seconds",
	    "From a message's latest send to the collector's answer (after its commit).", NULL,
	    seconds, sizeof seconds / sizeof seconds[0]);
	self->m.spool_depth = tf_metrics_declare(metrics, TF_GAUGE, "tallyfeed_agent_spool_depth",
	    "Messages in the spool not yet answered (pending and in flight).", NULL, NULL, 0);
	self->m.oldest_pending = tf_metrics_declare(metrics, TF_GAUGE,
	    "tallyfeed_agent_oldest_pending_seconds",
	    "Age of the oldest unanswered message in the spool (0 when none).", NULL, NULL, 0);
	self->m.in_flight = tf_metrics_declare(metrics, TF_GAUGE, "tallyfeed_agent_in_flight",
	    "Messages sent and awaiting their answer.", NULL, NULL, 0);
}

/* Refresh the gauges once a second; the spool's counts are read again
 * only when it changed (counting them reads the whole table). */
static void
s_gauges(forwarder_t *self)
{
	const spool_stats_t *stats = &self->gauges_stats;
	int64_t now = zclock_mono();
	uint64_t generation;

	if (self->m.spool_depth == NULL || now < self->next_gauges)
		return;
	self->next_gauges = now + GAUGES_MS;
	tf_metric_set(self->m.in_flight, (double)zhashx_size(self->flights));
	generation = spool_generation(self->spool);
	if (!self->gauges_read || generation != self->gauges_generation) {
		if (spool_stats(self->spool, &self->gauges_stats) != 0)
			return;
		self->gauges_read = true;
		self->gauges_generation = generation;
	}
	tf_metric_set(self->m.spool_depth, (double)(stats->pending + stats->in_flight));
	tf_metric_set(self->m.oldest_pending, stats->oldest_pending_ms
	              ? (double)(tf_now_ms() - stats->oldest_pending_ms) / 1000.0 : 0.0);
}

/* The wait after a flight's latest send. */
static int64_t
s_wait(const forwarder_t *self, int sends)
{
	return rtt_wait(&self->rtt, sends, self->config->timeout_ms, self->config->retry_max_ms);
}

static void
s_flight_destroy(void **item)
{
	flight_t *f = *item;

	if (f != NULL) {
		zframe_destroy(&f->envelope);
		free(f);
	}
	*item = NULL;
}

/* Put more of the spool in flight, in sequence order, up to the window. */
static int
s_refill(forwarder_t *self)
{
	spool_msg_t *msgs = NULL;
	int64_t *sent = NULL;
	size_t nsent = 0;
	int n, rc = 0;
	size_t room, max;

	self->backlog = false;
	/* Taken before the read: a change after it is read next time. */
	self->refill_generation = spool_generation(self->spool);
	/* A link's first message is its heartbeat (see s_link_events). */
	if (!self->greeted)
		return 0;
	/* A reload may have narrowed the window below what is in flight. */
	if (zhashx_size(self->flights) >= (size_t)self->config->window)
		return 0;
	room = (size_t)self->config->window - zhashx_size(self->flights);
	/* Read a little past the window: some may be in flight already, or
	 * wait behind an earlier message for the same unit. */
	max = room + zhashx_size(self->flights) + 64;
	n = spool_unanswered(self->spool, 0, max, &msgs);
	if (n < 0) {
		self->backlog = true;
		return -1;
	}
	/* As many as it asked for: there may be more behind. */
	self->backlog = (size_t)n == max;
	sent = calloc((size_t)n + 1, sizeof *sent);
	for (int i = 0; i < n && room > 0 && sent != NULL; i++) {
		char hex[2 * TF_MESSAGE_ID_LEN + 1];
		zframe_t *copy;
		flight_t *f;

		tf_message_id_hex(msgs[i].message_id, TF_MESSAGE_ID_LEN, hex);
		if (zhashx_lookup(self->flights, hex) != NULL)
			continue;
		if (zhashx_lookup(self->busy_keys, msgs[i].key) != NULL) {
			/* Hold back a later message for a unit whose earlier one is
			 * unanswered; mark the key so later ones wait too. */
			continue;
		}
		copy = zframe_dup(msgs[i].envelope);
		if (zframe_send(&copy, self->dealer, ZFRAME_DONTWAIT) != 0) {
			zframe_destroy(&copy);
			self->backlog = true;
			break;          /* not connected: the collector is away */
		}
		f = calloc(1, sizeof *f);
		if (f == NULL) {
			rc = -1;
			break;
		}
		f->sequence = msgs[i].sequence;
		snprintf(f->key, sizeof f->key, "%s", msgs[i].key);
		f->envelope = msgs[i].envelope;
		msgs[i].envelope = NULL;
		f->sends = 1;
		f->last_sent = zclock_mono();
		f->due = f->last_sent + s_wait(self, 1);
		if (self->m.sends != NULL)
			tf_metric_add(self->m.sends, 1);
		zhashx_insert(self->flights, hex, f);
		zhashx_update(self->busy_keys, f->key, (void *)1);
		f->holds_key = true;
		sent[nsent++] = f->sequence;
		room--;
	}
	/* Unsent messages for a unit already waiting must not overtake it in
	 * a later refill either: busy_keys only clears on an answer. */
	if (nsent > 0)
		spool_note_sent(self->spool, sent, nsent, tf_now_ms());
	free(sent);
	spool_msgs_free(&msgs, (size_t)(n > 0 ? n : 0));
	return rc;
}

/* Send again whatever is overdue; the wait doubles up to retry_max_ms.  A
 * flight's due time is set at its send; if answers have grown slower
 * since, it is put off to what the estimate says now (due 0: at once,
 * on a new link). */
static void
s_retransmit(forwarder_t *self)
{
	int64_t now = zclock_mono();
	int64_t sent[256];
	size_t nsent = 0;

	if (!self->greeted)
		return;
	for (flight_t *f = zhashx_first(self->flights); f != NULL; f = zhashx_next(self->flights)) {
		int64_t wait, later;
		zframe_t *copy;

		if (f->due > now)
			continue;
		later = f->last_sent + s_wait(self, f->sends);
		if (f->due != 0 && later > now) {
			f->due = later;
			continue;
		}
		copy = zframe_dup(f->envelope);
		if (zframe_send(&copy, self->dealer, ZFRAME_DONTWAIT) != 0) {
			zframe_destroy(&copy);
			f->due = now + self->config->timeout_ms;
			continue;
		}
		wait = s_wait(self, f->sends + 1);
		f->due = now + wait;
		f->last_sent = now;
		f->sends++;
		if (self->m.retransmits != NULL)
			tf_metric_add(self->m.retransmits, 1);
		log_debug("message %lld unanswered; sent again (%d sends)", (long long)f->sequence,
		          f->sends);
		if (nsent < sizeof sent / sizeof sent[0])
			sent[nsent++] = f->sequence;
	}
	if (nsent > 0)
		spool_note_sent(self->spool, sent, nsent, tf_now_ms());
}

/* The receipt in an answer to f's message: signed by the collector whose
 * certificate the agent holds, of these very envelope bytes, and of this
 * verdict.  0 with it in fields, or -1 with why. */
static int
s_receipt_taken(const forwarder_t *self, const tf_ack_t *ack, const flight_t *f,
                tf_receipt_fields_t *fields, char *why, size_t whylen)
{
	if (ack->receipt == NULL) {
		snprintf(why, whylen, "it carries no receipt (is the collector older than this "
		         "agent?)");
		return -1;
	}
	if (tf_receipt_fields(ack->receipt, fields, why, whylen) != 0)
		return -1;
	return tf_receipt_check_answer(fields, self->config->collector, ack,
	                               zframe_data(f->envelope), zframe_size(f->envelope), why,
	                               whylen);
}

/* Read every ack waiting; record them in one spool transaction. */
static int
s_take_acks(forwarder_t *self)
{
	static spool_answer_t answers[ANSWERS_MAX];
	size_t count = 0;
	zframe_t *frame;

	while (count < ANSWERS_MAX && (frame = zframe_recv_nowait(self->dealer)) != NULL) {
		tf_ack_t *ack = tf_ack_decode(zframe_data(frame), zframe_size(frame));
		char hex[2 * TF_MESSAGE_ID_LEN + 1];
		flight_t *f;

		zframe_destroy(&frame);
		if (ack == NULL) {
			log_warnx("collector sent something that is not an Ack");
			continue;
		}
		if (ack->message_id.len != TF_MESSAGE_ID_LEN) {
			/* A heartbeat's answer, or a refusal of something unreadable. */
			tf_ack_destroy(&ack);
			continue;
		}
		tf_message_id_hex(ack->message_id.data, TF_MESSAGE_ID_LEN, hex);
		f = zhashx_lookup(self->flights, hex);
		/* Karn: only a message sent once says how long one answer takes. */
		if (f != NULL && f->sends == 1 && ack->verdict >= 1 && ack->verdict <= 4)
			rtt_sample(&self->rtt, zclock_mono() - f->last_sent);
		if (f != NULL && self->m.round_trip != NULL && ack->verdict >= 1 && ack->verdict <= 4) {
			tf_metric_add(self->m.acks[ack->verdict], 1);
			tf_metric_observe(self->m.round_trip,
			                  (double)(zclock_mono() - f->last_sent) / 1000.0);
		}
		if (f != NULL && ack->verdict == TALLYFEED__VERDICT__VERDICT_DEFERRED) {
			/* Not stored: send it again when its doubled wait is up.  A
			 * runoff whose round 1 is not stored lets the next message
			 * for its unit go meanwhile (it may be that round 1); over
			 * the rate limit, the unit's order holds. */
			log_debug("message %lld deferred by the collector: %s: %s",
			          (long long)f->sequence, tf_reason_name(ack->reason), ack->detail);
			if (f->holds_key
			    && ack->reason == TALLYFEED__REASON__REASON_RUNOFF_WITHOUT_ROUND1) {
				zhashx_delete(self->busy_keys, f->key);
				f->holds_key = false;
			}
		} else if (f != NULL && ack->verdict != TALLYFEED__VERDICT__VERDICT_UNSPECIFIED) {
			spool_answer_t *a = &answers[count];
			char why[256];

			if (s_receipt_taken(self, ack, f, &a->receipt, why, sizeof why) != 0) {
				log_warnx("message %lld: the collector's answer %s is not taken: %s; "
				          "the message stays in the spool and is sent again",
				          (long long)f->sequence, tf_verdict_name(ack->verdict), why);
				if (self->m.receipts_refused != NULL)
					tf_metric_add(self->m.receipts_refused, 1);
				tf_ack_destroy(&ack);
				continue;
			}
			a->has_receipt = true;
			count++;

			memcpy(a->message_id, ack->message_id.data, TF_MESSAGE_ID_LEN);
			a->state = ack->verdict == TALLYFEED__VERDICT__VERDICT_ACCEPTED ? SPOOL_ACCEPTED
			         : ack->verdict == TALLYFEED__VERDICT__VERDICT_DUPLICATE ? SPOOL_DUPLICATE
			         : SPOOL_REJECTED;
			a->reason = ack->reason;
			snprintf(a->detail, sizeof a->detail, "%s", ack->detail);
			if (a->state == SPOOL_REJECTED)
				log_info("message %lld rejected: %s: %s", (long long)f->sequence,
				         tf_reason_name(ack->reason), ack->detail);
		}
		tf_ack_destroy(&ack);
	}
	if (count == 0)
		return 0;
	/* Only once the answers are on disk do we forget the flights: a crash
	 * before this sends them again and hears DUPLICATE. */
	if (spool_commit_answers(self->spool, answers, count, tf_now_ms()) != 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		char hex[2 * TF_MESSAGE_ID_LEN + 1];
		flight_t *f;

		tf_message_id_hex(answers[i].message_id, TF_MESSAGE_ID_LEN, hex);
		f = zhashx_lookup(self->flights, hex);
		if (f == NULL)
			continue;
		if (f->holds_key)
			zhashx_delete(self->busy_keys, f->key);
		zhashx_delete(self->flights, hex);
	}
	return 0;
}

/* Send a heartbeat; false if it could not go (not connected yet). */
static bool
s_heartbeat(forwarder_t *self)
{
	Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
	spool_stats_t stats;
	uint8_t id[TF_MESSAGE_ID_LEN];
	zframe_t *frame;
	int64_t now = tf_now_ms();

	if (spool_stats(self->spool, &stats) != 0)
		return false;
	hb.spool_depth = (uint32_t)(stats.pending + stats.in_flight);
	hb.oldest_pending_age_s = stats.oldest_pending_ms
	                          ? (uint32_t)((now - stats.oldest_pending_ms) / 1000) : 0;
	hb.last_acked_sequence = (uint64_t)stats.last_acked_sequence;
	hb.software_version = (char *)"tallyfeed-agent 0.1";
	hb.uptime_s = (uint64_t)((zclock_mono() - self->started) / 1000);
	tf_message_id_new(id);
	/* Heartbeats are not spooled: a lost one is replaced by the next. */
	frame = tf_envelope_build(self->config->agent_id, 0, id, now,
	                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT, &hb.base,
	                          self->config->identity);
	if (frame == NULL)
		return false;
	if (zframe_send(&frame, self->dealer, ZFRAME_DONTWAIT) != 0) {
		zframe_destroy(&frame);
		return false;
	}
	if (self->m.heartbeats != NULL)
		tf_metric_add(self->m.heartbeats, 1);
	return true;
}

/* Close the DEALER and its monitor. */
static void
s_disconnect(forwarder_t *self)
{
	if (self->dealer != NULL)
		zmq_socket_monitor(zsock_resolve(self->dealer), NULL, 0);
	zsock_destroy(&self->link);
	zsock_destroy(&self->dealer);
}

/* The DEALER to the collector, by the current settings, and the PAIR that
 * hears its monitor. */
static int
s_connect(forwarder_t *self)
{
	const forwarder_config_t *config = self->config;
	char monitor[64];

	self->dealer = zsock_new(ZMQ_DEALER);
	if (self->dealer == NULL)
		return -1;
	/* CURVE: the link is encrypted, and the collector admits this agent
	 * only if its public key is enrolled. */
	tf_identity_apply(config->identity, self->dealer);
	zsock_set_curve_serverkey(self->dealer, config->collector_key);
	/* IMMEDIATE: while the collector is away, a send fails at once rather
	 * than piling up in ZeroMQ's queue; the spool is the queue. */
	zsock_set_immediate(self->dealer, 1);
	zsock_set_linger(self->dealer, 0);
	zsock_set_maxmsgsize(self->dealer, TF_MESSAGE_MAX);
	zsock_set_reconnect_ivl(self->dealer, 100);
	zsock_set_reconnect_ivl_max(self->dealer, 5000);
	/* The monitor says when the CURVE handshake is done, so the first
	 * heartbeat goes at that moment rather than on a retry a second later. */
	snprintf(monitor, sizeof monitor, "inproc://tf-agent-link-%p", (void *)self);
	if (zmq_socket_monitor(zsock_resolve(self->dealer), monitor, LINK_EVENTS) != 0
	    || (self->link = zsock_new_pair(monitor)) == NULL) {
		log_warnx("could not watch the link to %s: %s", config->endpoint,
		          zmq_strerror(zmq_errno()));
		goto fail;
	}
	self->greeted = false;
	if (zsock_connect(self->dealer, "%s", config->endpoint) != 0) {
		log_warnx("could not connect to %s: %s", config->endpoint, zmq_strerror(zmq_errno()));
		goto fail;
	}
	return 0;
fail:
	s_disconnect(self);
	return -1;
}

/* Read the link's monitor events.  A link just up gets the heartbeat at
 * once, before any result (so the collector knows the agent's state when
 * its results arrive); a link down waits for the next handshake.  True if
 * a link came up. */
static bool
s_link_events(forwarder_t *self)
{
	bool up = false;
	zmsg_t *event;

	while ((event = zmsg_recv_nowait(self->link)) != NULL) {
		zframe_t *head = zmsg_first(event);
		uint16_t what = 0;

		/* libzmq's event: a 16-bit event number and a 32-bit value, then
		 * the endpoint. */
		if (head != NULL && zframe_size(head) >= sizeof what)
			memcpy(&what, zframe_data(head), sizeof what);
		zmsg_destroy(&event);
		if (what == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			if (s_heartbeat(self))
				self->next_heartbeat = zclock_mono() + self->config->heartbeat_ms;
			self->greeted = up = true;
		} else if (what == ZMQ_EVENT_DISCONNECTED)
			self->greeted = false;
	}
	return up;
}

/* SIGHUP: new settings, or the old ones if the new are unsound. */
static void
s_reload(forwarder_t *self, forwarder_config_t *config, zpoller_t **poller)
{
	forwarder_config_t fresh = *config;
	char err[1024];
	bool relink;

	tf_service_reloading();
	if (config->reload == NULL || config->reload(config->reload_arg, &fresh, err, sizeof err) != 0) {
		log_warnx("reload: %s; keeping the settings in force",
		          config->reload == NULL ? "nothing to reload from" : err);
		tf_service_ready("forwarding");
		return;
	}
	relink = strcmp(fresh.endpoint, config->endpoint) != 0
	         || strcmp(fresh.collector_key, config->collector_key) != 0;
	*config = fresh;
	if (relink) {
		/* A new collector, or a new key for it: a new link.  What was in
		 * flight goes again on it (the same bytes; a DUPLICATE at worst). */
		zpoller_destroy(poller);
		s_disconnect(self);
		if (s_connect(self) != 0
		    || (*poller = zpoller_new(self->dealer, self->link, NULL)) == NULL)
			fatalx("reload: could not connect to %s", config->endpoint);
		for (flight_t *f = zhashx_first(self->flights); f != NULL;
		     f = zhashx_next(self->flights))
			f->due = 0;
	}
	log_info("reload: window %d, timeout %d ms, retry max %d ms, heartbeat %d ms, "
	         "collector %s%s", config->window, config->timeout_ms, config->retry_max_ms,
	         config->heartbeat_ms, config->endpoint, relink ? " (new link)" : "");
	tf_service_ready("forwarding");
}

/* After a reload: the inbox it names now (or none), or the old one if the
 * new one is unsound. */
static void
s_inbox_follow(forwarder_t *self)
{
	const char *dir = self->config->inbox;
	tf_inbox_t *fresh;
	char err[1024];

	if (dir == NULL) {
		tf_inbox_destroy(&self->inbox);
		return;
	}
	if (self->inbox != NULL && strcmp(tf_inbox_dir(self->inbox), dir) == 0)
		return;
	fresh = tf_inbox_new(dir, self->spool, self->config, err, sizeof err);
	if (fresh == NULL) {
		log_warnx("reload: inbox: %s; keeping %s", err,
		          self->inbox != NULL ? tf_inbox_dir(self->inbox) : "none");
		return;
	}
	tf_inbox_destroy(&self->inbox);
	self->inbox = fresh;
}

int
forwarder_run(spool_t *spool, forwarder_config_t *config, volatile sig_atomic_t *stop,
              volatile sig_atomic_t *reload)
{
	forwarder_t self = { .spool = spool, .config = config, .refill_due = true,
		             .rtt = RTT_INIT };
	zpoller_t *poller = NULL;
	int64_t next_refill = 0, next_inbox = 0, last_look = 0;
	char err[1024];
	int rc = -1;

	self.started = zclock_mono();
	s_declare_metrics(&self, config->metrics);
	self.flights = zhashx_new();
	self.busy_keys = zhashx_new();
	if (self.flights == NULL || self.busy_keys == NULL)
		goto out;
	if (config->inbox != NULL) {
		/* queued/ and refused/ unsound: say so and do not start. */
		self.inbox = tf_inbox_new(config->inbox, spool, config, err, sizeof err);
		if (self.inbox == NULL) {
			log_warnx("inbox: %s", err);
			goto out;
		}
	}
	zhashx_set_destructor(self.flights, s_flight_destroy);
	zhashx_set_duplicator(self.flights, NULL);
	zhashx_set_destructor(self.busy_keys, NULL);
	zhashx_set_duplicator(self.busy_keys, NULL);
	if (s_connect(&self) != 0)
		goto out;
	poller = zpoller_new(self.dealer, self.link, NULL);
	if (poller == NULL)
		goto out;
	log_info("agent %s forwarding to %s%s%s", config->agent_id, config->endpoint,
	         config->inbox ? ", inbox " : "", config->inbox ? config->inbox : "");
	tf_service_ready("forwarding");
	while (!*stop) {
		int64_t now = zclock_mono();
		void *ready;
		int wait;

		if (*reload) {
			*reload = 0;
			s_reload(&self, config, &poller);
			s_inbox_follow(&self);
			self.next_heartbeat = 0;
			self.refill_due = true;
		}
		if (self.inbox != NULL
		    && (now >= next_inbox
		        || (now >= last_look + INBOX_MIN_MS && tf_inbox_changed(self.inbox)))) {
			int64_t due = tf_inbox_scan(self.inbox, now);

			/* Due at once when files were left for want of room in
			 * this look: the loop turns (acks, heartbeats) between. */
			last_look = now;
			next_inbox = due < now + INBOX_MS ? due : now + INBOX_MS;
			self.refill_due = true;
		}
		if (!self.refill_due && now >= next_refill) {
			self.refill_due = self.backlog
			                  || spool_generation(self.spool) != self.refill_generation;
			next_refill = now + REFILL_MS;
		}
		if (self.refill_due) {
			self.refill_due = false;
			if (s_refill(&self) != 0)
				log_warnx("could not read the spool; trying again");
		}
		s_retransmit(&self);
		s_gauges(&self);
		if (config->metrics != NULL)
			tf_metrics_alive(config->metrics);
		tf_service_alive();
		if (now >= self.next_heartbeat) {
			/* Not connected (the link's handshake sends one at once), or
			 * the queue full: try again soon.  One that goes greets the
			 * link too, should its monitor event have been missed. */
			bool sent = s_heartbeat(&self);

			if (sent && !self.greeted)
				self.refill_due = true;
			self.greeted = self.greeted || sent;
			self.next_heartbeat = now + (sent ? config->heartbeat_ms : HEARTBEAT_RETRY_MS);
		}
		/* Wake for the inbox's next look when it is due before a tick. */
		wait = TICK_MS;
		if (self.inbox != NULL) {
			int64_t until = next_inbox - zclock_mono();

			if (until < wait)
				wait = until > 0 ? (int)until : 0;
		}
		ready = zpoller_wait(poller, wait);
		if (ready == self.dealer) {
			if (s_take_acks(&self) != 0)
				log_warnx("could not record answers in the spool; they will be asked again");
			self.refill_due = true; /* room in the window: fill it now */
		}
		/* Any wake by a socket (the poller names only the first ready):
		 * an idle turn, woken by the clock, has no event to read. */
		if (ready != NULL && s_link_events(&self))
			self.refill_due = true; /* the heartbeat went: the results follow */
	}
	tf_service_stopping();
	log_info("stopping; %zu messages in flight stay in the spool", zhashx_size(self.flights));
	rc = 0;
out:
	zpoller_destroy(&poller);
	s_disconnect(&self);
	zhashx_destroy(&self.flights);
	zhashx_destroy(&self.busy_keys);
	tf_inbox_destroy(&self.inbox);
	return rc;
}
