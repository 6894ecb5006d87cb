# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared settings and helpers for the tools/ scripts. Sourced, never run.
#
# Every script prints one progress line per long step ("==> step ... (12s)")
# and hides tool output unless V=1, in which case everything is shown.

set -euo pipefail

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$TOOLS_DIR/.." && pwd)

# Kernel series: the newest that tools/kernels declares supported and $KSUITES
# offer (tools/kernel-series.sh pick), unless KSERIES= forces one.
KSERIES=${KSERIES:-}
KSUITES=${KSUITES:-trixie-backports sid}
# Pinned host tools.
BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}
# libclang for bindgen when the kernel is built with GCC (Debian 12's LLVM).
LLVM_VERSION=${LLVM_VERSION:-19}

# Everything heavy lives outside the clone so a fresh clone reuses it.
CACHE_DIR=${COMPLETE_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/complete-dev}
# Per-clone build outputs (initramfs, logs, test binaries).
BUILD_DIR=${BUILD_DIR:-$TOP_DIR/build}

V=${V:-0}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-$LLVM_VERSION/lib}
export PATH="$HOME/.cargo/bin:$PATH"

_t0=$(date +%s)

# step NAME: announce a long step.
step() {
	printf '==> %s\n' "$*" >&2
	_step_t0=$(date +%s)
}

# done_step: report how long the last step took.
done_step() {
	printf '    done in %ss\n' "$(($(date +%s) - _step_t0))" >&2
}

# die MSG...: print an error with what to do and exit non-zero.
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# quiet CMD...: run CMD, showing its output only with V=1 or on failure.
quiet() {
	if [[ $V == 1 ]]; then
		"$@"
		return
	fi
	local log
	log=$(mktemp)
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		rm -f "$log"
		printf 'error: command failed: %s (rerun with V=1 for full output)\n' "$*" >&2
		return 1
	fi
	rm -f "$log"
}

# long CMD...: like quiet, but prints the elapsed time every 30 s.
long() {
	if [[ $V == 1 ]]; then
		"$@"
		return
	fi
	local log pid rc=0 t0=$SECONDS next=30
	log=$(mktemp)
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if ((SECONDS - t0 >= next)); then
			printf '    ... %ss\n' "$((SECONDS - t0))" >&2
			next=$((next + 30))
		fi
	done
	wait "$pid" || rc=$?
	if ((rc)); then
		tail -n 40 "$log" >&2
		printf 'error: command failed: %s (rerun with V=1 for full output)\n' "$*" >&2
	fi
	rm -f "$log"
	return "$rc"
}

# ensure_kernel: print the kernel tree to build against: $KDIR if set, else the cached kernel
# of $TOOLCHAIN and $KVARIANT (default debug), installing the host tools and building it first
# if it is missing.
ensure_kernel() {
	if [[ -n ${KDIR:-} ]]; then
		printf '%s\n' "$KDIR"
		return
	fi
	"$TOOLS_DIR/deps.sh"
	"$TOOLS_DIR/kernel-build.sh"
}

# kdir: the kernel build directory the module is built against: $KDIR, else
# the cached kernel of tools/kernel-build.sh for $TOOLCHAIN and $KVARIANT
# (current-kdir: the default toolchain's debug kernel).
kdir() {
	if [[ -n ${KDIR:-} ]]; then
		printf '%s\n' "$KDIR"
	elif [[ -n ${TOOLCHAIN:-}${KVARIANT:-} ]]; then
		cat "$CACHE_DIR/kdir-$(toolchain)-${KVARIANT:-debug}" 2>/dev/null ||
			die "no ${KVARIANT:-debug} kernel built with $(toolchain) yet: run 'make kernel${TOOLCHAIN:+ TOOLCHAIN=$TOOLCHAIN}${KVARIANT:+ KVARIANT=$KVARIANT}' first"
	else
		cat "$CACHE_DIR/current-kdir" 2>/dev/null ||
			die "no kernel built yet: run 'make kernel' first"
	fi
}

# KERNEL=debian: the VM boots Debian's own kernel, unmodified, and the modules are built to
# match it in a trixie chroot (tools/debian-kernel.sh); empty: the project's kernel.
KERNEL=${KERNEL:-}
case $KERNEL in
'' | debian) ;;
*) die "KERNEL must be debian or empty (got '$KERNEL'): KERNEL=debian boots Debian's own kernel" ;;
esac
[[ $KERNEL != debian || -z ${KDIR:-} ]] ||
	die "KERNEL=debian and KDIR=$KDIR exclude each other: KERNEL=debian builds against Debian's kernel, KDIR= against your tree; give one"

