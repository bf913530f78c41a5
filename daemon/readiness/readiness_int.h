/* Private to readiness*.c: the index and the coverage of one host. */
#ifndef PINWATCH_READINESS_INT_H
#define PINWATCH_READINESS_INT_H

#include <stdarg.h>

#include "base/strbuf.h"
#include "readiness/readiness.h"

#define RD_MAX_POL 8 /* deciding covering policies kept per version */

/** The library a policy came from decides how it is selected (readiness.c). */
enum rd_src { RD_SRC_INVENTORY = 0, RD_SRC_NSC, RD_SRC_TRUSTKIT, RD_SRC_OKHTTP, RD_SRC_N };
/** "nsc" -> RD_SRC_NSC ...; "inventory", "api", NULL and anything else -> RD_SRC_INVENTORY. */
enum rd_src rd_src_of(const char *source);

/** One indexed policy. */
struct rd_entry {
	uint32_t app, ver, pol;
	int spec;
	int kind;	  /* 0 exact, 1 "*.", 2 "**." */
	bool incl;	  /* include_subdomains */
	uint8_t src;	  /* enum rd_src of the policy's source */
	const char *base; /* pattern without its "*." / "**." prefix */
	size_t baselen;
};

struct rd_bucket {
	const char *key; /* NULL: empty slot */
	size_t keylen;
	uint32_t *idx; /* into readiness_index.entries */
	size_t n, cap;
};

struct readiness_index {
	const struct inventory *inv;
	struct rd_entry *entries;
	size_t nentries;
	struct rd_bucket *buckets;
	size_t nbuckets; /* power of two */
};

/** The bucket of policies whose pattern base is @key (@n bytes), or NULL. */
const struct rd_bucket *rd_bucket_find(const struct readiness_index *idx, const char *key,
				       size_t n);

/**
 * One version covering the host: the policies that decide, by the rules of
 * the library each came from (docs/readiness.md "Policy selection"). They form
 * checker groups: the pins of one group are accepted together (one pin set);
 * the version accepts a chain only when every group with an enforcing policy
 * accepts it (several libraries check one connection; TrustKit's unordered
 * choice between includeSubdomains parents is taken at its worst).
 */
struct rd_cov {
	const struct app_version *v;
	const struct pin_policy *pol[RD_MAX_POL];
	bool pol_enf[RD_MAX_POL]; /* which of them enforce at T */
	uint8_t grp[RD_MAX_POL];  /* checker group of pol[i], 0..ngrp-1 */
	size_t npol;
	uint8_t ngrp;
	bool enforcing; /* at T: any of them */
	bool known;	/* adoption figure at T */
	double share;
};

/** Versions of one app covering the host. */
struct rd_appcov {
	const struct app *app;
	struct rd_cov *vers;
	size_t n;
	size_t nenforcing;
	double known_sum; /* sum of latest shares of ALL versions of the app at T */
};

struct rd_hostcov {
	struct rd_appcov *apps;
	size_t napps;
	struct rd_cov *pool; /* storage of every rd_appcov.vers */
};

/** A pattern split once for fast repeated matching. */
struct rd_pat {
	const char *base;
	size_t blen;
	int kind; /* 0 exact, 1 "*.", 2 "**." */
	bool incl;
};
void rd_pat_init(struct rd_pat *p, const char *pattern, bool include_subdomains);
/** readiness_pattern_covers() with lengths known. */
bool rd_covers(const struct rd_pat *p, const char *host, size_t hlen);

enum rd_kind { RD_NOW, RD_KEY_ROTATION, RD_CA_CHANGE };

/** Adoption at T computed once per evaluation (not per endpoint). */
struct rd_shares {
	double *app_known; /* [napps]: sum of latest shares of all versions */
	double *ver_share; /* [app_off[a] + v]: latest share, < 0 when unknown */
	size_t *app_off;
};
int rd_shares_build(const struct inventory *inv, time_t at, struct rd_shares *out);
void rd_shares_free(struct rd_shares *sh);

