/* integration.webhook: alerts_apply -> outbox -> delivery to a real HTTP
 * receiver on loopback (libmicrohttpd in this process) that can succeed,
 * fail with 500, answer 400 or a redirect, hang, or be absent; and a SIGKILL
 * of the `pinwatch webhook flush` process while a delivery is in flight. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerts/alerts.h"
#include "alerts/alerts_engine.h"
#include "base/config.h"
#include "store/db.h"
#include "base/util.h"
#include "alerts/webhook.h"
#include "testslow.h"

#define SECRET	  "s3cr3t-'quoted\"-key"
#define MODE_HANG (-1)
#define MODE_SLOW (-2) /* 200 after 50 ms */
#define MAX_REQS  256

struct req {
	char path[64];
	char *body;
	char sig[128];
	char ts[32];
	char key[300];
};

struct rcv {
	struct MHD_Daemon *d;
	uint16_t port;
	pthread_mutex_t mu;
	atomic_int mode;
	atomic_bool release;
	atomic_int hanging;
	int n;
	struct req reqs[MAX_REQS];
};

struct upload {
	char *buf;
	size_t len;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct rcv *r = cls;
	struct upload *u = *con_cls;
	(void)version;
	if (!u) {
		u = calloc(1, sizeof(*u));
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		char *nb = realloc(u->buf, u->len + *size + 1);
		if (!nb)
			return MHD_NO;
		u->buf = nb;
		memcpy(u->buf + u->len, data, *size);
		u->len += *size;
		u->buf[u->len] = 0;
		*size = 0;
		return MHD_YES;
	}
	int mode = atomic_load(&r->mode);
	pthread_mutex_lock(&r->mu);
	if (r->n < MAX_REQS && !strcmp(method, "POST")) {
		struct req *q = &r->reqs[r->n++];
		const char *h;
		snprintf(q->path, sizeof(q->path), "%s", url);
		q->body = u->buf ? strdup(u->buf) : strdup("");
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Pinwatch-Signature");
		snprintf(q->sig, sizeof(q->sig), "%s", h ? h : "");
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Pinwatch-Timestamp");
		snprintf(q->ts, sizeof(q->ts), "%s", h ? h : "");
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
		snprintf(q->key, sizeof(q->key), "%s", h ? h : "");
	}
	pthread_mutex_unlock(&r->mu);
	if (mode == MODE_HANG) {
		atomic_fetch_add(&r->hanging, 1);
		for (int i = 0; i < 600 && !atomic_load(&r->release); i++)
			usleep(50 * 1000);
		atomic_fetch_sub(&r->hanging, 1);
		mode = 200;
	}
	if (mode == MODE_SLOW) {
		usleep(50 * 1000);
		mode = 200;
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	if (mode == 302)
		MHD_add_response_header(resp, "Location", "/elsewhere");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)mode, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	struct upload *u = *con_cls;
	if (u) {
		free(u->buf);
		free(u);
	}
	*con_cls = NULL;
}

static int rcv_start(struct rcv *r, uint16_t port)
{
	r->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
		port, NULL, NULL, handler, r, MHD_OPTION_NOTIFY_COMPLETED, completed, r,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_SOCK_ADDR,
		&(struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_port = htons(port),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
		MHD_OPTION_END);
	if (!r->d)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info ? info->port : port;
	return 0;
}

static void rcv_stop(struct rcv *r)
{
	atomic_store(&r->release, true);
	if (r->d)
		MHD_stop_daemon(r->d);
	r->d = NULL;
	atomic_store(&r->release, false);
}

static struct rcv *rcv_new(int mode)
{
	struct rcv *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	pthread_mutex_init(&r->mu, NULL);
	atomic_init(&r->mode, mode);
	assert_int_equal(rcv_start(r, 0), 0);
	return r;
}

