/* `pinwatch demo`: local TLS endpoints with a generated PKI, a realistic
 * inventory in a temporary database, the daemon with its dashboard, and an
 * unplanned key rotation a minute in (demo.h has the scenario).
 *
 * Processes: this process runs the TLS endpoints (tlsfarm threads) and
 * supervises a child `pinwatch serve` (and short-lived `pinwatch import` /
 * `webhook add` children), all started from /proc/self/exe. SIGINT, SIGTERM
 * and SIGCHLD are blocked and taken with sigtimedwait() in the main loop, so
 * no work happens in a signal handler; children get the default mask back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "demo/demo.h"
#include "base/log.h"
#include "probe/hostsfile.h"
#include "demo/tlsfarm.h"
#include "base/util.h"

extern char **environ;

#define DEMO_INTERVAL_S 10 /* probe interval of the demo endpoints (the minimum) */

struct demo_run {
	char dir[PATH_MAX];
	char db[PATH_MAX], conf[PATH_MAX], inv[PATH_MAX], roots[PATH_MAX], hosts[PATH_MAX];
	char self[PATH_MAX];
	char listen[64];
	pid_t serve;
	bool keep;
	struct tlsfarm_pki *pki;
	struct tlsfarm *main_farm; /* api, pay, login on 127.0.0.1 */
	struct tlsfarm *edge[2];   /* cdn on 127.0.0.2 and 127.0.0.3, same port */
	uint16_t ports[DEMO_NENDPOINTS];
	struct demo_pins pins;
};

static const char usage_text[] =
	"Usage: pinwatch demo [--rotate-after SECONDS] [--listen ADDR:PORT] [--webhook URL]\n"
	"                     [--dir DIR] [--duration SECONDS]\n"
	"\n"
	"Start local TLS endpoints with a generated PKI, import a realistic inventory\n"
	"(two apps, several versions, adoption history, current and backup pins) into\n"
	"a temporary database, run the daemon and print the dashboard URL. After\n"
	"--rotate-after seconds one endpoint rotates to a new key without warning, so\n"
	"the dashboard (and the webhook) show users being stranded. Ctrl-C stops\n"
	"everything and removes the temporary files.\n"
	"\n"
	"Options:\n"
	"      --rotate-after S  seconds until the unplanned rotation (default 60; 0: never)\n"
	"      --listen A:P      dashboard address (default 127.0.0.1:8080, else a free port;\n"
	"                        port 0: any free port)\n"
	"      --webhook URL     also deliver the demo's alerts to URL (generic format)\n"
	"      --dir DIR         keep the database and files in DIR (created; not removed)\n"
	"      --duration S      stop by itself after S seconds (default: until Ctrl-C)\n"
	"  -h, --help           this help\n";

/* ---- files and processes ---------------------------------------------- */

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			return e;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Start `pinwatch ARGS...` with the default signal mask. */
static int spawn_self(struct demo_run *r, char *const args[], pid_t *pid)
{
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int rc;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGCHLD);
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		return -rc;
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, r->self, NULL, &attr, args, environ);
	posix_spawnattr_destroy(&attr);
	return -rc;
}

