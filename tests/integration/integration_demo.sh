#!/bin/bash
# integration.demo: `pinwatch demo` end to end. Before the unplanned rotation
# nobody is stranded and the engine predicts that a key rotation of
# pay.shop.test strands a quarter of shop-android users; after it, that
# quarter is stranded now: in `pinwatch check --json` on the demo's
# database, in the dashboard's API, and as a stranding_now notification on a
# local webhook receiver. Ctrl-C removes the demo's files.
# Usage: integration_demo.sh PINWATCH_BINARY
set -euo pipefail
bin="$1"
tmp="$(mktemp -d /tmp/pinwatch-itest-demo-XXXXXX)"
demo_pid= rx_pid=
cleanup() {
	[ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null || true
	[ -n "$rx_pid" ] && kill "$rx_pid" 2>/dev/null && wait "$rx_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "--- demo output:" >&2
	cat "$tmp/out" >&2 || true
	exit 1
}

# Wait (up to $2 seconds) until the demo's output matches $1.
wait_output() {
	for _ in $(seq $(($2 * 10))); do
		grep -q -- "$1" "$tmp/out" && return 0
		kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited early"
		sleep 0.1
	done
	fail "no '$1' in the demo's output after $2 s"
}

# share APP_FIELD: pay.shop.test's shop-android figure, e.g. now.stranded_share
share() {
	PINWATCH_DB="$db" "$bin" check --json >"$tmp/check.json" || [ $? -eq 1 ]
	jq -r --arg f "$1" '.endpoints[] | select(.host == "pay.shop.test") | .apps[]
		| select(.app == "shop-android") | getpath($f | split("."))' "$tmp/check.json"
}

# A webhook receiver: one file per POST body.
mkdir "$tmp/hooks"
python3 -c '
import http.server, sys, os
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        H.n += 1
        with open(os.path.join(sys.argv[1], "%04d.json" % H.n), "wb") as f:
            f.write(body)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$tmp/hooks" >"$tmp/rx.port" &
rx_pid=$!
for _ in $(seq 100); do [ -s "$tmp/rx.port" ] && break; sleep 0.05; done
hook="http://127.0.0.1:$(cat "$tmp/rx.port")/hook"

TMPDIR="$tmp" "$bin" demo --rotate-after 8 --listen 127.0.0.1:0 --webhook "$hook" >"$tmp/out" 2>&1 &
demo_pid=$!
wait_output "Ctrl-C stops the demo" 60
db="$(sed -n 's/^  database *//p' "$tmp/out")"
url="$(sed -n 's/^  dashboard *//p' "$tmp/out")"
[ -f "$db" ] || fail "database '$db' from the banner does not exist"
case "$db" in "$tmp"/pinwatch-demo-*) ;; *) fail "demo files not under TMPDIR: $db" ;; esac

# Before the rotation: nobody stranded; a key rotation would strand 25%.
[ "$(share now.stranded_share)" = 0 ] || fail "stranded before the rotation: $(share now.stranded_share)"
[ "$(share key_rotation.stranded_share)" = 0.25 ] ||
	fail "key rotation prediction $(share key_rotation.stranded_share), want 0.25"
jq -e '.endpoints[] | select(.host == "cdn.shop.test") | .addresses | length == 2' \
	"$tmp/check.json" >/dev/null || fail "cdn.shop.test does not have two edges"
days="$(jq -r '.endpoints[] | select(.host == "login.shop.test") | .expiry.days_left' "$tmp/check.json")"
[ "$days" -ge 4 ] && [ "$days" -le 5 ] || fail "login.shop.test expires in $days days, want 4-5"

# The unplanned rotation, then stranding from the next probe.
wait_output "now presents a new key" 30
for _ in $(seq 300); do
	[ "$(share now.stranded_share)" = 0.25 ] && break
	sleep 0.1
done
[ "$(share now.stranded_share)" = 0.25 ] || fail "after the rotation: $(share now.stranded_share), want 0.25"
jq -e '.endpoints[] | select(.host == "pay.shop.test") | .apps[] | select(.app == "shop-android")
	| .now.stranded_versions | map(.version) == ["4.1.0"]' "$tmp/check.json" >/dev/null ||
	fail "stranded versions are not [4.1.0]"

# The dashboard's API says the same.
curl -fsS --max-time 10 "${url}api/v1/readiness" >"$tmp/api.json" || fail "GET ${url}api/v1/readiness failed"
jq -e '[.. | objects | select(.host? == "pay.shop.test")][0].apps[]
	| select(.app == "shop-android") | .now.stranded_share == 0.25' "$tmp/api.json" >/dev/null ||
	fail "the API does not show the stranding"
curl -fsS --max-time 10 -o /dev/null "$url" || fail "the dashboard page does not load"

# And the webhook receives a firing stranding_now alert for pay.shop.test.
for _ in $(seq 300); do
	grep -l '"stranding_now"' "$tmp/hooks"/*.json 2>/dev/null | xargs -r grep -l 'pay.shop.test' |
		xargs -r grep -l '"firing"' | grep -q . && break
	sleep 0.1
done
grep -l '"stranding_now"' "$tmp/hooks"/*.json 2>/dev/null | xargs -r grep -l 'pay.shop.test' |
	xargs -r grep -l '"firing"' | grep -q . || fail "no firing stranding_now notification on the webhook"

# Ctrl-C: exit 0 and the temporary directory is gone.
kill -INT "$demo_pid"
rc=0
wait "$demo_pid" || rc=$?
demo_pid=
[ "$rc" -eq 0 ] || fail "demo exited with $rc after Ctrl-C"
[ ! -e "$(dirname "$db")" ] || fail "demo left $(dirname "$db") behind"
echo "demo: stranding appeared after the rotation; cleaned up"
