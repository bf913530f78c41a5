#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/apps.h"
#include "store/inventory.h"
#include "importers/invfile.h"
#include "testdb.h"
#include "base/util.h"

#define ACTOR "cli:test"
#define PIN_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="

static int setup(void **state)
{
	*state = testdb_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	testdb_free(*state);
	return 0;
}

static long long audit_rows(struct testdb *t)
{
	return testdb_int(t, "SELECT count(*) FROM audit_log");
}

static char *read_data(const char *name, size_t *len)
{
	char path[512], *text = NULL;
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	assert_int_equal(util_read_file(path, INVFILE_MAX_BYTES, &text, len), 0);
	return text;
}

static int import_text(struct testdb *t, const char *text, bool prune,
		       struct inventory_import_stats *st, char *err, size_t errlen)
{
	struct inventory inv;
	int rc = invfile_parse_text(text, strlen(text), &inv, err, errlen);
	if (rc)
		return rc;
	rc = inventory_import(t->db, ACTOR, &inv, prune, st, err, errlen);
	model_inventory_free(&inv);
	return rc;
}

static char *export_text(struct testdb *t)
{
	struct inventory inv;
	char err[ERRLEN];
	assert_int_equal(inventory_load(t->db, &inv, err, sizeof(err)), 0);
	json_t *j = invfile_to_json(&inv);
	assert_non_null(j);
	char *s = invfile_dumps(j);
	json_decref(j);
	model_inventory_free(&inv);
	assert_non_null(s);
	return s;
}

/* ---- validation: every error names its JSON path ---------------------- */

#define APP(body) "{\"apps\":[{\"name\":\"a\",\"platform\":\"ios\"," body "}]}"
#define VER(body) \
	APP("\"versions\":[{\"version\":\"1\"},{\"version\":\"2\"},{\"version\":\"3\"," body "}]")
#define POL(body) VER("\"pin_policies\":[{\"pattern\":\"api.example.com\"," body "}]")