static void rcv_free(struct rcv *r)
{
	rcv_stop(r);
	for (int i = 0; i < r->n; i++)
		free(r->reqs[i].body);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static int rcv_count(struct rcv *r)
{
	pthread_mutex_lock(&r->mu);
	int n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Poll @cond for up to 30 s (generous: the machine is shared). */
#define WAIT_FOR(cond)                                       \
	do {                                                 \
		for (int w_ = 0; w_ < 3000 && !(cond); w_++) \
			usleep(10 * 1000);                   \
		assert_true(cond);                           \
	} while (0)

/* ---- fixture -------------------------------------------------------------- */

static char dir[64], path[128];
static struct db *db;
static struct config cfg;

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-itest-webhook-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return -1;
	config_defaults(&cfg);
	cfg.webhook_connect_timeout_ms = 2000;
	cfg.webhook_timeout_ms = 5000;
	cfg.webhook_backoff_cap_s = 1;
	cfg.alerts_repeat_s = 3600;
	snprintf(cfg.http_base_url, sizeof(cfg.http_base_url), "http://127.0.0.1:8080");
	return db_exec(db,
		       "INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES"
		       " (1, 'api.example.com', 443, 0, 0);"
		       "INSERT INTO apps (id, name, platform, created_at, updated_at) VALUES"
		       " (1, 'shop-android', 'android', 0, 0);",
		       err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	char cmd[200];
	db_close(db);
	db = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int64_t q(const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(db, sql, &v), 0);
	return v;
}

static int64_t add_hook(struct rcv *r, const char *p, const char *minsev)
{
	char url[128], err[ERRLEN];
	int64_t id;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", r->port, p);
	assert_int_equal(webhook_add(db, "test", url, WEBHOOK_GENERIC, SECRET, minsev, util_now(),
				     &id, err, sizeof(err)),
			 0);
	return id;
}

static struct alert_cond stranding(double share)
{
	struct alert_cond c = { .kind = ALERT_STRANDING_NOW,
				.endpoint_id = 1,
				.app_id = 1,
				.severity = ALERT_CRITICAL };
	assert_int_equal(alerts_fingerprint(c.kind, "api.example.com", 443, "shop-android",
					    c.fingerprint, sizeof(c.fingerprint)),
			 0);
	snprintf(c.summary, sizeof(c.summary), "%.0f%% of shop-android stranded", share * 100);
	c.details = json_pack("{s:f, s:[{s:s, s:f}], s:[s]}", "stranded_share", share, "versions",
			      "version", "4.2.0", "share", share, "reasons",
			      "4.2.0 pins only the old leaf key");
	return c;
}

static void apply(const struct alert_cond *c, size_t n, time_t now)
{
	char err[ERRLEN];
	int rc = alerts_apply(db, c, n, ALERT_SCOPE_ALL, now, &cfg, NULL, err, sizeof(err));
	if (rc)
		fail_msg("alerts_apply: %s", err);
}

static void hmac_hex(const char *body, char *out)
{
	uint8_t mac[32];
	assert_int_equal(gnutls_hmac_fast(GNUTLS_MAC_SHA256, SECRET, strlen(SECRET), body,
					  strlen(body), mac),
			 0);
	strcpy(out, "sha256=");
	util_hex(mac, 32, out + 7);
}

static json_t *req_json(struct rcv *r, int i)
{
	json_t *j = json_loads(r->reqs[i].body, 0, NULL);
	assert_non_null(j);
	return j;
}

/* ---- tests ---------------------------------------------------------------- */

/* A stranding condition appears, then is fixed: exactly one firing and one
 * resolved notification, signed, through the worker thread. */
static void test_stranding_firing_then_resolved(void **state)
{
	(void)state;
	char err[ERRLEN], want[80];
	struct rcv *r = rcv_new(200);
	add_hook(r, "/hook", "warning");
	struct webhook_worker *w = webhook_worker_new(&cfg, path, err, sizeof(err));
	assert_non_null(w);

	struct alert_cond c = stranding(0.31);
	time_t t0 = util_now();
	for (int i = 0; i < 3; i++) /* three sweeps see it; one notification */
		apply(&c, 1, t0 + i);
	webhook_worker_kick(w);
	WAIT_FOR(rcv_count(r) >= 1 && q("SELECT count(*) FROM webhook_outbox") == 0);
	apply(NULL, 0, t0 + 10);
	webhook_worker_kick(w);
	WAIT_FOR(rcv_count(r) >= 2 && q("SELECT count(*) FROM webhook_outbox") == 0);
	usleep(300 * 1000); /* room for a wrong extra delivery to show up */
	webhook_worker_free(w);
	assert_int_equal(rcv_count(r), 2);

	json_t *j0 = req_json(r, 0), *j1 = req_json(r, 1);
	assert_string_equal(json_string_value(json_object_get(j0, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(j1, "status")), "resolved");
	json_t *a0 = json_array_get(json_object_get(j0, "alerts"), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a0, "labels"), "alertname")),
		"stranding_now");
	assert_true(json_real_value(json_object_get(json_object_get(a0, "pinwatch"),
						    "stranded_share")) == 0.31);
	for (int i = 0; i < 2; i++) {
		hmac_hex(r->reqs[i].body, want);
		assert_string_equal(r->reqs[i].sig, want);
		assert_true(r->reqs[i].ts[0] != 0);
		assert_non_null(strstr(r->reqs[i].key, c.fingerprint));
	}
	assert_non_null(strstr(r->reqs[0].key, ":firing:"));
	assert_non_null(strstr(r->reqs[1].key, ":resolved:"));
	json_decref(j0);
	json_decref(j1);
	json_decref(c.details);
	rcv_free(r);
}

