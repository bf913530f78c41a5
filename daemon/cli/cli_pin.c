/* pinwatch pin FILE...: print the SPKI pin of every key found in files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/log.h"
#include "base/util.h"
#include "pki/x509.h"

static void usage(void)
{
	printf("Usage: pinwatch pin [--hex] [--json] FILE...\n\n"
	       "Print the pin (sha256/<base64> of the SubjectPublicKeyInfo) of every key in each\n"
	       "FILE: certificates and bundles, public keys, PKCS#10 CSRs and private keys\n"
	       "(PKCS#1, PKCS#8, EC, Ed25519), PEM or DER. A spare key generated today is\n"
	       "how a backup pin is made.\n\n"
	       "  --hex        also print the pin in hex (as Certificate Transparency tools do)\n"
	       "  --json       print a JSON array of {file, source, subject, key_type, key_bits, "
	       "pin, hex}\n"
	       "  -h, --help   this help\n\n"
	       "Exit status: 0 ok; 2 bad usage or a file that is missing, empty, truncated or\n"
	       "holds no key (named on stderr; nothing is printed for it).\n");
}

int cmd_pin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool hex = false, json = false;
	int opt, rc = EXIT_OK;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'x':
			hex = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_usage_error("pin", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("pin", "no FILE given");

	json_t *arr = json ? json_array() : NULL;
	if (json && !arr)
		return EXIT_RUNTIME;
	for (int i = optind; i < argc; i++) {
		struct x509_key *keys = NULL;
		size_t n = 0;
		char err[ERRLEN], esc[ERRLEN * 2];
		if (x509_keys_load_file(argv[i], &keys, &n, err, sizeof(err)) != 0) {
			log_err("pin: %s", log_escape(err, esc, sizeof(esc)));
			rc = EXIT_USAGE;
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			char b64[48], hx[65];
			util_pin_b64(keys[k].pin, b64);
			util_hex(keys[k].pin, 32, hx);
			const char *src = x509_key_source_name(keys[k].source);
			if (json) {
				char pin[64];
				snprintf(pin, sizeof(pin), "sha256/%s", b64);
				json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:i, s:s, s:s}",
						      "file", argv[i], "source", src, "subject",
						      keys[k].label[0] ? keys[k].label : NULL,
						      "key_type", keys[k].key_type, "key_bits",
						      (json_int_t)keys[k].key_bits, "pin", pin,
						      "hex", hx);
				if (!o || json_array_append_new(arr, o) != 0) {
					json_decref(arr);
					free(keys);
					return EXIT_RUNTIME;
				}
				continue;
			}
			char lab[1200], fesc[1024];
			log_escape(keys[k].label, lab, sizeof(lab));
			log_escape(argv[i], fesc, sizeof(fesc));
			printf("sha256/%s%s%s  %s: %s%s%s (%s %u)\n", b64, hex ? "  hex:" : "",
			       hex ? hx : "", fesc, src, lab[0] ? " " : "", lab, keys[k].key_type,
			       keys[k].key_bits);
		}
		free(keys);
	}
	if (json) {
		int jr = cli_print_json(arr);
		if (jr)
			return jr;
	} else if (fflush(stdout) != 0) {
		return EXIT_RUNTIME;
	}
	return rc;
}
