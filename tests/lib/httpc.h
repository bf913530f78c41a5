/* The HTTP client harness of the C integration tests: one request to a
 * server on loopback with libcurl, the answer collected in memory. */
#ifndef PINWATCH_TEST_HTTPC_H
#define PINWATCH_TEST_HTTPC_H

#include <stddef.h>
#include <curl/curl.h>
#include <jansson.h>

struct httpc_resp {
	long status; /**< HTTP status, 0 when no answer came */
	char *body;  /**< NUL-terminated, NULL when empty */
	size_t len;
	char ctype[128]; /**< a few response headers, "" when absent */
	char allow[128];
	char nosniff[32];
	char csp[512];
	json_t *json; /**< the body parsed when the Content-Type is application/json */
	CURLcode cc;  /**< libcurl's result */
};

/**
 * @method @base@path (no proxy, TLS not verified: loopback only), with
 * @token as a bearer token when not NULL, @body (with Content-Type @ctype
 * when not NULL) and the extra header lines @hdrs (NULL-terminated, may be
 * NULL). Fills @r (free it with httpc_resp_free) and returns r->cc.
 */
CURLcode httpc_request(struct httpc_resp *r, const char *base, const char *method, const char *path,
		       const char *token, const char *ctype, const char *body,
		       const char *const *hdrs);
/** Free what @r holds and clear it. */
void httpc_resp_free(struct httpc_resp *r);

#endif
