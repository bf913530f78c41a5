/* The resource table of an APK (resources.arsc): resolve a resource id to
 * its value in the default configuration, and names to ids. Layout: AOSP's
 * ResourceTypes.h (ResTable_header, ResTable_package, ResTable_typeSpec,
 * ResTable_type with dense, sparse or 16-bit offsets, ResTable_entry and
 * compact entries). Outside input: every offset is bounds-checked. */
#ifndef PINWATCH_ARSC_H
#define PINWATCH_ARSC_H

#include <stddef.h>
#include <stdint.h>

#define ARSC_MAX_PACKAGES 16
#define ARSC_MAX_TYPES	  4096 /**< type chunks (one per type and configuration) */

struct arsc;

/**
 * Index the table in @buf (@len bytes, kept by the caller for the table's
 * lifetime). NULL with "resources.arsc: ..." in @err on malformed input or
 * out of memory.
 */
struct arsc *arsc_parse(const uint8_t *buf, size_t len, char *err, size_t errlen);
void arsc_free(struct arsc *t);

/** A simple value (Res_value). */
struct arsc_value {
	uint8_t type;	/**< AXML_TYPE_* */
	uint32_t data;	/**< for strings: index in the table's global string pool */
	int nondefault; /**< 1: taken from a non-default configuration (none had it) */
};

/**
 * The value of @resid: from the default configuration (all qualifiers
 * unset), else from the first configuration that has the entry. 0,
 * -ENOENT (no such resource), -EINVAL (malformed or a complex/bag entry)
 * with a message in @err.
 */
int arsc_value(const struct arsc *t, uint32_t resid, struct arsc_value *v, char *err,
	       size_t errlen);

/**
 * Resolve @resid as a string: follows references (at most 8 hops) to a
 * string value, written as UTF-8 into @out (@cap bytes). 0, -ENOENT,
 * -EINVAL (not a string, malformed, too long).
 */
int arsc_string(const struct arsc *t, uint32_t resid, char *out, size_t cap, char *err,
		size_t errlen);

/** "type/name" of @resid into @out. 0, -ENOENT or -E2BIG. */
int arsc_name(const struct arsc *t, uint32_t resid, char *out, size_t cap);

/** The id of resource @type/@name (e.g. "raw", "debug_ca"). 0 or -ENOENT. */
int arsc_find(const struct arsc *t, const char *type, const char *name, uint32_t *resid);

#endif
