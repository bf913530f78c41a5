/* libFuzzer harness: webhook URL validation and redaction (user input of
 * `pinwatch webhook add` and the API), plus the payload builders fed with
 * arbitrary text in every string field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "alerts/webhook.h"
#include "alerts/webhook_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN], red[WEBHOOK_URL_MAX + 64];
	if (size > WEBHOOK_URL_MAX + 16)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (webhook_url_check(s, err, sizeof(err)) == 0) {
		/* Accepted URLs are absolute http(s) and redact without the path tail. */
		if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
			abort();
		if (webhook_redact_url(s, red, sizeof(red)) == 0 && strlen(red) > strlen(s) + 16)
			abort();
	}
	struct webhook_alert a = { .fingerprint = s,
				   .kind = s,
				   .severity = SEVERITY_CRITICAL,
				   .status = "firing",
				   .endpoint = s,
				   .app = s,
				   .summary = s,
				   .starts_at = 1 };
	for (int f = 0; f < 2; f++) {
		char *body = webhook_payload((enum webhook_format)f, &a, f ? NULL : s, s);
		if (body && f == 1 && strchr(s, '<') && strstr(body, s) && strlen(s) > 0)
			abort(); /* untrusted '<' must be escaped in Slack text */
		free(body);
	}
	free(s);
	return 0;
}
