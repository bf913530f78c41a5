#include "httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct httpc_resp *r = ud;
	size_t add = sz * n;
	char *b = realloc(r->body, r->len + add + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, p, add);
	r->len += add;
	b[r->len] = 0;
	r->body = b;
	return add;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name);
	if (n > k + 1 && strncasecmp(line, name, k) == 0 && line[k] == ':') {
		const char *v = line + k + 1;
		while (*v == ' ')
			v++;
		size_t vl = n - (size_t)(v - line);
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		snprintf(out, outlen, "%.*s", (int)vl, v);
	}
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct httpc_resp *r = ud;
	header_value(p, sz * n, "Content-Type", r->ctype, sizeof(r->ctype));
	header_value(p, sz * n, "Allow", r->allow, sizeof(r->allow));
	header_value(p, sz * n, "X-Content-Type-Options", r->nosniff, sizeof(r->nosniff));
	header_value(p, sz * n, "Content-Security-Policy", r->csp, sizeof(r->csp));
	return sz * n;
}

void httpc_resp_free(struct httpc_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* "@name: @value" appended to @h; @h unchanged when the line does not fit. */
static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (n < 0 || (size_t)n >= sizeof(line))
		return h;
	struct curl_slist *nh = curl_slist_append(h, line);
	return nh ? nh : h;
}

CURLcode httpc_request(struct httpc_resp *r, const char *base, const char *method, const char *path,
		       const char *token, const char *ctype, const char *body,
		       const char *const *hdrs)
{
	char url[2048];
	memset(r, 0, sizeof(*r));
	int n = snprintf(url, sizeof(url), "%s%s", base, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return r->cc = CURLE_URL_MALFORMAT;
	CURL *c = curl_easy_init();
	if (!c)
		return r->cc = CURLE_FAILED_INIT;
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	if (token) {
		char auth[512];
		n = snprintf(auth, sizeof(auth), "Bearer %s", token);
		if (n > 0 && (size_t)n < sizeof(auth))
			h = add_header(h, "Authorization", auth);
	}
	if (ctype)
		h = add_header(h, "Content-Type", ctype);
	for (size_t i = 0; hdrs && hdrs[i]; i++) {
		struct curl_slist *nh = curl_slist_append(h, hdrs[i]);
		h = nh ? nh : h;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	r->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->body && strncmp(r->ctype, "application/json", 16) == 0)
		r->json = json_loads(r->body, 0, NULL);
	return r->cc;
}