/* Run `pinwatch ARGS...` to completion; its exit status or negative errno. */
static int run_self(struct demo_run *r, char *const args[])
{
	pid_t pid;
	int st, rc = spawn_self(r, args, &pid);
	if (rc)
		return rc;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The dashboard address: @want as given, or with port 0 replaced by a port
 * the kernel says is free now; without @want, 127.0.0.1:8080 when free, else
 * a free port. 0 or negative errno.
 */
static int pick_listen(const char *want, char *out, size_t len, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc;

	if ((rc = config_parse_listen(want ? want : "127.0.0.1:8080", &ss, &sl, err, errlen)))
		return rc;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return util_err(err, errlen, -errno, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (want || errno != EADDRINUSE) {
			rc = util_err(err, errlen, -errno, "%s: %s", want ? want : "127.0.0.1:8080",
				      strerror(errno));
			close(fd);
			return rc;
		}
		((struct sockaddr_in *)&ss)->sin_port = 0; /* 8080 is taken: any port */
		if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
			rc = util_err(err, errlen, -errno, "bind: %s", strerror(errno));
			close(fd);
			return rc;
		}
	}
	sl = sizeof(ss);
	rc = getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return util_err(err, errlen, rc, "getsockname: %s", strerror(-rc));
	char a[INET6_ADDRSTRLEN];
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------ */

static int make_paths(struct demo_run *r, const char *dir)
{
	ssize_t n = readlink("/proc/self/exe", r->self, sizeof(r->self) - 1);
	if (n <= 0) {
		log_errno(LOG_LVL_ERR, errno, "demo: cannot find the pinwatch binary");
		return EXIT_RUNTIME;
	}
	r->self[n] = '\0';
	if (dir) {
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			log_errno(LOG_LVL_ERR, errno, "demo: mkdir %s", dir);
			return EXIT_RUNTIME;
		}
		if (!realpath(dir, r->dir)) {
			log_errno(LOG_LVL_ERR, errno, "demo: %s", dir);
			return EXIT_RUNTIME;
		}
		r->keep = true;
	} else {
		const char *tmp = getenv("TMPDIR");
		if (util_path(r->dir, sizeof(r->dir), "%s/pinwatch-demo-XXXXXX",
			      tmp && *tmp ? tmp : "/tmp")) {
			log_err("demo: directory name too long: %s", tmp);
			return EXIT_USAGE;
		}
		if (!mkdtemp(r->dir)) {
			log_errno(LOG_LVL_ERR, errno, "demo: cannot create a temporary directory");
			r->dir[0] = '\0';
			return EXIT_RUNTIME;
		}
	}
	if (util_path(r->db, sizeof(r->db), "%s/pinwatch.db", r->dir) ||
	    util_path(r->conf, sizeof(r->conf), "%s/pinwatch.conf", r->dir) ||
	    util_path(r->inv, sizeof(r->inv), "%s/inventory.json", r->dir) ||
	    util_path(r->roots, sizeof(r->roots), "%s/roots.pem", r->dir) ||
	    util_path(r->hosts, sizeof(r->hosts), "%s/hosts", r->dir)) {
		log_err("demo: directory name too long: %s", r->dir);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int write_config(struct demo_run *r)
{
	char text[4096];
	int n = snprintf(
		text, sizeof(text),
		"# Written by `pinwatch demo`.\n"
		"[storage]\npath = %s\n"
		"[http]\nlisten = %s\npublic_read = true\nbase_url = http://%s/\n"
		"[probe]\nca_file = %s\ninterval = %ds\ntimeout_ms = 3000\njitter_percent = 0\n"
		"concurrency = 8\n"
		"[alerts]\nrepeat_interval = 1h\nprobe_failures = 2\n"
		"[webhook]\nbackoff_cap = 10s\n",
		r->db, r->listen, r->listen, r->roots, DEMO_INTERVAL_S);
	if (n < 0 || n >= (int)sizeof(text))
		return -ENAMETOOLONG;
	return write_text(r->conf, text, 0600);
}

static void teardown(struct demo_run *r)
{
	if (r->serve > 0) {
		int st;
		kill(r->serve, SIGTERM);
		for (int i = 0; i < 100; i++) { /* up to 10 s for a clean stop */
			if (waitpid(r->serve, &st, WNOHANG) == r->serve) {
				r->serve = 0;
				break;
			}
			struct timespec ts = { 0, 100000000L };
			nanosleep(&ts, NULL);
		}
		if (r->serve > 0) {
			kill(r->serve, SIGKILL);
			waitpid(r->serve, &st, 0);
			r->serve = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		tlsfarm_free(r->edge[i]);
		r->edge[i] = NULL;
	}
	tlsfarm_free(r->main_farm);
	r->main_farm = NULL;
	tlsfarm_pki_free(r->pki);
	r->pki = NULL;
	if (r->dir[0] && !r->keep && nftw(r->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		log_errno(LOG_LVL_WARN, errno, "demo: could not remove %s", r->dir);
}

/* ---- the endpoints ----------------------------------------------------- */

static int pin_of(struct tlsfarm *f, const char *name, int pos, char out[45])
{
	uint8_t pins[4][32];
	int n = tlsfarm_chain_pins(f, name, pins, 4);
	if (n < 0)
		return n;
	if (pos >= n)
		return -ENOENT;
	util_pin_b64(pins[pos], out);
	return 0;
}

static int start_farms(struct demo_run *r, char *err, size_t errlen)
{
	struct tlsfarm_opts o = { .address = "127.0.0.1" };
	int rc;

	if (!(r->pki = tlsfarm_pki_new(err, errlen)))
		return -EIO;
	if (!(r->main_farm = tlsfarm_new(r->pki, &o, err, errlen)))
		return -EIO;
	if ((rc = tlsfarm_add(r->main_farm, demo_names[DEMO_API], TLSFARM_NORMAL,
			      TLSFARM_KEY_ECDSA_P256, err, errlen)) ||
	    (rc = tlsfarm_add(r->main_farm, demo_names[DEMO_PAY], TLSFARM_NORMAL,
			      TLSFARM_KEY_ECDSA_P256, err, errlen)) ||
	    (rc = tlsfarm_add(r->main_farm, demo_names[DEMO_LOGIN], TLSFARM_EXPIRING,
			      TLSFARM_KEY_ECDSA_P256, err, errlen)))
		return rc;
	if ((rc = tlsfarm_start(r->main_farm)))
		return util_err(err, errlen, rc, "starting the TLS endpoints: %s", strerror(-rc));
	r->ports[DEMO_API] = r->ports[DEMO_PAY] = r->ports[DEMO_LOGIN] = tlsfarm_port(r->main_farm);

	/* Two CDN edges on one port: each tlsfarm_add generates its own key. */
	static const char *const edge_addr[2] = { "127.0.0.2", "127.0.0.3" };
	for (int i = 0; i < 2; i++) {
		struct tlsfarm_opts eo = { .address = edge_addr[i],
					   .port = i ? r->ports[DEMO_CDN] : 0 };
		if (!(r->edge[i] = tlsfarm_new(r->pki, &eo, err, errlen)))
			return -EIO;
		if ((rc = tlsfarm_add(r->edge[i], demo_names[DEMO_CDN], TLSFARM_NORMAL,
				      TLSFARM_KEY_ECDSA_P256, err, errlen)))
			return rc;
		if ((rc = tlsfarm_start(r->edge[i])))
			return util_err(err, errlen, rc, "starting the CDN edge %s: %s",
					edge_addr[i], strerror(-rc));
		r->ports[DEMO_CDN] = tlsfarm_port(r->edge[i]);
	}

	/* Pins of what is served, and spare keys for the backup pins. */
	if ((rc = pin_of(r->main_farm, demo_names[DEMO_API], 1, r->pins.issuing)) ||
	    (rc = pin_of(r->main_farm, demo_names[DEMO_API], 0, r->pins.leaf[DEMO_API])) ||
	    (rc = pin_of(r->main_farm, demo_names[DEMO_PAY], 0, r->pins.leaf[DEMO_PAY])) ||
	    (rc = pin_of(r->main_farm, demo_names[DEMO_LOGIN], 0, r->pins.leaf[DEMO_LOGIN])) ||
	    (rc = pin_of(r->edge[0], demo_names[DEMO_CDN], 0, r->pins.leaf[DEMO_CDN])))
		return util_err(err, errlen, rc, "reading the served chains: %s", strerror(-rc));
	if ((rc = demo_spare_pins(&r->pins, err, errlen)))
		return rc;
	if ((rc = tlsfarm_pki_write_ca(r->pki, r->roots, false)))
		return util_err(err, errlen, rc, "%s: %s", r->roots, strerror(-rc));
	return 0;
}

/* Names to loopback addresses for every pinwatch process we start. */
static int write_hosts(struct demo_run *r)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "# Written by `pinwatch demo`: the demo names on loopback.\n"
		 "127.0.0.1 %s %s %s\n127.0.0.2 %s\n127.0.0.3 %s\n",
		 demo_names[DEMO_API], demo_names[DEMO_PAY], demo_names[DEMO_LOGIN],
		 demo_names[DEMO_CDN], demo_names[DEMO_CDN]);
	int rc = write_text(r->hosts, text, 0644);
	if (rc == 0 && setenv(HOSTSFILE_ENV, r->hosts, 1) < 0)
		rc = -errno;
	return rc;
}

static int write_inventory(struct demo_run *r)
{
	json_t *inv = demo_inventory(&r->pins, r->ports, DEMO_INTERVAL_S, util_now());
	if (!inv)
		return -ENOMEM;
	int rc = json_dump_file(inv, r->inv, JSON_INDENT(2)) ? -EIO : 0;
	json_decref(inv);
	return rc;
}

static void banner(struct demo_run *r, long long rotate_after, const char *webhook)
{
	printf("\n"
	       "pinwatch demo\n"
	       "  dashboard   http://%s/\n"
	       "  database    %s\n"
	       "              (try: %s check --db %s)\n"
	       "\n"
	       "  endpoints (TLS on loopback, chains generated just now)\n"
	       "    %-16s 127.0.0.1:%u  healthy: every app version pins the issuing CA\n"
	       "    %-16s 127.0.0.1:%u  shop-android 4.1.0 (25%% of users) pins only this leaf "
	       "key:\n"
	       "                                      the next key rotation would strand them\n"
	       "    %-16s 127.0.0.1:%u  expires in 5 days; shop-ios 7.0.0 pins only its leaf key\n"
	       "    %-16s 127.0.0.2:%u and 127.0.0.3:%u  two CDN edges serving different keys\n"
	       "\n",
	       r->listen, r->db, r->self, r->db, demo_names[DEMO_API], r->ports[DEMO_API],
	       demo_names[DEMO_PAY], r->ports[DEMO_PAY], demo_names[DEMO_LOGIN],
	       r->ports[DEMO_LOGIN], demo_names[DEMO_CDN], r->ports[DEMO_CDN], r->ports[DEMO_CDN]);
	if (webhook)
		printf("  webhook     %s (generic format, HMAC secret \"pinwatch-demo\")\n\n",
		       webhook);
	if (rotate_after > 0)
		printf("  In %lld s %s rotates to a new key without warning: watch the dashboard\n"
		       "  show shop-android 4.1.0 users stranded.\n\n",
		       rotate_after, demo_names[DEMO_PAY]);
	printf("  Ctrl-C stops the demo%s.\n\n", r->keep ? "" : " and removes its files");
	fflush(stdout);
}

/* Start the demo: its files, farms, inventory, webhook, a first sweep and the
 * daemon. EXIT_*; teardown() undoes whatever was started. */
static int demo_start(struct demo_run *r, const char *dir, char *webhook)
{
	char err[ERRLEN];
	int rc, e;
	if ((rc = make_paths(r, dir)) != EXIT_OK)
		return rc;
	if (start_farms(r, err, sizeof(err)) != 0) {
		log_err("demo: %s", err);
		return EXIT_RUNTIME;
	}
	if ((e = write_hosts(r)) || (e = write_inventory(r)) || (e = write_config(r))) {
		log_errno(LOG_LVL_ERR, e, "demo: writing files in %s", r->dir);
		return EXIT_RUNTIME;
	}
	char *import_args[] = { "pinwatch", "import", "--db", r->db, r->inv, NULL };
	if ((e = run_self(r, import_args)) != 0) {
		log_err("demo: importing the demo inventory failed (exit status %d)", e);
		return EXIT_RUNTIME;
	}
	if (webhook) {
		char *wh_args[] = { "pinwatch", "webhook",	 "add",
				    webhook,	"--format",	 "generic",
				    "--secret", "pinwatch-demo", "--min-severity",
				    "info",	"--db",		 r->db,
				    NULL };
		if ((e = run_self(r, wh_args)) != 0) {
			log_err("demo: adding the webhook failed (exit status %d)", e);
			return e == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
		}
	}
	/* A first sweep so that the dashboard has data at once (new endpoints are
	 * otherwise spread over the daemon's first minute). */
	char *sweep_args[] = { "pinwatch", "sweep", "-c", r->conf, NULL };
	if ((e = run_self(r, sweep_args)) != 0) {
		log_err("demo: the first sweep failed (exit status %d)", e);
		return EXIT_RUNTIME;
	}
	char *serve_args[] = { "pinwatch", "serve", "-c", r->conf, NULL };
	if ((e = spawn_self(r, serve_args, &r->serve)) != 0) {
		log_errno(LOG_LVL_ERR, e, "demo: starting pinwatch serve");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* Wait for Ctrl-C, the end of @duration or the daemon's exit; rotate the
 * payment endpoint's key after @rotate_after seconds. EXIT_*. */
static int demo_wait(struct demo_run *r, const sigset_t *set, long long rotate_after,
		     long long duration)
{
	int64_t start = util_mono_ms();
	bool rotated = false;
	int rc = EXIT_OK, e;
	for (;;) {
		struct timespec ts = { 0, 200000000L };
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			printf("\nstopping the demo\n");
			break;
		}
		if (sig == SIGCHLD || sig < 0) {
			int st;
			if (waitpid(r->serve, &st, WNOHANG) == r->serve) {
				r->serve = 0;
				/* Ctrl-C in a terminal reaches the daemon too: a clean
				 * exit is a stop, not a failure. */
				if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
					printf("\nthe daemon stopped; stopping the demo\n");
					break;
				}
				log_err("demo: pinwatch serve exited (%s %d); stopping",
					WIFEXITED(st) ? "status" : "signal",
					WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				rc = EXIT_RUNTIME;
				break;
			}
		}
		int64_t elapsed = util_mono_ms() - start;
		if (!rotated && rotate_after > 0 && elapsed >= rotate_after * 1000) {
			rotated = true;
			if ((e = tlsfarm_rotate(r->main_farm, demo_names[DEMO_PAY])) != 0) {
				log_errno(LOG_LVL_ERR, e, "demo: rotating %s",
					  demo_names[DEMO_PAY]);
				rc = EXIT_RUNTIME;
				break;
			}
			char newpin[45] = "";
			pin_of(r->main_farm, demo_names[DEMO_PAY], 0, newpin);
			printf("%s now presents a new key (sha256/%s) that shop-android 4.1.0 "
			       "does\n"
			       "not pin: its users are stranded from the next probe (within %d "
			       "s).\n",
			       demo_names[DEMO_PAY], newpin, DEMO_INTERVAL_S);
			fflush(stdout);
		}
		if (duration > 0 && elapsed >= duration * 1000)
			break;
	}
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rotate-after", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "webhook", required_argument, NULL, 'w' },
		{ "dir", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long rotate_after = 60, duration = 0;
	const char *listen = NULL, *dir = NULL;
	char *webhook = NULL;
	struct demo_run r;
	char err[ERRLEN];
	int opt, rc;

	memset(&r, 0, sizeof(r));
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (util_parse_int(optarg, 0, 86400, &rotate_after))
				return cli_usage_error(
					"demo",
					"--rotate-after: expected 0..86400 seconds, got '%s'",
					optarg);
			break;
		case 'l':
			listen = optarg;
			break;
		case 'w':
			webhook = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 't':
			if (util_parse_int(optarg, 1, 7 * 86400, &duration))
				return cli_usage_error(
					"demo", "--duration: expected 1..604800 seconds, got '%s'",
					optarg);
			break;
		default:
			return cli_help_or_unknown(opt, "demo", usage_text);
		}
	}
	if (optind != argc)
		return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);

	if (pick_listen(listen, r.listen, sizeof(r.listen), err, sizeof(err)) != 0) {
		log_err("demo: dashboard address: %s", err);
		return EXIT_USAGE;
	}

	/* Block the signals the main loop waits for, before any thread exists. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, &old);

	if ((rc = demo_start(&r, dir, webhook)) == EXIT_OK) {
		banner(&r, rotate_after, webhook);
		rc = demo_wait(&r, &set, rotate_after, duration);
	}
	teardown(&r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
