#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make install`: on a Debian machine running Debian's kernel, build the modules for the
# running kernel as KERNEL=debian does (its linux-source, .config and Module.symvers; a trixie
# chroot with the toolchain Debian built it with: tools/debian-kernel.sh), match them to it
# (tools/debian-match.sh), install them in /lib/modules/<release>/updates/complete-dev, run
# depmod and load complete_dev (complete_kthread is installed; `modprobe complete_kthread`
# starts its two demo threads).
#
# The modules are unsigned: loading them taints the kernel ("module verification failed",
# "loading out-of-tree module"). Under UEFI Secure Boot, Debian's kernel is locked down and
# refuses unsigned modules: this stops before the load and says how to sign them with a key
# enrolled as a MOK (docs/debian.md).
#
# Environment:
#   INSTALL_RELEASE  build and match for this release instead of `uname -r`; on a machine
#                    running another kernel, everything but the installation and the load
#                    (how it is tested away from such a machine)
source "$(dirname "$0")/lib.sh"

running=$(uname -r)
rel=${INSTALL_RELEASE:-$running}
[[ $rel == *-amd64 ]] || die "the running kernel $rel is not one of Debian's amd64 kernels: make install builds for those (see docs/debian.md); elsewhere use 'make KDIR=<your kernel's build tree>'"
flavour=${rel#*+deb*-}
export KERNEL=debian DEBIAN_FLAVOUR=$flavour
"$TOOLS_DIR/debian-kernel.sh" prepare >/dev/null
kdeb=$(debian_dir)
have=$(cat "$kdeb/release")
[[ $have == "$rel" ]] ||
	die "this machine runs $rel, but the newest Debian kernel of a supported series on the mirror is $have ($(basename "$kdeb")): install it ('apt-get install -t trixie-backports linux-image-$flavour'), boot it and rerun make install"
# On the machine itself: the kernel installed there is the one fetched (same .config).
for f in "/usr/lib/modules/$rel/config" "/boot/config-$rel"; do
	[[ $rel == "$running" && -r $f ]] || continue
	# The headers' .config has a few lines more (build salt, signing key); none less.
	differ=$(LC_ALL=C comm -23 <(LC_ALL=C sort "$f") <(LC_ALL=C sort "$kdeb/config"))
	[[ -z $differ ]] ||
		die "$f has lines the .config of Debian's $rel headers ($kdeb/config) lacks, e.g. '$(sed -n 1p <<<"$differ")': is this kernel Debian's own build of $(basename "$kdeb")?"
	break
done

"$TOOLS_DIR/module-build.sh" # KERNEL=debian: built in the chroot, matched to the kernel

if [[ $rel != "$running" ]]; then
	printf '==> built and matched for %s; not installing or loading: this machine runs %s\n' "$rel" "$running" >&2
	exit 0
fi
((EUID == 0)) || die "installing modules needs root: run 'sudo make install'"

lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null || echo '[none]')
if [[ $lockdown != *'[none]'* ]]; then
	die "the kernel is locked down ($lockdown; UEFI Secure Boot): it refuses unsigned modules. Sign complete_dev.ko and complete_kthread.ko with a key enrolled as a MOK (mokutil --import; docs/debian.md, \"Signing and Secure Boot\"), or turn Secure Boot off"
fi

dest=/lib/modules/$rel/updates/complete-dev
step "installing complete_dev.ko and complete_kthread.ko in $dest"
install -D -m 0644 -t "$dest" "$TOP_DIR/complete_dev.ko" "$TOP_DIR/complete_kthread.ko"
depmod -a "$rel"
done_step
modprobe -r complete_dev 2>/dev/null || true
modprobe complete_dev || die "modprobe complete_dev failed: see 'dmesg | tail'"
[[ -c /dev/complete ]] || die "complete_dev is loaded but /dev/complete did not appear (is udev running?)"
printf '==> complete_dev loaded: /dev/complete is ready (try: cat /dev/complete & echo x > /dev/complete)\n' >&2
printf '    kernel taint now %s (out-of-tree, unsigned module); remove: modprobe -r complete_dev, rm -r %s, depmod -a\n' \
	"$(cat /proc/sys/kernel/tainted)" "$dest" >&2
