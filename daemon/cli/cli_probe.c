/* pinwatch probe HOST[:PORT]: fetch, complete and verify a chain. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "store/inventory.h"
#include "model/validate.h"
#include "store/observations.h"
#include "probe/probe.h"
#include "base/util.h"

#define MAX_ALL_ADDRESSES 64

static void usage(void)
{
	printf("Usage: pinwatch probe [OPTIONS] HOST[:PORT]\n\n"
	       "Connect (default port 443; IPv6 literals as [ADDR]:PORT), perform a TLS handshake\n"
	       "and print the presented chain and the validated chain (completed to a trust\n"
	       "anchor) with, per certificate, subject, issuer, serial, validity, key, SHA-256\n"
	       "fingerprint and SPKI pin; the TLS version, cipher, trust, name match and the\n"
	       "outcome: ok, dns_error, refused, unreachable, timeout, tls_alert:<name>,\n"
	       "tls_error:<reason>, untrusted, name_mismatch, expired.\n\n"
	       "  --sni NAME        server name to send and check (default HOST)\n"
	       "  --ca-file FILE    trust anchors (and intermediates) instead of the system store\n"
	       "  --address IP      probe this address instead of resolving HOST\n"
	       "  --all-addresses   probe every A/AAAA address of HOST (CDN edges differ)\n"
	       "  --timeout MS      bound for connect + handshake together (default 10000)\n"
	       "  --hex             also print pins in hex\n"
	       "  --no-discover     skip dual-certificate discovery (by default every address\n"
	       "                    is also probed offering only ECDSA and only RSA signature\n"
	       "                    algorithms, to show each chain a server with two\n"
	       "                    certificates presents)\n"
	       "  --json            print JSON\n"
	       "  --store           also record the results as observations of the endpoint\n"
	       "                    HOST:PORT in the database (added to the inventory if\n"
	       "                    missing, normalised and audited; HOST must be a "
	       "name)\n" CLI_GLOBAL_HELP "  -h, --help        this help\n\n"
	       "The probe keeps at most 32 certificates / 256 KiB of chain and says so.\n"
	       "The exit status judges the normal probe; discovery results are shown (and\n"
	       "stored with --store) beside it.\n"
	       "Exit status: 0 every address ok; 1 a chain was received but is untrusted,\n"
	       "expired or does not match the name; 2 bad usage; 3 no chain (DNS, connection,\n"
	       "timeout or TLS failure).\n");
}

/* The endpoint probe --store records under: (host, port), its SNI only when
 * it differs from the host, everything else the inventory's defaults.
 * Normalised here (model_check_endpoint) so that a bad HOST is refused
 * before probing. 0 or -EINVAL/-ENOMEM with a message. */
static int store_endpoint(const char *host, uint16_t port, const char *sni, struct endpoint *e,
			  char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->port = port;
	e->enabled = true;
	if (!(e->host = strdup(host)) || !(e->sni = strdup(sni)))
		return util_err(err, errlen, -ENOMEM, "out of memory");
	int rc = model_check_endpoint(e, err, errlen);
	if (!rc && strcmp(e->sni, e->host) == 0) {
		free(e->sni);
		e->sni = NULL;
	}
	return rc;
}

/* Record @res under endpoint (host, port), creating it (audited) if needed. EXIT_*. */
static int store_results(struct cli_global *g, const char *host, uint16_t port, const char *sni,
			 const struct probe_result *res, size_t n)
{
	struct db *db = NULL;
	struct endpoint ep, *e = &ep;
	char err[ERRLEN], esc[ERRLEN * 2];
	int rc = store_endpoint(host, port, sni, e, err, sizeof(err));
	if (rc) {
		log_err("probe --store: %s", log_escape(err, esc, sizeof(esc)));
		model_endpoint_free(e);
		return EXIT_RUNTIME;
	}
	if ((rc = cli_open_db(g, DB_NO_CHECK, &db))) {
		model_endpoint_free(e);
		return rc;
	}
	if (db_begin(db) != 0) {
		snprintf(err, sizeof(err), "%s", db_errmsg(db));
		rc = -EIO;
	} else {
		rc = inventory_endpoint_ensure(db, cli_actor(), e, NULL, err, sizeof(err));
	}
	for (size_t i = 0; !rc && i < n; i++)
		rc = obs_record(db, e->id, &res[i], NULL, err, sizeof(err));
	if (!rc && db_commit(db) != 0) {
		snprintf(err, sizeof(err), "%s", db_errmsg(db));
		rc = -EIO;
	}
	if (rc) {
		log_err("probe --store: %s", log_escape(err, esc, sizeof(esc)));
		db_rollback(db);
	}
	db_close(db);
	model_endpoint_free(e);
	return rc ? EXIT_RUNTIME : EXIT_OK;
}

