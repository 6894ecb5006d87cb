#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the VM's initramfs (an uncompressed cpio archive): static busybox,
# the guest scripts (tools/guest), the built modules (*.ko at the top of the
# clone, or in $MODULE_DIR), the static test binaries ($BUILD_DIR/bin) and the kselftest
# install ($BUILD_DIR/kselftest), if present, the exercise variants ($EXERCISE_DIR, for
# tools/exercise.sh), and the booted kernel's .config as
# /boot/config-RELEASE, where Debian keeps it and the kselftest reads HZ from. Takes well under
# a second.
# Usage: initramfs.sh OUTPUT KERNEL_CONFIG RELEASE
source "$(dirname "$0")/lib.sh"

usage="usage: initramfs.sh OUTPUT KERNEL_CONFIG RELEASE"
out=${1:?$usage}
kconfig=${2:?$usage}
release=${3:?$usage}
[[ -f $kconfig ]] || die "no kernel config at $kconfig"
[[ $release =~ ^[[:alnum:]][[:alnum:].+_~-]*$ ]] || die "not a kernel release: '$release'"
busybox=$(command -v busybox || true)
[[ -n $busybox && $(file -L "$busybox" 2>/dev/null) == *'statically linked'* ]] ||
	busybox=/bin/busybox
[[ -x $busybox ]] || die "static busybox not found: run tools/deps.sh (package busybox-static)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,modules,guest,boot}
cp "$kconfig" "$root/boot/config-$release"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh" # for the #! of /init; init installs the other applets
cp "$TOOLS_DIR/guest/init" "$root/init"
cp "$TOOLS_DIR"/guest/*.sh "$root/guest/"
chmod +x "$root/init" "$root"/guest/*.sh
# The kselftest runner calls `/usr/bin/timeout --foreground`, which busybox
# does not know: this front accepts it and maps the timeout exit code to 124.
cp "$TOOLS_DIR/guest/timeout" "$root/usr/bin/timeout"
chmod +x "$root/usr/bin/timeout"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
shopt -s nullglob
for ko in "${MODULE_DIR:-$TOP_DIR}"/*.ko "${MODULE_DIR:-$TOP_DIR}"/ext/kunit/*.ko; do
	cp "$ko" "$root/modules/"
done
for b in "$BUILD_DIR"/bin/*; do
	cp "$b" "$root/usr/bin/"
done
[[ -d $BUILD_DIR/kselftest ]] && cp -a "$BUILD_DIR/kselftest" "$root/kselftest"
# make exercise and its check: the variants tools/exercise.sh built and staged, in /exercise.
if [[ -n ${EXERCISE_DIR:-} ]]; then
	cp -a "$EXERCISE_DIR" "$root/exercise"
fi
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
