/* Pin-failure reports: strict parsing of TrustKit (iOS, Android) and HPKP
 * (RFC 7469 section 3) report bodies, storage with an inventory join,
 * clustering and classification against what pinwatch observed, per-source
 * rate limiting and a storage quota.
 *
 * Parsing is pure (no I/O, no clock): bodies in, struct report out. The
 * tables are store/reports.c's; reports_store.c joins, classifies and
 * counts through it. reports_ingest() is the HTTP
 * handler body of POST /api/v1/reports: it never stores half a report.
 */
#ifndef PINWATCH_REPORTS_H
#define PINWATCH_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/severity.h"

struct db;

#define REPORTS_MAX_BODY_DEFAULT (64 * 1024)   /**< default body cap, bytes */
#define REPORTS_MAX_BODY_HARD	 (1024 * 1024) /**< no configuration may exceed this */
#define REPORTS_MAX_DEPTH	 8	       /**< JSON nesting accepted */
#define REPORTS_MAX_CHAIN	 16	       /**< certificates per chain */
#define REPORTS_MAX_PINS	 64	       /**< known pins per report */
#define REPORTS_MAX_STRING	 256	       /**< bytes of any text field */
#define REPORTS_MAX_PEM		 (32 * 1024)   /**< bytes of one PEM certificate string */
/** Clusters kept at most; the least recently seen go first (with their reports). */
#define REPORTS_MAX_CLUSTERS 20000
/** Days of per-cluster counts kept. */
#define REPORTS_DAYS_KEPT 400
/** Distinct source addresses (among stored reports) for a cluster's full severity. */
#define REPORTS_CORROBORATING_SOURCES 2

enum report_format { REPORT_TRUSTKIT = 0, REPORT_HPKP = 1 };

/** Cluster classification (report_clusters.classification). */
enum report_class {
	REPORT_MATCHES_SERVER =
		0,	     /**< users see what pinwatch observed: the app's pins are wrong */
	REPORT_DIFFERS,	     /**< users see another chain: interception */
	REPORT_UNKNOWN_HOST, /**< the host is not in the inventory */
	REPORT_UNOBSERVED,   /**< inventoried, but nothing observed to compare with */
};

/** One certificate of a reported chain. */
struct report_cert {
	uint8_t sha256[32]; /**< SHA-256 of the DER */
	uint8_t spki[32];   /**< SPKI pin */
	char *subject;	    /**< RFC 4514, owned */
	char *issuer;	    /**< RFC 4514, owned */
};

/** A parsed report. Every pointer is owned; release with reports_clear(). */
struct report {
	enum report_format format;
	char *bundle_id;   /**< TrustKit app-bundle-id; NULL for HPKP */
	char *app_version; /**< TrustKit app-version; NULL for HPKP */
	char *platform;	   /**< "IOS", "ANDROID", ... as sent; NULL when absent */
	char *platform_version;
	char *trustkit_version;
	char *hostname;		/**< normalised (lower case, no trailing dot) */
	int port;		/**< 0 when not sent (TrustKit Android always sends 0) */
	char *noted_hostname;	/**< NULL when absent */
	int include_subdomains; /**< -1 absent, else 0/1 */
	int enforce;		/**< -1 absent, else 0/1 */
	int validation_result;	/**< -1 absent */
	time_t date_time;	/**< 0 when absent or null */
	char expiration[32]; /**< effective-expiration-date / known-pins-expiration-date text, "" */
	struct report_cert *served;
	size_t nserved;
	struct report_cert *validated;
	size_t nvalidated;
	uint8_t (*known_pins)[32];
	size_t nknown;
};

/** Free what @r owns and zero it; NULL-safe. */
void reports_clear(struct report *r);

/**
 * Parse a TrustKit report body (iOS or Android form). Unknown members are
 * ignored; known members are type-checked. Required: app-bundle-id,
 * app-version, hostname, known-pins and one of validated-certificate-chain /
 * served-certificate-chain. On error returns -EINVAL with a message naming
 * the field in @err, and @out holds nothing to free.
 */
int reports_parse_trustkit(const char *body, size_t len, struct report *out, char *err,
			   size_t errlen);

/**
 * Parse an HPKP violation report, wrapped ({"hpkp-report": {...}}) or bare.
 * Required: hostname, served-certificate-chain, known-pins. As above.
 */
int reports_parse_hpkp(const char *body, size_t len, struct report *out, char *err, size_t errlen);

/**
 * Detect the format (an "hpkp-report" member, or none of TrustKit's own
 * members app-bundle-id, app-version, app-platform, trustkit-version,
 * validation-result, enforce-pinning: HPKP; else TrustKit) and parse. Bodies deeper than
 * REPORTS_MAX_DEPTH, not UTF-8, not a JSON object or with duplicate keys are refused. 0 or -EINVAL.
 */
