# Shared by scripts/run and scripts/test. Sourced, not executed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Every Debian 12 package the build, the tests and the demo need.
PACKAGES=(
	gcc clang libclang-rt-14-dev pkg-config meson ninja-build python3
	libgnutls28-dev libmicrohttpd-dev libsqlite3-dev libjansson-dev libcmocka-dev
	libcurl4-gnutls-dev libsystemd-dev libinih-dev libxml2-dev
	gnutls-bin sqlite3 scdoc curl openssl systemd procps
	jq
	libplist-dev libzip-dev
	# tests that build release artifacts (APK with aapt, IPA with zip) and a
	# dual-certificate nginx on loopback
	zip aapt android-framework-res nginx-light
)

# Benchmarks only (bench/*.sh), not needed by scripts/test.
BENCH_PACKAGES=(wrk)
BENCH_PACKAGES+=(prometheus-blackbox-exporter)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "==> installing: ${missing[*]}"
		if [ "$(id -u)" -ne 0 ]; then
			echo "error: missing packages and not root; run as root or install: ${missing[*]}" >&2
			exit 3
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# build DIR [meson options...]: configure once, then ninja (fast when nothing changed).
build() {
	local dir="$1"
	shift
	if [ ! -f "$ROOT/$dir/build.ninja" ]; then
		meson setup "$ROOT/$dir" "$ROOT" "$@" >/dev/null
	fi
	ninja -C "$ROOT/$dir"
}
