/* Inventory store: loading the whole model, endpoint CRUD and the
 * reconciling import of an inventory document (docs/inventory.md).
 *
 * Conventions of every write function here and in apps.h:
 * - it runs in its own transaction (db_tx_begin: BEGIN IMMEDIATE), unless
 *   the connection is already inside one, in which case it joins it and
 *   leaves commit/rollback to the caller (so the API can group several writes);
 * - each change appends one audit row (audit.h) in the same transaction,
 *   with @actor ("cli:<user>", "token:<name>");
 * - a write that changes nothing writes nothing and no audit row;
 * - errors: -EINVAL bad input, -ENOENT missing object, -EEXIST duplicate,
 *   other negative errno for database failures; a message in @err always.
 */
#ifndef PINWATCH_INVENTORY_H
#define PINWATCH_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct db;

/**
 * Load everything into @out (zeroed first; free with model_inventory_free):
 * endpoints (sorted by host, port; tags sorted) and apps (sorted by name)
 * with their versions (version-number order, see model_version_cmp),
 * adoption samples (ascending by date), pin policies (by pattern, then
 * include_subdomains) and pins (current before backup, then by base64).
 * 0 or negative errno with a message.
 */
int inventory_load(struct db *db, struct inventory *out, char *err, size_t errlen);

/** Read one endpoint by (host, port) (host normalised here). 0, -ENOENT, or errno. */
int inventory_endpoint_get(struct db *db, const char *host, int port, struct endpoint *out,
			   char *err, size_t errlen);
/** Read one endpoint by id. 0, -ENOENT, or errno. */
int inventory_endpoint_get_id(struct db *db, int64_t id, struct endpoint *out, char *err,
			      size_t errlen);
/** All endpoints, sorted by host, port; caller frees each and the array. */
int inventory_endpoint_list(struct db *db, struct endpoint **out, size_t *n, char *err,
			    size_t errlen);

/**
 * Create @e (checked and normalised in place; e->id is set). -EEXIST when
 * (host, port) is already inventoried. Audited "create" "endpoint".
 */
int inventory_endpoint_create(struct db *db, const char *actor, struct endpoint *e, char *err,
			      size_t errlen);
/**
 * Make sure endpoint (host, port) of @e exists: @e is checked and normalised
 * in place; when the endpoint is inventoried already, e->id is set to it and
 * nothing is written (its stored attributes stay as they are), otherwise @e
 * is created as by inventory_endpoint_create (audited "create" "endpoint").
 * *created (may be NULL) tells which. 0, -EINVAL, or errno. Atomic inside
 * the caller's transaction; without one, a writer creating the same endpoint
 * in between makes this -EEXIST.
 */
int inventory_endpoint_ensure(struct db *db, const char *actor, struct endpoint *e, bool *created,
			      char *err, size_t errlen);
/**
 * Replace the attributes and tags of the endpoint (host, port) of @e with
 * those of @e (checked in place; e->id set). -ENOENT when it does not exist.
 * Audited "update" "endpoint" only when something changed; *changed (may be
 * NULL) tells whether it did.
 */
int inventory_endpoint_update(struct db *db, const char *actor, struct endpoint *e, bool *changed,
			      char *err, size_t errlen);
/** Delete endpoint (host, port) and its tags and observations. -ENOENT when missing. Audited. */
int inventory_endpoint_delete(struct db *db, const char *actor, const char *host, int port,
			      char *err, size_t errlen);

/** What inventory_import() did. */
struct inventory_import_stats {
	unsigned created, updated, deleted, unchanged; /**< objects: endpoints, apps, versions */
	unsigned audit_rows;
};

/**
 * Reconcile the database with @want (as parsed by invfile_parse, or built in
 * C: every object is validated again, and the arrays may come in any order)
 * in one transaction: listed endpoints (by host:port), apps (by
 * name) and their versions (by version) are created or updated to match;
 * inside a listed version, adoption samples (by date) and pin policies (by
 * pattern + include_subdomains) are added or replaced, and endpoint tags and
 * policy pins are replaced as a whole. With @prune, objects the document
 * does not list (endpoints, apps, versions, samples, policies) are deleted.
 * Nothing that is already equal is written, so importing the same document
 * twice changes nothing and writes no audit row. All or nothing: on any
 * error the transaction is rolled back. @st may be NULL.
 */
int inventory_import(struct db *db, const char *actor, const struct inventory *want, bool prune,
		     struct inventory_import_stats *st, char *err, size_t errlen);

#endif
