/* bench_probe: probing throughput, memory and history growth against a
 * loopback TLS farm of many SNI endpoints (daemon/tlsfarm.c), in one run:
 *
 *  1. raw: a minimal GnuTLS client loop (default priorities, handshake +
 *     peer certificates, nothing else) at concurrency C;
 *  2. pinwatch: a full sweep (scheduler + probe + validation + pins + SQLite)
 *     of every endpoint at concurrency C, in a child process;
 *  3. prometheus-blackbox-exporter (tcp prober with TLS) driven by wrk at C;
 *  4. 100 ms delay per connection, concurrency 512, 10,000 endpoint-addresses,
 *     against the raw loop's time for the same work without delay; peak RSS;
 *  5. database growth over N sweeps of the unchanged endpoints.
 *
 * Usage: bench_probe [--endpoints N] [--concurrency C] [--raw-probes N] [--rounds N]
 *                    [--growth-sweeps N] [--delay-addresses N] [--skip-exporter]
 * The pinwatch sweeps run in a child process (this binary with --child) so
 * that their peak RSS is measured alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "probe/probe.h"
#include "probe/scheduler.h"
#include "demo/tlsfarm.h"
#include "base/util.h"

static char dir[64];

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- child: pinwatch sweeps ---- */

static uint16_t child_port;

static int child_resolve(void *ud, const char *host, uint16_t port, struct probe_addr *out,
			 size_t max, size_t *n, char *err, size_t errlen)
{
	(void)ud;
	(void)host;
	(void)port;
	return probe_resolve("127.0.0.1", child_port, out, max, n, err, errlen);
}

static int child_main(const char *db, const char *ca, int port, int conc, int repeat)
{
	char err[ERRLEN];
	child_port = (uint16_t)port;
	struct sched_opts o = { .concurrency = conc,
				.timeout_ms = 20000,
				.ca_file = ca,
				.resolve = child_resolve,
				.resolver_threads = 2 };
	struct scheduler *s = scheduler_new(db, &o, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "child: %s\n", err);
		return 3;
	}
	double cpu0 = 0, loop0 = thread_cpu_s();
	{
		struct rusage ru0;
		getrusage(RUSAGE_SELF, &ru0);
		cpu0 = (double)ru0.ru_utime.tv_sec + ru0.ru_utime.tv_usec / 1e6 +
		       (double)ru0.ru_stime.tv_sec + ru0.ru_stime.tv_usec / 1e6;
	}
	for (int i = 0; i < repeat; i++) {
		struct sched_stats st;
		if (scheduler_sweep(s, NULL, &st, err, sizeof(err)) != 0) {
			fprintf(stderr, "child: %s\n", err);
			return 3;
		}
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
		double loop = thread_cpu_s();
		printf("probes=%lld failures=%lld new_rows=%lld wall_ms=%lld cpu_us=%lld "
		       "loop_us=%lld\n",
		       (long long)st.probes, (long long)st.failures, (long long)st.new_rows,
		       (long long)st.wall_ms, (long long)((cpu - cpu0) * 1e6),
		       (long long)((loop - loop0) * 1e6));
		cpu0 = cpu;
		loop0 = loop;
		fflush(stdout);
	}
	scheduler_free(s);
	/* ru_maxrss of a child includes its parent's RSS at fork time: read our own high-water
	 * mark. */
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	printf("vmhwm_kb=%ld\n", kb);
	return 0;
}

struct child_out {
	long long probes, failures, new_rows, wall_ms, total_wall_ms, total_probes;
	long long cpu_us, loop_us, nsweeps;
	long long warm_loop_us;
	long long warm_probes, warm_wall_ms,
		warm_cpu_us; /* every sweep but the first (cold caches) */
	long maxrss_kb;
	double cpu_s; /* user + system of the child, every thread */
};

