/*
 * rtt: the retransmission wait (see rtt.h).  Fixed-point as in RFC 6298's
 * usual implementation: srtt in eighths, rttvar in quarters of a
 * millisecond, so alpha = 1/8 and beta = 1/4 are shifts.
 */
#include "rtt.h"

#include <assert.h>
#include <stddef.h>

void
rtt_sample(rtt_t *self, int64_t ms)
{
	int64_t delta;

	assert(self != NULL);
	if (ms < 0)
		ms = 0;
	if (!self->measured) {
		self->srtt8 = ms << 3;
		self->rttvar4 = (ms / 2) << 2;
		self->measured = true;
		return;
	}
	/* rttvar = 3/4 rttvar + 1/4 |srtt - r|; srtt = 7/8 srtt + 1/8 r */
	delta = ms - (self->srtt8 >> 3);
	self->srtt8 += delta;
	if (delta < 0)
		delta = -delta;
	self->rttvar4 += delta - (self->rttvar4 >> 2);
}

int64_t
rtt_wait(const rtt_t *self, int sends, int64_t floor_ms, int64_t cap_ms)
{
	int64_t wait = floor_ms;

	assert(self != NULL && sends >= 1 && floor_ms > 0 && cap_ms > 0);
	if (self->measured) {
		int64_t estimate = (self->srtt8 >> 3) + self->rttvar4;   /* srtt + 4 rttvar */

		if (estimate > wait)
			wait = estimate;
	}
	for (int i = 1; i < sends && wait < cap_ms; i++)
		wait <<= 1;
	return wait < cap_ms ? wait : cap_ms;
}
