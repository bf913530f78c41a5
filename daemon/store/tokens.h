/* API bearer tokens: creation, listing, revocation and verification.
 *
 * A token is "pwt_" followed by 64 hex digits (256 random bits from
 * gnutls_rnd). Only the SHA-256 of the whole token string is stored in table
 * `tokens`; the clear token is shown once at creation.
 */
#ifndef PINWATCH_TOKENS_H
#define PINWATCH_TOKENS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct db;

enum token_role { TOKEN_NONE = 0, TOKEN_READ = 1, TOKEN_WRITE = 2, TOKEN_ADMIN = 3 };

/** "pwt_" + 64 hex + NUL */
#define TOKEN_LEN      69
#define TOKEN_NAME_MAX 64

/** "read"/"write"/"admin" (NULL for TOKEN_NONE). */
const char *tokens_role_name(enum token_role r);
/** Parse a role name. 0 or -EINVAL. */
int tokens_parse_role(const char *s, enum token_role *out);
/** Token names: 1..64 bytes of [A-Za-z0-9._-]. 0 or -EINVAL. */
int tokens_check_name(const char *name);

/**
 * Create token @name with @role inside its own transaction; writes the clear
 * token into @out (size >= TOKEN_LEN). Audited ("create" "token", never the
 * token itself) with @actor in the same transaction. 0, -EEXIST (name taken), -EINVAL or -EIO;
 * message in @err.
 */
int tokens_create(struct db *db, const char *name, enum token_role role, const char *actor,
		  char *out, size_t outlen, char *err, size_t errlen);

/** Revoke (keep the row, set revoked_at) token @name; audited. 0, -ENOENT or -EIO. */
int tokens_revoke(struct db *db, const char *name, const char *actor, char *err, size_t errlen);

/**
 * Tokens as a JSON array of {name, role, created_at, last_used_at, revoked_at}
 * (times ISO-8601 or null). New reference or NULL with @err set.
 */
json_t *tokens_list(struct db *db, char *err, size_t errlen);

/**
 * Check a presented token. On success the role is returned and the name copied
 * into @name (size >= TOKEN_NAME_MAX + 1). Unknown, malformed or revoked
 * tokens give TOKEN_NONE. Digests are compared in constant time.
 */
enum token_role tokens_verify(struct db *db, const char *token, char *name, size_t namelen);

#endif
