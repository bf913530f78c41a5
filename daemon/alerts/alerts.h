/* Alerts: a list of conditions that are true now in, state transitions and
 * outbox rows out.
 *
 * The caller (sweep hook, inventory change, tests) describes everything that
 * is currently true as an array of struct alert_cond. alerts_apply() compares
 * it with the firing rows of the alerts table in ONE transaction: it opens
 * rows for new conditions, resolves rows whose condition disappeared, records
 * severity changes, and for every notification that is due writes one
 * webhook_outbox row per matching enabled webhook (min_severity filter,
 * silences honoured). The webhook worker (webhook.h) delivers the rows.
 *
 * Idempotency keys: "<fingerprint>:<status>:<starts_at>" for the first
 * firing and the resolved notification of an episode; a re-send (repeat
 * interval elapsed, severity changed) appends ":<now>" so that a receiver
 * deduplicating on the key still sees the reminder.
 */
#ifndef PINWATCH_ALERTS_H
#define PINWATCH_ALERTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/expiry.h"
#include "base/severity.h"

struct db;
struct config;
struct inventory;

enum alert_kind {
	ALERT_STRANDING_NOW = 0,
	ALERT_ROTATION_NOT_READY,
	ALERT_CHAIN_CHANGED,
	ALERT_EDGES_DISAGREE,
	ALERT_VALIDATION_FAILED,
	ALERT_PIN_SET_EXPIRING,
	ALERT_PROBE_FAILING,
	ALERT_PIN_FAILURES_REPORTED,
	ALERT_CANDIDATE_WOULD_STRAND,
	ALERT_ROTATION_COMPLETED, /**< an observed chain change is a recorded plan (info) */
	ALERT_PLAN_OVERDUE,	  /**< a plan's not-before date passed and it is not ready */
	ALERT_CERTIFICATE_EXPIRING,
	ALERT_KIND_COUNT
};

/** Bit of @kind in a scope mask for alerts_apply(). */
#define ALERT_SCOPE(kind) (1u << (kind))
#define ALERT_SCOPE_ALL	  ((1u << ALERT_KIND_COUNT) - 1)

#define ALERT_FINGERPRINT_MAX 128
#define ALERT_SUMMARY_MAX     512
/** Hard cap on the conditions one alerts_apply() call accepts. */
#define ALERT_MAX_CONDS 100000

/** One condition that is true now. */
struct alert_cond {
	enum alert_kind kind;
	char fingerprint[ALERT_FINGERPRINT_MAX]; /**< alerts_fingerprint(); stable per
						    kind+endpoint+app */
	int64_t endpoint_id;			 /**< 0: not about one endpoint */
	int64_t app_id;				 /**< 0: not about one app */
	enum severity severity;			 /**< INFO..CRITICAL */
	char summary[ALERT_SUMMARY_MAX]; /**< one line, plain text (may hold untrusted text) */
	json_t *details;		 /**< borrowed; may be NULL. Known keys: stranded_share
					      (real), versions (array), reasons (array of
					      strings), expiry_days (int), link (string),
					      stage (string: while firing, a change of it
					      is notified as a reminder, e.g. the expiry
					      threshold reached) */
	bool quiet; /**< record the alert but notify nobody: another alert of the
		       same cause pages (rotation_not_ready merged into
		       certificate_expiring) */
};

/** What alerts_apply() did, for logs and tests. */
struct alerts_result {
	int opened, resolved, changed, repeated; /**< state transitions */
	int notifications;			 /**< outbox rows written */
	int silenced;				 /**< notifications suppressed by a silence */
};

/** What a notification decision says (pure; see alerts_decide()). */
enum alert_action {
	ALERT_ACT_NONE = 0, /**< nothing to do */
	ALERT_ACT_OPEN,	    /**< new firing episode: open a row, notify */
	ALERT_ACT_RESOLVE,  /**< condition gone: close the row, notify "resolved" */
	ALERT_ACT_CHANGE,   /**< still firing with another severity: update, notify */
	ALERT_ACT_REPEAT,   /**< still firing, repeat interval elapsed: notify again */
	ALERT_ACT_UPDATE,   /**< still firing, nothing to send (summary/details refreshed) */
};

/** Previous state of one fingerprint as stored, input of alerts_decide(). */
struct alert_prev {
	bool firing;		/**< a firing row exists */
	enum severity severity; /**< its severity */
	time_t last_sent_at;	/**< 0: never notified (e.g. silenced so far) */
};

