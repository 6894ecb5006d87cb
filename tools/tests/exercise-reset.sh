#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make exercise N=1`, `RESET=1` and `SOLUTION=1` never lose a learner's file: an existing file
# is graded as it is, RESET=1 keeps it as a backup that no later reset overwrites, and the
# reference is only shown. Host only: in a copy of exercises/ and tools/, with a KDIR that does
# not exist, so that each run ends at its build, before any VM.
source "$(dirname "$0")/../lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$TOP_DIR/tools" "$TOP_DIR/exercises" "$TOP_DIR/ext" "$tmp/"
ex=exercises/01-sleeping-read
work=$tmp/$ex/complete_dev.rs
rm -f "$tmp"/exercises/*/complete_dev.rs "$tmp"/exercises/*/complete_kthread.rs "$tmp"/exercises/*/*.bak

# run ARGS...: `make exercise N=1` in the copy, its output in $out. Without the caller's
# KERNEL: `make check KERNEL=debian` runs this too, and KERNEL=debian refuses any KDIR.
run() {
	out=$(env -u KERNEL -C "$tmp" BUILD_DIR="$tmp/build" KDIR="$tmp/no-kernel" N=1 "$@" tools/exercise.sh run 2>&1) || true
}
fail() {
	printf 'FAIL %s\n' "$1"
	[[ -z ${out:-} ]] || { echo "  it printed:"; printf '%s\n' "$out" | sed 's/^/    /'; }
	exit 1
}

run
cmp -s "$work" "$tmp/$ex/start.rs" || fail "the first run did not copy start.rs to the learner's file"
grep -qF "==> your file: $ex/complete_dev.rs (from start.rs)" <<<"$out" || fail "the first run did not name the learner's file"

echo "// mine, first" >"$work"
run
[[ $(<"$work") == "// mine, first" ]] || fail "a run without RESET=1 changed the learner's file"

run SOLUTION=1
[[ $(<"$work") == "// mine, first" ]] || fail "SOLUTION=1 changed the learner's file"
grep -qF -- "--- yours: $ex/complete_dev.rs" <<<"$out" || fail "SOLUTION=1 did not diff against the learner's file"

# Two resets in a row, within the same second: each keeps what it replaced.
mkdir -p "$tmp/build/exercise"
echo 2 >"$tmp/build/exercise/hint-01-sleeping-read"
run RESET=1
first=$out
echo "// mine, second" >"$work"
run RESET=1
mapfile -t baks < <(find "$tmp/$ex" -name 'complete_dev.rs.*.bak' | sort)
((${#baks[@]} == 2)) || fail "two resets left ${#baks[@]} backups, not 2: ${baks[*]#"$tmp"/}"
got=$(cat "${baks[@]}" | sort | tr '\n' ' ')
[[ $got == "// mine, first // mine, second " ]] || fail "the backups hold '$got', not the two files replaced"
for o in "$first" "$out"; do
	grep -qE "^==> starting over: your file is kept as $ex/complete_dev\\.rs\\.[0-9-]+(\\.[0-9]+)?\\.bak$" <<<"$o" ||
		{ out=$o; fail "RESET=1 did not name the backup"; }
done
cmp -s "$work" "$tmp/$ex/start.rs" || fail "RESET=1 did not start over from start.rs"
[[ ! -f $tmp/build/exercise/hint-01-sleeping-read ]] || fail "RESET=1 kept the hint counter: the hints do not start over"
echo "make exercise RESET=1: the learner's file kept as a backup twice in a second, never overwritten; SOLUTION=1 and a plain run leave it"
