/* Shared by the store tests: certificates the store keeps without parsing them. */
#ifndef PINWATCH_FAKECERT_H
#define PINWATCH_FAKECERT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "pki/x509.h"

/* A certificate whose "DER" is @tag: its sha256 is that of @tag, its SPKI
 * pin that of "spki of @tag"; subject @tag, issuer "CN=issuer", serial 01,
 * valid from 1000 to 2000000000, ECDSA P-256. Free with x509_cert_info_clear(). */
static inline void fakecert_make(struct x509_cert_info *c, const char *tag)
{
	memset(c, 0, sizeof(*c));
	c->der_len = strlen(tag);
	c->der = malloc(c->der_len);
	assert_non_null(c->der);
	memcpy(c->der, tag, c->der_len);
	assert_int_equal(util_sha256(c->der, c->der_len, c->sha256), 0);
	char spki[64];
	snprintf(spki, sizeof(spki), "spki of %s", tag);
	assert_int_equal(util_sha256(spki, strlen(spki), c->spki_pin), 0);
	c->subject = strdup(tag);
	c->issuer = strdup("CN=issuer");
	snprintf(c->serial, sizeof(c->serial), "01");
	c->not_before = 1000;
	c->not_after = 2000000000;
	snprintf(c->key_type, sizeof(c->key_type), "ECDSA P-256");
	c->key_bits = 256;
}

#endif
