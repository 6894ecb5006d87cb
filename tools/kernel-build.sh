#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the guest kernel: tinyconfig + tools/kernel.config, plus
# the toolchain's fragment (tools/kernel-llvm.config on clang) and the
# variant's (tools/kernel-$KVARIANT.config), merged in that order.
#
# Environment:
#   KVARIANT   debug (default: the test kernel, lock debugging on) | perf
#              (`make bench`: lock debugging off) | any tools/kernel-<name>.config
#   TOOLCHAIN  llvm | gcc (default: llvm when the clang of rustc's LLVM is
#              installed, see toolchain in tools/lib.sh)
#   KSRC       build this source tree instead of the cached Debian one (tools/upstream-check.sh:
#              the Debian tree with upstream/'s series applied); KSRC_ID names its content: a
#              build whose stamp holds another KSRC_ID is redone, incrementally, in the same
#              directory
#   KOUT       the build directory (default: keyed in the cache, below)
#   KCONFIG_ONLY=1  configure $KOUT only (kept as it is while the key is unchanged), print it
#              and stop: for builds of single directories (tools/upstream-check.sh's per-patch
#              builds); an option the tree's Kconfig lacks is named, not fatal
#
# Each toolchain and variant has its own build directory, keyed by the source
# version, the fragments, and the rustc, bindgen and compiler versions, in
# the cache outside the clone. A finished build leaves a stamp; with the stamp
# present this script does no kernel work at all. Prints the build directory
# (the KDIR) on stdout and records it in $CACHE_DIR/kdir-<toolchain>-<variant>;
# the default toolchain's debug kernel also goes to current-kdir.
source "$(dirname "$0")/lib.sh"

variant=${KVARIANT:-debug}
tc=$(toolchain)
frags=("$TOOLS_DIR/kernel.config")
kmake_args=(ARCH=x86_64)
if [[ $tc == llvm-* ]]; then
	kmake_args+=("LLVM=-${tc#llvm-}")
	export LIBCLANG_PATH=/usr/lib/$tc/lib
	frags+=("$TOOLS_DIR/kernel-llvm.config")
	cc_version=$(clang-"${tc#llvm-}" --version | sed -n 1p)
else
	cc_version=$(gcc --version | sed -n 1p)
fi
[[ $variant != upstream || -n ${KSRC:-} ]] ||
	die "KVARIANT=upstream is the kernel of the tree with upstream/'s series applied: run 'make upstream-check', which builds it"
if [[ $variant != debug ]]; then
	vfrag=$TOOLS_DIR/kernel-$variant.config
	[[ -f $vfrag ]] || die "KVARIANT=$variant: no $vfrag (variants: debug, $(cd "$TOOLS_DIR" &&
		find . -maxdepth 1 -name 'kernel-*.config' -printf '%f\n' | sort |
			sed -n 's/^kernel-\(.*\)\.config$/\1/p' | grep -vx llvm | paste -sd, -))"
	# A fragment that needs clang says so in a `# toolchain: llvm` line.
	if grep -qx '# toolchain: llvm' "$vfrag" && [[ $tc != llvm-* ]]; then
		die "KVARIANT=$variant needs the LLVM toolchain (clang of rustc's LLVM, $(rustc_llvm)); run tools/deps.sh, or install clang-$(rustc_llvm) lld-$(rustc_llvm) llvm-$(rustc_llvm) libclang-$(rustc_llvm)-dev"
	fi
	frags+=("$vfrag")
fi

src=$("$TOOLS_DIR/kernel-source.sh")
version=$(cat "$CACHE_DIR/source-version")
if [[ -n ${KSRC:-} ]]; then
	[[ -f $KSRC/Makefile && -f $KSRC/scripts/kconfig/merge_config.sh ]] || die "KSRC=$KSRC is not a kernel source tree"
	src=$KSRC
fi
# The options of the fragments make the key, not their comments.
key=$({
	printf '%s\n' "$version"
	grep -hE '^(CONFIG_|# CONFIG_.* is not set$)' "${frags[@]}"
	rustc --version
	bindgen --version 2>/dev/null
	printf '%s\n' "$cc_version"
} | sha256sum | cut -c1-12)
out=${KOUT:-$CACHE_DIR/build/$version-$tc-$variant-$key}
stamp=$out/.complete-dev-built