static void test_invfile_parse_errors_name_paths(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		const char *err;
	} cases[] = {
		{ "[]", "(document): expected an object" },
		{ "{\"endpoint\":[]}", "endpoint: unknown key" },
		{ "{\"endpoints\":{}}", "endpoints: expected an array" },
		{ "{\"endpoints\":[5]}", "endpoints[0]: expected an object" },
		{ "{\"endpoints\":[{}]}", "endpoints[0].host: missing" },
		{ "{\"endpoints\":[{\"host\":\"a.example\"},{\"host\":\"bad host\"}]}",
		  "endpoints[1].host: not a valid host name" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"port\":0}]}",
		  "endpoints[0].port: must be between 1 and 65535" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"port\":\"443\"}]}",
		  "endpoints[0].port: expected an integer" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"interval\":\"5x\"}]}",
		  "endpoints[0].interval: expected a duration such as \"5m\"" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"interval\":\"5s\"}]}",
		  "endpoints[0].interval: must be between 10s and 7d" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"interval\":\"2w\"}]}",
		  "endpoints[0].interval: must be between 10s and 7d" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"tags\":[\"x\",1]}]}",
		  "endpoints[0].tags[1]: expected a string" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"tags\":[\"x\",\"x\"]}]}",
		  "endpoints[0].tags[1]: duplicate of tags[0]" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"enabled\":1}]}",
		  "endpoints[0].enabled: expected true or false" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"sni\":\"a b\"}]}",
		  "endpoints[0].sni: not a valid host name" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"environment\":\"\"}]}",
		  "endpoints[0].environment: length must be between 1 and 64 bytes" },
		{ "{\"endpoints\":[{\"host\":\"a.example\",\"owner\":\"x\\ny\"}]}",
		  "endpoints[0].owner: control characters are not allowed" },
		{ "{\"endpoints\":[{\"host\":\"A.example.\"},{\"host\":\"b.example\"},"
		  "{\"host\":\"a.example\",\"port\":443}]}",
		  "endpoints[2]: duplicate of endpoints[0] (a.example:443)" },
		{ "{\"apps\":[{\"name\":\"a\"}]}", "apps[0].platform: missing" },
		{ "{\"apps\":[{\"name\":\"a\",\"platform\":\"windows\"}]}",
		  "apps[0].platform: must be android, ios or other" },
		{ APP("\"adoption_threshold\":1.01"),
		  "apps[0].adoption_threshold: must be between 0 and 1" },
		{ APP("\"failure_mode\":\"crash\""),
		  "apps[0].failure_mode: must be log, message, redirect or terminate" },
		{ APP("\"bundleId\":\"x\""), "apps[0].bundleId: unknown key" },
		{ "{\"apps\":[{\"name\":\"a\",\"platform\":\"ios\"},{\"name\":\"a\",\"platform\":"
		  "\"android\"}]}",
		  "apps[1]: duplicate of apps[0] (a)" },
		{ VER("\"released\":\"2026-02-30\""),
		  "apps[0].versions[2].released: not a date (YYYY-MM-DD)" },
		{ APP("\"versions\":[{\"version\":\"1\"},{\"version\":\"1\"}]"),
		  "apps[0].versions[1]: duplicate of versions[0] (1)" },
		{ APP("\"versions\":[{\"version\":\"\"}]"),
		  "apps[0].versions[0].version: length must be between 1 and 64 bytes" },
		{ VER("\"adoption\":[{\"at\":\"2026-11-20\",\"share\":1.2}]"),
		  "apps[0].versions[2].adoption[0].share: must be between 0 and 1" },
		{ VER("\"adoption\":[{\"at\":\"2026-11-20\"}]"),
		  "apps[0].versions[2].adoption[0].share: missing" },
		{ VER("\"adoption\":[{\"at\":\"2026-11-20\",\"share\":0.1,\"active_users\":-3}]"),
		  "apps[0].versions[2].adoption[0].active_users: must be between 0 and "
		  "9223372036854775807" },
		{ VER("\"adoption\":[{\"at\":\"2026-11-20\",\"share\":0.1},{\"at\":\"2026-11-20\","
		      "\"share\":0.2}]"),
		  "apps[0].versions[2].adoption[1]: second sample for 2026-11-20 (see "
		  "adoption[0])" },
		{ VER("\"pin_policies\":[{\"pattern\":\"*.com\",\"pins\":[{\"sha256\":\"" PIN_A
		      "\"}]}]"),
		  "apps[0].versions[2].pin_policies[0].pattern: not a host name or *./**. "
		  "pattern" },
		{ POL("\"pins\":[]"), "apps[0].versions[2].pin_policies[0].pins: an enforcing "
				      "policy needs at least one pin" },
		{ POL("\"enforce\":true"), "apps[0].versions[2].pin_policies[0].pins: an enforcing "
					   "policy needs at least one pin" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"},{\"sha256\":\"AAAA\"}]"),
		  "apps[0].versions[2].pin_policies[0].pins[1].sha256: not 32 bytes of base64: "
		  "'AAAA' decodes to 3 bytes" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"},{\"sha256\":\"not base64!\"}]"),
		  "apps[0].versions[2].pin_policies[0].pins[1].sha256: not 32 bytes of base64: "
		  "'not base64!' is not base64" },
		/* unpadded and non-canonical pins are accepted as the platforms accept them */
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A
		      "\"},{\"sha256\":\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\"}]"),
		  "apps[0].versions[2].pin_policies[0].pins[1].sha256: not 32 bytes of base64: "
		  "'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' decodes to 31 bytes" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\",\"role\":\"spare\"}]"),
		  "apps[0].versions[2].pin_policies[0].pins[0].role: must be current or backup" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"},{\"sha256\":\"sha256/" PIN_A
		      "\",\"role\":\"backup\"}]"),
		  "apps[0].versions[2].pin_policies[0].pins[1]: duplicate of pins[0]" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"expires\":\"tomorrow\""),
		  "apps[0].versions[2].pin_policies[0].expires: not a date (YYYY-MM-DD)" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"source\":\"manual\""),
		  "apps[0].versions[2].pin_policies[0].source: must be inventory, nsc, trustkit, "
		  "okhttp or api" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\",\"digest\":\"SHA-256\"}]"),
		  "apps[0].versions[2].pin_policies[0].pins[0].digest: unknown key" },
		{ VER("\"pin_policies\":[{\"pattern\":\"*.example.com\",\"include_subdomains\":"
		      "true,"
		      "\"pins\":[{\"sha256\":\"" PIN_A "\"}]}]"),
		  "apps[0].versions[2].pin_policies[0].include_subdomains: only for an exact host "
		  "pattern" },
		{ VER("\"pin_policies\":[{\"pattern\":\"API.example.com\",\"enforce\":false},"
		      "{\"pattern\":\"api.example.com.\",\"enforce\":false}]"),
		  "apps[0].versions[2].pin_policies[1]: same pattern and include_subdomains as "
		  "pin_policies[0]" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"override_anchors\":\"system\""),
		  "apps[0].versions[2].pin_policies[0].override_anchors: expected an array" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"override_anchors\":[\"system\",5]"),
		  "apps[0].versions[2].pin_policies[0].override_anchors[1]: expected a string" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"override_anchors\":[\"everyone\"]"),
		  "apps[0].versions[2].pin_policies[0].override_anchors[0]: must be system, user, "
		  "sha256/<base64> or an unread anchor file such as @raw/name" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"override_anchors\":[\"@raw/a b\"]"),
		  "apps[0].versions[2].pin_policies[0].override_anchors[0]: must be system, user, "
		  "sha256/<base64> or an unread anchor file such as @raw/name" },
		{ POL("\"pins\":[{\"sha256\":\"" PIN_A "\"}],\"override_anchors\":[\"sha256/" PIN_A
		      "\",\"sha256/" PIN_A "\"]"),
		  "apps[0].versions[2].pin_policies[0].override_anchors[1]: duplicate of "
		  "override_anchors[0]" },
		{ "{\"endpoints\":[", "line 1 column 14: ']' expected near end of file" },
		{ "{\"apps\":[],\"apps\":[]}",
		  "line 1 column 17: duplicate object key near '\"apps\"'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct inventory inv;
		char err[ERRLEN] = "";
		int rc = invfile_parse_text(cases[i].json, strlen(cases[i].json), &inv, err,
					    sizeof(err));
		if (rc != -EINVAL || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: %s\n  got  (%d) %s\n  want %s", i, cases[i].json, rc,
				 err, cases[i].err);
		assert_null(inv.endpoints);
		assert_null(inv.apps);
	}
}

