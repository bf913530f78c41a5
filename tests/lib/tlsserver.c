/* tlsserver: run a loopback TLS farm (daemon/demo/tlsfarm.c) until SIGTERM/SIGINT.
 * Used by scripts/run, integration tests of the CLI and benchmarks.
 *
 *   tlsserver [--address IP] [--port N] [--mode tls|silent|garbage|close|slow]
 *             [--delay MS] [--threads N] [--count N] [--ca-out FILE]
 *             [--intermediate-days N] [--second-address IP] [--control]
 *             [NAME[=normal|leaf-only|expired|wrong-name|self-signed|many|huge|rsa|
 *                    expiring|dual]...]
 *
 * Prints "port N" on stdout once serving. --count N adds ep0.test .. ep<N-1>.test.
 * --intermediate-days N: the shared intermediate expires N days from now.
 * --second-address IP: a second farm on IP, same port, same root and
 * intermediate and endpoints (each with its own leaf): two edges of one name.
 * --control: read commands from stdin, one a line, answering "ok" or "error ..."
 * on stdout; end of input stops the server:
 *   renew NAME DAYS [IP] new key and leaf for NAME valid for DAYS days (on the
 *                        farm listening on IP only, when given)
 *   intermediate DAYS    re-issue the intermediate (same key) valid for DAYS
 *                        days and renew every endpoint onto it (leaf validity kept)
 */
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	} t[] = { { "normal", TLSFARM_NORMAL },		  { "leaf-only", TLSFARM_LEAF_ONLY },
		  { "expired", TLSFARM_EXPIRED },	  { "wrong-name", TLSFARM_WRONG_NAME },
		  { "self-signed", TLSFARM_SELF_SIGNED }, { "many", TLSFARM_MANY_CERTS },
		  { "huge", TLSFARM_HUGE_CHAIN },	  { "rsa", TLSFARM_NORMAL },
		  { "expiring", TLSFARM_EXPIRING },	  { "dual", TLSFARM_NORMAL } };
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

/* The name of the @i-th endpoint: the NAME[=flavor] arguments, then ep<N>.test. */
static void endpoint_name(char **names, int nnames, int i, char *buf, size_t len)
{
	if (i < nnames) {
		snprintf(buf, len, "%s", names[i]);
		buf[strcspn(buf, "=")] = '\0';
	} else {
		snprintf(buf, len, "ep%d.test", i - nnames);
	}
}

static int add_all(struct tlsfarm **farms, int nfarms, const char *name, enum tlsfarm_flavor fl,
		   enum tlsfarm_key k, char *err, size_t errlen)
{
	int rc = 0;
	for (int i = 0; i < nfarms && rc == 0; i++)
		rc = tlsfarm_add(farms[i], name, fl, k, err, errlen);
	return rc;
}

static void serve_commands(struct tlsfarm **farms, int nfarms, const char *first,
			   const char *second, struct tlsfarm_pki *pki, char **names, int nnames,
			   long long count)
{
	char line[512], name[256];
	long long days;
	while (!stop && fgets(line, sizeof(line), stdin)) {
		char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
		char *a1 = strtok_r(NULL, " \t\r\n", &save), *a2 = strtok_r(NULL, " \t\r\n", &save);
		char *a3 = strtok_r(NULL, " \t\r\n", &save);
		int rc = -EINVAL;
		if (cmd && !strcmp(cmd, "renew") && a1 && a2 &&
		    !util_parse_int(a2, -3650, 3650, &days)) {
			rc = a3 && strcmp(a3, first) && (!second || strcmp(a3, second)) ? -ENOENT
											: 0;
			for (int i = 0; rc == 0 && i < nfarms; i++)
				if (!a3 || !strcmp(a3, i ? second : first))
					rc = tlsfarm_renew(farms[i], a1, time(NULL) + days * 86400);
		} else if (cmd && !strcmp(cmd, "intermediate") && a1 &&
			   !util_parse_int(a1, -3650, 3650, &days)) {
			rc = tlsfarm_pki_reissue_intermediate(pki, time(NULL) + days * 86400);
			for (int i = 0; rc == 0 && i < nnames + count; i++) {
				endpoint_name(names, nnames, i, name, sizeof(name));
				for (int k = 0; rc == 0 && k < nfarms; k++)
					rc = tlsfarm_renew(farms[k], name, 0);
			}
		}
		if (rc)
			printf("error %s\n", strerror(-rc));
		else
			printf("ok\n");
		fflush(stdout);
	}
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
		{ "intermediate-days", required_argument, NULL, 'i' },
		{ "control", no_argument, NULL, 'c' },
		{ "second-address", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct tlsfarm_opts fo = { 0 };
	long long v, count = 0, inter_days = 0;
	bool control = false;
	const char *ca_out = NULL, *second = NULL;
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
		case 'i':
			if (util_parse_int(optarg, -3650, 3650, &inter_days))
				return 2;
			break;
		case 'c':
			control = true;
			break;
		case 's':
			second = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: see the comment at the top of tests/lib/tlsserver.c\n");
			return 2;
		}
	}
	gnutls_global_init();
	struct tlsfarm_pki *pki = tlsfarm_pki_new(err, sizeof(err));
	struct tlsfarm *farms[2] = { NULL, NULL };
	int nfarms = 0;
	struct tlsfarm *f = pki ? tlsfarm_new(pki, &fo, err, sizeof(err)) : NULL;
	if (!f) {
		fprintf(stderr, "tlsserver: %s\n", err);
		return 3;
	}
	farms[nfarms++] = f;
	if (second) {
		struct tlsfarm_opts o2 = fo;
		o2.address = second;
		o2.port = tlsfarm_port(f);
		if (!(farms[nfarms++] = tlsfarm_new(pki, &o2, err, sizeof(err)))) {
			fprintf(stderr, "tlsserver: %s: %s\n", second, err);
			return 3;
		}
	}
	if (inter_days && tlsfarm_pki_reissue_intermediate(pki, time(NULL) + inter_days * 86400)) {
		fprintf(stderr, "tlsserver: cannot re-issue the intermediate\n");
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
		if (add_all(farms, nfarms, name, fl, k, err, sizeof(err))) {
			fprintf(stderr, "tlsserver: %s\n", err);
			return 3;
		}
	}
	for (long long i = 0; i < count; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ep%lld.test", i);
		if (add_all(farms, nfarms, name, TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err,
			    sizeof(err))) {
			fprintf(stderr, "tlsserver: %s\n", err);
			return 3;
		}
	}
	if (fo.mode == TLSFARM_TLS && optind == argc && count == 0 &&
	    add_all(farms, nfarms, "localhost", TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err,
		    sizeof(err))) {
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
	if (tlsfarm_start(f) || (farms[1] && tlsfarm_start(farms[1]))) {
		fprintf(stderr, "tlsserver: cannot start\n");
		return 3;
	}
	printf("port %u\n", tlsfarm_port(f));
	fflush(stdout);
	if (control)
		serve_commands(farms, nfarms, fo.address ? fo.address : "127.0.0.1", second, pki,
			       argv + optind, argc - optind, count);
	else
		while (!stop)
			pause();
	fprintf(stderr, "tlsserver: %llu handshakes\n", (unsigned long long)tlsfarm_handshakes(f));
	tlsfarm_free(farms[1]);
	tlsfarm_free(f);
	tlsfarm_pki_free(pki);
	gnutls_global_deinit();
	return 0;
}
