#!/usr/bin/env bash
# `make check`: everything the project can verify, host side then VM side.
# Prints one line per check and a summary; exits non-zero on any failure.
source "$(dirname "$0")/lib.sh"

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
	git -C "$TOP_DIR" ls-files '*.rs' | grep -vE '^(userspace-test|bench)/' | sed "s|^|$TOP_DIR/|"
}

"$TOOLS_DIR/deps.sh"
if [[ -z ${KDIR:-} ]]; then
	KDIR=$("$TOOLS_DIR/kernel-build.sh") || die "the kernel build failed; nothing else can be checked"
	export KDIR
fi
check "rustfmt (kernel Rust)" rustfmt --check --edition 2021 $(kernel_rs)
for crate in userspace-test bench; do
	check "cargo fmt ($crate)" cargo fmt --manifest-path "$TOP_DIR/$crate/Cargo.toml" --check
	check "cargo clippy -D warnings ($crate)" \
		quiet cargo clippy --manifest-path "$TOP_DIR/$crate/Cargo.toml" --all-targets -- -D warnings
done
check "cargo test (userspace-test, host unit tests)" \
	quiet cargo test --manifest-path "$TOP_DIR/userspace-test/Cargo.toml"
check "struct layout: C and Rust bindings agree" "$TOOLS_DIR/layout-check.sh" "$KDIR"
built=$failed
check "module build, CLIPPY=1 W=1, no warnings" env STRICT=1 "$TOOLS_DIR/module-build.sh"
check "modinfo: license, author, description, parameter descriptions" \
	"$TOOLS_DIR/modinfo-check.sh" "$TOP_DIR"/*.ko
check "userspace build + kselftest install" "$TOOLS_DIR/userspace-build.sh"
# Lint failures still let the VM run; a failed build does not.
if ((failed == built)) && ls "$TOP_DIR"/*.ko >/dev/null 2>&1; then
	check "VM: KUnit + kselftest + smoke, clean kernel log" "$TOOLS_DIR/vm-run.sh" check
else
	echo "skipping the VM run: the build failed" >&2
	failed=$((failed + 1))
	failures+=("VM (not run)")
fi

echo
echo "=== make check summary ==="
vmlog=$(ls -t "$BUILD_DIR"/logs/check-*.log 2>/dev/null | head -n1)
if [[ -n $vmlog ]]; then
	echo "VM console log: $vmlog"
	grep -h 'vm-check: KUnit suite' "$vmlog" | sed 's/^vm-check: /  /' || true
	grep -h '^# # Totals:' "$vmlog" | sed 's/^# # /  kselftest complete_dev: # /' || true
fi
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "check: $passed passed, $failed failed"
((failed == 0))