# record: remember $out as the kernel of this toolchain and variant.
record() {
	printf '%s\n' "$out" >"$CACHE_DIR/kdir-$tc-$variant"
	[[ $variant == debug && $tc == $(TOOLCHAIN='' toolchain) ]] &&
		printf '%s\n' "$out" >"$CACHE_DIR/current-kdir"
	printf '%s\n' "$out"
}

if [[ ${KCONFIG_ONLY:-0} != 1 && -f $stamp && $(<"$stamp") == "${KSRC_ID:-}" ]]; then
	printf '    kernel: %s (cached)\n' "$out" >&2
	record
	exit 0
fi

kmake() {
	make -C "$src" O="$out" "${kmake_args[@]}" "$@"
}

names=("${frags[@]#"$TOOLS_DIR"/}")
mkdir -p "$out"
# A configured tree of the same key (KSRC_ID changed, or KCONFIG_ONLY) is kept as it is while no
# Kconfig file is newer than its .config: reconfiguring would only cost time, and a rebuild of
# the Rust crates, which depend on every option.
rm -f "$stamp"
if [[ -f $out/.config && $(cat "$out/.complete-dev-config" 2>/dev/null) == "$key" &&
	-z $(find "$src" -name 'Kconfig*' -newer "$out/.config" -print -quit) ]]; then
	configured=1
else
	configured=0
fi
if ((configured)) && [[ ${KCONFIG_ONLY:-0} == 1 ]]; then
	printf '%s\n' "$out"
	exit 0
fi
if ((!configured)); then
	step "configuring Linux $version, $variant kernel, $tc (tinyconfig + ${names[*]})"
	quiet kmake tinyconfig
	quiet "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}"
	quiet kmake olddefconfig
	# Every option the fragments ask for must really be set (or really be off, for
	# `# CONFIG_X is not set`); a later fragment overrides an earlier one.
	declare -A want=()
	for f in "${frags[@]}"; do
		while IFS= read -r line; do
			if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= || $line =~ ^\#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
				want[${BASH_REMATCH[1]}]=$line
			fi
		done <"$f"
	done
	dropped=()
	for opt in "${!want[@]}"; do
		line=${want[$opt]}
		if [[ $line == \#* ]]; then
			! grep -q "^$opt=" "$out/.config" || dropped+=("$line")
		else
			grep -qxF "$line" "$out/.config" || dropped+=("$line")
		fi
	done
	if ((${#dropped[@]})) && [[ ${KCONFIG_ONLY:-0} == 1 ]]; then
		printf '    not in this tree'"'"'s Kconfig (yet): %s\n' "${dropped[@]}" >&2
	elif ((${#dropped[@]})); then
		printf '  asked for, but Kconfig has: %s\n' "${dropped[@]}" >&2
		for l in "${dropped[@]}"; do
			l=${l#\# }
			l=${l%% *}
			grep -E "^(# )?${l%%=*}[= ]" "$out/.config" >&2 || true
		done
		die "Kconfig did not keep options of ${names[*]} (see above); check their dependencies ('make -C $src O=$out ${kmake_args[*]} menuconfig', then search)"
	fi
	quiet kmake rustavailable ||
		die "the Rust toolchain is not usable for this kernel; run tools/deps.sh and see 'make -C $src O=$out ${kmake_args[*]} rustavailable'"
	printf '%s\n' "$key" >"$out/.complete-dev-config"
	done_step
fi
if [[ ${KCONFIG_ONLY:-0} == 1 ]]; then
	printf '%s\n' "$out"
	exit 0
fi

# Measured on 2 cores: clang 6.5 min, GCC 7.5 to 13 min, more when
# other builds share the cores.
step "building Linux $version with Rust, $variant, $tc (5 to 13 min on 2 cores)"
long kmake -j"$(($(nproc) + 1))" bzImage modules ||
	die "kernel build failed; rerun with V=1 to see the compiler output"
done_step

"$TOOLS_DIR/layout-check.sh" "$out"
printf '%s' "${KSRC_ID:-}" >"$stamp"
printf '    kernel: %s\n' "$out" >&2
record