/* The documented shell one-liner verifies the signature. */
static void test_signature_openssl_oneliner(void **state)
{
	(void)state;
	char file[160], cmd[512], line[256] = "";
	struct rcv *r = rcv_new(200);
	add_hook(r, "/hook", "info");
	struct alert_cond c = stranding(0.5);
	apply(&c, 1, util_now());
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now(), NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 1);
	snprintf(file, sizeof(file), "%s/body.json", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs(r->reqs[0].body, f);
	fclose(f);
	/* Exactly the line in docs/webhooks.md, with SECRET and the file filled in. */
	setenv("SECRET", SECRET, 1);
	snprintf(cmd, sizeof(cmd),
		 "openssl dgst -sha256 -hmac \"$SECRET\" < '%s' | sed 's/^.*= */sha256=/'", file);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	line[strcspn(line, "\n")] = 0;
	assert_string_equal(line, r->reqs[0].sig);
	/* And a tampered body does not verify. */
	f = fopen(file, "a");
	fputs(" ", f);
	fclose(f);
	p = popen(cmd, "r");
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	assert_string_not_equal(line, r->reqs[0].sig);
	json_decref(c.details);
	rcv_free(r);
}

/* Receiver absent for several attempts: delivered once it is back. */
static void test_receiver_down_then_back(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct rcv *r = rcv_new(200);
	uint16_t port = r->port;
	add_hook(r, "/hook", "warning");
	rcv_stop(r);
	struct webhook_worker *w = webhook_worker_new(&cfg, path, err, sizeof(err));
	assert_non_null(w);
	struct alert_cond c = stranding(0.2);
	apply(&c, 1, util_now());
	webhook_worker_kick(w);
	WAIT_FOR(q("SELECT attempts FROM webhook_outbox") >= 3);
	assert_int_equal(q("SELECT state = 'pending' FROM webhook_outbox"), 1);
	assert_int_equal(rcv_start(r, port), 0);
	WAIT_FOR(rcv_count(r) >= 1 && q("SELECT count(*) FROM webhook_outbox") == 0);
	usleep(300 * 1000);
	webhook_worker_free(w);
	assert_int_equal(rcv_count(r), 1);
	json_decref(c.details);
	rcv_free(r);
}

/* 500s are retried with backoff; then one success and the row is gone. */
static void test_500_retried_until_success(void **state)
{
	(void)state;
	struct rcv *r = rcv_new(500);
	add_hook(r, "/hook", "warning");
	struct alert_cond c = stranding(0.2);
	time_t t = 1000000;
	cfg.webhook_backoff_cap_s = 60;
	apply(&c, 1, t);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(webhook_deliver_due(db, &cfg, t, NULL, NULL, 0), 0);
		assert_int_equal(rcv_count(r), i);
		assert_int_equal(q("SELECT attempts FROM webhook_outbox"), i);
		assert_int_equal(q("SELECT last_status FROM webhook_outbox"), 500);
		int64_t next = q("SELECT next_attempt_at FROM webhook_outbox");
		int64_t base = (int64_t)1 << (i - 1);
		assert_true(next >= t + (base + 1) / 2 && next <= t + base); /* backoff + jitter */
		/* Not due yet: nothing is sent. */
		if (next > t) {
			assert_int_equal(webhook_deliver_due(db, &cfg, next - 1, NULL, NULL, 0), 0);
			assert_int_equal(rcv_count(r), i);
		}
		t = next;
	}
	atomic_store(&r->mode, 200);
	int delivered = 0;
	assert_int_equal(webhook_deliver_due(db, &cfg, t, &delivered, NULL, 0), 0);
	assert_int_equal(delivered, 1);
	assert_int_equal(rcv_count(r), 4);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 0);
	json_decref(c.details);
	rcv_free(r);
}

/* A flood of lower-severity notifications queued first, a slow receiver: the
 * critical one is delivered first, its "resolved" right after its "firing"
 * (never before it), then the warnings, then the infos; per webhook. */
