#!/bin/bash
# Integration test of the app-config importers, adoption import and lint,
# through the built binary: exit codes, idempotence, all-or-nothing, audit.
# Usage: integration_importers.sh PINWATCH DATA_DIR
set -u
PW="$1"
DATA="$2"
source "$(dirname "$0")/../lib/checks.sh"
checks_init imp
A=C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=
B=jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0=


for c in import-nsc import-trustkit import-okhttp adoption lint; do
	check 0 "$c --help" -- "$PW" "$c" --help
done
expect_grep "$T/out" "Exit status" "lint --help documents exit codes"
"$PW" import-nsc --help >"$T/help"
expect_grep "$T/help" "FIRST pin listed is 'current'" "import-nsc --help states the pin role rule"
check 2 "import-nsc without --app" -- "$PW" import-nsc --version 1 "$DATA/nsc/shop_android.xml"
check 2 "import-nsc without FILE" -- "$PW" import-nsc --app a --version 1
check 2 "import-nsc of a missing file" -- "$PW" import-nsc --app a --version 1 "$T/nope.xml"
check 2 "bad --backup-pin" -- "$PW" import-okhttp --app a --version 1 --backup-pin xyz "$DATA/okhttp/shop_android_pins.txt"
check 2 "adoption without 'import'" -- "$PW" adoption --app a x.csv

check 0 "import realistic inventory" -- "$PW" import "$DATA/inventory_realistic.json"

# --dry-run prints and stores nothing (no database needed)
check 0 "import-nsc --dry-run" -- "$PW" import-nsc --db "$T/none/x.db" --app shop-android --version 9.9.9 --dry-run "$DATA/nsc/shop_android.xml"
expect "dry run prints 5 policies" -- jq -e 'length == 5' "$T/out"
expect_grep "$T/err" "debug-overrides" "notes go to stderr"

# NSC: stored, audited once, idempotent
n0=$(audit_rows)
check 0 "import-nsc" -- "$PW" import-nsc --app shop-android --version 5.0.0 "$DATA/nsc/shop_android.xml"
n1=$(audit_rows)
check 0 "import-nsc again" -- "$PW" import-nsc --app shop-android --version 5.0.0 "$DATA/nsc/shop_android.xml"
n2=$(audit_rows)
[ "$n1" -eq $((n0 + 1)) ] && [ "$n2" -eq "$n1" ] && echo "ok: one audit row, none on re-import" ||
	{ echo "FAIL: audit rows $n0 -> $n1 -> $n2"; fails=$((fails + 1)); }
version_json shop-android 5.0.0 >"$T/v.json"
expect "5.0.0 has the 5 NSC policies" -- jq -e '.pin_policies | length == 5' "$T/v.json"
expect "exclusion stored" -- jq -e '.pin_policies[] | select(.pattern == "status.api.example.com") | .enforce == false and (.pins | length) == 0' "$T/v.json"
expect "inherited pin-set stored" -- jq -e '.pin_policies[] | select(.pattern == "uploads.api.example.com") | .include_subdomains and .expires == "2027-06-01" and (.pins | length) == 2' "$T/v.json"

# Hostile input: exit 2, file:line, nothing stored
for f in billion_laughs external_entity truncated sha1_digest latin1_bytes; do
	check 2 "import-nsc $f.xml refused" -- "$PW" import-nsc --app shop-android --version 5.0.0 "$DATA/nsc/$f.xml"
	expect_grep "$T/err" "$f.xml:[0-9]" "$f.xml: error names file:line"
done
[ "$(audit_rows)" -eq "$n2" ] && echo "ok: refused files changed nothing" ||
	{ echo "FAIL: refused files wrote audit rows"; fails=$((fails + 1)); }
version_json shop-android 5.0.0 | cmp -s - "$T/v.json" && echo "ok: policies unchanged" ||
	{ echo "FAIL: policies changed by a refused file"; fails=$((fails + 1)); }

# TrustKit: JSON and Info.plist give the same stored policies
check 0 "import-trustkit JSON" -- "$PW" import-trustkit --app shop-ios --version 5.0 "$DATA/trustkit/shop_ios.json"
check 0 "import-trustkit plist" -- "$PW" import-trustkit --app shop-ios --version 5.1 "$DATA/trustkit/Info.plist"
version_json shop-ios 5.0 | jq -S .pin_policies >"$T/tj"
version_json shop-ios 5.1 | jq -S .pin_policies >"$T/tp"
expect "JSON and plist stored identically" -- cmp "$T/tj" "$T/tp"
check 2 "import-trustkit wrong types" -- "$PW" import-trustkit --app shop-ios --version 5.0 "$DATA/trustkit/wrong_types.json"
expect_grep "$T/err" 'TSKPinnedDomains\["api.example.com"\].TSKIncludeSubdomains' "error names the key path"

# OkHttp with --backup-pin; unknown app
check 0 "import-okhttp --backup-pin" -- "$PW" import-okhttp --app shop-android --version 5.1.0 --backup-pin "sha256/$A" "$DATA/okhttp/shop_android_pins.txt"
version_json shop-android 5.1.0 >"$T/o.json"
expect "--backup-pin makes A backup, B current" -- jq -e --arg a "$A" --arg b "$B" '.pin_policies[] | select(.pattern == "api.example.com") | (.pins[] | select(.sha256 == $a) | .role == "backup") and (.pins[] | select(.sha256 == $b) | .role == "current")' "$T/o.json"
expect "OkHttp ** pattern kept" -- jq -e '[.pin_policies[].pattern] | index("**.cdn.example.com") != null' "$T/o.json"
check 2 "import-okhttp for an unknown app" -- "$PW" import-okhttp --app nope --version 1 "$DATA/okhttp/shop_android_pins.txt"

