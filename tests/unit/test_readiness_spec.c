/* An independent check of the readiness engine against the SPECIFICATION
 * (../shared/DESIGN.md "Terms", "Readiness questions", the Readiness JSON and
 * What-if contracts; issue 5), written without reading the author's tests.
 *
 * What the answers must be, in the reviewer's own words:
 *
 * Coverage. A version's pin policy covers host H when its pattern is
 *  - an exact host equal to H;
 *  - "*.B": H is exactly one label below B ("*.example.com" covers
 *    a.example.com, not example.com, not a.b.example.com);
 *  - "**.B": H is B itself or any depth below it;
 *  - an exact host B with include_subdomains: B or any depth below it.
 * Of the covering policies of one version the most specific one decides
 * (TrustKit / NSC nesting): a subdomain policy overrides its parent, also
 * when it excludes pinning (enforce=false, no pins).
 *
 * Enforcement at T: enforce is true and T is before expires (T == expires:
 * no longer enforcing). Report-only (enforce=false) never strands anybody.
 *
 * Acceptance: a version accepts a chain when one of its pins equals the SPKI
 * pin of a certificate of the VALIDATED chain (anchor included, even when the
 * server does not send it). No validated chain: fall back to the presented
 * chain and say so in the reasons.
 *
 * Shares (one app, one chain, at T): each version's share is its latest
 * adoption sample at or before T (a later sample must not count).
 * stranded_share = sum of shares of enforcing, covering versions that do not
 * accept. A version with no figure is never counted as 0: it makes
 * unknown_share non-zero (the users no figure accounts for) when it is at
 * risk; surviving = 1 - stranded - unknown (issue 14: unaccounted users count
 * only when a version without a figure is at risk).
 * ready = surviving share >= the app's adoption_threshold (equality is ready).
 * An endpoint's figure is its worst address (a user can reach any edge).
 *
 * Scenarios from today's chain C (leaf C[0], CA keys C[1..], anchor incl.):
 *  - now: accepted iff a pin is in C;
 *  - same-key renewal: leaf pins survive too (nothing changes key);
 *  - key rotation (new leaf key, same CA): survivors pin an intermediate or
 *    root of C, or pin the one new key (a pin of any role outside C: keys
 *    decide, not roles, issue 14); leaf-only pinners are stranded;
 *  - CA change (every key of C replaced): only versions with a backup pin
 *    outside C survive;
 *  - candidate (what-if): accepted iff a pin is in the candidate chain (a
 *    PEM chain is completed towards its anchor from what pinwatch observed)
 *    or in the given pin list, evaluated at --at (expirations, adoption).
 *
 * whatif: exit 1 when any app's stranded share EXCEEDS --max-stranded
 * (default 0), else 0 (so stranded == max is 0); it works for a host with
 * no observation. check: exit 1 when anything is critical (somebody is
 * stranded now); 2 usage; 3 runtime.
 *
 * Where the spec leaves a choice open, the engine's choice is tested and
 * marked "AMBIGUOUS" below (see the review report).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "store/db.h"
#include "model/model.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "invbuild.h"
#include "sigcert.h"
#include "base/util.h"

/* The case tables leave trailing fields (reasons, unused rows) to zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define DEFAULT_AT "2026-12-01"

/* ---- Building inventories and observations by hand -------------------- */

static struct inventory inv;
static struct readiness_observations obs;

/* A key named @name: its pin is SHA-256 of the name (any 32 distinct bytes do). */
static void key_pin(const char *name, uint8_t out[32])
{
	assert_int_equal(util_sha256(name, strlen(name), out), 0);
}

static time_t date_of(const char *s)
{
	time_t t;
	assert_int_equal(util_parse_time(s, &t), 0);
	return t;
}

static struct app *app_get(const char *name, double thr)
{
	struct app *a = ib_app_find(&inv, name);
	if (a)
		return a;
	a = ib_app(&inv, name, thr);
	a->id = (int64_t)inv.napps;
	a->failure_mode = FAIL_TERMINATE;
	return a;
}

static struct app_version *ver_get(struct app *a, const char *version, const char *adopt)
{
	struct app_version *v = ib_version_find(a, version);
	if (v)
		return v;
	v = ib_version(a, version);
	/* "2026-11-01=0.5,2026-12-10=0.1" (ascending); NULL: no figure */
	for (const char *p = adopt; p && *p;) {
		char date[11];
		assert_true(strlen(p) > 11 && p[10] == '=');
		memcpy(date, p, 10);
		date[10] = '\0';
		ib_adoption(v, date_of(date), strtod(p + 11, NULL));
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return v;
}

/* "leaf inter +bk": pins by key name, '+' marks a backup pin. */
static void pol_add(struct app_version *v, const char *pattern, bool incl, bool enforce,
		    const char *expires, const char *pins)
{
	struct pin_policy *p =
		ib_policy(v, pattern, incl, enforce, expires && *expires ? date_of(expires) : 0);
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", pins ? pins : "");
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		uint8_t sha[32];
		key_pin(tok + (tok[0] == '+'), sha);
		ib_pin(p, sha, tok[0] == '+' ? PIN_BACKUP : PIN_CURRENT);
	}
}

static void ep_add(const char *host)
{
	struct endpoint *e = ib_endpoint(&inv, host, NULL);
	e->id = (int64_t)inv.nendpoints;
	obs.eps = ib_grow(obs.eps, obs.neps, sizeof(*obs.eps));
	obs.neps++;
}

/* "leaf inter root": leaf first; each cert issued by the next, the last self-signed. */
static void chain_set(struct readiness_chain *c, const char *names)
{
	char buf[256];
	char *tok[16];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", names ? names : "");
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < 16;
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	for (size_t i = 0; i < n; i++) {
		c->certs = ib_grow(c->certs, c->ncerts, sizeof(*c->certs));
		struct readiness_cert *x = &c->certs[c->ncerts++];
		char s[64];
		key_pin(tok[i], x->pin);
		snprintf(s, sizeof(s), "cert of %s", tok[i]);
		assert_int_equal(util_sha256(s, strlen(s), x->sha256), 0);
		snprintf(s, sizeof(s), "CN=%s", tok[i]);
		x->subject = strdup(s);
		snprintf(s, sizeof(s), "CN=%s", tok[i + 1 < n ? i + 1 : i]);
		x->issuer = strdup(s);
		x->not_before = date_of("2026-01-01");
		x->not_after = date_of("2028-01-01");
		x->is_ca = i > 0;
	}
}

static void addr_add(size_t ep, const char *address, const char *outcome, const char *presented,
		     const char *validated)
{
	struct readiness_observed *o = &obs.eps[ep];
	o->addrs = ib_grow(o->addrs, o->naddrs, sizeof(*o->addrs));
	struct readiness_address *a = &o->addrs[o->naddrs++];
	a->address = strdup(address);
	a->outcome = strdup(outcome);
	chain_set(&a->presented, presented);
	chain_set(&a->validated, validated);
	a->first_seen = date_of("2026-10-01");
	a->last_seen = date_of("2026-11-30");
	o->history_since = a->first_seen;
}

static void reset(void)
{
	readiness_observations_free(&obs);
	model_inventory_free(&inv);
	memset(&obs, 0, sizeof(obs));
	memset(&inv, 0, sizeof(inv));
}

/* ---- The table -------------------------------------------------------- */

struct vrow {
	const char *app;
	double thr;
	const char *ver;
	const char *adopt; /* NULL: no adoption figure */
	const char *pattern;
	bool incl, enforce;
	const char *expires;
	const char *pins;
};

struct arow {
	const char *address, *outcome, *presented, *validated;
};

enum scen { S_NOW, SAME_KEY, KEY_ROT, CA_CHANGE };

struct expect {
	const char *app;
	enum scen scen;
	bool absent; /* the app must not cover the host at all */
	double stranded;
	double unknown;
	int ready;	      /* -1: not checked */
	const char *versions; /* "1.0,2.0" stranded versions in order; NULL: not checked */
	const char *address;  /* worst address; NULL: not checked */
};

