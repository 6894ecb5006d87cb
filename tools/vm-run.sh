#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the test VM and run one guest job (tools/guest/JOB.sh).
#
# Usage: vm-run.sh JOB [EXTRA_KERNEL_ARGS...]
#   JOB         demo | check | shell | bench | any tools/guest/<job>.sh
# Environment:
#   ACCEL       tcg (default) | kvm | auto: auto tries KVM under a watchdog
#               and falls back to TCG if the guest does not come up
#   VM_TIMEOUT  hard limit for the whole run, seconds (default 900)
#   VM_SMP      guest CPUs (default 2); VM_MEM memory in MiB (default 1024)
#   QEMU_EXTRA  extra QEMU arguments (e.g. the -icount mode of `make bench`)
#   VM_APPEND   extra kernel command line arguments, after EXTRA_KERNEL_ARGS
#               (e.g. `kcsan.skip_watch=100`; `make check VM_APPEND=...` passes them)
#   VM_LOG      where the console log goes (default $BUILD_DIR/logs/JOB-<time>.log):
#               a caller that reads the log afterwards names it here
#   V=1         show the whole console, including the kernel log dump
#   KERNEL      debian: boot Debian's own kernel (tools/debian-kernel.sh), unmodified, its
#               checksum printed, after the modules are matched to it (tools/debian-match.sh)
#
# The whole serial console is kept in $VM_LOG; its path is printed. The run
# fails if the guest does not report an exit status (isa-debug-exit and the
# 'exit status' line must agree), if the status is non-zero, or if the log
# has a line of userspace-test/log-patterns.txt (BUG, WARNING, Oops, panic,
# lockdep, hung task, lockup, RCU stall, KASAN, UBSAN, KCSAN). On Debian's kernel the log's
# taint lines must be the two that loading our modules causes (DEBIAN_TAINTS below), and
# nothing else.
source "$(dirname "$0")/lib.sh"

# What loading an out-of-tree, unsigned module prints on a kernel with CONFIG_MODULE_SIG
# (without MODULE_SIG_FORCE): the only taint lines a run on Debian's kernel may show.
readonly DEBIAN_TAINTS=(
	"loading out-of-tree module taints kernel."
	"module verification failed: signature and/or required key missing - tainting kernel"
)

job=${1:?usage: vm-run.sh JOB [EXTRA_KERNEL_ARGS...]}
shift
ACCEL=${ACCEL:-tcg}
VM_TIMEOUT=${VM_TIMEOUT:-900}
VM_SMP=${VM_SMP:-2}
VM_MEM=${VM_MEM:-1024}
KVM_WATCHDOG=${KVM_WATCHDOG:-20}
read -ra qemu_extra <<<"${QEMU_EXTRA:-}"
read -ra vm_append <<<"${VM_APPEND:-}"

