#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the host dependencies: Debian packages, bindgen-cli, rust-src, and
# the LLVM toolchain of rustc's own LLVM version (clang-N lld-N llvm-N
# libclang-N-dev, N from `rustc -vV`) where the distribution has it.
#
# Idempotent: anything already present is left alone, so a warm run takes
# about a second. Where it cannot install (not root, not Debian, registries
# unreachable) it stops and says exactly what to install by hand. Without a
# matching clang the kernel is built with GCC (one line says so);
# TOOLCHAIN=gcc skips the LLVM packages, TOOLCHAIN=llvm requires them.
source "$(dirname "$0")/lib.sh"

PKGS=(flex bison bc make gcc libc6-dev libelf-dev libssl-dev cpio xz-utils
	busybox-static kmod qemu-system-x86 "libclang-$LLVM_VERSION-dev"
	python3 python3-ply python3-git ca-certificates rsync fonts-dejavu-core shellcheck tmux)

# apt_candidate PKG: the version apt would install for PKG (empty if none). apt-cache's
# whole answer is read before it is matched: under pipefail, `apt-cache | grep -q` fails
# whenever grep stops reading before apt-cache has written its last line.
apt_candidate() {
	local out
	out=$(apt-cache policy "$1" 2>&1) || true
	sed -n 's/^ *Candidate: \([0-9].*\)$/\1/p' <<<"$out"
}

# apt_answer PKG: what apt says of PKG, on one line, for a message.
apt_answer() {
	local out
	out=$(apt-cache policy "$1" 2>&1) || true
	out=$(sed -n '/Candidate:\|Unable to locate\|^E:\|^W:/{s/^ *//;p}' <<<"$out" | paste -sd';' -)
	printf '%s\n' "${out:-nothing (no package lists?)}"
}

# lists_state: a fingerprint of apt's package lists (names, sizes, times): it changes with
# every apt-get update that brings something new.
lists_state() {
	local lists=/var/lib/apt/lists/
	eval "$(apt-config shell lists Dir::State::Lists/d)"
	find "$lists" -maxdepth 1 -type f -printf '%f %s %T@\n' 2>/dev/null | sort | sha256sum | cut -c1-16
}

# has_candidate PKG: apt can install PKG. If it cannot, the lists are refreshed once (as
# root) and asked again. A "no" after the refresh is remembered only for the lists it was
# read from: the stamp holds their fingerprint, and any later apt-get update voids it.
has_candidate() {
	local stamp=$CACHE_DIR/apt-no-$1
	[[ -z $(apt_candidate "$1") ]] || return 0
	if [[ -f $stamp && $(<"$stamp") == "$(lists_state)" ]]; then
		return 1
	fi
	if ((EUID == 0)); then
		quiet apt-get update || echo "warning: apt-get update failed; asking the lists apt has" >&2
	fi
	[[ -z $(apt_candidate "$1") ]] || { rm -f "$stamp"; return 0; }
	mkdir -p "$CACHE_DIR" && lists_state >"$stamp"
	return 1
}

n=$(rustc_llvm 2>/dev/null || true)
llvm_pkgs=()
if [[ -n $n && ${TOOLCHAIN:-} != gcc ]] && ! llvm_usable "$n"; then
	llvm_pkgs=("clang-$n" "lld-$n" "llvm-$n" "libclang-$n-dev")
	if [[ -r /etc/debian_version ]] && has_candidate "clang-$n"; then
		PKGS+=("${llvm_pkgs[@]}")
	elif [[ ${TOOLCHAIN:-} == llvm ]]; then
		die "TOOLCHAIN=llvm: rustc is built on LLVM $n but apt has no clang-$n (apt-cache policy clang-$n: $(apt_answer "clang-$n")); install them with 'apt-get install ${llvm_pkgs[*]}' (apt.llvm.org has them) or use TOOLCHAIN=gcc"
	else
		echo "note: building the kernel with GCC: rustc is built on LLVM $n and apt has no clang-$n (apt-cache policy clang-$n: $(apt_answer "clang-$n")); the LLVM build (Rust inlines the C helpers) needs ${llvm_pkgs[*]}" >&2
		llvm_pkgs=()
	fi
fi
# DEPS_PLAN=1: say the toolchain decision and stop before installing anything (the test of
# the decision, tools/tests/toolchain-decision.sh, runs it so).
if [[ ${DEPS_PLAN:-0} == 1 ]]; then
	if ((${#llvm_pkgs[@]})); then
		echo "plan: llvm-$n, installing ${llvm_pkgs[*]}"
	elif [[ -n $n && ${TOOLCHAIN:-} != gcc ]] && llvm_usable "$n"; then
		echo "plan: llvm-$n, installed"
	else
		echo "plan: gcc"
	fi
	exit 0
fi

manual_help() {
	cat >&2 <<MSG
error: $1
Install by hand, then rerun:
  apt-get install ${PKGS[*]}
  rustup component add rust-src
  cargo install --locked bindgen-cli --version $BINDGEN_VERSION
MSG
	exit 1
}

missing=()
for p in "${PKGS[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *'ok installed' ]] || missing+=("$p")
done

if ((${#missing[@]})); then
	[[ -r /etc/debian_version ]] || manual_help "this is not a Debian system"
	((EUID == 0)) || command -v sudo >/dev/null ||
		manual_help "not root and no sudo: cannot install ${missing[*]}"
	SUDO=()
	((EUID == 0)) || SUDO=(sudo)
	step "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	quiet "${SUDO[@]}" apt-get update ||
		manual_help "apt-get update failed (is the Debian mirror reachable?)"
	quiet "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" ||
		manual_help "apt-get install failed"
	done_step
fi

command -v rustup >/dev/null || manual_help "rustup not found (install Rust with rustup)"
components=$(rustup component list --installed 2>/dev/null) || true
if ! grep -q '^rust-src' <<<"$components"; then
	step "adding rust-src through rustup"
	quiet rustup component add rust-src || manual_help "rustup could not add rust-src"
	done_step
fi
for c in rustfmt clippy; do
	grep -q "^$c" <<<"$components" ||
		quiet rustup component add "$c" || manual_help "rustup could not add $c"
done

if [[ $(bindgen --version 2>/dev/null) != *" $BINDGEN_VERSION"* ]]; then
	step "installing bindgen-cli $BINDGEN_VERSION through cargo (about 1 min)"
	quiet cargo install --locked bindgen-cli --version "$BINDGEN_VERSION" ||
		manual_help "cargo install bindgen-cli failed (is crates.io reachable?)"
	done_step
fi

[[ -e $LIBCLANG_PATH/libclang.so ]] ||
	manual_help "libclang not found in $LIBCLANG_PATH"
exit 0
