/* The readiness engine: who is stranded now, by a rotation, by a candidate.
 *
 * PURE: plain structs and a time value in, verdict structs out. No SQLite,
 * no clock, no sockets (readiness_load.c builds the inputs from the store).
 * The full rule book is docs/readiness.md; the short version:
 *
 * Coverage: a policy covers a host by readiness_pattern_covers(). Which
 * covering policies of one version decide depends on their source
 * (docs/readiness.md "Policy selection"): nsc and trustkit take the domain
 * equal to the host, else nsc the longest includeSubdomains parent and
 * trustkit any one of them (worst case); okhttp takes every matching pattern
 * (one pin set); inventory/api the most specific pattern
 * (readiness_pattern_specificity(), ties merged). Every source with an
 * enforcing selection must accept the chain.
 *
 * Enforcement at T: enforce && npins > 0 && (no expires || T < expires_at).
 *
 * Acceptance: any pin of a selection equals the SPKI pin of any certificate
 * of the evaluated chain: the validated chain (anchor included), or the
 * presented chain when the probe could not validate (said in reasons); or an
 * NSC overridePins anchor of the policy applies to the chain's anchor.
 *
 * Shares, for one app, one chain, at T (share(v) = latest adoption sample of v
 * at or before T, model_latest_adoption()):
 *   at risk      = enforcing covering versions that do not accept the chain
 *   stranded     = sum of share(v) over at-risk versions with a figure (<= 1)
 *   unaccounted  = max(0, 1 - sum of share(v) over ALL versions with a figure)
 *   unknown      = unaccounted if at least one at-risk version has no figure,
 *                  else 0 (the users we cannot place might be on it)
 *   surviving    = clamp(1 - stranded - unknown, 0, 1)
 *                  (1 when no version enforces a covering policy)
 *   ready        = surviving >= adoption_threshold - 1e-9
 * Per endpoint every address is evaluated and the worst one (largest
 * stranded, then largest unknown) is the endpoint's figure.
 *
 * Scenarios derived from today's chain C (leaf = C[0], CA = C[1..]):
 *   now, same_key : accept iff pin in C (or an override anchor applies)
 *   key_rotation  : accept iff pin in CA, an override anchor applies, or it
 *                   pins the key K the new leaf key is assumed to be; K is
 *                   the pin of any role, in no certificate of C, that leaves
 *                   the smallest stranded share, then the smallest unknown
 *                   share (one new key can match only one pinned key)
 *   ca_change     : accept iff a backup pin that is in no certificate of C,
 *                   or a "system" override anchor
 *   candidate     : accept iff pin in the candidate chain / pin list, or an
 *                   override anchor applies to the candidate's anchor
 */
#ifndef PINWATCH_READINESS_H
#define PINWATCH_READINESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/severity.h"
#include "model/model.h"
#include "readiness/lint.h"

/* ---- Inputs ----------------------------------------------------------- */

/** One certificate as the engine needs it. Strings owned by the struct. */
struct readiness_cert {
	uint8_t pin[32];    /**< SHA-256 of the DER SubjectPublicKeyInfo */
	uint8_t sha256[32]; /**< SHA-256 of the DER certificate (zero for bare pins) */
	char *subject;	    /**< NULL for a bare candidate pin */
	char *issuer;	    /**< NULL for a bare candidate pin */
	time_t not_before;
	time_t not_after; /**< 0 for a bare candidate pin */
	bool is_ca;
};

/** An ordered chain, leaf first. */
struct readiness_chain {
	struct readiness_cert *certs;
	size_t ncerts;
};

/**
 * A chain the address presents to a client that offers only ECDSA, or only
 * RSA, signature algorithms (dual-certificate discovery): its latest
 * discovery at or before T.
 */
struct readiness_variant {
	char *variant;			  /**< "ecdsa" or "rsa" */
	char *outcome;			  /**< as for the address */
	struct readiness_chain presented; /**< empty when that offer got no chain */
	struct readiness_chain validated;
	time_t first_seen;
	time_t last_seen;
};

/** The latest observation of one address of an endpoint. */
struct readiness_address {
	char *address; /**< "192.0.2.1", "2001:db8::1" */
	char *outcome; /**< probe outcome class: "ok", "untrusted", "timeout"... */
	struct readiness_chain presented; /**< as sent by the server (may be empty) */
	struct readiness_chain validated; /**< completed to the anchor; empty when not validated */
	time_t first_seen;		  /**< when this (outcome, chain) was first seen */
	time_t last_seen;
	struct readiness_chain previous; /**< presented chain of the previous row with a
					      different chain; empty when none */
	/** Discovered chains (ECDSA-only and RSA-only offers); Android and iOS
	 *  apps are evaluated against the "ecdsa" one when it has a chain
	 *  (readiness_platform_chain()), other apps against the chain above. */
	struct readiness_variant *variants;
	size_t nvariants;
};

