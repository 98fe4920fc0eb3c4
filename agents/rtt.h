/*
 * rtt: how long the collector takes to answer, and so how long to wait
 * before sending a message again.  The estimator of RFC 6298 (TCP's
 * retransmission timer): a smoothed round trip and its variation, fed
 * only with the answers to messages sent once (Karn: the answer to a
 * message sent twice may be to either copy).
 *
 * The wait is never shorter than the configured timeout_ms (its floor)
 * nor longer than retry_max_ms.  On election night a collector busy with
 * a whole province answers in seconds, not milliseconds; a fixed wait
 * shorter than that sends every message again, and the copies add to the
 * load that made the answers slow.
 */
#ifndef TF_RTT_H
#define TF_RTT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
	bool measured;          /* at least one sample */
	int64_t srtt8;          /* smoothed round trip, in eighths of a ms */
	int64_t rttvar4;        /* its mean deviation, in quarters of a ms */
} rtt_t;

#define RTT_INIT { false, 0, 0 }

/* One round trip of a message sent once, in milliseconds (< 0 is taken as 0). */
void rtt_sample(rtt_t *self, int64_t ms);

/* The wait after a message's sends-th send (1 for the first): the
 * estimate (srtt + 4 rttvar), at least floor_ms, doubled for each send
 * after the first, and at most cap_ms. */
int64_t rtt_wait(const rtt_t *self, int sends, int64_t floor_ms, int64_t cap_ms);

#endif
