/* The rule set: every finding pinwatch reports about an inventory (`pinwatch
 * lint`, the findings of `pinwatch check` and GET /api/v1/readiness, GET
 * /api/v1/lint and the pin_set_expiring alert) comes from one table of rules,
 * lint_rules[], each with one name, one severity, a description and the
 * function that evaluates it. Pure: no database, no clock (the evaluation
 * time is a parameter); the CLI (cli_lint.c) and the engine
 * (readiness_eval.c) load and pass what the rules read.
 */
#ifndef PINWATCH_LINT_H
#define PINWATCH_LINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/severity.h"
#include "model/model.h"

/** Days before a pin set's expiry from which pin-set-expiring reports it. */
#define LINT_EXPIRY_WARN_DAYS 30
/** Hard cap of findings kept (further ones are counted in `dropped`). */
#define LINT_MAX_FINDINGS 100000

/** The rules, in the order they are evaluated (and findings are listed). */
enum lint_rule_id {
	LINT_TOO_FEW_PINS,	   /**< "too-few-pins" (alias "single_pin") */
	LINT_NO_BACKUP_PIN,	   /**< "no-backup-pin" (alias "no_backup") */
	LINT_PIN_SET_EXPIRING,	   /**< "pin-set-expiring" */
	LINT_PIN_SET_EXPIRED,	   /**< "pin-set-expired" */
	LINT_PATTERN_UNMATCHED,	   /**< "pattern-unmatched" (alias "pattern_unused") */
	LINT_ENDPOINT_UNPINNED,	   /**< "endpoint-unpinned" */
	LINT_THIRD_PARTY_UNPINNED, /**< "third-party-unpinned" */
	LINT_VERSION_NO_ADOPTION,  /**< "version-no-adoption" */
	LINT_ADOPTION_OVER_ONE,	   /**< "adoption-over-one" */
	LINT_STALE_PIN,		   /**< "stale_pin" (needs observations) */
	LINT_CHAINS_DIFFER,	   /**< "chains_differ" (needs observations and verdicts) */
	LINT_NRULES
};

struct lint_ctx;
struct readiness_index;
struct readiness_observations;
struct readiness_opts;
struct readiness_report;

/** One rule: one name, one severity. */
struct lint_rule {
	const char *name;
	const char *alias; /**< the engine's former name, NULL when none */
	enum severity severity;
	const char *description; /**< one line, for --help and docs */
	/** Appends the rule's findings through lint_add(); 0 or -ENOMEM. */
	int (*eval)(struct lint_ctx *c);
};

/** The rule table, indexed by enum lint_rule_id. */
extern const struct lint_rule lint_rules[LINT_NRULES];

/** The rule named @name (or its alias), NULL when none. */
const struct lint_rule *lint_rule_find(const char *name);

struct lint_finding {
	enum lint_rule_id id;
	const char *rule; /**< lint_rules[id].name, static */
	enum severity severity;
	char *app;	/**< NULL when not about an app */
	char *version;	/**< NULL when not about a version */
	char *pattern;	/**< NULL when not about a policy */
	char *endpoint; /**< "host:port", NULL when not about an endpoint */
	char *message;	/**< one plain sentence */
	/* What the finding is about, pointing into the inventory evaluated (valid
	 * while it lives); NULL as the strings above. */
	const struct app *app_ref;
	const struct app_version *version_ref;
	const struct pin_policy *policy_ref;
	const struct endpoint *endpoint_ref;
};

struct lint_report {
	struct lint_finding *findings;
	size_t nfindings;
	size_t dropped;
	size_t cap; /**< allocated findings */
};

/** What the rules read. Rules whose input is missing (NULL) find nothing. */
struct lint_input {
	const struct inventory *inv;
	time_t at;		    /**< evaluation time (expiry, latest adoption) */
	int expiry_days;	    /**< pin-set-expiring window; 0: LINT_EXPIRY_WARN_DAYS */
	enum severity min_severity; /**< rules below it are not evaluated */
	uint32_t only;		    /**< bit mask of (1u << enum lint_rule_id); 0: every rule */
	/* For stale_pin and chains_differ (the engine passes them). */
	const struct readiness_index *idx;
	const struct readiness_observations *obs;
	const struct readiness_opts *opts;
	const struct readiness_report *verdicts; /**< endpoint verdicts (eps) */
};

/** State of one evaluation, passed to each rule's eval(). */
struct lint_ctx {
	const struct lint_input *in;
	enum lint_rule_id rule; /**< the rule being evaluated */
	struct lint_report *out;
	int rc;
};

/**
 * Append a finding of the rule being evaluated (c->rule) about the given
 * app / version / policy / endpoint (each may be NULL). Past LINT_MAX_FINDINGS
 * it is counted as dropped. Returns c->rc (0 or -ENOMEM, sticky).
 */
int lint_add(struct lint_ctx *c, const struct app *a, const struct app_version *v,
	     const struct pin_policy *p, const struct endpoint *e, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/**
 * Evaluate the rules of lint_rules[] selected by @in, appending to @out in a
 * stable order (rule table order, then inventory order). 0 or -ENOMEM.
 */
int lint_eval(const struct lint_input *in, struct lint_report *out);

/**
 * The rules that need only the inventory, as of @now: lint_eval() with the
 * defaults. Returns 0 or -ENOMEM.
 */
int lint_run(const struct inventory *inv, time_t now, struct lint_report *out);

/** Release the contents of @r and zero it. NULL-safe. */
void lint_report_free(struct lint_report *r);

/**
 * JSON array of the findings of at least @min severity
 * {rule, severity, app, version, pattern, endpoint, message}.
 */
json_t *lint_report_json(const struct lint_report *r, enum severity min);

#endif
