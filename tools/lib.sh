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

# kdir: the kernel build directory the module is built against.
kdir() {
	if [[ -n ${KDIR:-} ]]; then
		printf '%s\n' "$KDIR"
	else
		cat "$CACHE_DIR/current-kdir" 2>/dev/null ||
			die "no kernel built yet: run 'make kernel' first"
	fi
}

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
