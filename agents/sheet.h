/*
 * sheet: the posting sheet (公示) of an accepted result — an A4 page of
 * HTML for the browser's print, in Chinese, loading nothing: the unit,
 * committee, round and revision, the figures and the candidates with
 * those elected, when the county's collector received it (its receipt's
 * time), and a QR code (libqrencode, drawn as inline SVG) of the
 * province's check page with what daemon/posting.h says it carries.
 * Anyone who scans it can see whether the province counts exactly what
 * was posted.
 */
#ifndef TF_SHEET_H
#define TF_SHEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "spool.h"

/* The sheet of message sequence, with its QR code pointing at check_url
 * (the province's check page, http:// or https://): an owned
 * NUL-terminated HTML text (free) and *len.  NULL with why: 1 in *status
 * if the message has no sheet (not stored, no receipt, no such message),
 * -1 if something failed.  registry may be NULL (no names then). */
char *sheet_render(spool_t *spool, int64_t sequence, const char *check_url,
                   const tf_registry_t *registry, size_t *len, int *status, char *why,
                   size_t whylen);

/* The check URL of message sequence's sheet (what its QR code holds), into
 * out.  0, 1 or -1 as sheet_render's status, with why. */
int sheet_check_url(spool_t *spool, int64_t sequence, const char *check_url, char *out,
                    size_t outlen, char *why, size_t whylen);

/* The Content-Security-Policy a sheet is served with: nothing loaded,
 * no script, its one inline style allowed by its hash. */
const char *sheet_content_policy(void);

/* `tallyfeed-agent sheet SEQUENCE [--out FILE.html] [--check-url URL]
 * [--url-only]` (argv[0] "sheet"): the sheet, or only its check URL.
 * check_url is agent/check_url or NULL.  Returns the exit status. */
int sheet_command(spool_t *spool, const tf_registry_t *registry, const char *check_url,
                  int argc, char **argv);

/* A check URL the sheet may print: http:// or https://, printable ASCII,
 * no quote, "<", ">", "?" or "#" (the sheet adds the query). */
bool sheet_check_url_valid(const char *url);

#endif