struct scase {
	const char *name;
	const char *host;
	const char *at; /* NULL: DEFAULT_AT */
	struct vrow v[8];
	struct arow a[4];
	struct expect e[6];
	const char *reason;    /* a substring some reason must contain; NULL: none */
	const char *no_reason; /* a substring no reason may contain; NULL: none */
	int min_severity;      /* the endpoint's severity is at least this */
};

/* clang-format off */
#define TODAY "leaf inter", "leaf inter root"
#define OK(addr) { addr, "ok", TODAY }
#define E_NOW(app, s, u, r, vs) { app, S_NOW, false, s, u, r, vs, NULL }
#define E(app, sc, s, u, r, vs) { app, sc, false, s, u, r, vs, NULL }
#define ABSENT(app) { app, S_NOW, true, 0, 0, -1, NULL, NULL }
#define ALL "2026-11-01=1.0"

static const struct scase cases[] = {
	/* -- patterns ------------------------------------------------------- */
	{ "exact covers its host",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.6", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.4", "api.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  /* key rotation: keys decide, not roles: 2.0's current pin "other" is
	   * outside today's chain, so the new leaf key can be it */
	  { E_NOW("A", 0.4, 0, 0, "2.0"), E("A", SAME_KEY, 0.4, 0, 0, "2.0"),
	    E("A", KEY_ROT, 0.6, 0, 0, "1.0"), E("A", CA_CHANGE, 1.0, 0, 0, "1.0,2.0") } },
	{ "exact does not cover a subdomain",
	  "a.api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { ABSENT("A") } },
	{ "*. covers one label",
	  "a.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "*.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "*. does not cover the apex",
	  "example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "*.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { ABSENT("A") } },
	{ "*. does not cover two labels",
	  "a.b.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "*.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { ABSENT("A") } },
	{ "**. covers the apex",
	  "example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "**.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "**. covers any depth",
	  "a.b.c.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "**.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "**. is not a bare suffix match",
	  "badexample.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "**.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { ABSENT("A") } },
	{ "include_subdomains covers depth two",
	  "a.b.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "include_subdomains covers the host itself",
	  "example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "exact without include_subdomains: no subdomain",
	  "a.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { ABSENT("A") } },

	/* -- most specific policy wins -------------------------------------- */
	{ "exact beats **.",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "**.example.com", false, true, "", "other" },
	    { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, "") } },
	{ "the order of policies does not matter",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "1.0", ALL, "**.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, "") } },
	{ "excluded subdomain under a pinned parent",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "other" },
	    { "A", 0.9, "1.0", ALL, "api.example.com", false, false, "", "" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, "") } },
	{ "excluded subdomain with subdomains excludes below it",
	  "x.api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "other" },
	    { "A", 0.9, "1.0", ALL, "api.example.com", true, false, "", "" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, "") } },
	{ "an exclusion without subdomains leaves deeper names to the parent",
	  "x.api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "other" },
	    { "A", 0.9, "1.0", ALL, "api.example.com", false, false, "", "" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "TrustKit nesting: the child's pins decide for the child",
	  "login.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "inter +bk" },
	    { "A", 0.9, "1.0", ALL, "login.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "TrustKit nesting: siblings use the parent",
	  "www.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "inter +bk" },
	    { "A", 0.9, "1.0", ALL, "login.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", KEY_ROT, 0, 0, 1, ""),
	    E("A", CA_CHANGE, 0, 0, 1, "") } },
	{ "NSC nesting: deeper include_subdomains beats shallower",
	  "a.pay.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "example.com", true, true, "", "leaf" },
	    { "A", 0.9, "1.0", ALL, "pay.example.com", true, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "the winner is per version",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.3", "**.example.com", false, true, "", "other" },
	    { "A", 0.9, "2.0", "2026-11-01=0.7", "**.example.com", false, true, "", "other" },
	    { "A", 0.9, "2.0", "2026-11-01=0.7", "api.example.com", false, true, "", "inter" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.3, 0, 0, "1.0") } },

	/* -- enforcement at T ------------------------------------------------ */
	{ "expires exactly at T: no longer enforcing",
	  "api.example.com", "2026-12-01",
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "2026-12-01", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, "") } },
	{ "expires one second after T: enforcing",
	  "api.example.com", "2026-11-30T23:59:59Z",
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "2026-12-01", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0") } },
	{ "expired long ago: nobody stranded",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "2025-01-01", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", KEY_ROT, 0, 0, 1, ""),
	    E("A", CA_CHANGE, 0, 0, 1, "") } },
	{ "report-only never strands",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, false, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", CA_CHANGE, 0, 0, 1, "") } },

	/* -- validated vs presented chain ------------------------------------ */
	{ "root pin, root not sent, validated chain has it",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "", "root" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", KEY_ROT, 0, 0, 1, ""),
	    E("A", CA_CHANGE, 1.0, 0, 0, "1.0") } },
	{ "unvalidated: fall back to the presented chain, and say so",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.4", "api.example.com", false, true, "", "root" },
	    { "A", 0.9, "2.0", "2026-11-01=0.6", "api.example.com", false, true, "", "inter" } },
	  { { "192.0.2.1", "untrusted", "leaf inter", "" } },
	  { E_NOW("A", 0.4, 0, 0, "1.0") },
	  "presented" },

	/* -- adoption --------------------------------------------------------- */
	{ "no adoption figure is unknown, never 0",
	  "api.example.com", NULL,
	  { { "A", 0.5, "1.0", NULL, "api.example.com", false, true, "", "other" },
	    { "A", 0.5, "2.0", "2026-11-01=0.6", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0.4, 1, "1.0") } },
	/* The figures of the other versions account for every user, so the
	 * unknown share is 0 (AMBIGUOUS, the engine's choice); but the version is
	 * at risk, so it is listed, and nothing may say that nobody is at risk. */
	{ "an at-risk version without a figure is never silently fine",
	  "api.example.com", NULL,
	  { { "A", 0.5, "1.0", NULL, "api.example.com", false, true, "", "other" },
	    { "A", 0.5, "2.0", ALL, "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, "1.0") },
	  "1.0 (no adoption figure)", "nobody is stranded", READINESS_WARNING },
	{ "a key rotation that is ready still names an unknown version it strands",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", NULL, "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", ALL, "api.example.com", false, true, "", "inter" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", KEY_ROT, 0, 0, 1, "1.0") },
	  "still puts 1.0 (no adoption figure) at risk" },
	{ "the only version has no figure",
	  "api.example.com", NULL,
	  { { "A", 0.5, "1.0", NULL, "api.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 1.0, 0, "1.0") } },
	{ "the latest sample at or before T counts, not a later one",
	  "api.example.com", "2026-12-01",
	  { { "A", 0.9, "1.0", "2026-11-01=0.5,2026-12-10=0.1", "api.example.com", false, true,
	      "", "other" },
	    { "A", 0.9, "2.0", "2026-11-01=0.5,2026-12-10=0.9", "api.example.com", false, true,
	      "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.5, 0, 0, "1.0") } },
	{ "a sample dated T counts",
	  "api.example.com", "2026-12-10",
	  { { "A", 0.9, "1.0", "2026-11-01=0.5,2026-12-10=0.1", "api.example.com", false, true,
	      "", "other" },
	    { "A", 0.9, "2.0", "2026-11-01=0.5,2026-12-10=0.9", "api.example.com", false, true,
	      "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.1, 0, 1, "1.0") } },
	{ "a version whose only sample is after T is unknown",
	  "api.example.com", "2026-12-01",
	  { { "A", 0.9, "1.0", "2026-12-10=0.2", "api.example.com", false, true, "", "other" },
	    { "A", 0.9, "2.0", "2026-11-01=0.8", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0.2, 0, "1.0") } },

	/* -- the threshold boundary ----------------------------------------- */
	{ "surviving share exactly the threshold is ready",
	  "api.example.com", NULL,
	  { { "A", 0.95, "1.0", "2026-11-01=0.05", "api.example.com", false, true, "", "other" },
	    { "A", 0.95, "2.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.95, "3.0", "2026-11-01=0.45", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.05, 0, 1, "1.0") } },
	{ "0.1 + 0.2 stranded against a 0.7 threshold is ready",
	  "api.example.com", NULL,
	  { { "A", 0.7, "1.0", "2026-11-01=0.1", "api.example.com", false, true, "", "other" },
	    { "A", 0.7, "2.0", "2026-11-01=0.2", "api.example.com", false, true, "", "other" },
	    { "A", 0.7, "3.0", "2026-11-01=0.7", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.3, 0, 1, "1.0,2.0") } },
	{ "0.01 + 0.31 stranded against a 0.68 threshold is ready (1 - 0.32 < 0.68 in doubles)",
	  "api.example.com", NULL,
	  { { "A", 0.68, "1.0", "2026-11-01=0.01", "api.example.com", false, true, "", "other" },
	    { "A", 0.68, "2.0", "2026-11-01=0.31", "api.example.com", false, true, "", "other" },
	    { "A", 0.68, "3.0", "2026-11-01=0.68", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.32, 0, 1, "1.0,2.0") } },
	/* Figures add up to 0.8 and no version lacks one (issue 14, defect 3):
	 * the 0.2 no figure accounts for count against a scenario only when a
	 * version without a figure is at risk, so surviving = 1 - 0.3 = 0.7. */
	{ "figures below 100%, no version without a figure: unaccounted users do not count",
	  "api.example.com", NULL,
	  { { "A", 0.6, "1.0", "2026-11-01=0.3", "api.example.com", false, true, "", "other" },
	    { "A", 0.6, "2.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.3, 0, 1, "1.0") } },
	{ "figures below 100%: survivors exactly at the threshold are ready",
	  "api.example.com", NULL,
	  { { "A", 0.7, "1.0", "2026-11-01=0.3", "api.example.com", false, true, "", "other" },
	    { "A", 0.7, "2.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.3, 0, 1, "1.0") } },
	{ "just below the threshold is not ready",
	  "api.example.com", NULL,
	  { { "A", 0.7, "1.0", "2026-11-01=0.3001", "api.example.com", false, true, "", "other" },
	    { "A", 0.7, "3.0", "2026-11-01=0.6999", "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0.3001, 0, 0, "1.0") } },

	/* -- rotations ------------------------------------------------------- */
	{ "key rotation: leaf-only stranded, intermediate and backup survive",
	  "api.example.com", NULL,
	  { { "A", 0.8, "1.0", "2026-11-01=0.2", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.8, "2.0", "2026-11-01=0.3", "api.example.com", false, true, "", "inter" },
	    { "A", 0.8, "3.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf +bk" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", SAME_KEY, 0, 0, 1, ""),
	    E("A", KEY_ROT, 0.2, 0, 1, "1.0"), E("A", CA_CHANGE, 0.5, 0, 0, "1.0,2.0") } },
	{ "key rotation: a root pin survives, a CA change does not",
	  "api.example.com", NULL,
	  { { "A", 0.95, "1.0", ALL, "api.example.com", false, true, "", "root" } },
	  { OK("192.0.2.1") },
	  { E("A", KEY_ROT, 0, 0, 1, ""), E("A", CA_CHANGE, 1.0, 0, 0, "1.0") } },
	{ "a backup pin that is today's leaf key is no backup",
	  "api.example.com", NULL,
	  { { "A", 0.95, "1.0", ALL, "api.example.com", false, true, "", "+leaf" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 0, 0, 1, ""), E("A", KEY_ROT, 1.0, 0, 0, "1.0"),
	    E("A", CA_CHANGE, 1.0, 0, 0, "1.0") } },
	{ "CA change: a backup pin inside today's chain does not survive",
	  "api.example.com", NULL,
	  { { "A", 0.5, "1.0", "2026-11-01=0.4", "api.example.com", false, true, "", "leaf +inter" },
	    { "A", 0.5, "2.0", "2026-11-01=0.6", "api.example.com", false, true, "", "leaf +bk" } },
	  { OK("192.0.2.1") },
	  { E("A", CA_CHANGE, 0.4, 0, 1, "1.0"), E("A", KEY_ROT, 0, 0, 1, "") } },
	{ "same-key renewal keeps leaf pins working",
	  "api.example.com", NULL,
	  { { "A", 0.95, "1.0", ALL, "api.example.com", false, true, "", "leaf" } },
	  { OK("192.0.2.1") },
	  { E("A", SAME_KEY, 0, 0, 1, ""), E("A", KEY_ROT, 1.0, 0, 0, "1.0") } },
	/* AMBIGUOUS: DESIGN words same-key survivors as the key-rotation ones
	 * "also" including leaf pins, which would spare a version that is
	 * stranded today but carries a backup pin. The engine takes same-key
	 * renewal as today's chain again (nothing changes key): still stranded. */
	{ "same-key renewal does not rescue a version stranded today",
	  "api.example.com", NULL,
	  { { "A", 0.95, "1.0", ALL, "api.example.com", false, true, "", "old +bk" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0"), E("A", SAME_KEY, 1.0, 0, 0, "1.0"),
	    E("A", KEY_ROT, 0, 0, 1, "") } },
	{ "key rotation: versions sharing one backup key all survive",
	  "api.example.com", NULL,
	  { { "A", 0.95, "1.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf +bk" },
	    { "A", 0.95, "2.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf +bk" } },
	  { OK("192.0.2.1") },
	  { E("A", KEY_ROT, 0, 0, 1, "") } },
	/* AMBIGUOUS: DESIGN counts any backup pin as a survivor; one new key can
	 * only be one of two different backup keys. The engine credits the key
	 * that leaves the least stranded (here bk2, 0.6): 0.4 stranded. */
	{ "key rotation: two different backup keys, one new key",
	  "api.example.com", NULL,
	  { { "A", 0.5, "1.0", "2026-11-01=0.4", "api.example.com", false, true, "", "leaf +bk" },
	    { "A", 0.5, "2.0", "2026-11-01=0.6", "api.example.com", false, true, "", "leaf +bk2" } },
	  { OK("192.0.2.1") },
	  { E("A", KEY_ROT, 0.4, 0, 1, "1.0"), E("A", CA_CHANGE, 0, 0, 1, "") } },

	/* -- addresses and apps --------------------------------------------- */
	{ "the worst address counts (second address)",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.3", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.7", "api.example.com", false, true, "", "inter" } },
	  { OK("192.0.2.1"), { "192.0.2.2", "ok", "leaf2 inter", "leaf2 inter root" } },
	  { { "A", S_NOW, false, 0.3, 0, 0, "1.0", "192.0.2.2" } } },
	{ "the worst address counts (first address)",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.3", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.7", "api.example.com", false, true, "", "inter" } },
	  { { "192.0.2.2", "ok", "leaf2 inter", "leaf2 inter root" }, OK("192.0.2.1"),
	    OK("192.0.2.3") },
	  { { "A", S_NOW, false, 0.3, 0, 0, "1.0", "192.0.2.2" } } },
	{ "worst address: different versions stranded at different edges",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.3", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.7", "api.example.com", false, true, "", "inter" } },
	  { OK("192.0.2.1"), { "192.0.2.2", "ok", "leaf ca2", "leaf ca2 root2" } },
	  { { "A", S_NOW, false, 0.7, 0, 0, "2.0", "192.0.2.2" } } },
	{ "several apps are judged separately",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", ALL, "api.example.com", false, true, "", "other" },
	    { "B", 0.9, "7.0", ALL, "**.example.com", false, true, "", "inter" },
	    { "C", 0.9, "1.0", ALL, "other.example.com", false, true, "", "other" } },
	  { OK("192.0.2.1") },
	  { E_NOW("A", 1.0, 0, 0, "1.0"), E_NOW("B", 0, 0, 1, ""), ABSENT("C") } },
};

/* clang-format on */

static const struct readiness_scenario *scen_of(const struct readiness_app_verdict *v, enum scen s)
{
	switch (s) {
	case S_NOW:
		return &v->now;
	case SAME_KEY:
		return &v->same_key;
	case KEY_ROT:
		return &v->key_rotation;
	default:
		return &v->ca_change;
	}
}

static const char *const scen_names[] = { "now", "same_key", "key_rotation", "ca_change" };

static bool close_to(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void versions_str(const struct readiness_scenario *s, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->nstranded && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				      s->stranded[i].version->version);
}

static bool strv_has(const struct readiness_strv *sv, const char *needle)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strstr(sv->v[i], needle))
			return true;
	return false;
}

static void build_case(const struct scase *c)
{
	reset();
	for (size_t i = 0; i < ARRAY_SIZE(c->v) && c->v[i].app; i++) {
		const struct vrow *r = &c->v[i];
		struct app *a = app_get(r->app, r->thr);
		struct app_version *v = ver_get(a, r->ver, r->adopt);
		pol_add(v, r->pattern, r->incl, r->enforce, r->expires, r->pins);
	}
	ep_add(c->host);
	for (size_t i = 0; i < ARRAY_SIZE(c->a) && c->a[i].address; i++)
		addr_add(0, c->a[i].address, c->a[i].outcome, c->a[i].presented, c->a[i].validated);
}

static void test_readiness_eval_spec_table(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < ARRAY_SIZE(cases); ci++) {
		const struct scase *c = &cases[ci];
		build_case(c);
		struct readiness_index *idx = readiness_index_new(&inv);
		assert_non_null(idx);
		struct readiness_opts o;
		readiness_opts_default(&o, date_of(c->at ? c->at : DEFAULT_AT));
		struct readiness_report rep;
		assert_int_equal(readiness_eval(idx, &obs, &o, &rep), 0);
		assert_int_equal(rep.neps, 1);
		const struct readiness_endpoint_verdict *ev = &rep.eps[0];
		for (size_t ei = 0; ei < ARRAY_SIZE(c->e) && c->e[ei].app; ei++) {
			const struct expect *e = &c->e[ei];
			const struct readiness_app_verdict *v = NULL;
			for (size_t k = 0; k < ev->napps; k++)
				if (!strcmp(ev->apps[k].app->name, e->app))
					v = &ev->apps[k];
			if (e->absent) {
				if (v)
					fail_msg("%s: app %s must not cover %s", c->name, e->app,
						 c->host);
				continue;
			}
			if (!v)
				fail_msg("%s: app %s missing", c->name, e->app);
			const struct readiness_scenario *s = scen_of(v, e->scen);
			const char *sn = scen_names[e->scen];
			char vs[256];
			versions_str(s, vs, sizeof(vs));
			if (!close_to(s->stranded_share, e->stranded) ||
			    !close_to(s->unknown_share, e->unknown) ||
			    (e->ready >= 0 && s->ready != (e->ready == 1)) ||
			    (e->versions && strcmp(vs, e->versions) != 0) ||
			    (e->address && (!s->address || strcmp(s->address, e->address) != 0)))
				fail_msg("%s: %s %s: got stranded %.6f unknown %.6f ready %d "
					 "versions '%s' address %s; want %.6f %.6f %d '%s' %s",
					 c->name, e->app, sn, s->stranded_share, s->unknown_share,
					 s->ready, vs, s->address ? s->address : "-", e->stranded,
					 e->unknown, e->ready, e->versions ? e->versions : "*",
					 e->address ? e->address : "*");
			/* the per-version shares in the list are the shares at T */
			for (size_t k = 0; k < s->nstranded; k++) {
				const struct adoption_sample *as =
					model_latest_adoption(s->stranded[k].version, o.at);
				assert_int_equal(s->stranded[k].known, as != NULL);
				if (as)
					assert_true(close_to(s->stranded[k].share, as->share));
			}
		}
		if (c->reason) {
			bool found = strv_has(&ev->reasons, c->reason);
			for (size_t k = 0; k < ev->napps && !found; k++)
				found = strv_has(&ev->apps[k].reasons, c->reason);
			if (!found)
				fail_msg("%s: no reason mentions '%s'", c->name, c->reason);
		}
		if (c->no_reason) {
			bool found = strv_has(&ev->reasons, c->no_reason);
			for (size_t k = 0; k < ev->napps && !found; k++)
				found = strv_has(&ev->apps[k].reasons, c->no_reason);
			if (found)
				fail_msg("%s: a reason says '%s'", c->name, c->no_reason);
		}
		if ((int)ev->severity < c->min_severity)
			fail_msg("%s: severity %s, want at least %s", c->name,
				 readiness_severity_name(ev->severity),
				 readiness_severity_name((enum readiness_severity)c->min_severity));
		/* stranded somebody now <=> critical */
		bool strands = false;
		for (size_t k = 0; k < ev->napps; k++)
			strands |= ev->apps[k].now.stranded_share > 0;
		if (strands)
			assert_int_equal(ev->severity, READINESS_CRITICAL);
		readiness_report_free(&rep);
		readiness_index_free(idx);
	}
	reset();
}

/* Expiry: the earliest certificate of the chain; urgency 30 / 14 / 7 days
 * when the rotation it needs is not ready (issue 5). Here the intermediate
 * expires first and the only version pins it: a CA change is not ready. */
static void test_readiness_expiry_urgency(void **state)
{
	(void)state;
	static const struct {
		int64_t seconds_left;
		int64_t days_left;
		enum readiness_severity sev;
	} t[] = {
		{ 31 * 86400, 31, READINESS_INFO }, /* info: CA change not ready */
		{ 30 * 86400, 30, READINESS_INFO },
		{ 14 * 86400 + 3600, 14, READINESS_WARNING },
		{ 7 * 86400 + 3600, 7, READINESS_CRITICAL },
		{ 3600, 0, READINESS_CRITICAL },
		{ -1, -1, READINESS_CRITICAL }, /* expired one second ago */
	};
	time_t at = date_of(DEFAULT_AT);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		reset();
		pol_add(ver_get(app_get("A", 0.95), "1.0", ALL), "api.example.com", false, true, "",
			"inter");
		ep_add("api.example.com");
		addr_add(0, "192.0.2.1", "ok", "leaf inter", "leaf inter root");
		obs.eps[0].addrs[0].validated.certs[1].not_after = at + (time_t)t[i].seconds_left;
		struct readiness_index *idx = readiness_index_new(&inv);
		assert_non_null(idx);
		struct readiness_opts o;
		readiness_opts_default(&o, at);
		struct readiness_report rep;
		assert_int_equal(readiness_eval(idx, &obs, &o, &rep), 0);
		const struct readiness_endpoint_verdict *ev = &rep.eps[0];
		assert_true(ev->expiry.known);
		assert_false(ev->expiry.leaf);
		if (ev->expiry.days_left != t[i].days_left || ev->severity != t[i].sev)
			fail_msg("%lld s left: days_left %lld severity %s, want %lld %s",
				 (long long)t[i].seconds_left, (long long)ev->expiry.days_left,
				 readiness_severity_name(ev->severity), (long long)t[i].days_left,
				 readiness_severity_name(t[i].sev));
		readiness_report_free(&rep);
		readiness_index_free(idx);
	}
	reset();
}

/* ---- What-if, pure ---------------------------------------------------- */

struct wcase {
	const char *name;
	const char *host;
	const char *at;
	struct vrow v[6];
	const char *candidate; /* key names, validated order (leaf first) */
	bool observed;	       /* today's chain TODAY observed at 192.0.2.1 */
	struct {
		const char *app;
		double stranded, unknown;
		const char *versions;
	} e[3];
};

/* clang-format off */
static const struct wcase wcases[] = {
	{ "new leaf key under the same CA",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.2", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.3", "api.example.com", false, true, "", "inter" },
	    { "A", 0.9, "3.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf +leaf2" } },
	  "leaf2 inter root", true,
	  { { "A", 0.2, 0, "1.0" } } },
	{ "bare candidate pins: only the given keys count",
	  "api.example.com", NULL,
	  { { "A", 0.9, "1.0", "2026-11-01=0.2", "api.example.com", false, true, "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.3", "api.example.com", false, true, "", "inter" },
	    { "A", 0.9, "3.0", "2026-11-01=0.5", "api.example.com", false, true, "", "leaf +leaf2" } },
	  "leaf2", false,
	  { { "A", 0.5, 0, "1.0,2.0" } } },
	{ "candidate at a date after the pins expire",
	  "api.example.com", "2027-07-01",
	  { { "A", 0.9, "1.0", "2026-11-01=0.2", "api.example.com", false, true, "2027-06-01",
	      "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.8", "api.example.com", false, true, "", "inter" } },
	  "other ca3", true,
	  { { "A", 0.8, 0, "2.0" } } },
	{ "candidate adoption as of --at",
	  "api.example.com", "2027-03-01",
	  { { "A", 0.9, "1.0", "2026-11-01=0.2,2027-02-01=0.05", "api.example.com", false, true,
	      "", "leaf" },
	    { "A", 0.9, "2.0", "2026-11-01=0.8,2027-02-01=0.95", "api.example.com", false, true,
	      "", "leaf2" } },
	  "leaf2 inter", false,
	  { { "A", 0.05, 0, "1.0" } } },
	{ "never observed host, apps judged separately",
	  "new.example.com", NULL,
	  { { "A", 0.9, "1.0", NULL, "**.example.com", false, true, "", "inter" },
	    { "B", 0.9, "1.0", ALL, "*.example.com", false, true, "", "leaf" } },
	  "leaf2 inter root", false,
	  { { "A", 0, 0, "" }, { "B", 1.0, 0, "1.0" } } },
};

/* clang-format on */

static void test_readiness_whatif_spec_table(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < ARRAY_SIZE(wcases); ci++) {
		const struct wcase *c = &wcases[ci];
		struct scase sc = { .name = c->name, .host = c->host };
		memcpy(sc.v, c->v, sizeof(c->v));
		if (c->observed)
			sc.a[0] = (struct arow)OK("192.0.2.1");
		build_case(&sc);
		struct readiness_chain cand = { 0 };
		chain_set(&cand, c->candidate);
		struct readiness_index *idx = readiness_index_new(&inv);
		assert_non_null(idx);
		struct readiness_whatif w;
		assert_int_equal(readiness_whatif_eval(idx, c->host, &cand,
						       c->observed ? &obs.eps[0] : NULL,
						       date_of(c->at ? c->at : DEFAULT_AT), &w),
				 0);
		double maxs = 0;
		for (size_t ei = 0; ei < ARRAY_SIZE(c->e) && c->e[ei].app; ei++) {
			const struct readiness_whatif_app *a = NULL;
			for (size_t k = 0; k < w.napps; k++)
				if (!strcmp(w.apps[k].app->name, c->e[ei].app))
					a = &w.apps[k];
			if (!a)
				fail_msg("%s: app %s missing", c->name, c->e[ei].app);
			char vs[256];
			versions_str(&a->candidate, vs, sizeof(vs));
			if (!close_to(a->candidate.stranded_share, c->e[ei].stranded) ||
			    !close_to(a->candidate.unknown_share, c->e[ei].unknown) ||
			    strcmp(vs, c->e[ei].versions) != 0)
				fail_msg("%s: %s: got %.6f %.6f '%s', want %.6f %.6f '%s'", c->name,
					 c->e[ei].app, a->candidate.stranded_share,
					 a->candidate.unknown_share, vs, c->e[ei].stranded,
					 c->e[ei].unknown, c->e[ei].versions);
			assert_int_equal(a->current.evaluated, c->observed);
			if (c->e[ei].stranded > maxs)
				maxs = c->e[ei].stranded;
		}
		assert_true(close_to(w.max_stranded, maxs));
		readiness_whatif_free(&w);
		readiness_index_free(idx);
		readiness_chain_free(&cand);
	}
	reset();
}

/* Hostile arithmetic: shares summing above 1, an empty chain, no addresses. */
static void test_readiness_eval_degenerate_inputs(void **state)
{
	(void)state;
	reset();
	struct app *a = app_get("A", 0.95);
	/* stale samples that add up to 1.6: stranded must stay within [0, 1] */
	pol_add(ver_get(a, "1.0", "2026-11-01=0.9"), "api.example.com", false, true, "", "other");
	pol_add(ver_get(a, "2.0", "2026-11-01=0.7"), "api.example.com", false, true, "", "other");
	ep_add("api.example.com");
	addr_add(0, "192.0.2.1", "ok", "leaf inter", "leaf inter root");
	/* an address with no chain at all (timeout) must not count as the worst */
	addr_add(0, "192.0.2.9", "timeout", "", "");
	ep_add("b.example.com"); /* no observation at all */
	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	struct readiness_opts o;
	readiness_opts_default(&o, date_of(DEFAULT_AT));
	struct readiness_report rep;
	assert_int_equal(readiness_eval(idx, &obs, &o, &rep), 0);
	const struct readiness_scenario *s = &rep.eps[0].apps[0].now;
	assert_true(s->stranded_share >= 0 && s->stranded_share <= 1);
	assert_true(close_to(s->stranded_share, 1.0));
	assert_string_equal(s->address, "192.0.2.1");
	assert_true(s->surviving_share >= 0 && s->surviving_share <= 1);
	assert_false(s->ready);
	assert_int_equal(rep.eps[1].napps, 0); /* b.example.com is not covered */
	readiness_report_free(&rep);

	/* an empty candidate is refused, not evaluated as "strands everybody" */
	struct readiness_chain empty = { 0 };
	struct readiness_whatif w;
	assert_int_equal(readiness_whatif_eval(idx, "api.example.com", &empty, NULL,
					       date_of(DEFAULT_AT), &w),
			 -EINVAL);
	readiness_index_free(idx);
	reset();
}

/* ---- The commands on a real database ----------------------------------- */

static const char *pinwatch_bin;
static char tmpdir[64];
static char dbpath[160];
static struct tcert c_root, c_inter, c_leaf1, c_leaf2, c_leaf3;
static time_t NOW;

/* Run pinwatch with @args (a shell fragment of safe words); stdout into *out. */
static int run_pw(json_t **out, const char *fmt, ...)
{
	char args[1024], cmd[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* whatif checks chains against the trust anchors of the config's ca_file */
	snprintf(cmd, sizeof(cmd), "'%s' %s --db '%s' %s%s%s 2>%s/stderr", pinwatch_bin, args,
		 dbpath, strncmp(args, "whatif", 6) ? "" : "-c '",
		 strncmp(args, "whatif", 6) ? "" : tmpdir,
		 strncmp(args, "whatif", 6) ? "" : "/pw.conf'", tmpdir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	int st = pclose(p);
	assert_true(WIFEXITED(st));
	if (out) {
		json_error_t je;
		*out = json_loads(buf, 0, &je);
		if (!*out)
			fail_msg("%s: not JSON (%s): %.300s", args, je.text, buf);
	}
	return WEXITSTATUS(st);
}

static void exec_sql(struct db *db, const char *fmt, ...)
{
	char sql[4096], err[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (db_exec(db, sql, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sql, err);
}

static void put_cert(struct db *db, int id, const struct tcert *c)
{
	struct readiness_chain ch;
	char err[ERRLEN];
	assert_int_equal(readiness_chain_from_pem(c->pem, strlen(c->pem), &ch, err, sizeof(err)),
			 0);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db_handle(db),
					    "INSERT INTO certificates (id, sha256, der, subject, "
					    "issuer, serial, not_before, not_after, key_type, "
					    "key_bits, spki_sha256, is_ca, first_seen) VALUES "
					    "(?, ?, ?, ?, ?, '01', ?, ?, 'ECDSA', 256, ?, ?, ?)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(s, 1, id);
	sqlite3_bind_blob(s, 2, ch.certs[0].sha256, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, c->der, (int)c->der_len, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, ch.certs[0].subject, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, ch.certs[0].issuer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 6, (int64_t)ch.certs[0].not_before);
	sqlite3_bind_int64(s, 7, (int64_t)ch.certs[0].not_after);
	sqlite3_bind_blob(s, 8, ch.certs[0].pin, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 9, ch.certs[0].is_ca);
	sqlite3_bind_int64(s, 10, (int64_t)NOW - 30 * 86400);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	readiness_chain_free(&ch);
}

/* chain @id of certificate ids @ids (0-terminated) */
static void put_chain(struct db *db, int id, const int *ids)
{
	int n = 0;
	while (ids[n])
		n++;
	exec_sql(db, "INSERT INTO chains (id, sha256, length) VALUES (%d, randomblob(32), %d)", id,
		 n);
	for (int i = 0; i < n; i++)
		exec_sql(db, "INSERT INTO chain_certs (chain_id, pos, cert_id) VALUES (%d, %d, %d)",
			 id, i, ids[i]);
}

static void put_obs(struct db *db, const char *host, const char *address, const char *outcome,
		    int presented, int validated, time_t first, time_t last)
{
	char v[16] = "NULL";
	if (validated)
		snprintf(v, sizeof(v), "%d", validated);
	exec_sql(db,
		 "INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id, "
		 "validated_chain_id, first_seen, last_seen) VALUES ((SELECT id FROM endpoints "
		 "WHERE host = '%s'), '%s', '%s', %d, %s, %lld, %lld)",
		 host, address, outcome, presented, v, (long long)first, (long long)last);
}

static void write_file(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int setup_db(void **state)
{
	(void)state;
	NOW = time(NULL);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pinwatch-spec-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/pw.db", tmpdir);
	time_t nb = NOW - 60 * 86400, na = NOW + 365 * 86400;
	assert_int_equal(
		tcert_make(&c_root, "spec root", NULL, NULL, true, nb, na + 3650 * 86400, NULL), 0);
	assert_int_equal(tcert_make(&c_inter, "spec inter", NULL, &c_root, true, nb,
				    na + 1000 * 86400, NULL),
			 0);
	const char *const dns[] = { "api.spec.test", "edge.spec.test", NULL };
	assert_int_equal(tcert_make(&c_leaf1, "api.spec.test", dns, &c_inter, false, nb, na, NULL),
			 0);
	assert_int_equal(tcert_make(&c_leaf2, "api.spec.test", dns, &c_inter, false, nb, na, NULL),
			 0);
	assert_int_equal(tcert_make(&c_leaf3, "api.spec.test", dns, &c_inter, false, nb, na, NULL),
			 0);

	char d_past[16], d_future[16], inventory[8192];
	util_fmt_date(NOW - 30 * 86400, d_past, sizeof(d_past));
	util_fmt_date(NOW + 10 * 86400, d_future, sizeof(d_future));
	/* shop: 1.0 pins only leaf1 (0.2); 2.0 pins the root, never sent (0.3);
	 * 3.0 pins leaf1 + backup leaf2 (0.5); a future sample of 1.0 (0.6) must
	 * not count before its date. ios: one version, no adoption figure, pins
	 * the intermediate. */
	snprintf(inventory, sizeof(inventory),
		 "{\"endpoints\": ["
		 " {\"host\": \"api.spec.test\", \"port\": 443, \"environment\": \"production\"},"
		 " {\"host\": \"edge.spec.test\", \"port\": 443, \"environment\": \"production\"},"
		 " {\"host\": \"cdn.spec.test\", \"port\": 443, \"environment\": \"production\"}],"
		 " \"apps\": ["
		 " {\"name\": \"shop\", \"platform\": \"android\", \"adoption_threshold\": 0.9,"
		 "  \"failure_mode\": \"terminate\", \"versions\": ["
		 "  {\"version\": \"1.0\", \"adoption\": [{\"at\": \"%s\", \"share\": 0.2},"
		 "     {\"at\": \"%s\", \"share\": 0.6}],"
		 "   \"pin_policies\": [{\"pattern\": \"**.spec.test\", \"enforce\": true,"
		 "     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"}]}]},"
		 "  {\"version\": \"2.0\", \"adoption\": [{\"at\": \"%s\", \"share\": 0.3}],"
		 "   \"pin_policies\": [{\"pattern\": \"**.spec.test\", \"enforce\": true,"
		 "     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"}]}]},"
		 "  {\"version\": \"3.0\", \"adoption\": [{\"at\": \"%s\", \"share\": 0.5}],"
		 "   \"pin_policies\": [{\"pattern\": \"**.spec.test\", \"enforce\": true,"
		 "     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"},"
		 "                {\"sha256\": \"%s\", \"role\": \"backup\"}]}]}]},"
		 " {\"name\": \"tiny\", \"platform\": \"android\", \"versions\": ["
		 "  {\"version\": \"1\", \"adoption\": [{\"at\": \"%s\", \"share\": 0.01}],"
		 "   \"pin_policies\": [{\"pattern\": \"tiny.other.test\", \"enforce\": true,"
		 "     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"}]}]},"
		 "  {\"version\": \"2\", \"adoption\": [{\"at\": \"%s\", \"share\": 0.31}],"
		 "   \"pin_policies\": [{\"pattern\": \"tiny.other.test\", \"enforce\": true,"
		 "     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"}]}]},"
		 "  {\"version\": \"3\", \"adoption\": [{\"at\": \"%s\", \"share\": 0.68}],"
		 "   \"pin_policies\": [{\"pattern\": \"tiny.other.test\", \"enforce\": true,"
		 "     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"}]}]}]},"
		 " {\"name\": \"ios\", \"platform\": \"ios\", \"adoption_threshold\": 0.95,"
		 "  \"versions\": ["
		 "  {\"version\": \"9.0\", \"pin_policies\": [{\"pattern\": \"**.spec.test\","
		 "     \"enforce\": true, \"pins\": [{\"sha256\": \"%s\", \"role\": "
		 "\"current\"}]}]}]}]}",
		 d_past, d_future, c_leaf1.pin_b64, d_past, c_root.pin_b64, d_past, c_leaf1.pin_b64,
		 c_leaf2.pin_b64, d_past, c_leaf1.pin_b64, d_past, c_leaf1.pin_b64, d_past,
		 c_inter.pin_b64, c_inter.pin_b64);
	write_file("inventory.json", inventory);
	char arg[256];
	snprintf(arg, sizeof(arg), "import '%s/inventory.json'", tmpdir);
	assert_int_equal(run_pw(NULL, "%s", arg), 0);

	char err[ERRLEN];
	struct db *db = db_open(dbpath, 0, err, sizeof(err));
	if (!db)
		fail_msg("%s", err);
	put_cert(db, 1, &c_root);
	put_cert(db, 2, &c_inter);
	put_cert(db, 3, &c_leaf1);
	put_cert(db, 4, &c_leaf2);
	put_cert(db, 5, &c_leaf3);
	put_chain(db, 1, (const int[]){ 3, 2, 0 });    /* leaf1 inter (presented) */
	put_chain(db, 2, (const int[]){ 3, 2, 1, 0 }); /* leaf1 inter root (validated) */
	put_chain(db, 3, (const int[]){ 5, 2, 0 });    /* leaf3 inter */
	put_chain(db, 4, (const int[]){ 5, 2, 1, 0 }); /* leaf3 inter root */
	/* api: one edge, today's chain for two days */
	put_obs(db, "api.spec.test", "127.0.0.1", "ok", 1, 2, NOW - 2 * 86400, NOW - 3600);
	/* edge: .2 always leaf1; .3 served leaf3 (an unpinned key) from -10 d to
	 * -5 d, then leaf1 again */
	put_obs(db, "edge.spec.test", "127.0.0.2", "ok", 1, 2, NOW - 10 * 86400, NOW - 3600);
	put_obs(db, "edge.spec.test", "127.0.0.3", "ok", 3, 4, NOW - 10 * 86400, NOW - 5 * 86400);
	put_obs(db, "edge.spec.test", "127.0.0.3", "ok", 1, 2, NOW - 5 * 86400 + 3600, NOW - 3600);
	/* cdn: a CDN whose edges rotate: 70 addresses DNS no longer returns (last
	 * seen a month ago), one current edge. Only the current one counts. */
	for (int i = 1; i <= 70; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		put_obs(db, "cdn.spec.test", addr, "ok", 1, 2, NOW - 40 * 86400, NOW - 30 * 86400);
	}
	put_obs(db, "cdn.spec.test", "192.0.2.50", "ok", 1, 2, NOW - 30 * 86400, NOW - 3600);
	db_close(db);

	/* candidate PEM files: leaf2 + inter (root omitted: completed from the pool) */
	char pem[16384];
	snprintf(pem, sizeof(pem), "%s%s", c_leaf2.pem, c_inter.pem);
	write_file("leaf2.pem", pem);
	snprintf(pem, sizeof(pem), "%s%s", c_leaf3.pem, c_inter.pem);
	write_file("leaf3.pem", pem);
	write_file("root.pem", c_root.pem);
	snprintf(pem, sizeof(pem), "[probe]\nca_file = %s/root.pem\n", tmpdir);
	write_file("pw.conf", pem);
	return 0;
}