int reports_parse(const char *body, size_t len, struct report *out, char *err, size_t errlen);

/**
 * As reports_parse() on an already parsed body (e.g. by the HTTP layer,
 * which must have refused duplicate keys). @root is borrowed. 0 or -EINVAL.
 */
int reports_parse_value(json_t *root, struct report *out, char *err, size_t errlen);

/** "trustkit" / "hpkp". */
const char *reports_format_name(enum report_format f);
/** "matches_server", "differs", "unknown_host", "unobserved". */
const char *reports_class_name(enum report_class c);

/**
 * SHA-256 over the concatenated DER hashes of the chain users saw (served
 * chain, else validated chain) into @out. An empty chain hashes the empty string.
 */
void reports_chain_fingerprint(const struct report *r, uint8_t out[32]);

/* ---- Limits: per-source token bucket, body cap, quota, counters ---- */

/** Counters since reports_limits_new() (read with reports_limits_stats()). */
struct reports_stats {
	uint64_t accepted;     /**< stored */
	uint64_t bad;	       /**< refused with 400 (parse errors) */
	uint64_t too_large;    /**< refused with 413 */
	uint64_t rate_limited; /**< refused with 429 */
	uint64_t failed;       /**< database failures (5xx) */
	uint64_t evicted;      /**< stored reports removed by the quota */
	uint64_t new_clusters; /**< clusters created */
};

struct reports_limits;

/**
 * Limits for reports_ingest(): body cap @max_body (1..REPORTS_MAX_BODY_HARD),
 * per-source bucket of @burst reports refilled at @rate per second, a table of
 * at most @max_sources sources (least recently seen replaced when full), and
 * a quota of @max_reports stored reports. Thread-safe. NULL on bad values/ENOMEM.
 */
struct reports_limits *reports_limits_new(size_t max_body, double rate, double burst,
					  size_t max_sources, int64_t max_reports);
/** NULL-safe. */
void reports_limits_free(struct reports_limits *lim);
/** Copy the counters. */
void reports_limits_stats(struct reports_limits *lim, struct reports_stats *out);

/**
 * Take one token for @source at @now. 1 when allowed, 0 when rate-limited
 * (counted). Exposed for tests and for other report-like routes.
 */
int reports_limits_take(struct reports_limits *lim, const char *source, time_t now);

/**
 * Append the counters of @lim in Prometheus text format to the malloc'ed
 * buffer *@buf of *@len bytes (NUL-terminated; reallocated). 0 or -ENOMEM.
 */
int reports_metrics_append(struct reports_limits *lim, char **buf, size_t *len);

/* ---- Store ---- */

/** Result of storing one report. */
struct reports_stored {
	int64_t report_id;
	int64_t cluster_id;
	bool new_cluster;
	enum report_class classification;
	int evicted;	      /**< reports removed by the quota in the same transaction */
	int clusters_evicted; /**< clusters removed by REPORTS_MAX_CLUSTERS (with their reports) */
};

/**
 * Store @r received from @source at @now in one transaction: join to the
 * inventory (app by bundle id and platform, version by string, endpoint by
 * host and port), classify against the chains observed for the endpoint
 * within 7 days of the report's time, update or create its cluster and the
 * day count, then evict the oldest reports beyond @max_reports (and, when a
 * cluster is created, the least recently seen clusters beyond
 * REPORTS_MAX_CLUSTERS and day counts older than REPORTS_DAYS_KEPT). 0 or a
 * negative errno with a message in @err (nothing stored).
 */
int reports_store(struct db *db, const struct report *r, const char *source, time_t now,
		  int64_t max_reports, struct reports_stored *out, char *err, size_t errlen);

/**
 * Handler of POST /api/v1/reports. Returns an HTTP status: 202 stored, 400
 * bad report (message in @err names the field), 413 body over the cap, 429
 * rate-limited for @source_ip, or a negative errno when storing failed
 * (-EBUSY: the database is busy). Counts every outcome in @lim. The body
 * need not be NUL-terminated.
 */
int reports_ingest(struct db *db, const char *body, size_t len, const char *source_ip, time_t now,
		   struct reports_limits *lim, char *err, size_t errlen);

/**
 * reports_ingest() for a body the HTTP layer already parsed into @root
 * (borrowed) from @len bytes. Same statuses and counting.
 */
int reports_ingest_value(struct db *db, json_t *root, size_t len, const char *source_ip, time_t now,
			 struct reports_limits *lim, char *err, size_t errlen);

/**
 * Clusters as a JSON array (most recent first, at most @limit): id,
 * classification, app, bundle_id, app_version, host, port, report_count,
 * first_seen, last_seen, leaf {sha256, spki, subject, issuer}, days
 * [{day, count}] within @days days before @now. Caller owns *out.
 */
