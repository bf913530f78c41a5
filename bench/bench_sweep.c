/* bench_sweep: `pinwatch sweep` as cron runs it, against baselines measured
 * in the same run (issue 14's conditions):
 *
 *  - a loopback farm (daemon/demo/tlsfarm.c) of N SNI endpoints whose server
 *    threads (2) share the two cores with everything else, each endpoint
 *    with an ECDSA P-256 and an RSA-2048 leaf (TLSFARM_KEY_DUAL) under an
 *    RSA intermediate and root;
 *  - names from a hosts file of N entries ($PINWATCH_HOSTS_FILE);
 *  - every sweep a fresh `pinwatch sweep` process (the binary given), on a
 *    database that was swept once before (the steady state of a cron job);
 *    plain (--no-discover) and discovering (--discover: three handshakes per
 *    address);
 *  - baseline 1: a minimal blocking GnuTLS client (8 threads; connect,
 *    handshake, peer certificates, close; no validation), with default
 *    priorities and with pinwatch's probe priorities;
 *  - baseline 2: prometheus-blackbox-exporter (tcp prober, TLS, validating
 *    with the CA file) driven by wrk.
 * Wall time and CPU of the sweep include process start-up, configuration,
 * database open and migrations check, the hosts file, the trust store and
 * the final commit: everything a cron sweep pays. "phases" prints where a
 * sweep's time goes apart from probing (one run each with the same binary):
 * `pinwatch sweep` of an inventory with every endpoint disabled.
 *
 * Usage: bench_sweep PINWATCH [--endpoints N] [--rounds R] [--concurrency C]
 *                    [--skip-exporter] [--plain-only]
 * --plain-only: plain sweeps only, run without discovery options, so that a
 * binary from before dual-certificate discovery can be measured the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "demo/tlsfarm.h"
#include "probe/probe.h"

static char dir[64];
static uint16_t farm_port;
static int nnames;

/* ---- minimal blocking client ---- */

struct mc {
	const char *prio; /* NULL: gnutls_set_default_priority */
	unsigned flags;	  /* extra gnutls_init() flags */
	gnutls_certificate_credentials_t cred;
	atomic_int next;
	int total;
	atomic_int failures;
};

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static _Atomic double mc_cpu;

static void *mc_thread(void *arg)
{
	struct mc *m = arg;
	double c0 = thread_cpu_s();
	gnutls_priority_t pr = NULL;
	if (m->prio && gnutls_priority_init(&pr, m->prio, NULL) < 0)
		return NULL;
	for (;;) {
		int i = atomic_fetch_add(&m->next, 1);
		if (i >= m->total)
			break;
		char sni[64];
		snprintf(sni, sizeof(sni), "ep%d.test", i % nnames);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(farm_port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		gnutls_session_t s;
		unsigned np = 0;
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    gnutls_init(&s, GNUTLS_CLIENT | m->flags) < 0) {
			atomic_fetch_add(&m->failures, 1);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (pr)
			gnutls_priority_set(s, pr);
		else
			gnutls_set_default_priority(s);
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, m->cred);
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
		gnutls_transport_set_int(s, fd);
		int g;
		do
			g = gnutls_handshake(s);
		while (g < 0 && !gnutls_error_is_fatal(g));
		if (g < 0 || !gnutls_certificate_get_peers(s, &np) || np == 0)
			atomic_fetch_add(&m->failures, 1);
		gnutls_deinit(s);
		close(fd);
	}
	if (pr)
		gnutls_priority_deinit(pr);
	double used = thread_cpu_s() - c0, cur = atomic_load(&mc_cpu);
	while (!atomic_compare_exchange_weak(&mc_cpu, &cur, cur + used))
		;
	return NULL;
}

/* @total handshakes by 8 threads: handshakes/s; client CPU per handshake in @us. */
static double minimal_client(const char *prio, unsigned flags, int total, double *us, int *failures)
{
	struct mc m = { .prio = prio, .flags = flags, .total = total };
	pthread_t th[8];
	gnutls_certificate_allocate_credentials(&m.cred);
	atomic_store(&mc_cpu, 0.0);
	int64_t t0 = util_mono_ms();
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, mc_thread, &m);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	double secs = (double)(util_mono_ms() - t0) / 1000.0;
	gnutls_certificate_free_credentials(m.cred);
	*us = atomic_load(&mc_cpu) * 1e6 / total;
	*failures = atomic_load(&m.failures);
	return total / secs;
}

