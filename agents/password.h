/*
 * password: `tallyfeed-agent password`, which sets the entry desk's
 * password (login.h) in the spool directory: asked twice on the terminal,
 * not echoed, or read as one line from a descriptor (--fd N) for scripts.
 */
#ifndef TF_PASSWORD_H
#define TF_PASSWORD_H

/* argv: "password" [--fd N].  Returns the exit status: 0, 1 (not read, the
 * two differ, or not written), 2 (bad arguments). */
int password_command(const char *spool_dir, int argc, char **argv);

#endif
