#!/bin/bash
# Integration test of issue 13's importers through the built binary: OkHttp
# pinner code (Kotlin, Java, pasted snippets) and the adoption exports of Play
# Console, App Store Connect and Firebase, including the README's own
# `adoption import ... play-console.csv` example, run as the README writes it.
# Usage: integration_importers_sources.sh PINWATCH DATA_DIR README
set -u
PW="$(realpath "$1")"
DATA="$(realpath "$2")"
README="$(realpath "$3")"
source "$(dirname "$0")/../lib/checks.sh"
checks_init src


check 0 "import realistic inventory" -- "$PW" import "$DATA/inventory_realistic.json"

# OkHttp: a Kotlin file and a Java file as apps have them
check 0 "import-okhttp Kotlin" -- "$PW" import-okhttp --app shop-android --version 5.2.0 "$DATA/okhttp/ShopPinning.kt"
version_json shop-android 5.2.0 >"$T/k.json"
expect "Kotlin: 4 policies with their patterns" -- jq -e '[.pin_policies[].pattern] | sort == ["**.cdn.example.com", "*.img.example.com", "api.example.com", "checkout.example.com"]' "$T/k.json"
expect "Kotlin: api.example.com pins, current then backup" -- jq -e '.pin_policies[] | select(.pattern == "api.example.com") | .pins == [{"sha256": "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", "role": "current"}, {"sha256": "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0=", "role": "backup"}]' "$T/k.json"
check 0 "import-okhttp Java" -- "$PW" import-okhttp --app shop-android --version 5.2.1 "$DATA/okhttp/PinnedHttpClient.java"
expect "Java: auth.example.com from a local String" -- bash -c "'$PW' export | jq -e '.apps[] | select(.name == \"shop-android\") | .versions[] | select(.version == \"5.2.1\") | .pin_policies[] | select(.pattern == \"auth.example.com\") | (.pins | length) == 2'"
check 0 "import-okhttp pasted snippet --dry-run" -- "$PW" import-okhttp --app shop-android --version 5.2.2 --dry-run "$DATA/okhttp/pasted_snippet.txt"
expect "snippet: 2 policies" -- jq -e 'length == 2' "$T/out"

n0=$(audit_rows)
check 2 "host in a variable refused" -- "$PW" import-okhttp --app shop-android --version 5.2.0 "$DATA/okhttp/unresolvable_host.kt"
expect_grep "$T/err" "unresolvable_host.kt:10: host is the variable 'hostName', which is not a constant of this file" "error names file:line and the variable"
check 2 "sha1 pin refused" -- "$PW" import-okhttp --app shop-android --version 5.2.0 "$DATA/okhttp/sha1_pin.java"
expect_grep "$T/err" "sha1_pin.java:9: .*pinwatch needs sha256 pins" "sha1 error names file:line"
[ "$(audit_rows)" -eq "$n0" ] && echo "ok: refused files changed nothing" ||
	{ echo "FAIL: refused files wrote audit rows"; fails=$((fails + 1)); }
version_json shop-android 5.2.0 | cmp -s - "$T/k.json" && echo "ok: policies unchanged" ||
	{ echo "FAIL: policies changed by a refused file"; fails=$((fails + 1)); }

# The README's adoption example, as written there, in a folder holding a
# Play Console statistics export named play-console.csv.
cmd="$(awk '/^pinwatch adoption import .*play-console.csv|^pinwatch adoption import .*\\$/ {on=1} on {print} on && !/\\$/ {exit}' "$README" | tr -d '\\\n')"
case "$cmd" in
*play-console.csv*) echo "ok: README has the play-console.csv example" ;;
*) echo "FAIL: no 'pinwatch adoption import ... play-console.csv' example in README"; fails=$((fails + 1)) ;;
esac
mkdir -p "$T/readme" && cp "$DATA/csv/play-console.csv" "$T/readme/"
read -r -a argv <<<"$cmd"
argv[0]="$PW"
(cd "$T/readme" && "${argv[@]}") >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && echo "ok: README example imports" ||
	{ echo "FAIL: README example: exit $rc"; sed 's/^/  /' "$T/err" | head -5; fails=$((fails + 1)); }
expect_grep "$T/out" "9 samples from play-console.csv stored for shop-android" "README example stores 9 samples"
expect_grep "$T/err" "Google Play Console statistics, UTF-16LE" "says which export it read"
expect "4.9.0 share on 2026-11-27 computed from the device counts" -- bash -c "'$PW' export | jq -e '.apps[] | select(.name == \"shop-android\") | .versions[] | select(.version == \"4.9.0\") | .adoption[] | select(.at == \"2026-11-27\") | .active_users == 372000 and (.share - 372000/864000 | fabs) < 1e-9'"

# Without the code mapping the file's versions are unknown: nothing stored
n1=$(audit_rows)
check 2 "Play export without --version-code" -- "$PW" adoption import --app shop-android "$DATA/csv/play-console.csv"
expect_grep "$T/err" "map them with --version-code" "hint at --version-code"
check 2 "bad --version-code" -- "$PW" adoption import --app shop-android --version-code 40900 "$DATA/csv/play-console.csv"
[ "$(audit_rows)" -eq "$n1" ] && echo "ok: refused imports changed nothing" ||
	{ echo "FAIL: refused import wrote audit rows"; fails=$((fails + 1)); }

# App Store Connect and Firebase exports for the iOS app
check 0 "App Store Connect sessions export" -- "$PW" adoption import --app shop-ios "$DATA/csv/app_store_connect_sessions.txt"
expect "4.9 share is its unique devices over the day's total" -- bash -c "'$PW' export | jq -e '.apps[] | select(.name == \"shop-ios\") | .versions[] | select(.version == \"4.9\") | .adoption[] | select(.at == \"2026-11-26\") | .share == 0.5625 and .active_users == 45000'"
check 0 "Firebase export --dry-run" -- "$PW" adoption import --app shop-ios --dry-run "$DATA/csv/firebase_app_versions.csv"
expect "Firebase rows dated at the end date" -- jq -e 'length == 4 and all(.[]; .at == "2026-11-26")' "$T/out"

checks_done
