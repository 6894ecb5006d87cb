#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the guest kernel: tinyconfig + tools/kernel.config.
#
# The build directory is keyed by the source version, the fragment, and the
# rustc, bindgen and gcc versions, and lives in the cache outside the clone.
# A finished build leaves a stamp; with the stamp present this script does no
# kernel work at all. Prints the build directory (the KDIR) on stdout.
source "$(dirname "$0")/lib.sh"

src=$("$TOOLS_DIR/kernel-source.sh")
version=$(cat "$CACHE_DIR/source-version")
frag=$TOOLS_DIR/kernel.config
key=$({
	printf '%s\n' "$version"
	cat "$frag"
	rustc --version
	bindgen --version 2>/dev/null
	gcc --version | head -n1
} | sha256sum | cut -c1-12)
out=$CACHE_DIR/build/$version-$key
stamp=$out/.complete-dev-built

if [[ -f $stamp ]]; then
	printf '%s\n' "$out" >"$CACHE_DIR/current-kdir"
	printf '    kernel: %s (cached)\n' "$out" >&2
	printf '%s\n' "$out"
	exit 0
fi

kmake() {
	make -C "$src" O="$out" ARCH=x86_64 "$@"
}

mkdir -p "$out"
step "configuring Linux $version (tinyconfig + tools/kernel.config)"
quiet kmake tinyconfig
quiet "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
quiet kmake olddefconfig
# Every option we asked for must really be set.
dropped=()
while IFS= read -r line; do
	[[ $line =~ ^CONFIG_ ]] || continue
	grep -qxF "$line" "$out/.config" || dropped+=("$line")
done <"$frag"
if ((${#dropped[@]})); then
	printf '  asked for, but Kconfig has: %s\n' "${dropped[@]}" >&2
	for l in "${dropped[@]}"; do grep -E "^(# )?${l%%=*}[= ]" "$out/.config" >&2 || true; done
	die "Kconfig dropped options from tools/kernel.config (see above); check their dependencies ('make -C $src O=$out menuconfig', then search)"
fi
quiet kmake rustavailable ||
	die "the Rust toolchain is not usable for this kernel; run tools/deps.sh and see 'make -C $src O=$out rustavailable'"
done_step

step "building Linux $version with Rust (7 to 13 min on 2 cores)"
long kmake -j"$(($(nproc) + 1))" bzImage modules ||
	die "kernel build failed; rerun with V=1 to see the compiler output"
done_step

"$TOOLS_DIR/layout-check.sh" "$out"
touch "$stamp"
printf '%s\n' "$out" >"$CACHE_DIR/current-kdir"
printf '    kernel: %s\n' "$out" >&2
printf '%s\n' "$out"
