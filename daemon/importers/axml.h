/* Android binary resources inside an APK: the chunk framing and string pools
 * shared by compiled XML (AndroidManifest.xml, res/xml/...) and the resource
 * table (resources.arsc, arsc.h). Layouts are AOSP's ResourceTypes.h
 * (ResChunk_header, ResStringPool_header, ResXMLTree_*, Res_value).
 *
 * Everything here reads outside input: every offset, count and length is
 * checked against the chunk that holds it, and every output is capped.
 */
#ifndef PINWATCH_AXML_H
#define PINWATCH_AXML_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AXML_MAX_NODES 100000	   /**< elements + texts of one document */
#define AXML_MAX_DEPTH 64	   /**< element nesting */
#define AXML_MAX_TEXT  (16u << 20) /**< bytes of text one document may produce */
#define AXML_MAX_STR   (1u << 20)  /**< strings in one pool */

/* Res_value data types used here. */
enum {
	AXML_TYPE_NULL = 0x00,
	AXML_TYPE_REFERENCE = 0x01,
	AXML_TYPE_STRING = 0x03,
	AXML_TYPE_DYNAMIC_REFERENCE = 0x07, /**< a reference into a shared library */
	AXML_TYPE_INT_DEC = 0x10,
	AXML_TYPE_INT_HEX = 0x11,
	AXML_TYPE_INT_BOOLEAN = 0x12,
};

/** A string pool (ResStringPool) inside a caller-owned buffer. */
struct axml_pool {
	const uint8_t *chunk; /**< start of the pool chunk */
	size_t size;	      /**< its size in bytes */
	uint32_t count;	      /**< number of strings */
	uint32_t offsets;     /**< offset of the string offsets (the header size) */
	uint32_t strings;     /**< offset of the string data in the chunk */
	bool utf8;
};

/**
 * Read the string pool chunk at @p (@avail bytes left in its parent) into
 * @pool. 0 or -EINVAL with a message in @err.
 */
int axml_pool_init(struct axml_pool *pool, const uint8_t *p, size_t avail, char *err,
		   size_t errlen);

/**
 * String @idx of @pool as NUL-terminated UTF-8 in @out (@cap bytes; UTF-16
 * converted, invalid sequences become '?', embedded NULs end the string).
 * 0, -ERANGE (idx out of range), -EINVAL (malformed), -E2BIG (longer than
 * @cap - 1).
 */
int axml_pool_str(const struct axml_pool *pool, uint32_t idx, char *out, size_t cap);

/**
 * Turn a typed resource reference into the text stored in the document.
 * Writes into @out (@cap bytes). Returns 0, or a negative errno: the
 * reference is then written as "@0x%08x".
 */
typedef int (*axml_ref_fn)(void *ctx, uint32_t resid, char *out, size_t cap);

/**
 * Convert Android binary XML (@buf, @len; @name for messages) into a libxml2
 * document: elements, attributes (with their namespace), text. An
 * attribute's value is its raw string when the file keeps one, else its
 * typed value as text: booleans "true"/"false", integers in decimal,
 * references through @ref (NULL: "@0x%08x"). Attributes whose resource id
 * (resource map) is android:versionName or android:networkSecurityConfig get
 * that name even when the string pool was obfuscated. Elements carry their
 * source line (xmlGetLineNo). Returns 0 and *@out (xmlFreeDoc), or -EINVAL
 * / -E2BIG / -ENOMEM with "name: message" in @err.
 */
int axml_to_doc(const uint8_t *buf, size_t len, const char *name, axml_ref_fn ref, void *ctx,
		xmlDocPtr *out, char *err, size_t errlen);

/** Android's namespace for manifest attributes. */
#define AXML_ANDROID_NS "http://schemas.android.com/apk/res/android"

/** Little-endian readers (callers check bounds first). */
static inline uint16_t axml_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t axml_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/**
 * Check the chunk header at @p with @avail bytes left: header size >= @minhdr,
 * total size within @avail. Fills @type, @hsize, @size. 0 or -EINVAL.
 */
int axml_chunk(const uint8_t *p, size_t avail, size_t minhdr, uint16_t *type, uint16_t *hsize,
	       uint32_t *size);

#endif
