#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The modules build with the oldest Rust the kernel accepts, not only with
# the rustc the pipeline uses: a kernel developer may build their kernel with
# any rustc from that minimum on, and the module must then build with it too.
#
# Reads the minimum from the kernel source (scripts/min-tool-version.sh
# rustc, for x86_64), installs that toolchain through rustup (minimal profile,
# rust-src and clippy), configures a tree from the test kernel's .config with
# it (GCC: rustc's older LLVM need not match any installed clang) and builds
# only what a module build needs (`make prepare rust/`: about 1 min, no
# vmlinux); then compiles complete_dev.o and complete_kthread.o against it
# with CLIPPY=1 W=1, with and without the KUnit suites, and allows no warning.
# The tree is cached per source version, .config and rustc version.
#
# Usage: tools/tests/msrv-check.sh KDIR   (KDIR: the test kernel, whose .config is used)
source "$(dirname "$0")/../lib.sh"

base=${1:?usage: tools/tests/msrv-check.sh KDIR}
[[ -f $base/.config ]] || die "$base has no .config"
src=$(cat "$CACHE_DIR/current-src" 2>/dev/null) || die "no kernel source yet: run 'make kernel' first"
min=$(ARCH=x86_64 SRCARCH=x86 "$src/scripts/min-tool-version.sh" rustc) ||
	die "cannot read the minimum rustc from $src/scripts/min-tool-version.sh"
[[ $min =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "unexpected minimum rustc version '$min'"

components=$(rustup component list --toolchain "$min" --installed 2>/dev/null) || true
if ! rustup run "$min" rustc --version >/dev/null 2>&1 ||
	! grep -q '^rust-src' <<<"$components" || ! grep -q '^clippy' <<<"$components"; then
	step "installing rustc $min, the kernel's minimum, through rustup (minimal, rust-src, clippy)"
	quiet rustup toolchain install "$min" --profile minimal --component rust-src,clippy ||
		die "rustup could not install Rust $min (is static.rust-lang.org reachable?)"
	done_step
fi
export RUSTUP_TOOLCHAIN=$min
# GCC, whatever the caller's environment says about clang.
unset LLVM LIBCLANG_PATH CC

key=$({
	cat "$CACHE_DIR/source-version"
	cat "$base/.config"
	rustc --version
	bindgen --version 2>/dev/null
	gcc --version | sed -n 1p
} | sha256sum | cut -c1-12)
out=$CACHE_DIR/build/msrv-rustc-$min-$key
stamp=$out/.complete-dev-prepared
kmake=(make -C "$src" O="$out" ARCH=x86_64)
if [[ ! -f $stamp ]]; then
	step "preparing a kernel tree for rustc $min (GCC; make prepare rust/, no vmlinux)"
	rm -rf "$out"
	mkdir -p "$out"
	cp "$base/.config" "$out/.config"
	quiet "${kmake[@]}" olddefconfig
	grep -qx 'CONFIG_RUST=y' "$out/.config" ||
		die "Kconfig dropped CONFIG_RUST with rustc $min (see 'make -C $src O=$out rustavailable')"
	quiet "${kmake[@]}" -j"$(($(nproc) + 1))" prepare rust/ ||
		die "the kernel's Rust does not build with rustc $min (rerun with V=1)"
	touch "$stamp"
	done_step
fi

# Object files only: modpost would need the vmlinux this tree does not build.
objs=(complete_dev.o complete_kthread.o)
[[ $(<"$out/.config") != *$'\nCONFIG_KUNIT=y\n'* ]] || objs+=(ext/kunit/complete_ext_kunit.o)
rc=0
make -C "$out" M="$TOP_DIR" clean >/dev/null 2>&1 || true
log=$(mktemp)
if ! make -C "$out" M="$TOP_DIR" CLIPPY=1 W=1 "${objs[@]}" >"$log" 2>&1; then
	cat "$log" >&2
	printf 'error: the modules do not build with rustc %s\n' "$min" >&2
	rc=1
elif grep -E -i 'warning|error' "$log" >&2; then
	printf 'error: rustc %s warns (see above)\n' "$min" >&2
	rc=1
fi
rm -f "$log"
# Leave no objects of the old compiler for the next build against the test kernel.
make -C "$out" M="$TOP_DIR" clean >/dev/null 2>&1 || true
((rc == 0)) && printf '    rustc %s: %s build, no warning\n' "$min" "${objs[*]}" >&2
exit "$rc"
