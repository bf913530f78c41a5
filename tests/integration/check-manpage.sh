#!/bin/bash
# integration.manpage: every command in the binary's command table (as
# `pinwatch --help` lists it) is documented in docs/pinwatch.1.scd, and every
# command the man page documents exists, so the page cannot drift from the
# code in either direction.
# Usage: check-manpage.sh PINWATCH_BINARY MANPAGE.scd
set -euo pipefail
bin="$1"
scd="$2"

cmds="$("$bin" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p')"
if [ -z "$cmds" ]; then
	echo "no commands found in '$bin --help'" >&2
	exit 1
fi
missing=0
n=0
for c in $cmds; do
	n=$((n + 1))
	# A command's entry in COMMANDS reads *pinwatch NAME* or *pinwatch NAME sub*.
	if ! grep -Eq "^\*pinwatch ${c}( [a-z-]+)?\*" "$scd"; then
		echo "command '$c' is not documented in $scd" >&2
		missing=1
	fi
done
# The other way: each "*pinwatch NAME..." entry names a real command.
for c in $(sed -n 's/^\*pinwatch \([a-z][a-z0-9-]*\)[* ].*/\1/p' "$scd" | sort -u); do
	if ! printf '%s\n' $cmds | grep -qx -- "$c"; then
		echo "the man page documents '$c', which is not a command" >&2
		missing=1
	fi
done
[ "$missing" -eq 0 ] || exit 1
echo "all $n commands documented, and only those"
