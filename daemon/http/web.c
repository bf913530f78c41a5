#include "http/web.h"

#include <stdio.h>
#include <string.h>

const struct web_asset *web_find(const char *path)
{
	char want[128];
	if (!path || path[0] != '/')
		return NULL;
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	/* pages are linked without the extension: /endpoint?id=3 */
	if (!strchr(path, '.') && strchr(path + 1, '/') == NULL) {
		if (snprintf(want, sizeof(want), "%s.html", path) >= (int)sizeof(want))
			return NULL;
		path = want;
	}
	for (const struct web_asset *a = web_assets; a->path; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}
