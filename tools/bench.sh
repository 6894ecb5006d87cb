#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: the Rust driver against its C twin (bench/ref/complete_ref.c,
# the same features), the bare LDD3 logic in C (bench/ref/complete_ldd.c), a
# futex wait/wake pair (the floor) and a pipe, in one VM boot.
#
# Boots the performance kernel (KVARIANT=perf: tools/kernel.config with lock
# debugging off, see tools/kernel-perf.config), built and cached next to the
# test kernel without changing the default one. Builds the three modules
# against it, each with its own out-of-tree build of a copy of its sources in
# $BUILD_DIR/bench-modules (the product's build never sees bench/ref), and the
# static complete_bench
# binary (bench/); boots the VM under TCG with one vCPU and
# `-icount shift=0,sleep=off` (guest time counts instructions, so the runs
# repeat almost exactly), takes the JSON off the console, prints the table and
# draws the PNG on the host.
#
# Environment:
#   KVARIANT     the kernel variant (default perf; debug = the test kernel)
#   TOOLCHAIN    llvm | gcc (default: as tools/deps.sh found, see README)
#   KDIR         bench against this kernel build tree instead
#   KERNEL       debian: bench on Debian's own kernel (GCC, every mitigation), the modules
#                built in its trixie chroot (tools/debian-kernel.sh) and matched to it
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

# kmod DIR ARGS...: make -C <the kernel's tree> M=DIR ARGS...
kmod() {
	make -C "$KDIR" M="$1" "${@:2}"
}
if [[ $KERNEL == debian ]]; then
	TOOLCHAIN=gcc "$TOOLS_DIR/deps.sh"
	variant=debian
	"$TOOLS_DIR/debian-kernel.sh" prepare >/dev/null
	kmod() {
		"$TOOLS_DIR/debian-kernel.sh" make "$@"
	}
	where="Debian's kernel (trixie chroot)"
else
	variant=${KVARIANT:-perf}
	[[ -n ${KDIR:-} ]] && variant=KDIR
	KDIR=$(KVARIANT=$variant ensure_kernel)
	export KDIR
	kbuild_env "$KDIR"
	where=$KDIR
fi
tc=gcc
[[ -n ${LLVM:-} ]] && tc=llvm$LLVM
mods=$BUILD_DIR/bench-modules
step "building complete_dev, complete_ref and complete_ldd against $where"
rm -rf "$mods"
mkdir -p "$mods/ko"
# Out-of-tree builds of copies of the sources (kbuild's MO= refuses a source
# tree that a plain `make` has built in), so the clone's build is untouched;
# the copy leaves out what .gitignore names (build outputs, build/, target/).
sources() {
	rsync -a --exclude=.git --filter=':- .gitignore' "$1/" "$2/"
}
sources "$TOP_DIR" "$mods/dev"
sources "$TOP_DIR/bench/ref" "$mods/ref"
quiet kmod "$mods/dev" modules ||
	die "building complete_dev for the benchmark failed (rerun with V=1)"
quiet kmod "$mods/ref" modules ||
	die "building the C baselines (bench/ref) failed (rerun with V=1)"
cp "$mods/dev/complete_dev.ko" "$mods/ref/complete_ref.ko" "$mods/ref/complete_ldd.ko" "$mods/ko/"
"$TOOLS_DIR/modinfo-check.sh" "$mods"/ko/*.ko || die "a benchmark module lacks modinfo fields (see above)"
done_step

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
VM_LOG=$log MODULE_DIR=$mods/ko ACCEL=tcg VM_SMP=1 VM_TIMEOUT=${VM_TIMEOUT:-540} QEMU_EXTRA="-icount shift=0,sleep=off" \
	"$TOOLS_DIR/vm-run.sh" bench \
	bench_rounds="${BENCH_ROUNDS:-5}" bench_samples="${BENCH_SAMPLES:-2000}" \
	bench_log_samples="${BENCH_LOG_SAMPLES:-2000}" bench_tput_ms="${BENCH_TPUT_MS:-200}" \
	bench_threads="${BENCH_THREADS:-1,4,16}" bench_toolchain="$tc" bench_kernel="$variant" |
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
