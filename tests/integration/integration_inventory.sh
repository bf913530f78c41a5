#!/bin/bash
# Integration test of the inventory CLI: import/export round trip, exit codes,
# CLI edits and the audit log (tampering caught with the sqlite3 shell).
# Usage: integration_inventory.sh PINWATCH DATA_DIR
set -u
PW="$1"
DATA="$2"
source "$(dirname "$0")/../lib/checks.sh"
checks_init inv

jqok() { # jqok EXPR: the previous command's stdout is non-empty JSON satisfying EXPR
	test -s "$T/out" && jq -e "$1" "$T/out"
}

check 0 "import --help" -- "$PW" import --help
check 2 "import without FILE" -- "$PW" import
check 2 "import of a missing file" -- "$PW" import "$T/nope.json"
check 3 "export of a missing database" -- "$PW" export --db "$T/none/x.db"
check 3 "import into an unopenable database" -- "$PW" import --db "$T/none/x.db" "$DATA/inventory_realistic.json"
printf 'this is not sqlite, just text long enough to be a header......................................................' >"$T/garbage.db"
check 3 "audit verify on a file that is not a database" -- "$PW" audit verify --db "$T/garbage.db"
check 0 "import realistic inventory" -- "$PW" import "$DATA/inventory_realistic.json"
expect_grep "$T/out" "76 created" "first import creates 43 endpoints, 3 apps, 30 versions"
check 0 "import again" -- "$PW" import "$DATA/inventory_realistic.json"
expect_grep "$T/out" "0 created, 0 updated, 0 deleted, 76 unchanged; 0 audit rows" "second import changes nothing"
check 0 "export to stdout" -- "$PW" export
cp "$T/out" "$T/e1.json"
check 0 "export --output" -- "$PW" export --output "$T/e1b.json"
check 0 "exports agree" -- cmp "$T/e1.json" "$T/e1b.json"
check 0 "import export into an empty db" -- "$PW" import --db "$T/b.db" "$T/e1.json"
check 0 "export of the second db" -- "$PW" export --db "$T/b.db" -o "$T/e2.json"
check 0 "export -> import -> export is byte-identical" -- cmp "$T/e1.json" "$T/e2.json"

# A bad file: exit 2, the JSON path in the message, nothing changed.
python3 - "$T/e1.json" "$T/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["endpoints"].append({"host": "new.example.com"})
d["apps"][0]["versions"][5]["pin_policies"][0]["pins"][1]["sha256"] = "AAAA"
json.dump(d, open(sys.argv[2], "w"))
PY
check 2 "import of a bad file" -- "$PW" import --prune "$T/bad.json"
expect_grep "$T/err" "apps\[0\].versions\[5\].pin_policies\[0\].pins\[1\].sha256: not 32 bytes of base64" "error names the JSON path"
check 0 "export after the bad import" -- "$PW" export -o "$T/e3.json"
check 0 "bad import changed nothing" -- cmp "$T/e1.json" "$T/e3.json"
check 2 "syntax error" -- "$PW" import "$DATA/../integration/integration_inventory.sh"
check 0 "dry run of a good file" -- "$PW" import --dry-run "$DATA/inventory_realistic.json"

