/* A seeded pinwatch HTTP server for the browser test and the benchmark:
 *   http_fixture_server DIR [EXTRA_ENDPOINTS] [public|private]
 * creates DIR/db.sqlite, seeds it (http_fixture.c), listens on 127.0.0.1:0,
 * prints "PORT <n>" and, for private, "TOKEN <read token>", then serves
 * until stdin closes. */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "store/db.h"
#include "http/http.h"
#include "http_fixture.h"
#include "store/plans.h"
#include "store/tokens.h"
#include "base/util.h"

int main(int argc, char **argv)
{
	char err[ERRLEN], path[1024], tok[TOKEN_LEN] = "", wtok[TOKEN_LEN] = "";
	struct fixture_ids ids;
	long long extra = 0;
	if (argc < 2 || (argc > 2 && util_parse_int(argv[2], 0, 1000000, &extra))) {
		fprintf(stderr, "usage: %s DIR [EXTRA_ENDPOINTS] [public|private]\n", argv[0]);
		return 2;
	}
	bool public_read = argc <= 3 || strcmp(argv[3], "private") != 0;
	gnutls_global_init();
	snprintf(path, sizeof(path), "%s/db.sqlite", argv[1]);
	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db || fixture_seed(db, (size_t)extra, &ids) ||
	    tokens_create(db, "reader", TOKEN_READ, "fixture", tok, sizeof(tok), err,
			  sizeof(err)) ||
	    tokens_create(db, "writer", TOKEN_WRITE, "fixture", wtok, sizeof(wtok), err,
			  sizeof(err))) {
		fprintf(stderr, "seeding failed: %s\n", err);
		return 3;
	}
	/* A rotation plan for the plan pages; its note is hostile text. */
	struct plan p = { .port = 443 };
	uint8_t key[1][32];
	util_parse_pin(ids.pin_leaf, key[0], err, sizeof(err));
	key[0][0] ^= 0x5a; /* a key nobody presents yet */
	p.host = strdup("api.example.test");
	p.note = strdup(FIXTURE_XSS_CN);
	p.keys = malloc(32);
	if (!p.host || !p.note || !p.keys)
		return 3;
	memcpy(p.keys[0], key[0], 32);
	p.nkeys = 1;
	if (plans_add(db, "fixture", &p, err, sizeof(err))) {
		fprintf(stderr, "seeding a plan failed: %s\n", err);
		return 3;
	}
	struct config c;
	config_defaults(&c);
	snprintf(c.http_listen, sizeof(c.http_listen), "127.0.0.1:0");
	c.http_public_read = public_read;
	c.http_max_connections = 1024;
	c.http_per_ip_connections = 1024;
	struct http *h = http_new(&c, path, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "http_new: %s\n", err);
		return 3;
	}
	http_note_scheduler_alive(h, util_now());
	printf("PORT %d\nAPI_ENDPOINT %lld\nXSS_ENDPOINT %lld\nAPP %lld\nPLAN %lld\nWTOKEN %s\n"
	       "TOKEN %s\n",
	       http_port(h), (long long)ids.endpoint_api, (long long)ids.endpoint_xss,
	       (long long)ids.app, (long long)p.id, wtok, tok);
	plan_free(&p);
	fflush(stdout);
	char buf[256];
	while (fgets(buf, sizeof(buf), stdin))
		;
	http_free(h);
	db_close(db);
	gnutls_global_deinit();
	return 0;
}
