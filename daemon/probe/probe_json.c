/* JSON of probe results (CLI output, the API). */
#include "probe/probe.h"

#include "base/util.h"

json_t *probe_cert_json(const struct x509_cert_info *c)
{
	char nb[32], na[32], fp[65], b64[48], hx[65];
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:s, s:s}", "subject",
		c->subject ? c->subject : "", "issuer", c->issuer ? c->issuer : "", "serial",
		c->serial, "not_before", util_fmt_time(c->not_before, nb, sizeof(nb)), "not_after",
		util_fmt_time(c->not_after, na, sizeof(na)), "key_type", c->key_type, "key_bits",
		(json_int_t)c->key_bits, "is_ca", c->is_ca, "sha256", util_hex(c->sha256, 32, fp),
		"pin", util_pin_b64(c->spki_pin, b64), "pin_hex", util_hex(c->spki_pin, 32, hx));
}

static json_t *chain_json(const struct x509_chain *ch)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ch->n; i++) {
		json_t *o = probe_cert_json(&ch->certs[i]);
		if (!o || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *probe_result_json(const struct probe_result *r)
{
	char at[32];
	json_t *o =
		json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:I, s:s}", "address", r->address,
			  "port", (json_int_t)r->port, "variant", probe_variant_name(r->variant),
			  "outcome", r->outcome, "detail", r->detail, "at",
			  util_fmt_time(r->at, at, sizeof(at)), "truncated", r->truncated,
			  "duration_ms", (json_int_t)r->duration_ms, "tls_version", r->tls_version);
	if (!o)
		return NULL;
	if (r->handshake_ok) {
		json_t *p = chain_json(&r->presented), *v = chain_json(&r->validated);
		if (!p || !v) {
			json_decref(p);
			json_decref(v);
			json_decref(o);
			return NULL;
		}
		if (json_object_set_new(o, "cipher", json_string(r->cipher)) ||
		    json_object_set_new(o, "trusted", json_boolean(r->trusted)) ||
		    json_object_set_new(o, "name_ok", json_boolean(r->name_ok)) ||
		    json_object_set_new(o, "presented_chain", p) ||
		    json_object_set_new(o, "validated_chain", v)) {
			json_decref(o);
			return NULL;
		}
	} else {
		json_object_set_new(o, "presented_chain", json_array());
		json_object_set_new(o, "validated_chain", json_array());
	}
	return o;
}
