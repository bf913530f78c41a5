/* pinwatch serve: the daemon main loop.
 *
 * Order of construction: configuration, database (migrations), optional
 * components (HTTP API, alerts/webhook worker: see `components` below),
 * scheduler; torn down in reverse. Signal handlers only set flags: SIGTERM
 * and SIGINT stop gracefully (in-flight probes finish, results are
 * committed, exit 0), SIGHUP re-reads the configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts_engine.h"
#include "signals/reports.h"
#include "cli/cli.h"
#include "cli/config_check.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "http/http.h"
#include "base/log.h"
#include "cli/notify.h"
#include "probe/scheduler.h"
#include "base/util.h"

static volatile sig_atomic_t flag_stop, flag_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		flag_reload = 1;
	else
		flag_stop = 1;
}

/** What serve hands to its components. */
struct serve_ctx {
	struct cli_global *g;
	const char *db_path;
	/* Probe-now from HTTP threads reaches the scheduler through sched, under
	 * sched_lock: published once the scheduler exists, unpublished as soon as
	 * its loop ends and before it is freed, so no HTTP thread can hold it (or
	 * write to its closed, maybe reused, event fd) while it goes. */
	pthread_mutex_t sched_lock;
	struct scheduler *sched; /**< guarded by sched_lock */
	bool sched_stopping;	 /**< guarded by sched_lock */
	void *state[8];		 /**< one slot per component, by index */
};

/**
 * An optional part of the daemon. Each hook may be NULL. start runs after
 * the database is open and before probing starts; after_commit runs on the
 * scheduler's writer thread after each committed batch of results (re-evaluate
 * readiness, fire alerts); reload after SIGHUP; stop in reverse order.
 */
struct serve_component {
	const char *name;
	int (*start)(struct serve_ctx *ctx, void **state, char *err, size_t errlen);
	void (*after_commit)(void *state, const int64_t *endpoint_ids, size_t n);
	void (*reload)(void *state, const struct config *cfg);
	void (*stop)(void *state);
};

/* HTTP API and dashboard (http.h): started before the scheduler, which it
 * reaches through the context for probe-now once the scheduler exists. */
static int http_probe_now_hook(void *ud, int64_t endpoint_id, char *err, size_t errlen)
{
	struct serve_ctx *c = ud;
	int rc;
	/* scheduler_probe_now() only queues the id and wakes the loop: cheap
	 * enough to hold the lock across, which keeps the scheduler alive */
	pthread_mutex_lock(&c->sched_lock);
	if (c->sched)
		rc = scheduler_probe_now(c->sched, endpoint_id);
	else
		rc = util_err(err, errlen, -EBUSY, "the scheduler is %s",
			      c->sched_stopping ? "stopping" : "starting");
	pthread_mutex_unlock(&c->sched_lock);
	return rc;
}

/* Make @s (or, once it stops, no scheduler) what probe-now reaches. */
static void publish_scheduler(struct serve_ctx *c, struct scheduler *s)
{
	pthread_mutex_lock(&c->sched_lock);
	c->sched_stopping = !s && c->sched;
	c->sched = s;
	pthread_mutex_unlock(&c->sched_lock);
}

static int http_component_start(struct serve_ctx *c, void **state, char *err, size_t errlen)
{
	struct http *h = http_new(&c->g->cfg, c->db_path, err, errlen);
	if (!h)
		return -EIO;
	http_set_probe_now(h, http_probe_now_hook, c);
	/* the scheduler starts right after the components; /healthz then watches
	 * its commits and the schedule's lag */
	http_note_scheduler_alive(h, util_now());
	log_info("http: listening on %s (port %d)", c->g->cfg.http_listen, http_port(h));
	*state = h;
	return 0;
}

static void http_component_after_commit(void *state, const int64_t *ids, size_t n)
{
	(void)ids;
	(void)n;
	http_note_sweep(state, util_now());
}

static void http_component_stop(void *state)
{
	http_free(state);
}

/* Alert evaluation and webhook delivery (alerts_engine.h): their own threads
 * and database connections; a commit only pokes the evaluator. */
static int alerts_component_start(struct serve_ctx *c, void **state, char *err, size_t errlen)
{
	struct alerts_engine *e =
		alerts_engine_new(&c->g->cfg, c->db_path, &reports_alerts_source, err, errlen);
	if (!e)
		return -EIO;
	*state = e;
	return 0;
}

