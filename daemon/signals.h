/*
 * signals: how every tallyfeed daemon hears SIGTERM and SIGINT.  The
 * handler only sets a flag; the loops look at it between units of work,
 * so a batch in hand is finished before the program stops.  CZMQ's own
 * handler is switched off so it cannot interrupt that.
 */
#ifndef TF_SIGNALS_H
#define TF_SIGNALS_H

#include <signal.h>

/* The flag SIGTERM and SIGINT set. */
extern volatile sig_atomic_t tf_stop_requested;
/* Set by SIGHUP: reload what can be reloaded; the daemon clears it. */
extern volatile sig_atomic_t tf_reload_requested;

/* Install the handlers (and ignore SIGPIPE). */
void tf_signals_install(void);

#endif
