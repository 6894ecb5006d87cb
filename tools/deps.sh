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
	python3 ca-certificates rsync fonts-dejavu-core shellcheck tmux)

# has_candidate PKG: apt can install PKG (refreshing the index once if it
# cannot; a stamp remembers a refresh that did not help).
has_candidate() {
	local stamp=$CACHE_DIR/apt-no-$1
	apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]' && return 0
	[[ -f $stamp ]] && return 1
	if ((EUID == 0)); then
		quiet apt-get update || true
	fi
	apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]' && return 0
	mkdir -p "$CACHE_DIR" && touch "$stamp"
	return 1
}

n=$(rustc_llvm 2>/dev/null || true)
if [[ -n $n && ${TOOLCHAIN:-} != gcc ]] && ! llvm_usable "$n"; then
	llvm_pkgs=("clang-$n" "lld-$n" "llvm-$n" "libclang-$n-dev")
	if [[ -r /etc/debian_version ]] && has_candidate "clang-$n"; then
		PKGS+=("${llvm_pkgs[@]}")
	elif [[ ${TOOLCHAIN:-} == llvm ]]; then
		die "TOOLCHAIN=llvm: rustc is built on LLVM $n but apt has no clang-$n; install ${llvm_pkgs[*]} (apt.llvm.org has them) or use TOOLCHAIN=gcc"
	else
		echo "note: building the kernel with GCC: rustc is built on LLVM $n and apt has no clang-$n; the LLVM build (Rust inlines the C helpers) needs ${llvm_pkgs[*]}" >&2
	fi
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
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
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
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	step "adding rust-src through rustup"
	quiet rustup component add rust-src || manual_help "rustup could not add rust-src"
	done_step
fi
for c in rustfmt clippy; do
	rustup component list --installed 2>/dev/null | grep -q "^$c" ||
		quiet rustup component add "$c" || manual_help "rustup could not add $c"
done

if ! bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	step "installing bindgen-cli $BINDGEN_VERSION through cargo (about 1 min)"
	quiet cargo install --locked bindgen-cli --version "$BINDGEN_VERSION" ||
		manual_help "cargo install bindgen-cli failed (is crates.io reachable?)"
	done_step
fi

[[ -e $LIBCLANG_PATH/libclang.so ]] ||
	manual_help "libclang not found in $LIBCLANG_PATH"
exit 0
