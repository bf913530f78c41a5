#!/bin/bash
# HTTP benchmark: a seeded server with N endpoints (default 10000), wrk at 64
# connections against /api/v1/status and /api/v1/readiness, the overview's
# data fetch timed with curl, and the server's RSS.
#   bench/http_bench.sh BUILD_DIR [ENDPOINTS] [SECONDS]
set -euo pipefail
BUILD="${1:-build}"
N="${2:-10000}"
SECS="${3:-10}"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/common.sh BENCH_PACKAGES)"; exit 77; }
T="$(mktemp -d)"
coproc SRV { exec "$BUILD/tests/http_fixture_server" "$T" "$N" public; }
trap 'exec {SRV[1]}>&-; wait "$SRV_PID" 2>/dev/null; rm -rf "$T"' EXIT
read -r _ PORT <&"${SRV[0]}"
BASE="http://127.0.0.1:$PORT"
echo "server pid $SRV_PID port $PORT, $N extra endpoints seeded"

run_wrk() {
	local path="$1"
	echo "== wrk -t2 -c64 -d${SECS}s --latency $BASE$path"
	wrk -t2 -c64 -d"${SECS}s" --latency "$BASE$path" | grep -E "Latency|Requests/sec|99%|50%|Non-2xx|Socket errors|requests in"
}

# The overview page loads /api/v1/status and then the first page of the
# readiness list, worst first. The first fetch after a change evaluates every
# endpoint (cold); later ones share the cached snapshot (warm).
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/status")
for i in cold warm1 warm2 warm3; do
	curl -s -o /dev/null -w "overview data $i: /api/v1/status %{time_total}s" "$BASE/api/v1/status"
	curl -s -o /dev/null -w " + /api/v1/readiness %{time_total}s (%{size_download} bytes, HTTP %{http_code})\n" "$BASE/api/v1/readiness"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/readiness")
run_wrk /api/v1/status
if [ "$code" = 200 ]; then
	run_wrk /api/v1/readiness
	run_wrk "/api/v1/readiness/1"
else
	echo "== /api/v1/readiness: HTTP $code on this build (readiness not wired); skipped"
fi
grep -E "VmRSS|VmHWM" "/proc/$SRV_PID/status"
