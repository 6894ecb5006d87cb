#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make help` names every target the Makefile declares (.PHONY), one line each, and so does
# the table of docs/make-targets.md.
source "$(dirname "$0")/../lib.sh"

mk=$(<"$TOP_DIR/Makefile")
phony=$(sed -n 's/^\.PHONY:[[:space:]]*//p' <<<"$mk")
[[ -n $phony ]] || die "no .PHONY line in $TOP_DIR/Makefile"
help=$(make -s -C "$TOP_DIR" --no-print-directory help)
doc=$(<"$TOP_DIR/docs/make-targets.md")
missing=()
undocumented=()
n=0
for t in $phony; do
	n=$((n + 1))
	[[ $t == all ]] && t=
	grep -qE "^make${t:+ $t}( |$)" <<<"$help" || missing+=("${t:-all}")
	grep -qE "^\\|.*\`make${t:+ $t}\`" <<<"$doc" || undocumented+=("${t:-all}")
done
((${#missing[@]} == 0)) || die "make help does not list: ${missing[*]}"
((${#undocumented[@]} == 0)) || die "the table of docs/make-targets.md does not list: ${undocumented[*]}"
echo "make help and docs/make-targets.md: $n targets, each on a line of its own"
