# Shared by the shell integration tests (sourced, not run): a scratch folder
# with its own database, and checks that count failures.
#   source "$(dirname "$0")/lib/checks.sh"; checks_init NAME
#   check 2 "what" -- cmd...; expect "what" -- cmd...; expect_grep FILE RE "what"
#   checks_done   # prints the tally, exits 1 when any check failed
# The last command's output is in $T/out and $T/err.

checks_init() { # checks_init NAME: $T, $PINWATCH_DB, fails=0, cleanup on exit
	T="$(mktemp -d "/tmp/pinwatch-it-$1-XXXXXX")"
	trap 'rm -rf "$T"' EXIT
	export PINWATCH_DB="$T/a.db"
	fails=0
}

check() { # check WANT_RC DESCRIPTION -- command...
	local want="$1" what="$2"
	shift 3
	# into new files first: the command may read the previous $T/out
	"$@" >"$T/out.new" 2>"$T/err.new"
	local rc=$?
	mv "$T/out.new" "$T/out"
	mv "$T/err.new" "$T/err"
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $what: exit $rc, want $want"
		sed 's/^/  stdout: /' "$T/out" | head -5
		sed 's/^/  stderr: /' "$T/err" | head -5
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

expect() { # expect DESCRIPTION -- command... (must succeed)
	local what="$1"
	shift 2
	if "$@" >/dev/null 2>&1; then echo "ok: $what"; else
		echo "FAIL: $what"; fails=$((fails + 1)); fi
}

expect_grep() { # expect_grep FILE PATTERN DESCRIPTION
	if grep -q -- "$2" "$1"; then echo "ok: $3"; else
		echo "FAIL: $3: '$2' not in $1:"; head -5 "$1"; fails=$((fails + 1)); fi
}

audit_rows() { "$PW" audit list --json | jq length; }

version_json() { # version_json APP VERSION: that version in the export, one line
	"$PW" export | jq -c --arg a "$1" --arg v "$2" \
		'.apps[] | select(.name == $a) | .versions[] | select(.version == $v)'
}

checks_done() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}
