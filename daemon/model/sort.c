#include "model/sort.h"

#include <stdlib.h>
#include <string.h>

int model_version_cmp(const char *a, const char *b)
{
	const char *p = a, *q = b;
	while (*p && *q) {
		if (*p >= '0' && *p <= '9' && *q >= '0' && *q <= '9') {
			while (*p == '0')
				p++;
			while (*q == '0')
				q++;
			size_t lp = 0, lq = 0;
			while (p[lp] >= '0' && p[lp] <= '9')
				lp++;
			while (q[lq] >= '0' && q[lq] <= '9')
				lq++;
			if (lp != lq)
				return lp < lq ? -1 : 1;
			int c = memcmp(p, q, lp);
			if (c)
				return c < 0 ? -1 : 1;
			p += lp;
			q += lq;
			continue;
		}
		if (*p != *q)
			return (unsigned char)*p < (unsigned char)*q ? -1 : 1;
		p++;
		q++;
	}
	if (*p || *q)
		return *p ? 1 : -1;
	int c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}

int model_endpoint_cmp(const void *x, const void *y)
{
	const struct endpoint *a = x, *b = y;
	int c = strcmp(a->host, b->host);
	return c ? c : (a->port > b->port) - (a->port < b->port);
}

int model_app_cmp(const void *x, const void *y)
{
	return strcmp(((const struct app *)x)->name, ((const struct app *)y)->name);
}

int model_app_version_cmp(const void *x, const void *y)
{
	return model_version_cmp(((const struct app_version *)x)->version,
				 ((const struct app_version *)y)->version);
}

int model_sample_cmp(const void *x, const void *y)
{
	return strcmp(((const struct adoption_sample *)x)->at,
		      ((const struct adoption_sample *)y)->at);
}

int model_policy_cmp(const void *x, const void *y)
{
	const struct pin_policy *a = x, *b = y;
	int c = strcmp(a->pattern, b->pattern);
	return c ? c : (int)a->include_subdomains - (int)b->include_subdomains;
}

int model_pin_key_cmp(const void *x, const void *y)
{
	return memcmp(((const struct pin *)x)->sha256, ((const struct pin *)y)->sha256, 32);
}

static int pin_cmp(const void *x, const void *y)
{
	const struct pin *a = x, *b = y;
	if (a->role != b->role)
		return a->role == PIN_CURRENT ? -1 : 1;
	return model_pin_key_cmp(x, y);
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

void model_sort_version(struct app_version *v)
{
	if (v->nadoption > 1)
		qsort(v->adoption, v->nadoption, sizeof(*v->adoption), model_sample_cmp);
	if (v->npolicies > 1)
		qsort(v->policies, v->npolicies, sizeof(*v->policies), model_policy_cmp);
	for (size_t i = 0; i < v->npolicies; i++)
		if (v->policies[i].npins > 1)
			qsort(v->policies[i].pins, v->policies[i].npins, sizeof(struct pin),
			      pin_cmp);
}

void model_sort_app(struct app *a)
{
	if (a->nversions > 1)
		qsort(a->versions, a->nversions, sizeof(*a->versions), model_app_version_cmp);
	for (size_t i = 0; i < a->nversions; i++)
		model_sort_version(&a->versions[i]);
}

void model_sort_tags(struct endpoint *e)
{
	if (e->ntags > 1)
		qsort(e->tags, e->ntags, sizeof(char *), str_cmp);
}

void model_sort_inventory(struct inventory *inv)
{
	if (inv->nendpoints > 1)
		qsort(inv->endpoints, inv->nendpoints, sizeof(*inv->endpoints), model_endpoint_cmp);
	for (size_t i = 0; i < inv->nendpoints; i++)
		model_sort_tags(&inv->endpoints[i]);
	if (inv->napps > 1)
		qsort(inv->apps, inv->napps, sizeof(*inv->apps), model_app_cmp);
	for (size_t i = 0; i < inv->napps; i++)
		model_sort_app(&inv->apps[i]);
}