# debian_dir: where Debian's kernel is kept (vmlinuz, config, Module.symvers, release).
debian_dir() {
	cat "$CACHE_DIR/debian/current" 2>/dev/null ||
		die "Debian's kernel is not fetched yet: run 'make KERNEL=debian' first"
}

# What the test kernel has for the tests' sake and a distribution kernel lacks, "name|options":
# on a kernel without all of a feature's options, the guest check reports what needs it as not
# available on that kernel, by name (tools/guest/check.sh, cdunavail=), and never counts it.
TEST_FEATURES=(
	"kunit|KUNIT"
	"lockdep|PROVE_LOCKING DEBUG_ATOMIC_SLEEP"
	"faults|FAULT_INJECTION FAILSLAB FAIL_PAGE_ALLOC FAULT_INJECTION_DEBUG_FS"
)

# unavailable_features CONFIG: the TEST_FEATURES that CONFIG lacks, comma-separated.
unavailable_features() {
	local f opt out=
	for f in "${TEST_FEATURES[@]}"; do
		for opt in ${f#*|}; do
			if ! grep -qx "CONFIG_$opt=y" "$1"; then
				out+=${out:+,}${f%%|*}
				break
			fi
		done
	done
	printf '%s\n' "$out"
}

# kernel_config: the .config of the kernel the VM boots.
kernel_config() {
	if [[ $KERNEL == debian ]]; then
		printf '%s/config\n' "$(debian_dir)"
	else
		printf '%s/.config\n' "$(kdir)"
	fi
}

# The sanitizer kernel's VM arguments (KVARIANT=sanitize), without the soak: for `make check
# SANITIZE=1` (which adds it) and the `kernel: sanitize` mutants of `make mutants`.
# cdsanitize=1: the guest check tests that the detectors are on and ends with a kmemleak scan.
# cdksft_timeout=2400: KASAN under TCG takes its time: the kselftest alone outlasts the 600 s of
# its settings file there.
# no5lvl: 4-level paging. With QEMU's LA57, an interrupt that lands while identify_cpu()
# rebuilds the boot CPU's capabilities sees pgtable_l5_enabled() false for a moment, and KASAN
# reports the 5-level direct map address of an irq_desc lock as a wild access (seen once
# at 0.003 s of a boot: "BUG: KASAN: wild-memory-access in do_raw_spin_lock", handle_edge_irq
# over identify_boot_cpu), before any module is loaded.
# shellcheck disable=SC2034 # used by the scripts that source this file
SANITIZE_VM_ARGS=(cdsanitize=1 cdksft_timeout=2400 no5lvl)

# The kernel log patterns that fail a run, shared with the kselftest (see the file's header).
LOG_PATTERNS=$TOP_DIR/userspace-test/log-patterns.txt

# _log_ere SED_SCRIPT: the patterns SED_SCRIPT prints, as one ERE that matches where one of
# them starts a word (empty if there are none).
_log_ere() {
	local alt
	alt=$(sed -n "$1" "$LOG_PATTERNS" | sed 's/[][\\.*^$+?(){}|]/\\&/g' | paste -sd'|')
	[[ -z $alt ]] || printf '(^|[^[:alnum:]_])(%s)\n' "$alt"
}

# log_errors FILE: print the lines of FILE (with their numbers) that report a kernel bug;
# status 0 if there is one, 1 if there is none.
log_errors() {
	[[ -r $1 && -r $LOG_PATTERNS ]] || die "log_errors: cannot read $1 or $LOG_PATTERNS"
	local bad ok
	bad=$(_log_ere '/^[^#!]/p')
	ok=$(_log_ere 's/^!//p')
	if [[ -z $ok ]]; then
		LC_ALL=C grep -nE "$bad" "$1"
	else
		LC_ALL=C grep -nE "$bad" "$1" | LC_ALL=C grep -vE "$ok"
	fi
}

# shell_scripts: every shell script of the clone, by name or by its #! line, relative to
# the top.
shell_scripts() {
	local f
	git -C "$TOP_DIR" ls-files | while IFS= read -r f; do
		[[ -f $TOP_DIR/$f && ! -L $TOP_DIR/$f ]] || continue
		if [[ $f == *.sh ]] || grep -qE '^#!.*[/ ](ba|da)?sh$' <<<"$(sed -n 1p "$TOP_DIR/$f")"; then
			printf '%s\n' "$f"
		fi
	done
}

# rustc_llvm: the major version of the LLVM that rustc is built on.
rustc_llvm() {
	rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'
}

# Where Debian installs LLVM N: $LLVM_ROOT/llvm-N (tools/tests/toolchain-decision.sh points
# LLVM_ROOT elsewhere to play a machine that has or lacks it).
LLVM_ROOT=${LLVM_ROOT:-/usr/lib}

# llvm_usable N: clang, lld, the LLVM binutils and libclang of LLVM N are installed.
llvm_usable() {
	local f
	for f in bin/clang bin/ld.lld bin/llvm-ar lib/libclang.so; do
		[[ -e $LLVM_ROOT/llvm-$1/$f ]] || return 1
	done
}

# toolchain: what the kernel is built with, `llvm-N` or `gcc`. LLVM when the
# clang of rustc's own LLVM version is installed (tools/deps.sh installs it
# where the distribution has it): only then can Rust inline the kernel's C
# helpers (CONFIG_RUST_INLINE_HELPERS). TOOLCHAIN=llvm|gcc forces one.
toolchain() {
	local n
	n=$(rustc_llvm)
	case ${TOOLCHAIN:-} in
	gcc) echo gcc ;;
	llvm)
		llvm_usable "$n" ||
			die "TOOLCHAIN=llvm needs clang-$n lld-$n llvm-$n libclang-$n-dev (rustc is built on LLVM $n): install them or use TOOLCHAIN=gcc"
		echo "llvm-$n"
		;;
	'') if llvm_usable "$n"; then echo "llvm-$n"; else echo gcc; fi ;;
	*) die "TOOLCHAIN must be llvm or gcc (got '$TOOLCHAIN')" ;;
	esac
}