int reports_clusters_json(struct db *db, int limit, int days, time_t now, json_t **out, char *err,
			  size_t errlen);

/** One alert condition in the shape of alerts.h's struct alert_cond. */
struct reports_alert {
	const char *kind;	/**< "pin_failures_reported" or "candidate_would_strand" */
	char fingerprint[128];	/**< stable per cluster / candidate */
	int64_t endpoint_id;	/**< 0: none */
	int64_t app_id;		/**< 0: none */
	enum severity severity; /**< SEVERITY_INFO, SEVERITY_WARNING or SEVERITY_CRITICAL */
	char summary[512];	/**< one line; may hold untrusted text (escape before HTML/logs) */
	json_t *details;	/**< owned */
};

/** Free an array of @n conditions; NULL-safe. */
void reports_alerts_free(struct reports_alert *a, size_t n);

/**
 * Conditions true at @now from the clusters with reports within @window_s
 * seconds, every one of them accounted for (the report route is public:
 * forged reports must not crowd out genuine ones):
 * - a cluster that joins a known app version and has reports from at least
 *   REPORTS_CORROBORATING_SOURCES source groups (reports_source_group()) is
 *   one condition: matches_server critical, differs and unknown_host
 *   warning, unobserved info;
 * - every other cluster (unknown version, or a single source) is folded
 *   into one condition per host and port: warning when the host is
 *   inventoried and some cluster of it is corroborated, else info (below
 *   the default webhook min_severity);
 * - at most @cap conditions: the most severe, then the most corroborated,
 *   then the most reported are kept; when more there are, the last place
 *   goes to a warning "pin_failures_reported-overflow" condition that says
 *   how many were folded, and *@folded (optional) counts them.
 * Untrusted text (app version, bundle id, host) appears in summaries in
 * backquotes (reports_quote()). Details: counts, sources, classification,
 * host, app, version (aggregates: "aggregated": true, clusters,
 * classifications, versions). Caller frees with reports_alerts_free().
 */
int reports_alert_conds_capped(struct db *db, time_t now, int64_t window_s, size_t cap,
			       struct reports_alert **out, size_t *n, size_t *folded, char *err,
			       size_t errlen);

/** reports_alert_conds_capped() with cap REPORTS_MAX_ALERTS. */
int reports_alert_conds(struct db *db, time_t now, int64_t window_s, struct reports_alert **out,
			size_t *n, char *err, size_t errlen);

/** Conditions made from report clusters at most (see reports_alert_conds_capped()). */
#define REPORTS_MAX_ALERTS 1000

/** Fingerprint of the condition that says the cap was reached. */
#define REPORTS_OVERFLOW_FINGERPRINT "pin_failures_reported-overflow"

/**
 * The group a report source address counts in, for the rate limiter and for
 * corroboration alike: an IPv4 address (also when IPv4-mapped IPv6), an
 * IPv6 /64 as "prefix::/64", or the text itself when it is no address.
 */
void reports_source_group(const char *source, char *out, size_t outlen);

/**
 * @in (untrusted) for a one-line summary: at most @max bytes of it (cut on a
 * UTF-8 boundary, "..." appended), control characters and backquotes
 * replaced, inside backquotes (a code span: chat tools and Markdown render
 * it literally, never as a link). Always terminates @out.
 */
void reports_quote(const char *in, size_t max, char *out, size_t outlen);

/** Conditions folded into the overflow condition by this process's last reports_signal_conds(). */
size_t reports_alerts_folded(void);

/** Clusters with a report this recent are pin_failures_reported conditions. */
#define REPORTS_ALERT_WINDOW (7 * 86400)

struct alerts_condv;

/**
 * Append the field-signal conditions true at @now to @out (alerts.h):
 * pin_failures_reported per cluster with reports within
 * REPORTS_ALERT_WINDOW, candidate_would_strand per stranding candidate
 * (every candidate is re-evaluated at @now first, in its own transaction).
 * Scope: ALERT_PIN_FAILURES_REPORTED | ALERT_CANDIDATE_WOULD_STRAND.
 * @ca_file: the trust anchors candidates are checked against (NULL/"":
 * the system store). 0 or negative errno with a message.
 */
int reports_signal_conds(struct db *db, const char *ca_file, time_t now, struct alerts_condv *out,
			 char *err, size_t errlen);

/**
 * reports_signal_conds() as an alerts source (alerts.h) for alerts_evaluate()
 * and alerts_engine_new(): the trust anchors are [probe] ca_file; after each
 * engine evaluation it logs when the report conditions reach the cap of
 * REPORTS_MAX_ALERTS (folded into REPORTS_OVERFLOW_FINGERPRINT) and when they
 * are under it again.
 */
extern const struct alerts_source reports_alerts_source;

#endif
