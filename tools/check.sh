#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: everything the project can verify, host side then VM side.
# Prints one line per check and a summary; exits non-zero on any failure.
#
# SANITIZE=1 (`make check SANITIZE=1`): the same checks on the sanitizer kernel
# (KVARIANT=sanitize: KASAN, UBSAN, kmemleak, debugobjects, fault injection;
# clang only), plus in the VM a kmemleak scan after every test and a soak of a
# million random operations; the demo and shell checks are left to the
# default run.
#
# KERNEL=debian (`make check KERNEL=debian`): the same checks on Debian's own kernel, the
# modules built in its trixie chroot and matched to it (tools/debian-kernel.sh); what needs
# options that kernel lacks (KUnit, lock debugging, fault injection) is reported by name as not
# available on it, never counted as passed. The checks that need the project's kernel (struct
# layout, the minimum Rust build, the KDIR pre-flight's test) are the default run's.
# KCSAN=1 (`make check KCSAN=1`): the same checks on the race-detector kernel
# (KVARIANT=kcsan: KCSAN in strict mode, reporting races of unknown origin;
# clang only), plus in the VM a check that KCSAN is on and a soak of
# concurrent reads, writes and ioctls with KCSAN watching more often than by
# default (docs/kcsan.md); any KCSAN report fails the run, and so does a race KCSAN counted
# (data_races, printed before and after the tests) that the log and its counters do not
# account for.
source "$(dirname "$0")/lib.sh"

SANITIZE=${SANITIZE:-0}
KCSAN=${KCSAN:-0}
[[ $SANITIZE == 1 && $KCSAN == 1 ]] &&
	die "SANITIZE=1 and KCSAN=1 need two different kernels (KCSAN depends on !KASAN): run 'make check SANITIZE=1' and 'make check KCSAN=1' one after the other"
vm_args=()
if [[ $SANITIZE == 1 ]]; then
	export KVARIANT=sanitize
	# SANITIZE_VM_ARGS (lib.sh: cdsanitize=1 cdksft_timeout=2400 no5lvl, and why), and the soak.
	vm_args=("${SANITIZE_VM_ARGS[@]}" "cdsoak=${SANITIZE_SOAK_OPS:-1000000}")
	# KASAN under TCG, and the million-operation soak, take their time: the kselftest alone
	# outlasts the 600 s of its settings file there.
	export VM_TIMEOUT=${VM_TIMEOUT:-3600}
elif [[ $KCSAN == 1 ]]; then
	export KVARIANT=kcsan
	vm_args=(cdkcsan=1 "cdsoak=${KCSAN_SOAK_OPS:-200000}" "cdkcsan_skip=${KCSAN_SOAK_SKIP_WATCH:-400}"
		cdksft_timeout=2400 kcsan.weak_memory=0 kcsan.interrupt_watcher=0)
	# Weak-memory modelling and the interrupt watcher off: their reports of the kernel's own
	# races name, for the task's side, whatever function ran after the access (lockdep's, the
	# clock event code) instead of the one that made it, so no exception can name them; the
	# driver's accesses are invisible to the first, and it has no interrupt context for the
	# second (docs/kcsan.md). VM_APPEND=kcsan.weak_memory=1 kcsan.interrupt_watcher=1 turns
	# them back on.
	# Every watchpoint stalls its access for tens of microseconds, under TCG: the kselftest
	# alone can outlast the 600 s of its settings file.
	export VM_TIMEOUT=${VM_TIMEOUT:-3600}
fi

