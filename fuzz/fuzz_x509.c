/* libFuzzer harness for the PEM/DER loaders of daemon/pki/x509.c: keys (pin),
 * certificate chains and trust files. */
#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/util.h"
#include "pki/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	gnutls_global_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN];
	struct x509_key *keys = NULL;
	size_t n = 0;
	if (x509_keys_parse(data, size, &keys, &n, err, sizeof(err)) == 0)
		free(keys);
	struct x509_chain ch;
	if (x509_chain_parse(data, size, X509_MAX_CHAIN, &ch, err, sizeof(err)) == 0)
		x509_chain_clear(&ch);
	if (size > 0) {
		struct x509_cert_info c;
		if (x509_cert_parse(data, size, &c, err, sizeof(err)) == 0)
			x509_cert_info_clear(&c);
	}
	return 0;
}