static int teardown_db(void **state)
{
	(void)state;
	static const char *const files[] = { "pw.db",	       "pw.db-wal", "pw.db-shm", "stderr",
					     "inventory.json", "leaf2.pem", "leaf3.pem" };
	char p[256];
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
		unlink(p);
	}
	rmdir(tmpdir);
	tcert_free(&c_root);
	tcert_free(&c_inter);
	tcert_free(&c_leaf1);
	tcert_free(&c_leaf2);
	tcert_free(&c_leaf3);
	return 0;
}

static json_t *jfind(json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		const char *s = json_string_value(json_object_get(x, key));
		if (s && !strcmp(s, val))
			return x;
	}
	return NULL;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_number(v))
		fail_msg("%s: not a number", k);
	return json_number_value(v);
}

/* {stranded_share, unknown_share, ready, stranded_versions[{version, share}]} */
static void jscen(json_t *app, const char *scen, double stranded, double unknown, int ready,
		  const char *versions)
{
	json_t *s = json_object_get(app, scen);
	if (!json_is_object(s))
		fail_msg("%s missing", scen);
	if (!close_to(jnum(s, "stranded_share"), stranded) ||
	    !close_to(jnum(s, "unknown_share"), unknown))
		fail_msg("%s: stranded %.6f unknown %.6f, want %.6f %.6f", scen,
			 jnum(s, "stranded_share"), jnum(s, "unknown_share"), stranded, unknown);
	if (ready >= 0)
		assert_int_equal(json_is_true(json_object_get(s, "ready")), ready);
	assert_true(json_is_boolean(json_object_get(s, "ready")));
	json_t *sv = json_object_get(s, "stranded_versions"), *x;
	assert_true(json_is_array(sv));
	char got[256] = "";
	size_t i, o = 0;
	json_array_foreach(sv, i, x)
	{
		const char *v = json_string_value(json_object_get(x, "version"));
		assert_non_null(v);
		assert_true(json_object_get(x, "share") != NULL);
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", i ? "," : "", v);
	}
	if (strcmp(got, versions) != 0)
		fail_msg("%s: stranded versions '%s', want '%s'", scen, got, versions);
}