/** SPKI pin -> last time it was in a chain (presented or validated) of the endpoint. */
struct readiness_pin_seen {
	uint8_t pin[32];
	time_t last_seen;
};

/** Everything observed for one endpoint. */
struct readiness_observed {
	struct readiness_address *addrs;
	size_t naddrs;
	struct readiness_pin_seen *seen; /**< any order */
	size_t nseen;
	time_t history_since; /**< first_seen of the oldest observation; 0 = none */
};

/** Observations parallel to inventory->endpoints (obs[i] belongs to endpoints[i]). */
struct readiness_observations {
	struct readiness_observed *eps;
	size_t neps;
};

struct readiness_opts {
	time_t at;		   /**< evaluation time T */
	int64_t stale_after_s;	   /**< stale pin: not seen for this long (default 30 d) */
	int64_t drift_window_s;	   /**< a chain change this recent is drift (default 7 d) */
	int64_t forecast_window_s; /**< adoption samples this recent feed the forecast (default 120
				      d) */
};

/** Defaults above, evaluated at @at. */
void readiness_opts_default(struct readiness_opts *o, time_t at);

/* ---- Outputs ---------------------------------------------------------- */

/** A growable list of sentences (hard cap READINESS_MAX_REASONS). */
#define READINESS_MAX_REASONS 64
struct readiness_strv {
	char **v;
	size_t n;
	size_t cap;
};

struct readiness_version_share {
	const struct app_version *version; /**< points into the inventory */
	double share;			   /**< meaningful when known */
	bool known;			   /**< false: no adoption figure at T */
};

/** One scenario for one app (docs/readiness.md "JSON shape"). */
struct readiness_scenario {
	bool evaluated;	     /**< false: no chain was observed to derive it from */
	const char *address; /**< the worst address (points into the observations), or NULL */
	double stranded_share;
	double unknown_share;
	double surviving_share;
	bool ready;
	size_t nenforcing;	  /**< versions enforcing a covering policy at T */
	bool has_rotation_key;	  /**< key_rotation: a backup key to rotate to was chosen */
	uint8_t rotation_key[32]; /**< key_rotation: that backup key's pin */
	struct readiness_version_share *stranded; /**< at-risk versions, inventory order */
	size_t nstranded;
};

struct readiness_forecast {
	bool available;	 /**< a date was estimated */
	time_t date;	 /**< when the key-rotation surviving share reaches the threshold */
	size_t nsamples; /**< sample dates used */
	char basis[200]; /**< how (or why not): "linear fit on 4 samples 2026-09-01..2026-11-20 ..."
			  */
};

struct readiness_app_verdict {
	const struct app *app;
	struct readiness_scenario now;
	struct readiness_scenario same_key;	/**< renewal with the same key */
	struct readiness_scenario key_rotation; /**< new leaf key, same CA chain */
	struct readiness_scenario ca_change;	/**< every key of today's chain replaced */
	struct readiness_forecast forecast;	/**< of key_rotation readiness */
	struct readiness_strv reasons;
};

struct readiness_expiry {
	bool known;
	time_t not_after;    /**< earliest not_after of any certificate of any address */
	int64_t days_left;   /**< floor((not_after - T) / 86400); negative once expired */
	bool leaf;	     /**< the earliest is a leaf (renewal) rather than a CA cert */
	const char *subject; /**< its subject (points into the observations) */
};

struct readiness_endpoint_verdict {
	const struct endpoint *ep;	      /**< points into the inventory */
	const struct readiness_observed *obs; /**< may be NULL */
	time_t at;			      /**< evaluation time */
	enum severity severity;
	struct readiness_expiry expiry;
	bool pinned;	      /**< some app enforces a covering policy at T */
	bool unprotected;     /**< production endpoint that no app pins */
	bool drift;	      /**< an address changed chain within the drift window */
	bool disagree;	      /**< addresses of the name present different chains */
	bool failing;	      /**< some address has an outcome other than "ok" */
	bool variants_differ; /**< an address presents chains that differ in their pins by what
				 the client offers (dual-certificate discovery) */
	struct readiness_app_verdict *apps; /**< apps with a covering policy, inventory order */
	size_t napps;
	struct readiness_strv reasons; /**< endpoint-level sentences */
};

struct readiness_report {
	time_t at;
	struct readiness_endpoint_verdict *eps; /**< parallel to inventory->endpoints */
	size_t neps;
	struct lint_report findings; /**< every rule of lint_rules[] (lint.h) */
	enum severity worst;
};

/* ---- Patterns --------------------------------------------------------- */

/**
 * Whether @pattern covers @host (both normalised, model_normalize_*):
 * exact host; "*.base" exactly one label below base; "**.base" base and any
 * depth below it; an exact host with @include_subdomains also any depth below
 * it; "*.base" with @include_subdomains any depth >= 1 below base.
 */