static void test_critical_first_with_slow_receiver(void **state)
{
	(void)state;
	enum { NWARN = 30, NINFO = 10 };
	struct rcv *r = rcv_new(MODE_SLOW);
	struct rcv *r2 = rcv_new(200);
	add_hook(r, "/hook", "info");
	add_hook(r2, "/crit", "critical");
	struct alert_cond c[NWARN + NINFO + 1];
	for (int i = 0; i < NWARN + NINFO; i++) {
		c[i] = (struct alert_cond){ .kind = ALERT_PIN_FAILURES_REPORTED,
					    .severity = i < NWARN ? ALERT_WARNING : ALERT_INFO };
		snprintf(c[i].fingerprint, sizeof(c[i].fingerprint), "pin_failures_reported-%016d",
			 i);
		snprintf(c[i].summary, sizeof(c[i].summary), "forged %d", i);
	}
	time_t t = 2000000;
	apply(c, NWARN + NINFO, t);
	c[NWARN + NINFO] = stranding(0.3);
	apply(c, NWARN + NINFO + 1, t + 1); /* the critical opens after the flood */
	apply(c, NWARN + NINFO, t + 2);	    /* ... and resolves: both queued */
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE webhook_id = 1"),
			 NWARN + NINFO + 2);
	int delivered = 0;
	assert_int_equal(webhook_deliver_due(db, &cfg, t + 2, &delivered, NULL, 0), 0);
	assert_int_equal(delivered, NWARN + NINFO + 4);
	assert_int_equal(rcv_count(r), NWARN + NINFO + 2);
	assert_int_equal(rcv_count(r2), 2);
	for (int i = 0; i < rcv_count(r); i++) {
		json_t *j = req_json(r, i);
		json_t *a0 = json_array_get(json_object_get(j, "alerts"), 0);
		const char *sev = json_string_value(
			json_object_get(json_object_get(a0, "labels"), "severity"));
		const char *st = json_string_value(json_object_get(j, "status"));
		const char *want = i < 2 ? "critical" : i < 2 + NWARN ? "warning" : "info";
		if (!sev || strcmp(sev, want))
			fail_msg("delivery %d: severity %s, want %s", i, sev ? sev : "?", want);
		if (i < 2)
			assert_string_equal(st, i == 0 ? "firing" : "resolved");
		json_decref(j);
	}
	json_decref(c[NWARN + NINFO].details);
	rcv_free(r);
	rcv_free(r2);
}

/* 400 is permanent: given up, visible in the counts; a redirect is not followed. */
static void test_400_and_redirect_given_up(void **state)
{
	(void)state;
	struct rcv *bad = rcv_new(400), *redir = rcv_new(302);
	int64_t h1 = add_hook(bad, "/hook", "warning");
	add_hook(redir, "/hook", "warning");
	struct alert_cond c = stranding(0.2);
	apply(&c, 1, util_now());
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now(), NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(bad), 1);
	assert_int_equal(rcv_count(redir), 1);
	assert_string_equal(redir->reqs[0].path, "/hook"); /* /elsewhere never requested */
	int64_t pending = -1, given_up = -1;
	assert_int_equal(webhook_outbox_counts(db, &pending, &given_up), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(given_up, 2);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE last_error LIKE"
			   " '%redirects are not followed%' AND last_status = 302"),
			 1);
	/* Later passes leave given-up rows alone. */
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now() + 99999, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(bad), 1);
	assert_int_equal(rcv_count(redir), 1);
	json_t *arr;
	assert_int_equal(webhook_outbox_json(db, "given_up", 0, &arr, NULL, 0), 0);
	assert_int_equal(json_array_size(arr), 2);
	json_t *row = json_array_get(arr, 0);
	assert_int_equal(json_integer_value(json_object_get(row, "last_status")), 400);
	assert_null(json_object_get(row, "body"));
	int64_t rid = json_integer_value(json_object_get(row, "id"));
	json_decref(arr);
	/* Retry after the receiver was fixed: delivered. */
	atomic_store(&bad->mode, 200);
	assert_int_equal(webhook_outbox_retry(db, "test", rid, util_now(), NULL, 0), 0);
	assert_int_equal(webhook_outbox_retry(db, "test", rid, util_now(), NULL, 0), -ENOENT);
	int delivered = 0;
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now(), &delivered, NULL, 0), 0);
	assert_int_equal(delivered, 1);
	assert_int_equal(rcv_count(bad), 2);
	assert_int_equal(webhook_outbox_counts(db, &pending, &given_up), 0);
	assert_int_equal(given_up, 1);
	assert_int_equal(webhook_list_json(db, &arr, NULL, 0), 0);
	json_t *w0 = json_array_get(arr, 0);
	assert_int_equal(json_integer_value(json_object_get(w0, "id")), h1);
	assert_int_equal(json_integer_value(json_object_get(w0, "given_up")), 0);
	json_decref(arr);
	json_decref(c.details);
	rcv_free(bad);
	rcv_free(redir);
}