static void test_cmd_check_json_contract(void **state)
{
	(void)state;
	json_t *rep;
	int rc = run_pw(&rep, "check --json");
	assert_int_equal(rc, 0); /* nobody is stranded now: nothing critical */
	json_t *ep = jfind(json_object_get(rep, "endpoints"), "host", "api.spec.test");
	assert_non_null(ep);
	assert_int_equal(json_integer_value(json_object_get(ep, "port")), 443);
	const char *sev = json_string_value(json_object_get(ep, "severity"));
	assert_non_null(sev);
	assert_true(!strcmp(sev, "ok") || !strcmp(sev, "info") || !strcmp(sev, "warning"));
	json_t *ad = json_array_get(json_object_get(ep, "addresses"), 0);
	assert_string_equal(json_string_value(json_object_get(ad, "address")), "127.0.0.1");
	assert_non_null(json_string_value(json_object_get(ad, "outcome")));
	json_t *chain = json_object_get(ad, "chain"), *cert;
	assert_true(json_array_size(chain) >= 2);
	size_t i;
	json_array_foreach(chain, i, cert)
	{
		assert_non_null(json_string_value(json_object_get(cert, "subject")));
		assert_non_null(json_string_value(json_object_get(cert, "issuer")));
		assert_non_null(json_string_value(json_object_get(cert, "not_after")));
		assert_non_null(json_string_value(json_object_get(cert, "pin")));
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 0), "pin")),
			    c_leaf1.pin_b64);
	json_t *ex = json_object_get(ep, "expiry");
	assert_non_null(json_string_value(json_object_get(ex, "not_after")));
	/* the leaf expires first, in 365 days (floor of the remaining days) */
	json_int_t days = json_integer_value(json_object_get(ex, "days_left"));
	assert_true(days == 364 || days == 365);
	assert_true(json_is_array(json_object_get(ep, "reasons")));

	/* edges DNS no longer returns do not count, however many there were */
	json_t *cdn = jfind(json_object_get(rep, "endpoints"), "host", "cdn.spec.test");
	assert_non_null(cdn);
	assert_int_equal(json_array_size(json_object_get(cdn, "addresses")), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(cdn, "addresses"), 0), "address")),
		"192.0.2.50");

	json_t *shop = jfind(json_object_get(ep, "apps"), "app", "shop");
	assert_non_null(shop);
	assert_true(json_is_array(json_object_get(shop, "reasons")));
	/* the future 0.6 sample of 1.0 must not count: 0.2 */
	jscen(shop, "now", 0, 0, 1, "");
	jscen(shop, "key_rotation", 0.2, 0, 0, "1.0");
	jscen(shop, "ca_change", 0.5, 0, 0, "1.0,2.0");
	json_t *sv = json_object_get(json_object_get(shop, "key_rotation"), "stranded_versions");
	assert_true(close_to(jnum(json_array_get(sv, 0), "share"), 0.2));
	json_t *ios = jfind(json_object_get(ep, "apps"), "app", "ios");
	assert_non_null(ios);
	/* ios 9.0 pins the intermediate: nobody is stranded now or by a key
	 * rotation, and with no version without a figure at risk the users no
	 * figure accounts for do not count: both are ready (issue 14, defect 3);
	 * a CA change strands 9.0, and with no adoption figure it is unknown,
	 * not 0, and not ready */
	jscen(ios, "now", 0, 0, 1, "");
	jscen(ios, "key_rotation", 0, 0, 1, "");
	jscen(ios, "ca_change", 0, 1.0, 0, "9.0");
	json_t *unk = json_array_get(
		json_object_get(json_object_get(ios, "ca_change"), "stranded_versions"), 0);
	assert_true(json_is_null(json_object_get(unk, "share")));
	json_decref(rep);
}

