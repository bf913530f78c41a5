/* integration.scheduler: sweeps against loopback TLS farms; run-length
 * observations, several addresses, hostile servers, SIGTERM.
 * argv[1] is the path of the pinwatch executable. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "store/db.h"
#include "http/metrics.h"
#include "probe/probe_counters.h"
#include "store/observations.h"
#include "probe/scheduler.h"
#include "demo/tlsfarm.h"
#include "base/util.h"
#include "testslow.h"

static const char *pinwatch_bin;
static char dir[64], dbpath[128], ca[128], ca_both[128];
static struct tlsfarm_pki *pki;
static struct tlsfarm *farm1, *farm2, *silent, *garbage, *closer, *slow;

static struct tlsfarm *mkfarm(const char *addr, uint16_t port, enum tlsfarm_mode mode)
{
	char err[ERRLEN];
	struct tlsfarm_opts o = { .address = addr, .port = port, .mode = mode };
	struct tlsfarm *f = tlsfarm_new(pki, &o, err, sizeof(err));
	if (!f)
		return NULL;
	if (mode == TLSFARM_TLS) {
		static const char *const names[] = { "a.test", "b.test", "multi.test" };
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (tlsfarm_add(f, names[i], TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err,
					sizeof(err)))
				return NULL;
		if (port == 0 && tlsfarm_add(f, "huge.test", TLSFARM_HUGE_CHAIN,
					     TLSFARM_KEY_ECDSA_P256, err, sizeof(err)))
			return NULL;
	}
	return tlsfarm_start(f) == 0 ? f : NULL;
}

static int setup_all(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-sched-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	pki = tlsfarm_pki_new(err, sizeof(err));
	snprintf(ca_both, sizeof(ca_both), "%s/ca-both.pem", dir);
	if (!pki || tlsfarm_pki_write_ca(pki, ca, false) ||
	    tlsfarm_pki_write_ca(pki, ca_both, true))
		return -1;
	farm1 = mkfarm("127.0.0.1", 0, TLSFARM_TLS);
	/* The same name on a second address with other leaves: another CDN edge. */
	farm2 = farm1 ? mkfarm("127.0.0.2", tlsfarm_port(farm1), TLSFARM_TLS) : NULL;
	silent = mkfarm("127.0.0.1", 0, TLSFARM_SILENT);
	garbage = mkfarm("127.0.0.1", 0, TLSFARM_GARBAGE);
	closer = mkfarm("127.0.0.1", 0, TLSFARM_CLOSE_MID);
	slow = mkfarm("127.0.0.1", 0, TLSFARM_SLOW);
	return farm1 && farm2 && silent && garbage && closer && slow ? 0 : -1;
}

