#include "model/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void model_policy_free(struct pin_policy *p)
{
	if (!p)
		return;
	free(p->pattern);
	free(p->source);
	free(p->pins);
	for (size_t i = 0; i < p->noverride_anchors; i++)
		free(p->override_anchors[i]);
	free(p->override_anchors);
	memset(p, 0, sizeof(*p));
}

void model_version_free(struct app_version *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->npolicies; i++)
		model_policy_free(&v->policies[i]);
	free(v->policies);
	free(v->adoption);
	free(v->version);
	memset(v, 0, sizeof(*v));
}

void model_app_free(struct app *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nversions; i++)
		model_version_free(&a->versions[i]);
	free(a->versions);
	free(a->name);
	free(a->bundle_id);
	memset(a, 0, sizeof(*a));
}

void model_endpoint_free(struct endpoint *e)
{
	if (!e)
		return;
	free(e->host);
	free(e->sni);
	free(e->environment);
	free(e->owner);
	for (size_t i = 0; i < e->ntags; i++)
		free(e->tags[i]);
	free(e->tags);
	memset(e, 0, sizeof(*e));
}

void model_inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->nendpoints; i++)
		model_endpoint_free(&inv->endpoints[i]);
	free(inv->endpoints);
	for (size_t i = 0; i < inv->napps; i++)
		model_app_free(&inv->apps[i]);
	free(inv->apps);
	memset(inv, 0, sizeof(*inv));
}

static const char *const role_names[] = { "current", "backup" };
static const char *const platform_names[] = { "android", "ios", "other" };
static const char *const failure_names[] = { "log", "message", "redirect", "terminate" };

#define NAME_OF(tbl, v) ((unsigned)(v) < sizeof(tbl) / sizeof(tbl[0]) ? tbl[v] : NULL)

const char *model_role_name(enum pin_role r)
{
	return NAME_OF(role_names, r);
}

const char *model_platform_name(enum app_platform p)
{
	return NAME_OF(platform_names, p);
}

const char *model_failure_mode_name(enum failure_mode m)
{
	return NAME_OF(failure_names, m);
}

static int lookup(const char *const *tbl, size_t n, const char *s, int *out)
{
	for (size_t i = 0; s && i < n; i++) {
		if (strcmp(tbl[i], s) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

int model_parse_role(const char *s, enum pin_role *out)
{
	int v;
	if (lookup(role_names, 2, s, &v))
		return -EINVAL;
	*out = (enum pin_role)v;
	return 0;
}

int model_parse_platform(const char *s, enum app_platform *out)
{
	int v;
	if (lookup(platform_names, 3, s, &v))
		return -EINVAL;
	*out = (enum app_platform)v;
	return 0;
}

int model_parse_failure_mode(const char *s, enum failure_mode *out)
{
	int v;
	if (lookup(failure_names, 4, s, &v))
		return -EINVAL;
	*out = (enum failure_mode)v;
	return 0;
}

int model_normalize_host(char *host)
{
	size_t len = strlen(host);
	if (len && host[len - 1] == '.')
		host[--len] = '\0';
	if (len == 0 || len > 253)
		return -EINVAL;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];
		if (c >= 'A' && c <= 'Z')
			host[i] = c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -EINVAL;
		if (++label > 63)
			return -EINVAL;
	}
	return label ? 0 : -EINVAL;
}

int model_normalize_pattern(char *pattern)
{
	size_t skip = 0;
	if (strncmp(pattern, "**.", 3) == 0)
		skip = 3;
	else if (strncmp(pattern, "*.", 2) == 0)
		skip = 2;
	char *rest = pattern + skip;
	if (strchr(rest, '*'))
		return -EINVAL;
	if (model_normalize_host(rest))
		return -EINVAL;
	/* A wildcard needs at least a registrable-looking remainder ("*.com" is refused). */
	if (skip && !strchr(rest, '.'))
		return -EINVAL;
	return 0;
}

const struct adoption_sample *model_latest_adoption(const struct app_version *v, time_t at)
{
	const struct adoption_sample *best = NULL;
	for (size_t i = 0; i < v->nadoption; i++) {
		if (v->adoption[i].at_time <= at &&
		    (!best || v->adoption[i].at_time >= best->at_time))
			best = &v->adoption[i];
	}
	return best;
}