/* --at in the past: observations and adoption as of then (issue 5). At
 * now - 7 d, edge 127.0.0.3 served leaf3, which shop 1.0 and 3.0 do not pin:
 * 0.7 of shop's users were stranded. */
static void test_cmd_check_at_past(void **state)
{
	(void)state;
	char at[32];
	json_t *rep;
	util_fmt_time(NOW - 7 * 86400, at, sizeof(at));
	int rc = run_pw(&rep, "check --json --at %s", at);
	json_t *ep = jfind(json_object_get(rep, "endpoints"), "host", "edge.spec.test");
	assert_non_null(ep);
	json_t *shop = jfind(json_object_get(ep, "apps"), "app", "shop");
	assert_non_null(shop);
	jscen(shop, "now", 0.7, 0, 0, "1.0,3.0");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(shop, "now"), "address")),
		"127.0.0.3");
	assert_string_equal(json_string_value(json_object_get(ep, "severity")), "critical");
	assert_int_equal(rc, 1);
	json_decref(rep);

	/* and today edge .3 is back on leaf1: nobody stranded */
	rc = run_pw(&rep, "check --json");
	ep = jfind(json_object_get(rep, "endpoints"), "host", "edge.spec.test");
	jscen(jfind(json_object_get(ep, "apps"), "app", "shop"), "now", 0, 0, 1, "");
	assert_int_equal(rc, 0);
	json_decref(rep);
}