static int teardown_all(void **state)
{
	(void)state;
	tlsfarm_free(farm1);
	tlsfarm_free(farm2);
	tlsfarm_free(silent);
	tlsfarm_free(garbage);
	tlsfarm_free(closer);
	tlsfarm_free(slow);
	tlsfarm_pki_free(pki);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int setup_db(void **state)
{
	(void)state;
	static int n;
	char err[ERRLEN];
	snprintf(dbpath, sizeof(dbpath), "%s/t%d.db", dir, n++);
	struct db *db = db_open(dbpath, 0, err, sizeof(err));
	if (!db)
		return -1;
	db_close(db);
	return 0;
}

static void exec_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec_sql(const char *fmt, ...)
{
	char sql[1024], err[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	struct db *db = db_open(dbpath, DB_NO_CHECK, err, sizeof(err));
	assert_non_null(db);
	if (db_exec(db, sql, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sql, err);
	db_close(db);
}

static int64_t query(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t query(const char *fmt, ...)
{
	char sql[1024], err[ERRLEN];
	int64_t v = -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	struct db *db = db_open(dbpath, DB_NO_CHECK, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_query_int(db, sql, &v), 0);
	db_close(db);
	return v;
}

static void add_endpoint(const char *host, uint16_t port, const char *sni)
{
	exec_sql("INSERT INTO endpoints (host, port, sni, created_at, updated_at) "
		 "VALUES ('%s', %u, %s%s%s, 1, 1)",
		 host, port, sni ? "'" : "", sni ? sni : "NULL", sni ? "'" : "");
}

/* Test resolver: multi.test has two edges, every other name is 127.0.0.1. */
static int resolve(void *ud, const char *host, uint16_t port, struct probe_addr *out, size_t max,
		   size_t *n, char *err, size_t errlen)
{
	(void)ud;
	if (!strcmp(host, "nx.test"))
		return util_err(err, errlen, -ENOENT, "%s: no such name", host);
	int rc = probe_resolve("127.0.0.1", port, out, max, n, err, errlen);
	if (rc == 0 && !strcmp(host, "multi.test") && *n < max) {
		size_t k = 0;
		rc = probe_resolve("127.0.0.2", port, out + 1, 1, &k, err, errlen);
		*n += k;
	}
	return rc;
}

static void sweep(int timeout_ms, int concurrency, struct sched_stats *st)
{
	char err[ERRLEN];
	struct sched_opts o = { .concurrency = concurrency,
				.timeout_ms = timeout_ms,
				.ca_file = ca,
				.resolve = resolve };
	struct scheduler *s = scheduler_new(dbpath, &o, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	if (scheduler_sweep(s, NULL, st, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	scheduler_free(s);
}

static void test_scheduler_sweep_run_length_observations(void **state)
{
	(void)state;
	struct sched_stats st;
	uint16_t p = tlsfarm_port(farm1);
	add_endpoint("a.test", p, NULL);
	add_endpoint("b.test", p, NULL);
	add_endpoint("multi.test", p, NULL);
	add_endpoint("nx.test", p, NULL);

	sweep(5000, 8, &st);
	assert_int_equal(st.endpoints, 4);
	assert_int_equal(st.probes, 5); /* multi.test has two addresses */
	assert_int_equal(st.new_rows, 5);
	assert_int_equal(query("SELECT count(*) FROM observations"), 5);
	assert_int_equal(query("SELECT count(*) FROM observations WHERE outcome = 'ok'"), 4);
	assert_int_equal(query("SELECT count(*) FROM observations WHERE outcome = 'dns_error'"), 1);
	/* Both edges of multi.test recorded, each with its own chain. */
	assert_int_equal(
		query("SELECT count(DISTINCT presented_chain_id) FROM observations o "
		      "JOIN endpoints e ON e.id = o.endpoint_id WHERE e.host = 'multi.test'"),
		2);
	assert_int_equal(
		query("SELECT count(DISTINCT address) FROM observations o "
		      "JOIN endpoints e ON e.id = o.endpoint_id WHERE e.host = 'multi.test'"),
		2);
	/* Shared intermediate and root are stored once. */
	int64_t certs = query("SELECT count(*) FROM certificates");
	assert_int_equal(certs, 4 /* leaves */ + 2 /* intermediate, root */);
	assert_true(query("SELECT count(*) FROM endpoints WHERE last_probe_at IS NOT NULL AND "
			  "next_probe_at > last_probe_at") == 4);

	/* Unchanged: no new row, counts move. */
	sweep(5000, 8, &st);
	assert_int_equal(st.new_rows, 0);
	assert_int_equal(query("SELECT count(*) FROM observations"), 5);
	assert_int_equal(query("SELECT min(probe_count) FROM observations"), 2);
	assert_int_equal(query("SELECT count(*) FROM certificates"), certs);

	/* a.test rotates its key: exactly one new row, for a.test. */
	assert_int_equal(tlsfarm_rotate(farm1, "a.test"), 0);
	sweep(5000, 8, &st);
	assert_int_equal(st.new_rows, 1);
	assert_int_equal(query("SELECT count(*) FROM observations"), 6);
	assert_int_equal(query("SELECT count(*) FROM observations o JOIN endpoints e ON e.id = "
			       "o.endpoint_id "
			       "WHERE e.host = 'a.test'"),
			 2);

	/* The read API: latest per address, with chains; history in order. */
	char err[ERRLEN];
	struct db *db = db_open(dbpath, DB_READONLY | DB_NO_CHECK, err, sizeof(err));
	assert_non_null(db);
	int64_t id = query("SELECT id FROM endpoints WHERE host = 'a.test'");
	struct obs_row *rows;
	size_t n;
	assert_int_equal(obs_latest(db, id, 0, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	uint8_t pins[2][32];
	assert_int_equal(tlsfarm_chain_pins(farm1, "a.test", pins, 2), 2);
	assert_int_equal(rows[0].presented.n, 2);
	assert_memory_equal(rows[0].presented.certs[0].spki_pin, pins[0], 32);
	assert_int_equal(rows[0].validated.n, 3);
	assert_string_equal(rows[0].outcome, "ok");
	assert_int_equal(rows[0].probe_count, 1);
	obs_rows_free(rows, n);
	assert_int_equal(obs_history(db, id, NULL, 0, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].probe_count, 2);
	assert_false(rows[0].presented_chain_id == rows[1].presented_chain_id);
	assert_memory_equal(rows[1].presented.certs[0].spki_pin, pins[0], 32);
	obs_rows_free(rows, n);
	int64_t mid = query("SELECT id FROM endpoints WHERE host = 'multi.test'");
	assert_int_equal(obs_latest(db, mid, 0, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].address, "127.0.0.1");
	assert_string_equal(rows[1].address, "127.0.0.2");
	assert_memory_not_equal(rows[0].presented.certs[0].spki_pin,
				rows[1].presented.certs[0].spki_pin, 32);
	obs_rows_free(rows, n);
	db_close(db);
}

static void test_scheduler_sweep_hostile_servers_never_stall(void **state)
{
	(void)state;
	struct sched_stats st;
	add_endpoint("a.test", tlsfarm_port(farm1), NULL);
	add_endpoint("huge.test", tlsfarm_port(farm1), NULL);
	add_endpoint("silent.test", tlsfarm_port(silent), NULL);
	add_endpoint("garbage.test", tlsfarm_port(garbage), NULL);
	add_endpoint("closer.test", tlsfarm_port(closer), NULL);
	add_endpoint("slow.test", tlsfarm_port(slow), NULL);
	int64_t t0 = util_mono_ms();
	sweep(1000, 64, &st);
	/* Everything ran concurrently: one timeout, not four. */
	assert_true(util_mono_ms() - t0 < 1000 + test_ms(1500));
	assert_int_equal(st.probes, 6);
	static const struct {
		const char *host, *outcome;
	} want[] = {
		{ "a.test", "ok" },
		{ "huge.test", "tls_error:chain_too_large" },
		{ "silent.test", "timeout" },
		{ "slow.test", "timeout" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(
			query("SELECT count(*) FROM observations o JOIN endpoints e ON e.id = "
			      "o.endpoint_id WHERE e.host = '%s' AND o.outcome = '%s'",
			      want[i].host, want[i].outcome),
			1);
	assert_int_equal(query("SELECT count(*) FROM observations o JOIN endpoints e ON e.id = "
			       "o.endpoint_id WHERE e.host IN ('garbage.test', 'closer.test') AND "
			       "o.outcome LIKE 'tls_error:%%'"),
			 2);
}

static void test_scheduler_sweep_concurrency_1024(void **state)
{
	(void)state;
	struct sched_stats st;
	exec_sql("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1099) "
		 "INSERT INTO endpoints (host, port, sni, created_at, updated_at) "
		 "SELECT 'e' || i || '.test', %u, 'b.test', 1, 1 FROM n",
		 tlsfarm_port(farm1));
	sweep(20000, 1024, &st);
	assert_int_equal(st.endpoints, 1100);
	assert_int_equal(st.probes, 1100);
	assert_int_equal(st.failures, 0);
	assert_int_equal(query("SELECT count(*) FROM observations WHERE outcome = 'ok'"), 1100);
	assert_int_equal(query("SELECT count(DISTINCT presented_chain_id) FROM observations"), 1);
}

struct runner {
	struct scheduler *s;
	volatile sig_atomic_t stop;
	int rc;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	char err[ERRLEN];
	r->rc = scheduler_run(r->s, &r->stop, NULL, NULL, NULL, err, sizeof(err));
	return NULL;
}

static void test_scheduler_probe_now(void **state)
{
	(void)state;
	char err[ERRLEN];
	add_endpoint("a.test", tlsfarm_port(farm1), NULL);
	/* Probed a moment ago: not due for an hour. */
	exec_sql("UPDATE endpoints SET last_probe_at = %lld, next_probe_at = %lld",
		 (long long)util_now(), (long long)util_now() + 3600);
	struct sched_opts o = { .timeout_ms = 5000, .ca_file = ca, .resolve = resolve };
	struct runner r = { .s = scheduler_new(dbpath, &o, err, sizeof(err)) };
	assert_non_null(r.s);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_thread, &r), 0);
	usleep(300000);
	assert_int_equal(query("SELECT count(*) FROM observations"), 0);
	assert_int_equal(scheduler_probe_now(r.s, query("SELECT id FROM endpoints")), 0);
	int64_t n = 0;
	for (int i = 0; i < 100 && n == 0; i++) {
		usleep(50000);
		n = query("SELECT count(*) FROM observations WHERE outcome = 'ok'");
	}
	assert_int_equal(n, 1);
	r.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(r.rc, 0);
	scheduler_free(r.s);
	assert_true(query("SELECT next_probe_at FROM endpoints") > (int64_t)util_now() + 200);
}

struct reload_runner {
	struct scheduler *s;
	volatile sig_atomic_t stop, reload;
	int rc, reloads;
};

static int reload_cb(void *ud, struct sched_opts *o)
{
	struct reload_runner *r = ud;
	r->reloads++;
	o->concurrency = 3;   /* another pool size */
	o->ca_file = ca_both; /* and another trust store */
	return 0;
}

static void *reload_thread(void *arg)
{
	struct reload_runner *r = arg;
	char err[ERRLEN];
	r->rc = scheduler_run(r->s, &r->stop, &r->reload, reload_cb, r, err, sizeof(err));
	return NULL;
}

static void test_scheduler_run_reload_applies(void **state)
{
	(void)state;
	char err[ERRLEN];
	add_endpoint("a.test", tlsfarm_port(farm1), NULL);
	add_endpoint("silent.test", tlsfarm_port(silent), NULL);
	exec_sql("UPDATE endpoints SET next_probe_at = 0");
	struct sched_opts o = { .timeout_ms = 1500, .ca_file = ca, .resolve = resolve };
	struct reload_runner r = { .s = scheduler_new(dbpath, &o, err, sizeof(err)) };
	assert_non_null(r.s);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reload_thread, &r), 0);
	usleep(300000); /* the silent probe is in flight: the reload must drain it */
	r.reload = 1;
	int64_t n = 0;
	for (int i = 0; i < 100 && n < 2; i++) {
		usleep(50000);
		n = query("SELECT count(*) FROM observations");
	}
	assert_int_equal(n, 2);
	/* After the reload (new pool, new trust store) probing still works. */
	assert_int_equal(
		scheduler_probe_now(r.s, query("SELECT id FROM endpoints WHERE host = 'a.test'")),
		0);
	int64_t pc = 0;
	for (int i = 0; i < 100 && pc < 2; i++) {
		usleep(50000);
		pc = query("SELECT probe_count FROM observations WHERE outcome = 'ok'");
	}
	assert_int_equal(pc, 2);
	r.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.reloads, 1);
	scheduler_free(r.s);
}

/* pinwatch_sweeps_total as /metrics renders it. */
static int64_t sweeps_total(void)
{
	char err[ERRLEN], *out = NULL;
	size_t len = 0;
	struct db *db = db_open(dbpath, DB_NO_CHECK, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(metrics_render(db, &out, &len, err, sizeof(err)), 0);
	db_close(db);
	const char *p = strstr(out, "\npinwatch_sweeps_total ");
	assert_non_null(p);
	int64_t n = atoll(p + strlen("\npinwatch_sweeps_total "));
	free(out);
	return n;
}

/* Under scheduler_run a sweep is a pass over every enabled endpoint: it does
 * not close while a member is unprobed, and closes when the last unprobed
 * member leaves the inventory. */
static void test_scheduler_run_pass_is_a_sweep(void **state)
{
	(void)state;
	char err[ERRLEN];
	probe_counters_reset();
	add_endpoint("a.test", tlsfarm_port(farm1), NULL);
	add_endpoint("b.test", tlsfarm_port(farm1), NULL);
	exec_sql("UPDATE endpoints SET next_probe_at = 0 WHERE host = 'a.test'");
	exec_sql("UPDATE endpoints SET next_probe_at = %lld WHERE host = 'b.test'",
		 (long long)util_now() + 3600);
	struct sched_opts o = { .timeout_ms = 5000, .ca_file = ca, .resolve = resolve };
	struct reload_runner r = { .s = scheduler_new(dbpath, &o, err, sizeof(err)) };
	assert_non_null(r.s);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reload_thread, &r), 0);
	int64_t n = 0;
	for (int i = 0; i < 200 && n == 0; i++) {
		usleep(50000);
		n = query("SELECT count(*) FROM observations WHERE outcome = 'ok'");
	}
	assert_int_equal(n, 1);
	usleep(500000); /* past the writer's linger: a closed pass would be counted */
	assert_int_equal(sweeps_total(), 0);
	/* b.test leaves the inventory: every remaining member was probed. */
	exec_sql("UPDATE endpoints SET enabled = 0 WHERE host = 'b.test'");
	r.reload = 1;
	int64_t sw = 0;
	for (int i = 0; i < 200 && sw == 0; i++) {
		usleep(50000);
		sw = sweeps_total();
	}
	assert_int_equal(sw, 1);
	r.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(r.rc, 0);
	scheduler_free(r.s);
}

/* Run the binary; send SIGHUP after @hup_after_ms (0: never), then SIGTERM
 * after @kill_after_ms more (0: never). Exit status. */
static int run_bin_hup(const char *args, int hup_after_ms, int kill_after_ms, int64_t *elapsed_ms)
{
	int64_t t0 = util_mono_ms();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "exec %s %s --db %s >/dev/null 2>%s/stderr",
			 pinwatch_bin, args, dbpath, dir);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (hup_after_ms) {
		usleep((useconds_t)hup_after_ms * 1000);
		kill(pid, SIGHUP);
	}
	if (kill_after_ms) {
		usleep((useconds_t)kill_after_ms * 1000);
		kill(pid, SIGTERM);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (elapsed_ms)
		*elapsed_ms = util_mono_ms() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_bin(const char *args, int kill_after_ms, int64_t *elapsed_ms)
{
	return run_bin_hup(args, 0, kill_after_ms, elapsed_ms);
}

static void check_integrity(void)
{
	char err[ERRLEN];
	struct db *db = db_open(dbpath, DB_NO_CHECK, err, sizeof(err));
	assert_non_null(db);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db_handle(db), "PRAGMA integrity_check", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	db_close(db);
}

static void test_scheduler_sweep_sigterm_keeps_committed(void **state)
{
	(void)state;
	char args[512];
	uint16_t p = tlsfarm_port(farm1);
	/* IP-literal hosts with SNI: the binary resolves without a test hook. */
	add_endpoint("127.0.0.1", p, "a.test");
	add_endpoint("127.0.0.2", p, "b.test");
	add_endpoint("127.0.0.1", tlsfarm_port(silent), "silent.test");
	add_endpoint("127.0.0.1", tlsfarm_port(slow), "slow.test");
	snprintf(args, sizeof(args), "sweep --ca-file %s --timeout 3000", ca);
	int64_t el;
	assert_int_equal(run_bin(args, 0, &el), 0);
	assert_int_equal(query("SELECT count(*) FROM observations"), 4);
	assert_int_equal(query("SELECT count(*) FROM observations WHERE outcome = 'ok'"), 2);

	/* A second sweep interrupted while the silent servers hold it (10 s):
	 * the fast probes have had time to finish (2 s, scaled for slow builds). */
	snprintf(args, sizeof(args), "sweep --ca-file %s --timeout 10000", ca);
	int64_t kill_at = test_ms(2000);
	assert_int_equal(run_bin(args, (int)kill_at, &el), 0);
	assert_true(el < kill_at + 10000 + 1500);
	check_integrity();
	assert_int_equal(query("SELECT count(*) FROM observations"), 4);
	/* The fast probes of the interrupted sweep were committed, not lost. */
	assert_int_equal(query("SELECT min(probe_count) FROM observations WHERE outcome = 'ok'"),
			 2);
	assert_int_equal(query("SELECT count(*) FROM sweeps WHERE finished_at IS NOT NULL"), 2);
}

static void test_serve_sigterm_and_resume(void **state)
{
	(void)state;
	char conf[160], args[512];
	uint16_t p = tlsfarm_port(farm1);
	add_endpoint("127.0.0.1", p, "a.test");
	add_endpoint("127.0.0.1", tlsfarm_port(silent), "silent.test");
	/* First run: never probed, so both start within the first minute... make them due now. */
	exec_sql("UPDATE endpoints SET next_probe_at = 0");
	snprintf(conf, sizeof(conf), "%s/serve.conf", dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[probe]\nca_file = %s\ntimeout_ms = 2000\n[http]\nlisten = 127.0.0.1:0\n", ca);
	fclose(f);
	snprintf(args, sizeof(args), "serve -c %s", conf);
	int64_t el;
	/* SIGHUP re-reads the configuration and the daemon keeps running. */
	assert_int_equal(run_bin_hup(args, 600, 600, &el), 0);
	assert_true(el < 1200 + 2000 + 1500);
	char path[128], buf[4096] = "";
	snprintf(path, sizeof(path), "%s/stderr", dir);
	FILE *ef = fopen(path, "r");
	assert_non_null(ef);
	size_t got = fread(buf, 1, sizeof(buf) - 1, ef);
	buf[got] = '\0';
	fclose(ef);
	assert_non_null(strstr(buf, "configuration reloaded"));
	check_integrity();
	assert_int_equal(query("SELECT count(*) FROM observations WHERE outcome = 'ok'"), 1);
	int64_t next = query("SELECT next_probe_at FROM endpoints WHERE sni = 'a.test'");
	assert_true(next > (int64_t)util_now() + 200); /* 300 s +- 10% */
	/* Restart: a.test is not due, so it is not probed again at once. */
	assert_int_equal(run_bin(args, 800, &el), 0);
	assert_int_equal(query("SELECT probe_count FROM observations WHERE outcome = 'ok'"), 1);
}

/* Probe-now requests wait for the loop in a queue of 64: a repeated one is
 * merged, the 65th distinct one is refused (-EBUSY: the API's 503), never
 * dropped silently. */
static void test_scheduler_probe_now_queue_full(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct sched_opts o = {
		.concurrency = 4, .timeout_ms = 1000, .ca_file = ca, .resolve = resolve
	};
	struct scheduler *s = scheduler_new(dbpath, &o, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	for (int64_t id = 1; id <= 64; id++)
		assert_int_equal(scheduler_probe_now(s, id), 0);
	assert_int_equal(scheduler_probe_now(s, 7), 0); /* waiting already: merged */
	assert_int_equal(scheduler_probe_now(s, 65), -EBUSY);
	scheduler_free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_scheduler_probe_now_queue_full, setup_db),
		cmocka_unit_test_setup(test_scheduler_sweep_run_length_observations, setup_db),
		cmocka_unit_test_setup(test_scheduler_sweep_hostile_servers_never_stall, setup_db),
		cmocka_unit_test_setup(test_scheduler_sweep_concurrency_1024, setup_db),
		cmocka_unit_test_setup(test_scheduler_sweep_sigterm_keeps_committed, setup_db),
		cmocka_unit_test_setup(test_serve_sigterm_and_resume, setup_db),
		cmocka_unit_test_setup(test_scheduler_probe_now, setup_db),
		cmocka_unit_test_setup(test_scheduler_run_reload_applies, setup_db),
		cmocka_unit_test_setup(test_scheduler_run_pass_is_a_sweep, setup_db),
	};
	if (argc < 2) {
		fprintf(stderr, "usage: test_scheduler PINWATCH_BINARY\n");
		return 2;
	}
	pinwatch_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	gnutls_global_init();
	int rc = cmocka_run_group_tests(tests, setup_all, teardown_all);
	gnutls_global_deinit();
	return rc;
}
