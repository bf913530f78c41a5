/* bench_webhook: webhook delivery rate from the outbox to a loopback receiver
 * (libmicrohttpd, answers 204 at once). N notifications queued by
 * alerts_apply() for 1 webhook (delivered strictly in order, one at a time)
 * and for 8 webhooks (served concurrently); webhook_deliver_due() drains them.
 * Usage: bench_webhook [N]   (default 2000) */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "store/db.h"
#include "base/util.h"
#include "alerts/webhook.h"

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)data;
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*size) {
		*size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, 204, r);
	MHD_destroy_response(r);
	return ret;
}

static int run(long n, int hooks, uint16_t port)
{
	char dir[] = "/tmp/pinwatch-bench-webhook-XXXXXX", path[128], err[ERRLEN], sql[512];
	struct config cfg;
	if (!mkdtemp(dir))
		return 3;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return 3;
	config_defaults(&cfg);
	db_exec(db, "BEGIN", NULL, 0);
	for (int h = 0; h < hooks; h++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO webhooks (url, format, secret, min_severity, created_at) "
			 "VALUES"
			 " ('http://127.0.0.1:%u/h%d', 'generic', 'secret', 'info', 0)",
			 port, h);
		db_exec(db, sql, NULL, 0);
	}
	db_exec(db, "COMMIT", NULL, 0);
	/* n / hooks alerts, each notifying every hook: n outbox rows in all. */
	long nalerts = n / hooks;
	struct alert_cond *c = calloc((size_t)nalerts, sizeof(*c));
	for (long i = 0; i < nalerts; i++) {
		c[i].kind = ALERT_PROBE_FAILING;
		c[i].severity = SEVERITY_WARNING;
		snprintf(c[i].fingerprint, sizeof(c[i].fingerprint), "bench-%ld", i);
		snprintf(c[i].summary, sizeof(c[i].summary), "bench alert %ld", i);
	}
	if (alerts_apply(db, c, (size_t)nalerts, ALERT_SCOPE_ALL, util_now(), &cfg, NULL, err,
			 sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	free(c);
	int64_t t0 = util_mono_ms();
	int delivered = 0;
	if (webhook_deliver_due(db, &cfg, util_now(), &delivered, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	int64_t ms = util_mono_ms() - t0;
	printf("%d webhook(s): %d notifications delivered in %lld ms = %.0f/s\n", hooks, delivered,
	       (long long)ms, ms ? delivered * 1000.0 / (double)ms : 0.0);
	db_close(db);
	snprintf(sql, sizeof(sql), "rm -rf '%s'", dir);
	return system(sql) == 0 && delivered == nalerts * hooks ? 0 : 3;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	if (n < 8 || n > 1000000)
		return 2;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handler, NULL,
		MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_END);
	if (!d)
		return 3;
	uint16_t port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
	int rc = run(n, 1, port);
	if (rc == 0)
		rc = run(n, 8, port);
	MHD_stop_daemon(d);
	return rc;
}
