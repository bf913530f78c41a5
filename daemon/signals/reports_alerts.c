/* Field signals into the alert engine: pin_failures_reported (report
 * clusters) and candidate_would_strand (candidates) as struct alert_cond. */
#include <errno.h>
#include <stdio.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "base/log.h"
#include "signals/candidates.h"
#include "signals/reports.h"
#include "base/util.h"

static int push_all(const struct reports_alert *a, size_t n, struct alerts_condv *out, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		enum alert_kind kind;
		int rc = alerts_kind_parse(a[i].kind, &kind);
		if (rc)
			return util_err(err, errlen, rc, "bad alert kind %s", a[i].kind);
		struct alert_cond *c = alerts_condv_push(out);
		if (!c)
			return util_err(err, errlen, -ENOMEM, "too many alert conditions");
		c->kind = kind;
		c->severity = a[i].severity;
		snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", a[i].fingerprint);
		snprintf(c->summary, sizeof(c->summary), "%s", a[i].summary);
		c->endpoint_id = a[i].endpoint_id;
		c->app_id = a[i].app_id;
		c->details = json_incref(a[i].details); /* the condv owns its details */
	}
	return 0;
}

int reports_signal_conds(struct db *db, const char *ca_file, time_t now, struct alerts_condv *out,
			 char *err, size_t errlen)
{
	struct reports_alert *a = NULL;
	size_t n = 0;
	int rc = reports_alert_conds(db, now, REPORTS_ALERT_WINDOW, &a, &n, err, errlen);
	if (!rc)
		rc = push_all(a, n, out, err, errlen);
	reports_alerts_free(a, n);
	if (rc)
		return rc;
	/* Verdicts move with adoption figures, pin expiry and the inventory:
	 * re-evaluate before reading them. */
	if ((rc = candidates_evaluate_all(db, ca_file, now, err, errlen)))
		return rc;
	rc = candidates_alert_conds(db, &a, &n, err, errlen);
	if (!rc)
		rc = push_all(a, n, out, err, errlen);
	reports_alerts_free(a, n);
	return rc;
}

static int source_conds(struct db *db, const struct config *cfg, time_t now,
			struct alerts_condv *out, char *err, size_t errlen)
{
	return reports_signal_conds(db, cfg ? cfg->probe_ca_file : NULL, now, out, err, errlen);
}

/* Reaching the cap of report conditions is an alert and a log line. Only the
 * engine's thread calls this. */
static void source_engine_ran(void)
{
	static size_t last_folded;
	size_t folded = reports_alerts_folded();
	if (folded && !last_folded)
		log_warn("alerts: pin-failure reports reached the cap of %d alert "
			 "conditions; %zu less severe ones are folded into %s",
			 REPORTS_MAX_ALERTS, folded, REPORTS_OVERFLOW_FINGERPRINT);
	else if (!folded && last_folded)
		log_info("alerts: pin-failure report conditions are under the cap again");
	last_folded = folded;
}

const struct alerts_source reports_alerts_source = {
	.scope = ALERT_SCOPE(ALERT_PIN_FAILURES_REPORTED) |
		 ALERT_SCOPE(ALERT_CANDIDATE_WOULD_STRAND),
	.conds = source_conds,
	.engine_ran = source_engine_ran,
};
