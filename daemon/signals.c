/*
 * signals: SIGTERM and SIGINT set a flag (see signals.h).
 */
#include "signals.h"

#include <czmq.h>
#include <string.h>

volatile sig_atomic_t tf_stop_requested;
volatile sig_atomic_t tf_reload_requested;

static void
s_on_signal(int sig)
{
	if (sig == SIGHUP)
		tf_reload_requested = 1;
	else
		tf_stop_requested = 1;
}

void
tf_signals_install(void)
{
	struct sigaction sa;

	zsys_handler_set(NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = s_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
