/* libFuzzer harness: request routing and JSON body parsing.
 * Input: "METHOD PATH[?QUERY]\n" then the body. Every route is looked up;
 * bodies are parsed as the server does; read-only routes are dispatched
 * against a small seeded database so that parameters and query values reach
 * the handlers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/api.h"
#include "store/db.h"
#include "base/util.h"

static struct db *db;
static struct api_ctx ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char path[64], err[ERRLEN];
	snprintf(path, sizeof(path), "/tmp/fuzz_http_route.%d.db", (int)getpid());
	unlink(path);
	db = db_open(path, 0, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "fuzz_http_route: %s\n", err);
		abort();
	}
	db_exec(db,
		"INSERT INTO endpoints (host, port, created_at, updated_at) VALUES ('a.example', "
		"443, 0, 0);"
		"INSERT INTO endpoint_tags VALUES (1, 'api');"
		"INSERT INTO apps (name, platform, created_at, updated_at) VALUES ('x', 'ios', 0, "
		"0);"
		"INSERT INTO versions (app_id, version, created_at) VALUES (1, '1.0', 0);",
		err, sizeof(err));
	api_ctx_init(&ctx, true);
	unlink(path); /* the open connection keeps it alive */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_req req;
	char line[API_PATH_MAX + 16], query[API_PATH_MAX];
	const char *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - (const char *)data) : size;
	if (n >= sizeof(line))
		return 0;
	memcpy(line, data, n);
	line[n] = 0;
	const char *body = nl ? nl + 1 : NULL;
	size_t bodylen = nl ? size - n - 1 : 0;

	memset(&req, 0, sizeof(req));
	req.ctx = &ctx;
	req.db = db;
	req.role = TOKEN_READ;
	char *sp = strchr(line, ' ');
	if (!sp)
		return 0;
	*sp = 0;
	req.method = line;
	char *q = strchr(sp + 1, '?');
	if (q) {
		*q++ = 0;
		snprintf(query, sizeof(query), "%s", q);
		for (char *save = NULL, *kv = strtok_r(query, "&", &save);
		     kv && req.nquery < API_MAX_QUERY; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			if (eq)
				*eq++ = 0;
			req.qkey[req.nquery] = kv;
			req.qval[req.nquery++] = eq ? eq : "";
		}
	}
	snprintf(req.path, sizeof(req.path), "%s", sp + 1);

	int status = 0;
	char allow[128];
	const struct api_route *r = api_route_find(&req, &status, allow, sizeof(allow));
	json_t *j = NULL;
	if (bodylen && api_parse_body(&req, body, bodylen, &j) == 0) {
		char *s = json_dumps(j, JSON_COMPACT);
		free(s);
	}
	if (r && strcmp(req.method, "GET") == 0 && api_route_access(r) <= API_READ) {
		json_decref(req.json);
		req.json = NULL;
		req.body = j;
		api_dispatch(r, &req);
	}
	json_decref(j);
	json_decref(req.json);
	free(req.text);
	return 0;
}