static int run_child(const char *self, const char *db, const char *ca, uint16_t port, int conc,
		     int repeat, struct child_out *co)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char ps[16], cs[16], rs[16];
		snprintf(ps, sizeof(ps), "%u", port);
		snprintf(cs, sizeof(cs), "%d", conc);
		snprintf(rs, sizeof(rs), "%d", repeat);
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(self, self, "--child", db, ca, ps, cs, rs, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char line[256];
	memset(co, 0, sizeof(*co));
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line,
			   "probes=%lld failures=%lld new_rows=%lld wall_ms=%lld cpu_us=%lld "
			   "loop_us=%lld",
			   &co->probes, &co->failures, &co->new_rows, &co->wall_ms, &co->cpu_us,
			   &co->loop_us) == 6) {
			co->total_wall_ms += co->wall_ms;
			co->total_probes += co->probes;
			if (co->nsweeps++ > 0) {
				co->warm_probes += co->probes;
				co->warm_wall_ms += co->wall_ms;
				co->warm_cpu_us += co->cpu_us;
				co->warm_loop_us += co->loop_us;
			}
		}
		sscanf(line, "vmhwm_kb=%ld", &co->maxrss_kb);
	}
	if (f)
		fclose(f);
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	co->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return 0;
}

/* ---- raw client loop ---- */

struct rawc {
	int fd;
	gnutls_session_t s;
	bool connecting;
};

static int raw_start(struct rawc *c, gnutls_certificate_credentials_t cred, uint16_t port,
		     const char *sni, int ep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		return -1;
	gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	gnutls_set_default_priority(c->s);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, sni, strlen(sni));
	gnutls_transport_set_int(c->s, c->fd);
	c->connecting = true;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void raw_close(struct rawc *c)
{
	gnutls_deinit(c->s);
	close(c->fd);
	c->fd = -1;
}

/* @total handshakes at concurrency @conc; returns handshakes per second,
 * the client's CPU seconds in @cpu. */