/* ---- pinwatch sweep, a fresh process ---- */

struct sweep_out {
	long long probes, discovery;
	double wall_s, cpu_s;
};

static int run_pinwatch(const char *pw, const char *db, const char *ca, const char *hosts,
			const char *mode, int conc, struct sweep_out *out)
{
	char cs[16], line[4096];
	snprintf(cs, sizeof(cs), "%d", conc);
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	int64_t t0 = util_mono_ms();
	pid_t pid = fork();
	if (pid == 0) {
		setenv("PINWATCH_DB", db, 1);
		setenv("PINWATCH_HOSTS_FILE", hosts, 1);
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(pw, pw, "sweep", "--json", "--ca-file", ca, "--concurrency", cs, mode,
		      (char *)NULL); /* mode NULL: no discovery option (older binaries) */
		_exit(127);
	}
	close(pfd[1]);
	size_t n = 0;
	ssize_t r;
	while ((r = read(pfd[0], line + n, sizeof(line) - 1 - n)) > 0)
		n += (size_t)r;
	line[n] = '\0';
	close(pfd[0]);
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	out->wall_s = (double)(util_mono_ms() - t0) / 1000.0;
	out->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	const char *p = strstr(line, "\"probes\":"), *d = strstr(line, "\"discovery_probes\":");
	out->probes = p ? atoll(p + 9) : 0;
	out->discovery = d ? atoll(d + 19) : 0;
	return 0;
}

/* ---- exporter (as bench_probe) ---- */

