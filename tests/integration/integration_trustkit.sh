#!/bin/bash
# integration.trustkit: import-trustkit of every form real apps use (Info.plist
# XML and binary, JSON, AppDelegate.m, AppDelegate.swift) and import-ipa of
# .ipa archives built here (python3 plistlib FMT_BINARY + zip), through the
# built binary: exact stored policies, version from CFBundleShortVersionString,
# all-or-nothing, exit codes, zip-bomb and odd-archive refusals.
# Usage: integration_trustkit.sh PINWATCH DATA_DIR
set -u
PW="$1"
DATA="$2"
source "$(dirname "$0")/../lib/checks.sh"
checks_init tk

policies() { # policies APP VERSION: the stored pin policies, sorted
	"$PW" export | jq -S --arg a "$1" --arg v "$2" \
		'.apps[] | select(.name == $a) | .versions[] | select(.version == $v) | .pin_policies'
}

check 0 "app add" -- "$PW" app add shop-ios --platform ios --bundle-id com.example.shop
check 0 "import-trustkit --help" -- "$PW" import-trustkit --help
expect_grep "$T/out" "kSKExcludeSubdomainFromParentPolicy" "help names TrustKit's exclusion key"
expect_grep "$T/out" "AppDelegate.swift" "help shows a source example"
check 0 "import-ipa --help" -- "$PW" import-ipa --help
expect_grep "$T/out" "CFBundleShortVersionString" "help says where the version comes from"

v=0
for f in Info.plist Info.bplist shop_ios.json AppDelegate.m AppDelegate.swift; do
	v=$((v + 1))
	check 0 "import-trustkit $f" -- "$PW" import-trustkit --app shop-ios --version "6.$v" "$DATA/trustkit/$f"
	same "$f stored exactly" shop-ios "6.$v"
done
expect_grep "$T/err" "report settings do not change which chains" "ignored options are noted"

# source that cannot be resolved: named by line, nothing stored
cat >"$T/Pinning.swift" <<'EOF2'
import TrustKit

func configurePinning(apiHost: String) {
    let config = [
        kTSKPinnedDomains: [
            apiHost: [
                kTSKPublicKeyHashes: ["C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=",
                                      "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0="]]]]
    TrustKit.initSharedInstance(withConfiguration: config)
}
EOF2
n0=$(audit_rows)
check 2 "a host in a variable" -- "$PW" import-trustkit --app shop-ios --version 6.9 "$T/Pinning.swift"
expect_grep "$T/err" "Pinning.swift:6: 'apiHost' is not a literal" "the error names file:line and the name"
[ "$(audit_rows)" -eq "$n0" ] && echo "ok: nothing stored" || { echo "FAIL: audit rows changed"; fails=$((fails + 1)); }

# ---- import-ipa: archives built with plistlib (binary plist) and zip -------
mkipa() { # mkipa OUT.ipa PLIST_PY_EXPR [APP...]: Payload/<APP>.app/Info.plist
	local out="$1" expr="$2"
	shift 2
	local d="$T/ipa.$$.$RANDOM"
	mkdir -p "$d/Payload"
	for app in "${@:-Shop}"; do
		mkdir -p "$d/Payload/$app.app"
		python3 - "$DATA/trustkit/Info.plist" "$d/Payload/$app.app/Info.plist" "$expr" <<'PY'
import plistlib, sys
info = plistlib.load(open(sys.argv[1], 'rb'))
info = eval(sys.argv[3], {'info': info})
plistlib.dump(info, open(sys.argv[2], 'wb'), fmt=plistlib.FMT_BINARY)
PY
		printf '\xcf\xfa\xed\xfe' >"$d/Payload/$app.app/$app" # a Mach-O stand-in
	done
	(cd "$d" && zip -qr -X "$out" Payload)
	rm -rf "$d"
}

mkipa "$T/Shop-4.2.0.ipa" "info"
n0=$(audit_rows)
check 0 "import-ipa" -- "$PW" import-ipa --app shop-ios "$T/Shop-4.2.0.ipa"
expect_grep "$T/out" "stored for shop-ios 4.2.0" "version from CFBundleShortVersionString"
same "ipa policies stored exactly" shop-ios 4.2.0
n1=$(audit_rows)
check 0 "import-ipa again" -- "$PW" import-ipa --app shop-ios "$T/Shop-4.2.0.ipa"
[ "$n1" -eq $((n0 + 1)) ] && [ "$(audit_rows)" -eq "$n1" ] && echo "ok: one audit row, none on re-import" ||
	{ echo "FAIL: audit rows $n0 -> $n1 -> $(audit_rows)"; fails=$((fails + 1)); }