/* A row that is older than give_up_after stops being retried. */
static void test_give_up_after_age(void **state)
{
	(void)state;
	struct rcv *r = rcv_new(500);
	add_hook(r, "/hook", "warning");
	struct alert_cond c = stranding(0.2);
	time_t t = 2000000;
	cfg.webhook_give_up_s = 600;
	apply(&c, 1, t);
	assert_int_equal(webhook_deliver_due(db, &cfg, t, NULL, NULL, 0), 0);
	assert_int_equal(webhook_deliver_due(db, &cfg, t + 601, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 1);
	assert_int_equal(q("SELECT state = 'given_up' AND last_error LIKE 'gave up after%'"
			   " FROM webhook_outbox"),
			 1);
	json_decref(c.details);
	rcv_free(r);
}

/* A hanging receiver holds only its own slot: another webhook is served, the
 * alert state machine keeps running, and the worker stops promptly. */
static void test_hanging_receiver_isolated(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct rcv *slow = rcv_new(MODE_HANG), *fast = rcv_new(200);
	cfg.webhook_timeout_ms = 60000;
	add_hook(slow, "/hook", "warning");
	int64_t fast_id = add_hook(fast, "/hook", "warning");
	char fast_rows[128];
	snprintf(fast_rows, sizeof(fast_rows),
		 "SELECT count(*) FROM webhook_outbox WHERE webhook_id = %lld", (long long)fast_id);
	struct webhook_worker *w = webhook_worker_new(&cfg, path, err, sizeof(err));
	assert_non_null(w);
	struct alert_cond c = stranding(0.2);
	time_t t0 = util_now();
	apply(&c, 1, t0);
	webhook_worker_kick(w);
	WAIT_FOR(atomic_load(&slow->hanging) == 1 && rcv_count(fast) == 1);
	/* While it hangs: the next evaluation commits and the fast hook gets it too. */
	apply(NULL, 0, t0 + 1);
	webhook_worker_kick(w);
	WAIT_FOR(rcv_count(fast) == 2 && q(fast_rows) == 0);
	assert_int_equal(atomic_load(&slow->hanging), 1);
	assert_int_equal(rcv_count(slow), 1); /* per-webhook order: resolved waits for firing */
	int64_t t = util_mono_ms();
	webhook_worker_free(w);
	assert_true(util_mono_ms() - t < test_ms(5000));
	/* Both notifications of the hanging hook are still queued, none lost. */
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'"), 2);
	rcv_free(slow);
	rcv_free(fast);
	json_decref(c.details);
}

/* The timeout bounds a hanging attempt, which is then retried. */
static void test_hanging_receiver_times_out(void **state)
{
	(void)state;
	struct rcv *slow = rcv_new(MODE_HANG);
	cfg.webhook_timeout_ms = 500;
	add_hook(slow, "/hook", "warning");
	struct alert_cond c = stranding(0.2);
	apply(&c, 1, util_now());
	int64_t t = util_mono_ms();
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now(), NULL, NULL, 0), 0);
	assert_true(util_mono_ms() - t < test_ms(10000));
	assert_int_equal(q("SELECT attempts = 1 AND state = 'pending' AND last_error LIKE"
			   " '%timed out%' FROM webhook_outbox"),
			 1);
	rcv_free(slow);
	json_decref(c.details);
}

