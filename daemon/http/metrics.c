#include "http/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/views.h"
#include "store/webhooks.h"
#include "base/strbuf.h"
#include "base/util.h"

#define MAX_OUTCOMES 32
#define OUTCOME_LEN  48
#define RENDER_MAX   ((64u << 20) - 1) /* a scrape never grows past 64 MiB */

static const double probe_bounds[] = METRICS_PROBE_BUCKETS;
#define NBUCKETS ARRAY_SIZE(probe_bounds)

struct outcome_count {
	char name[OUTCOME_LEN];
	uint64_t n;
};

static struct {
	pthread_mutex_t lock;
	struct outcome_count outcomes[MAX_OUTCOMES + 1]; /* last slot: "other" */
	size_t noutcomes;
	uint64_t buckets[NBUCKETS]; /* cumulative at render time, per-bucket here */
	uint64_t probe_count;
	double probe_sum;
	uint64_t sweeps;
	uint64_t sweep_probes;
	double last_sweep_seconds;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

void metrics_probe_observe(const char *outcome, double seconds)
{
	if (!outcome)
		outcome = "unknown";
	if (!(seconds >= 0))
		seconds = 0;
	pthread_mutex_lock(&M.lock);
	size_t i;
	for (i = 0; i < M.noutcomes; i++)
		if (strcmp(M.outcomes[i].name, outcome) == 0)
			break;
	if (i == M.noutcomes) {
		if (M.noutcomes < MAX_OUTCOMES) {
			snprintf(M.outcomes[i].name, OUTCOME_LEN, "%s", outcome);
			M.noutcomes++;
		} else {
			i = MAX_OUTCOMES;
			snprintf(M.outcomes[i].name, OUTCOME_LEN, "other");
		}
	}
	M.outcomes[i].n++;
	for (size_t b = 0; b < NBUCKETS; b++) {
		if (seconds <= probe_bounds[b]) {
			M.buckets[b]++;
			break;
		}
	}
	M.probe_count++;
	M.probe_sum += seconds;
	pthread_mutex_unlock(&M.lock);
}

void metrics_sweep_observe(unsigned probes, double seconds)
{
	pthread_mutex_lock(&M.lock);
	M.sweeps++;
	M.sweep_probes += probes;
	M.last_sweep_seconds = seconds;
	pthread_mutex_unlock(&M.lock);
}

void metrics_reset(void)
{
	pthread_mutex_lock(&M.lock);
	memset(M.outcomes, 0, sizeof(M.outcomes));
	memset(M.buckets, 0, sizeof(M.buckets));
	M.noutcomes = 0;
	M.probe_count = M.sweeps = M.sweep_probes = 0;
	M.probe_sum = M.last_sweep_seconds = 0;
	pthread_mutex_unlock(&M.lock);
}

char *metrics_escape_label(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return out;
	for (; in && *in && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
	return out;
}

static void render_counters(struct strbuf *b)
{
	char esc[OUTCOME_LEN * 2];
	pthread_mutex_lock(&M.lock);
	strbuf_addf(b, "# HELP pinwatch_probes_total Probes of one endpoint address, by outcome.\n"
		       "# TYPE pinwatch_probes_total counter\n");
	for (size_t i = 0; i <= MAX_OUTCOMES; i++) {
		if (i < M.noutcomes || (i == MAX_OUTCOMES && M.outcomes[i].n))
			strbuf_addf(b, "pinwatch_probes_total{outcome=\"%s\"} %llu\n",
				    metrics_escape_label(M.outcomes[i].name, esc, sizeof(esc)),
				    (unsigned long long)M.outcomes[i].n);
	}
	strbuf_addf(b, "# HELP pinwatch_probe_duration_seconds Duration of one probe.\n"
		       "# TYPE pinwatch_probe_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += M.buckets[i];
		strbuf_addf(b, "pinwatch_probe_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    probe_bounds[i], (unsigned long long)cum);
	}
	strbuf_addf(b,
		    "pinwatch_probe_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		    "pinwatch_probe_duration_seconds_sum %.6f\n"
		    "pinwatch_probe_duration_seconds_count %llu\n",
		    (unsigned long long)M.probe_count, M.probe_sum,
		    (unsigned long long)M.probe_count);
	strbuf_addf(
		b,
		"# HELP pinwatch_sweeps_total Finished sweeps, each counted once its results are "
		"stored: a pinwatch sweep run, or under serve a pass in which every enabled "
		"endpoint completed a probe started after the previous pass ended.\n"
		"# TYPE pinwatch_sweeps_total counter\n"
		"pinwatch_sweeps_total %llu\n"
		"# HELP pinwatch_last_sweep_duration_seconds Wall time of the last sweep; under "
		"serve paced by the probe intervals (about the longest), not by probing speed.\n"
		"# TYPE pinwatch_last_sweep_duration_seconds gauge\n"
		"pinwatch_last_sweep_duration_seconds %.3f\n",
		(unsigned long long)M.sweeps, M.last_sweep_seconds);
	pthread_mutex_unlock(&M.lock);
}

/* pinwatch_certificate_expiry_timestamp_seconds: the absolute notAfter of
 * the earliest certificate each enabled endpoint's address serves, judged as
 * certificate_expiring judges it (validated chain without its trust anchor,
 * else the presented chain): the blackbox exporter's
 * probe_ssl_earliest_cert_expiry, per endpoint and address. */
static int expiry_timestamp_line(void *ctx, const char *host, int port, const char *address,
				 int64_t not_after)
{
	struct strbuf *b = ctx;
	char ep[600], hp[560], a[200];
	snprintf(hp, sizeof(hp), "%s:%d", host, port);
	metrics_escape_label(hp, ep, sizeof(ep));
	metrics_escape_label(address, a, sizeof(a));
	strbuf_addf(b,
		    "pinwatch_certificate_expiry_timestamp_seconds{endpoint=\"%s\",address=\"%"
		    "s\"}"
		    " %lld\n",
		    ep, a, (long long)not_after);
	return 0;
}

/* What outcome_line() writes to: outcomes to @b, expiry lines to @exp. */
struct outcome_ctx {
	struct strbuf *b, *exp;
	time_t now;
};

static int outcome_line(void *ctx, const char *host, int port, const char *address,
			const char *outcome, const int64_t *not_after)
{
	struct outcome_ctx *o = ctx;
	char h[600], a[200], oc[300];
	metrics_escape_label(host, h, sizeof(h));
	metrics_escape_label(address, a, sizeof(a));
	metrics_escape_label(outcome, oc, sizeof(oc));
	strbuf_addf(o->b,
		    "pinwatch_address_outcome{host=\"%s\",port=\"%d\",address=\"%s\",outcome="
		    "\"%s\"} 1\n",
		    h, port, a, oc);
	if (not_after)
		strbuf_addf(o->exp,
			    "pinwatch_address_expiry_seconds{host=\"%s\",port=\"%d\",address="
			    "\"%s\"} %lld\n",
			    h, port, a, (long long)(*not_after - o->now));
	return 0;
}

static int render_db(struct strbuf *b, struct db *db, char *err, size_t errlen)
{
	time_t now = util_now(), next = 0;
	int64_t pending = 0, given_up = 0;

	strbuf_addf(
		b,
		"# HELP pinwatch_address_outcome Latest probe outcome of an endpoint address (1).\n"
		"# TYPE pinwatch_address_outcome gauge\n");
	struct strbuf exp;
	strbuf_init(&exp, RENDER_MAX);
	struct outcome_ctx ob = { .b = b, .exp = &exp, .now = now };
	int rc = views_address_outcomes(db, outcome_line, &ob, err, errlen);
	if (!rc)
		rc = strbuf_err(&exp);
	if (rc) {
		strbuf_free(&exp);
		return rc;
	}
	strbuf_addf(b,
		    "# HELP pinwatch_address_expiry_seconds Seconds until the earliest certificate "
		    "presented by an endpoint address expires.\n"
		    "# TYPE pinwatch_address_expiry_seconds gauge\n");
	strbuf_add(b, strbuf_ptr(&exp), strbuf_len(&exp));
	strbuf_free(&exp);
	strbuf_addf(b,
		    "# HELP pinwatch_certificate_expiry_timestamp_seconds Unix time at which the "
		    "earliest expiring certificate served by an endpoint address expires.\n"
		    "# TYPE pinwatch_certificate_expiry_timestamp_seconds gauge\n");
	if ((rc = views_address_expiry(db, expiry_timestamp_line, b, err, errlen)))
		return rc;

	/* how far the schedule is behind: the most overdue enabled endpoint */
	if ((rc = views_next_probe_min(db, &next, err, errlen)))
		return rc;
	strbuf_addf(
		b,
		"# HELP pinwatch_sweep_lag_seconds How long the most overdue endpoint has waited "
		"past its probe time.\n"
		"# TYPE pinwatch_sweep_lag_seconds gauge\npinwatch_sweep_lag_seconds %lld\n",
		(long long)(next && now > next ? now - next : 0));
	if (webhooks_outbox_counts(db, &pending, &given_up))
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	strbuf_addf(
		b,
		"# HELP pinwatch_webhook_queue_depth Webhook deliveries waiting in the outbox.\n"
		"# TYPE pinwatch_webhook_queue_depth gauge\npinwatch_webhook_queue_depth %lld\n",
		(long long)pending);
	strbuf_addf(b,
		    "# HELP pinwatch_webhook_given_up Webhook deliveries that gave up.\n"
		    "# TYPE pinwatch_webhook_given_up gauge\npinwatch_webhook_given_up %lld\n",
		    (long long)given_up);
	return 0;
}

int metrics_render(struct db *db, char **out, size_t *len, char *err, size_t errlen)
{
	struct strbuf b;
	strbuf_init(&b, RENDER_MAX);
	render_counters(&b);
	int rc = render_db(&b, db, err, errlen); /* store errors (-EIO) leave their message */
	if (!rc && strbuf_err(&b))
		rc = util_err(err, errlen, strbuf_err(&b), "metrics output: %s",
			      strerror(-strbuf_err(&b)));
	else if (rc && rc != -EIO)
		util_err(err, errlen, rc, "metrics output: %s", strerror(-rc));
	if (rc) {
		strbuf_free(&b);
		return rc;
	}
	*out = strbuf_take(&b, len);
	return *out ? 0 : util_err(err, errlen, -ENOMEM, "out of memory");
}