static void print_chain(const char *title, const struct x509_chain *ch, bool hex)
{
	printf("  %s chain (%zu certificate%s)%s:\n", title, ch->n, ch->n == 1 ? "" : "s",
	       ch->truncated ? ", truncated" : "");
	for (size_t i = 0; i < ch->n; i++) {
		const struct x509_cert_info *c = &ch->certs[i];
		char s[X509_MAX_DN * 2], is[X509_MAX_DN * 2], nb[32], na[32], fp[65], b64[48],
			hx[65];
		printf("    [%zu] subject  %s\n", i, log_escape(c->subject, s, sizeof(s)));
		printf("        issuer   %s\n", log_escape(c->issuer, is, sizeof(is)));
		printf("        serial   %s\n", c->serial);
		printf("        valid    %s to %s\n", util_fmt_time(c->not_before, nb, sizeof(nb)),
		       util_fmt_time(c->not_after, na, sizeof(na)));
		printf("        key      %s (%u bits)%s\n", c->key_type, c->key_bits,
		       c->is_ca ? ", CA" : "");
		printf("        sha256   %s\n", util_hex(c->sha256, 32, fp));
		printf("        pin      sha256/%s\n", util_pin_b64(c->spki_pin, b64));
		if (hex)
			printf("        pin hex  %s\n", util_hex(c->spki_pin, 32, hx));
	}
}

static bool same_chain(const struct x509_chain *a, const struct x509_chain *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->certs[i].sha256, b->certs[i].sha256, 32) != 0)
			return false;
	return true;
}

/* A discovery result @v of the address whose normal result is @r. */
static void print_variant(const struct probe_result *r, const struct probe_result *v, bool hex)
{
	char d[600];
	printf("  offering only %s signature algorithms: %s\n",
	       v->variant == PROBE_VARIANT_ECDSA ? "ECDSA" : "RSA", v->outcome);
	if (!v->handshake_ok) {
		if (v->detail[0])
			printf("    detail: %s\n", log_escape(v->detail, d, sizeof(d)));
		return;
	}
	if (r->handshake_ok && same_chain(&r->presented, &v->presented)) {
		printf("    %s %s, the same chain as above\n", v->tls_version, v->cipher);
		return;
	}
	printf("    %s %s, trusted: %s, name matches: %s, a DIFFERENT chain:\n", v->tls_version,
	       v->cipher, v->trusted ? "yes" : "no", v->name_ok ? "yes" : "no");
	print_chain("presented", &v->presented, hex);
	print_chain("validated", &v->validated, hex);
}

static void print_result(const struct probe_result *r, bool hex)
{
	char d[600];
	printf("%s port %u: %s\n", r->address, r->port, r->outcome);
	if (r->detail[0])
		printf("  detail: %s\n", log_escape(r->detail, d, sizeof(d)));
	if (!r->handshake_ok) {
		printf("  %lld ms\n", (long long)r->duration_ms);
		return;
	}
	printf("  %s %s, trusted: %s, name matches: %s, %lld ms\n", r->tls_version, r->cipher,
	       r->trusted ? "yes" : "no", r->name_ok ? "yes" : "no", (long long)r->duration_ms);
	print_chain("presented", &r->presented, hex);
	print_chain("validated", &r->validated, hex);
}

/* The results of one probe command as JSON on stdout: res[0..n-1] the normal
 * probe, res[k*n + i] the discovery variant k (1..nv-1) of address i. EXIT_*. */