static bool port_open(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static double pid_cpu_s(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	char *c = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (!c ||
	    sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double exporter_rate(const char *ca, int conc, int secs, double *cpu_us)
{
	char cfg[128], url[256], cmd[512], line[512];
	const uint16_t eport = 19116;
	double rate = 0;
	snprintf(cfg, sizeof(cfg), "%s/blackbox.yml", dir);
	FILE *f = fopen(cfg, "w");
	if (!f)
		return 0;
	fprintf(f,
		"modules:\n  tls:\n    prober: tcp\n    timeout: 10s\n    tcp:\n      tls: true\n"
		"      tls_config:\n        ca_file: %s\n        server_name: ep0.test\n",
		ca);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		char a1[160], a2[64];
		snprintf(a1, sizeof(a1), "--config.file=%s", cfg);
		snprintf(a2, sizeof(a2), "--web.listen-address=127.0.0.1:%u", eport);
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		dup2(nul, 2);
		execlp("prometheus-blackbox-exporter", "prometheus-blackbox-exporter", a1, a2,
		       "--log.level=error", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !port_open(eport); i++)
		usleep(100000);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/probe?module=tls&target=127.0.0.1:%u",
		 eport, farm_port);
	snprintf(cmd, sizeof(cmd), "curl -s '%s' | grep -c '^probe_success 1'", url);
	FILE *p = popen(cmd, "r");
	int ok = 0;
	if (p && fgets(line, sizeof(line), p))
		ok = atoi(line);
	if (p)
		pclose(p);
	double c0 = pid_cpu_s(pid);
	if (ok != 1) {
		fprintf(stderr, "exporter: probe_success is not 1\n");
	} else {
		snprintf(cmd, sizeof(cmd), "wrk -t1 -c%d -d%ds '%s' 2>&1", conc, secs, url);
		p = popen(cmd, "r");
		while (p && fgets(line, sizeof(line), p))
			if (sscanf(line, "Requests/sec: %lf", &rate) == 1)
				break;
		if (p)
			pclose(p);
	}
	*cpu_us = rate > 0 ? (pid_cpu_s(pid) - c0) * 1e6 / (rate * secs) : 0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return rate;
}

/* ---- setup ---- */

static int write_inventory(const char *path, int n, bool enabled)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"endpoints\": [");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s{\"host\": \"ep%d.test\", \"port\": %u, \"enabled\": %s}",
			i ? ",\n" : "\n", i, farm_port, enabled ? "true" : "false");
	fprintf(f, "], \"apps\": []}\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static double loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoints", required_argument, NULL, 'e' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "skip-exporter", no_argument, NULL, 'x' },
		{ "plain-only", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int nep = 2000, rounds = 3, conc = 64, opt;
	bool exporter = true, plain_only = false;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			nep = atoi(optarg);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'c':
			conc = atoi(optarg);
			break;
		case 'x':
			exporter = false;
			break;
		case 'p':
			plain_only = true;
			break;
		default:
			fprintf(stderr, "see the comment at the top of bench/bench_sweep.c\n");
			return 2;
		}
	}
	if (optind != argc - 1 || nep < 1 || rounds < 1 || conc < 1) {
		fprintf(stderr, "usage: bench_sweep PINWATCH [--endpoints N] [--rounds R] "
				"[--concurrency C] [--skip-exporter]\n");
		return 2;
	}
	const char *pw = argv[optind];
	nnames = nep;
	signal(SIGPIPE, SIG_IGN);
	gnutls_global_init();
	char err[ERRLEN], ca[128], hosts[128], db[128], inv[128], dbe[128], inve[128];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-bench-sweep-XXXXXX");
	if (!mkdtemp(dir))
		return 3;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	snprintf(db, sizeof(db), "%s/sweep.db", dir);
	snprintf(inv, sizeof(inv), "%s/inv.json", dir);
	snprintf(dbe, sizeof(dbe), "%s/empty.db", dir);
	snprintf(inve, sizeof(inve), "%s/inv-disabled.json", dir);

	int64_t t0 = util_mono_ms();
	struct tlsfarm_pki *pki = tlsfarm_pki_new(err, sizeof(err));
	struct tlsfarm_opts fo = { .address = "127.0.0.1", .threads = 2 };
	struct tlsfarm *farm = pki ? tlsfarm_new(pki, &fo, err, sizeof(err)) : NULL;
	if (!farm || tlsfarm_pki_write_ca(pki, ca, false)) {
		fprintf(stderr, "farm: %s\n", err);
		return 3;
	}
	for (int i = 0; i < nep; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ep%d.test", i);
		if (tlsfarm_add(farm, name, TLSFARM_NORMAL, TLSFARM_KEY_DUAL, err, sizeof(err))) {
			fprintf(stderr, "farm: %s\n", err);
			return 3;
		}
	}
	if (tlsfarm_start(farm))
		return 3;
	farm_port = tlsfarm_port(farm);
	FILE *hf = fopen(hosts, "w");
	for (int i = 0; hf && i < nep; i++)
		fprintf(hf, "127.0.0.1 ep%d.test\n", i);
	if (!hf || fclose(hf) != 0 || write_inventory(inv, nep, true) ||
	    write_inventory(inve, nep, false))
		return 3;
	if (sh("PINWATCH_DB=%s %s import %s >/dev/null", db, pw, inv) ||
	    sh("PINWATCH_DB=%s %s import %s >/dev/null", dbe, pw, inve))
		return 3;
	printf("farm: %d SNI endpoints on 127.0.0.1:%u, 2 server threads, each an ECDSA P-256 "
	       "and an RSA-2048 leaf (RSA-2048 intermediate and root), built in %lld ms; "
	       "hosts file of %d names; pinwatch sweep --concurrency %d; load average %.1f\n",
	       nep, farm_port, (long long)(util_mono_ms() - t0), nep, conc, loadavg());

	const char *plain = plain_only ? NULL : "--no-discover";
	struct sweep_out so;
	if (run_pinwatch(pw, db, ca, hosts, plain_only ? NULL : "--discover", conc,
			 &so)) { /* populate */
		fprintf(stderr, "pinwatch sweep failed\n");
		return 3;
	}
	/* Where the time of a sweep goes apart from probing. */
	struct sweep_out se;
	if (run_pinwatch(pw, dbe, ca, hosts, plain, conc, &se) == 0)
		printf("fixed cost of one sweep process (every endpoint disabled: start-up, "
		       "config, database open and checks, trust store, sweep rows): %.1f ms "
		       "wall, %.1f ms CPU\n",
		       se.wall_s * 1e3, se.cpu_s * 1e3);

	double r_plain[16], r_disc[16], c_plain[16], c_disc[16];
	for (int r = 0; r < rounds && r < 16; r++) {
		int f1 = 0, f2 = 0, f3 = 0;
		double us_def, us_same, us_one;
		double def = minimal_client(NULL, 0, nep, &us_def, &f1);
		double same = minimal_client(probe_priority(PROBE_VARIANT_DEFAULT), 0, nep,
					     &us_same, &f2);
		/* and with pinwatch's flags too: one key share, no tickets */
		double one =
			minimal_client(probe_priority(PROBE_VARIANT_DEFAULT),
				       GNUTLS_KEY_SHARE_TOP | GNUTLS_NO_TICKETS, nep, &us_one, &f3);
		printf("round %d: load %.1f; minimal client, 8 threads: default priorities %.0f "
		       "handshakes/s (%.0f us CPU each, %d failed), pinwatch's priorities %.0f/s "
		       "(%.0f us, %d failed), pinwatch's priorities and one key share %.0f/s "
		       "(%.0f us, %d failed)\n",
		       r + 1, loadavg(), def, us_def, f1, same, us_same, f2, one, us_one, f3);
		struct sweep_out p, d = { 0 };
		if (run_pinwatch(pw, db, ca, hosts, plain, conc, &p) ||
		    (!plain_only && run_pinwatch(pw, db, ca, hosts, "--discover", conc, &d))) {
			fprintf(stderr, "pinwatch sweep failed\n");
			return 3;
		}
		double pr = p.probes / p.wall_s, pc = p.cpu_s * 1e6 / p.probes;
		long long dh = d.probes + d.discovery;
		double dr = dh / d.wall_s, dc = d.cpu_s * 1e6 / dh;
		r_plain[r] = pr / def;
		r_disc[r] = dr / def;
		c_plain[r] = pc / us_same;
		c_disc[r] = dc / us_same;
		printf("round %d: pinwatch sweep (fresh process) plain: %lld probes in %.2f s = "
		       "%.0f/s (%.2fx the minimal client), %.0f us process CPU per probe (%.2fx "
		       "the minimal client's at the same priorities, %.2fx with one key share "
		       "too)\n",
		       r + 1, p.probes, p.wall_s, pr, r_plain[r], pc, c_plain[r], pc / us_one);
		if (!plain_only)
			printf("round %d: pinwatch sweep --discover: %lld probes + %lld discovery "
			       "probes in %.2f s = %.0f/s (%.2fx), %.0f us CPU per probe (%.2fx)\n",
			       r + 1, d.probes, d.discovery, d.wall_s, dr, r_disc[r], dc,
			       c_disc[r]);
	}
	if (exporter) {
		int f1 = 0;
		double us_def, ex_us = 0;
		double def = minimal_client(NULL, 0, nep, &us_def, &f1);
		double ex = exporter_rate(ca, conc, 10, &ex_us);
		struct sweep_out p, d = { 0 };
		if (run_pinwatch(pw, db, ca, hosts, plain, conc, &p) ||
		    (!plain_only && run_pinwatch(pw, db, ca, hosts, "--discover", conc, &d)))
			return 3;
		printf("load %.1f; minimal client %.0f/s; blackbox exporter + wrk -c%d %.0f "
		       "probes/s (exporter CPU %.0f us/probe, wrk not counted) = %.2fx the minimal "
		       "client; pinwatch plain %.0f/s = %.2fx the exporter (CPU %.0f us/probe)\n",
		       loadavg(), def, conc, ex, ex_us, ex / def, p.probes / p.wall_s,
		       ex > 0 ? p.probes / p.wall_s / ex : 0, p.cpu_s * 1e6 / p.probes);
		if (!plain_only) {
			long long dh = d.probes + d.discovery;
			printf("then pinwatch --discover %.0f probes/s (normal + discovery) = "
			       "%.2fx "
			       "the exporter (CPU %.0f us/probe)\n",
			       dh / d.wall_s, ex > 0 ? dh / d.wall_s / ex : 0, d.cpu_s * 1e6 / dh);
		}
	}
	printf("handshakes served by the farm: %llu\n",
	       (unsigned long long)tlsfarm_handshakes(farm));
	tlsfarm_free(farm);
	tlsfarm_pki_free(pki);
	sh("rm -rf %s", dir);
	gnutls_global_deinit();
	return 0;
}