static void alerts_component_after_commit(void *state, const int64_t *ids, size_t n)
{
	(void)ids;
	(void)n;
	alerts_engine_poke(state);
}

static void alerts_component_reload(void *state, const struct config *cfg)
{
	alerts_engine_reload(state, cfg);
}

static void alerts_component_stop(void *state)
{
	alerts_engine_free(state);
}

/* In start order; stopped in reverse. */
static const struct serve_component components[] = {
	{ "alerts", alerts_component_start, alerts_component_after_commit, alerts_component_reload,
	  alerts_component_stop },
	{ "http", http_component_start, http_component_after_commit, NULL, http_component_stop },
	{ NULL, NULL, NULL, NULL, NULL },
};

/* After each committed batch (the scheduler's hook; @ud is the serve_ctx). */
static void after_commit(void *ud, const int64_t *ids, size_t n)
{
	struct serve_ctx *c = ud;
	for (size_t i = 0; i < ARRAY_SIZE(components) && components[i].name; i++)
		if (components[i].after_commit)
			components[i].after_commit(c->state[i], ids, n);
}

/* Once a second on the loop thread: systemd watchdog (at half its interval)
 * and a STATUS= summary every ten seconds. */
static void on_tick(void *ud, const struct sched_stats *st)
{
	(void)ud;
	static int64_t last_status_ms = -10000;
	int64_t now = util_mono_ms();
	notify_watchdog_kick();
	if (now - last_status_ms >= 10000) {
		last_status_ms = now;
		notify_status("%s%lld probes, %lld not ok, %lld chain or outcome changes",
			      dbhealth_writable() ? "" : "DATABASE READ-ONLY (serving reads), ",
			      (long long)st->probes, (long long)st->failures,
			      (long long)st->new_rows);
	}
}

static void fill_opts(const struct config *c, struct sched_opts *o)
{
	o->concurrency = c->probe_concurrency;
	o->timeout_ms = c->probe_timeout_ms;
	o->max_addresses = c->probe_max_addresses;
	o->jitter_pct = c->probe_jitter_pct;
	o->discover_interval_s = c->probe_discover_interval_s;
	o->ca_file = c->probe_ca_file;
}

/*
 * The HTTP server and the database are set up once at start: a reload that
 * changes their keys cannot apply them, so say which keys wait for a restart
 * instead of pretending they were applied.
 */
static void log_restart_needed(const struct config *run, const struct config *c)
{
	char keys[512] = "";
	size_t n = 0;
	const struct {
		const char *name;
		bool changed;
	} k[] = {
		{ "[storage] path", strcmp(run->storage_path, c->storage_path) != 0 },
		{ "[http] listen", strcmp(run->http_listen, c->http_listen) != 0 },
		{ "[http] public_read", run->http_public_read != c->http_public_read },
		{ "[http] tls_cert", strcmp(run->http_tls_cert, c->http_tls_cert) != 0 },
		{ "[http] tls_key", strcmp(run->http_tls_key, c->http_tls_key) != 0 },
		{ "[http] base_url", strcmp(run->http_base_url, c->http_base_url) != 0 },
		{ "[http] max_body", run->http_max_body != c->http_max_body },
		{ "[http] max_connections", run->http_max_connections != c->http_max_connections },
		{ "[http] per_ip_connections",
		  run->http_per_ip_connections != c->http_per_ip_connections },
		{ "[http] timeout", run->http_timeout_s != c->http_timeout_s },
	};
	for (size_t i = 0; i < ARRAY_SIZE(k); i++) {
		if (!k[i].changed)
			continue;
		size_t used = strlen(keys);
		snprintf(keys + used, sizeof(keys) - used, "%s%s", n++ ? ", " : "", k[i].name);
	}
	if (n)
		log_warn("SIGHUP: %s changed: the HTTP server and the database keep their "
			 "start-up settings until pinwatch is restarted",
			 keys);
}

static int reload_config(struct serve_ctx *ctx, struct sched_opts *o)
{
	struct cli_global *g = ctx->g;
	struct config c;
	char err[ERRLEN];
	config_defaults(&c);
	/* the file the daemon started with: -c FILE, else the default if readable */
	const char *path = cli_config_path(g);
	if (path && config_load(&c, path, err, sizeof(err)) != 0) {
		log_err("SIGHUP: %s; keeping the running configuration", err);
		return -EINVAL;
	}
	if (config_validate(&c, err, sizeof(err)) != 0) {
		log_err("SIGHUP: %s; keeping the running configuration", err);
		return -EINVAL;
	}
	log_restart_needed(&g->cfg, &c);
	g->cfg = c;
	log_set_level((enum log_level)c.log_level);
	fill_opts(&g->cfg, o);
	for (size_t i = 0; i < ARRAY_SIZE(components) && components[i].name; i++)
		if (components[i].reload)
			components[i].reload(ctx->state[i], &g->cfg);
	return 0;
}

