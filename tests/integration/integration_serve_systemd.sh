#!/bin/bash
# integration.serve_systemd: `pinwatch serve` as systemd runs it (Type=notify):
# READY=1, STATUS=, WATCHDOG=1 at the WatchdogSec= pace, RELOADING=1/READY=1
# around SIGHUP, STOPPING=1 and exit 0 on SIGTERM; and `serve --check-config`
# exit codes and file:line messages.
# Usage: integration_serve_systemd.sh PINWATCH_BINARY
set -euo pipefail
bin="$1"
tmp="$(mktemp -d /tmp/pinwatch-itest-sd-XXXXXX)"
rx_pid= serve_pid=
cleanup() {
	for p in $serve_pid $rx_pid; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "--- notifications:" >&2
	cat "$tmp/msgs" >&2 || true
	echo "--- serve log:" >&2
	cat "$tmp/serve.log" >&2 || true
	exit 1
}

# --check-config: 0 for a valid file, 2 naming file:line otherwise.
printf '[storage]\npath = %s/pinwatch.db\n[http]\nlisten = 127.0.0.1:0\n[log]\nlevel = info\n' "$tmp" >"$tmp/ok.conf"
out="$("$bin" serve --check-config -c "$tmp/ok.conf")" || fail "--check-config of a valid file failed"
case "$out" in *"configuration OK"*) ;; *) fail "unexpected --check-config output: $out" ;; esac
printf '[storage]\npath = %s/pinwatch.db\n[probe]\nconcurency = 8\n' "$tmp" >"$tmp/bad.conf"
rc=0
"$bin" serve --check-config -c "$tmp/bad.conf" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--check-config of a bad file: exit $rc, want 2"
grep -q "$tmp/bad.conf:4: unknown key 'concurency'" "$tmp/err" || fail "no file:line in: $(cat "$tmp/err")"
printf 'key\n' >"$tmp/tls.key"
chmod 644 "$tmp/tls.key"
printf '[storage]\npath = %s/pinwatch.db\n[http]\ntls_cert = %s/tls.key\ntls_key = %s/tls.key\n' \
	"$tmp" "$tmp" "$tmp" >"$tmp/key.conf"
rc=0
"$bin" serve --check-config -c "$tmp/key.conf" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--check-config with a world-readable key: exit $rc, want 2"
grep -q "key.conf:5: \[http\] tls_key: .*accessible by group or others" "$tmp/err" ||
	fail "secret file not refused: $(cat "$tmp/err")"

# A fake systemd: a datagram socket that records what serve notifies.
sock="$tmp/notify.sock"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
' "$sock" "$tmp/msgs" &
rx_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
: >"$tmp/msgs"

wait_msg() { # PATTERN COUNT SECONDS
	for _ in $(seq $(($3 * 10))); do
		[ "$(grep -c -- "$1" "$tmp/msgs" || true)" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "fewer than $2 '$1' notifications after $3 s"
}

NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 "$bin" serve -c "$tmp/ok.conf" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
wait_msg '^READY=1$' 1 30
wait_msg '^STATUS=' 1 10
# WatchdogSec=1s: a ping at least every 0.5 s.
n0="$(grep -c '^WATCHDOG=1$' "$tmp/msgs" || true)"
wait_msg '^WATCHDOG=1$' $((n0 + 3)) 10
kill -HUP "$serve_pid"
wait_msg '^RELOADING=1$' 1 10
wait_msg '^READY=1$' 2 10
kill -TERM "$serve_pid"
rc=0
wait "$serve_pid" || rc=$?
serve_pid=
[ "$rc" -eq 0 ] || fail "serve exited with $rc after SIGTERM"
grep -q '^STOPPING=1$' "$tmp/msgs" || fail "no STOPPING=1"
# Under systemd (JOURNAL_STREAM naming stderr is tested in unit.log) lines
# are not timestamped; here stderr is a file, so they are.
grep -q '^[0-9-]*T[0-9:]*Z ' "$tmp/serve.log" || fail "log lines without timestamps outside systemd"
echo "serve: READY, STATUS, WATCHDOG, RELOADING, STOPPING as systemd expects; --check-config ok"