# kbuild_env KDIR: export what kbuild needs to build against KDIR with the
# compiler that built it: LLVM=-N for a clang-built tree (read from its
# .config), unless LLVM is set already.
kbuild_env() {
	local v
	v=$(sed -n 's/^CONFIG_CLANG_VERSION=\([1-9][0-9]*\)$/\1/p' "$1/.config" 2>/dev/null || true)
	[[ -n $v ]] || return 0
	export LLVM=${LLVM:--$((v / 10000))}
	export LIBCLANG_PATH=/usr/lib/llvm-$((v / 10000))/lib
}

# The private apt configuration under the cache (tools/kernel-source.sh sets it up): the
# kernel packages of $KSUITES, which the host's apt sources do not carry, without touching
# the system's sources or upgrading anything on it.
APT_DIR=$CACHE_DIR/apt

# mirror: the Debian mirror the host already uses (MIRROR= overrides).
mirror() {
	if [[ -n ${MIRROR:-} ]]; then
		printf '%s\n' "$MIRROR"
		return
	fi
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '!m && /^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { m = $i; break } } END { if (m) print m }')
	[[ -n $m ]] || m=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -v security | awk '!m { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { m = $i; break } } END { if (m) print m }')
	[[ -n $m ]] || die "cannot find a Debian mirror in the apt sources; set MIRROR=http://<mirror>/debian"
	printf '%s\n' "$m"
}

# keyring: the Debian archive keyring that holds the trixie keys.
keyring() {
	local k
	for k in /usr/share/keyrings/debian-archive-trixie-automatic.gpg \
		/usr/share/keyrings/debian-archive-keyring.gpg; do
		[[ -r $k ]] && { printf '%s\n' "$k"; return; }
	done
	die "no Debian archive keyring with the trixie keys: apt-get install debian-archive-keyring"
}

# papt APT-COMMAND ARGS...: an apt command on the private configuration.
papt() {
	"$1" -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
		-o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
		-o Dir::Etc::Preferences="$APT_DIR/preferences" \
		-o Dir::Etc::PreferencesParts="$APT_DIR/preferences.d" \
		-o Dir::State::Lists="$APT_DIR/lists" \
		-o Dir::State::status="$APT_DIR/status" \
		-o Dir::Cache="$APT_DIR/cache" \
		-o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache= \
		-o Dir::Cache::Archives="$APT_DIR/archives" \
		-o APT::Sandbox::User=root \
		"${@:2}"
}
