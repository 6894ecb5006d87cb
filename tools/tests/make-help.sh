#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make help` names every target the Makefile declares (.PHONY), one line each.
source "$(dirname "$0")/../lib.sh"

mk=$(<"$TOP_DIR/Makefile")
phony=$(sed -n 's/^\.PHONY:[[:space:]]*//p' <<<"$mk")
[[ -n $phony ]] || die "no .PHONY line in $TOP_DIR/Makefile"
help=$(make -s -C "$TOP_DIR" --no-print-directory help)
missing=()
n=0
for t in $phony; do
	n=$((n + 1))
	[[ $t == all ]] && t=
	grep -qE "^make${t:+ $t}( |$)" <<<"$help" || missing+=("${t:-all}")
done
((${#missing[@]} == 0)) || die "make help does not list: ${missing[*]}"
echo "make help: $n targets, each on a line of its own"