/* Repeat interval: a reminder only after it elapsed, with its own key. */
static void test_repeat_interval_and_silence(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t sid;
	struct rcv *r = rcv_new(200);
	add_hook(r, "/hook", "warning");
	struct alert_cond c = stranding(0.2);
	time_t t = 3000000;
	cfg.alerts_repeat_s = 3600;
	apply(&c, 1, t);
	apply(&c, 1, t + 3599);
	assert_int_equal(webhook_deliver_due(db, &cfg, t + 3599, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 1);
	apply(&c, 1, t + 3600);
	assert_int_equal(webhook_deliver_due(db, &cfg, t + 3600, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 2);
	assert_string_not_equal(r->reqs[0].key, r->reqs[1].key);
	/* Silenced: the next reminder and the resolution are not sent. */
	assert_int_equal(alerts_silence_add(db, "test", NULL, 1, t + 100000, "maintenance", t, &sid,
					    err, sizeof(err)),
			 0);
	apply(&c, 1, t + 7200);
	apply(NULL, 0, t + 7300);
	assert_int_equal(webhook_deliver_due(db, &cfg, t + 7300, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 2);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE status = 'resolved'"), 1);
	rcv_free(r);
	json_decref(c.details);
}

/* SIGKILL the delivering process mid-flight; a restart delivers everything. */
static void test_sigkill_while_queued_then_restart(void **state)
{
	(void)state;
	const char *bin = getenv("PINWATCH_BIN");
	if (!bin)
		skip();
	char conf[160];
	struct rcv *r = rcv_new(MODE_HANG);
	add_hook(r, "/hook", "warning");
	snprintf(conf, sizeof(conf), "%s/pinwatch.conf", dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[storage]\npath = %s\n[webhook]\ntimeout_ms = 60000\nbackoff_cap = 1s\n", path);
	fclose(f);

	/* Three alerts queued. */
	struct alert_cond c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = stranding(0.1 * (i + 1));
		c[i].kind = i == 0   ? ALERT_STRANDING_NOW
			    : i == 1 ? ALERT_ROTATION_NOT_READY
				     : ALERT_PROBE_FAILING;
		assert_int_equal(alerts_fingerprint(c[i].kind, "api.example.com", 443,
						    "shop-android", c[i].fingerprint,
						    sizeof(c[i].fingerprint)),
				 0);
	}
	apply(c, 3, util_now());
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 3);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "webhook", "flush", "-c", conf, (char *)NULL);
		_exit(127);
	}
	WAIT_FOR(atomic_load(&r->hanging) == 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'"), 3);

	/* Restart with a healthy receiver: all three arrive (the first one twice
	 * at most: at-least-once, same Idempotency-Key). */
	atomic_store(&r->mode, 200);
	atomic_store(&r->release, true);
	WAIT_FOR(atomic_load(&r->hanging) == 0);
	atomic_store(&r->release, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execl(bin, bin, "webhook", "flush", "-c", conf, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 0);
	int n = rcv_count(r);
	assert_true(n >= 4 && n <= 5); /* 1 hung (+1 if the kill raced a late reply) + 3 */
	int keys = 0;
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < n; k++)
			if (strstr(r->reqs[k].key, c[i].fingerprint)) {
				keys++;
				break;
			}
	assert_int_equal(keys, 3);
	for (int i = 0; i < 3; i++)
		json_decref(c[i].details);
	rcv_free(r);
}

/* ---- through readiness ---------------------------------------------------- */

/* certificate k: spki = 31 zero bytes + (100+k), issued by @issuer, valid for a year */
static void rd_cert(int k, int issuer, int is_ca, time_t not_after)
{
	char sql[768], err[ERRLEN];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO certificates (id, sha256, der, subject, issuer, serial, not_before,"
		 " not_after, key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (%d,"
		 " x'00000000000000000000000000000000000000000000000000000000000000%02x', x'3000',"
		 " 'CN=c%d', 'CN=c%d', '01', 0, %lld, 'ECDSA', 256,"
		 " x'00000000000000000000000000000000000000000000000000000000000000%02x', %d, 0)",
		 k, k, k, issuer, (long long)not_after, 100 + k, is_ca);
	if (db_exec(db, sql, err, sizeof(err)))
		fail_msg("%s", err);
}

static void rd_chain(int id, int a, int b, int c)
{
	char sql[512], err[ERRLEN];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO chains (id, sha256, length) VALUES (%d, "
		 "x'000000000000000000000000000000"
		 "00000000000000000000000000000000%02x', %d);"
		 "INSERT INTO chain_certs VALUES (%d, 0, %d), (%d, 1, %d)",
		 id, id, c ? 3 : 2, id, a, id, b);
	if (db_exec(db, sql, err, sizeof(err)))
		fail_msg("%s", err);
	if (c) {
		snprintf(sql, sizeof(sql), "INSERT INTO chain_certs VALUES (%d, 2, %d)", id, c);
		assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	}
}

static void rd_obs(const char *addr, int presented, int validated, time_t first, time_t last)
{
	char sql[512], err[ERRLEN];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id,"
		 " validated_chain_id, first_seen, last_seen) VALUES (1, '%s', 'ok', %d, %d, %lld, "
		 "%lld)",
		 addr, presented, validated, (long long)first, (long long)last);
	if (db_exec(db, sql, err, sizeof(err)))
		fail_msg("%s", err);
}

static void spki_b64(int k, char out[48])
{
	uint8_t pin[32] = { 0 };
	pin[31] = (uint8_t)(100 + k);
	util_pin_b64(pin, out);
}

/* A rotation to a new leaf key strands the version that pins only the old
 * leaf: through the readiness engine, exactly one firing notification; after
 * the fix (old chain back), exactly one resolved. */
