#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Test of the KDIR pre-flight (tools/kdir-check.sh) through its real entry points:
# `make demo KDIR=<tree without CONFIG_DEVPORT>` fails within 5 s naming the option, before
# building anything; each option the check job needs, taken alone out of our kernel's
# .config, is named; our kernel's .config passes for every job. The fake trees are
# directories holding only a .config.
source "$(dirname "$0")/../lib.sh"
# The pre-flight of the project's kernels and of KDIR= trees, also under make check KERNEL=debian.
export KERNEL=

real=$(kdir)/.config
[[ -f $real ]] || die "no kernel .config at $real: run 'make kernel' first"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/fake"

for job in demo demo-kthread shell bench check; do
	"$TOOLS_DIR/kdir-check.sh" "$job" "$(kdir)" || die "our own kernel fails the pre-flight of $job"
done

grep -v '^CONFIG_DEVPORT=' "$real" >"$dir/fake/.config"
t0=$(date +%s%N)
rc=0
env -u MAKEFLAGS -u MAKELEVEL make -C "$TOP_DIR" demo KDIR="$dir/fake" >"$dir/out" 2>&1 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
((rc != 0)) || die "make demo KDIR=<no DEVPORT> succeeded"
grep -q 'CONFIG_DEVPORT=y' "$dir/out" || { cat "$dir/out" >&2; die "make demo KDIR=<no DEVPORT> did not name CONFIG_DEVPORT"; }
! grep -q 'building the module' "$dir/out" || die "make demo KDIR=<no DEVPORT> built the modules first"
((ms < 5000)) || die "make demo KDIR=<no DEVPORT> took ${ms} ms to fail (limit 5 s)"

# Everything the check job needs, as the pre-flight names it against an empty .config.
: >"$dir/fake/.config"
mapfile -t opts < <("$TOOLS_DIR/kdir-check.sh" check "$dir/fake" 2>&1 | sed -n 's/^  CONFIG_\([A-Z0-9_]*\)=y .*/\1/p')
((${#opts[@]} >= 10)) || die "the pre-flight names only ${#opts[@]} options against an empty .config"
for o in DEVPORT SERIAL_8250_CONSOLE BLK_DEV_INITRD DEVTMPFS RUST MODULE_UNLOAD PROVE_LOCKING; do
	[[ " ${opts[*]} " == *" $o "* ]] || die "the pre-flight of check does not ask for CONFIG_$o"
done
for o in "${opts[@]}"; do
	grep -v "^CONFIG_$o=" "$real" >"$dir/fake/.config"
	"$TOOLS_DIR/kdir-check.sh" check "$dir/fake" 2>"$dir/out" && die "a .config without CONFIG_$o passes"
	grep -q "^  CONFIG_$o=y " "$dir/out" || die "a .config without CONFIG_$o: not named"
done
printf '    kdir-check: make demo failed in %d ms naming CONFIG_DEVPORT; %d options checked one by one\n' \
	"$ms" "${#opts[@]}" >&2
