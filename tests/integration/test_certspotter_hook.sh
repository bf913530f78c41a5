#!/bin/sh
# integration.certspotter_hook: contrib/certspotter-hook under a fake Cert
# Spotter environment, against the built pinwatch (local mode) and a stub
# curl (remote mode). Certificates are generated here with certtool.
# usage: test_certspotter_hook.sh PINWATCH HOOK
set -eu
PW=$1
HOOK=$2
T=$(mktemp -d /tmp/pinwatch-hook-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cd "$T"
printf 'cn = "Hook Test CA"\nca\ncert_signing_key\nexpiration_days = 365\n' >ca.tmpl
printf 'cn = "api.example.com"\ndns_name = "api.example.com"\ndns_name = "www.example.com"\nexpiration_days = 90\ntls_www_server\n' >leaf.tmpl
certtool --generate-privkey --key-type ecdsa --outfile ca.key >/dev/null 2>&1
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem >/dev/null 2>&1
certtool --generate-privkey --key-type ecdsa --outfile leaf.key >/dev/null 2>&1
certtool --generate-certificate --load-privkey leaf.key --load-ca-privkey ca.key \
	--load-ca-certificate ca.pem --template leaf.tmpl --outfile leaf.pem >/dev/null 2>&1
cat leaf.pem ca.pem >chain.pem

export PINWATCH_DB="$T/pw.db"
"$PW" candidate list >/dev/null || fail "creating the database"
# One endpoint; app version 4.1.0 (40% of users) pins a key the candidate lacks.
sqlite3 "$PINWATCH_DB" <<'SQL'
INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES (1, 'api.example.com', 443, 0, 0);
INSERT INTO apps (id, name, platform, bundle_id, created_at, updated_at) VALUES (1, 'shop', 'android', 'com.example.shop', 0, 0);
INSERT INTO versions (id, app_id, version, created_at) VALUES (1, 1, '4.1.0', 0);
INSERT INTO adoption (version_id, at, share) VALUES (1, '2026-01-01', 0.4);
INSERT INTO pin_policies (id, version_id, pattern, enforce) VALUES (1, 1, 'api.example.com', 1);
INSERT INTO pins (policy_id, sha256) VALUES (1, 'r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=');
SQL

# Cert Spotter's documented discovered_cert environment.
run_hook() {
	env EVENT=discovered_cert CERT_FILENAME="$T/chain.pem" JSON_FILENAME="$T/cert.v1.json" \
		SUMMARY='certificate discovered for .example.com' WATCH_ITEM=.example.com \
		CERT_SHA256=3cdc83b3932c194fcdf17aa2bf1abc34e8438b293c3d5c70693e175b38ff128a \
		PUBKEY_SHA256=33ac1d9b9e56005ccac045eac2398b3e9dd6b3f5b66ae6260f2d478c7c0d82c8 \
		ISSUER_DN='CN=Hook Test CA' NOT_BEFORE_RFC3339=2026-11-27T00:00:00Z \
		PINWATCH="$PW" "$@" "$HOOK"
}

# Local mode: recorded with source ct, would strand (exit 0 all the same).
run_hook >out.txt 2>err.txt || fail "hook exited $? in local mode: $(cat err.txt)"
grep -q "would strand users" err.txt || fail "no stranding message: $(cat err.txt)"
grep -q "WOULD STRAND" out.txt || fail "pinwatch output lacks the verdict: $(cat out.txt)"
[ "$(sqlite3 "$PINWATCH_DB" "SELECT count(*) FROM candidates WHERE source = 'ct' AND would_strand = 1")" = 1 ] ||
	fail "candidate not stored"
# The same certificate again (Cert Spotter sees precert and cert) is not duplicated.
run_hook >/dev/null 2>&1 || fail "second run failed"
[ "$(sqlite3 "$PINWATCH_DB" "SELECT count(*) FROM candidates")" = 1 ] || fail "duplicated"
"$PW" candidate list --json | grep -q '"would_strand": true' || fail "list --json"

# Other events are ignored; a missing CERT_FILENAME (-no_save) is an error.
env EVENT=malformed_cert LOG_URI=https://ct.example/log PARSE_ERROR=x PINWATCH="$PW" "$HOOK" 2>/dev/null ||
	fail "malformed_cert not ignored"
env EVENT=some_future_event PINWATCH="$PW" "$HOOK" 2>/dev/null || fail "unknown event not ignored"
if env EVENT=discovered_cert PINWATCH="$PW" "$HOOK" 2>/dev/null; then fail "missing CERT_FILENAME accepted"; fi
# pinwatch refusing the file is a failure of the hook.
echo garbage >bad.pem
if env EVENT=discovered_cert CERT_FILENAME="$T/bad.pem" PINWATCH="$PW" "$HOOK" 2>/dev/null; then
	fail "garbage accepted"
fi
[ "$(sqlite3 "$PINWATCH_DB" "SELECT count(*) FROM candidates")" = 1 ] || fail "garbage stored"

# Remote mode with a stub curl that records its request.
mkdir bin
cat >bin/curl <<'STUB'
#!/bin/sh
out=""; for a in "$@"; do
	case "$prev" in
	-H) cp "${a#@}" "$STUB_DIR/headers" ;;
	--data-binary) cp "${a#@}" "$STUB_DIR/body" ;;
	-o) out=$a ;;
	esac
	prev=$a; last=$a
done
printf '%s' "$last" >"$STUB_DIR/url"
printf '{"id": 7, "would_strand": true}' >"$out"
printf '201'
STUB
chmod +x bin/curl
mkdir stub
printf 's3cr3t-token_1\n' >token
chmod 600 token
PATH="$T/bin:$PATH" STUB_DIR="$T/stub" run_hook PINWATCH_URL=http://127.0.0.1:8443/ \
	PINWATCH_TOKEN_FILE="$T/token" PINWATCH_HOST=api.example.com >/dev/null 2>err.txt ||
	fail "remote mode: $(cat err.txt)"
[ "$(cat stub/url)" = "http://127.0.0.1:8443/api/v1/candidates" ] || fail "url $(cat stub/url)"
grep -qx 'Authorization: Bearer s3cr3t-token_1' stub/headers || fail "no bearer header"
python3 - "$T/stub/body" "$T/chain.pem" <<'PY' || fail "body is not the expected JSON"
import json, sys
body = json.load(open(sys.argv[1]))
assert body["source"] == "ct" and body["host"] == "api.example.com", body
assert body["pem"] == open(sys.argv[2]).read(), "pem differs"
PY
# No token: refused before any request.
rm -f stub/body
if PATH="$T/bin:$PATH" STUB_DIR="$T/stub" run_hook PINWATCH_URL=http://127.0.0.1:8443 >/dev/null 2>&1; then
	fail "remote mode without a token accepted"
fi
[ ! -e stub/body ] || fail "request sent without a token"
echo "ok"
