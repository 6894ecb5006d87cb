#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: the Rust driver against a C baseline (bench/ref), a futex
# wait/wake pair (the floor) and a pipe, in one VM boot.
#
# Builds the modules (unless make already did) and the static complete_bench
# binary (bench/), boots the VM under TCG with one vCPU and
# `-icount shift=0,sleep=off` (guest time counts instructions, so the runs
# repeat almost exactly), takes the JSON off the console, prints the table and
# draws the PNG on the host.
#
# Environment:
#   BENCH_JSON   where the JSON goes (default $BUILD_DIR/bench.json)
#   BENCH_PNG    where the PNG goes (default $BUILD_DIR/bench.png)
#   BENCH_ROUNDS, BENCH_SAMPLES (per subject and round), BENCH_LOG_SAMPLES,
#   BENCH_TPUT_MS (throughput window, guest ms), BENCH_THREADS (e.g. 1,4,16)
#   BENCH_FONT   TrueType font for the PNG (default DejaVuSans, fonts-dejavu-core)
#   VM_TIMEOUT   hard limit for the VM (default 540 s)
source "$(dirname "$0")/lib.sh"

BENCH_JSON=${BENCH_JSON:-$BUILD_DIR/bench.json}
BENCH_PNG=${BENCH_PNG:-$BUILD_DIR/bench.png}
BENCH_FONT=${BENCH_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}

# `make bench` has built the modules already (bench: modules).
[[ -n ${MAKELEVEL:-} ]] || "$TOOLS_DIR/module-build.sh"
[[ -f $TOP_DIR/complete_dev.ko && -f $TOP_DIR/bench/ref/complete_ref.ko ]] ||
	die "complete_dev.ko or bench/ref/complete_ref.ko missing: is 'obj-m += bench/ref/' in Kbuild?"

crate=$TOP_DIR/bench
step "building complete_bench (bench/, static)"
RUSTFLAGS="-C target-feature=+crt-static" quiet cargo build --manifest-path "$crate/Cargo.toml" \
	--release --target x86_64-unknown-linux-gnu
bin=$crate/target/x86_64-unknown-linux-gnu/release/complete_bench
mkdir -p "$BUILD_DIR/bin"
cp "$bin" "$BUILD_DIR/bin/"
done_step

# The JSON block is long: keep it in the log, off the terminal.
log=$BUILD_DIR/logs/bench-$(date +%Y%m%d-%H%M%S).log
VM_LOG=$log ACCEL=tcg VM_SMP=1 VM_TIMEOUT=${VM_TIMEOUT:-540} QEMU_EXTRA="-icount shift=0,sleep=off" \
	"$TOOLS_DIR/vm-run.sh" bench \
	bench_rounds="${BENCH_ROUNDS:-5}" bench_samples="${BENCH_SAMPLES:-2000}" \
	bench_log_samples="${BENCH_LOG_SAMPLES:-2000}" bench_tput_ms="${BENCH_TPUT_MS:-200}" \
	bench_threads="${BENCH_THREADS:-1,4,16}" |
	awk '/^=== complete-bench json begin/ { h = 1; print "    (JSON block: in the console log)" }
		!h { print; fflush() }
		/^=== complete-bench json end/ { h = 0 }'
[[ -s $log ]] || die "no console log of the bench run at $log"

mkdir -p "$(dirname "$BENCH_JSON")"
tr -d '\r' <"$log" | sed -n '/^=== complete-bench json begin ===$/,/^=== complete-bench json end ===$/p' |
	sed '1d;$d' >"$BENCH_JSON.tmp"
[[ -s $BENCH_JSON.tmp ]] || die "no JSON between the markers in $log"
mv "$BENCH_JSON.tmp" "$BENCH_JSON"
echo "==> JSON: $BENCH_JSON" >&2
echo
"$bin" report --json "$BENCH_JSON"
echo
"$bin" plot --json "$BENCH_JSON" --out "$BENCH_PNG" --font "$BENCH_FONT"
echo "==> PNG: $BENCH_PNG" >&2
