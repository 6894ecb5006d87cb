#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Draw the wake-order timeline of a demo run: who slept when, and which
# completion woke whom, from the kernel log lines in the run's console log
# (tools/timeline/, drawn on the host with plotters).
#
# Usage: timeline.sh CONSOLE_LOG OUT
#   writes OUT.svg and OUT.png and prints their paths.
source "$(dirname "$0")/lib.sh"

log=${1:?usage: timeline.sh CONSOLE_LOG OUT}
out=${2:?usage: timeline.sh CONSOLE_LOG OUT}

crate=$TOOLS_DIR/timeline
# The debug build: it shares its compiled dependencies with `cargo test` in
# make check, and draws in about a second.
bin=$crate/target/debug/complete_timeline
title="complete_dev: who slept, and which write woke whom"
[[ $(basename "$out") == demo-kthread* ]] &&
	title="complete_kthread: the waiter's sleeps and the worker's completions, per variant"

if [[ -x $bin ]]; then
	step "drawing the timeline (tools/timeline)"
else
	step "building tools/timeline (the first time: about 40 s) and drawing the timeline"
fi
quiet cargo build --locked --manifest-path "$crate/Cargo.toml" ||
	die "building tools/timeline failed (see above); the demo itself passed"
mkdir -p "$(dirname "$out")"
"$bin" "$log" --out "$out" --title "$title" ||
	die "no timeline drawn from $log (see above); the demo itself passed"
done_step
echo "==> timeline: $out.svg (and $out.png)"
