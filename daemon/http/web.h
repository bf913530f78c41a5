/* Dashboard assets embedded at build time from web/. */
#ifndef PINWATCH_WEB_H
#define PINWATCH_WEB_H

#include <stddef.h>

struct web_asset {
	const char *path; /**< "/index.html" */
	const char *mime;
	const unsigned char *data;
	size_t size;
};
/** Terminated by an entry with path NULL. */
extern const struct web_asset web_assets[];

/**
 * The asset served at URL path @path ("/" is "/index.html"; "/endpoint" is
 * "/endpoint.html"), or NULL. Points into static data.
 */
const struct web_asset *web_find(const char *path);

#endif
