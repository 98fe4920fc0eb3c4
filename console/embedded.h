/*
 * embedded: files compiled into a program by cmake/embed.cmake at build
 * time, so that the program carries what it needs and finds nothing on
 * disk: the dashboard's HTML, CSS and JavaScript (console/web/) in
 * tallyfeed-web, the schema's migrations (deploy/sql/) in tallyfeed.
 */
#ifndef TF_EMBEDDED_H
#define TF_EMBEDDED_H

#include <stddef.h>

typedef struct {
	const char *path;               /* "/index.html", "0001_schema.sql" */
	const char *content_type;
	const unsigned char *data;      /* followed by a NUL byte: text is a C string */
	size_t length;                  /* without that NUL */
} embedded_file_t;

/* Each ends with an entry whose path is NULL; a program links only its
 * own.  web_assets: in tallyfeed-web, by path.  sql_migrations: in
 * tallyfeed, in the order of their names (their numbers). */
extern const embedded_file_t web_assets[];
extern const embedded_file_t sql_migrations[];
/* entry_assets: in tallyfeed-agent, the entry desk's page (agents/web/), by path. */
extern const embedded_file_t entry_assets[];

#endif