check 0 "import-ipa --version" -- "$PW" import-ipa --app shop-ios --version 4.2.0-rc1 "$T/Shop-4.2.0.ipa"
same "--version overrides the plist" shop-ios 4.2.0-rc1

# a later release: a new backup pin, unpadded, and TrustKit's placeholder form
mkipa "$T/Shop-4.3.0.ipa" "dict(info, CFBundleShortVersionString='4.3.0', TSKConfiguration={'TSKPinnedDomains': {'api.example.com': {'TSKIncludeSubdomains': True, 'TSKPublicKeyHashes': ['C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M', 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=']}}})"
check 0 "import-ipa 4.3.0" -- "$PW" import-ipa --app shop-ios "$T/Shop-4.3.0.ipa"
policies shop-ios 4.3.0 >"$T/p43"
expect "4.3.0: one enforcing policy, subdomains, no expiry, canonical pins" -- jq -e 'length == 1 and .[0].pattern == "api.example.com" and .[0].include_subdomains and .[0].enforce and (.[0] | has("expires") | not) and ([.[0].pins[].sha256] | sort == ["BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=", "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="])' "$T/p43"

# refusals: exit 2, a clear message, nothing stored
n0=$(audit_rows)
mkipa "$T/nover.ipa" "{k: v for k, v in info.items() if k != 'CFBundleShortVersionString'}"
check 2 "no version and no --version" -- "$PW" import-ipa --app shop-ios "$T/nover.ipa"
expect_grep "$T/err" "give --version" "asks for --version"
check 0 "no version but --version" -- "$PW" import-ipa --app shop-ios --version 4.4.0 --dry-run "$T/nover.ipa"
mkipa "$T/code.ipa" "{k: v for k, v in info.items() if k != 'TSKConfiguration'}"
check 2 "TrustKit configured in code" -- "$PW" import-ipa --app shop-ios "$T/code.ipa"
expect_grep "$T/err" "no TSKConfiguration key" "says the plist has no TrustKit configuration"
mkipa "$T/onepin.ipa" "dict(info, TSKConfiguration={'TSKPinnedDomains': {'api.example.com': {'TSKPublicKeyHashes': ['C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=']}}})"
check 2 "a configuration TrustKit refuses" -- "$PW" import-ipa --app shop-ios "$T/onepin.ipa"
expect_grep "$T/err" "Payload/Shop.app/Info.plist: TSKConfiguration.TSKPinnedDomains\[\"api.example.com\"\]: 1 distinct pin" "names the member and the key path"
mkipa "$T/two.ipa" "info" Shop ShopLite
check 2 "two apps in Payload" -- "$PW" import-ipa --app shop-ios "$T/two.ipa"
expect_grep "$T/err" "more than one app" "says so"
printf 'not a zip' >"$T/junk.ipa"
check 2 "not a zip" -- "$PW" import-ipa --app shop-ios "$T/junk.ipa"
check 2 "missing file" -- "$PW" import-ipa --app shop-ios "$T/none.ipa"
mkdir -p "$T/apk/res" && printf 'x' >"$T/apk/res/a" && (cd "$T/apk" && zip -qr "$T/app.apk" res)
check 2 "an archive without an app" -- "$PW" import-ipa --app shop-ios "$T/app.apk"
expect_grep "$T/err" "not an iOS app archive" "says what is missing"
# zip bomb: an Info.plist that inflates far past the 1 MiB cap
mkdir -p "$T/bomb/Payload/Shop.app"
head -c 64000000 /dev/zero >"$T/bomb/Payload/Shop.app/Info.plist"
(cd "$T/bomb" && zip -qr -9 "$T/bomb.ipa" Payload) && rm -rf "$T/bomb"
check 2 "zip bomb" -- "$PW" import-ipa --app shop-ios "$T/bomb.ipa"
expect_grep "$T/err" "inflates to more than 1048576 bytes" "stops at the cap"
check 2 "unknown app" -- "$PW" import-ipa --app nope "$T/Shop-4.2.0.ipa"
[ "$(audit_rows)" -eq "$n0" ] && echo "ok: refusals stored nothing" || { echo "FAIL: audit rows changed"; fails=$((fails + 1)); }

checks_done
