#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pre-flight of a kernel tree before the VM boots it: its .config must have every option
# the VM and the job need. Fails at once, naming what is missing and how to set it.
#
# Usage: kdir-check.sh JOB [KDIR]
#   JOB   the VM job: demo | demo-kthread | shell | bench | check | any tools/guest/<job>.sh
#   KDIR  default $KDIR, else the kernel of `make kernel`; if that is not built yet there is
#         nothing to check (tools/kernel-build.sh checks that its fragment survived Kconfig).
#
# There is no fallback for a missing option: CONFIG_DEVPORT only serves the exit status, but
# without it a run cannot tell a pass from a crash, so it is required like the others.
#
# KERNEL=debian checks Debian's .config (once fetched) instead. A distribution kernel lacks the
# test kernel's debugging options; what needs them is reported by name as not available on
# that kernel (unavailable_features in tools/lib.sh), so they are not required of it here.
source "$(dirname "$0")/lib.sh"

# The options of TEST_FEATURES (lib.sh), and DEVTMPFS_MOUNT (the guest's init mounts devtmpfs
# itself): not required of Debian's kernel.
readonly DEBIAN_LACKS="KUNIT PROVE_LOCKING DEBUG_ATOMIC_SLEEP FAULT_INJECTION FAILSLAB FAIL_PAGE_ALLOC FAULT_INJECTION_DEBUG_FS DEVTMPFS_MOUNT"

job=${1:?usage: kdir-check.sh JOB [KDIR]}
if [[ $KERNEL == debian && -z ${2:-} ]]; then
	config=$(cat "$CACHE_DIR/debian/current" 2>/dev/null || true)
	[[ -n $config ]] || exit 0
	config=$config/config
	kdir="Debian's kernel ($config)"
else
	kdir=${2:-${KDIR:-$(cat "$CACHE_DIR/current-kdir" 2>/dev/null || true)}}
	[[ -n $kdir ]] || exit 0
	config=$kdir/.config
fi
[[ -f $config ]] || die "KDIR=$kdir has no .config: it must be the build tree of a configured, built kernel"

# What every VM job needs: "OPTION|why".
NEEDS=(
	"X86_64|the VM is qemu-system-x86_64 booting arch/x86/boot/bzImage"
	"SERIAL_8250|the VM's only console is the 8250 serial port"
	"SERIAL_8250_CONSOLE|console=ttyS0: the host reads the whole run from the serial console"
	"PRINTK|the kernel log: every job shows or checks it"
	"BLK_DEV_INITRD|the VM's root file system is an initramfs"
	"BINFMT_ELF|busybox and the test programs are ELF binaries"
	"BINFMT_SCRIPT|the guest's init and jobs are shell scripts"
	"DEVTMPFS|the guest's init mounts devtmpfs on /dev (/dev/complete appears there)"
	"PROC_FS|the guest's init mounts /proc; the jobs read /proc/<pid>/stat"
	"SYSFS|the guest's init mounts /sys; the module parameters live there"
	"DEVPORT|/dev/port: the guest writes its exit status to QEMU's isa-debug-exit port"
	"RUST|the modules are Rust"
	"MODULES|every job loads the modules"
	"MODULE_UNLOAD|every job unloads the modules (rmmod)"
)
case $job in
demo | demo-kthread | shell) ;;
bench)
	NEEDS+=("FUTEX|the benchmark binary (Rust std) and its futex subject wait on futexes")
	;;
check)
	NEEDS+=("KUNIT|the guest check loads the KUnit suites of ext/ (ext/kunit/complete_ext_kunit.ko)")
	# The kselftest's own list: tools/testing/selftests/complete_dev/config.
	while IFS= read -r line; do
		[[ $line =~ ^CONFIG_([A-Z0-9_]+)=y$ ]] || continue
		# On Debian's kernel: reported as not available (lock debugging), or done by the
		# guest's init (DEVTMPFS_MOUNT).
		[[ $KERNEL != debian || " $DEBIAN_LACKS " != *" ${BASH_REMATCH[1]} "* ]] || continue
		[[ " ${NEEDS[*]%%|*} " == *" ${BASH_REMATCH[1]} "* ]] ||
			NEEDS+=("${BASH_REMATCH[1]}|the kselftest needs it (userspace-test/config)")
	done <"$TOP_DIR/userspace-test/config"
	;;
*) ;; # any other guest job: what every job needs
esac

[[ $KERNEL != debian ]] || NEEDS=("${NEEDS[@]/#KUNIT|*/}")
missing=()
for n in "${NEEDS[@]}"; do
	[[ -n $n ]] || continue
	opt=${n%%|*}
	grep -qx "CONFIG_$opt=y" "$config" || missing+=("$n")
done
((${#missing[@]} == 0)) && exit 0

if [[ $KERNEL == debian ]]; then
	printf "error: Debian's kernel (%s) lacks what make %s needs:\n" "$config" "$job" >&2
	for n in "${missing[@]}"; do
		printf '  CONFIG_%-22s %s\n' "${n%%|*}=y" "${n#*|}" >&2
	done
	printf "KERNEL=debian boots Debian's kernel unmodified: this job cannot run on it; use the project's kernel (no KERNEL=).\n" >&2
	exit 1
fi
{
	printf 'error: the kernel in KDIR=%s lacks what make %s needs:\n' "$kdir" "$job"
	for n in "${missing[@]}"; do
		printf '  CONFIG_%-22s %s\n' "${n%%|*}=y" "${n#*|}"
	done
	printf 'Set them in that tree and rebuild it, then check they survived Kconfig:\n'
	src=$kdir
	[[ -e $kdir/source ]] && src=$(readlink -f "$kdir/source") # an O= build tree
	printf '  %s/scripts/config --file %s/.config' "$src" "$kdir"
	for n in "${missing[@]}"; do printf ' -e %s' "${n%%|*}"; done
	printf '\n  make -C %s olddefconfig && make -C %s -j%s\n' "$kdir" "$kdir" "$(nproc)"
	printf 'or leave KDIR unset to use the kernel of make kernel (tools/kernel.config).\n'
} >&2
exit 1
