#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Test of the match check that runs before Debian's kernel boots (tools/debian-match.sh), on
# small synthetic modules: an object with a .modinfo vermagic, a .comment naming its rustc
# and imports of Rust and rust_helper_ symbols, as a module has, against a kernel directory
# with a .config, Module.symvers and release like Debian's. The module of the right rustc
# passes; the one of rustup's 1.85.1 (no "(built from a source tarball)", hence another hash
# of the kernel crate) and one of another release are refused, naming what differs.
source "$(dirname "$0")/../lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
readonly REL=7.3.4+deb13-amd64
readonly DEBIAN_RUSTC='rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)'
readonly RUSTUP_RUSTC='rustc 1.85.1 (4eb161250 2025-03-15)'
# The same kernel crate function under Debian's hash and under rustup's.
readonly SYM=_RNvNtCsb5MLIFMWygY_6kernel5print11call_printk
readonly SYM_RUSTUP=_RNvNtCsldbe0TGTmNx_6kernel5print11call_printk

mkdir -p "$dir/kernel"
printf 'CONFIG_RUST=y\nCONFIG_RUSTC_VERSION_TEXT="%s"\n' "$DEBIAN_RUSTC" >"$dir/kernel/config"
printf '0x00000000\t%s\tvmlinux\tEXPORT_SYMBOL_GPL\t\n' "$SYM" rust_helper_mutex_lock printk \
	>"$dir/kernel/Module.symvers"
printf '%s\n' "$REL" >"$dir/kernel/release"

# fake NAME RELEASE RUSTC SYMBOL: a module-like object importing SYMBOL and rust_helper_mutex_lock.
fake() {
	cat >"$dir/$1.c" <<EOF
#ident "rustc version ${3#rustc }"
static const char vermagic[] __attribute__((section(".modinfo"), used)) =
	"vermagic=$2 SMP preempt mod_unload ";
extern void rust_sym(void) __asm__("$4");
extern void rust_helper_mutex_lock(void);
void entry(void) { rust_sym(); rust_helper_mutex_lock(); }
EOF
	gcc -c -o "$dir/$1.ko" "$dir/$1.c" || die "cannot compile the synthetic module $1 (is gcc installed?)"
}

fake good "$REL" "$DEBIAN_RUSTC" "$SYM"
fake rustup "$REL" "$RUSTUP_RUSTC" "$SYM_RUSTUP"
fake release 7.2.13+deb14-amd64 "$DEBIAN_RUSTC" "$SYM"
# A module in C: no rustc in its .comment, no Rust import.
cat >"$dir/c.c" <<EOF
static const char vermagic[] __attribute__((section(".modinfo"), used)) = "vermagic=$REL SMP preempt mod_unload ";
extern void printk(void);
void entry(void) { printk(); }
EOF
gcc -c -o "$dir/c.ko" "$dir/c.c" || die "cannot compile the synthetic C module"

"$TOOLS_DIR/debian-match.sh" "$dir/kernel" "$dir/good.ko" "$dir/c.ko" 2>"$dir/out" ||
	{ cat "$dir/out" >&2; die "the matching synthetic module is refused"; }
out=$(cat "$dir/out")
[[ $out == *"2 Rust and rust_helper_ symbols imported"* ]] || die "the match line does not count the 2 imports: $out"

"$TOOLS_DIR/debian-match.sh" "$dir/kernel" "$dir/rustup.ko" 2>"$dir/out" &&
	die "the module of rustup's rustc passes the match check"
out=$(cat "$dir/out")
for want in "built by '$RUSTUP_RUSTC', the kernel by '$DEBIAN_RUSTC'" \
	"1 of its 2 Rust and rust_helper_ imports are not in the kernel's Module.symvers, e.g. $SYM_RUSTUP" \
	"its kernel crate is Csldbe0TGTmNx, the kernel's is Csb5MLIFMWygY"; do
	[[ $out == *"$want"* ]] || { printf '%s\n' "$out" >&2; die "the refusal of rustup's module does not say: $want"; }
done

"$TOOLS_DIR/debian-match.sh" "$dir/kernel" "$dir/good.ko" "$dir/release.ko" 2>"$dir/out" &&
	die "a module for release 7.2.13+deb14-amd64 passes the match check"
out=$(cat "$dir/out")
[[ $out == *"release.ko: vermagic '7.2.13+deb14-amd64 SMP preempt mod_unload' is not for the kernel's release $REL"* ]] ||
	{ printf '%s\n' "$out" >&2; die "the refusal of another release's module does not name its vermagic"; }
[[ $out != *good.ko* ]] || { printf '%s\n' "$out" >&2; die "the refusal blames the matching module too"; }
echo "    match check: the right module passes; rustup's rustc and another release are refused, with the reason"
