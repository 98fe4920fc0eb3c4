/* placeholder replaced below */
#include "console.h"
int console_verify(PGconn *conn, zconfig_t *config, int argc, char **argv) { (void)conn; (void)config; (void)argc; (void)argv; return CONSOLE_FAILED; }