static void test_invfile_parse_defaults_and_normalisation(void **state)
{
	(void)state;
	static const char doc[] =
		"{\"endpoints\":[{\"host\":\"API.Example.COM.\",\"tags\":[\"b\",\"a\"]}],"
		"\"apps\":[{\"name\":\"x\",\"platform\":\"android\",\"versions\":[{\"version\":"
		"\"1\","
		"\"pin_policies\":[{\"pattern\":\"**.Example.com\",\"pins\":[{\"sha256\":"
		"\"sha256/" PIN_B "\",\"role\":\"backup\"},{\"sha256\":\"" PIN_A "\"}]},"
		"{\"pattern\":\"skip.example.com\",\"enforce\":false}]}]}]}";
	struct inventory inv;
	char err[ERRLEN];
	assert_int_equal(invfile_parse_text(doc, strlen(doc), &inv, err, sizeof(err)), 0);
	struct endpoint *e = &inv.endpoints[0];
	assert_string_equal(e->host, "api.example.com");
	assert_int_equal(e->port, 443);
	assert_string_equal(e->environment, "production");
	assert_null(e->sni);
	assert_null(e->owner);
	assert_int_equal(e->interval_s, 300);
	assert_true(e->enabled);
	assert_false(e->third_party);
	assert_string_equal(e->tags[0], "a");
	struct app *a = &inv.apps[0];
	assert_true(a->adoption_threshold == 0.95);
	assert_int_equal(a->failure_mode, FAIL_TERMINATE);
	struct pin_policy *p = &a->versions[0].policies[0];
	assert_string_equal(p->pattern, "**.example.com");
	assert_true(p->enforce);
	assert_null(p->source);				/* not given: the store decides */
	assert_int_equal(p->pins[0].role, PIN_CURRENT); /* current sorted first */
	assert_int_equal(p->pins[1].role, PIN_BACKUP);
	assert_false(a->versions[0].policies[1].enforce);
	assert_int_equal(a->versions[0].policies[1].npins, 0);
	model_inventory_free(&inv);
}

/* Pins the platforms accept (unpadded, non-zero unused bits) are stored in
 * canonical form and export canonically. */