static int print_probe_json(const char *host, int port, const char *sni,
			    const struct probe_result *res, size_t n, size_t nv)
{
	bool discover = nv > 1;
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		json_t *o = probe_result_json(&res[i]), *vs = discover ? json_array() : NULL;
		for (size_t k = 1; o && vs && k < nv; k++)
			if (json_array_append_new(vs, probe_result_json(&res[k * n + i])))
				break;
		if (!o ||
		    (discover && (!vs || json_array_size(vs) != nv - 1 ||
				  json_object_set(o, "variants", vs))) ||
		    json_array_append(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
		json_decref(vs);
		json_decref(o);
	}
	json_t *o = a ? json_pack("{s:s, s:i, s:s, s:o}", "host", host, "port", (json_int_t)port,
				  "sni", sni, "addresses", a)
		      : NULL;
	return cli_print_json(o);
}

/* The same as text. EXIT_*. */
static int print_probe_text(const char *host, int port, const char *sni,
			    const struct probe_result *res, size_t n, size_t nv, bool hex)
{
	char h[600], s[600];
	printf("probe %s port %u (SNI %s)\n", log_escape(host, h, sizeof(h)), port,
	       log_escape(sni, s, sizeof(s)));
	for (size_t i = 0; i < n; i++) {
		print_result(&res[i], hex);
		for (size_t k = 1; k < nv; k++)
			print_variant(&res[i], &res[k * n + i], hex);
	}
	return fflush(stdout) != 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* @address (an IP literal) with @port as a probe address; 0 or -EINVAL. */
static int numeric_addr(const char *address, int port, struct probe_addr *out)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(address, ps, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(&out->ss, ai->ai_addr, ai->ai_addrlen);
	out->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Clear and free @n results (NULL-safe). */
static void free_results(struct probe_result *res, size_t n)
{
	for (size_t i = 0; res && i < n; i++)
		probe_result_clear(&res[i]);
	free(res);
}

/* The options of `pinwatch probe`. */
struct probe_opts {
	struct cli_global g;
	const char *sni, *ca, *address;
	bool all, hex, json, store, discover;
	long long timeout;
};

enum { O_SNI = 0x200, O_CA, O_ADDR, O_ALL, O_TIMEOUT, O_HEX, O_JSON, O_STORE, O_NODISC };

/* Parse one option of `pinwatch probe` into @o: CLI_CONTINUE, or the EXIT_*
 * to return (the help printed, a usage error). */
static int probe_opt(struct probe_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case O_STORE:
		o->store = true;
		return CLI_CONTINUE;
	case O_NODISC:
		o->discover = false;
		return CLI_CONTINUE;
	case O_SNI:
		o->sni = arg;
		return CLI_CONTINUE;
	case O_CA:
		o->ca = arg;
		return CLI_CONTINUE;
	case O_ADDR:
		o->address = arg;
		return CLI_CONTINUE;
	case O_ALL:
		o->all = true;
		return CLI_CONTINUE;
	case O_TIMEOUT:
		if (util_parse_int(arg, 100, 600000, &o->timeout) != 0)
			return cli_usage_error("probe", "--timeout: milliseconds in [100, 600000]");
		return CLI_CONTINUE;
	case O_HEX:
		o->hex = true;
		return CLI_CONTINUE;
	case O_JSON:
		o->json = true;
		return CLI_CONTINUE;
	case 'h':
		usage();
		return EXIT_OK;
	default:
		return cli_usage_error("probe", "unknown option");
	}
}

int cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-discover", no_argument, NULL, O_NODISC },
		{ "sni", required_argument, NULL, O_SNI },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "address", required_argument, NULL, O_ADDR },
		{ "all-addresses", no_argument, NULL, O_ALL },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "hex", no_argument, NULL, O_HEX },
		{ "json", no_argument, NULL, O_JSON },
		{ "store", no_argument, NULL, O_STORE },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct probe_opts po = { .timeout = 10000, .discover = true };
	const char *sni;
	int opt;

	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&po.g, opt, optarg))
			continue;
		if ((opt = probe_opt(&po, opt, optarg)) != CLI_CONTINUE)
			return opt;
	}
	if (optind != argc - 1)
		return cli_usage_error("probe", "expected exactly one HOST[:PORT]");
	if (po.address && po.all)
		return cli_usage_error("probe", "--address and --all-addresses exclude each other");
	char host[256];
	int port = 443;
	if (util_parse_hostport(argv[optind], 0, host, sizeof(host), &port) != 0)
		return cli_usage_error("probe", "bad target '%s' (HOST, HOST:PORT or [IPv6]:PORT)",
				       argv[optind]);
	if (po.sni && (!*po.sni || strlen(po.sni) > 253))
		return cli_usage_error("probe", "--sni: 1 to 253 characters");
	sni = po.sni ? po.sni : host;
	char err[ERRLEN], esc[ERRLEN * 2];
	if (po.store) { /* refuse what the inventory would refuse before probing */
		struct endpoint ep;
		int vr = store_endpoint(host, port, sni, &ep, err, sizeof(err));
		model_endpoint_free(&ep);
		if (vr)
			return cli_usage_error("probe", "--store: %s",
					       log_escape(err, esc, sizeof(esc)));
	}

	struct probe_addr addrs[MAX_ALL_ADDRESSES];
	size_t n = 0;
	int rc;
	if (po.address) {
		if (numeric_addr(po.address, port, &addrs[0]))
			return cli_usage_error("probe", "--address: '%s' is not an IP address",
					       po.address);
		n = 1;
	} else if ((rc = probe_resolve(host, port, addrs, po.all ? MAX_ALL_ADDRESSES : 1, &n, err,
				       sizeof(err))) != 0) {
		if (po.json) {
			json_t *a =
				json_pack("[{s:n, s:i, s:s, s:s}]", "address", "port",
					  (json_int_t)port, "outcome", "dns_error", "detail", err);
			json_t *o = json_pack("{s:s, s:i, s:s, s:o}", "host", host, "port",
					      (json_int_t)port, "sni", sni, "addresses", a);
			rc = cli_print_json(o);
			return rc ? rc : EXIT_RUNTIME;
		}
		printf("%s port %u: dns_error\n  detail: %s\n", log_escape(host, esc, sizeof(esc)),
		       port, log_escape(err, esc + ERRLEN, ERRLEN));
		return EXIT_RUNTIME;
	}

	struct probe_ctx *ctx = probe_ctx_new(po.ca, err, sizeof(err));
	if (!ctx) {
		log_err("probe: %s", log_escape(err, esc, sizeof(esc)));
		return po.ca ? EXIT_USAGE : EXIT_RUNTIME;
	}
	/* res[0..n-1]: the normal probe; with discovery res[n..2n-1] offering
	 * only ECDSA, res[2n..3n-1] only RSA. */
	size_t nv = po.discover ? PROBE_NVARIANTS : 1;
	struct probe_result *res = calloc(n * nv, sizeof(*res));
	int prc = res ? 0 : -ENOMEM;
	for (size_t k = 0; k < nv && !prc; k++)
		prc = probe_run_many_variant(ctx, addrs, n, sni, (int)po.timeout,
					     (enum probe_variant)k, res + k * n);
	if (prc) {
		log_err("probe: out of memory");
		free_results(res, n * nv);
		probe_ctx_free(ctx);
		return EXIT_RUNTIME;
	}
	rc = EXIT_OK;
	if (po.store) {
		int sr = store_results(&po.g, host, port, sni, res, n * nv);
		if (sr != EXIT_OK) {
			free_results(res, n * nv);
			probe_ctx_free(ctx);
			return sr;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!res[i].handshake_ok)
			rc = EXIT_RUNTIME;
		else if (strcmp(res[i].outcome, "ok") != 0 && rc == EXIT_OK)
			rc = EXIT_RISK;
	}
	int pr = po.json ? print_probe_json(host, port, sni, res, n, nv)
			 : print_probe_text(host, port, sni, res, n, nv, po.hex);
	if (pr)
		rc = pr;
	free_results(res, n * nv);
	probe_ctx_free(ctx);
	return rc;
}