# CLI edits, audited.
check 0 "endpoint add" -- "$PW" endpoint add New.Example.com.:8443 --tag a --tag b --interval 2m --owner ops
check 2 "endpoint add duplicate" -- "$PW" endpoint add new.example.com:8443
check 2 "endpoint add bad host" -- "$PW" endpoint add "bad host"
check 2 "endpoint add bad interval" -- "$PW" endpoint add x.example.com --interval 1s
check 0 "endpoint list --json" -- "$PW" endpoint list --json
check 0 "endpoint is listed normalised" -- jqok '.[] | select(.host=="new.example.com" and .port==8443 and .interval=="2m" and .tags==["a","b"])'
check 0 "audit list for the new endpoint" -- "$PW" audit list --object endpoint:new.example.com:8443 --json
check 0 "one create row with actor cli:" -- jqok 'length==1 and .[0].action=="create" and (.[0].actor|startswith("cli:")) and .[0].after.owner=="ops"'
check 0 "endpoint remove" -- "$PW" endpoint remove new.example.com:8443
check 2 "endpoint remove missing" -- "$PW" endpoint remove new.example.com:8443
check 0 "app add" -- "$PW" app add tiny --platform ios --threshold 0.9
check 2 "app add without platform" -- "$PW" app add tiny2
check 0 "app list --json" -- "$PW" app list --json
check 0 "four apps" -- jqok 'length==4 and .[3].name=="wallet-android"'
check 0 "app show" -- "$PW" app show shop-ios
expect_grep "$T/out" '"adoption_threshold": 0.9,' "reals shown as written"
check 0 "app show has ten versions" -- jqok '.versions|length==10'
check 0 "app remove" -- "$PW" app remove shop-ios
check 2 "app remove missing" -- "$PW" app remove shop-ios
check 0 "app delete is audited with the whole app" -- bash -c "'$PW' audit list --object app:shop-ios --json | jq -e '.[-1].action==\"delete\" and (.[-1].before.versions|length)==10 and .[-1].after==null'"
check 2 "unknown endpoint action" -- "$PW" endpoint frobnicate
# Hostile names reach the terminal escaped.
check 2 "app remove of a name with a terminal escape" -- "$PW" app remove "$(printf 'x\033[31mred')"
if grep -q "$(printf '\033')" "$T/err"; then echo "FAIL: raw escape byte in stderr"; fails=$((fails + 1)); else echo "ok: escape byte not printed raw"; fi
expect_grep "$T/err" 'x\\x1b\[31mred' "escape shown as \\x1b"

# Audit chain.
check 0 "audit verify" -- "$PW" audit verify
check 0 "audit head" -- "$PW" audit head
HEAD="$(cat "$T/out")"
check 0 "verify --head" -- "$PW" audit verify --head "$HEAD"
check 2 "verify --head with a malformed hash" -- "$PW" audit verify --head xyz
# Delete the last row (the append-only trigger must be dropped first).
sqlite3 "$PINWATCH_DB" "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log);"
check 0 "verify without head does not see a tail deletion" -- "$PW" audit verify
check 1 "verify --head catches the tail deletion" -- "$PW" audit verify --head "$HEAD"
expect_grep "$T/out" "BROKEN" "tail deletion reported"
# Edit a row in the middle.
sqlite3 "$PINWATCH_DB" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'cli:mallory' WHERE id = 40;"
check 1 "verify catches an edited row" -- "$PW" audit verify
expect_grep "$T/out" "BROKEN at row 40" "first bad row named"
expect_grep "$T/out" "^40	.*cli:mallory" "first bad row shown as stored"
check 1 "verify --json" -- "$PW" audit verify --json
check 0 "verify --json names the row" -- jqok '.ok==false and .bad_id==40 and .bad_row.actor=="cli:mallory"'

# NSC overridePins anchors on a pin policy round-trip through the CLI.
cat >"$T/ov.json" <<'JSON'
{"apps": [{"name": "shop-android", "platform": "android", "versions": [
  {"version": "4.2.0", "pin_policies": [
    {"pattern": "api.example.com", "source": "nsc",
     "pins": [{"sha256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "role": "current"}],
     "override_anchors": ["system", "@raw/corp_ca"]}]}]}]}
JSON
check 0 "import override_anchors" -- "$PW" import --db "$T/ov.db" "$T/ov.json"
check 0 "export override_anchors" -- "$PW" export --db "$T/ov.db" -o "$T/ov1.json"
check 0 "override_anchors exported" -- jq -e \
	'.apps[0].versions[0].pin_policies[0].override_anchors == ["system", "@raw/corp_ca"]' \
	"$T/ov1.json"
check 0 "override_anchors into an empty db" -- "$PW" import --db "$T/ov2.db" "$T/ov1.json"
check 0 "export of it" -- "$PW" export --db "$T/ov2.db" -o "$T/ov2.json"
check 0 "override_anchors: export -> import -> export is byte-identical" -- cmp "$T/ov1.json" "$T/ov2.json"
sed 's/"@raw\/corp_ca"/"everyone"/' "$T/ov.json" >"$T/ovbad.json"
check 2 "a bad override anchor is refused" -- "$PW" import --db "$T/ov.db" "$T/ovbad.json"
expect_grep "$T/err" "pin_policies\[0\].override_anchors\[1\]: must be system, user" "the error names the path"

checks_done
