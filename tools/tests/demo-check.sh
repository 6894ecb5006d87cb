#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` as make check runs it: the VM job passes, the transcript tells
# the driver's story only (no kernel console line, only the modules' lines
# between the steps), and the timeline picture exists, shows the two wake-ups
# and the pending write, and names every pid of the transcript.
source "$(dirname "$0")/../lib.sh"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
pic=$BUILD_DIR/demo-timeline
rm -f "$pic.svg" "$pic.png"

# fail MSG: say what failed, show the demo's output, stop.
fail() {
	echo "FAIL: $*" >&2
	echo "--- make demo said ---" >&2
	cat "$out" >&2
	exit 1
}

step "make demo: transcript and timeline picture"
"$TOOLS_DIR/vm-run.sh" demo >"$out" 2>&1 || fail "the demo VM job failed"
transcript=$(sed -n '/^=== complete_dev demo/,/^=== demo done ===/p' "$out")
[[ -n $transcript ]] || fail "no transcript between the demo's banner and '=== demo done ==='"

# The story only: no kernel console line before or inside the transcript, and
# between the steps only the modules' lines.
noise=$(sed -n '/^==> VM: demo/,/^=== demo done ===/p' "$out" | grep -E '^\[ *[0-9]+\.[0-9]+\] ' || true)
[[ -z $noise ]] || fail "kernel console lines on the terminal: $noise"
other=$(grep -E '^ +kernel: ' <<<"$transcript" | grep -vE '\] complete_dev: ' || true)
[[ -z $other ]] || fail "kernel lines other than the driver's in the transcript: $other"

[[ -s $pic.svg ]] || fail "no timeline picture $pic.svg"
[[ $(head -c 8 "$pic.png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
	fail "no PNG timeline picture at $pic.png"
grep -q '3 wake-ups drawn (1 from pending writes)' "$out" ||
	fail "the timeline does not show 3 wake-ups of which 1 from a pending write"
pids=$(grep -oE '(process|awoken|reader) [0-9]+ ' <<<"$transcript" | grep -oE '[0-9]+' | sort -un)
[[ -n $pids ]] || fail "no pid in the transcript"
for pid in $pids; do
	grep -q "(pid $pid)" "$pic.svg" || fail "pid $pid of the transcript is not in $pic.svg"
done
echo "    transcript pids $(tr "\n" " " <<<"$pids")all named in $pic.svg; 3 wake-ups, 1 pending"
done_step
