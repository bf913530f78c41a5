#!/bin/bash
# Integration test of the webhook and alert CLI: exit codes, secrets never
# listed, secret files checked, silences audited, outbox visible.
# Usage: integration_alerts_cli.sh PINWATCH
set -u
PW="$1"
source "$(dirname "$0")/../lib/checks.sh"
checks_init alerts


check 0 "webhook --help" -- "$PW" webhook --help
check 0 "alert --help" -- "$PW" alert --help
check 2 "webhook without action" -- "$PW" webhook
check 2 "webhook unknown action" -- "$PW" webhook frobnicate
check 2 "add ftp:// refused" -- "$PW" webhook add ftp://example.com/x --secret s
check 2 "add file:// refused" -- "$PW" webhook add file:///etc/passwd --secret s
check 2 "add without a scheme refused" -- "$PW" webhook add example.com/hook --secret s
check 2 "add without secret" -- "$PW" webhook add http://127.0.0.1:9/x
check 2 "add with a bad format" -- "$PW" webhook add http://127.0.0.1:9/x --secret s --format xml
check 2 "add with a bad severity" -- "$PW" webhook add http://127.0.0.1:9/x --secret s --min-severity high
check 0 "add generic" -- "$PW" webhook add http://127.0.0.1:9/hook --secret 'Sup3rS3cret' --min-severity info
check 0 "add slack" -- "$PW" webhook add https://hooks.slack.com/services/T0/B0/TOKENPART --format slack --secret 'Sup3rS3cret'
printf 'FileS3cret\n' >"$T/secret"
chmod 644 "$T/secret"
check 2 "secret file readable by others refused" -- "$PW" webhook add http://127.0.0.1:9/f --secret-file "$T/secret"
chmod 600 "$T/secret"
check 0 "secret file 0600 accepted" -- "$PW" webhook add http://127.0.0.1:9/f --secret-file "$T/secret"
expect "the file's first line is the secret" -- test "$(sqlite3 "$T/a.db" 'SELECT secret FROM webhooks WHERE id = 3')" = FileS3cret
check 0 "list" -- "$PW" webhook list
if grep -q 'S3cret\|TOKENPART' "$T/out"; then echo "FAIL: list shows a secret"; fails=$((fails + 1)); else echo "ok: list hides secrets"; fi
check 0 "list --json" -- "$PW" webhook list --json
expect "list --json: 3 webhooks, has_secret, no secrets" -- \
	jq -e 'length == 3 and all(.[]; .has_secret) and (tostring | test("S3cret|TOKENPART") | not)' "$T/out"
check 3 "test against an absent receiver" -- "$PW" webhook test 1
check 2 "test of an unknown webhook" -- "$PW" webhook test 99
check 2 "remove of a bad id" -- "$PW" webhook remove abc
check 2 "remove of an unknown id" -- "$PW" webhook remove 99
check 0 "remove" -- "$PW" webhook remove 3
expect "audit: two webhook creates and a delete" -- \
	test "$(sqlite3 "$T/a.db" "SELECT count(*) FROM audit_log WHERE object_type = 'webhook'")" = 4
if sqlite3 "$T/a.db" 'SELECT before, after FROM audit_log' | grep -q 'S3cret\|TOKENPART'; then
	echo "FAIL: audit log holds a secret"; fails=$((fails + 1)); else echo "ok: audit log holds no secret"; fi

sqlite3 "$T/a.db" "INSERT INTO endpoints (host, port, created_at, updated_at) VALUES ('api.example.com', 443, 0, 0), ('api.example.com', 8443, 0, 0)"
check 0 "alert list (empty)" -- "$PW" alert list --json
expect "alert list --json is []" -- jq -e 'length == 0' "$T/out"
check 2 "silence without --for" -- "$PW" alert silence fp-1 --reason x
check 2 "silence without --reason" -- "$PW" alert silence fp-1 --for 1h
check 2 "silence with a bad duration" -- "$PW" alert silence fp-1 --for soon --reason x
check 2 "silence with both fingerprint and endpoint" -- "$PW" alert silence fp-1 --endpoint api.example.com --for 1h --reason x
check 2 "silence of an unknown endpoint" -- "$PW" alert silence --endpoint nope.example.com --for 1h --reason x
check 2 "silence of an ambiguous host" -- "$PW" alert silence --endpoint api.example.com --for 1h --reason x
check 0 "silence an endpoint" -- "$PW" alert silence --endpoint api.example.com:8443 --for 24h --reason "maintenance window"
check 0 "silence a fingerprint" -- "$PW" alert silence stranding_now-0123456789abcdef --for 2h --reason "known"
check 0 "silences --json" -- "$PW" alert silences --json
expect "two active silences" -- jq -e 'length == 2 and .[0].endpoint == "api.example.com:8443"' "$T/out"
check 0 "unsilence" -- "$PW" alert unsilence 1
check 2 "unsilence again" -- "$PW" alert unsilence 1
check 0 "silences after unsilence" -- "$PW" alert silences --json
expect "one active silence" -- jq -e 'length == 1' "$T/out"
expect "audit: silence create, create, update" -- \
	test "$(sqlite3 "$T/a.db" "SELECT group_concat(action) FROM (SELECT action FROM audit_log WHERE object_type = 'silence' ORDER BY id)")" = "create,create,update"
check 0 "evaluate" -- "$PW" alert evaluate --json
expect "evaluate: nothing firing" -- jq -e '.opened == 0' "$T/out"
check 0 "outbox (empty)" -- "$PW" webhook outbox --json
check 2 "retry of an unknown outbox row" -- "$PW" webhook retry 5
check 0 "flush (nothing due)" -- "$PW" webhook flush

checks_done