/** Coverage of @host at @at (@sh: precomputed shares at @at, or NULL). 0 or -ENOMEM. */
int rd_hostcov_build(const struct readiness_index *idx, const char *host, time_t at,
		     const struct rd_shares *sh, struct rd_hostcov *out);
void rd_hostcov_free(struct rd_hostcov *hc);

#define RD_F_NOW	  (1u << RD_NOW)
#define RD_F_KEY_ROTATION (1u << RD_KEY_ROTATION)
#define RD_F_CA_CHANGE	  (1u << RD_CA_CHANGE)

/**
 * What is known of the trust anchor a chain validates to, for NSC
 * overridePins: @system is true when the chain was validated by the
 * configured trust store (the probe's validated chain, or a candidate the
 * what-if gate checks), @pin is the SPKI pin of its last certificate (the
 * anchor) or NULL when unknown (presented chain only, bare candidate pins).
 */
struct rd_anchor {
	bool system;
	const uint8_t *pin;
};
/** The anchor of an address's evaluated chain. */
struct rd_anchor rd_anchor_of(const struct readiness_address *a);

/**
 * Survival of version @c under every kind at once (RD_F_* bits; c->enforcing
 * assumed). RD_F_KEY_ROTATION here only means "pins a CA key of @chain (or an
 * overridePins anchor applies)"; the new key a rotation can use is chosen per
 * app by the evaluation. @an may be NULL (no override applies).
 */
uint8_t rd_flags(const struct rd_cov *c, const struct readiness_chain *chain,
		 const struct rd_anchor *an);
/**
 * Whether version @c survives a key rotation of @chain to the new leaf key
 * @key: every enforcing group pins a CA key of @chain, has an applying
 * overridePins anchor, or pins @key.
 */
bool rd_survives_key(const struct rd_cov *c, const struct readiness_chain *chain,
		     const struct rd_anchor *an, const uint8_t key[32]);
/** Whether @c has an enforcing policy with an overridePins anchor pinwatch could not
 * read ("@raw/..."): verdicts then assume the pin check applies. */
bool rd_cov_unresolved_override(const struct rd_cov *c);

/** Users per app the engine cannot place: max(0, 1 - known_sum). */
double rd_unaccounted(const struct rd_appcov *ac);

/*
 * Sentences are built in a strbuf from rd_sb_new() with the rd_sb_* adders,
 * which cut the text at RD_SB_MAX bytes instead of failing (harmless:
 * sentences are for people); only -ENOMEM sticks, and rd_sb_push() reports it.
 * The adders cut a strbuf with a smaller cap at its own cap.
 */