static void test_stranding_through_readiness(void **state)
{
	(void)state;
	char err[ERRLEN], sql[1024], leafx[48], inter[48];
	struct alerts_result res;
	struct rcv *r = rcv_new(200);
	add_hook(r, "/hook", "warning");
	time_t t0 = util_now() - 100000;
	time_t year = t0 + 365 * 86400;
	rd_cert(1, 2, 0, year); /* leaf X */
	rd_cert(2, 3, 1, year); /* intermediate */
	rd_cert(3, 3, 1, year); /* root */
	rd_cert(4, 2, 0, year); /* leaf Y: a new key */
	rd_chain(1, 1, 2, 0);
	rd_chain(2, 1, 2, 3);
	rd_chain(3, 4, 2, 0);
	rd_chain(4, 4, 2, 3);
	spki_b64(1, leafx);
	spki_b64(2, inter);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO versions (id, app_id, version, created_at) VALUES (1, 1, '4.2.0', 0),"
		 " (2, 1, '4.3.0', 0);"
		 "INSERT INTO adoption (version_id, at, share) VALUES (1, '2020-01-01', 0.31),"
		 " (2, '2020-01-01', 0.69);"
		 "INSERT INTO pin_policies (id, version_id, pattern) VALUES (1, 1, "
		 "'api.example.com'),"
		 " (2, 2, 'api.example.com');"
		 "INSERT INTO pins (policy_id, sha256, role) VALUES (1, '%s', 'current'),"
		 " (2, '%s', 'current'), (2, '%s', 'backup');",
		 leafx, leafx, inter);
	if (db_exec(db, sql, err, sizeof(err)))
		fail_msg("%s", err);

	rd_obs("192.0.2.1", 1, 2, t0 - 500, t0);
	assert_int_equal(alerts_evaluate(db, &cfg, t0, &res, err, sizeof(err)), 0);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'stranding_now'"), 0);

	/* The server now presents leaf Y: 4.2.0 (31%) is stranded. */
	rd_obs("192.0.2.1", 3, 4, t0 + 100, t0 + 100);
	assert_int_equal(alerts_evaluate(db, &cfg, t0 + 100, &res, err, sizeof(err)), 0);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'stranding_now' AND"
			   " status = 'firing' AND severity = 'critical'"),
			 1);
	assert_int_equal(alerts_evaluate(db, &cfg, t0 + 200, &res, err, sizeof(err)), 0);
	assert_int_equal(webhook_deliver_due(db, &cfg, t0 + 200, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 1);
	json_t *j = req_json(r, 0);
	json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "firing");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "labels"), "alertname")),
		"stranding_now");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "labels"), "endpoint")),
		"api.example.com:443");
	json_t *pw = json_object_get(a, "pinwatch");
	assert_true(fabs(json_number_value(json_object_get(pw, "stranded_share")) - 0.31) < 1e-9);
	json_t *v0 = json_array_get(json_object_get(pw, "versions"), 0);
	assert_string_equal(json_string_value(json_object_get(v0, "version")), "4.2.0");
	assert_true(json_array_size(json_object_get(pw, "reasons")) >= 1);
	json_decref(j);

	/* Fixed: leaf X is back. */
	rd_obs("192.0.2.1", 1, 2, t0 + 300, t0 + 300);
	assert_int_equal(alerts_evaluate(db, &cfg, t0 + 300, &res, err, sizeof(err)), 0);
	assert_int_equal(webhook_deliver_due(db, &cfg, t0 + 300, NULL, NULL, 0), 0);
	assert_int_equal(rcv_count(r), 2);
	j = req_json(r, 1);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "resolved");
	json_decref(j);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'stranding_now' AND"
			   " status = 'resolved'"),
			 1);
	/* The chain changes were noticed too (info: below this webhook's minimum). */
	assert_true(q("SELECT count(*) FROM alerts WHERE kind = 'chain_changed'") >= 1);
	rcv_free(r);
}

/* The daemon component: poked after a (simulated) sweep commit, it evaluates
 * on its own thread and the worker delivers; a fix resolves. */
static void test_engine_poke_delivers(void **state)
{
	(void)state;
	char err[ERRLEN], sql[512];
	struct rcv *r = rcv_new(200);
	add_hook(r, "/hook", "warning");
	cfg.alerts_probe_failures = 3;
	struct alerts_engine *e = alerts_engine_new(&cfg, path, err, sizeof(err));
	assert_non_null(e);
	WAIT_FOR(alerts_engine_runs(e) >= 1);
	assert_int_equal(rcv_count(r), 0);
	time_t now = util_now();
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (endpoint_id, address, outcome, first_seen, last_seen,"
		 " probe_count) VALUES (1, '192.0.2.1', 'timeout', %lld, %lld, 4)",
		 (long long)now - 60, (long long)now);
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	assert_ptr_equal(alerts_engine_current(), e);
	alerts_engine_poke(alerts_engine_current());
	WAIT_FOR(rcv_count(r) >= 1);
	json_t *j = req_json(r, 0);
	json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "labels"), "alertname")),
		"probe_failing");
	json_decref(j);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (endpoint_id, address, outcome, first_seen, last_seen)"
		 " VALUES (1, '192.0.2.1', 'ok', %lld, %lld)",
		 (long long)now + 1, (long long)now + 1);
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	alerts_engine_poke(e);
	WAIT_FOR(rcv_count(r) >= 2);
	j = req_json(r, 1);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "resolved");
	json_decref(j);
	int64_t t = util_mono_ms();
	alerts_engine_free(e);
	assert_true(util_mono_ms() - t < test_ms(5000));
	assert_null(alerts_engine_current());
	assert_int_equal(rcv_count(r), 2);
	rcv_free(r);
}

