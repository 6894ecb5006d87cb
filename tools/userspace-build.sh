#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build and install the kselftest exactly as a kernel tree does: copy userspace-test/ into
# tools/testing/selftests/complete_dev of a staging tree and run the kernel's own
#
#   make -C tools/testing/selftests TARGETS=complete_dev INSTALL_PATH=$BUILD_DIR/kselftest install
#
# whose rule (userspace-test/Makefile) builds the static test binary with cargo. The
# staging tree ($BUILD_DIR/ksft-tree, per clone) holds copies of the files that make reads
# from the cached kernel source, which is shared by every clone and never written to.
# Then the install is checked (runner, test list, a static binary that lists its cases) and
# the binary is also put in $BUILD_DIR/bin, so every VM has it in /usr/bin.
source "$(dirname "$0")/lib.sh"

src=$(cat "$CACHE_DIR/current-src" 2>/dev/null || true)
if [[ -z $src || ! -f $src/tools/testing/selftests/lib.mk ]]; then
	src=$("$TOOLS_DIR/kernel-source.sh")
fi
tree=$BUILD_DIR/ksft-tree
sel=$tree/tools/testing/selftests
inst=$BUILD_DIR/kselftest

step "kselftest: userspace-test/ copied into a kernel tree, make TARGETS=complete_dev install"
mkdir -p "$tree/scripts" "$sel"
cp "$src/scripts/subarch.include" "$tree/scripts/"
# The selftests top level (regular files only: Makefile, lib.mk, headers, run_kselftest.sh)
# and kselftest/; no other target.
find "$src/tools/testing/selftests" -maxdepth 1 -type f -exec cp -p -t "$sel/" {} +
rsync -a --delete "$src/tools/testing/selftests/kselftest/" "$sel/kselftest/"
# A real directory (-L: with the file src/uapi.rs links to), never a link out of the
# staging tree; its cargo outputs (target/) survive for the next run.
[[ ! -L $sel/complete_dev ]] || rm -f "$sel/complete_dev"
rsync -rL --times --delete --exclude=/target/ --exclude=/complete_dev \
	"$TOP_DIR/userspace-test/" "$sel/complete_dev/"
rm -rf "$inst"
quiet make -C "$sel" TARGETS=complete_dev INSTALL_PATH="$inst" install ||
	die "the kernel's selftests make could not build or install userspace-test/ (see above)"

bin=$inst/complete_dev/complete_dev
[[ -x $inst/run_kselftest.sh && -x $inst/kselftest/runner.sh ]] ||
	die "no run_kselftest.sh or kselftest/runner.sh in $inst"
grep -qx 'complete_dev:complete_dev' "$inst/kselftest-list.txt" ||
	die "$inst/kselftest-list.txt does not list complete_dev:complete_dev"
[[ -f $inst/complete_dev/config && -f $inst/complete_dev/settings ]] ||
	die "config or settings not installed in $inst/complete_dev"
[[ -x $bin ]] || die "the test binary was not installed as $bin"
[[ $(readelf -lW "$bin") != *'program interpreter'* ]] ||
	die "$bin is dynamically linked: the busybox VM has no libc (is userspace-test/.cargo/config.toml read? RUSTFLAGS overrides it)"
[[ -n $("$bin" --list) ]] || die "$bin --list names no case"
mkdir -p "$BUILD_DIR/bin"
cp "$bin" "$BUILD_DIR/bin/"
done_step