#define RD_SB_MAX 1535
/** An empty sentence buffer (allocates nothing). */
struct strbuf rd_sb_new(void);
void rd_sb_add(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** "4.1.0 (15.5%) and 4.2.0 (7.5%)" for the stranded list (at most 6 named). */
void rd_sb_versions(struct strbuf *sb, const struct readiness_version_share *v, size_t n);
void rd_sb_pct(struct strbuf *sb, double share);
/** Append a plain string. */
void rd_sb_str(struct strbuf *sb, const char *str);
/**
 * Move the text of @sb to @sv (dropped, not an error, when @sv holds
 * READINESS_MAX_REASONS) and leave @sb empty. 0, or -ENOMEM (also when an
 * add to @sb failed).
 */
int rd_sb_push(struct readiness_strv *sv, struct strbuf *sb);

/** Forecast of key_rotation readiness for @ac given its per-version survival. */
void rd_forecast(const struct rd_appcov *ac, const bool *survive, const struct readiness_opts *o,
		 struct readiness_forecast *out);

/** Rule stale_pin of lint_rules[] (readiness_lint.c): reads c->in->idx, obs and opts;
 *  finds nothing without them. 0 or -ENOMEM. */
int rd_rule_stale_pin(struct lint_ctx *c);

/** The same certificates in the same order (by DER SHA-256). */
bool rd_same_chain(const struct readiness_chain *a, const struct readiness_chain *b);

/** The chain pins are checked against: validated, else presented. */
const struct readiness_chain *rd_eval_chain(const struct readiness_address *a);

/** Dual certificates (readiness_variants.c): the endpoint warning when an
 *  address's discovered chains differ in their pins, and expiry over them.
 *  0 or -ENOMEM. */
int rd_variant_observations(struct readiness_endpoint_verdict *out);
/** rd_anchor_of() for the chain apps of @platform are evaluated against
 *  (readiness_platform_chain()). */
struct rd_anchor rd_platform_anchor(const struct readiness_address *a, enum app_platform platform);
/** Rule chains_differ of lint_rules[]: versions that accept one discovered chain
 *  of an address but not another. Reads c->in->idx, obs, at and verdicts; finds
 *  nothing without them. 0 or -ENOMEM. */
int rd_rule_chains_differ(struct lint_ctx *c);

/* ---- Scenarios (readiness_scenario.c), reasons (readiness_reasons.c) --- */

/** Shares closer than this are equal. */
#define RD_EPS 1e-9

static inline double rd_clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* Survival flags of every covering version of one app against one address. */
struct rd_addr_flags {
	const struct readiness_address *a; /* NULL for a candidate */
	const struct readiness_chain *ch;
	struct rd_anchor an; /* the anchor the chain validates to (NSC overridePins) */
	uint8_t *f;	     /* [ac->n] */
	bool has_key;	     /* key rotation: the new leaf key chosen for this address */
	uint8_t key[32];
};

/* Leaf keys the inventory's endpoints present now, sorted by key, so that
 * the advice never offers a key another host serves as a spare: a key in use
 * elsewhere is no backup. */
struct rd_live_key {
	uint8_t key[32];
	size_t ep; /* index into the inventory's endpoints */
};
struct rd_live {
	struct rd_live_key *v;
	size_t n;
};

/** The leaf keys the first @neps endpoints of @obs present now (rd_live), sorted by key.
 *  Free out->v. 0 or -ENOMEM. */
int rd_live_build(const struct readiness_observations *obs, size_t neps, struct rd_live *out);

/** Flags of @ac against every address of @obs into @af (one per address); @buf
 *  (*@bufcap bytes) grows as needed. @live/@self: leaf keys in use elsewhere
 *  (NULL: none), the endpoint's index. 0 or -ENOMEM. */
int rd_flags_for(const struct rd_appcov *ac, const struct readiness_observed *obs,
		 struct rd_addr_flags *af, uint8_t **buf, size_t *bufcap,
		 const struct rd_live *live, size_t self);

/** Scenario @bit of @ac from the flags @f (NULL: nothing observed; only the
 *  counts) at @address. 0 or -ENOMEM. */
int rd_scenario_fill(const struct rd_appcov *ac, uint8_t bit, const uint8_t *f, const char *address,
		     struct readiness_scenario *out);
/** Scenario @bit of @ac at its worst address among @af. 0 or -ENOMEM. */
int rd_scenario_worst(const struct rd_appcov *ac, uint8_t bit, const struct rd_addr_flags *af,
		      size_t naf, struct readiness_scenario *out);
void rd_scenario_free(struct readiness_scenario *s);
/** Whether a version without an adoption figure is at risk in @s. */
bool rd_has_unknown(const struct readiness_scenario *s);

/** The reasons of app verdict @v of endpoint @ep into @rs. 0 or -ENOMEM. */
int rd_reasons_app(const struct endpoint *ep, const struct rd_appcov *ac,
		   const struct readiness_app_verdict *v, time_t at,
		   const struct readiness_observed *obs, struct readiness_strv *rs);
/** The reasons of what-if app @wa for candidate @cand. 0 or -ENOMEM. */
int rd_whatif_reasons(const struct rd_appcov *ac, struct readiness_whatif_app *wa,
		      const struct readiness_chain *cand);

#endif
