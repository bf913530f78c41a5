/* The canonical serialisation of the inventory document (see invfile.h). */
#include "importers/invfile.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/inventory.h"
#include "base/strbuf.h"
#include "base/util.h"

/* ---- serialisation ------------------------------------------------------ */

char *invfile_fmt_interval(int64_t s, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { 604800, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (s > 0 && s % units[i].secs == 0) {
			snprintf(buf, len, "%" PRId64 "%c", s / units[i].secs, units[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRId64 "s", s);
	return buf;
}

/* set helpers: remember any failure so that one check at the end suffices */
static void put(json_t *o, const char *k, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, k, v))
		*bad = true;
}

static void add(json_t *a, json_t *v, bool *bad)
{
	if (!v || json_array_append_new(a, v))
		*bad = true;
}

static json_t *done(json_t *o, bool bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *invfile_policy_to_json(const struct pin_policy *p)
{
	bool bad = false;
	json_t *o = json_object(), *pins = json_array();
	char b64[48];
	if (!o || !pins) {
		json_decref(o);
		json_decref(pins);
		return NULL;
	}
	put(o, "pattern", json_string(p->pattern), &bad);
	put(o, "include_subdomains", json_boolean(p->include_subdomains), &bad);
	put(o, "enforce", json_boolean(p->enforce), &bad);
	if (p->expires[0])
		put(o, "expires", json_string(p->expires), &bad);
	for (size_t i = 0; i < p->npins; i++)
		add(pins,
		    json_pack("{ss ss}", "sha256", util_pin_b64(p->pins[i].sha256, b64), "role",
			      model_role_name(p->pins[i].role) ? model_role_name(p->pins[i].role)
							       : "current"),
		    &bad);
	put(o, "pins", pins, &bad);
	if (p->source && strcmp(p->source, "inventory") != 0)
		put(o, "source", json_string(p->source), &bad);
	if (p->noverride_anchors) {
		json_t *ov = json_array();
		for (size_t i = 0; ov && i < p->noverride_anchors; i++)
			add(ov, json_string(p->override_anchors[i]), &bad);
		put(o, "override_anchors", ov, &bad);
	}
	return done(o, bad);
}

json_t *invfile_version_to_json(const struct app_version *v)
{
	bool bad = false;
	json_t *o = json_object(), *ad = json_array(), *pp = json_array();
	if (!o || !ad || !pp) {
		json_decref(o);
		json_decref(ad);
		json_decref(pp);
		return NULL;
	}
	put(o, "version", json_string(v->version), &bad);
	if (v->released[0])
		put(o, "released", json_string(v->released), &bad);
	for (size_t i = 0; i < v->nadoption; i++) {
		const struct adoption_sample *s = &v->adoption[i];
		json_t *so = json_pack("{ss sf}", "at", s->at, "share", s->share);
		if (so && s->active_users >= 0)
			put(so, "active_users", json_integer(s->active_users), &bad);
		add(ad, so, &bad);
	}
	put(o, "adoption", ad, &bad);
	for (size_t i = 0; i < v->npolicies; i++)
		add(pp, invfile_policy_to_json(&v->policies[i]), &bad);
	put(o, "pin_policies", pp, &bad);
	return done(o, bad);
}

json_t *invfile_app_to_json(const struct app *a, bool with_versions)
{
	bool bad = false;
	json_t *o = json_object();
	if (!o)
		return NULL;
	put(o, "name", json_string(a->name), &bad);
	put(o, "platform",
	    json_string(model_platform_name(a->platform) ? model_platform_name(a->platform)
							 : "other"),
	    &bad);
	if (a->bundle_id)
		put(o, "bundle_id", json_string(a->bundle_id), &bad);
	put(o, "adoption_threshold", json_real(a->adoption_threshold), &bad);
	put(o, "failure_mode",
	    json_string(model_failure_mode_name(a->failure_mode)
				? model_failure_mode_name(a->failure_mode)
				: "terminate"),
	    &bad);
	if (with_versions) {
		json_t *vs = json_array();
		for (size_t i = 0; vs && i < a->nversions; i++)
			add(vs, invfile_version_to_json(&a->versions[i]), &bad);
		put(o, "versions", vs, &bad);
	}
	return done(o, bad);
}

json_t *invfile_endpoint_to_json(const struct endpoint *e)
{
	bool bad = false;
	char iv[32];
	json_t *o = json_object(), *tags = json_array();
	if (!o || !tags) {
		json_decref(o);
		json_decref(tags);
		return NULL;
	}
	put(o, "host", json_string(e->host), &bad);
	put(o, "port", json_integer(e->port), &bad);
	if (e->sni)
		put(o, "sni", json_string(e->sni), &bad);
	put(o, "environment", json_string(e->environment ? e->environment : "production"), &bad);
	if (e->owner)
		put(o, "owner", json_string(e->owner), &bad);
	for (size_t i = 0; i < e->ntags; i++)
		add(tags, json_string(e->tags[i]), &bad);
	put(o, "tags", tags, &bad);
	put(o, "third_party", json_boolean(e->third_party), &bad);
	put(o, "interval",
	    json_string(invfile_fmt_interval(
		    e->interval_s ? e->interval_s : INVENTORY_DEFAULT_INTERVAL, iv, sizeof(iv))),
	    &bad);
	put(o, "enabled", json_boolean(e->enabled), &bad);
	return done(o, bad);
}

json_t *invfile_to_json(const struct inventory *inv)
{
	bool bad = false;
	json_t *o = json_object(), *eps = json_array(), *apps = json_array();
	if (!o || !eps || !apps) {
		json_decref(o);
		json_decref(eps);
		json_decref(apps);
		return NULL;
	}
	for (size_t i = 0; i < inv->nendpoints; i++)
		add(eps, invfile_endpoint_to_json(&inv->endpoints[i]), &bad);
	put(o, "endpoints", eps, &bad);
	for (size_t i = 0; i < inv->napps; i++)
		add(apps, invfile_app_to_json(&inv->apps[i], true), &bad);
	put(o, "apps", apps, &bad);
	return done(o, bad);
}

char *invfile_dumps(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
	if (!s)
		return NULL;
	struct strbuf b;
	strbuf_init(&b, SIZE_MAX); /* the text is in memory already: no cap to keep */
	strbuf_addstr(&b, s);
	strbuf_addc(&b, '\n');
	free(s);
	return strbuf_take(&b, NULL);
}
