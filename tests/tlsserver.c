/* tlsserver: run a loopback TLS farm (daemon/demo/tlsfarm.c) until SIGTERM/SIGINT.
 * Used by scripts/run, integration tests of the CLI and benchmarks.
 *
 *   tlsserver [--address IP] [--port N] [--mode tls|silent|garbage|close|slow]
 *             [--delay MS] [--threads N] [--count N] [--ca-out FILE]
 *             [NAME[=normal|leaf-only|expired|wrong-name|self-signed|many|huge|rsa|dual]...]
 *
 * Prints "port N" on stdout once serving. --count N adds ep0.test .. ep<N-1>.test.
 */
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo/tlsfarm.h"
#include "base/util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_flavor(const char *s, enum tlsfarm_flavor *fl, enum tlsfarm_key *k)
{
	static const struct {
		const char *name;
		enum tlsfarm_flavor fl;
	} t[] = { { "normal", TLSFARM_NORMAL },
		  { "leaf-only", TLSFARM_LEAF_ONLY },
		  { "expired", TLSFARM_EXPIRED },
		  { "wrong-name", TLSFARM_WRONG_NAME },
		  { "self-signed", TLSFARM_SELF_SIGNED },
		  { "many", TLSFARM_MANY_CERTS },
		  { "huge", TLSFARM_HUGE_CHAIN },
		  { "rsa", TLSFARM_NORMAL },
		  { "dual", TLSFARM_NORMAL } };
	*k = strcmp(s, "rsa") == 0    ? TLSFARM_KEY_RSA2048
	     : strcmp(s, "dual") == 0 ? TLSFARM_KEY_DUAL
				      : TLSFARM_KEY_ECDSA_P256;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(s, t[i].name)) {
			*fl = t[i].fl;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "delay", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "ca-out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct tlsfarm_opts fo = { 0 };
	long long v, count = 0;
	const char *ca_out = NULL;
	char err[ERRLEN];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			fo.address = optarg;
			break;
		case 'p':
			if (util_parse_int(optarg, 0, 65535, &v))
				return 2;
			fo.port = (uint16_t)v;
			break;
		case 'm':
			if (!strcmp(optarg, "tls"))
				fo.mode = TLSFARM_TLS;
			else if (!strcmp(optarg, "silent"))
				fo.mode = TLSFARM_SILENT;
			else if (!strcmp(optarg, "garbage"))
				fo.mode = TLSFARM_GARBAGE;
			else if (!strcmp(optarg, "close"))
				fo.mode = TLSFARM_CLOSE_MID;
			else if (!strcmp(optarg, "slow"))
				fo.mode = TLSFARM_SLOW;
			else
				return 2;
			break;
		case 'd':
			if (util_parse_int(optarg, 0, 600000, &v))
				return 2;
			fo.delay_ms = (int)v;
			break;
		case 't':
			if (util_parse_int(optarg, 1, 64, &v))
				return 2;
			fo.threads = (int)v;
			break;
		case 'n':
			if (util_parse_int(optarg, 0, 1000000, &count))
				return 2;
			break;
		case 'o':
			ca_out = optarg;
			break;
		default:
			fprintf(stderr, "usage: see the comment at the top of tests/tlsserver.c\n");
			return 2;
		}
	}
	gnutls_global_init();
	struct tlsfarm_pki *pki = tlsfarm_pki_new(err, sizeof(err));
	struct tlsfarm *f = pki ? tlsfarm_new(pki, &fo, err, sizeof(err)) : NULL;
	if (!f) {
		fprintf(stderr, "tlsserver: %s\n", err);
		return 3;
	}
	for (int i = optind; i < argc; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s", argv[i]);
		char *eq = strchr(name, '=');
		enum tlsfarm_flavor fl = TLSFARM_NORMAL;
		enum tlsfarm_key k = TLSFARM_KEY_ECDSA_P256;
		if (eq) {
			*eq = '\0';
			if (parse_flavor(eq + 1, &fl, &k)) {
				fprintf(stderr, "tlsserver: unknown flavor '%s'\n", eq + 1);
				return 2;
			}
		}
		if (tlsfarm_add(f, name, fl, k, err, sizeof(err))) {
			fprintf(stderr, "tlsserver: %s\n", err);
			return 3;
		}
	}
	for (long long i = 0; i < count; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ep%lld.test", i);
		if (tlsfarm_add(f, name, TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err,
				sizeof(err))) {
			fprintf(stderr, "tlsserver: %s\n", err);
			return 3;
		}
	}
	if (fo.mode == TLSFARM_TLS && optind == argc && count == 0 &&
	    tlsfarm_add(f, "localhost", TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err, sizeof(err))) {
		fprintf(stderr, "tlsserver: %s\n", err);
		return 3;
	}
	if (ca_out && tlsfarm_pki_write_ca(pki, ca_out, false)) {
		fprintf(stderr, "tlsserver: cannot write %s\n", ca_out);
		return 3;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (tlsfarm_start(f)) {
		fprintf(stderr, "tlsserver: cannot start\n");
		return 3;
	}
	printf("port %u\n", tlsfarm_port(f));
	fflush(stdout);
	while (!stop)
		pause();
	fprintf(stderr, "tlsserver: %llu handshakes\n", (unsigned long long)tlsfarm_handshakes(f));
	tlsfarm_free(f);
	tlsfarm_pki_free(pki);
	gnutls_global_deinit();
	return 0;
}
