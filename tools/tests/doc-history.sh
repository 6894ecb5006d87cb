#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The documentation says what is true now, not how the project got there: README.md,
# docs/*.md and the comments (`//!`, `///`, `//`) of every tracked *.rs file carry no commit
# id and none of these work-log phrases: "before the fix", "today's tree", "session N",
# "main at", "run N of M". A commit id is a word of its own of 7 to 12 lowercase hex
# characters with at least one digit and one letter a-f. Not a commit id: a version string's
# hash followed by its date, as rustc prints it ("(4eb161250 2025-03-15)"), and hex inside a
# longer token (0xC9, a cache key such as debug-61eabe82fe19, a 64-character SHA-256).
# Prints FILE:LINE: the phrase or word for each hit; exits non-zero on any.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

phrases="before the fix|today's tree|session [0-9]+|(^|[^[:alnum:]_])main at([^[:alnum:]_]|$)|run [0-9]+ of [0-9]"
# A hex word: not inside a path, a version, a key or an identifier; a sentence's full stop
# may follow it.
hex_re='(^|[^[:alnum:]_./+~-])([0-9a-f]{7,12})([^[:alnum:]_/+~.-]|\.([^[:alnum:]_/]|$)|$)'

# text: FILE:LINE:TEXT for every line of the Markdown files and every comment of the Rust
# files (a comment line, or what follows " // " on a line of code).
text() {
	local md=() rs=()
	mapfile -t md < <(git -C "$TOP_DIR" ls-files README.md 'docs/*.md')
	mapfile -t rs < <(git -C "$TOP_DIR" ls-files '*.rs')
	((${#md[@]} > 1 && ${#rs[@]} > 1)) || die "found ${#md[@]} Markdown and ${#rs[@]} Rust files: is this a git checkout?"
	(
		cd "$TOP_DIR"
		awk '{ print FILENAME ":" FNR ":" $0 }' "${md[@]}"
		awk '
			/^[ \t]*\/\// { print FILENAME ":" FNR ":" $0; next }
			(i = index($0, " // ")) > 0 { print FILENAME ":" FNR ":" substr($0, i + 1) }
		' "${rs[@]}"
	)
}

# scan: FILE:LINE: what was found, for each hit among the FILE:LINE:TEXT lines on stdin.
scan() {
	local line where body lower phrase rest word before
	while IFS= read -r line; do
		[[ -n $line ]] || continue
		where=${line%%:*}:$(cut -d: -f2 <<<"$line")
		body=${line#*:*:}
		lower=${body,,}
		if [[ $lower =~ $phrases ]]; then
			phrase=${BASH_REMATCH[0]}
			phrase=${phrase#[^[:alnum:]]}
			printf '%s: "%s"\n' "$where" "${phrase%[^[:alnum:]]}"
		fi
		rest=$body
		while [[ $rest =~ $hex_re ]]; do
			word=${BASH_REMATCH[2]}
			before=${rest%%"${BASH_REMATCH[0]}"*}${BASH_REMATCH[1]}
			rest=${rest#*"${BASH_REMATCH[1]}$word"}
			[[ $word =~ [0-9] && $word =~ [a-f] ]] || continue
			# A version string: "(4eb161250 2025-03-15)", "rustc 1.85.1 (4eb161250".
			[[ $rest =~ ^\ [0-9]{4}-[0-9]{2}-[0-9]{2} ]] && continue
			[[ $before =~ rustc[^[:space:]]*\ +[0-9][^[:space:]]*\ +\($ ]] && continue
			printf '%s: commit id? %s\n' "$where" "$word"
		done
	done < <(grep -iE "$phrases|[0-9a-f]{7}" || true)
}

# The matcher itself, on lines it must flag and lines it must let through.
flag=(
	"measured on main at 820af63 with" "(\`a9a2f9a\`)" "killed on commit 1379c73." "a9a2f9a: the change"
	"session 10's CI run" "Before the fix the load failed" "today's tree" "run 3 of 5" "main at"
)
pass=(
	"rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)" "rustc 1.85.1 (4eb161250"
	"COMPLETE_IOC_MAGIC 0xC9, _IO(0xc9a0b1c, 1)" "build/7.3.4-llvm-22-debug-61eabe82fe19/"
	"sha256 954e792b6f3772e3e73ce4b91dd1ef322cbbc0f330249c79c831ae0c8ce0a6b0" "deadbeef 1234567 decade"
	"at ffffffffa0201008 and ff11000000da7e48" "the values remain at 0; the domain at rest" "run the 3 of them"
)
for t in "${flag[@]}"; do
	[[ -n $(scan <<<"t:1:$t") ]] || die "the matcher misses: $t"
done
for t in "${pass[@]}"; do
	out=$(scan <<<"t:1:$t")
	[[ -z $out ]] || die "the matcher flags: $t ($out)"
done

all=$(text)
mapfile -t hits < <(scan <<<"$all")
if ((${#hits[@]})); then
	printf '%s\n' "${hits[@]}" >&2
	die "${#hits[@]} history mark(s) in the documentation: say what is true now, and where and when a figure was measured"
fi
echo "doc-history: $(wc -l <<<"$all") lines of README.md, docs/*.md and Rust comments, no commit id or work-log phrase"
