/* libFuzzer harness: the renewal gate on a candidate chain (PEM/DER from an
 * upload, standard input or POST /api/v1/whatif): parsing, the checks and
 * path building, with the input's own certificates also as the observed
 * CA pool (so issuers of one name and loops are explored). */
#include <gnutls/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "readiness/readiness_gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN];
	struct readiness_gate g;
	gnutls_x509_crt_t *pool = NULL;
	unsigned n = 0;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)data, (unsigned)size };
	if (size > 64 * 1024)
		return 0;
	bool pem = memmem(data, size, "-----BEGIN", 10) != NULL;
	if (gnutls_x509_crt_list_import2(&pool, &n, &d,
					 pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, 0) < 0) {
		pool = NULL;
		n = 0;
	}
	if (readiness_gate_check(NULL, pool, n, (const char *)data, size, "api.example.com",
				 1796083200, &g, err, sizeof(err)) == 0) {
		json_decref(readiness_gate_json(&g, false));
		readiness_gate_free(&g);
	}
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(pool[i]);
	gnutls_free(pool);
	return 0;
}
