#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the out-of-tree module(s): make -C $KDIR M=$PWD.
#
# Without KDIR the kernel of tools/kernel-build.sh is used (and built
# first if missing). STRICT=1 adds CLIPPY=1 W=1 and fails on any warning.
# Compiler output shows with V=1; warnings always show. KERNEL=debian builds them against
# Debian's kernel in a trixie chroot and matches them to it (tools/debian-kernel.sh modules).
source "$(dirname "$0")/lib.sh"

if [[ $KERNEL == debian ]]; then
	TOOLCHAIN=gcc "$TOOLS_DIR/deps.sh" # no clang: Debian's kernel is GCC-built
	exec "$TOOLS_DIR/debian-kernel.sh" modules
fi

KDIR=$(ensure_kernel)
"$TOOLS_DIR/kernel-series.sh" kdir "$KDIR" # a refused series stops here, with the reason
[[ -f $KDIR/Module.symvers || -f $KDIR/.config ]] ||
	die "KDIR=$KDIR is not a kernel build tree"
grep -q '^CONFIG_RUST=y' "$KDIR/.config" ||
	die "KDIR=$KDIR has no CONFIG_RUST=y: this module is Rust; use 'make kernel' or a Rust-enabled tree"
[[ -f $KDIR/rust/libkernel.rmeta || -f $KDIR/rust/kernel.o ]] ||
	die "KDIR=$KDIR has no Rust metadata (rust/libkernel.rmeta): distro headers do not ship it; use 'make kernel' or a full Rust-enabled build tree"
# C and the tree's Rust bindings must agree on the structs the driver reads (a tree without
# CONFIG_SCHEDSTATS has them disagree): checked once per tree and config, then cached.
"$TOOLS_DIR/layout-check.sh" --once "$KDIR"

kbuild_env "$KDIR"
extra=()
if [[ ${STRICT:-0} == 1 ]]; then
	extra+=(CLIPPY=1 W=1)
	# Warnings only show when a file is compiled: start from clean.
	make -C "$KDIR" M="$TOP_DIR" clean >/dev/null 2>&1 || true
fi
step "building the module(s) against $KDIR${extra[*]:+ ${extra[*]}}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
make -C "$KDIR" M="$TOP_DIR" "${extra[@]}" modules >"$log" 2>&1 || rc=$?
[[ $V == 1 ]] && cat "$log"
if ((rc)); then
	[[ $V == 1 ]] || cat "$log" >&2
	die "module build failed"
fi
if grep -qiE '(^|[^a-z])warning' "$log"; then
	[[ $V == 1 ]] || grep -iE -A6 '(^|[^a-z])warning' "$log" >&2
	[[ ${STRICT:-0} == 1 ]] && die "the module build has warnings (CLIPPY=1 W=1)"
fi
# Every module Kbuild declares for this kernel is there: one missing would only show later, as
# a confusing modinfo or VM failure.
want=(complete_dev.ko complete_kthread.ko)
[[ $(<"$KDIR/.config") != *$'\nCONFIG_KUNIT=y\n'* ]] || want+=(ext/kunit/complete_ext_kunit.ko)
for m in "${want[@]}"; do
	[[ -f $TOP_DIR/$m ]] && continue
	cat "$log" >&2
	die "the build left no $m (its output is above; V=1 shows the commands)"
done
done_step