static double raw_loop(uint16_t port, int nnames, int conc, int total, int *failures, double *cpu)
{
	double c0 = thread_cpu_s();
	gnutls_certificate_credentials_t cred;
	gnutls_certificate_allocate_credentials(&cred);
	int ep = epoll_create1(0), started = 0, done = 0;
	struct rawc *cs = calloc((size_t)conc, sizeof(*cs));
	char sni[64];
	*failures = 0;
	int64_t t0 = util_mono_ms();
	for (int i = 0; i < conc && started < total; i++) {
		snprintf(sni, sizeof(sni), "ep%d.test", started++ % nnames);
		if (raw_start(&cs[i], cred, port, sni, ep) < 0)
			(*failures)++;
	}
	struct epoll_event evs[256];
	while (done < total) {
		int n = epoll_wait(ep, evs, 256, 5000);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct rawc *c = evs[i].data.ptr;
			c->connecting = false;
			int g = gnutls_handshake(c->s);
			if (g == GNUTLS_E_AGAIN) {
				struct epoll_event ev = { .events =
								  gnutls_record_get_direction(c->s)
									  ? EPOLLOUT
									  : EPOLLIN,
							  .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			unsigned np = 0;
			if (g < 0 || !gnutls_certificate_get_peers(c->s, &np) || np == 0)
				(*failures)++;
			raw_close(c);
			done++;
			if (started < total) {
				snprintf(sni, sizeof(sni), "ep%d.test", started++ % nnames);
				if (raw_start(c, cred, port, sni, ep) < 0)
					(*failures)++;
			}
		}
	}
	double secs = (double)(util_mono_ms() - t0) / 1000.0;
	for (int i = 0; i < conc; i++)
		if (cs[i].fd > 0 && cs[i].s)
			raw_close(&cs[i]);
	free(cs);
	close(ep);
	gnutls_certificate_free_credentials(cred);
	*cpu = thread_cpu_s() - c0;
	return done / secs;
}

/* ---- helpers ---- */

static int make_db(const char *path, int n, int nnames)
{
	char err[ERRLEN], sql[512];
	struct db *db = db_open(path, DB_NO_CHECK, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < %d) "
		 "INSERT INTO endpoints (host, port, sni, created_at, updated_at) "
		 "SELECT 'h' || i || '.bench', 443, 'ep' || (i %% %d) || '.test', 1, 1 FROM k",
		 n - 1, nnames);
	int rc = db_exec(db, sql, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	db_close(db);
	return rc;
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static long long db_bytes(const char *db)
{
	char p[256];
	long long t = file_size(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	return t + file_size(p);
}

static long long count_rows(const char *db)
{
	char err[ERRLEN];
	int64_t v = -1;
	struct db *d = db_open(db, DB_NO_CHECK, err, sizeof(err));
	if (d) {
		db_query_int(d, "SELECT count(*) FROM observations", &v);
		db_close(d);
	}
	return (long long)v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static bool port_open(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static long vm_hwm_kb(pid_t pid)
{
	char p[64], line[256];
	long kb = -1;
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Exporter + wrk at @conc for @secs: requests/s (0 on failure), exporter's peak RSS. */
/* utime + stime of @pid in seconds. */
static double proc_cpu_s(pid_t pid)
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
	/* fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!c ||
	    sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double exporter_rate(uint16_t farm_port, const char *ca, int conc, int secs, long *rss_kb,
			    double *cpu_s)
{
	char cfg[128], url[256], cmd[512], line[512];
	const uint16_t eport = 19115;
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
	if (ok != 1) {
		fprintf(stderr, "exporter: probe_success is not 1 (is prometheus-blackbox-exporter "
				"installed?)\n");
	} else {
		snprintf(cmd, sizeof(cmd), "wrk -t2 -c%d -d%ds '%s' 2>&1", conc, secs, url);
		p = popen(cmd, "r");
		while (p && fgets(line, sizeof(line), p))
			if (sscanf(line, "Requests/sec: %lf", &rate) == 1)
				break;
		if (p)
			pclose(p);
	}
	*rss_kb = vm_hwm_kb(pid);
	*cpu_s = proc_cpu_s(pid);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return rate;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "--child")) {
		gnutls_global_init();
		int rc = child_main(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
		gnutls_global_deinit();
		return rc;
	}
	static const struct option opts[] = {
		{ "endpoints", required_argument, NULL, 'e' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "raw-probes", required_argument, NULL, 'r' },
		{ "growth-sweeps", required_argument, NULL, 'g' },
		{ "delay-addresses", required_argument, NULL, 'd' },
		{ "skip-exporter", no_argument, NULL, 'x' },
		{ "rounds", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int nep = 1000, conc = 256, raw_n = 3000, growth = 100, delay_n = 10000, rounds = 3, opt;
	bool exporter = true;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			nep = atoi(optarg);
			break;
		case 'c':
			conc = atoi(optarg);
			break;
		case 'r':
			raw_n = atoi(optarg);
			break;
		case 'g':
			growth = atoi(optarg);
			break;
		case 'd':
			delay_n = atoi(optarg);
			break;
		case 'x':
			exporter = false;
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		default:
			fprintf(stderr, "see the comment at the top of bench/bench_probe.c\n");
			return 2;
		}
	}
	if (nep < 1 || conc < 1 || raw_n < 1 || rounds < 1 || rounds > 8)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	gnutls_global_init();
	char self[512], err[ERRLEN], ca[128], db1[160], db2[128];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return 3;
	self[sl] = '\0';
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-bench-XXXXXX");
	if (!mkdtemp(dir))
		return 3;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(db1, sizeof(db1), "%s/sweep.db", dir);
	snprintf(db2, sizeof(db2), "%s/delay.db", dir);

	int64_t t0 = util_mono_ms();
	struct tlsfarm_pki *pki = tlsfarm_pki_new(err, sizeof(err));
	struct tlsfarm_opts fo = { .address = "127.0.0.1" };
	struct tlsfarm *farm = pki ? tlsfarm_new(pki, &fo, err, sizeof(err)) : NULL;
	if (!farm || tlsfarm_pki_write_ca(pki, ca, false)) {
		fprintf(stderr, "farm: %s\n", err);
		return 3;
	}
	for (int i = 0; i < nep; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ep%d.test", i);
		if (tlsfarm_add(farm, name, TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err,
				sizeof(err))) {
			fprintf(stderr, "farm: %s\n", err);
			return 3;
		}
	}
	if (tlsfarm_start(farm))
		return 3;
	uint16_t port = tlsfarm_port(farm);
	printf("farm: %d SNI endpoints on 127.0.0.1:%u (ECDSA P-256 leaves, RSA-2048 intermediate "
	       "and root), built in %lld ms; concurrency %d\n",
	       nep, port, (long long)(util_mono_ms() - t0), conc);

	/* 1+2. The machine is shared: raw loop and pinwatch alternate for @rounds
	 * rounds and each ratio is taken against the raw run just before it. */
	int rf = 0;
	double rcpu, raw = 0, pw = 0, ratio_first[8], ratio_steady[8];
	struct child_out co;
	raw_loop(port, nep, conc, conc, &rf, &rcpu); /* warm-up */
	for (int r = 0; r < rounds; r++) {
		char dbr[160];
		snprintf(dbr, sizeof(dbr), "%s/round%d.db", dir, r);
		raw = raw_loop(port, nep, conc, raw_n, &rf, &rcpu);
		printf("round %d: raw GnuTLS client loop   %6.0f handshakes/s (%d handshakes, %d "
		       "failed; "
		       "client thread CPU %.0f us/handshake)\n",
		       r + 1, raw, raw_n, rf, rcpu * 1e6 / raw_n);
		if (make_db(dbr, nep, nep) || run_child(self, dbr, ca, port, conc, 1, &co)) {
			fprintf(stderr, "pinwatch sweep failed\n");
			return 3;
		}
		pw = co.probes * 1000.0 / (double)(co.wall_ms ? co.wall_ms : 1);
		ratio_first[r] = pw / raw;
		printf("round %d: pinwatch first sweep     %6.0f probes/s (%lld probes, %lld "
		       "failed, %lld new rows; process CPU %.0f us/probe, %.0f with start-up; "
		       "event loop %.0f) = %.0f%% of raw\n",
		       r + 1, pw, co.probes, co.failures, co.new_rows,
		       (double)co.cpu_us / (double)co.probes, co.cpu_s * 1e6 / co.probes,
		       (double)co.loop_us / (double)co.probes, 100.0 * ratio_first[r]);
		/* Warm: a child sweeps 4 times; the first (cold caches) is not counted. */
		if (run_child(self, dbr, ca, port, conc, 4, &co)) {
			fprintf(stderr, "pinwatch sweep failed\n");
			return 3;
		}
		double st =
			co.warm_probes * 1000.0 / (double)(co.warm_wall_ms ? co.warm_wall_ms : 1);
		ratio_steady[r] = st / raw;
		printf("round %d: pinwatch warm sweeps     %6.0f probes/s (3 sweeps, %lld probes; "
		       "process CPU %.0f us/probe, event loop %.0f) = %.0f%% of raw\n",
		       r + 1, st, co.warm_probes, (double)co.warm_cpu_us / (double)co.warm_probes,
		       (double)co.warm_loop_us / (double)co.warm_probes, 100.0 * ratio_steady[r]);
		if (r == 0)
			snprintf(db1, sizeof(db1), "%s", dbr);
	}
	qsort(ratio_first, (size_t)rounds, sizeof(double), cmp_double);
	qsort(ratio_steady, (size_t)rounds, sizeof(double), cmp_double);
	printf("median over %d rounds: pinwatch first sweep = %.0f%% of raw, warm sweeps = "
	       "%.0f%% "
	       "of raw\n",
	       rounds, 100.0 * ratio_first[rounds / 2], 100.0 * ratio_steady[rounds / 2]);

	/* 3. blackbox exporter, between a raw run and a pinwatch warm sweep */
	if (exporter) {
		long ex_rss = -1;
		double raw2 = raw_loop(port, nep, conc, raw_n, &rf, &rcpu);
		double ex_cpu = 0;
		double ex = exporter_rate(port, ca, conc, 10, &ex_rss, &ex_cpu);
		if (run_child(self, db1, ca, port, conc, 4, &co)) {
			fprintf(stderr, "pinwatch sweep failed\n");
			return 3;
		}
		double st =
			co.warm_probes * 1000.0 / (double)(co.warm_wall_ms ? co.warm_wall_ms : 1);
		if (ex > 0)
			printf("raw %.0f/s, then blackbox exporter + wrk %.0f probes/s (exporter "
			       "process "
			       "CPU %.0f us/probe, wrk not counted; peak RSS %ld KiB; %.0f%% of "
			       "raw), "
			       "then pinwatch warm sweeps %.0f probes/s (process CPU %.0f "
			       "us/probe; peak "
			       "RSS %ld KiB): pinwatch / exporter = %.2fx by rate, %.2fx by CPU "
			       "per probe\n",
			       raw2, ex, ex_cpu * 1e6 / (ex * 10), ex_rss, 100.0 * ex / raw2, st,
			       (double)co.warm_cpu_us / (double)co.warm_probes, co.maxrss_kb,
			       st / ex,
			       (ex_cpu * 1e6 / (ex * 10)) /
				       ((double)co.warm_cpu_us / (double)co.warm_probes));
	}

	/* 4. delay 100 ms, concurrency 512, delay_n endpoint-addresses, against
	 * the raw loop's time for the same work (at 512) without delay */
	if (delay_n > 0) {
		double raw512 = raw_loop(port, nep, 512, raw_n, &rf, &rcpu);
		tlsfarm_set_delay(farm, 100);
		if (make_db(db2, delay_n, nep) || run_child(self, db2, ca, port, 512, 1, &co)) {
			fprintf(stderr, "delay sweep failed\n");
			return 3;
		}
		tlsfarm_set_delay(farm, 0);
		double base = delay_n / raw512;
		printf("delay 100 ms, conc 512: %lld probes in %.2f s (%lld failed); raw loop at "
		       "512 "
		       "without delay %.0f/s = %.2f s for the same work; ratio %.2fx; pinwatch "
		       "peak RSS "
		       "%ld KiB (%.1f MiB)\n",
		       co.probes, co.wall_ms / 1000.0, co.failures, raw512, base,
		       co.wall_ms / 1000.0 / base, co.maxrss_kb, co.maxrss_kb / 1024.0);
	}

	/* 5. database growth over unchanged sweeps (db1 was swept already) */
	if (growth > 0) {
		long long before = db_bytes(db1);
		if (run_child(self, db1, ca, port, conc, growth, &co)) {
			fprintf(stderr, "growth sweeps failed\n");
			return 3;
		}
		long long after = db_bytes(db1);
		printf("db growth over %d unchanged sweeps of %d endpoints: %lld bytes (%.3f MiB; "
		       "db+wal "
		       "%lld -> %lld); observation rows %lld (one per address: %s); %.0f probes/s "
		       "(%.0f%% of raw), process CPU %.0f us/probe\n",
		       growth, nep, after - before, (after - before) / 1048576.0, before, after,
		       count_rows(db1), count_rows(db1) == nep ? "yes" : "NO",
		       co.total_probes * 1000.0 / (double)(co.total_wall_ms ? co.total_wall_ms : 1),
		       100.0 * co.total_probes * 1000.0 /
			       (double)(co.total_wall_ms ? co.total_wall_ms : 1) / raw,
		       co.cpu_s * 1e6 / (double)(co.total_probes ? co.total_probes : 1));
	}
	printf("handshakes served by the farm: %llu\n",
	       (unsigned long long)tlsfarm_handshakes(farm));
	tlsfarm_free(farm);
	tlsfarm_pki_free(pki);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 3;
	gnutls_global_deinit();
	return 0;
}
