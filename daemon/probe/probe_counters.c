#include "probe/probe_counters.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const double bounds[PROBE_COUNTERS_NBUCKETS] = PROBE_COUNTERS_BUCKETS;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct probe_counters C;

void probe_counters_probe(const char *outcome, double seconds)
{
	if (!outcome)
		outcome = "unknown";
	if (!(seconds >= 0))
		seconds = 0;
	pthread_mutex_lock(&lock);
	size_t i;
	for (i = 0; i < C.noutcomes; i++)
		if (strcmp(C.outcomes[i].name, outcome) == 0) /* the label, reason included */
			break;
	if (i == C.noutcomes) {
		if (C.noutcomes < PROBE_COUNTERS_OUTCOMES) {
			snprintf(C.outcomes[i].name, sizeof(C.outcomes[i].name), "%s", outcome);
			C.noutcomes++;
		} else {
			i = PROBE_COUNTERS_OUTCOMES;
			snprintf(C.outcomes[i].name, sizeof(C.outcomes[i].name), "other");
		}
	}
	C.outcomes[i].n++;
	for (size_t b = 0; b < PROBE_COUNTERS_NBUCKETS; b++) {
		if (seconds <= bounds[b]) {
			C.buckets[b]++;
			break;
		}
	}
	C.probe_count++;
	C.probe_sum += seconds;
	pthread_mutex_unlock(&lock);
}

void probe_counters_sweep(unsigned probes, double seconds)
{
	pthread_mutex_lock(&lock);
	C.sweeps++;
	C.sweep_probes += probes;
	C.last_sweep_seconds = seconds;
	pthread_mutex_unlock(&lock);
}

void probe_counters_read(struct probe_counters *out)
{
	pthread_mutex_lock(&lock);
	*out = C;
	pthread_mutex_unlock(&lock);
}

void probe_counters_reset(void)
{
	pthread_mutex_lock(&lock);
	memset(&C, 0, sizeof(C));
	pthread_mutex_unlock(&lock);
}
