#!/bin/bash
# Integration test of pinwatch import-apk with real APKs built at test time by
# aapt (binary XML and resources.arsc as Android's own tools write them), and
# with hostile archives derived from them.
# Usage: integration_apk.sh PINWATCH DATA_DIR
set -u
PW="$1"
DATA="$2"
source "$(dirname "$0")/../lib/checks.sh"
checks_init apk
FW=/usr/share/android-framework-res/framework-res.apk
[ -r "$FW" ] || FW="$(dpkg -L android-framework-res 2>/dev/null | grep 'framework-res.apk$' | head -1)"
for tool in aapt zip python3 jq certtool; do
	command -v "$tool" >/dev/null || { echo "missing $tool (scripts/common.sh PACKAGES)"; exit 1; }
done
[ -r "$FW" ] || { echo "missing framework-res.apk (android-framework-res)"; exit 1; }

# build APP_DIR NSC_FILE XML_DIR RES_NAME OUT.apk [raw files...]
build() {
	local app="$1" nsc="$2" xdir="$3" rname="$4" out="$5"
	shift 5
	local w="$T/src-$(basename "$out" .apk)"
	rm -rf "$w"
	cp -r "$DATA/apk/$app" "$w"
	mkdir -p "$w/res"
	if [ -n "$nsc" ]; then
		mkdir -p "$w/res/$xdir"
		cp "$nsc" "$w/res/$xdir/$rname.xml"
	fi
	if [ $# -gt 0 ]; then
		mkdir -p "$w/res/raw"
		cp "$@" "$w/res/raw/"
	fi
	aapt package -f -M "$w/AndroidManifest.xml" -S "$w/res" -I "$FW" -F "$out" >"$T/aapt.log" 2>&1 ||
		{ echo "aapt failed for $out:"; cat "$T/aapt.log"; exit 1; }
}
# policies of import-nsc and import-apk, normalised for comparison
nsc_json() { "$PW" import-nsc --app x --version 1 --dry-run "$1" 2>/dev/null | jq -S .; }
apk_json() { "$PW" import-apk --app x --dry-run "$1" 2>/dev/null | jq -S .pin_policies; }
stored() { # stored APP VERSION: the version's policies in the export ("null" when absent)
	"$PW" export | jq -S -c --arg a "$1" --arg v "$2" \
		'[.apps[] | select(.name == $a) | .versions[] | select(.version == $v)] | first'
}

check 0 "import-apk --help" -- "$PW" import-apk --help
expect_grep "$T/out" "Exit status" "--help documents exit codes"
expect_grep "$T/out" "versionName" "--help says where the version comes from"
check 2 "import-apk without --app" -- "$PW" import-apk "$T/x.apk"
check 2 "import-apk without FILE" -- "$PW" import-apk --app a

# ---- real APKs -----------------------------------------------------------
build shop "$DATA/nsc/shop_android.xml" xml network_security_config "$T/shop.apk"
check 0 "import-apk --dry-run (shop)" -- "$PW" import-apk --app shop-android --dry-run "$T/shop.apk"
expect "versionName read from the binary manifest" -- jq -e '.version == "4.2.0" and .package == "com.example.shop"' "$T/out"
expect "NSC path resolved through resources.arsc" -- jq -e '.network_security_config == "res/xml/network_security_config.xml"' "$T/out"
expect_grep "$T/err" "network_security_config.xml:45: <debug-overrides> ignored" "notes carry the source line"
nsc_json "$DATA/nsc/shop_android.xml" >"$T/want"
apk_json "$T/shop.apk" >"$T/got"
if [ -s "$T/want" ] && cmp -s "$T/want" "$T/got"; then echo "ok: shop APK policies equal the source NSC's"; else
	echo "FAIL: shop APK policies differ from the source NSC's"; diff "$T/want" "$T/got" | head -20; fails=$((fails + 1)); fi
expect "5 policies with the source's pins, flags and expirations" -- jq -e '
	length == 5 and
	(.[] | select(.pattern == "api.example.com") | .include_subdomains and .enforce and .expires == "2027-06-01"
		and ([.pins[].sha256] == ["C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0="])) and
	(.[] | select(.pattern == "legacy.api.example.com") | .expires == null and (.pins | length) == 2) and
	(.[] | select(.pattern == "status.api.example.com") | (.enforce | not) and (.pins | length) == 0)' "$T/got"

# release APKs carry an APK Signing Block (v2/v3, apksigner) between the last
# entry and the central directory: insert one as apksigner lays it out
python3 - "$T/shop.apk" "$T/signed.apk" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
e = b.rfind(b"PK\5\6")
cd_off = struct.unpack_from("<I", b, e + 16)[0]
pairs = struct.pack("<QI", 4 + 256, 0x7109871A) + bytes(256)  # id-value pair (v2 block id)
size = len(pairs) + 8 + 16
block = struct.pack("<Q", size) + pairs + struct.pack("<Q", size) + b"APK Sig Block 42"
b = b[:cd_off] + block + b[cd_off:]
struct.pack_into("<I", b, e + len(block) + 16, cd_off + len(block))
open(sys.argv[2], "wb").write(bytes(b))
PY
apk_json "$T/signed.apk" >"$T/got"
nsc_json "$DATA/nsc/shop_android.xml" >"$T/want"
if [ -s "$T/got" ] && cmp -s "$T/want" "$T/got"; then echo "ok: an APK with a signing block imports the same"; else
	echo "FAIL: signed APK"; fails=$((fails + 1)); fi

# corp: versionName from @string, NSC only in res/xml-v24, an anchor in res/raw
certtool --generate-privkey --key-type ecdsa --outfile "$T/ca.key" >/dev/null 2>&1
printf 'cn = Corp TLS Inspection Root\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$T/ca.tmpl"
certtool --generate-self-signed --load-privkey "$T/ca.key" --template "$T/ca.tmpl" --outfile "$T/corp_proxy_ca.pem" >/dev/null 2>&1
certtool --generate-privkey --key-type ecdsa --outfile "$T/ca2.key" >/dev/null 2>&1
certtool --generate-self-signed --load-privkey "$T/ca2.key" --template "$T/ca.tmpl" --outfile "$T/ca2.pem" >/dev/null 2>&1
certtool --certificate-info --infile "$T/ca2.pem" --outder --outfile "$T/corp_proxy_ca.der" >/dev/null 2>&1
capin="$("$PW" pin "$T/corp_proxy_ca.pem" | awk '{print $1; exit}')"
capin2="$("$PW" pin "$T/ca2.pem" | awk '{print $1; exit}')"
build corp "$DATA/nsc/override_pins.xml" xml-v24 corp_network_security "$T/corp.apk" "$T/corp_proxy_ca.pem"
check 0 "import-apk --dry-run (corp)" -- "$PW" import-apk --app corp --dry-run "$T/corp.apk"
expect "versionName resolved through @string/app_version" -- jq -e '.version == "7.1.3"' "$T/out"
expect "NSC found in its only configuration (xml-v24)" -- jq -e '.network_security_config == "res/xml-v24/corp_network_security.xml"' "$T/out"
nsc_json "$DATA/nsc/override_pins.xml" | sed "s|\"@raw/corp_proxy_ca\"|\"$capin\"|" | jq -S . >"$T/want"
apk_json "$T/corp.apk" >"$T/got"
if grep -q sha256/ "$T/got" && cmp -s "$T/want" "$T/got"; then echo "ok: corp APK equals its NSC, @raw anchor read as its pin"; else
	echo "FAIL: corp APK policies"; diff "$T/want" "$T/got" | head -20; fails=$((fails + 1)); fi
expect "override anchors per policy" -- jq -e --arg p "$capin" '
	(.[] | select(.pattern == "corp.example.com") | .override_anchors == [$p]) and
	(.[] | select(.pattern == "pay.corp.example.com") | has("override_anchors") | not) and
	(.[] | select(.pattern == "partner.example.net") | .override_anchors == ["system", "user"])' "$T/got"
# the same anchor as DER, as Android's resource_anchors_der test ships it
sed 's/@raw\/corp_proxy_ca/@raw\/corp_proxy_ca/' "$DATA/nsc/override_pins.xml" >"$T/o.xml"
build corp "$T/o.xml" xml corp_network_security "$T/corp-der.apk" "$T/corp_proxy_ca.der"
check 0 "import-apk with a DER anchor" -- "$PW" import-apk --app corp --dry-run "$T/corp-der.apk"
expect "DER anchor read as its pin" -- jq -e --arg p "$capin2" '.pin_policies[] | select(.pattern == "corp.example.com") | .override_anchors == [$p]' "$T/out"

# aapt2 --collapse-resource-names gives many entries one name: the anchor is
# then found by its id, not by a name that now leads elsewhere. Two raw
# certificates; the NSC uses the second; its key name is patched to the first's.
sed 's/@raw\/corp_proxy_ca/@raw\/zzzz_proxy_ca/' "$DATA/nsc/override_pins.xml" >"$T/o2.xml"
cp "$T/ca2.pem" "$T/zzzz_proxy_ca.pem"
build corp "$T/o2.xml" xml corp_network_security "$T/collapsed.apk" "$T/corp_proxy_ca.pem" "$T/zzzz_proxy_ca.pem"
python3 - "$T/collapsed.apk" <<'PY'
import sys, zipfile
path = sys.argv[1]
z = zipfile.ZipFile(path)
files = {i.filename: z.read(i.filename) for i in z.infolist()}
a = bytearray(files["resources.arsc"])
n = 0
for old, new, pre in ((b"zzzz_proxy_ca", b"corp_proxy_ca", b"raw/"),
                      ("zzzz_proxy_ca".encode("utf-16-le"), "corp_proxy_ca".encode("utf-16-le"),
                       "raw/".encode("utf-16-le"))):
    i = a.find(old)
    while i >= 0:
        if a[i - len(pre):i] != pre:  # the key name, not the file path
            a[i:i + len(old)] = new
            n += 1
        i = a.find(old, i + 1)
assert n == 1, n
files["resources.arsc"] = bytes(a)
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
    for k, v in files.items():
        out.writestr(k, v)
PY
check 0 "import-apk with collapsed resource names" -- "$PW" import-apk --app corp --dry-run "$T/collapsed.apk"
expect "the anchor is the referenced certificate, found by id" -- jq -e --arg p "$capin2" '.pin_policies[] | select(.pattern == "corp.example.com") | .override_anchors == [$p]' "$T/out"

# TrustKit-Android config inside an APK
build shop "$DATA/nsc/bank_trustkit_android.xml" xml network_security_config "$T/bank.apk"
nsc_json "$DATA/nsc/bank_trustkit_android.xml" >"$T/want"
apk_json "$T/bank.apk" >"$T/got"
if [ -s "$T/want" ] && cmp -s "$T/want" "$T/got"; then echo "ok: TrustKit-Android APK equals its NSC"; else
	echo "FAIL: bank APK policies"; diff "$T/want" "$T/got" | head; fails=$((fails + 1)); fi
expect "enforcePinning=false stays enforced" -- jq -e 'all(.[]; .enforce)' "$T/got"

# unpadded and non-canonical pins (need the shared base64 decoder of branch trustkit)
if "$PW" import-nsc --app x --version 1 --dry-run "$DATA/nsc/unpadded_pins.xml" >/dev/null 2>&1; then
	build shop "$DATA/nsc/unpadded_pins.xml" xml network_security_config "$T/unpadded.apk"
	nsc_json "$DATA/nsc/unpadded_pins.xml" >"$T/want"
	apk_json "$T/unpadded.apk" >"$T/got"
	if cmp -s "$T/want" "$T/got" && grep -q 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=' "$T/got"; then
		echo "ok: unpadded pins stored canonically"; else echo "FAIL: unpadded pins"; fails=$((fails + 1)); fi
else
	echo "skip: unpadded/non-canonical base64 pins not accepted by this build's decoder"
fi

# no networkSecurityConfig: no policies; --version required when no versionName is wanted
build plain "" "" "" "$T/plain.apk"
check 0 "import-apk of an APK without NSC" -- "$PW" import-apk --app x --dry-run "$T/plain.apk"
expect "no policies" -- jq -e '.pin_policies == [] and .version == "1.0.3" and .network_security_config == null' "$T/out"
expect_grep "$T/err" "no android:networkSecurityConfig" "a note says why"

# ---- storing ---------------------------------------------------------------
check 0 "import inventory" -- "$PW" import "$DATA/inventory_realistic.json"
check 0 "import-apk stores" -- "$PW" import-apk --app shop-android "$T/shop.apk"
expect_grep "$T/out" "5 pin policies from .*shop.apk stored for shop-android 4.2.0" "says what it stored"
stored shop-android 4.2.0 >"$T/v1"
expect "stored under the APK's versionName" -- jq -e '[.pin_policies[].pattern] | contains(["api.example.com", "checkout.example.com", "legacy.api.example.com", "status.api.example.com", "uploads.api.example.com"])' "$T/v1"
n0=$("$PW" audit list --json | jq length)
check 0 "import-apk again" -- "$PW" import-apk --app shop-android "$T/shop.apk"
n1=$("$PW" audit list --json | jq length)
[ "$n0" = "$n1" ] && echo "ok: re-import is a no-op (audit $n0)" || { echo "FAIL: audit $n0 -> $n1"; fails=$((fails + 1)); }
check 0 "import-apk --version overrides" -- "$PW" import-apk --app shop-android --version 4.2.0-hotfix "$T/shop.apk"
expect_grep "$T/err" "versionName 4.2.0" "a warning names both versions"
check 2 "import-apk for an unknown app" -- "$PW" import-apk --app nope "$T/shop.apk"

# ---- hostile archives: exit 2, a clear message, nothing stored ------------
python3 - "$T" <<'PY'
import struct, sys, zipfile, zlib
t = sys.argv[1]
src = zipfile.ZipFile(t + "/shop.apk")
entries = {i.filename: src.read(i.filename) for i in src.infolist()}
man, arsc = entries["AndroidManifest.xml"], entries["resources.arsc"]
nsc = entries["res/xml/network_security_config.xml"]

def write(name, files, dup=None):
    with zipfile.ZipFile(t + "/" + name, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in files.items():
            z.writestr(n, b)
        if dup:
            import warnings
            warnings.simplefilter("ignore")
            z.writestr(dup, files[dup])

def patched(b, off, fmt, v):
    b = bytearray(b)
    struct.pack_into(fmt, b, off, v)
    return bytes(b)

def with_(**kw):
    d = dict(entries)
    for k, v in kw.items():
        d[{"man": "AndroidManifest.xml", "arsc": "resources.arsc",
           "nsc": "res/xml/network_security_config.xml"}[k]] = v
    return d

write("no-manifest.apk", {k: v for k, v in entries.items() if k != "AndroidManifest.xml"})
write("truncated-manifest.apk", with_(man=man[: len(man) - 37]))
write("huge-string-count.apk", with_(man=patched(man, 16, "<I", 0x7FFFFFFF)))
write("huge-chunk.apk", with_(man=patched(man, 12, "<I", 0xFFFFFFF0)))
write("text-manifest.apk", with_(man=b"<manifest/>"))
write("truncated-arsc.apk", with_(arsc=arsc[:300]))
write("bad-arsc-pool.apk", with_(arsc=patched(arsc, 12 + 8, "<I", 0x00FFFFFF)))
write("truncated-nsc.apk", with_(nsc=nsc[: len(nsc) // 2]))
write("no-nsc.apk", {k: v for k, v in entries.items() if not k.startswith("res/xml/")})
write("duplicate-manifest.apk", entries, dup="AndroidManifest.xml")
# a zip bomb: 80 MiB of zeros deflate to ~80 KiB
write("bomb.apk", with_(man=b"\0" * (80 << 20)))
open(t + "/not-a-zip.apk", "wb").write(b"PK\3\4 this is not a zip archive at all")
PY
n0=$("$PW" audit list --json | jq length)
while read -r f msg; do
	check 2 "hostile $f refused" -- "$PW" import-apk --app shop-android --version 9.9.9 "$T/$f"
	expect_grep "$T/err" "$msg" "$f: $msg"
done <<'EOF2'
no-manifest.apk no AndroidManifest.xml
truncated-manifest.apk binary XML: truncated
huge-string-count.apk string pool
huge-chunk.apk truncated or malformed chunk at offset 8
text-manifest.apk not Android binary XML
truncated-arsc.apk resources.arsc
bad-arsc-pool.apk resources.arsc: string pool
truncated-nsc.apk network_security_config.xml: binary XML: truncated
no-nsc.apk no res/xml/network_security_config.xml in the archive
duplicate-manifest.apk same name
bomb.apk larger than 67108864 bytes
not-a-zip.apk not a readable zip archive
EOF2
n1=$("$PW" audit list --json | jq length)
[ "$n0" = "$n1" ] && echo "ok: nothing audited by refused imports" || { echo "FAIL: audit $n0 -> $n1"; fails=$((fails + 1)); }
expect "nothing stored by refused imports" -- test "$(stored shop-android 9.9.9)" = null
# a zip whose headers understate the manifest's size: the bounded read stops it
python3 - "$T" <<'PY'
import struct, sys, zipfile
t = sys.argv[1]
src = zipfile.ZipFile(t + "/shop.apk")
with zipfile.ZipFile(t + "/lying.apk", "w", zipfile.ZIP_DEFLATED) as z:
    for i in src.infolist():
        z.writestr(i.filename, src.read(i.filename) if i.filename != "AndroidManifest.xml" else b"\3\0\10\0" + b"\0" * (70 << 20))
b = bytearray(open(t + "/lying.apk", "rb").read())
# local header (uncompressed size at +22) and central directory entry (+24)
for sig, off in ((b"PK\3\4", 22), (b"PK\1\2", 24)):
    p = b.find(sig)
    while p >= 0:
        name_len = struct.unpack_from("<H", b, p + (26 if sig == b"PK\3\4" else 28))[0]
        name = b[p + (30 if sig == b"PK\3\4" else 46):][:name_len]
        if name == b"AndroidManifest.xml":
            struct.pack_into("<I", b, p + off, 4096)
        p = b.find(sig, p + 4)
open(t + "/lying.apk", "wb").write(bytes(b))
PY
check 2 "a zip that lies about an entry's size is refused" -- "$PW" import-apk --app shop-android --version 9.9.9 "$T/lying.apk"
expect_grep "$T/err" "AndroidManifest.xml inflates beyond 67108864 bytes" "the bounded read names the entry"
# no versionName and no --version
mkdir -p "$T/nov/res"
sed 's/ android:versionName="1.0.3"//' "$DATA/apk/plain/AndroidManifest.xml" >"$T/nov/AndroidManifest.xml"
aapt package -f -M "$T/nov/AndroidManifest.xml" -S "$T/nov/res" -I "$FW" -F "$T/nov.apk" >/dev/null 2>&1
check 2 "an APK without versionName needs --version" -- "$PW" import-apk --app x --dry-run "$T/nov.apk"
expect_grep "$T/err" "no android:versionName: give --version" "the error says what to do"
check 0 "--version supplies it" -- "$PW" import-apk --app x --version 1.0.3 --dry-run "$T/nov.apk"
# an NSC error inside an APK names the entry and the source line
build shop "$DATA/nsc/sha1_digest.xml" xml network_security_config "$T/sha1.apk"
check 2 "an APK whose NSC has a SHA-1 pin is refused" -- "$PW" import-apk --app x --dry-run "$T/sha1.apk"
expect_grep "$T/err" 'sha1.apk!res/xml/network_security_config.xml:7: pin digest="SHA-1" is not supported' "the error names the entry and line"
# a raw anchor that is not a certificate
printf 'not a certificate\n' >"$T/corp_proxy_ca.pem"
build corp "$DATA/nsc/override_pins.xml" xml corp_network_security "$T/badraw.apk" "$T/corp_proxy_ca.pem"
check 2 "an unreadable @raw anchor is an error" -- "$PW" import-apk --app x --dry-run "$T/badraw.apk"
expect_grep "$T/err" 'certificates src="@raw/corp_proxy_ca": res/raw/corp_proxy_ca.pem' "the error names the resource and file"

echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
