#!/bin/bash
# pinwatch token create/list/revoke through the built binary.
set -u
PW="$1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
export PINWATCH_DB="$T/db.sqlite"
fail() { echo "FAIL: $*"; exit 1; }

tok="$("$PW" token create ci-bot --role write 2>"$T/err")" || fail "create: $(cat "$T/err")"
[[ "$tok" =~ ^pwt_[0-9a-f]{64}$ ]] || fail "token format: $tok"
"$PW" token create ci-bot --role read >/dev/null 2>&1; [ $? -eq 2 ] || fail "duplicate name must exit 2"
"$PW" token create other --role root >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad role must exit 2"
"$PW" token create 'bad name' --role read >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad name must exit 2"
"$PW" token create nobody >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing --role must exit 2"
"$PW" token --help | grep -q "token create NAME" || fail "help"
"$PW" token list --json > "$T/list.json" || fail "list"
python3 - "$T/list.json" <<'PY' || fail "list json"
import json, sys
l = json.load(open(sys.argv[1]))
assert len(l) == 1 and l[0]["name"] == "ci-bot" and l[0]["role"] == "write" and l[0]["revoked_at"] is None, l
PY
# only the hash is stored, never the token
sqlite3 "$PINWATCH_DB" "SELECT hex(hash) FROM tokens" | grep -qi "${tok#pwt_}" && fail "clear token stored"
sqlite3 "$PINWATCH_DB" ".dump tokens" | grep -q "${tok#pwt_}" && fail "clear token in dump"
"$PW" token list | grep -q "^ci-bot" || fail "text list"
"$PW" token revoke ci-bot || fail "revoke"
"$PW" token revoke ci-bot >/dev/null 2>&1; [ $? -eq 2 ] || fail "second revoke must exit 2"
"$PW" token list --json | grep -q '"revoked_at": "' || fail "revoked_at set"
echo "ok"
