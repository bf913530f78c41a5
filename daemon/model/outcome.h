/* Probe outcomes: what one probe of one endpoint address came to.
 *
 * A stored outcome (observations.outcome, the probe's JSON, /metrics labels)
 * is the class name of the table below, for the classes that carry one
 * followed by ':' and a reason: "ok", "timeout", "tls_alert:<alert>",
 * "tls_error:<reason>". Code that asks what an outcome is parses it into the
 * enum instead of comparing strings; the strings stay what they were.
 */
#ifndef PINWATCH_OUTCOME_H
#define PINWATCH_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

enum probe_outcome {
	PROBE_OUTCOME_OK = 0,	     /**< "ok": trusted chain, name matches */
	PROBE_OUTCOME_DNS_ERROR,     /**< "dns_error": the name did not resolve */
	PROBE_OUTCOME_REFUSED,	     /**< "refused": connection refused */
	PROBE_OUTCOME_UNREACHABLE,   /**< "unreachable": no route, network down */
	PROBE_OUTCOME_TIMEOUT,	     /**< "timeout": connect or handshake too slow */
	PROBE_OUTCOME_TLS_ALERT,     /**< "tls_alert:<name>": the server sent a fatal alert */
	PROBE_OUTCOME_TLS_ERROR,     /**< "tls_error:<reason>": the handshake failed */
	PROBE_OUTCOME_UNTRUSTED,     /**< "untrusted": the chain does not validate */
	PROBE_OUTCOME_NAME_MISMATCH, /**< "name_mismatch": the leaf does not match the name */
	PROBE_OUTCOME_EXPIRED,	     /**< "expired": a certificate of the chain expired */
};
#define PROBE_NOUTCOMES 10

/** The class name of @o ("ok", "tls_alert", ...); "unknown" out of range. */
const char *probe_outcome_name(enum probe_outcome o);

/**
 * Parse a stored outcome: a class name, or for tls_alert and tls_error also
 * "<name>:<reason>". 0 with the class in *@out, or -EINVAL (NULL, "", an
 * unknown class, a reason on a class that takes none).
 */
int probe_outcome_parse(const char *s, enum probe_outcome *out);

/** True when @s parses (probe_outcome_parse()) to @o. */
bool probe_outcome_is(const char *s, enum probe_outcome o);

/**
 * Write the stored form of @o with @reason (NULL or "": none) into @buf:
 * "dns_error", "tls_error:out_of_memory". 0, -EINVAL for an out-of-range
 * class or a reason on a class that takes none, -ENOSPC when @buf is too small.
 */
int probe_outcome_format(char *buf, size_t len, enum probe_outcome o, const char *reason);

#endif