static void test_invfile_parse_lenient_pins(void **state)
{
	(void)state;
	static const char doc[] =
		"{\"apps\":[{\"name\":\"x\",\"platform\":\"ios\",\"versions\":[{\"version\":"
		"\"1\",\"pin_policies\":[{\"pattern\":\"api.example.com\",\"pins\":["
		"{\"sha256\":\"C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M\"},"
		"{\"sha256\":\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\"}]}]}]}]}";
	struct inventory inv;
	char err[ERRLEN], b64[48];
	assert_int_equal(invfile_parse_text(doc, strlen(doc), &inv, err, sizeof(err)), 0);
	struct pin_policy *p = &inv.apps[0].versions[0].policies[0];
	assert_int_equal(p->npins, 2);
	/* sorted by value: 0x04... before 0x0b... */
	assert_string_equal(util_pin_b64(p->pins[0].sha256, b64),
			    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=");
	assert_string_equal(util_pin_b64(p->pins[1].sha256, b64),
			    "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=");
	model_inventory_free(&inv);
}

/* The pieces the HTTP API parses one object at a time. */
static void test_invfile_parse_pieces(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct endpoint e;
	struct app a;
	struct app_version v;
	struct pin_policy p;
	struct adoption_sample s;
	json_t *j = json_loads("{\"port\":443}", 0, NULL);
	assert_int_equal(invfile_parse_endpoint(j, "", &e, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "host: missing");
	json_decref(j);
	j = json_loads("{\"host\":\"a b\"}", 0, NULL);
	assert_int_equal(invfile_parse_endpoint(j, "", &e, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "host: not a valid host name");
	json_decref(j);
	j = json_loads("{\"name\":\"x\",\"platform\":\"ios\",\"versions\":[]}", 0, NULL);
	assert_int_equal(invfile_parse_app(j, "", false, &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "versions: unknown key");
	assert_int_equal(invfile_parse_app(j, "", true, &a, err, sizeof(err)), 0);
	model_app_free(&a);
	json_decref(j);
	j = json_loads("{\"version\":\"1\",\"pin_policies\":[{\"pattern\":\"x.example\"}]}", 0,
		       NULL);
	assert_int_equal(invfile_parse_version(j, "body", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err, "body.pin_policies[0].pins: an enforcing policy needs at least one pin");
	json_decref(j);
	j = json_loads("{\"pattern\":\"X.example.\",\"enforce\":false,\"source\":\"api\"}", 0,
		       NULL);
	assert_int_equal(invfile_parse_policy(j, "", &p, err, sizeof(err)), 0);
	assert_string_equal(p.pattern, "x.example");
	assert_string_equal(p.source, "api");
	json_t *back = invfile_policy_to_json(&p);
	assert_string_equal(json_string_value(json_object_get(back, "source")), "api");
	json_decref(back);
	model_policy_free(&p);
	json_decref(j);
	j = json_loads("{\"at\":\"2026-11-20\",\"share\":1}", 0, NULL);
	assert_int_equal(invfile_parse_adoption(j, "", &s, err, sizeof(err)), 0);
	assert_true(s.share == 1.0);
	assert_int_equal(s.active_users, -1);
	json_decref(j);
}

/* Per-object caps keep merges cheap; the error names the array. */
static void test_invfile_parse_caps(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct inventory inv;
	json_t *pins = json_array();
	for (int i = 0; i <= INVFILE_MAX_PINS; i++) {
		uint8_t d[32];
		char b64[48];
		assert_int_equal(util_sha256(&i, sizeof(i), d), 0);
		json_array_append_new(pins, json_pack("{ss}", "sha256", util_pin_b64(d, b64)));
	}
	json_t *doc = json_pack("{s[{ss ss s[{ss s[{ss so}]}]}]}", "apps", "name", "a", "platform",
				"ios", "versions", "version", "1", "pin_policies", "pattern",
				"a.example.com", "pins", pins);
	assert_non_null(doc);
	assert_int_equal(invfile_parse(doc, &inv, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "apps[0].versions[0].pin_policies[0].pins: more than 64 pins");
	/* one pin fewer is fine */
	json_array_remove(pins, 0);
	assert_int_equal(invfile_parse(doc, &inv, err, sizeof(err)), 0);
	assert_int_equal(inv.apps[0].versions[0].policies[0].npins, INVFILE_MAX_PINS);
	model_inventory_free(&inv);
	json_decref(doc);
}

static void test_invfile_fmt_interval(void **state)
{
	(void)state;
	static const struct {
		int64_t s;
		const char *txt;
	} cases[] = { { 10, "10s" },   { 90, "90s" },	{ 300, "5m" },	  { 3600, "1h" },
		      { 5400, "90m" }, { 86400, "1d" }, { 604800, "1w" }, { 86401, "86401s" } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[32];
		int64_t back;
		assert_string_equal(invfile_fmt_interval(cases[i].s, buf, sizeof(buf)),
				    cases[i].txt);
		assert_int_equal(util_parse_duration(buf, &back), 0);
		assert_int_equal(back, cases[i].s);
	}
}

/* ---- import / export -------------------------------------------------- */

static void test_inventory_realistic_round_trip(void **state)
{
	struct testdb *t = *state;
	struct inventory_import_stats st;
	char err[ERRLEN];
	size_t len;
	char *text = read_data("inventory_realistic.json", &len);

	assert_int_equal(import_text(t, text, false, &st, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM endpoints"), 43);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM apps"), 3);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 30);
	assert_int_equal(st.created, 43 + 3 + 30);
	assert_int_equal(st.audit_rows, 76);
	assert_int_equal(audit_rows(t), 76);
	char *first = export_text(t);

	/* the same file again: nothing changes, no audit row */
	assert_int_equal(import_text(t, text, false, &st, err, sizeof(err)), 0);
	assert_int_equal(st.created + st.updated + st.deleted, 0);
	assert_int_equal(st.unchanged, 76);
	assert_int_equal(st.audit_rows, 0);
	assert_int_equal(audit_rows(t), 76);
	/* and with --prune too */
	assert_int_equal(import_text(t, text, true, &st, err, sizeof(err)), 0);
	assert_int_equal(audit_rows(t), 76);
	/* a struct in any order (the API builds them) reconciles the same way */
	struct inventory inv;
	assert_int_equal(invfile_parse_text(text, len, &inv, err, sizeof(err)), 0);
	for (size_t i = 0; i < inv.nendpoints / 2; i++) {
		struct endpoint tmp = inv.endpoints[i];
		inv.endpoints[i] = inv.endpoints[inv.nendpoints - 1 - i];
		inv.endpoints[inv.nendpoints - 1 - i] = tmp;
	}
	struct app_version tv = inv.apps[1].versions[0];
	inv.apps[1].versions[0] = inv.apps[1].versions[9];
	inv.apps[1].versions[9] = tv;
	assert_int_equal(inventory_import(t->db, ACTOR, &inv, true, &st, err, sizeof(err)), 0);
	assert_int_equal(st.audit_rows, 0);
	assert_int_equal(st.unchanged, 76);
	model_inventory_free(&inv);

	/* export -> import into an empty database -> export: byte-identical */
	struct testdb *u = testdb_new();
	assert_non_null(u);
	assert_int_equal(import_text(u, first, false, &st, err, sizeof(err)), 0);
	char *second = export_text(u);
	assert_string_equal(first, second);
	/* importing the export into the original database changes nothing */
	assert_int_equal(import_text(t, first, true, &st, err, sizeof(err)), 0);
	assert_int_equal(st.audit_rows, 0);

	/* what was exported is what the file said (spot checks) */
	assert_non_null(strstr(first, "\"host\": \"api.example.com\",\n      \"port\": 8443,\n     "
				      " \"sni\": \"api.example.com\""));
	assert_non_null(strstr(first, "\"interval\": \"90s\""));
	assert_non_null(strstr(first, "\"source\": \"nsc\""));
	assert_non_null(strstr(first, "\"source\": \"trustkit\""));
	assert_int_equal(testdb_int(u, "SELECT count(*) FROM pin_policies WHERE enforce = 0 AND "
				       "id NOT IN (SELECT policy_id FROM pins)"),
			 15); /* eu.api.example.com excluded in 5 versions of each app */
	free(second);
	free(first);
	free(text);
	testdb_free(u);
}

static const char base_doc[] =
	"{\"endpoints\":[{\"host\":\"a.example.com\"},{\"host\":\"b.example.com\"}],"
	"\"apps\":[{\"name\":\"shop\",\"platform\":\"ios\",\"versions\":["
	"{\"version\":\"1.0\",\"adoption\":[{\"at\":\"2026-10-01\",\"share\":0.5}],"
	"\"pin_policies\":[{\"pattern\":\"a.example.com\",\"pins\":[{\"sha256\":\"" PIN_A "\"}]},"
	"{\"pattern\":\"b.example.com\",\"pins\":[{\"sha256\":\"" PIN_A "\"}]}]},"
	"{\"version\":\"2.0\"}]},"
	"{\"name\":\"wallet\",\"platform\":\"android\"}]}";

static const char small_doc[] =
	"{\"endpoints\":[{\"host\":\"a.example.com\",\"owner\":\"team\"}],"
	"\"apps\":[{\"name\":\"shop\",\"platform\":\"ios\",\"versions\":["
	"{\"version\":\"1.0\",\"adoption\":[{\"at\":\"2026-11-01\",\"share\":0.4}],"
	"\"pin_policies\":[{\"pattern\":\"a.example.com\",\"pins\":[{\"sha256\":\"" PIN_B
	"\"}]}]}]}]}";

/* NSC overridePins anchors: parsed, normalised, stored,
 * loaded, exported and re-imported unchanged; a change is an update. */
static void test_inventory_override_anchors_round_trip(void **state)
{
	struct testdb *t = *state;
	struct inventory_import_stats st;
	char err[ERRLEN];
	static const char doc[] =
		"{\"apps\":[{\"name\":\"shop\",\"platform\":\"android\",\"versions\":["
		"{\"version\":\"4.2.0\",\"pin_policies\":[{\"pattern\":\"api.example.com\","
		"\"source\":\"nsc\",\"pins\":[{\"sha256\":\"" PIN_A "\"}],"
		"\"override_anchors\":[\"system\",\"sha256/"
		"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\",\"@raw/corp_ca\",\"user\"]},"
		"{\"pattern\":\"cdn.example.com\",\"pins\":[{\"sha256\":\"" PIN_B "\"}]}]}]}]}";
	assert_int_equal(import_text(t, doc, false, &st, err, sizeof(err)), 0);
	struct inventory inv;
	assert_int_equal(inventory_load(t->db, &inv, err, sizeof(err)), 0);
	const struct app_version *v = &inv.apps[0].versions[0];
	assert_int_equal(v->npolicies, 2);
	const struct pin_policy *p = &v->policies[0], *q = &v->policies[1];
	assert_string_equal(p->pattern, "api.example.com");
	assert_int_equal(p->noverride_anchors, 4);
	assert_string_equal(p->override_anchors[0], "system");
	assert_string_equal(p->override_anchors[1], "sha256/" PIN_B);
	assert_string_equal(p->override_anchors[2], "@raw/corp_ca");
	assert_string_equal(p->override_anchors[3], "user");
	assert_int_equal(q->noverride_anchors, 0);
	assert_null(q->override_anchors);
	model_inventory_free(&inv);

	char *first = export_text(t);
	assert_non_null(strstr(first, "\"override_anchors\": [\n"));
	assert_non_null(strstr(first, "\"sha256/" PIN_B "\""));
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE override_anchors "
				       "IS NULL"),
			 1);
	/* again: unchanged */
	long long rows = audit_rows(t);
	assert_int_equal(import_text(t, first, false, &st, err, sizeof(err)), 0);
	assert_int_equal(st.audit_rows, 0);
	assert_int_equal(audit_rows(t), rows);
	/* export -> empty database -> export: identical */
	struct testdb *u = testdb_new();
	assert_non_null(u);
	assert_int_equal(import_text(u, first, false, &st, err, sizeof(err)), 0);
	char *second = export_text(u);
	assert_string_equal(first, second);
	testdb_free(u);
	/* dropping an anchor is a change, stored and audited */
	static const char fewer[] =
		"{\"apps\":[{\"name\":\"shop\",\"platform\":\"android\",\"versions\":["
		"{\"version\":\"4.2.0\",\"pin_policies\":[{\"pattern\":\"api.example.com\","
		"\"source\":\"nsc\",\"pins\":[{\"sha256\":\"" PIN_A "\"}],"
		"\"override_anchors\":[\"system\"]},"
		"{\"pattern\":\"cdn.example.com\",\"pins\":[{\"sha256\":\"" PIN_B "\"}]}]}]}]}";
	assert_int_equal(import_text(t, fewer, false, &st, err, sizeof(err)), 0);
	assert_int_equal(st.updated, 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE override_anchors "
				       "= 'system'"),
			 1);
	free(second);
	free(first);
}

static void test_inventory_import_merges_without_prune(void **state)
{
	struct testdb *t = *state;
	struct inventory_import_stats st;
	char err[ERRLEN];
	assert_int_equal(import_text(t, base_doc, false, &st, err, sizeof(err)), 0);
	long long rows = audit_rows(t);
	assert_int_equal(import_text(t, small_doc, false, &st, err, sizeof(err)), 0);
	/* changed: endpoint a (owner), version 1.0 (sample added, policy a's pin); nothing deleted
	 */
	assert_int_equal(st.updated, 2);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(audit_rows(t), rows + 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM endpoints"), 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM apps"), 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pins WHERE sha256 = '" PIN_B "'"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pins WHERE sha256 = '" PIN_A "'"), 1);
}