static int on_reload(void *ud, struct sched_opts *o)
{
	notify_reloading();
	int rc = reload_config(ud, o);
	notify_ready();
	return rc;
}

static void usage(void)
{
	printf("Usage: pinwatch serve [--check-config] [-c FILE] [--db PATH]\n\n"
	       "Run the daemon: probe every enabled endpoint at its interval (with jitter),\n"
	       "at every address, and keep the observation history. A restart resumes from\n"
	       "the stored probe times.\n\n"
	       "      --check-config  parse and validate the configuration, then "
	       "exit\n" CLI_GLOBAL_HELP "  -h, --help          this help\n\n"
	       "Signals: SIGTERM/SIGINT stop gracefully (exit 0); SIGHUP re-reads the "
	       "configuration\n"
	       "and applies [probe], [alerts], [webhook] and [log]; changes to [http] and\n"
	       "[storage] are logged and wait for a restart.\n");
}

int cmd_serve(int argc, char **argv)
{
	enum { O_CHECK = 0x200 };
	static const struct option opts[] = {
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	struct serve_ctx ctx;
	bool check = false;
	int opt, rc;
	char err[ERRLEN];

	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, opt, optarg))
			continue;
		switch (opt) {
		case O_CHECK:
			check = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_usage_error("serve", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	if (check)
		return config_check_cli(&g);
	if ((rc = cli_load_config(&g)) != EXIT_OK)
		return rc;
	if (config_validate(&g.cfg, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	/* Migrations and quick_check here; a read-only database is served
	 * read-only (dbhealth.h: reads answered, writes refused and retried). */
	dbhealth_init(cli_db_path(&g));
	struct db *db = db_open(cli_db_path(&g), DB_RO_FALLBACK, err, sizeof(err));
	if (!db) {
		log_err("%s", err);
		return EXIT_RUNTIME;
	}
	if (db_readonly(db))
		dbhealth_set_readonly(db_readonly_why(db));
	db_close(db);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&ctx, 0, sizeof(ctx));
	pthread_mutex_init(&ctx.sched_lock, NULL);
	ctx.g = &g;
	ctx.db_path = cli_db_path(&g);
	size_t started = 0;
	rc = EXIT_OK;
	for (; started < ARRAY_SIZE(components) && components[started].name; started++) {
		if (components[started].start &&
		    components[started].start(&ctx, &ctx.state[started], err, sizeof(err)) != 0) {
			log_err("%s: %s", components[started].name, err);
			rc = EXIT_RUNTIME;
			goto stop;
		}
	}
	struct sched_opts so = { .after_commit = after_commit,
				 .on_tick = on_tick,
				 .hook_ud = &ctx,
				 .allow_readonly = true };
	fill_opts(&g.cfg, &so);
	struct scheduler *sched = scheduler_new(ctx.db_path, &so, err, sizeof(err));
	if (!sched) {
		log_err("%s", err);
		rc = EXIT_RUNTIME;
		goto stop;
	}
	log_info("pinwatch %s serving (database %s, concurrency %d)", PINWATCH_VERSION, ctx.db_path,
		 so.concurrency);
	notify_ready();
	notify_status("serving; first probes starting");
	publish_scheduler(&ctx, sched);
	if (scheduler_run(sched, &flag_stop, &flag_reload, on_reload, &ctx, err, sizeof(err)) !=
	    0) {
		log_err("%s", err);
		rc = EXIT_RUNTIME;
	}
	/* from here probe-now answers 503; no HTTP thread holds the scheduler */
	publish_scheduler(&ctx, NULL);
	notify_stopping();
	if (!dbhealth_writable())
		log_warn("stopping with the database read-only (%lld probe result(s) dropped "
			 "while read-only since start)",
			 (long long)dbhealth_dropped_total());
	else
		log_info("stopping: every result committed");
	scheduler_free(sched);
stop:
	while (started-- > 0)
		if (components[started].stop)
			components[started].stop(ctx.state[started]);
	pthread_mutex_destroy(&ctx.sched_lock);
	return rc;
}
