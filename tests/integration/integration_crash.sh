#!/bin/bash
# integration.crash: SIGKILL the daemon at random moments while it probes and
# takes API writes, 20 times (CRASH_ROUNDS), restarting it each time. After
# every kill: every write the API acknowledged (201) is in the database,
# PRAGMA integrity_check says ok, the audit chain verifies, and no queued
# webhook delivery (the receiver is down) is lost.
# Usage: integration_crash.sh PINWATCH_BINARY TLSSERVER_BINARY
set -euo pipefail
bin="$1"
farm="$2"
rounds="${CRASH_ROUNDS:-20}"
tmp="$(mktemp -d /tmp/pinwatch-itest-crash-XXXXXX)"
db="$tmp/pinwatch.db"
farm_pid= serve_pid= writer_pid=
cleanup() {
	for p in $writer_pid $serve_pid $farm_pid; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$tmp/serve.log" >&2 2>/dev/null || true
	exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# TLS endpoints to probe: healthy ones and an expired one (fires an alert).
"$farm" --ca-out "$tmp/ca.pem" --count 8 expired.test=expired >"$tmp/farm.port" &
farm_pid=$!
for _ in $(seq 100); do [ -s "$tmp/farm.port" ] && break; sleep 0.1; done
fport="$(awk '{print $2}' "$tmp/farm.port")"
[ -n "$fport" ] || fail "the TLS farm did not start"

port="$(free_port)"
dead="$(free_port)" # nobody listens: webhook deliveries stay queued
cat >"$tmp/pinwatch.conf" <<CONF
[storage]
path = $db
[http]
listen = 127.0.0.1:$port
[probe]
ca_file = $tmp/ca.pem
interval = 10s
timeout_ms = 2000
[alerts]
probe_failures = 1
[webhook]
connect_timeout_ms = 200
timeout_ms = 500
backoff_cap = 1s
CONF
{
	for i in $(seq 0 7); do
		printf '{"host":"ep%d.test","port":%d,"interval":"10s"}\n' "$i" "$fport"
	done
	printf '{"host":"expired.test","port":%d,"interval":"10s"}\n' "$fport"
} | jq -s '{endpoints: ., apps: []}' >"$tmp/inv.json"
# The farm's names resolve to loopback through the hosts-file override.
{ for i in $(seq 0 7); do echo "127.0.0.1 ep$i.test"; done; echo "127.0.0.1 expired.test"; } >"$tmp/hosts"
export PINWATCH_HOSTS_FILE="$tmp/hosts"
"$bin" import --db "$db" "$tmp/inv.json" >/dev/null
token="$("$bin" token create crash --role write --db "$db" | grep -o 'pwt_[A-Za-z0-9_-]*' | head -n 1)"
[ -n "$token" ] || fail "no token"
"$bin" webhook add "http://127.0.0.1:$dead/hook" --format generic --secret s --min-severity info \
	--db "$db" >/dev/null

# Observations and alerts before the first round: the expired endpoint fires
# validation_failed, whose notification waits in the outbox (receiver down).
"$bin" sweep -c "$tmp/pinwatch.conf" >/dev/null
"$bin" alert evaluate -c "$tmp/pinwatch.conf" >/dev/null
[ "$(sqlite3 "$db" 'SELECT count(*) FROM webhook_outbox')" -gt 0 ] || fail "nothing queued for the webhook"

start_serve() {
	"$bin" serve -c "$tmp/pinwatch.conf" >>"$tmp/serve.log" 2>&1 &
	serve_pid=$!
	for _ in $(seq 200); do
		curl -fs --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$serve_pid" 2>/dev/null || fail "serve exited during start"
		sleep 0.05
	done
	fail "serve did not answer /healthz"
}

# API writer: create endpoints one after another; log each acknowledged host.
writer() {
	local round="$1" n=0
	while :; do
		n=$((n + 1))
		host="w$round-$n.test"
		code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
			-d "{\"host\":\"$host\",\"port\":1,\"enabled\":false}" \
			"http://127.0.0.1:$port/api/v1/endpoints" || true)"
		[ "$code" = 201 ] && echo "$host" >>"$tmp/acked"
	done
}

# Acknowledged hosts (our own names: letters, digits, '-', '.') not in the
# result of the query $1.
not_in() {
	[ -s "$tmp/acked" ] || return 0
	sort -u "$tmp/acked" | awk -v q="$1" 'BEGIN { printf "WITH a(h) AS (VALUES " }
		NR > 1 { printf "," } { printf "(\x27%s\x27)", $0 }
		END { printf ") SELECT h FROM a WHERE h NOT IN (%s);\n", q }' | sqlite3 "$db"
}

: >"$tmp/acked"
for round in $(seq "$rounds"); do
	start_serve
	writer "$round" &
	writer_pid=$!
	# A random moment: 0.2 .. 2.0 s into the round.
	sleep "$(printf '0.%d' $((RANDOM % 9 + 1)))"
	[ $((RANDOM % 2)) -eq 0 ] && sleep 1
	queued_before="$(sqlite3 "$db" "SELECT group_concat(id) FROM webhook_outbox ORDER BY id" 2>/dev/null || true)"
	kill -KILL "$serve_pid"
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=
	kill -KILL "$writer_pid" 2>/dev/null || true
	wait "$writer_pid" 2>/dev/null || true
	writer_pid=

	[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "round $round: integrity_check"
	missing="$(not_in "SELECT host FROM endpoints")"
	[ -z "$missing" ] || fail "round $round: acknowledged but missing: $missing"
	"$bin" audit verify --db "$db" >/dev/null || fail "round $round: audit chain does not verify"
	for id in ${queued_before//,/ }; do
		[ "$(sqlite3 "$db" "SELECT count(*) FROM webhook_outbox WHERE id = $id")" = 1 ] ||
			fail "round $round: queued webhook delivery $id lost"
	done
done
# Every acknowledged write is in the audit log too (actor token:crash).
missing="$(not_in "SELECT substr(object_id, 1, length(object_id) - 2) FROM audit_log
	WHERE object_type = 'endpoint' AND actor = 'token:crash'")"
[ -z "$missing" ] || fail "acknowledged writes without an audit row: $missing"
acked="$(sort -u "$tmp/acked" | wc -l)"
queued="$(sqlite3 "$db" 'SELECT count(*) FROM webhook_outbox')"
[ "$acked" -gt 0 ] || fail "no API write was acknowledged in $rounds rounds"
[ "$queued" -gt 0 ] || fail "no webhook delivery was ever queued"
echo "crash: $rounds SIGKILLs, $acked acknowledged writes all present, $queued queued deliveries kept, integrity and audit ok"