bool readiness_pattern_covers(const char *pattern, bool include_subdomains, const char *host);

/**
 * Specificity of a pattern: more labels in the base are more specific; for an
 * equal base: exact host (3) > "*." (2) > exact with include_subdomains or
 * "**." (1). Returns 4 * labels(base) + kind. Of two covering policies of one
 * version, the higher number wins.
 */
int readiness_pattern_specificity(const char *pattern, bool include_subdomains);

/** Whether @p enforces at @at: enforce, has pins, and not expired (T < expires_at). */
bool readiness_policy_enforces(const struct pin_policy *p, time_t at);

/**
 * Whether version @v pins @host at @at by the engine's rules: the policies
 * the libraries they came from select for @host (docs/readiness.md "Policy
 * selection") include one that enforces at @at. For pin lint.
 */
bool readiness_version_pins(const struct app_version *v, const char *host, time_t at);

/* ---- Evaluation ------------------------------------------------------- */

struct readiness_index;

/**
 * Index the policies of @inv by the base domain of their pattern so that a
 * host finds its candidate policies without scanning every policy. @inv must
 * outlive the index and stay unchanged. NULL on allocation failure.
 */
struct readiness_index *readiness_index_new(const struct inventory *inv);
void readiness_index_free(struct readiness_index *idx);

/**
 * Evaluate every endpoint of the indexed inventory. @obs may be NULL or have
 * fewer entries than endpoints (missing = no observation). Fills @out (owned
 * by the caller, free with readiness_report_free). 0 or -ENOMEM.
 */
int readiness_eval(const struct readiness_index *idx, const struct readiness_observations *obs,
		   const struct readiness_opts *o, struct readiness_report *out);

/** Evaluate endpoint @i alone (same rules; no app-level findings). 0, -EINVAL or -ENOMEM. */
int readiness_eval_endpoint(const struct readiness_index *idx, size_t i,
			    const struct readiness_observed *obs, const struct readiness_opts *o,
			    struct readiness_endpoint_verdict *out);

void readiness_endpoint_verdict_free(struct readiness_endpoint_verdict *v);
void readiness_report_free(struct readiness_report *r);

/* ---- What-if ---------------------------------------------------------- */

struct readiness_whatif_app {
	const struct app *app;
	struct readiness_scenario candidate; /**< stranded by the candidate at T */
	struct readiness_scenario current;   /**< today's worst address, when observed */
	struct readiness_strv reasons;
};

struct readiness_whatif {
	time_t at;
	struct readiness_whatif_app *apps; /**< apps with a covering policy, inventory order */
	size_t napps;
	double max_stranded; /**< worst candidate stranded share of any app */
	double max_unknown;
};

/**
 * What-if: the stranded share of each app if @host presented @candidate at
 * @at (pin expirations and adoption as of then). @candidate holds full
 * certificates or bare pins (subject NULL); it is taken as the validated
 * chain, so include the anchor (the gate's path, readiness_gate.h). @current may be
 * NULL (no observation). 0, -EINVAL or -ENOMEM; free with readiness_whatif_free.
 */
int readiness_whatif_eval(const struct readiness_index *idx, const char *host,
			  const struct readiness_chain *candidate,
			  const struct readiness_observed *current, time_t at,
			  struct readiness_whatif *out);
void readiness_whatif_free(struct readiness_whatif *w);

/**
 * The chain apps of @platform are evaluated against at address @a: for
 * Android and iOS (whose TLS stacks, BoringSSL-based, list ECDSA signature
 * algorithms first) the chain discovered with an ECDSA-only offer when there
 * is one, else the normal probe's; for other platforms the normal probe's.
 * Validated when validated, else presented; NULL when there is none.
 * @variant (may be NULL) is set to "ecdsa" or "default".
 */
const struct readiness_chain *readiness_platform_chain(const struct readiness_address *a,
						       enum app_platform platform,
						       const char **variant);

/* ---- Memory helpers for the loader and tests -------------------------- */

/** Deep copy of @src into @dst. 0 or -ENOMEM. */
int readiness_cert_copy(struct readiness_cert *dst, const struct readiness_cert *src);
void readiness_cert_free(struct readiness_cert *c);
void readiness_chain_free(struct readiness_chain *c);
void readiness_address_free(struct readiness_address *a);
void readiness_observed_free(struct readiness_observed *o);
void readiness_observations_free(struct readiness_observations *o);
/** Append a copy of @s (capped at READINESS_MAX_REASONS, then silently ignored). 0 or -ENOMEM. */
int readiness_strv_add(struct readiness_strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void readiness_strv_free(struct readiness_strv *sv);

/** "sha256/" + the first 8 base64 characters + "..." into @buf (>= 20 bytes). */
char *readiness_pin_short(const uint8_t pin[32], char *buf, size_t len);

#endif
