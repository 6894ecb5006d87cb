#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# docs/ldd3.md maps each non-blank line of LDD3's complete.c to the line of complete_dev.rs that
# does the same. Fails when a mapped Rust line no longer says what the page quotes, when the rows
# are not numbered 1, 2, 3 ..., or when the C column is no longer the book's file (its non-blank
# lines, trimmed, hash to COMPLETE_C_SHA256).
# Usage: tools/tests/ldd3-map.sh [PAGE [RUST_FILE]]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
page=${1:-$top/docs/ldd3.md}
rust=${2:-$top/complete_dev.rs}
# sha256 of complete.c's 66 non-blank lines, each without leading and trailing blanks, joined
# with newlines (with a final one).
COMPLETE_C_SHA256=a2e18b7f0f3123539ff54ba9bc36ad7374ec916f32b46f2c7454c6b2be45fd90

bad=0
c_lines=()
n=0
while IFS= read -r row; do
	# | N | `` C `` | L or none | `` Rust `` or nothing | why |, with \| for a | inside the code.
	row=${row//\\|/$'\x01'}
	IFS='|' read -r _ num c_col line_col rust_col _ <<<"$row"
	num=${num// /}
	n=$((n + 1))
	if [[ $num != "$n" ]]; then
		echo "$page: row $n is numbered '$num'" >&2
		bad=1
	fi
	c_col=${c_col#' `` '}
	c_col=${c_col%' `` '}
	c_lines+=("${c_col//$'\x01'/|}")
	line_col=${line_col// /}
	[[ $line_col == none ]] && continue
	if ! [[ $line_col =~ ^[0-9]+$ ]]; then
		echo "$page: row $n: '$line_col' is neither a line number nor 'none'" >&2
		bad=1
		continue
	fi
	want=${rust_col#' `` '}
	want=${want%' `` '}
	want=${want//$'\x01'/|}
	got=$(sed -n "${line_col}p" "$rust")
	got=${got#"${got%%[![:space:]]*}"}
	got=${got%"${got##*[![:space:]]}"}
	if [[ $got != "$want" ]]; then
		printf '%s: row %d (C: %s): %s:%d says\n    %s\n  the page quotes\n    %s\n' \
			"$page" "$n" "${c_lines[-1]}" "$(basename "$rust")" "$line_col" "$got" "$want" >&2
		bad=1
	fi
done < <(grep -E '^\| [0-9]+ \|' "$page")

sum=$(printf '%s\n' "${c_lines[@]}" | sha256sum)
if [[ ${sum%% *} != "$COMPLETE_C_SHA256" ]]; then
	echo "$page: the C column ($n rows) is not complete.c's non-blank lines (sha256 ${sum%% *})" >&2
	bad=1
fi
((bad == 0)) && echo "docs/ldd3.md: $n lines of complete.c, each mapped line of $(basename "$rust") as quoted"
((bad == 0))
