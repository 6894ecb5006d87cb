#!/usr/bin/env bash
# Build the static test binary (userspace-test/) and install it as a
# kselftest: the kernel's selftests Makefile builds and installs our
# selftest directory (userspace-test/selftest, linked into the cached
# kernel tree as tools/testing/selftests/complete_dev), which gives the
# real run_kselftest.sh + kselftest/runner.sh layout in $BUILD_DIR/kselftest.
source "$(dirname "$0")/lib.sh"

crate=$TOP_DIR/userspace-test
[[ -f $crate/Cargo.toml ]] || die "userspace-test/Cargo.toml missing"
step "building the static test binary (userspace-test)"
export RUSTFLAGS="-C target-feature=+crt-static"
quiet cargo build --manifest-path "$crate/Cargo.toml" --release --target x86_64-unknown-linux-gnu
mkdir -p "$BUILD_DIR/bin"
cp "$crate/target/x86_64-unknown-linux-gnu/release/complete_test" "$BUILD_DIR/bin/"
done_step

src=$(cat "$CACHE_DIR/current-src" 2>/dev/null || true)
if [[ -z $src || ! -d $src/tools/testing/selftests ]]; then
	src=$("$TOOLS_DIR/kernel-source.sh")
fi
step "installing the kselftest (tools/testing/selftests, TARGETS=complete_dev)"
ln -sfn "$crate/selftest" "$src/tools/testing/selftests/complete_dev"
rm -rf "$BUILD_DIR/kselftest"
quiet make -C "$src/tools/testing/selftests" TARGETS=complete_dev \
	COMPLETE_TEST_BIN="$BUILD_DIR/bin/complete_test" \
	INSTALL_PATH="$BUILD_DIR/kselftest" install
done_step
