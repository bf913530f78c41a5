/* Blocking drivers: resolve a name, run one probe, or many in one poll loop. */
#include "probe/probe.h"
#include "probe/hostsfile.h"
#include "probe/probe_int.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/*
 * Start probing @sa with server name @sni (NULL or an IP literal: no SNI,
 * the name check uses @sni if given) within @timeout_ms for connect and
 * handshake. Never blocks. Returns NULL only when out of memory; an immediate
 * failure (refused, no route) gives a probe that is already done.
 */
static struct probe *probe_new(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
			       const char *sni, int timeout_ms)
{
	return probe_new_variant(ctx, sa, salen, sni, timeout_ms, PROBE_VARIANT_DEFAULT);
}

int probe_run_sync(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
		   const char *sni, int timeout_ms, struct probe_result *out)
{
	struct probe *p = probe_new(ctx, sa, salen, sni, timeout_ms);
	if (!p)
		return -ENOMEM;
	while (!probe_done(p)) {
		int64_t now = util_mono_ms();
		int64_t wait = probe_deadline_ms(p) - now;
		struct pollfd pf = { .fd = probe_fd(p), .events = probe_events(p) };
		int r = poll(&pf, 1, wait > 0 ? (int)wait : 0);
		if (r < 0 && errno != EINTR) {
			probe_cancel(p, "poll failed");
			break;
		}
		probe_step(p, util_mono_ms());
	}
	*out = p->res;
	memset(&p->res, 0, sizeof(p->res));
	probe_free(p);
	return 0;
}

int probe_resolve(const char *host, uint16_t port, struct probe_addr *out, size_t max, size_t *n,
		  char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
	struct addrinfo *res = NULL;
	char ps[8];
	*n = 0;
	/* $PINWATCH_HOSTS_FILE overrides come before DNS (hostsfile.h). */
	struct sockaddr_storage hss[16];
	socklen_t hlen[16];
	size_t hn = 0;
	int h = hostsfile_lookup(host, port, hss, hlen, max < 16 ? max : 16, &hn, err, errlen);
	if (h != 0) {
		for (size_t i = 0; h > 0 && i < hn; i++) {
			out[i].ss = hss[i];
			out[i].len = hlen[i];
		}
		*n = h > 0 ? hn : 0;
		return h < 0 ? h : 0;
	}
	snprintf(ps, sizeof(ps), "%u", port);
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0)
		return util_err(err, errlen, rc == EAI_AGAIN ? -EAGAIN : -ENOENT, "%s: %s", host,
				gai_strerror(rc));
	for (struct addrinfo *ai = res; ai && *n < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out[0].ss))
			continue;
		bool dup = false;
		for (size_t i = 0; i < *n && !dup; i++)
			dup = out[i].len == ai->ai_addrlen &&
			      !memcmp(&out[i].ss, ai->ai_addr, ai->ai_addrlen);
		if (dup)
			continue;
		memcpy(&out[*n].ss, ai->ai_addr, ai->ai_addrlen);
		out[*n].len = ai->ai_addrlen;
		(*n)++;
	}
	freeaddrinfo(res);
	if (*n == 0)
		return util_err(err, errlen, -ENOENT, "%s: no IPv4 or IPv6 address", host);
	return 0;
}

int probe_run_many(struct probe_ctx *ctx, const struct probe_addr *addrs, size_t n, const char *sni,
		   int timeout_ms, struct probe_result *results)
{
	return probe_run_many_variant(ctx, addrs, n, sni, timeout_ms, PROBE_VARIANT_DEFAULT,
				      results);
}

int probe_run_many_variant(struct probe_ctx *ctx, const struct probe_addr *addrs, size_t n,
			   const char *sni, int timeout_ms, enum probe_variant variant,
			   struct probe_result *results)
{
	struct probe **ps = calloc(n ? n : 1, sizeof(*ps));
	struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
	int rc = 0;
	if (!ps || !pf) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ps[i] = probe_new_variant(ctx, (const struct sockaddr *)&addrs[i].ss, addrs[i].len,
					  sni, timeout_ms, variant);
		if (!ps[i]) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (;;) {
		size_t live = 0;
		int64_t now = util_mono_ms(), first = INT64_MAX;
		for (size_t i = 0; i < n; i++) {
			pf[i].fd = probe_fd(ps[i]);
			pf[i].events = probe_events(ps[i]);
			pf[i].revents = 0;
			if (pf[i].fd >= 0) {
				live++;
				if (probe_deadline_ms(ps[i]) < first)
					first = probe_deadline_ms(ps[i]);
			}
		}
		if (!live)
			break;
		int r = poll(pf, (nfds_t)n, first > now ? (int)(first - now) : 0);
		if (r < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		now = util_mono_ms();
		for (size_t i = 0; i < n; i++)
			if (pf[i].fd >= 0 && (pf[i].revents || now >= probe_deadline_ms(ps[i])))
				probe_step(ps[i], now);
	}
	for (size_t i = 0; i < n; i++) {
		results[i] = ps[i]->res;
		memset(&ps[i]->res, 0, sizeof(ps[i]->res));
	}
out:
	for (size_t i = 0; ps && i < n; i++)
		probe_free(ps[i]);
	free(ps);
	free(pf);
	return rc;
}