# Adoption CSV
printf 'version,share,date\n5.0.0,0.10,2026-11-28\n5.1.0,0.05,2026-11-28\n' >"$T/ok.csv"
check 0 "adoption import" -- "$PW" adoption import --app shop-android "$T/ok.csv"
expect "adoption stored" -- bash -c "'$PW' export | jq -e '.apps[] | select(.name == \"shop-android\") | .versions[] | select(.version == \"5.0.0\") | .adoption[0].share == 0.1'"
n3=$(audit_rows)
printf '5.0.0,0.7,2026-11-29\n5.1.0,0.4,2026-11-29\n' >"$T/sum.csv"
check 2 "adoption shares above 1" -- "$PW" adoption import --app shop-android "$T/sum.csv"
expect_grep "$T/err" "2026-11-29" "error names the date"
printf 'version,active_users,date\n5.0.0,100,2026-11-30\n9.9.9,100,2026-11-30\n' >"$T/unk.csv"
check 2 "adoption for an unknown version" -- "$PW" adoption import --app shop-android "$T/unk.csv"
printf 'version,share,date\n5.0.0,0.1,2026-11-30\n5.1.0,-0.1,2026-11-30\n' >"$T/neg.csv"
check 2 "adoption negative share" -- "$PW" adoption import --app shop-android "$T/neg.csv"
expect_grep "$T/err" "neg.csv:3: negative share" "error names file:line"
[ "$(audit_rows)" -eq "$n3" ] && echo "ok: refused CSVs changed nothing" ||
	{ echo "FAIL: refused CSV wrote audit rows"; fails=$((fails + 1)); }

# Lint on the realistic inventory finds things; on a clean one nothing.
check 1 "lint finds mistakes" -- "$PW" lint --at 2026-11-27
check 1 "lint --json" -- "$PW" lint --json --at 2026-11-27
expect "lint JSON has the fields" -- jq -e 'length > 0 and all(.[]; has("rule") and has("severity") and has("app") and has("version") and has("pattern") and has("endpoint") and has("message"))' "$T/out"
expect "lint finds the single-pin versions" -- jq -e 'any(.[]; .rule == "too-few-pins" and .app == "shop-android" and .version == "4.0.0")' "$T/out"
cp "$T/out" "$T/all.json"
# --min-severity keeps the findings of that severity and above (one severity per rule).
for sev in info warning critical; do
	want=$(jq --arg s "$sev" '{"info": 0, "warning": 1, "critical": 2} as $r | [.[] | select($r[.severity] >= $r[$s])] | length' "$T/all.json")
	rc=1; [ "$want" -eq 0 ] && rc=0
	check "$rc" "lint --min-severity $sev" -- "$PW" lint --json --min-severity "$sev" --at 2026-11-27
	expect "lint --min-severity $sev keeps $want finding(s)" -- jq -e --argjson n "$want" 'length == $n' "$T/out"
	check "$rc" "lint --min-severity $sev (text)" -- "$PW" lint --min-severity "$sev" --at 2026-11-27
	expect_grep "$T/out" "^$want finding" "text says $want finding(s) at $sev"
done
expect "the inventory has findings below warning" -- jq -e 'any(.[]; .severity == "info") and any(.[]; .severity != "info")' "$T/all.json"
check 2 "lint --min-severity bad" -- "$PW" lint --min-severity high
expect_grep "$T/err" "min-severity" "the error names the option"
check 0 "lint --help" -- "$PW" lint --help
expect_grep "$T/out" "min-severity" "lint --help documents --min-severity"
expect_grep "$T/out" "stale_pin" "lint --help lists every rule of the table"
check 2 "lint --at bad" -- "$PW" lint --at tomorrow
check 3 "lint of a missing database" -- "$PW" lint --db "$T/none/x.db"

cat >"$T/clean.json" <<EOF
{"endpoints": [{"host": "api.example.com", "environment": "production"}],
 "apps": [{"name": "shop", "platform": "android", "versions": [
   {"version": "1.0", "adoption": [{"at": "2026-11-20", "share": 0.9}],
    "pin_policies": [{"pattern": "api.example.com", "pins": [
      {"sha256": "$A", "role": "current"}, {"sha256": "$B", "role": "backup"}]}]}]}]}
EOF
export PINWATCH_DB="$T/clean.db"
check 0 "import clean inventory" -- "$PW" import "$T/clean.json"
check 0 "lint on a clean inventory" -- "$PW" lint --at 2026-11-27
expect_grep "$T/out" "^0 findings" "lint says 0 findings"
check 0 "lint --json on a clean inventory" -- "$PW" lint --json --at 2026-11-27
expect "empty JSON array" -- jq -e 'length == 0' "$T/out"
printf 'api.example.com sha256/%s\n' "$A" >"$T/single.txt"
check 0 "import-okhttp single pin" -- "$PW" import-okhttp --app shop --version 1.1 "$T/single.txt"
check 1 "lint flags the single pin and the missing adoption" -- "$PW" lint --json --at 2026-11-27
expect "too-few-pins and version-no-adoption for 1.1" -- jq -e '[.[] | select(.version == "1.1") | .rule] | sort == ["too-few-pins", "version-no-adoption"]' "$T/out"
check 0 "lint --min-severity critical: both are warnings" -- "$PW" lint --min-severity critical --at 2026-11-27
expect_grep "$T/out" "^0 findings" "no critical finding"
check 1 "lint --min-severity warning" -- "$PW" lint --min-severity warning --at 2026-11-27

checks_done
