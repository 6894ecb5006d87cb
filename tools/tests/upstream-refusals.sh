#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Test of make upstream-check's refusals (tools/upstream-check.sh, its apply step), on series
# made up here from the base repository: a cover letter naming another base-commit is refused
# before anything is applied, naming both commits; so is a series without a cover letter; a
# patch that does not apply fails naming it, and a patch with a style problem fails
# checkpatch --strict naming it, while a series without a sign-off passes it. Needs the base
# repository (the apply step of make check, just before, makes it).
source "$(dirname "$0")/../lib.sh"

base=$CACHE_DIR/upstream/base
rev=$(git -C "$base" rev-parse --verify -q 'HEAD^{commit}') ||
	die "no base repository at $base: run 'make upstream-check UPSTREAM_STEPS=apply' first"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# series NAME SUBJECT EDIT: a series of one patch on the base, EDIT (a sed script) made to
# rust/kernel/iov.rs, without Signed-off-by, format-patch'ed into $dir/NAME. The commit is made
# without a checkout (a worktree of the whole tree costs a minute): a temporary index.
series() {
	local blob tree commit
	blob=$(git -C "$base" show "$rev:rust/kernel/iov.rs" | sed "$3" | git -C "$base" hash-object -w --stdin)
	export GIT_INDEX_FILE=$dir/index
	git -C "$base" read-tree "$rev"
	git -C "$base" update-index --cacheinfo "100644,$blob,rust/kernel/iov.rs"
	tree=$(git -C "$base" write-tree)
	unset GIT_INDEX_FILE
	commit=$(GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=test@example.org GIT_COMMITTER_NAME=Test \
		GIT_COMMITTER_EMAIL=test@example.org git -C "$base" commit-tree "$tree" -p "$rev" \
		-m "rust: iov: $2" -m "A patch of tools/tests/upstream-refusals.sh.")
	git -C "$base" format-patch -q --cover-letter --base="$rev" -o "$dir/$1" "$rev..$commit"
}
series good 'a comment' 's|^//! IO vectors\.$|//! IO vectors and their iterators.|'
series style 'a long line' 's|^//! IO vectors\.$|//! IO vectors, said on a line far longer than the hundred columns that checkpatch allows in a file of the kernel, which it reports.|'
series stale 'a stale context' 's|^//! IO vectors\.$|//! IO vectors (a)|'
sed -i 's|^-//! IO vectors\.$|-//! IO vectors of another tree.|' "$dir"/stale/0001-*.patch

# run NAME...: upstream-check's apply step on the series NAME...; its output in $dir/out.
run() {
	rm -rf "$dir/upstream"
	mkdir -p "$dir/upstream"
	for s in "$@"; do cp -r "$dir/$s" "$dir/upstream/"; done
	rc=0
	UPSTREAM_DIR=$dir/upstream UPSTREAM_STEPS=apply "$TOOLS_DIR/upstream-check.sh" >"$dir/out" 2>&1 || rc=$?
}
expect() { # expect WHAT TEXT: the run failed and its output has TEXT
	((rc != 0)) || { cat "$dir/out" >&2; die "$1: upstream-check passed"; }
	grep -qF -- "$2" "$dir/out" || { cat "$dir/out" >&2; die "$1: no '$2' in its output"; }
}

run good
((rc == 0)) || { cat "$dir/out" >&2; die "a good series without Signed-off-by failed"; }
sed -i "s/^base-commit: .*/base-commit: 0123456789abcdef0123456789abcdef01234567/" "$dir"/good/0000-*.patch
run good
expect "another base-commit" "its base-commit 0123456789abcdef0123456789abcdef01234567 is not the base repository's"
grep -qF "$rev" "$dir/out" || die "another base-commit: the base commit $rev is not named"
! grep -q 'git am' "$dir/out" || die "another base-commit: something was applied first"
rm "$dir"/good/0000-*.patch
run good
expect "no cover letter" "series good: no cover letter"
run style stale
expect "a long line" "series style: checkpatch --strict reports 0001-rust-iov-a-long-line.patch"
expect "a stale context" "series stale: 0001-rust-iov-a-stale-context.patch does not apply"
echo "upstream-check refusals: another base-commit, no cover letter, a patch that does not apply, a checkpatch report; a series without sign-off passes"