passed=0
failed=0
failures=()
# check NAME CMD...: run one check and record it.
check() {
	local name=$1
	shift
	printf -- '--> %s\n' "$name"
	if "$@"; then
		printf 'ok   %s\n' "$name"
		passed=$((passed + 1))
	else
		printf 'FAIL %s\n' "$name"
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

kernel_rs() {
	git -C "$TOP_DIR" ls-files '*.rs' | grep -vE '^(userspace-test|bench|tools)/' | sed "s|^|$TOP_DIR/|"
}

# A KDIR that cannot run the VM check fails now, not after the build.
[[ -z ${KDIR:-}$KERNEL ]] || "$TOOLS_DIR/kdir-check.sh" check
"$TOOLS_DIR/deps.sh"
mapfile -t scripts < <(shell_scripts)
check "shellcheck (${#scripts[@]} shell scripts)" env -C "$TOP_DIR" shellcheck -x -P SCRIPTDIR "${scripts[@]}"
own_kernel=0
if [[ $KERNEL == debian ]]; then
	"$TOOLS_DIR/debian-kernel.sh" prepare >/dev/null ||
		die "fetching or preparing Debian's kernel failed; nothing else can be checked"
elif [[ -z ${KDIR:-} ]]; then
	own_kernel=1
	KDIR=$(ensure_kernel) || die "the kernel build failed; nothing else can be checked"
	export KDIR
fi
mapfile -t kernel_rs_files < <(kernel_rs)
check "rustfmt (kernel Rust)" rustfmt --check --edition 2021 "${kernel_rs_files[@]}"
# cargo runs in the crate's directory: that is where it reads .cargo/config.toml.
for crate in userspace-test bench tools/timeline; do
	check "cargo fmt ($crate)" cargo fmt --manifest-path "$TOP_DIR/$crate/Cargo.toml" --check
	check "cargo clippy -D warnings ($crate)" \
		quiet env -C "$TOP_DIR/$crate" cargo clippy --locked --all-targets -- -D warnings
done
check "cargo test (userspace-test, host unit tests)" \
	quiet env -C "$TOP_DIR/userspace-test" cargo test --locked
check "pipefail: no pipeline that stops reading early (tools/tests/pipefail.sh)" "$TOOLS_DIR/tests/pipefail.sh"
check "SPDX: every file names its licence (tools/tests/spdx.sh)" "$TOOLS_DIR/tests/spdx.sh"
check "doc history: no commit id or work-log phrase in README, docs, Rust comments (tools/tests/doc-history.sh)" "$TOOLS_DIR/tests/doc-history.sh"
check "LDD3 side by side: docs/ldd3.md quotes complete_dev.rs line by line (tools/tests/ldd3-map.sh)" "$TOOLS_DIR/tests/ldd3-map.sh"
check "make help lists every target (tools/tests/make-help.sh)" "$TOOLS_DIR/tests/make-help.sh"
check "make exercise RESET=1 keeps the learner's file as a backup, never overwritten (tools/tests/exercise-reset.sh)" \
	"$TOOLS_DIR/tests/exercise-reset.sh"
check "toolchain decision on a fresh machine's apt, without the network (tools/tests/toolchain-decision.sh)" \
	"$TOOLS_DIR/tests/toolchain-decision.sh"
check "log patterns: vm-run.sh catches a line of each (tools/tests/log-errors.sh)" \
	"$TOOLS_DIR/tests/log-errors.sh"
check "mutants: each mutant of tools/tests/mutants.txt applies exactly once (tools/mutants.sh --check-apply)" \
	"$TOOLS_DIR/mutants.sh" --check-apply
[[ $KERNEL == debian ]] ||
	check "KDIR pre-flight: make demo KDIR=<no DEVPORT> fails at once (tools/tests/kdir-check.sh)" \
		"$TOOLS_DIR/tests/kdir-check.sh"
check "supported kernels: declaration, series selection, build refusals" "$TOOLS_DIR/tests/kernel-series.sh"
check "match check before Debian's kernel boots: rustup's rustc and another release refused (tools/tests/debian-match.sh)" \
	"$TOOLS_DIR/tests/debian-match.sh"
check "cargo test (tools/timeline, host unit tests)" quiet env -C "$TOP_DIR/tools/timeline" cargo test --locked
[[ $KERNEL == debian ]] ||
	check "struct layout: C and Rust bindings agree" "$TOOLS_DIR/layout-check.sh" "$KDIR"
# The patch series of upstream/ still apply to the base and pass the patch checks (make
# upstream-check's apply step: git am, checkpatch --strict, rustfmtcheck; docs/make-targets.md).
# Default run only: the series do not depend on the kernel variant.
if [[ -z $KERNEL && $SANITIZE != 1 && $KCSAN != 1 && -d $TOP_DIR/upstream ]]; then
	check "upstream/: each series git am'ed on the base, checkpatch --strict, rustfmtcheck after each patch (make upstream-check, UPSTREAM_STEPS=apply)" \
		env UPSTREAM_STEPS=apply "$TOOLS_DIR/upstream-check.sh"
	check "upstream-check refuses another base-commit, a patch that does not apply, a checkpatch report (tools/tests/upstream-refusals.sh)" \
		"$TOOLS_DIR/tests/upstream-refusals.sh"
fi
built=$failed
# Before the module builds below: it cleans the objects of the older compiler away. From the
# test kernel's config, so in the default run only: the sanitizer config (KASAN) has no Rust
# with GCC, the KCSAN kernel's checks are in its VM run, and a KDIR= tree is the user's.
if ((own_kernel)) && [[ $SANITIZE != 1 && $KCSAN != 1 ]]; then
	check "module build with the kernel's minimum Rust (rustup), CLIPPY=1 W=1, no warnings" \
		"$TOOLS_DIR/tests/msrv-check.sh" "$KDIR"
fi
if [[ $KERNEL == debian ]]; then
	check "module build against Debian's kernel in its trixie chroot, W=1, no warnings; matched to it (vermagic, Rust imports, rustc)" \
		env STRICT=1 "$TOOLS_DIR/module-build.sh"
else
	check "module build, CLIPPY=1 W=1, no warnings" env STRICT=1 "$TOOLS_DIR/module-build.sh"
fi
# The modules this kernel's build made: ext/kunit/complete_ext_kunit.ko only on a kernel with KUnit.
shopt -s nullglob
kos=("$TOP_DIR"/*.ko "$TOP_DIR"/ext/kunit/*.ko)
shopt -u nullglob
check "modinfo: license, author, description, parameter descriptions" \
	"$TOOLS_DIR/modinfo-check.sh" "${kos[@]}"
check "kselftest: userspace-test/ copied into a kernel tree, built + installed by its make" \
	"$TOOLS_DIR/userspace-build.sh"
# Lint failures still let the VM run; a failed build does not.
vmlog=$BUILD_DIR/logs/check-$(date +%Y%m%d-%H%M%S).log
if ((failed == built)) && ls "$TOP_DIR"/*.ko >/dev/null 2>&1; then
	if [[ $SANITIZE == 1 ]]; then
		check "VM (sanitizer kernel): KUnit + kselftest + smoke + soak, kmemleak and kernel log clean" \
			env VM_LOG="$vmlog" "$TOOLS_DIR/vm-run.sh" check "${vm_args[@]}"
	elif [[ $KERNEL == debian ]]; then
		check "VM (Debian's kernel, unmodified): kselftest + smoke, kernel log clean but for the two expected taint lines" \
			env VM_LOG="$vmlog" "$TOOLS_DIR/vm-run.sh" check
		check "make demo on Debian's kernel: the driver's story, the timeline picture names every pid" "$TOOLS_DIR/tests/demo-check.sh"
		check "make shell on Debian's kernel through tmux: cat, echo, the driver's lines live, exit 0" "$TOOLS_DIR/tests/shell-check.sh"
	elif [[ $KCSAN == 1 ]]; then
		check "VM (KCSAN kernel): KCSAN on, KUnit + kselftest + smoke + soak, no data-race report" \
			env VM_LOG="$vmlog" "$TOOLS_DIR/vm-run.sh" check "${vm_args[@]}"
	else
		check "VM: KUnit + kselftest + smoke, clean kernel log" env VM_LOG="$vmlog" "$TOOLS_DIR/vm-run.sh" check
		check "make demo: the driver's story, the timeline picture names every pid" "$TOOLS_DIR/tests/demo-check.sh"
		check "make shell through tmux: cat, echo, the driver's lines live, exit 0" "$TOOLS_DIR/tests/shell-check.sh"
		check "exercises: each starting file and wrong solution fails as named, each reference passes, one VM (tools/exercise.sh check)" "$TOOLS_DIR/exercise.sh" check
	fi
else
	echo "skipping the VM run: the build failed" >&2
	failed=$((failed + 1))
	failures+=("VM (not run)")
fi

echo
echo "=== make check summary ==="
if [[ -f $vmlog ]]; then
	echo "VM console log: $vmlog"
	grep -h 'vm-check: KUnit suite' "$vmlog" | sed 's/^vm-check: /  /' || true
	grep -h '^# # Totals:' "$vmlog" | sed 's/^# # /  kselftest complete_dev: # /' || true
	# Each failing case with the diagnostics it printed (the last 12), so that the summary,
	# which is all a CI tail may show, names what failed and why; and each failing KUnit case.
	tr -d '\r' <"$vmlog" | awk '
		/^# # / { d[n++ % 12] = $0; next }
		/^# ok / { n = 0; next }
		/^# not ok / { for (i = (n > 12 ? n - 12 : 0); i < n; i++) print "  " d[i % 12]; print "  " $0; n = 0 }
		/^\[ *[0-9.]*\] +not ok / { sub(/^\[ *[0-9.]*\] +/, ""); print "  KUnit: " $0 }' || true
	grep -h '^vm-check: .*\(sanitize\|kcsan\)\|^# stress_soak: ' "$vmlog" | sed 's/^/  /' || true
	grep -h '^vm-check: not available' "$vmlog" | sed 's/^vm-check: /  /' | sort -u || true
fi
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "check: $passed passed, $failed failed"
((failed == 0))