/* The daemon itself: `pinwatch serve` raises an alert from the inventory
 * alone (a pin set expiring in 10 days), is SIGKILLed while the webhook
 * hangs, and delivers after a restart; SIGTERM then stops it cleanly. */
static void test_serve_sigkill_then_restart(void **state)
{
	(void)state;
	const char *bin = getenv("PINWATCH_BIN");
	if (!bin)
		skip();
	char conf[160], sql[1024], err[ERRLEN], day[16];
	struct rcv *r = rcv_new(MODE_HANG);
	add_hook(r, "/hook", "warning");
	util_fmt_date(util_now() + 10 * 86400, day, sizeof(day));
	snprintf(sql, sizeof(sql),
		 "INSERT INTO versions (id, app_id, version, created_at) VALUES (1, 1, '4.2.0', 0);"
		 "INSERT INTO pin_policies (id, version_id, pattern, expires) VALUES"
		 " (1, 1, 'api.example.com', '%s');"
		 "INSERT INTO pins (policy_id, sha256) VALUES"
		 " (1, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');"
		 "UPDATE endpoints SET enabled = 0;",
		 day);
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	snprintf(conf, sizeof(conf), "%s/serve.conf", dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f,
		"[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:0\n"
		"[webhook]\ntimeout_ms = 60000\nbackoff_cap = 1s\n",
		path);
	fclose(f);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "serve", "-c", conf, (char *)NULL);
		_exit(127);
	}
	WAIT_FOR(atomic_load(&r->hanging) == 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'"), 1);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'pin_set_expiring' AND"
			   " status = 'firing'"),
			 1);

	atomic_store(&r->mode, 200);
	atomic_store(&r->release, true);
	WAIT_FOR(atomic_load(&r->hanging) == 0);
	atomic_store(&r->release, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "serve", "-c", conf, (char *)NULL);
		_exit(127);
	}
	WAIT_FOR(rcv_count(r) >= 2 && q("SELECT count(*) FROM webhook_outbox") == 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(rcv_count(r), 2); /* the hung attempt and the delivery: same key */
	assert_string_equal(r->reqs[0].key, r->reqs[1].key);
	json_t *j = req_json(r, 1);
	json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "labels"), "alertname")),
		"pin_set_expiring");
	json_decref(j);
	/* Still firing: the restart did not open a second episode. */
	assert_int_equal(q("SELECT count(*) FROM alerts"), 1);
	rcv_free(r);
}

/* http_proxy in the environment is ignored; [webhook] proxy is used. */
static void test_proxy_env_ignored_config_used(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t id;
	struct rcv *r = rcv_new(200), *proxy = rcv_new(200);
	add_hook(r, "/hook", "warning");
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
	struct alert_cond c = stranding(0.2);
	apply(&c, 1, util_now());
	int delivered = 0;
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now(), &delivered, NULL, 0), 0);
	assert_int_equal(delivered, 1);
	assert_int_equal(rcv_count(r), 1);
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	/* A hook on a name that does not resolve, through the configured proxy. */
	assert_int_equal(webhook_add(db, "test", "http://hooks.invalid/via-proxy", WEBHOOK_GENERIC,
				     SECRET, "warning", util_now(), &id, err, sizeof(err)),
			 0);
	snprintf(cfg.webhook_proxy, sizeof(cfg.webhook_proxy), "http://127.0.0.1:%u", proxy->port);
	apply(NULL, 0, util_now() + 1);
	assert_int_equal(webhook_deliver_due(db, &cfg, util_now() + 1, &delivered, NULL, 0), 0);
	/* Both hooks' "resolved" went through the proxy, none directly. */
	assert_int_equal(rcv_count(proxy), 2);
	assert_int_equal(rcv_count(r), 1);
	assert_true(strstr(proxy->reqs[0].path, "via-proxy") ||
		    strstr(proxy->reqs[1].path, "via-proxy"));
	cfg.webhook_proxy[0] = 0;
	json_decref(c.details);
	rcv_free(r);
	rcv_free(proxy);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	gnutls_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_critical_first_with_slow_receiver, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stranding_firing_then_resolved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stranding_through_readiness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_poke_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_openssl_oneliner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receiver_down_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_500_retried_until_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_400_and_redirect_given_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_up_after_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hanging_receiver_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hanging_receiver_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeat_interval_and_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_while_queued_then_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_serve_sigkill_then_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_env_ignored_config_used, setup,
						teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	gnutls_global_deinit();
	return rc;
}