static json_t *wapp(json_t *w, const char *app)
{
	json_t *a = jfind(json_object_get(w, "apps"), "app", app);
	if (!a)
		fail_msg("whatif: app %s missing", app);
	return a;
}

static void test_cmd_whatif_gate(void **state)
{
	(void)state;
	json_t *w;
	/* leaf2 (shop 3.0's backup key) under the same intermediate; the root
	 * is completed from the observed pool, so shop 2.0 (root pin) survives */
	int rc = run_pw(&w, "whatif --host api.spec.test --chain %s/leaf2.pem --json", tmpdir);
	assert_int_equal(rc, 1);
	json_t *shop = wapp(w, "shop");
	assert_true(close_to(jnum(shop, "stranded_share"), 0.2));
	assert_true(close_to(jnum(shop, "unknown_share"), 0));
	json_t *sv = json_object_get(shop, "stranded_versions");
	assert_int_equal(json_array_size(sv), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sv, 0), "version")),
			    "1.0");
	assert_true(close_to(jnum(wapp(w, "ios"), "stranded_share"), 0));
	json_decref(w);

	/* --max-stranded boundaries: equal passes, just below the share fails */
	assert_int_equal(run_pw(NULL,
				"whatif --host api.spec.test --chain %s/leaf2.pem "
				"--max-stranded 0.2",
				tmpdir),
			 0);
	assert_int_equal(run_pw(NULL,
				"whatif --host api.spec.test --chain %s/leaf2.pem "
				"--max-stranded 0.199",
				tmpdir),
			 1);
	assert_int_equal(run_pw(NULL,
				"whatif --host api.spec.test --chain %s/leaf2.pem "
				"--max-stranded 1",
				tmpdir),
			 0);

	/* leaf3: a key nobody pins. shop 1.0 and 3.0 stranded (0.7) */
	rc = run_pw(&w, "whatif --host api.spec.test --chain %s/leaf3.pem --json", tmpdir);
	assert_int_equal(rc, 1);
	assert_true(close_to(jnum(wapp(w, "shop"), "stranded_share"), 0.7));
	json_decref(w);
	assert_int_equal(run_pw(NULL,
				"whatif --host api.spec.test --chain %s/leaf3.pem "
				"--max-stranded 0.7",
				tmpdir),
			 0);
	assert_int_equal(run_pw(NULL,
				"whatif --host api.spec.test --chain %s/leaf3.pem "
				"--max-stranded 0.69",
				tmpdir),
			 1);

	/* bare pins: only these keys; the root pin of 2.0 is not among them */
	rc = run_pw(&w, "whatif --host api.spec.test --pin %s --pin %s --json", c_leaf2.pin_b64,
		    c_inter.pin_b64);
	assert_int_equal(rc, 1);
	assert_true(close_to(jnum(wapp(w, "shop"), "stranded_share"), 0.5));
	json_decref(w);
	/* at a date when the future 0.6 sample of 1.0 counts */
	char at[16];
	util_fmt_date(NOW + 11 * 86400, at, sizeof(at));
	rc = run_pw(&w, "whatif --host api.spec.test --chain %s/leaf2.pem --at %s --json", tmpdir,
		    at);
	assert_int_equal(rc, 1);
	assert_true(close_to(jnum(wapp(w, "shop"), "stranded_share"), 0.6));
	json_decref(w);

	/* a host pinwatch never observed nor inventoried: a usage error (a typo
	 * must not pass a gate), evaluated alone with --any-host */
	assert_int_equal(run_pw(NULL, "whatif --host new.spec.test --pin %s", c_inter.pin_b64), 2);
	rc = run_pw(&w, "whatif --host new.spec.test --any-host --pin %s --json", c_inter.pin_b64);
	assert_int_equal(rc, 1); /* shop's **.spec.test pins leaf1/root/leaf1+leaf2 */
	json_t *ios = wapp(w, "ios");
	assert_true(close_to(jnum(ios, "stranded_share"), 0));
	assert_true(json_is_null(json_object_get(ios, "current")) ||
		    !json_object_get(ios, "current"));
	json_decref(w);
	/* AMBIGUOUS: only unknown users at risk is no "stranded share" for the
	 * gate: ios alone with a key it does not pin -> unknown 1.0, exit by shop */
	rc = run_pw(&w, "whatif --host new.spec.test --any-host --pin %s --json", c_leaf1.pin_b64);
	ios = wapp(w, "ios");
	assert_true(close_to(jnum(ios, "stranded_share"), 0));
	assert_true(close_to(jnum(ios, "unknown_share"), 1.0));
	assert_true(close_to(jnum(wapp(w, "shop"), "stranded_share"), 0.3));
	assert_int_equal(rc, 1);
	json_decref(w);

	/* 0.01 + 0.31 is not 0.32 in doubles: stranded == --max-stranded passes */
	assert_int_equal(run_pw(NULL,
				"whatif --host tiny.other.test --any-host --pin %s --pin %s "
				"--max-stranded 0.32",
				c_leaf3.pin_b64, c_inter.pin_b64),
			 0);
	assert_int_equal(run_pw(NULL,
				"whatif --host tiny.other.test --any-host --pin %s --pin %s "
				"--max-stranded 0.3199",
				c_leaf3.pin_b64, c_inter.pin_b64),
			 1);
	/* the default gate is 0: any stranded share is a risk */
	assert_int_equal(
		run_pw(NULL, "whatif --host tiny.other.test --any-host --pin %s", c_leaf3.pin_b64),
		1);
	assert_int_equal(run_pw(NULL, "whatif --host tiny.other.test --any-host --pin %s --pin %s",
				c_leaf1.pin_b64, c_inter.pin_b64),
			 0);

	/* the host is normalised: upper case and a trailing dot find the endpoint */
	rc = run_pw(&w, "whatif --host API.Spec.TEST. --chain %s/leaf2.pem --json", tmpdir);
	assert_int_equal(rc, 1);
	assert_string_equal(json_string_value(json_object_get(w, "host")), "api.spec.test");
	assert_true(json_is_object(json_object_get(wapp(w, "shop"), "current")));
	assert_true(close_to(jnum(wapp(w, "shop"), "stranded_share"), 0.2));
	json_decref(w);

	/* usage errors are 2 */
	assert_int_equal(run_pw(NULL, "whatif --host api.spec.test"), 2);
	assert_int_equal(run_pw(NULL, "whatif --host api.spec.test --pin %s --max-stranded 1.5",
				c_leaf2.pin_b64),
			 2);
	assert_int_equal(run_pw(NULL, "whatif --host api.spec.test --pin notapin"), 2);
}

int main(int argc, char **argv)
{
	pinwatch_bin = argc > 1 ? argv[1] : getenv("PINWATCH_BIN");
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_readiness_eval_spec_table),
		cmocka_unit_test(test_readiness_whatif_spec_table),
		cmocka_unit_test(test_readiness_eval_degenerate_inputs),
		cmocka_unit_test(test_readiness_expiry_urgency),
	};
	const struct CMUnitTest cli[] = {
		cmocka_unit_test(test_cmd_check_json_contract),
		cmocka_unit_test(test_cmd_check_at_past),
		cmocka_unit_test(test_cmd_whatif_gate),
	};
	int rc = cmocka_run_group_tests_name("readiness_spec", pure, NULL, NULL);
	if (!pinwatch_bin) {
		fprintf(stderr, "no pinwatch binary given: command tests not run\n");
		return 1;
	}
	return rc | cmocka_run_group_tests_name("readiness_spec_cli", cli, setup_db, teardown_db);
}