"$TOOLS_DIR/kdir-check.sh" "$job"
unavail=()
if [[ $KERNEL == debian ]]; then
	kdeb=$(debian_dir)
	kernel=$kdeb/vmlinuz
	sha=$(sha256sum <"$kernel" | cut -d' ' -f1)
	[[ $sha == "$(cut -d' ' -f1 "$kdeb/vmlinuz.sha256")" ]] ||
		die "$kernel is not the image Debian's package shipped (sha256 $sha): remove $kdeb and rerun to fetch it again"
	printf "    kernel: Debian's %s, its package's vmlinuz unmodified, sha256 %s\n" "$(cat "$kdeb/release")" "$sha" >&2
	# Before anything boots: the modules that go into the VM match this kernel.
	shopt -s nullglob
	kos=("${MODULE_DIR:-$TOP_DIR}"/*.ko "${MODULE_DIR:-$TOP_DIR}"/ext/kunit/*.ko)
	shopt -u nullglob
	((${#kos[@]} == 0)) || "$TOOLS_DIR/debian-match.sh" "$kdeb" "${kos[@]}" ||
		die "not booting Debian's kernel with modules that do not match it (see above)"
	na=$(unavailable_features "$kdeb/config")
	[[ -z $na ]] || unavail=("cdunavail=$na")
	release=$(cat "$kdeb/release")
else
	kernel=$(kdir)/arch/x86/boot/bzImage
	release=$(cat "$(kdir)/include/config/kernel.release" 2>/dev/null) ||
		die "no include/config/kernel.release in $(kdir): not a built kernel tree"
fi
[[ -f $kernel ]] || die "no kernel image at $kernel: run 'make kernel'"
initrd=$BUILD_DIR/initramfs.cpio
# The kernel's .config goes in as /boot/config-<release>, as Debian installs it: the kselftest
# reads HZ there.
"$TOOLS_DIR/initramfs.sh" "$initrd" "$(kernel_config)" "$release"

qemu_args() {
	local accel=$1
	shift
	local cpu=max
	[[ $accel == kvm ]] && cpu=host
	# Debian's kernel patches its own text at run time (jump labels, static calls) with int3
	# and an IPI to sync the other CPUs; multi-threaded TCG can run a vCPU on a translation of
	# the int3 after the patch is done, and that CPU oopses in the int3 handler (seen at boot:
	# "Oops: int3" in sched_clock_cpu on CPU 1). One TCG thread for all vCPUs cannot.
	[[ $accel == tcg && ${KERNEL:-} == debian ]] && accel=tcg,thread=single
	printf '%s\n' -accel "$accel" -cpu "$cpu" -smp "$VM_SMP" -m "$VM_MEM" \
		-kernel "$kernel" -initrd "$initrd" -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-append "console=ttyS0 loglevel=5 log_buf_len=4M panic=-1 cdjob=$job $*"
}

kvm_usable() {
	[[ -r /dev/kvm && -w /dev/kvm ]]
}

case $ACCEL in
tcg | kvm | auto) ;;
*) die "ACCEL must be tcg, kvm or auto (got '$ACCEL')" ;;
esac
[[ $ACCEL == kvm ]] && ! kvm_usable && die "ACCEL=kvm but /dev/kvm is not usable; use ACCEL=tcg"

if [[ $job == shell ]]; then
	accel=$ACCEL
	[[ $accel == auto ]] && { kvm_usable && accel=kvm || accel=tcg; }
	echo "==> booting the VM ($accel); leave with 'exit' or Ctrl-A then X"
	# loglevel=4: only kernel errors on the console while it boots.
	mapfile -t args < <(qemu_args "$accel" loglevel=4 "${unavail[@]}" "$@" "${vm_append[@]}")
	rc=0
	qemu-system-x86_64 "${args[@]}" -nographic || rc=$?
	# 3 is the guest's "exit status 0" through isa-debug-exit; 0 is Ctrl-A X.
	((rc == 3 || rc == 0)) || die "the VM ended with QEMU exit status $rc"
	exit 0
fi

log=${VM_LOG:-$BUILD_DIR/logs/$job-$(date +%Y%m%d-%H%M%S).log}
mkdir -p "$(dirname "$log")"

# boot ACCEL: start QEMU in the background, console into $log.
boot() {
	mapfile -t args < <(qemu_args "$1" "${extra[@]}")
	: >"$log"
	# QEMU's own messages go to $log.qemu; the subshell's job notices (such
	# as "Aborted" when QEMU dies on a signal) are dropped: its exit status
	# tells the same.
	(
		timeout -k 5 "$VM_TIMEOUT" qemu-system-x86_64 "${args[@]}" "${qemu_extra[@]}" \
			-display none -monitor none -serial "file:$log" 2>"$log.qemu"
		exit $?
	) 2>/dev/null &
	qpid=$!
}

# show: stream the console to the terminal while QEMU runs, hiding the
# kernel log dump and the kernel's own console lines (boot messages,
# clocksource notices) unless they report an error; all of it is in the log
# file, and V=1 shows it all.
show() {
	tail -n +1 -f --pid="$qpid" "$log" 2>/dev/null | awk -v v="$V" -v bad="$(_log_ere '/^[^#!]/p')" '
		/^--- guest kernel log ---/ { hide = (v != 1) }
		!hide && (v == 1 || !/^\[ *[0-9]+\.[0-9]+\] / || $0 ~ bad) { print; fflush() }
		/^--- end of guest kernel log ---/ { hide = 0 }'
}

extra=("${unavail[@]}" "$@" "${vm_append[@]}")
accel=$ACCEL
if [[ $ACCEL == auto ]]; then
	accel=tcg
	if kvm_usable; then
		boot kvm
		for ((i = 0; i < KVM_WATCHDOG; i++)); do
			grep -q 'complete-dev-init: up' "$log" && break
			kill -0 "$qpid" 2>/dev/null || break
			sleep 1
		done
		if grep -q 'complete-dev-init: up' "$log"; then
			accel=kvm
		else
			if kill -0 "$qpid" 2>/dev/null; then
				why="no sign of life in ${KVM_WATCHDOG}s"
				kill "$qpid" 2>/dev/null || true
			else
				why="QEMU exited: $(head -n1 "$log.qemu" 2>/dev/null)"
			fi
			{ wait "$qpid"; } 2>/dev/null || true
			echo "==> KVM guest did not come up ($why): falling back to TCG" >&2
		fi
	fi
fi
step "VM: $job ($accel, $VM_SMP CPUs, timeout ${VM_TIMEOUT}s)"
# A KVM guest that came up under the watchdog goes on; otherwise boot now.
if ! [[ $accel == kvm && -n ${qpid:-} ]] || ! kill -0 "$qpid" 2>/dev/null; then
	boot "$accel"
fi
show &
spid=$!
qrc=0
wait "$qpid" || qrc=$?
wait "$spid" 2>/dev/null || true
# The console log is complete now; the summary follows.
echo "    console log: $log" >&2
if [[ -s $log.qemu ]]; then
	echo "    QEMU said:" >&2
	sed 's/^/      /' "$log.qemu" >&2
fi
rm -f "$log.qemu"

status=$(sed -n 's/^complete-dev-init: exit status \([0-9]*\).*/\1/p' "$log" | tail -n1)
fail=0
if ((qrc == 124 || qrc == 137)); then
	echo "FAIL: the VM did not finish within ${VM_TIMEOUT}s (VM_TIMEOUT)" >&2
	fail=1
elif ((qrc < 3 || qrc % 2 == 0)); then
	echo "FAIL: the guest did not report an exit status (QEMU exit $qrc): crash or panic? see the log" >&2
	fail=1
else
	grc=$(((qrc - 3) / 2))
	if [[ $status != "$grc" ]]; then
		echo "FAIL: exit port says $grc but the console says '${status:-nothing}'" >&2
		fail=1
	elif ((grc != 0)); then
		echo "FAIL: the guest job '$job' exited with status $grc" >&2
		fail=1
	fi
fi
if log_errors "$log" >"$log.bad"; then
	echo "FAIL: the kernel log has error reports:" >&2
	head -n 20 "$log.bad" >&2
	fail=1
fi
rm -f "$log.bad"
if [[ $KERNEL == debian ]]; then
	taints=$(grep -i 'taint' "$log" || true)
	for t in "${DEBIAN_TAINTS[@]}"; do
		taints=$(grep -vF -- "$t" <<<"$taints" || true)
	done
	if [[ -n $taints ]]; then
		echo "FAIL: taint lines other than the two expected ones (out-of-tree, unsigned module):" >&2
		head -n 20 <<<"$taints" >&2
		fail=1
	else
		printf '    taint lines: only the expected ones ("%s", "%s")\n' "${DEBIAN_TAINTS[@]}" >&2
	fi
fi
done_step
if ((fail)); then
	exit 1
fi
echo "==> VM job '$job': passed (log clean)" >&2
case $job in
demo | demo-kthread) "$TOOLS_DIR/timeline.sh" "$log" "$BUILD_DIR/$job-timeline" ;;
esac