/** "stranding_now", ...; "unknown" for out-of-range values. */
const char *alerts_kind_name(enum alert_kind kind);
/** Parse a kind name. 0 or -EINVAL. */
int alerts_kind_parse(const char *s, enum alert_kind *out);

/**
 * Stable fingerprint "<kind>-<16 hex>" of kind + endpoint (host, port) + app
 * name (NULL/"" when not about an endpoint or app) into @out (>= 64 bytes).
 * 0, or -ENOSPC/-EIO.
 */
int alerts_fingerprint(enum alert_kind kind, const char *host, int port, const char *app, char *out,
		       size_t outlen);

/**
 * Pure transition decision for one fingerprint: @prev as stored, @present
 * whether the condition is true now with severity @sev, @repeat_s the repeat
 * interval. Does not consider silences (they suppress sending, not state).
 */
enum alert_action alerts_decide(const struct alert_prev *prev, bool present, enum severity sev,
				time_t now, int64_t repeat_s);

/**
 * Severity of probe_failing after @consecutive failed probes with threshold
 * @threshold (config [alerts] probe_failures): NONE below the threshold,
 * warning from it, critical from three times it.
 */
enum severity alerts_probe_failing_severity(int64_t consecutive, int threshold);

/**
 * Apply the conditions @conds[0..n) that are true at @now, in one
 * transaction (BEGIN IMMEDIATE on @db, which must not be inside one). Firing
 * rows whose kind is in @scope (ALERT_SCOPE bits) and whose fingerprint is
 * not among @conds are resolved; kinds outside @scope are left alone so that
 * partial evaluators do not resolve each other's alerts. Duplicate
 * fingerprints in @conds: the most severe wins. @cfg gives repeat_interval
 * and [http] base_url (dashboard link). @res may be NULL.
 * Returns 0, or a negative errno with a message in @err (nothing changed).
 */
int alerts_apply(struct db *db, const struct alert_cond *conds, size_t n, unsigned scope,
		 time_t now, const struct config *cfg, struct alerts_result *res, char *err,
		 size_t errlen);

/**
 * Alerts as a JSON array (newest first): firing only, or all (@all, at most
 * @limit rows) with id, fingerprint, kind, severity, status, endpoint, app,
 * summary, details, starts_at, ends_at, last_sent_at, silenced (bool).
 * Caller owns *out. 0 or negative errno.
 */
int alerts_list_json(struct db *db, bool all, int limit, time_t now, json_t **out, char *err,
		     size_t errlen);

/**
 * Add a silence for @fingerprint (may be NULL) or @endpoint_id (0: none; one
 * of the two is required) until @until, with @reason, by @actor, audited.
 * Stores the new id in *id. 0 or -EINVAL/-ENOENT/-EIO with a message.
 */
int alerts_silence_add(struct db *db, const char *actor, const char *fingerprint,
		       int64_t endpoint_id, time_t until, const char *reason, time_t now,
		       int64_t *id, char *err, size_t errlen);
/** End silence @id now (kept for the record), audited. 0, -ENOENT, -EIO. */
int alerts_silence_remove(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			  size_t errlen);
/** Active (until > @now) silences as a JSON array. Caller owns *out. */
int alerts_silences_json(struct db *db, time_t now, json_t **out, char *err, size_t errlen);

/**
 * Firing alerts by severity for /metrics: out[SEVERITY_INFO], out[SEVERITY_WARNING],
 * out[SEVERITY_CRITICAL] (out[0] unused, set to 0). 0 or -EIO.
 */
int alerts_firing_counts(struct db *db, int64_t out[4]);

/** Resolve "host" or "host:port" to an endpoint id. 0, -ENOENT or -EINVAL (ambiguous/bad). */
int alerts_endpoint_lookup(struct db *db, const char *spec, int64_t *id, char *err, size_t errlen);

/* ---- Building conditions (alerts_eval.c) ------------------------------ */

/** A growable array of conditions that owns their details (cap ALERT_MAX_CONDS). */
struct alerts_condv {
	struct alert_cond *v;
	size_t n, cap;
};

/** Append a zeroed condition; NULL when out of memory or at the cap. */
struct alert_cond *alerts_condv_push(struct alerts_condv *v);
/** Release the conditions (json_decref of their details) and the array. */
void alerts_condv_free(struct alerts_condv *v);

/**
 * probe_failing (no chain presented, N consecutive failures per [alerts]
 * probe_failures) and validation_failed (a chain was presented but the
 * outcome is not "ok"; critical when the outcome is "expired") for every
 * enabled endpoint, from the latest observation row of each address still
 * served. Appends to @out. 0 or negative errno.
 */
