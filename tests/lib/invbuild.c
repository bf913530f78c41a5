#include "invbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "invbuild: out of memory\n");
		abort();
	}
	return p;
}

static char *dup(const char *s)
{
	return must(strdup(s));
}

void *ib_grow(void *p, size_t n, size_t size)
{
	if (n >= SIZE_MAX / size - 1)
		must(NULL);
	char *q = must(realloc(p, (n + 1) * size));
	memset(q + n * size, 0, size);
	return q;
}

struct endpoint *ib_endpoint(struct inventory *inv, const char *host, const char *env)
{
	inv->endpoints = ib_grow(inv->endpoints, inv->nendpoints, sizeof(*inv->endpoints));
	struct endpoint *e = &inv->endpoints[inv->nendpoints++];
	e->host = dup(host);
	e->port = 443;
	e->environment = dup(env ? env : "production");
	e->enabled = true;
	return e;
}

struct app *ib_app_find(struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->napps; i++)
		if (strcmp(inv->apps[i].name, name) == 0)
			return &inv->apps[i];
	return NULL;
}

struct app *ib_app(struct inventory *inv, const char *name, double threshold)
{
	inv->apps = ib_grow(inv->apps, inv->napps, sizeof(*inv->apps));
	struct app *a = &inv->apps[inv->napps++];
	a->name = dup(name);
	a->adoption_threshold = threshold;
	return a;
}

struct app_version *ib_version_find(struct app *a, const char *version)
{
	for (size_t i = 0; i < a->nversions; i++)
		if (strcmp(a->versions[i].version, version) == 0)
			return &a->versions[i];
	return NULL;
}

struct app_version *ib_version(struct app *a, const char *version)
{
	a->versions = ib_grow(a->versions, a->nversions, sizeof(*a->versions));
	struct app_version *v = &a->versions[a->nversions++];
	v->version = dup(version);
	return v;
}

struct adoption_sample *ib_adoption(struct app_version *v, time_t at, double share)
{
	v->adoption = ib_grow(v->adoption, v->nadoption, sizeof(*v->adoption));
	struct adoption_sample *s = &v->adoption[v->nadoption++];
	s->at_time = at;
	util_fmt_date(at, s->at, sizeof(s->at));
	s->share = share;
	s->active_users = -1;
	return s;
}

struct pin_policy *ib_policy(struct app_version *v, const char *pattern, bool include_subdomains,
			     bool enforce, time_t expires_at)
{
	v->policies = ib_grow(v->policies, v->npolicies, sizeof(*v->policies));
	struct pin_policy *p = &v->policies[v->npolicies++];
	p->pattern = dup(pattern);
	p->include_subdomains = include_subdomains;
	p->enforce = enforce;
	p->source = dup("inventory");
	if (expires_at) {
		p->expires_at = expires_at;
		util_fmt_date(expires_at, p->expires, sizeof(p->expires));
	}
	return p;
}

struct pin *ib_pin(struct pin_policy *p, const uint8_t sha256[32], enum pin_role role)
{
	p->pins = ib_grow(p->pins, p->npins, sizeof(*p->pins));
	struct pin *pn = &p->pins[p->npins++];
	memcpy(pn->sha256, sha256, 32);
	pn->role = role;
	return pn;
}
