/* The `pinwatch demo` scenario: a generated PKI and the inventory that goes
 * with it. No sockets and no processes here (cli_demo.c runs them), so the
 * scenario itself is testable.
 *
 * Endpoints (SNI names under shop.test):
 *   api    healthy: every version pins the issuing CA and a backup root
 *   pay    risky: shop-android 4.1.0 (about a quarter of Android users)
 *          pins only the current leaf key, so the next key rotation
 *          strands it; the "unplanned rotation" moves pay to its backup key
 *   login  expires in 5 days; shop-ios 7.0.0 pins only its leaf key
 *   cdn    two edges serving different leaf keys of the same CA
 */
#ifndef PINWATCH_DEMO_H
#define PINWATCH_DEMO_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

enum demo_chain {
	DEMO_API,
	DEMO_PAY,
	DEMO_PAY_ROTATED, /**< pay after the unplanned rotation (backup key) */
	DEMO_LOGIN,
	DEMO_CDN_A,       /**< first edge of cdn */
	DEMO_CDN_B,       /**< second edge of cdn: another leaf key */
	DEMO_NCHAINS
};

/** A chain to serve: PEM of the leaf then the issuing CA, and the leaf's key. */
struct demo_cred {
	char *chain_pem;
	char *key_pem;
	char sni[64];     /**< server name this chain is for */
};

struct demo {
	time_t now;
	struct demo_cred creds[DEMO_NCHAINS];
	char *roots_pem;  /**< trust anchors for the probes ([probe] ca_file) */
	/* base64 pins of the keys the inventory refers to */
	char pin_issuing[45], pin_root2[45];
	char pin_pay[45], pin_pay_backup[45], pin_login[45], pin_login_backup[45];
};

/**
 * Generate the demo PKI at time @now: two roots, an issuing CA and the leaf
 * keys and certificates above (ECDSA P-256). NULL with a message in @err.
 */
struct demo *demo_new(time_t now, char *err, size_t errlen);
/** NULL-safe. */
void demo_free(struct demo *d);

/** Where the daemon reaches an endpoint: host (name or IPv4 literal) and port. */
struct demo_addr {
	const char *host;
	int port;
};

/**
 * The inventory JSON (DESIGN.md format) of the scenario: endpoints api, pay,
 * login and cdn at @addrs (indexed DEMO_API, DEMO_PAY, DEMO_LOGIN, DEMO_CDN_A;
 * their SNI is the demo name), probed every @interval_s seconds, and the apps
 * shop-android and shop-ios with adoption history ending yesterday. New
 * reference; NULL when out of memory.
 */
json_t *demo_inventory(const struct demo *d, const struct demo_addr addrs[DEMO_NCHAINS],
		       int interval_s);

#endif
