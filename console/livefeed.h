/*
 * livefeed: tallyfeed-web's copy of the collectors' live feed.  Subscribes
 * to one or more collectors' PUB sockets (collector/feed.h for what they
 * publish) in a thread of its own, and keeps the last LIVEFEED_KEEP
 * summaries, each numbered in the order this process received them, for
 * the dashboard to show.  Counts what PUB dropped from the gaps in each
 * collector run's sequence numbers, as `tallyfeed feed` does.
 *
 * Nothing here is stored: the feed is a monitor, and the figures always
 * come from the database.  A collector that is down is simply not heard
 * until it is back (ZeroMQ reconnects by itself).
 */
#ifndef TF_LIVEFEED_H
#define TF_LIVEFEED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define LIVEFEED_KEEP 500               /* summaries kept, newest first out */
#define LIVEFEED_ENDPOINTS_MAX 64       /* collectors one process listens to */

typedef struct livefeed livefeed_t;

/* Listen to the feeds in endpoints, a comma-separated list of ZeroMQ
 * endpoints ("tcp://10.0.1.5:7402,tcp://10.0.2.5:7402").  NULL with the
 * reason in err if one is malformed or there are too many. */
livefeed_t *livefeed_new(const char *endpoints, char *err, size_t errlen);
void livefeed_destroy(livefeed_t **self_p);

/* The summaries numbered above after, newest first, at most limit, of
 * units under the area under (a 12-digit code, or NULL for all) and with
 * the verdict verdict (or NULL for all), as
 * {"sources", "received", "missed", "oldest", "more", "rows": [...]}:
 * received is the newest summary's number, oldest the oldest still kept
 * (0: none), more whether limit cut matching rows off, and each row is the
 * collector's summary with "n", its number here.  A poller that asks with
 * after = the received it saw, and sees more, or an oldest beyond it, has
 * not been shown everything.  NULL if out of memory. */
json_t *livefeed_json(livefeed_t *self, uint64_t after, const char *under,
                      const char *verdict, size_t limit);

#endif