static void test_inventory_import_prune(void **state)
{
	struct testdb *t = *state;
	struct inventory_import_stats st;
	char err[ERRLEN];
	assert_int_equal(import_text(t, base_doc, false, &st, err, sizeof(err)), 0);
	long long rows = audit_rows(t);
	assert_int_equal(import_text(t, small_doc, true, &st, err, sizeof(err)), 0);
	/* deleted: endpoint b, app wallet, version 2.0; updated: endpoint a, version 1.0 */
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.updated, 2);
	assert_int_equal(audit_rows(t), rows + 5);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM endpoints"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM apps"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pins"), 1);
	/* the database now exports exactly what the small document says */
	struct inventory inv;
	assert_int_equal(invfile_parse_text(small_doc, strlen(small_doc), &inv, err, sizeof(err)),
			 0);
	json_t *j = invfile_to_json(&inv);
	char *want = invfile_dumps(j);
	char *got = export_text(t);
	assert_string_equal(got, want);
	free(want);
	free(got);
	json_decref(j);
	model_inventory_free(&inv);
	/* pruning again: no change */
	assert_int_equal(import_text(t, small_doc, true, &st, err, sizeof(err)), 0);
	assert_int_equal(st.audit_rows, 0);
}

static void test_inventory_import_all_or_nothing(void **state)
{
	struct testdb *t = *state;
	struct inventory_import_stats st;
	char err[ERRLEN];
	assert_int_equal(import_text(t, base_doc, false, &st, err, sizeof(err)), 0);
	char *before = export_text(t);
	long long rows = audit_rows(t);

	/* a bad file: rejected while parsing, the database is untouched */
	static const char bad[] =
		"{\"endpoints\":[{\"host\":\"new.example.com\"}],\"apps\":[{\"name\":\"shop\","
		"\"platform\":\"ios\",\"versions\":[{\"version\":\"1.0\",\"pin_policies\":[{"
		"\"pattern\":"
		"\"a.example.com\",\"pins\":[{\"sha256\":\"" PIN_A
		"\"},{\"sha256\":\"short\"}]}]}]}]}";
	assert_int_equal(import_text(t, bad, true, &st, err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err, "apps[0].versions[0].pin_policies[0].pins[1].sha256: not 32 bytes of base64: "
		     "'short' is not base64");

	/* a failure in the store after some writes (a struct that bypassed the
	 * parser): everything already written in that import is rolled back */
	struct inventory inv;
	assert_int_equal(invfile_parse_text(small_doc, strlen(small_doc), &inv, err, sizeof(err)),
			 0);
	inv.apps[0].versions[0].policies[0].npins = 0; /* enforcing without pins */
	assert_int_equal(inventory_import(t->db, ACTOR, &inv, true, &st, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "needs at least one pin"));
	model_inventory_free(&inv);

	char *after = export_text(t);
	assert_string_equal(before, after);
	assert_int_equal(audit_rows(t), rows);
	free(before);
	free(after);
}

/* ---- endpoint CRUD ---------------------------------------------------- */

static void test_inventory_endpoint_crud(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	char **tags = calloc(2, sizeof(char *));
	tags[0] = strdup("web");
	tags[1] = strdup("api");
	struct endpoint e = { .host = strdup("API.Example.com."),
			      .port = 443,
			      .tags = tags,
			      .ntags = 2,
			      .enabled = true };
	assert_int_equal(inventory_endpoint_create(t->db, ACTOR, &e, err, sizeof(err)), 0);
	assert_string_equal(e.host, "api.example.com");
	assert_string_equal(e.tags[0], "api");
	assert_true(e.id > 0);
	assert_int_equal(e.interval_s, 300);
	assert_int_equal(inventory_endpoint_create(t->db, ACTOR, &e, err, sizeof(err)), -EEXIST);

	struct endpoint got;
	assert_int_equal(
		inventory_endpoint_get(t->db, "API.EXAMPLE.COM", 443, &got, err, sizeof(err)), 0);
	assert_int_equal(got.id, e.id);
	assert_int_equal(got.ntags, 2);
	assert_string_equal(got.environment, "production");
	model_endpoint_free(&got);
	assert_int_equal(
		inventory_endpoint_get(t->db, "api.example.com", 444, &got, err, sizeof(err)),
		-ENOENT);
	assert_int_equal(inventory_endpoint_get_id(t->db, e.id, &got, err, sizeof(err)), 0);
	model_endpoint_free(&got);

	long long rows = audit_rows(t);
	bool changed = true;
	assert_int_equal(inventory_endpoint_update(t->db, ACTOR, &e, &changed, err, sizeof(err)),
			 0);
	assert_false(changed);
	e.interval_s = 60;
	free(e.tags[1]);
	e.ntags = 1;
	assert_int_equal(inventory_endpoint_update(t->db, ACTOR, &e, &changed, err, sizeof(err)),
			 0);
	assert_true(changed);
	assert_int_equal(audit_rows(t), rows + 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM endpoint_tags"), 1);
	assert_int_equal(testdb_int(t, "SELECT interval_s FROM endpoints"), 60);

	static const struct {
		const char *host;
		int port;
		long long interval;
	} bad[] = { { "", 443, 300 },	     { "a b", 443, 300 },
		    { "x.example", 0, 300 }, { "x.example", 70000, 300 },
		    { "x.example", 443, 5 }, { "x.example", 443, 700000 } };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct endpoint b = { .host = strdup(bad[i].host),
				      .port = bad[i].port,
				      .interval_s = bad[i].interval };
		assert_int_equal(inventory_endpoint_create(t->db, ACTOR, &b, err, sizeof(err)),
				 -EINVAL);
		model_endpoint_free(&b);
	}
	assert_int_equal(
		inventory_endpoint_delete(t->db, ACTOR, "api.example.com", 443, err, sizeof(err)),
		0);
	assert_int_equal(
		inventory_endpoint_delete(t->db, ACTOR, "api.example.com", 443, err, sizeof(err)),
		-ENOENT);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM endpoint_tags"), 0);
	assert_int_equal(audit_rows(t), rows + 2);
	model_endpoint_free(&e);
}

static void test_invfile_version_cmp(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "4.9", "4.10", -1 },	  { "4.10", "4.9", 1 },
		{ "4.2.0", "4.2.0", 0 },  { "4.2", "4.2.0", -1 },
		{ "10", "9", 1 },	  { "1.02", "1.2", -1 }, /* equal numbers: ties by strcmp */
		{ "1.0-beta", "1.0", 1 }, { "a", "b", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int c = invfile_version_cmp(cases[i].a, cases[i].b);
		c = (c > 0) - (c < 0);
		if (c != cases[i].want)
			fail_msg("%s vs %s: %d", cases[i].a, cases[i].b, c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invfile_parse_errors_name_paths),
		cmocka_unit_test(test_invfile_parse_defaults_and_normalisation),
		cmocka_unit_test(test_invfile_parse_lenient_pins),
		cmocka_unit_test(test_invfile_fmt_interval),
		cmocka_unit_test(test_invfile_parse_pieces),
		cmocka_unit_test(test_invfile_parse_caps),
		cmocka_unit_test(test_invfile_version_cmp),
		cmocka_unit_test_setup_teardown(test_inventory_override_anchors_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inventory_realistic_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inventory_import_merges_without_prune, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inventory_import_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_import_all_or_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inventory_endpoint_crud, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
