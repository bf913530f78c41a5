/* The in-memory inventory model shared by the store, the importers, the
 * readiness engine and the API: endpoints, apps, versions, adoption samples,
 * pin policies and pins. Plain structs; every pointer is owned by the
 * containing struct and released by the matching model_*_free().
 *
 * Dates users write (released, adoption "at", policy "expires") are kept both
 * as "YYYY-MM-DD" text (for exact round-trip) and as time_t (00:00 UTC) for
 * evaluation; a zero-length text means "not set".
 */
#ifndef PINWATCH_MODEL_H
#define PINWATCH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MODEL_DATE_LEN 11 /* "YYYY-MM-DD" + NUL */
/** Probe interval (seconds) of an endpoint that names none; the schema's default too. */
#define MODEL_DEFAULT_INTERVAL 300

enum pin_role { PIN_CURRENT = 0, PIN_BACKUP = 1 };
enum app_platform { PLATFORM_ANDROID = 0, PLATFORM_IOS = 1, PLATFORM_OTHER = 2 };
enum failure_mode { FAIL_LOG = 0, FAIL_MESSAGE = 1, FAIL_REDIRECT = 2, FAIL_TERMINATE = 3 };

struct pin {
	uint8_t sha256[32]; /**< SHA-256 of the DER SubjectPublicKeyInfo */
	enum pin_role role;
};

struct pin_policy {
	int64_t id;    /**< database id, 0 when not stored */
	char *pattern; /**< "api.example.com", "*.example.com", "**.example.com" */
	bool include_subdomains;
	bool enforce;		      /**< false: report-only, or excluded from a parent */
	char expires[MODEL_DATE_LEN]; /**< "" when the pin set never expires */
	time_t expires_at;	      /**< 00:00 UTC of expires; 0 when unset */
	char *source;		      /**< "inventory", "nsc", "trustkit", "okhttp", "api" */
	struct pin *pins;
	size_t npins;
	/**
	 * Android NSC trust anchors declared with overridePins="true": Android
	 * skips the pin check for a chain that ends at one of them. Each entry
	 * is "system", "user", or the anchor certificate's pin as
	 * "sha256/<base64>"; an anchor file that could not be read is kept as
	 * its src ("@raw/name"). Empty for every other source.
	 */
	char **override_anchors;
	size_t noverride_anchors;
};

struct adoption_sample {
	char at[MODEL_DATE_LEN];
	time_t at_time;
	double share;	      /**< [0, 1] */
	int64_t active_users; /**< -1 when not given */
};

struct app_version {
	int64_t id;
	char *version;
	char released[MODEL_DATE_LEN];	  /**< "" when unknown */
	struct adoption_sample *adoption; /**< sorted by at ascending */
	size_t nadoption;
	struct pin_policy *policies;
	size_t npolicies;
};

struct app {
	int64_t id;
	char *name;
	enum app_platform platform;
	char *bundle_id;	   /**< may be NULL */
	double adoption_threshold; /**< [0, 1] */
	enum failure_mode failure_mode;
	struct app_version *versions;
	size_t nversions;
};

struct endpoint {
	int64_t id;
	char *host; /**< normalised: lower case, no trailing dot */
	int port;
	char *sni;	   /**< NULL: same as host */
	char *environment; /**< "production", "staging", ... */
	char *owner;	   /**< may be NULL */
	char **tags;
	size_t ntags;
	bool third_party;
	int64_t interval_s; /**< 0: the configured default */
	bool enabled;
};

/** A whole inventory document (docs/inventory.md). */
struct inventory {
	struct endpoint *endpoints;
	size_t nendpoints;
	struct app *apps;
	size_t napps;
};

void model_policy_free(struct pin_policy *p);
void model_version_free(struct app_version *v);
void model_app_free(struct app *a);
void model_endpoint_free(struct endpoint *e);
/** Frees the contents of @inv (not @inv itself) and zeroes it. NULL-safe. */
void model_inventory_free(struct inventory *inv);

/** Names of the enums as they appear in JSON and the database; NULL for out-of-range. */
const char *model_role_name(enum pin_role r);
const char *model_platform_name(enum app_platform p);
const char *model_failure_mode_name(enum failure_mode m);
/** Parse the names above. 0 or -EINVAL. */
int model_parse_role(const char *s, enum pin_role *out);
int model_parse_platform(const char *s, enum app_platform *out);
int model_parse_failure_mode(const char *s, enum failure_mode *out);

/**
 * Normalise a host name in place: lower case ASCII, one trailing dot removed.
 * Returns 0, or -EINVAL when the result is empty, longer than 253 bytes, has
 * an empty or over-long (>63) label, or characters outside [a-z0-9-_.].
 * IDNA A-labels ("xn--...") are kept as given.
 */
int model_normalize_host(char *host);

/**
 * Validate and normalise a pin pattern in place: an exact host, "*.host"
 * (one label) or "**.host" (any depth, apex included). 0 or -EINVAL.
 */
int model_normalize_pattern(char *pattern);

/** The latest adoption sample of @v at or before @at (NULL when none). */
const struct adoption_sample *model_latest_adoption(const struct app_version *v, time_t at);

#endif