int alerts_conds_from_observations(struct db *db, const struct config *cfg,
				   struct alerts_condv *out, char *err, size_t errlen);

/**
 * pin_set_expiring: the findings of the rule pin-set-expiring (readiness/lint.h:
 * enforcing pin sets of versions still in use, expiring after @now and within
 * [alerts] expiry_days[0] days) over @inv, one condition per app and pattern
 * (its versions, the soonest expiry): info, warning within expiry_days[1].
 * Appends to @out. 0 or negative errno.
 */
int alerts_conds_from_inventory_expiry(const struct inventory *inv, const struct config *cfg,
				       time_t now, struct alerts_condv *out, char *err,
				       size_t errlen);

/** alerts_conds_from_inventory_expiry() over the inventory loaded from @db. */
int alerts_conds_from_pin_expiry(struct db *db, const struct config *cfg, time_t now,
				 struct alerts_condv *out, char *err, size_t errlen);

struct readiness_report;
struct readiness_endpoint_verdict;

/**
 * Conditions from readiness verdicts (pure): per endpoint × app,
 * stranding_now (critical) when the current chain strands a non-zero share,
 * rotation_not_ready when the key-rotation scenario is not ready and the
 * earliest certificate expires within [alerts] expiry_days (severity by
 * expiry_level()); per endpoint, chain_changed (info) on drift
 * and edges_disagree (warning), and certificate_expiring (alerts_conds_expiry(),
 * which merges the endpoint's rotation_not_ready into it). Details carry
 * stranded/unknown/surviving shares, versions [{version, share}], reasons,
 * expiry_days. Appends to @out.
 */
int alerts_conds_from_readiness(const struct readiness_report *rep, const struct config *cfg,
				struct alerts_condv *out, char *err, size_t errlen);

/**
 * certificate_expiring for endpoint verdict @ev (enabled endpoints, pinned or
 * not): the certificate with the earliest notAfter among the chains its
 * addresses serve (validated chain, else the presented one; the trust anchor
 * of a validated chain left out), severity by expiry_level(), a
 * reminder at each threshold (details "stage"). Names the certificate
 * (subject, role leaf/intermediate) and the addresses still serving it when
 * others serve another chain. The rotation_not_ready conditions of the same
 * endpoint already in @out from index @first are merged: they become quiet,
 * point to this alert (details "paged_by"), and this alert's summary and
 * details ("rotation_not_ready") carry their apps and shares, so that one
 * certificate pages once. Appends to @out. 0 or -ENOMEM/-ENOSPC.
 */
int alerts_conds_expiry(const struct readiness_endpoint_verdict *ev, const struct config *cfg,
			struct alerts_condv *out, size_t first);

/**
 * Load the inventory and observations from @db, evaluate readiness at @now
 * and append alerts_conds_from_readiness(); adds the five readiness kinds to
 * *@scope on success. 0 or negative errno with a message.
 */
int alerts_conds_from_store_readiness(struct db *db, const struct config *cfg, time_t now,
				      struct alerts_condv *out, unsigned *scope, char *err,
				      size_t errlen);

/**
 * A source of conditions that lives above alerts/ and pushes them in (the
 * field signals: signals/reports.h reports_alerts_source), so that alerts/
 * depends on nothing above it.
 */
struct alerts_source {
	unsigned scope; /**< ALERT_SCOPE bits of the kinds it decides */
	/** Append the conditions true at @now to @out. 0 or negative errno with a message. */
	int (*conds)(struct db *db, const struct config *cfg, time_t now, struct alerts_condv *out,
		     char *err, size_t errlen);
	/** Called by the alerts engine (alerts_engine.h) after each of its
	 *  evaluations, on its thread (e.g. to log a change of state); may be NULL. */
	void (*engine_ran)(void);
};

/**
 * Evaluate every condition source available, alerts' own and @extra (NULL:
 * none; its kinds then stay as they are), and apply the result in one
 * alerts_apply() (kinds of sources that ran are in scope). Call after each
 * sweep and after inventory changes, on the writer connection, then
 * webhook_worker_kick(). A source that fails leaves the alerts of its kinds
 * untouched while the others are applied; the first such error is returned
 * (negative errno, message in @err) with @res describing what was applied.
 */
int alerts_evaluate(struct db *db, const struct config *cfg, time_t now,
		    const struct alerts_source *extra, struct alerts_result *res, char *err,
		    size_t errlen);

#endif
