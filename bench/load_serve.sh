#!/bin/bash
# Load: `pinwatch serve` sweeping 1,000 loopback TLS endpoints every 30 s
# while wrk hammers the dashboard API (GET /api/v1/readiness and
# /api/v1/status, alternating) with 128 connections. Prints wrk's latency
# distribution and error counts, the probes stored during the run,
# and the daemon's RSS sampled every 5 s (warm-up first, then the wrk run).
#
#   bench/load_serve.sh [BUILD_DIR] [ENDPOINTS] [SECONDS] [WARMUP_SECONDS]
#
# Exit status 1 when wrk saw any error (socket errors or non-2xx answers).
set -euo pipefail
BUILD="${1:-build}"
N="${2:-1000}"
SECS="${3:-60}"
WARM="${4:-40}"
PW="$BUILD/daemon/pinwatch"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/common.sh BENCH_PACKAGES)"; exit 77; }
T="$(mktemp -d)"
FARM_PID="" SRV_PID=""
cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	[ -n "$FARM_PID" ] && kill "$FARM_PID" 2>/dev/null && wait "$FARM_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export PINWATCH_DB="$T/db.sqlite" PINWATCH_HOSTS_FILE="$T/hosts"

"$BUILD/tests/tlsserver" --count "$N" --threads 2 --ca-out "$T/ca.pem" >"$T/farm.out" 2>/dev/null &
FARM_PID=$!
while ! [ -s "$T/farm.out" ]; do sleep 0.2; done
FARM_PORT=$(awk '{print $2}' "$T/farm.out")
python3 - "$N" "$FARM_PORT" "$T" <<'EOF'
import json, sys
n, port, t = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(t + '/hosts', 'w') as f:
    f.writelines('127.0.0.1 ep%d.test\n' % i for i in range(n))
pin = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='
doc = {'endpoints': [{'host': 'ep%d.test' % i, 'port': port, 'interval': '30s',
                      'tags': ['bench']} for i in range(n)],
       'apps': [{'name': 'shop-android', 'platform': 'android', 'adoption_threshold': 0.95,
                 'versions': [{'version': '4.%d.0' % v, 'released': '2026-0%d-01' % (v + 1),
                               'adoption': [{'at': '2026-11-20', 'share': 0.2}],
                               'pin_policies': [{'pattern': 'ep%d.test' % v, 'enforce': True,
                                                 'pins': [{'sha256': pin, 'role': 'current'}]}]}
                              for v in range(4)]}]}
with open(t + '/inventory.json', 'w') as f:
    json.dump(doc, f)
EOF
"$PW" import "$T/inventory.json" >/dev/null
TOKEN=$("$PW" token create bench --role read 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# 128 wrk connections come from one address: raise the per-IP limit (default 64).
cat >"$T/pinwatch.conf" <<EOF
[storage]
path = $PINWATCH_DB
[http]
listen = 127.0.0.1:$PORT
per_ip_connections = 256
[probe]
interval = 30s
ca_file = $T/ca.pem
EOF
"$PW" serve -c "$T/pinwatch.conf" 2>"$T/serve.log" &
SRV_PID=$!
BASE="http://127.0.0.1:$PORT"
until curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/status"; do sleep 0.2; done
echo "serve pid $SRV_PID, $N endpoints on farm port $FARM_PORT, interval 30s"

rss() { awk '/VmRSS/ {print $2}' "/proc/$SRV_PID/status"; }
# probes stored (run-length observations count every probe) and sweep rows
probes() {
	python3 - "$PINWATCH_DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True, timeout=30)
print(c.execute('SELECT coalesce(sum(probe_count), 0) FROM observations').fetchone()[0],
      c.execute('SELECT count(*) FROM sweeps').fetchone()[0])
PY
}
echo "warm-up ${WARM}s (the first sweep is spread over the first minute):"
for ((i = 5; i <= WARM; i += 5)); do
	sleep 5
	echo "  t=${i}s rss $(rss) kB"
done
read -r P0 S0 < <(probes)
cat >"$T/paths.lua" <<'EOF'
local n = 0
request = function()
	n = n + 1
	if n % 2 == 0 then return wrk.format("GET", "/api/v1/status") end
	return wrk.format("GET", "/api/v1/readiness")
end
EOF
echo "== wrk -t2 -c128 -d${SECS}s --latency -s paths.lua (readiness and status alternating)"
wrk -t2 -c128 -d"${SECS}s" --timeout 10s --latency -H "Authorization: Bearer $TOKEN" \
	-s "$T/paths.lua" "$BASE" >"$T/wrk.out" &
WRK_PID=$!
for ((i = 5; i <= SECS; i += 5)); do
	sleep 5
	echo "  t=$((WARM + i))s rss $(rss) kB"
done
wait "$WRK_PID"
read -r P1 S1 < <(probes)
cat "$T/wrk.out"
echo "during the run: $((P1 - P0)) probes stored"
grep -E "VmRSS|VmHWM" "/proc/$SRV_PID/status"
if grep -qE "Non-2xx|Socket errors" "$T/wrk.out"; then
	echo "ERRORS seen by wrk"
	exit 1
fi
echo "zero errors"
