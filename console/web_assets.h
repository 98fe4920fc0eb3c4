/*
 * web_assets: the dashboard's HTML, CSS and JavaScript (console/web/),
 * compiled into tallyfeed-web by cmake/embed.cmake at build time.
 */
#ifndef TF_WEB_ASSETS_H
#define TF_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
	const char *path;               /* "/index.html" */
	const char *content_type;
	const unsigned char *data;
	size_t length;
} web_asset_t;

/* Ends with an entry whose path is NULL. */
extern const web_asset_t web_assets[];

#endif
